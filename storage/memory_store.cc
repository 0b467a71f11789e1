#include "storage/memory_store.h"

#include <algorithm>

#include "format/entry_codec.h"
#include "format/feed_summary.h"
#include "storage/ingest_rules.h"

namespace plumlog::storage {

MemoryStore::MemoryStore(const crypto::KeyPair& key, const MemoryStoreOptions& options)
    : key_(key), options_(options) {}

MemoryStore::~MemoryStore() = default;

bool MemoryStore::Verify(const Entry& e) const {
  return !options_.verify_signatures || e.VerifySignature();
}

void MemoryStore::Store1(const Entry& e) {
  FeedData& f = feeds_[e.author()];
  f.head.author = e.author();
  f.head.seq = e.seq();
  f.head.head = e.id();
  f.head.lamport = e.lamport();
  f.arrivals.push_back(log_.size());
  ids_[e.id()] = {e.author(), e.seq()};
  max_lamport_ = std::max(max_lamport_, e.lamport());
  log_.push_back(e);
  deleted_.push_back(false);
}

void MemoryStore::Notify(const std::vector<Entry>& added, const std::vector<ForkProof>& forks) {
  if (listeners_.empty()) return;
  in_listener_ = true;
  std::vector<StoreListener*> ls = listeners_;
  for (const Entry& e : added) {
    for (StoreListener* l : ls) l->OnEntry(e);
  }
  for (const ForkProof& p : forks) {
    for (StoreListener* l : ls) l->OnFork(p);
  }
  in_listener_ = false;
}

Result<std::vector<Entry>> MemoryStore::AppendLocked(
    const std::vector<std::string_view>& contents) {
  if (in_listener_) {
    return Status::FailedPrecondition("store writes are not allowed inside a listener callback");
  }
  const FeedId& me = key_.public_key();
  FeedInfo head;
  head.author = me;
  if (auto it = feeds_.find(me); it != feeds_.end()) head = it->second.head;
  if (head.forked) return Status::Forked("the local feed is marked forked");
  std::vector<Entry> out;
  uint64_t lamport = max_lamport_;
  const uint64_t now = options_.clock_ms ? options_.clock_ms() : 0;
  for (std::string_view content : contents) {
    EntryCodec::Fields f;
    f.author = me;
    f.seq = head.seq + 1;
    if (head.seq > 0) f.previous = head.head;
    f.lamport = std::max(lamport, head.lamport) + 1;
    f.timestamp_ms = now;
    f.content = content;
    PLUMLOG_ASSIGN_OR_RETURN(Entry e, EntryCodec::Build(key_, f));
    head.seq = e.seq();
    head.head = e.id();
    head.lamport = e.lamport();
    lamport = e.lamport();
    out.push_back(std::move(e));
  }
  for (const Entry& e : out) Store1(e);
  Notify(out, {});
  return out;
}

std::optional<std::string> MemoryStore::OwnFeedHold() const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  return own_feed_hold_;
}

Status MemoryStore::ConfirmOwnFeed() {
  std::lock_guard<std::recursive_mutex> l(mu_);
  own_feed_hold_.reset();
  return Status::OK();
}

void MemoryStore::HoldOwnFeed(std::string why) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  own_feed_hold_ = std::move(why);
}

Result<Entry> MemoryStore::Append(std::string_view content) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  if (own_feed_hold_) return Status::FailedPrecondition("appends are held: " + *own_feed_hold_);
  PLUMLOG_ASSIGN_OR_RETURN(std::vector<Entry> v, AppendLocked({content}));
  return std::move(v.front());
}

Result<std::vector<Entry>> MemoryStore::AppendBatch(const std::vector<std::string>& contents) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  if (own_feed_hold_) return Status::FailedPrecondition("appends are held: " + *own_feed_hold_);
  std::vector<std::string_view> views(contents.begin(), contents.end());
  return AppendLocked(views);
}

