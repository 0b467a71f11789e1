// HyParView (Leitao, Pereira, Rodrigues, DSN 2007): the active and passive
// views, joins with forward-join random walks, neighbour requests, disconnects
// and shuffles (docs/protocol.md section 17).
#include <algorithm>
#include <cmath>

#include "replication/membership.h"

namespace plumlog::replication {

// ---------------------------------------------------------------------------
// Views

bool Membership::InActive(const FeedId& id) const {
  return std::find(active_.begin(), active_.end(), id) != active_.end();
}
bool Membership::InPassive(const FeedId& id) const {
  return std::find(passive_.begin(), passive_.end(), id) != passive_.end();
}

void Membership::AddActive(const FeedId& id, TimeMs now) {
  if (id == self_ || InActive(id)) return;
  RemovePassive(id);
  pending_.erase(id);
  while (active_.size() >= options_.active_view_size) DropRandomActive(now);
  active_.push_back(id);
  Learn(id, {}, false, now);
  Report(MembershipEvent::kNeighborUp, id);
}

void Membership::RemoveActive(const FeedId& id, bool send_disconnect,
                              bool alive, TimeMs now) {
  (void)now;
  auto it = std::find(active_.begin(), active_.end(), id);
  if (it == active_.end()) return;
  active_.erase(it);
  if (probe_ && probe_->target == id) probe_.reset();
  if (send_disconnect) {
    Send(id, DisconnectMessage{alive});
  }
  MembershipEffect e;
  e.kind = MembershipEffect::Kind::kDisconnect;
  e.peer = id;
  effects_.push_back(std::move(e));
  Report(MembershipEvent::kNeighborDown, id);
}

void Membership::DropRandomActive(TimeMs now) {
  if (active_.empty()) return;
  std::uniform_int_distribution<size_t> d(0, active_.size() - 1);
  const FeedId victim = active_[d(rng_)];
  RemoveActive(victim, /*send_disconnect=*/true, /*alive=*/true, now);
  AddPassive(victim, now);
}

void Membership::AddPassive(const FeedId& id, TimeMs now) {
  (void)now;
  if (id == self_ || InActive(id) || InPassive(id) ||
      options_.passive_view_size == 0)
    return;
  auto it = members_.find(id);
  if (it != members_.end() && (it->second.state == MemberState::kDead ||
                               it->second.state == MemberState::kLeft)) {
    return;
  }
  if (passive_.size() >= options_.passive_view_size) {
    std::uniform_int_distribution<size_t> d(0, passive_.size() - 1);
    passive_.erase(passive_.begin() + static_cast<ptrdiff_t>(d(rng_)));
  }
  passive_.push_back(id);
}

void Membership::RemovePassive(const FeedId& id) {
  auto it = std::find(passive_.begin(), passive_.end(), id);
  if (it != passive_.end()) passive_.erase(it);
}

void Membership::StartRequest(const FeedId& id, Pending::Kind kind, bool high,
                              TimeMs now) {
  if (id == self_ || InActive(id) || pending_.count(id)) return;
  Pending p;
  p.kind = kind;
  p.high = high;
  p.deadline = now + options_.neighbor_timeout_ms;
  pending_[id] = p;
  if (kind == Pending::Kind::kNeighbor) ++stats_.neighbor_requests;
  MembershipEffect e;
  e.kind = MembershipEffect::Kind::kConnect;
  e.peer = id;
  e.address = AddressOf(id);
  effects_.push_back(std::move(e));
}

void Membership::FailRequest(const FeedId& id, bool close, TimeMs now) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  const bool was_join = it->second.kind == Pending::Kind::kJoin;
  pending_.erase(it);
  if (close) {
    MembershipEffect e;
    e.kind = MembershipEffect::Kind::kDisconnect;
    e.peer = id;
    effects_.push_back(std::move(e));
  }
  RemovePassive(id);
  if (was_join && active_.empty() && !contacts_.empty()) {
    // Try the next contact right away (Join's "tried in order").
    if (next_contact_ < contacts_.size()) {
      const Contact& c = contacts_[next_contact_++];
      Learn(c.id, c.address, true, now);
      StartRequest(c.id, Pending::Kind::kJoin, true, now);
    }
  }
}

