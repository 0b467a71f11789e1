#include "cli/stream_verifier.h"

#include "format/entry_codec.h"

namespace plumlog::cli {
namespace {

std::string Where(const Entry& e, uint64_t index) {
  return "stream entry " + std::to_string(index) + " (" +
         e.author().ToString() + " seq " + std::to_string(e.seq()) + ")";
}

}  // namespace

StreamVerifier::StreamVerifier(const Store* store, crypto::WorkerPool* pool)
    : store_(store), pool_(pool) {}

Status StreamVerifier::CheckFirst(const Entry& e, const std::string& where,
                                  FeedState* f) {
  Result<FeedInfo> stored = store_->Feed(e.author());
  if (stored.ok()) {
    f->stored = *stored;
  } else if (stored.status().code() != Status::Code::kNotFound) {
    return stored.status();
  }
  const uint64_t h = f->stored.seq;
  if (e.seq() > h + 1) {
    return Status::InvalidEntry(
        where + ": the store holds this feed only up to seq " +
        std::to_string(h) + ", so seq " + std::to_string(h + 1) + " to " +
        std::to_string(e.seq() - 1) + " are missing");
  }
  if (h > 0 && e.seq() == h + 1) {
    if (!e.previous() || *e.previous() != f->stored.head) {
      return Status::InvalidEntry(where +
                                  ": previous does not match the stored head " +
                                  f->stored.head.ToString());
    }
    if (e.lamport() <= f->stored.lamport) {
      return Status::InvalidEntry(where + ": lamport clock " +
                                  std::to_string(e.lamport()) +
                                  " does not exceed the stored head's " +
                                  std::to_string(f->stored.lamport));
    }
  }
  f->first_seq = e.seq();
  return Status::OK();
}

Status StreamVerifier::Add(Entry entry, uint64_t index) {
  Status st = CheckLinks(entry, index);
  if (!st.ok()) {
    // Report the first failure in stream order: an earlier entry whose
    // signature is bad (e.g. altered, which also breaks this link) comes first.
    Status sig = FlushSignatures();
    return sig.ok() ? st : sig;
  }
  ++entries_;
  pending_.emplace_back(std::move(entry), index);
  if (pending_.size() >= kBatch) return FlushSignatures();
  return Status::OK();
}

Status StreamVerifier::CheckLinks(const Entry& e, uint64_t index) {
  const std::string where = Where(e, index);
  auto [it, is_new] = feeds_.try_emplace(e.author());
  FeedState& f = it->second;
  if (is_new) {
    PLUMLOG_RETURN_IF_ERROR(CheckFirst(e, where, &f));
  } else {
    if (e.seq() != f.last_seq + 1) {
      return Status::InvalidEntry(
          where + ": expected seq " + std::to_string(f.last_seq + 1) +
          " (a feed's entries must be consecutive in the stream)");
    }
    if (!e.previous() || *e.previous() != f.last_id) {
      return Status::InvalidEntry(
          where + ": previous does not match the id of seq " +
          std::to_string(f.last_seq) + " in the stream");
    }
    if (e.lamport() <= f.last_lamport) {
      return Status::InvalidEntry(
          where + ": lamport clock does not exceed that of seq " +
          std::to_string(f.last_seq));
    }
  }
  // The stream's chain links its entries by hash, so an entry equal to the
  // stored one at the same seq implies all earlier ones are equal too.
  if (f.stored.seq > 0 && e.seq() == f.stored.seq && e.id() != f.stored.head) {
    return Status::Forked(where + ": conflicts with the stored entry " +
                          f.stored.head.ToString() + " (a fork)");
  }
  if (f.stored.forked && e.seq() > f.stored.seq) {
    return Status::Forked(
        where + ": the feed is forked in this store and takes no more entries");
  }
  f.last_seq = e.seq();
  f.last_id = e.id();
  f.last_lamport = e.lamport();
  return Status::OK();
}

Status StreamVerifier::FlushSignatures() {
  std::vector<uint8_t> ok(pending_.size());
  pool_->ParallelFor(pending_.size(), [&](size_t i) {
    ok[i] = EntryCodec::Verify(pending_[i].first) ? 1 : 0;
  });
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (!ok[i]) {
      return Status::InvalidEntry(Where(pending_[i].first, pending_[i].second) +
                                  ": bad signature");
    }
  }
  pending_.clear();
  return Status::OK();
}

Status StreamVerifier::Finish() {
  PLUMLOG_RETURN_IF_ERROR(FlushSignatures());
  // Feeds that end below the stored head: their last entry must be the stored
  // one.
  for (const auto& [author, f] : feeds_) {
    if (f.last_seq >= f.stored.seq) continue;
    Result<Entry> stored = store_->Get(author, f.last_seq);
    if (!stored.ok()) return stored.status();
    if (stored->id() != f.last_id) {
      return Status::Forked("stream entry for " + author.ToString() + " seq " +
                            std::to_string(f.last_seq) +
                            " conflicts with the stored entry " +
                            stored->id().ToString() + " (a fork)");
    }
  }
  return Status::OK();
}

}  // namespace plumlog::cli