IngestResult MemoryStore::Ingest(std::vector<Entry> entries) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  IngestResult r;
  if (in_listener_) {
    if (!entries.empty()) {
      r.failed_index = 0;
      r.failure = Status::FailedPrecondition("store writes are not allowed inside a listener");
    }
    return r;
  }
  std::vector<Entry> added;
  std::vector<ForkProof> new_forks;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    FeedInfo head;
    head.author = e.author();
    auto it = feeds_.find(e.author());
    if (it != feeds_.end()) head = it->second.head;
    std::optional<EntryId> stored;
    if (it != feeds_.end() && e.seq() <= head.seq && e.seq() >= 1 &&
        e.seq() <= it->second.arrivals.size()) {
      stored = log_[it->second.arrivals[e.seq() - 1]].id();
    }
    IngestDecision d = DecideIngest(head, e, stored, [&] { return Verify(e); });
    if (d.verdict == IngestVerdict::kDuplicate) {
      ++r.duplicates;
      continue;
    }
    if (d.verdict == IngestVerdict::kAppend) {
      Store1(e);
      added.push_back(e);
      ++r.stored;
      continue;
    }
    if (d.verdict == IngestVerdict::kFork) {
      ForkProof p{log_[it->second.arrivals[e.seq() - 1]], e};
      forks_.push_back(p);
      new_forks.push_back(p);
      it->second.head.forked = true;
      r.forks.push_back(e.author());
    }
    r.failed_index = i;
    r.failure = d.status;
    break;
  }
  Notify(added, new_forks);
  return r;
}

Status MemoryStore::AddForkProof(const Entry& a, const Entry& b) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  if (a.author() != b.author() || a.seq() != b.seq() || a.id() == b.id()) {
    return Status::InvalidEntry("not a fork proof: entries must share author and seq and differ");
  }
  if (!a.VerifySignature() || !b.VerifySignature()) {
    return Status::InvalidEntry("not a fork proof: bad signature");
  }
  FeedData& f = feeds_[a.author()];
  if (f.head.forked) return Status::AlreadyExists("feed already known to be forked");
  f.head.author = a.author();
  f.head.forked = true;
  ForkProof p{a, b};
  forks_.push_back(p);
  Notify({}, {p});
  return Status::OK();
}

Result<Entry> MemoryStore::Get(const FeedId& author, uint64_t seq) const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  auto it = feeds_.find(author);
  if (it == feeds_.end() || seq == 0 || seq > it->second.arrivals.size()) {
    return Status::NotFound("no entry " + author.ToString() + " seq " + std::to_string(seq));
  }
  return log_[it->second.arrivals[seq - 1]];
}

Result<Entry> MemoryStore::GetById(const EntryId& id) const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  auto it = ids_.find(id);
  if (it == ids_.end()) return Status::NotFound("no entry " + id.ToString());
  return Get(it->second.first, it->second.second);
}

Result<std::vector<Entry>> MemoryStore::ReadFeed(const FeedId& author, uint64_t from_seq,
                                                 size_t limit) const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  std::vector<Entry> out;
  auto it = feeds_.find(author);
  if (it == feeds_.end()) return out;
  const auto& arr = it->second.arrivals;
  for (uint64_t s = std::max<uint64_t>(from_seq, 1); s <= arr.size() && out.size() < limit; ++s) {
    out.push_back(log_[arr[s - 1]]);
  }
  return out;
}

Result<ArrivalPage> MemoryStore::ReadArrival(uint64_t after, size_t limit) const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  ArrivalPage page;
  page.next = after;
  for (uint64_t pos = after + 1; pos <= log_.size() && page.entries.size() < limit; ++pos) {
    if (deleted_[pos - 1]) continue;
    page.entries.push_back(log_[pos - 1]);
    page.positions.push_back(pos);
    page.next = pos;
  }
  return page;
}

Result<ArrivalPage> MemoryStore::ReadArrivalBackward(uint64_t before, size_t limit) const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  ArrivalPage page;
  page.next = before;
  for (uint64_t pos = std::min<uint64_t>(before - 1, log_.size());
       pos >= 1 && before > 0 && page.entries.size() < limit; --pos) {
    page.entries.push_back(log_[pos - 1]);
    page.positions.push_back(pos);
    page.next = pos;
  }
  return page;
}

Result<std::vector<FeedInfo>> MemoryStore::Feeds() const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  std::vector<FeedInfo> out;
  for (const auto& [id, f] : feeds_) {
    if (f.head.seq > 0 || f.head.forked) out.push_back(f.head);
  }
  std::sort(out.begin(), out.end(),
            [](const FeedInfo& a, const FeedInfo& b) { return a.author < b.author; });
  return out;
}