size_t Membership::PendingNeighbors() const { return pending_.size(); }

void Membership::FillActive(TimeMs now) {
  if (!joined_ || left_) return;
  size_t have = active_.size() + PendingNeighbors();
  while (have < options_.active_view_size) {
    std::vector<FeedId> candidates;
    for (const FeedId& p : passive_) {
      if (pending_.count(p)) continue;
      auto it = members_.find(p);
      if (it != members_.end() && it->second.state != MemberState::kAlive)
        continue;
      candidates.push_back(p);
    }
    if (candidates.empty()) {
      // Passive view exhausted: fall back on members SWIM gossip told us of,
      // those we can dial (one without an address fails at once, and would
      // be picked again and again).
      for (const auto& [id, m] : members_) {
        if (m.state == MemberState::kAlive && !m.address.empty() &&
            !InActive(id) && !pending_.count(id)) {
          candidates.push_back(id);
        }
      }
      std::sort(candidates.begin(), candidates.end());
    }
    if (candidates.empty()) return;
    std::uniform_int_distribution<size_t> d(0, candidates.size() - 1);
    StartRequest(candidates[d(rng_)], Pending::Kind::kNeighbor, active_.empty(),
                 now);
    ++have;
  }
}

bool Membership::RandomActiveExcept(const FeedId& a, const FeedId& b,
                                    FeedId* out) {
  std::vector<FeedId> c;
  for (const FeedId& x : active_) {
    if (x != a && x != b) c.push_back(x);
  }
  if (c.empty()) return false;
  std::uniform_int_distribution<size_t> d(0, c.size() - 1);
  *out = c[d(rng_)];
  return true;
}

std::vector<FeedId> Membership::Sample(const std::vector<FeedId>& from,
                                       size_t k) {
  std::vector<FeedId> c = from;
  std::shuffle(c.begin(), c.end(), rng_);
  if (c.size() > k) c.resize(k);
  return c;
}

void Membership::StartShuffle(TimeMs now) {
  (void)now;
  if (active_.empty()) return;
  std::uniform_int_distribution<size_t> d(0, active_.size() - 1);
  const FeedId target = active_[d(rng_)];
  ShuffleMessage m;
  m.origin = self_;
  m.origin_address = address_;
  m.ttl = options_.passive_random_walk_length;
  m.samples.push_back({self_, address_});
  for (const FeedId& id : Sample(active_, options_.shuffle_active)) {
    if (id != target) m.samples.push_back({id, AddressOf(id)});
  }
  for (const FeedId& id : Sample(passive_, options_.shuffle_passive)) {
    m.samples.push_back({id, AddressOf(id)});
  }
  last_shuffle_sent_ = m.samples;
  ++stats_.shuffles;
  Send(target, m);
}

void Membership::IntegrateSamples(const FeedId& from,
                                  const std::vector<PeerSample>& samples,
                                  const std::vector<PeerSample>& sent,
                                  TimeMs now) {
  std::vector<FeedId> evictable;
  for (const PeerSample& s : sent) evictable.push_back(s.id);
  for (const PeerSample& s : samples) {
    if (s.id == self_ || InActive(s.id) || InPassive(s.id)) continue;
    auto it = members_.find(s.id);
    if (it != members_.end() && (it->second.state == MemberState::kDead ||
                                 it->second.state == MemberState::kLeft)) {
      continue;
    }
    if (!Learn(s.id, s.address, /*self_claimed=*/false, now, &from)) continue;
    if (passive_.size() >= options_.passive_view_size &&
        options_.passive_view_size > 0) {
      // Prefer evicting what we sent (the other side has it now).
      bool evicted = false;
      while (!evictable.empty() && !evicted) {
        FeedId e = evictable.back();
        evictable.pop_back();
        auto pit = std::find(passive_.begin(), passive_.end(), e);
        if (pit != passive_.end()) {
          passive_.erase(pit);
          evicted = true;
        }
      }
    }
    AddPassive(s.id, now);
  }
}

