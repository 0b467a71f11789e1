#include "replication/range_reconciler.h"

#include <algorithm>

#include "crypto/hash.h"

namespace plumlog::replication {
namespace {

// Room left in a frame for what EncodedPartSize does not count.
constexpr size_t kFrameSlack = 1024;

const FeedRange kEverything{};

}  // namespace

Status ReconcileOptions::Validate() const {
  auto bad = [](const char* field, const std::string& why) {
    return Status::InvalidArgument(std::string("ReconcileOptions.") + field +
                                   " " + why);
  };
  if (fingerprint_bytes < kMinFingerprintBytes ||
      fingerprint_bytes > kMaxFingerprintBytes) {
    return bad("fingerprint_bytes", "must be in 4..16");
  }
  if (initial_split_bits < 1 || initial_split_bits > kMaxReconcileSplitBits) {
    return bad("initial_split_bits", "must be in 1..8");
  }
  if (split_bits < 1 || split_bits > kMaxReconcileSplitBits)
    return bad("split_bits", "must be in 1..8");
  if (max_leaf_items > kMaxReconcileItems)
    return bad("max_leaf_items", "must be at most 8192");
  if (max_resolve_items < 1)
    return bad("max_resolve_items", "must be at least 1");
  if (max_resolve_per_message < max_resolve_items) {
    return bad("max_resolve_per_message", "must be at least max_resolve_items");
  }
  if (max_rounds < 2 || max_rounds > kMaxReconcileRound)
    return bad("max_rounds", "must be in 2..128");
  return Status::OK();
}

std::string RangeReconciler::Fingerprint(const FeedRangeSummary& s,
                                         uint64_t session, uint32_t bytes) {
  // Key: the session id (8, little-endian) and a fixed tag; message: the
  // count (8, little-endian) and the sum.
  std::array<uint8_t, 16> key = {0,   0,   0,   0,   0,   0,   0,   0,
                                 'p', 'l', 'r', 'e', 'c', 'o', 'n', '1'};
  for (int i = 0; i < 8; ++i)
    key[static_cast<size_t>(i)] = static_cast<uint8_t>(session >> (8 * i));
  char msg[40];
  for (int i = 0; i < 8; ++i) msg[i] = static_cast<char>(s.count >> (8 * i));
  std::memcpy(msg + 8, s.sum.data(), 32);
  const std::array<uint8_t, 16> h =
      crypto::Blake2b128Keyed(key, std::string_view(msg, sizeof msg));
  return std::string(reinterpret_cast<const char*>(h.data()),
                     std::min<uint32_t>(bytes, 16));
}

// The answer being built, within the limits of one message.
class RangeReconciler::Reply {
 public:
  Reply(const RangeReconciler* r, const ReconcileMessage& in)
      : r_(r), session_(in.session), fp_bytes_(in.fingerprint_bytes) {
    out_.reply.session = in.session;
    out_.reply.round = in.round + 1;
    out_.reply.fingerprint_bytes = in.fingerprint_bytes;
  }
  Reply(const RangeReconciler* r, uint64_t session)
      : r_(r), session_(session), fp_bytes_(r->options_.fingerprint_bytes) {
    out_.reply.session = session;
    out_.reply.round = 0;
    out_.reply.fingerprint_bytes = fp_bytes_;
  }

  ReconcileResult Take() && { return std::move(out_); }

  // Our view of a range the peer sees differently (its fingerprint
  // differed): our items if there are few, else fingerprints of its parts.
  Status Describe(const FeedRange& range, const FeedRangeSummary& ours) {
    if (ours.count <= r_->options_.max_leaf_items || range.bits == 256) {
      return SendItems(range, static_cast<size_t>(ours.count));
    }
    return Split(range,
                 std::min<uint32_t>(r_->options_.split_bits, 256 - range.bits));
  }

  Status Split(const FeedRange& range, uint32_t split_bits) {
    PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedRangeSummary> sums,
                             r_->source_->Summarize(range, split_bits));
    ReconcilePart p;
    p.range = range;
    p.mode = ReconcileMode::kFingerprints;
    p.split_bits = split_bits;
    p.fingerprints.reserve(sums.size() * fp_bytes_);
    for (const FeedRangeSummary& s : sums)
      p.fingerprints += Fingerprint(s, session_, fp_bytes_);
    Add(std::move(p));
    return Status::OK();
  }

  Status SendItems(const FeedRange& range, size_t count) {
    ReconcilePart p;
    p.range = range;
    p.mode = ReconcileMode::kItems;
    PLUMLOG_ASSIGN_OR_RETURN(p.items, r_->source_->Items(range, count));
    Add(std::move(p));
    return Status::OK();
  }