Result<FeedInfo> MemoryStore::Feed(const FeedId& author) const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  auto it = feeds_.find(author);
  if (it == feeds_.end() || (it->second.head.seq == 0 && !it->second.head.forked)) {
    return Status::NotFound("no entries of " + author.ToString());
  }
  return it->second.head;
}

Result<Clock> MemoryStore::GetClock() const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  Clock c;
  for (const auto& [id, f] : feeds_) {
    if (f.head.seq > 0) c[id] = f.head.seq;
  }
  return c;
}

Result<std::vector<ForkProof>> MemoryStore::Forks() const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  return forks_;
}

Result<CheckReport> MemoryStore::Check() const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  CheckReport rep;
  for (const auto& [id, f] : feeds_) {
    ++rep.feeds;
    std::optional<EntryId> prev;
    for (size_t i = 0; i < f.arrivals.size(); ++i) {
      const Entry& e = log_[f.arrivals[i]];
      ++rep.entries;
      const std::string where = id.ToString() + " seq " + std::to_string(i + 1);
      if (e.seq() != i + 1 || e.author() != id) rep.problems.push_back({where, "misplaced"});
      if (e.previous() != prev) rep.problems.push_back({where, "broken chain"});
      if (!Verify(e)) rep.problems.push_back({where, "bad signature"});
      prev = e.id();
    }
  }
  rep.forks = forks_.size();
  return rep;
}

Result<std::map<FeedId, int64_t>> MemoryStore::LoadPeerClock(const FeedId& peer) const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  auto it = peer_clocks_.find(peer);
  if (it == peer_clocks_.end()) return std::map<FeedId, int64_t>();
  return it->second;
}

Status MemoryStore::SavePeerClock(const FeedId& peer, const std::map<FeedId, int64_t>& clock) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  peer_clocks_[peer] = clock;
  return Status::OK();
}

Result<std::set<FeedId>> MemoryStore::LoadBlocks() const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  return blocks_;
}

Status MemoryStore::SaveBlock(const FeedId& feed, bool blocked) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  if (blocked) {
    blocks_.insert(feed);
  } else {
    blocks_.erase(feed);
  }
  return Status::OK();
}

Result<uint64_t> MemoryStore::DeleteFeed(const FeedId& author) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  if (author == key_.public_key()) {
    return Status::InvalidArgument("the local feed cannot be deleted");
  }
  auto it = feeds_.find(author);
  if (it == feeds_.end()) return uint64_t{0};
  const uint64_t n = it->second.arrivals.size();
  for (uint64_t a : it->second.arrivals) {
    deleted_[a] = true;
    ids_.erase(log_[a].id());
  }
  feeds_.erase(it);
  std::erase_if(forks_, [&](const ForkProof& p) { return p.stored.author() == author; });
  return n;
}

void MemoryStore::AddListener(StoreListener* listener) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  listeners_.push_back(listener);
}

void MemoryStore::RemoveListener(StoreListener* listener) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  std::erase(listeners_, listener);
}

size_t MemoryStore::entry_count() const {
  std::lock_guard<std::recursive_mutex> l(mu_);
  return static_cast<size_t>(std::count(deleted_.begin(), deleted_.end(), false));
}

Result<std::vector<FeedRangeSummary>> MemoryStore::SummarizeFeeds(
    const FeedRange& range, uint32_t split_bits) const {
  PLUMLOG_RETURN_IF_ERROR(format::CheckSummaryRequest(range, split_bits));
  PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedInfo> heads, Feeds());
  return format::SummarizeHeads(heads, range, split_bits);
}

Result<std::vector<FeedInfo>> MemoryStore::FeedsInRange(
    const FeedRange& range, size_t limit) const {
  PLUMLOG_RETURN_IF_ERROR(format::CheckSummaryRequest(range, 0));
  PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedInfo> heads, Feeds());
  std::vector<FeedInfo> out;
  for (const FeedInfo& h : heads) {
    if (out.size() >= limit) break;
    if (format::CountsInSummary(h) && range.Contains(h.author))
      out.push_back(h);
  }
  return out;
}

}  // namespace plumlog::storage
