#include "node/replication_policy.h"

#include <algorithm>
#include <deque>

#include "node/contact.h"

namespace plumlog::node {
namespace {

// Entries read per store call while scanning a feed for contact entries.
constexpr size_t kScanChunk = 512;

}  // namespace

ReplicationPolicy::ReplicationPolicy(const storage::ReplicationStore* store,
                                     bool replicate_all, uint32_t hops)
    : store_(store),
      self_(store->local_id()),
      replicate_all_(replicate_all),
      max_hops_(hops) {
  hops_[self_] = 0;
}

uint32_t ReplicationPolicy::GraphDepth() const {
  // Replicating everything, only our own follows matter (for `follows`).
  return replicate_all_ ? 1 : max_hops_;
}

Status ReplicationPolicy::Load() {
  Status error;
  Result<std::set<FeedId>> blocks = store_->LoadBlocks();
  if (blocks.ok()) {
    blocks_ = std::move(blocks).value();
  } else {
    error = blocks.status().WithContext("cannot read the block list");
  }
  std::vector<FeedId> changed;
  Recompute(&changed, &error);
  return error;
}

bool ReplicationPolicy::Replicates(const FeedId& feed) const {
  if (blocks_.count(feed)) return false;
  if (feed == self_ || replicate_all_) return true;
  if (requested_.count(feed)) return true;
  return hops_.count(feed) > 0;
}

std::vector<FeedId> ReplicationPolicy::Wanted() const {
  std::vector<FeedId> out;
  if (replicate_all_) {
    for (const FeedId& f : Follows()) {
      if (!blocks_.count(f)) out.push_back(f);
    }
  } else {
    for (const auto& [feed, d] : hops_) {
      if (feed != self_ && !blocks_.count(feed)) out.push_back(feed);
    }
  }
  for (const FeedId& f : requested_) {
    if (!blocks_.count(f)) out.push_back(f);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool ReplicationPolicy::ApplyContact(const FeedId& author, const Entry& entry) {
  // Each entry once, in sequence order: a queued notification of an entry a
  // scan already read must not undo a later one.
  uint64_t& applied = applied_seq_[author];
  if (entry.seq() <= applied) return false;
  applied = entry.seq();
  std::optional<ContactContent> c = ParseContact(entry.content());
  if (!c || c->contact == author) return false;
  Edges& edges = graph_[author];
  auto [it, inserted] = edges.try_emplace(c->contact, c->following);
  if (!inserted) {
    if (it->second == c->following) return false;
    it->second = c->following;
  }
  return c->following || !inserted;
}

Status ReplicationPolicy::Scan(const FeedId& author) {
  scanned_.insert(author);
  for (uint64_t from = 1;;) {
    Result<std::vector<Entry>> entries =
        store_->ReadFeed(author, from, kScanChunk);
    if (!entries.ok()) {
      return entries.status().WithContext(
          "cannot read the contact entries of " + author.ToString());
    }
    for (const Entry& e : *entries) ApplyContact(author, e);
    if (entries->size() < kScanChunk) return Status::OK();
    from = entries->back().seq() + 1;
  }
}

std::unordered_map<FeedId, uint32_t> ReplicationPolicy::Distances() const {
  // Breadth-first from the local feed over following edges, not through
  // blocked feeds, up to the policy's range.
  const uint32_t range = replicate_all_ ? 1 : max_hops_;
  std::unordered_map<FeedId, uint32_t> dist;
  dist[self_] = 0;
  std::deque<FeedId> queue{self_};
  while (!queue.empty()) {
    const FeedId at = queue.front();
    queue.pop_front();
    const uint32_t d = dist[at];
    if (d >= range) continue;
    auto it = graph_.find(at);
    if (it == graph_.end()) continue;
    for (const auto& [next, following] : it->second) {
      if (!following || blocks_.count(next) || dist.count(next)) continue;
      dist[next] = d + 1;
      queue.push_back(next);
    }
  }
  return dist;
}

void ReplicationPolicy::Recompute(std::vector<FeedId>* changed, Status* error) {
  // Verdicts before, for every feed that may change.
  std::unordered_map<FeedId, bool> before;
  for (const auto& [feed, d] : hops_) before[feed] = Replicates(feed);
  std::unordered_map<FeedId, uint32_t> dist;
  for (;;) {
    dist = Distances();
    // Authors that came within range: their stored entries extend the graph.
    std::vector<FeedId> unread;
    for (const auto& [feed, d] : dist) {
      if (d < GraphDepth() && !scanned_.count(feed)) unread.push_back(feed);
    }
    if (unread.empty()) break;
    for (const FeedId& author : unread) {
      Status st = Scan(author);
      if (!st.ok() && error != nullptr && error->ok()) *error = st;
    }
  }
  for (const auto& [feed, d] : dist) before.try_emplace(feed, Replicates(feed));
  hops_ = std::move(dist);
  for (const auto& [feed, was] : before) {
    if (Replicates(feed) != was) changed->push_back(feed);
  }
  std::sort(changed->begin(), changed->end());
}

std::vector<FeedId> ReplicationPolicy::OnEntry(const Entry& entry,
                                               Status* error) {
  std::vector<FeedId> changed;
  const FeedId& author = entry.author();
  // Only authors within range extend the graph (their earlier entries were
  // scanned when they came within range).
  auto it = hops_.find(author);
  if (it == hops_.end() || it->second >= GraphDepth() ||
      !scanned_.count(author))
    return changed;
  if (ApplyContact(author, entry)) Recompute(&changed, error);
  return changed;
}

std::vector<FeedId> ReplicationPolicy::SetBlocked(const FeedId& feed,
                                                  bool blocked, Status* error) {
  std::vector<FeedId> changed;
  if (feed == self_ || (blocks_.count(feed) > 0) == blocked) return changed;
  const bool before = Replicates(feed);
  if (blocked) {
    blocks_.insert(feed);
  } else {
    blocks_.erase(feed);
  }
  // Its follows stop (or start) counting too.
  Recompute(&changed, error);
  if (Replicates(feed) != before &&
      !std::binary_search(changed.begin(), changed.end(), feed)) {
    changed.push_back(feed);
    std::sort(changed.begin(), changed.end());
  }
  return changed;
}

std::vector<FeedId> ReplicationPolicy::Request(const FeedId& feed,
                                               bool replicate, Status* error) {
  (void)error;
  std::vector<FeedId> changed;
  const bool before = Replicates(feed);
  if (replicate) {
    requested_.insert(feed);
  } else {
    requested_.erase(feed);
  }
  if (Replicates(feed) != before) changed.push_back(feed);
  return changed;
}

std::vector<FeedId> ReplicationPolicy::Follows() const {
  std::vector<FeedId> out;
  auto it = graph_.find(self_);
  if (it == graph_.end()) return out;
  for (const auto& [feed, following] : it->second) {
    if (following) out.push_back(feed);
  }
  return out;
}

std::vector<std::pair<FeedId, uint32_t>> ReplicationPolicy::InRange() const {
  std::vector<std::pair<FeedId, uint32_t>> out(hops_.begin(), hops_.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace plumlog::node
