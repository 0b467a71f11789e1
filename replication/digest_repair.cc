// Bimodal-multicast anti-entropy (docs/protocol.md, "Digests"): every round a
// digest of our clock goes to one random member; the receiver sends what the
// sender lacks and, after a grace period, solicits what it lacks itself.
#include <algorithm>

#include "replication/note.h"
#include "replication/replicator.h"
#include "replication/replicator_internal.h"

namespace plumlog::replication {

void Replicator::HandleDigest(Peer& p, const DigestMessage& m, TimeMs now) {
  size_t budget = options_.repair_max_entries;
  auto ours = feeds_.lower_bound(m.lo);
  auto send_missing_upto = [&](const FeedId* limit) {
    // Our feeds in range that the digest does not list: the sender has none.
    for (; ours != feeds_.end() && (!limit || ours->first < *limit) &&
           !(m.hi < ours->first);
         ++ours) {
      const uint64_t stable = StableSeq(ours->second, now);
      if (stable > 0 && !ours->second.forked && SharedWith(ours->first, p.id)) {
        SendRepair(p, ours->first, 0, &budget, stable);
      }
    }
  };
  for (const DigestItem& item : m.clock) {
    send_missing_upto(&item.feed);
    if (ours != feeds_.end() && ours->first == item.feed) ++ours;
    RepairItem(p, item.feed, item.seq, item.head_prefix, &budget, now);
  }
  send_missing_upto(nullptr);
}

void Replicator::RepairItem(Peer& p, const FeedId& feed, uint64_t their_seq,
                            uint64_t their_head, size_t* budget, TimeMs now) {
  auto ours = feeds_.find(feed);
  uint64_t mine = 0;
  uint64_t my_head = 0;
  bool forked = false;
  if (ours != feeds_.end()) {
    mine = ours->second.seq;
    my_head = ours->second.head_prefix;
    forked = ours->second.forked;
  }
  if (forked || !SharedWith(feed, p.id)) return;
  if (their_seq > mine) {
    // Probably on its way by push: solicit only if still missing after a
    // graft timeout.
    const TimeMs deadline = now + options_.graft_timeout_ms;
    if (pending_wants_.size() >= options_.max_claims_per_peer &&
        !pending_wants_.count(feed)) {
      ++stats_.claims_refused;  // digests naming too many feeds at once
      return;
    }
    auto [it, inserted] = pending_wants_.try_emplace(
        feed, PendingWant{p.id, their_seq, deadline});
    if (inserted) {
      want_timers_.emplace(deadline, feed);
    } else if (their_seq > it->second.seq) {
      it->second.peer = p.id;
      it->second.seq = their_seq;
    }
  } else if (mine > their_seq) {
    // Only what we have held long enough that push should have delivered it.
    const uint64_t stable = StableSeq(ours->second, now);
    if (stable > their_seq) SendRepair(p, feed, their_seq, budget, stable);
  } else if (mine > 0 && my_head != their_head) {
    // Same sequence, different head: a fork. Our head lets them prove it.
    SendRepair(p, feed, mine - 1, budget);
  }
}

uint64_t Replicator::StableSeq(FeedState& fs, TimeMs now) {
  const TimeMs cutoff = now - options_.graft_timeout_ms;
  while (!fs.recent.empty() && fs.recent.front().second <= cutoff) {
    // Keep the newest pair at or before the cutoff as the boundary.
    if (fs.recent.size() >= 2 && fs.recent[1].second <= cutoff) {
      fs.recent.pop_front();
    } else {
      break;
    }
  }
  if (fs.recent.empty()) return fs.seq;
  if (fs.recent.front().second <= cutoff) {
    // Everything up to the second pair's first seq - 1 is old enough.
    return fs.recent.size() >= 2 ? fs.recent[1].first - 1 : fs.seq;
  }
  return fs.recent.front().first - 1;
}

void Replicator::SendPendingWants(TimeMs now) {
  std::map<FeedId, WantMessage> by_peer;
  // Only the wants whose grace period ended (the index).
  while (!want_timers_.empty() && want_timers_.begin()->first <= now) {
    const FeedId feed = want_timers_.begin()->second;
    want_timers_.erase(want_timers_.begin());
    auto it = pending_wants_.find(feed);
    if (it == pending_wants_.end()) continue;
    const PendingWant want = it->second;
    pending_wants_.erase(it);
    // No state is created for a feed only a digest mentioned.
    auto fit = feeds_.find(feed);
    const uint64_t have = fit == feeds_.end() ? 0 : fit->second.seq;
    const bool forked = fit != feeds_.end() && fit->second.forked;
    if (!forked && SharedWith(feed, want.peer) && have < want.seq &&
        (fit != feeds_.end() || feeds_.size() < options_.max_feeds)) {
      WantMessage& w = by_peer[want.peer];
      if (w.after.size() < kMaxWantItems) w.after.emplace_back(feed, have);
    }
  }
  for (auto& [peer, w] : by_peer) {
    Send(peer, EncodeMessage(w), MessageType::kWant);
    ++stats_.wants_sent;
    ++stats_.frames_sent;
  }
}

void Replicator::HandleWant(Peer& p, const WantMessage& m, TimeMs now) {
  (void)now;
  size_t budget = options_.repair_max_entries;
  for (const auto& [feed, after] : m.after) {
    auto it = feeds_.find(feed);
    if (it == feeds_.end() || it->second.forked || !SharedWith(feed, p.id))
      continue;
    if (it->second.seq > after) SendRepair(p, feed, after, &budget);
  }
}

void Replicator::SendRepair(Peer& p, const FeedId& feed, uint64_t after,
                            size_t* budget, uint64_t upto) {
  if (*budget == 0) return;
  auto it = feeds_.find(feed);
  if (it == feeds_.end()) return;
  const uint64_t have = std::min(it->second.seq, upto);
  if (have <= after) return;
  const size_t n =
      static_cast<size_t>(std::min<uint64_t>(*budget, have - after));
  Result<std::vector<Entry>> entries = store_->ReadFeed(feed, after + 1, n);
  if (!entries.ok()) {
    StoreError(p.id, feed,
               entries.status().WithContext("cannot read entries to repair"));
    return;
  }
  *budget -= entries->size();
  for (Entry& e : *entries) p.out_repair.push_back(std::move(e));
}

void Replicator::DigestRound(TimeMs now) {
  std::vector<FeedId> candidates;
  if (targets_ != nullptr) candidates = targets_->DigestCandidates();
  std::erase(candidates, self_);
  if (candidates.empty()) candidates = peer_order_;
  if (candidates.empty()) return;
  std::uniform_int_distribution<size_t> pick(0, candidates.size() - 1);
  const FeedId target = candidates[pick(rng_)];
  if (options_.reconcile) {
    // A session of range-based reconciliation instead of a digest of every
    // feed (not while one of ours with this member still runs).
    StartReconcile(target, now);
    return;
  }
  std::vector<DigestItem> clock;
  for (const auto& [feed, fs] : feeds_) {
    if (fs.seq > 0 && !fs.forked && SharedWith(feed, target)) {
      clock.push_back(DigestItem{feed, fs.seq, fs.head_prefix});
    }
  }
  ++digest_round_;
  for (DigestMessage& d : SplitDigest(digest_round_, clock)) {
    Send(target, EncodeMessage(d), MessageType::kDigest);
    ++stats_.digests_sent;
    ++stats_.frames_sent;
  }
}

}  // namespace plumlog::replication