void Membership::HandleJoin(const FeedId& from, const JoinMessage& m,
                            TimeMs now) {
  Learn(from, m.address, true, now);
  if (InActive(from)) {
    Send(from, NeighborReplyMessage{true});
    return;
  }
  AddActive(from, now);
  Send(from, NeighborReplyMessage{true});
  for (const FeedId& n : active_) {
    if (n == from) continue;
    Send(n, ForwardJoinMessage{from, AddressOf(from),
                               options_.active_random_walk_length});
  }
}

void Membership::HandleForwardJoin(const FeedId& from,
                                   const ForwardJoinMessage& m, TimeMs now) {
  if (m.node == self_) return;
  auto it = members_.find(m.node);
  if (it != members_.end() && (it->second.state == MemberState::kDead ||
                               it->second.state == MemberState::kLeft)) {
    return;  // stale news; the node must refute first
  }
  if (!Learn(m.node, m.address, false, now, &from)) return;
  // Connections we open for forward-joins are bounded: beyond two views'
  // worth in flight the joiner only goes into the passive view.
  const bool can_accept = pending_.size() < 2 * options_.active_view_size;
  if (m.ttl == 0 || active_.size() <= 1) {
    if (can_accept) {
      StartRequest(m.node, Pending::Kind::kForwardJoinAccept, true, now);
    } else {
      AddPassive(m.node, now);
    }
    return;
  }
  if (m.ttl == options_.passive_random_walk_length) AddPassive(m.node, now);
  FeedId next;
  if (RandomActiveExcept(from, m.node, &next)) {
    Send(next, ForwardJoinMessage{m.node, AddressOf(m.node), m.ttl - 1});
  } else if (can_accept) {
    StartRequest(m.node, Pending::Kind::kForwardJoinAccept, true, now);
  } else {
    AddPassive(m.node, now);
  }
}

void Membership::HandleNeighbor(const FeedId& from, const NeighborMessage& m,
                                TimeMs now) {
  Learn(from, m.address, true, now);
  if (InActive(from)) {
    Send(from, NeighborReplyMessage{true});
    return;
  }
  if (m.high_priority || active_.size() < options_.active_view_size) {
    AddActive(from, now);
    Send(from, NeighborReplyMessage{true});
  } else {
    Send(from, NeighborReplyMessage{false});
    AddPassive(from, now);
  }
}

void Membership::HandleNeighborReply(const FeedId& from,
                                     const NeighborReplyMessage& m,
                                     TimeMs now) {
  auto it = pending_.find(from);
  if (it == pending_.end()) {
    if (m.accepted && !InActive(from)) {
      // Stale accept (we gave up on the request): tell the peer.
      Send(from, DisconnectMessage{true});
    }
    return;
  }
  if (m.accepted) {
    pending_.erase(it);
    AddActive(from, now);
  } else {
    FailRequest(from, /*close=*/true, now);
    AddPassive(from, now);
  }
}

void Membership::HandleDisconnect(const FeedId& from,
                                  const DisconnectMessage& m, TimeMs now) {
  if (!InActive(from)) return;
  auto it = std::find(active_.begin(), active_.end(), from);
  active_.erase(it);
  if (probe_ && probe_->target == from) probe_.reset();
  Report(MembershipEvent::kNeighborDown, from);
  if (m.alive) AddPassive(from, now);
  FillActive(now);
}

void Membership::HandleShuffle(const FeedId& from, const ShuffleMessage& m,
                               TimeMs now) {
  if (m.origin == self_) return;
  FeedId next;
  if (m.ttl > 0 && active_.size() > 1 &&
      RandomActiveExcept(from, m.origin, &next)) {
    ShuffleMessage fwd = m;
    fwd.ttl = m.ttl - 1;
    Send(next, fwd);
    return;
  }
  if (!Learn(m.origin, m.origin_address, false, now, &from)) return;
  ShuffleReplyMessage reply;
  for (const FeedId& id : Sample(passive_, m.samples.size())) {
    reply.samples.push_back({id, AddressOf(id)});
  }
  Send(m.origin, reply, m.origin_address);
  IntegrateSamples(from, m.samples, reply.samples, now);
}

}  // namespace plumlog::replication