  // The peer listed every item it holds in `range`: compare with ours.
  Status Resolve(const FeedRange& range,
                 const std::vector<DigestItem>& theirs) {
    PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedRangeSummary> total,
                             r_->source_->Summarize(range, 0));
    const uint64_t n = total[0].count;
    if (n > r_->options_.max_resolve_items && range.bits < 256) {
      // Too many of ours to list at once: split, and the peer sends its items
      // part by part.
      return Split(
          range, std::min<uint32_t>(r_->options_.split_bits, 256 - range.bits));
    }
    if (resolved_ + n > r_->options_.max_resolve_per_message) {
      out_.reply.truncated = true;  // left for another session
      return Status::OK();
    }
    resolved_ += n;
    PLUMLOG_ASSIGN_OR_RETURN(std::vector<DigestItem> ours,
                             r_->source_->Items(range, static_cast<size_t>(n)));
    size_t i = 0, j = 0;
    while (i < ours.size() || j < theirs.size()) {
      ReconcileDiff d;
      if (j == theirs.size() ||
          (i < ours.size() && ours[i].feed < theirs[j].feed)) {
        d = {ours[i].feed, ours[i].seq, ours[i].head_prefix, 0, 0};
        ++i;
      } else if (i == ours.size() || theirs[j].feed < ours[i].feed) {
        d = {theirs[j].feed, 0, 0, theirs[j].seq, theirs[j].head_prefix};
        ++j;
      } else {
        const DigestItem& a = ours[i++];
        const DigestItem& b = theirs[j++];
        if (a.seq == b.seq && a.head_prefix == b.head_prefix) continue;
        d = {a.feed, a.seq, a.head_prefix, b.seq, b.head_prefix};
      }
      out_.diffs.push_back(d);
    }
    return Status::OK();
  }

 private:
  // Appends `p` if the message stays within its limits; otherwise the range
  // is left for another session.
  void Add(ReconcilePart p) {
    const size_t children =
        p.mode == ReconcileMode::kFingerprints ? size_t{1} << p.split_bits : 0;
    const size_t bytes = EncodedPartSize(p);
    if (out_.reply.parts.size() + 1 > kMaxReconcileParts ||
        children_ + children > kMaxReconcileChildren ||
        items_ + p.items.size() > kMaxReconcileItems ||
        bytes_ + bytes > kMaxFrameBytes - kFrameSlack) {
      out_.reply.truncated = true;
      return;
    }
    children_ += children;
    items_ += p.items.size();
    bytes_ += bytes;
    out_.reply.parts.push_back(std::move(p));
  }

  const RangeReconciler* r_;
  const uint64_t session_;
  const uint32_t fp_bytes_;
  ReconcileResult out_;
  size_t children_ = 0;
  size_t items_ = 0;
  size_t bytes_ = kReconcileHeaderBytes;
  uint64_t resolved_ = 0;  // our items compared in this message
};

RangeReconciler::RangeReconciler(const ReconcileSource* source,
                                 const ReconcileOptions& options)
    : source_(source), options_(options) {}

Result<ReconcileMessage> RangeReconciler::Initiate(uint64_t session) const {
  Reply reply(this, session);
  PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedRangeSummary> all,
                           source_->Summarize(kEverything, 0));
  if (all[0].count <= options_.max_leaf_items) {
    PLUMLOG_RETURN_IF_ERROR(
        reply.SendItems(kEverything, static_cast<size_t>(all[0].count)));
  } else {
    PLUMLOG_RETURN_IF_ERROR(
        reply.Split(kEverything, options_.initial_split_bits));
  }
  return std::move(reply).Take().reply;
}

Result<ReconcileResult> RangeReconciler::Respond(
    const ReconcileMessage& in) const {
  Reply reply(this, in);
  for (const ReconcilePart& part : in.parts) {
    if (part.mode == ReconcileMode::kItems) {
      PLUMLOG_RETURN_IF_ERROR(reply.Resolve(part.range, part.items));
      continue;
    }
    PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedRangeSummary> ours,
                             source_->Summarize(part.range, part.split_bits));
    const uint32_t fb = in.fingerprint_bytes;
    for (size_t i = 0; i < ours.size(); ++i) {
      const std::string_view theirs =
          std::string_view(part.fingerprints).substr(i * fb, fb);
      if (Fingerprint(ours[i], in.session, fb) == theirs) continue;
      PLUMLOG_RETURN_IF_ERROR(reply.Describe(
          part.range.Child(part.split_bits, static_cast<uint32_t>(i)),
          ours[i]));
    }
  }
  return std::move(reply).Take();
}

}  // namespace plumlog::replication
