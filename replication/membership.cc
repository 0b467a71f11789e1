#include "replication/membership.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace plumlog::replication {

namespace {
constexpr TimeMs kNever = std::numeric_limits<TimeMs>::max();
// Direct pings a node that suspects a member only by hearsay sends before it
// declares the member dead (one per probe interval).
constexpr uint32_t kLastChancePings = 8;
// Direct pings (one per probe timeout) that must go unanswered before we
// adopt someone else's dead or left verdict about a member.
constexpr uint32_t kVerdictPings = 2;
// Ping-reqs relayed at once; more are ignored (a peer cannot make us keep
// unbounded state or send unbounded pings).
constexpr size_t kMaxRelays = 64;
// Distinct suspecters remembered per suspicion, at least (the timeout stops
// shrinking at suspicion_confirmations; a liar cannot grow the set beyond).
constexpr size_t kMinConfirmationsKept = 8;
}  // namespace

const char* MembershipEventName(MembershipEvent e) {
  switch (e) {
    case MembershipEvent::kNeighborUp: return "neighbor up";
    case MembershipEvent::kNeighborDown: return "neighbor down";
    case MembershipEvent::kMemberUp: return "member up";
    case MembershipEvent::kSuspect: return "suspect";
    case MembershipEvent::kDown: return "down";
    case MembershipEvent::kLeft: return "left";
  }
  return "unknown";
}

Membership::Membership(const FeedId& self, std::string address,
                       const MembershipOptions& options, uint64_t seed)
    : self_(self),
      address_(address.size() <= kMaxAddressBytes ? std::move(address) : std::string()),
      options_(options),
      rng_(seed) {}

// ---------------------------------------------------------------------------
// Plumbing

void Membership::Send(const FeedId& peer, const MembershipMessage& m, std::string_view address) {
  MembershipEffect e;
  e.kind = MembershipEffect::Kind::kSend;
  e.peer = peer;
  e.address = address.empty() ? AddressOf(peer) : std::string(address);
  e.frame = EncodeMembershipMessage(m);
  e.type = TypeOf(m);
  ++stats_.frames_sent;
  stats_.bytes_sent += e.frame.size();
  effects_.push_back(std::move(e));
}

void Membership::Report(MembershipEvent ev, const FeedId& peer, uint64_t incarnation) {
  MembershipEffect e;
  e.kind = MembershipEffect::Kind::kEvent;
  e.peer = peer;
  e.event = ev;
  e.incarnation = incarnation;
  effects_.push_back(std::move(e));
}

std::vector<MembershipEffect> Membership::TakeEffects() {
  std::vector<MembershipEffect> out;
  out.swap(effects_);
  return out;
}

std::string Membership::AddressOf(const FeedId& id) const {
  auto it = members_.find(id);
  return it == members_.end() ? std::string() : it->second.address;
}

size_t Membership::MaxIntroduced() const {
  // One peer may fill at most a quarter of the table with members that have
  // not talked to us; legitimate gossip spreads introductions over all of a
  // node's neighbours.
  return std::max<size_t>(1, options_.max_members / 4);
}

size_t Membership::MaxConfirmations() const {
  return std::max<size_t>(kMinConfirmationsKept, options_.suspicion_confirmations + 1);
}

void Membership::Proven(Member& m) {
  if (!m.introducer) return;
  auto it = introduced_.find(*m.introducer);
  if (it != introduced_.end() && --it->second == 0) introduced_.erase(it);
  m.introducer.reset();
}

void Membership::Forget(const FeedId& id) {
  auto it = members_.find(id);
  if (it == members_.end()) return;
  Proven(it->second);
  members_.erase(it);
  gone_.erase(id);
  suspects_.erase(id);
}

Membership::Member* Membership::Learn(const FeedId& id, std::string_view address, bool self_claimed,
                                      TimeMs now, const FeedId* teller) {
  if (id == self_) return nullptr;
  auto it = members_.find(id);
  if (it == members_.end()) {
    if (members_.size() >= options_.max_members) return nullptr;
    if (teller) {
      size_t& count = introduced_[*teller];
      if (count >= MaxIntroduced()) return nullptr;
      ++count;
    }
    it = members_.emplace(id, Member()).first;
    it->second.state_since = now;
    if (teller) it->second.introducer = *teller;
    ++live_count_;
  }
  Member& m = it->second;
  if (!address.empty() && address.size() <= kMaxAddressBytes &&
      (self_claimed || m.address.empty())) {
    m.address.assign(address);
  }
  return &m;
}

void Membership::SetState(const FeedId& id, Member& m, MemberState s, TimeMs now) {
  const bool was_live = m.state == MemberState::kAlive || m.state == MemberState::kSuspect;
  const bool live = s == MemberState::kAlive || s == MemberState::kSuspect;
  if (was_live && !live) --live_count_;
  if (!was_live && live) ++live_count_;
  if (m.state == MemberState::kSuspect) suspects_.erase(id);
  if (m.state == MemberState::kDead || m.state == MemberState::kLeft) gone_.erase(id);
  if (s == MemberState::kSuspect) suspects_.insert(id);
  if (s == MemberState::kDead || s == MemberState::kLeft) gone_.insert(id);
  m.state = s;
  m.state_since = now;
  if (s != MemberState::kSuspect) {
    m.confirmations.clear();
    m.verdict = MemberState::kSuspect;
    m.told = 0;
  }
}

size_t Membership::ClusterSizeEstimate() const { return live_count_ + 1; }

uint32_t Membership::RetransmitLimit() const {
  const double n = static_cast<double>(ClusterSizeEstimate());
  return options_.retransmit_mult * static_cast<uint32_t>(std::ceil(std::log10(n + 1)));
}

TimeMs Membership::SuspicionTimeout(size_t confirmations) const {
  const double n = static_cast<double>(ClusterSizeEstimate());
  const double interval = static_cast<double>(options_.probe_interval_ms);
  const double base = std::max(1.0, options_.suspicion_mult * std::log10(n + 1)) * interval;
  const double max = options_.suspicion_max_timeout_mult * base;
  const double k = static_cast<double>(options_.suspicion_confirmations);
  double t = max;
  if (confirmations > 0) {
    t = max - (max - base) * std::log(static_cast<double>(confirmations) + 1) / std::log(k + 1);
  }
  return static_cast<TimeMs>(std::max(base, t));
}

std::optional<MemberState> Membership::StateOf(const FeedId& id) const {
  auto it = members_.find(id);
  if (it == members_.end()) return std::nullopt;
  return it->second.state;
}

std::optional<TimeMs> Membership::SuspicionDeadline(const FeedId& id) const {
  auto it = members_.find(id);
  if (it == members_.end() || it->second.state != MemberState::kSuspect) return std::nullopt;
  return it->second.suspect_deadline;
}

std::vector<FeedId> Membership::ActiveView() const { return active_; }
std::vector<FeedId> Membership::PassiveView() const { return passive_; }

std::vector<FeedId> Membership::LiveMembers() const {
  std::vector<FeedId> out;
  for (const auto& [id, m] : members_) {
    if (m.state == MemberState::kAlive || m.state == MemberState::kSuspect) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

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

void Membership::RemoveActive(const FeedId& id, bool send_disconnect, bool alive, TimeMs now) {
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
  if (id == self_ || InActive(id) || InPassive(id) || options_.passive_view_size == 0) return;
  auto it = members_.find(id);
  if (it != members_.end() &&
      (it->second.state == MemberState::kDead || it->second.state == MemberState::kLeft)) {
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

void Membership::StartRequest(const FeedId& id, Pending::Kind kind, bool high, TimeMs now) {
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
      if (it != members_.end() && it->second.state != MemberState::kAlive) continue;
      candidates.push_back(p);
    }
    if (candidates.empty()) {
      // Passive view exhausted: fall back on members SWIM gossip told us of.
      for (const auto& [id, m] : members_) {
        if (m.state == MemberState::kAlive && !InActive(id) && !pending_.count(id)) {
          candidates.push_back(id);
        }
      }
      std::sort(candidates.begin(), candidates.end());
    }
    if (candidates.empty()) return;
    std::uniform_int_distribution<size_t> d(0, candidates.size() - 1);
    StartRequest(candidates[d(rng_)], Pending::Kind::kNeighbor, active_.empty(), now);
    ++have;
  }
}

bool Membership::RandomActiveExcept(const FeedId& a, const FeedId& b, FeedId* out) {
  std::vector<FeedId> c;
  for (const FeedId& x : active_) {
    if (x != a && x != b) c.push_back(x);
  }
  if (c.empty()) return false;
  std::uniform_int_distribution<size_t> d(0, c.size() - 1);
  *out = c[d(rng_)];
  return true;
}

std::vector<FeedId> Membership::Sample(const std::vector<FeedId>& from, size_t k) {
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

void Membership::IntegrateSamples(const FeedId& from, const std::vector<PeerSample>& samples,
                                  const std::vector<PeerSample>& sent, TimeMs now) {
  std::vector<FeedId> evictable;
  for (const PeerSample& s : sent) evictable.push_back(s.id);
  for (const PeerSample& s : samples) {
    if (s.id == self_ || InActive(s.id) || InPassive(s.id)) continue;
    auto it = members_.find(s.id);
    if (it != members_.end() &&
        (it->second.state == MemberState::kDead || it->second.state == MemberState::kLeft)) {
      continue;
    }
    if (!Learn(s.id, s.address, /*self_claimed=*/false, now, &from)) continue;
    if (passive_.size() >= options_.passive_view_size && options_.passive_view_size > 0) {
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

// ---------------------------------------------------------------------------
// Events in

void Membership::Join(std::vector<Contact> contacts, TimeMs now) {
  if (left_) return;
  contacts_.clear();
  for (Contact& c : contacts) {
    if (c.id != self_ && c.address.size() <= kMaxAddressBytes) contacts_.push_back(std::move(c));
  }
  joined_ = true;
  Enqueue(MemberUpdate{self_, incarnation_, MemberState::kAlive, address_, self_});
  std::uniform_int_distribution<TimeMs> jitter(0, options_.probe_interval_ms - 1);
  next_probe_ = now + jitter(rng_);
  next_shuffle_ = now + options_.shuffle_interval_ms + jitter(rng_);
  next_dead_probe_ = now + options_.dead_probe_interval_ms;
  next_rejoin_ = now + options_.rejoin_interval_ms;
  next_contact_ = 0;
  if (!contacts_.empty()) {
    const Contact& c = contacts_[next_contact_++];
    Learn(c.id, c.address, true, now);
    StartRequest(c.id, Pending::Kind::kJoin, true, now);
  }
}

void Membership::OnConnected(const FeedId& peer, TimeMs now) {
  (void)now;
  if (left_) return;
  auto it = pending_.find(peer);
  if (it == pending_.end() || it->second.connected) return;
  it->second.connected = true;
  switch (it->second.kind) {
    case Pending::Kind::kJoin:
      Send(peer, JoinMessage{address_});
      break;
    case Pending::Kind::kNeighbor:
      Send(peer, NeighborMessage{it->second.high, address_});
      break;
    case Pending::Kind::kForwardJoinAccept:
      Send(peer, NeighborMessage{true, address_});
      break;
  }
}

void Membership::OnDisconnected(const FeedId& peer, TimeMs now) {
  if (left_) return;
  if (pending_.count(peer)) {
    FailRequest(peer, /*close=*/false, now);
    FillActive(now);
    return;
  }
  if (InActive(peer)) {
    auto it = std::find(active_.begin(), active_.end(), peer);
    active_.erase(it);
    if (probe_ && probe_->target == peer) probe_.reset();
    Report(MembershipEvent::kNeighborDown, peer);
    AddPassive(peer, now);
    // HyParView replaces it at once; SWIM still has to find out whether it
    // is alive (only active neighbours are probed otherwise).
    if (recheck_.size() < 2 * options_.active_view_size &&
        std::find(recheck_.begin(), recheck_.end(), peer) == recheck_.end()) {
      recheck_.push_back(peer);
    }
    FillActive(now);
  }
}

void Membership::OnFrame(const FeedId& peer, std::string_view frame, TimeMs now) {
  if (left_ || peer == self_) return;
  ++stats_.frames_received;
  Result<MembershipMessage> decoded = DecodeMembershipMessage(frame);
  if (!decoded.ok()) {
    ++stats_.malformed_frames;
    return;
  }
  // A frame is direct evidence that `peer` (the handshake's id) exists.
  if (Member* m = Learn(peer, {}, false, now)) {
    Proven(*m);
    if (m->state == MemberState::kAlive && !m->announced) {
      m->announced = true;
      Report(MembershipEvent::kMemberUp, peer, m->incarnation);
    }
  }
  MembershipMessage& msg = *decoded;
  if (auto* j = std::get_if<JoinMessage>(&msg)) {
    HandleJoin(peer, *j, now);
  } else if (auto* fj = std::get_if<ForwardJoinMessage>(&msg)) {
    HandleForwardJoin(peer, *fj, now);
  } else if (auto* n = std::get_if<NeighborMessage>(&msg)) {
    HandleNeighbor(peer, *n, now);
  } else if (auto* nr = std::get_if<NeighborReplyMessage>(&msg)) {
    HandleNeighborReply(peer, *nr, now);
  } else if (auto* d = std::get_if<DisconnectMessage>(&msg)) {
    HandleDisconnect(peer, *d, now);
  } else if (auto* s = std::get_if<ShuffleMessage>(&msg)) {
    HandleShuffle(peer, *s, now);
  } else if (auto* sr = std::get_if<ShuffleReplyMessage>(&msg)) {
    IntegrateSamples(peer, sr->samples, last_shuffle_sent_, now);
  } else if (auto* p = std::get_if<PingMessage>(&msg)) {
    HandlePing(peer, *p, now);
  } else if (auto* a = std::get_if<AckMessage>(&msg)) {
    HandleAck(peer, *a, now);
  } else if (auto* pr = std::get_if<PingReqMessage>(&msg)) {
    HandlePingReq(peer, *pr, now);
  } else if (auto* l = std::get_if<LeaveMessage>(&msg)) {
    Apply(MemberUpdate{peer, l->incarnation, MemberState::kLeft, {}, peer}, peer, now);
  }
}

void Membership::HandleJoin(const FeedId& from, const JoinMessage& m, TimeMs now) {
  Learn(from, m.address, true, now);
  if (InActive(from)) {
    Send(from, NeighborReplyMessage{true});
    return;
  }
  AddActive(from, now);
  Send(from, NeighborReplyMessage{true});
  for (const FeedId& n : active_) {
    if (n == from) continue;
    Send(n, ForwardJoinMessage{from, AddressOf(from), options_.active_random_walk_length});
  }
}

void Membership::HandleForwardJoin(const FeedId& from, const ForwardJoinMessage& m, TimeMs now) {
  if (m.node == self_) return;
  auto it = members_.find(m.node);
  if (it != members_.end() &&
      (it->second.state == MemberState::kDead || it->second.state == MemberState::kLeft)) {
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

void Membership::HandleNeighbor(const FeedId& from, const NeighborMessage& m, TimeMs now) {
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

void Membership::HandleNeighborReply(const FeedId& from, const NeighborReplyMessage& m,
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

void Membership::HandleDisconnect(const FeedId& from, const DisconnectMessage& m, TimeMs now) {
  if (!InActive(from)) return;
  auto it = std::find(active_.begin(), active_.end(), from);
  active_.erase(it);
  if (probe_ && probe_->target == from) probe_.reset();
  Report(MembershipEvent::kNeighborDown, from);
  if (m.alive) AddPassive(from, now);
  FillActive(now);
}

void Membership::HandleShuffle(const FeedId& from, const ShuffleMessage& m, TimeMs now) {
  if (m.origin == self_) return;
  FeedId next;
  if (m.ttl > 0 && active_.size() > 1 && RandomActiveExcept(from, m.origin, &next)) {
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

// ---------------------------------------------------------------------------
// SWIM

void Membership::HandlePing(const FeedId& from, const PingMessage& m, TimeMs now) {
  ApplyAll(m.updates, from, now);
  Send(from, AckMessage{m.seq, Piggyback(from)});
}

void Membership::HandleAck(const FeedId& from, const AckMessage& m, TimeMs now) {
  ApplyAll(m.updates, from, now);
  if (probe_ && !probe_->acked && m.seq == probe_->seq &&
      (from == probe_->target || probe_->helpers.count(from))) {
    probe_->acked = true;
    return;
  }
  auto it = relays_.find(m.seq);
  if (it != relays_.end() && it->second.target == from) {
    Send(it->second.origin, AckMessage{it->second.origin_seq, Piggyback(it->second.origin)});
    relays_.erase(it);
  }
}

void Membership::HandlePingReq(const FeedId& from, const PingReqMessage& m, TimeMs now) {
  ApplyAll(m.updates, from, now);
  if (m.target == self_) {
    Send(from, AckMessage{m.seq, Piggyback(from)});
    return;
  }
  if (relays_.size() >= kMaxRelays) return;
  const uint64_t seq = next_seq_++;
  relays_[seq] = Relay{from, m.seq, m.target, now + options_.probe_timeout_ms};
  std::string address = AddressOf(m.target);
  if (address.empty()) address = m.target_address;
  Send(m.target, PingMessage{seq, Piggyback(m.target)}, address);
}

void Membership::StartProbe(const FeedId& target, TimeMs now) {
  Probe p;
  p.target = target;
  p.seq = next_seq_++;
  p.started = now;
  probe_ = p;
  ++stats_.pings_sent;
  Send(target, PingMessage{p.seq, Piggyback(target)});
}

void Membership::ProbeRound(TimeMs now) {
  // Round-robin over a shuffled copy of the active view (SWIM's variant).
  if (probe_next_) {
    const FeedId target = *probe_next_;
    probe_next_.reset();
    if (InActive(target)) {
      StartProbe(target, now);
      return;
    }
  }
  while (!recheck_.empty()) {
    const FeedId target = recheck_.front();
    recheck_.erase(recheck_.begin());
    auto it = members_.find(target);
    if (it == members_.end() || it->second.state != MemberState::kAlive) continue;
    StartProbe(target, now);
    return;
  }
  if (probe_index_ >= probe_order_.size()) {
    probe_order_ = active_;
    std::shuffle(probe_order_.begin(), probe_order_.end(), rng_);
    probe_index_ = 0;
  }
  while (probe_index_ < probe_order_.size() && !InActive(probe_order_[probe_index_])) {
    ++probe_index_;
  }
  if (probe_index_ >= probe_order_.size()) return;
  const FeedId target = probe_order_[probe_index_++];
  StartProbe(target, now);
}

void Membership::CheckProbe(TimeMs now) {
  if (!probe_) return;
  Probe& p = *probe_;
  if (!p.acked && !p.indirect_sent && now >= p.started + options_.probe_timeout_ms) {
    p.indirect_sent = true;
    std::vector<FeedId> others;
    for (const FeedId& a : active_) {
      if (a != p.target) others.push_back(a);
    }
    for (const FeedId& h : Sample(others, options_.indirect_checks)) {
      p.helpers.insert(h);
      ++stats_.ping_reqs_sent;
      Send(h, PingReqMessage{p.seq, p.target, AddressOf(p.target), Piggyback(h)});
    }
  }
  if (now >= p.started + options_.probe_interval_ms) {
    const bool failed = !p.acked;
    const FeedId target = p.target;
    probe_.reset();
    if (!failed) return;
    auto it = members_.find(target);
    if (it == members_.end()) return;
    Member& m = it->second;
    if (!options_.suspicion) {
      if (m.state == MemberState::kAlive || m.state == MemberState::kSuspect) {
        DeclareDead(target, now);
      }
      return;
    }
    if (m.state == MemberState::kAlive) {
      ++stats_.suspicions;
      StartSuspicion(target, m, m.incarnation, self_, now);
    } else if (m.state == MemberState::kSuspect && !m.confirmations.count(self_)) {
      // Our own evidence: the member now counts as confirmed by us, and a
      // verdict someone else reached needs no further check.
      if (m.confirmations.size() >= MaxConfirmations()) {  // make room for ours
        m.confirmations.erase(std::prev(m.confirmations.end()));
      }
      m.confirmations.insert(self_);
      m.suspect_deadline = std::min(m.suspect_deadline,
                                    m.suspect_start + SuspicionTimeout(m.confirmations.size() - 1));
      Enqueue(MemberUpdate{target, m.incarnation, MemberState::kSuspect, {}, self_});
      if (m.verdict != MemberState::kSuspect) {
        DeclareDead(target, now, m.verdict);
        return;
      }
      TellSuspecters(target, m);
    }
  }
}

bool Membership::Confirm(Member& m, const FeedId& by) {
  if (m.confirmations.count(by) || m.confirmations.size() >= MaxConfirmations()) return false;
  m.confirmations.insert(by);
  // The timeout only shrinks; a last-chance or verdict ping already due
  // keeps its (nearer) deadline.
  m.suspect_deadline =
      std::min(m.suspect_deadline, m.suspect_start + SuspicionTimeout(m.confirmations.size() - 1));
  return true;
}

void Membership::TellSuspecters(const FeedId& id, Member& m) {
  if (!m.confirmations.count(self_) || m.confirmations.size() < 2 ||
      m.told == m.confirmations.size()) {
    return;
  }
  m.told = m.confirmations.size();
  // One ping to each other suspecter carrying every suspecter we know of:
  // each of them reaches the confirmed (base) timeout at once. Bounded by
  // MaxConfirmations() per change of the set.
  std::vector<MemberUpdate> news;
  for (const FeedId& by : m.confirmations) {
    if (news.size() >= kMaxPiggybackUpdates) break;
    news.push_back(MemberUpdate{id, m.incarnation, MemberState::kSuspect, {}, by});
  }
  for (const FeedId& by : m.confirmations) {
    if (by == self_ || by == id) continue;
    ++stats_.pings_sent;
    Send(by, PingMessage{next_seq_++, news});
  }
}

void Membership::StartSuspicion(const FeedId& id, Member& m, uint64_t incarnation,
                                const FeedId& by, TimeMs now) {
  SetState(id, m, MemberState::kSuspect, now);
  m.incarnation = incarnation;
  m.suspect_start = now;
  m.confirmations.clear();
  m.confirmations.insert(by);
  m.last_chance_pings = 0;
  m.verdict = MemberState::kSuspect;
  m.told = 0;
  m.suspect_deadline = now + SuspicionTimeout(0);
  // A suspected neighbour is probed next, out of turn: a second opinion
  // confirms a real failure sooner, and tells a live one to refute.
  if (by != self_ && InActive(id)) probe_next_ = id;
  Report(MembershipEvent::kSuspect, id, incarnation);
  Enqueue(MemberUpdate{id, incarnation, MemberState::kSuspect, {}, by});
}

void Membership::CheckSuspicions(TimeMs now) {
  std::vector<FeedId> expired;
  for (const FeedId& id : suspects_) {  // ordered: deterministic
    if (now >= members_[id].suspect_deadline) expired.push_back(id);
  }
  for (const FeedId& id : expired) {
    Member& m = members_[id];
    if (!m.confirmations.count(self_) && m.verdict != MemberState::kSuspect) {
      // Someone else's verdict: adopt it only once our own direct pings (one
      // per probe timeout) went unanswered. A live member's ack refutes it.
      if (m.last_chance_pings < kVerdictPings) {
        ++m.last_chance_pings;
        m.suspect_deadline = now + options_.probe_timeout_ms;
        ++stats_.pings_sent;
        Send(id, PingMessage{next_seq_++, Piggyback(id)});
        continue;
      }
      DeclareDead(id, now, m.verdict);
      continue;
    }
    if (!m.confirmations.count(self_) && m.last_chance_pings < kLastChancePings) {
      // Hearsay only: infection-style dissemination does not reach everyone,
      // so the member's refutation may have missed us. Ask it directly; its
      // ack carries the refutation (our ping tells it it is suspected).
      ++m.last_chance_pings;
      m.suspect_deadline = now + options_.probe_interval_ms;
      ++stats_.pings_sent;
      Send(id, PingMessage{next_seq_++, Piggyback(id)});
      continue;
    }
    DeclareDead(id, now);
  }
}

void Membership::DeclareDead(const FeedId& id, TimeMs now, MemberState state) {
  auto it = members_.find(id);
  if (it == members_.end()) return;
  Member& m = it->second;
  SetState(id, m, state, now);
  if (state == MemberState::kDead) ++stats_.declared_dead;
  Report(state == MemberState::kDead ? MembershipEvent::kDown : MembershipEvent::kLeft, id,
         m.incarnation);
  Enqueue(MemberUpdate{id, m.incarnation, state, {}, self_});
  OnMemberGone(id, now);
}

void Membership::OnMemberGone(const FeedId& id, TimeMs now) {
  if (InActive(id)) RemoveActive(id, /*send_disconnect=*/false, false, now);
  RemovePassive(id);
  if (pending_.count(id)) FailRequest(id, /*close=*/true, now);
  FillActive(now);
}

void Membership::Refute(uint64_t at_least, const FeedId& teller, bool was_dead, TimeMs now) {
  incarnation_ = std::min(kMaxIncarnation, std::max(incarnation_, at_least + 1));
  ++stats_.refutations;
  Enqueue(MemberUpdate{self_, incarnation_, MemberState::kAlive, address_, self_});
  // Declared dead: the teller's side dropped us; rejoin through it (heals
  // partitions), at most once per rejoin interval.
  if (was_dead && teller != self_ && !InActive(teller) &&
      (last_rejoin_ < 0 || now - last_rejoin_ >= options_.rejoin_interval_ms)) {
    last_rejoin_ = now;
    StartRequest(teller, Pending::Kind::kJoin, true, now);
  }
}

void Membership::ApplyAll(const std::vector<MemberUpdate>& updates, const FeedId& from,
                          TimeMs now) {
  for (const MemberUpdate& u : updates) Apply(u, from, now);
}

void Membership::Apply(const MemberUpdate& u, const FeedId& from, TimeMs now) {
  if (u.id == self_) {
    if (left_) return;
    if (u.state == MemberState::kAlive) {
      if (u.incarnation > incarnation_) Refute(u.incarnation, from, false, now);
    } else if (u.incarnation >= incarnation_) {
      Refute(u.incarnation, from, u.state != MemberState::kSuspect, now);
    } else {
      // Stale news of our failure: the teller missed our refutation. Gossip
      // it again (it goes first in the ack we are about to send).
      auto it = broadcasts_.find(self_);
      if (it == broadcasts_.end() || it->second.update.incarnation != incarnation_ ||
          it->second.transmits > 0) {
        Enqueue(MemberUpdate{self_, incarnation_, MemberState::kAlive, address_, self_});
      }
    }
    return;
  }
  auto it = members_.find(u.id);
  switch (u.state) {
    case MemberState::kAlive: {
      Member* m = nullptr;
      if (it == members_.end()) {
        m = Learn(u.id, u.address, u.by == u.id, now, &from);
        if (!m) return;
        m->incarnation = u.incarnation;
      } else {
        m = &it->second;
        if (u.incarnation <= m->incarnation && !(m->state == MemberState::kAlive && !m->announced))
          return;
        if (u.incarnation < m->incarnation) return;
        if (u.by == u.id && !u.address.empty()) m->address = u.address;
      }
      const bool was_alive = m->state == MemberState::kAlive && m->announced;
      m->incarnation = u.incarnation;
      if (m->state != MemberState::kAlive) SetState(u.id, *m, MemberState::kAlive, now);
      if (!was_alive) {
        m->announced = true;
        Report(MembershipEvent::kMemberUp, u.id, u.incarnation);
      }
      Enqueue(u);
      return;
    }
    case MemberState::kSuspect: {
      if (it == members_.end()) {
        // Unknown (join news still on its way after a mass join): learnt as a
        // member so the suspicion travels on. memberlist ignores it, but its
        // push-pull sync makes everyone know everyone; here a dropped
        // suspicion never reaches the member's other neighbours, whose
        // confirmations bring the timeout down.
        Member* fresh = Learn(u.id, {}, false, now, &from);
        if (!fresh) return;
        fresh->incarnation = u.incarnation;
        it = members_.find(u.id);
      }
      Member& m = it->second;
      if (u.incarnation < m.incarnation) return;
      if (m.state == MemberState::kDead || m.state == MemberState::kLeft) return;
      if (m.state == MemberState::kSuspect && u.incarnation == m.incarnation) {
        if (u.by == self_ || !Confirm(m, u.by)) return;
        Enqueue(u);
        TellSuspecters(u.id, m);
        return;
      }
      StartSuspicion(u.id, m, u.incarnation, u.by, now);
      return;
    }
    case MemberState::kDead:
    case MemberState::kLeft: {
      Member* m = nullptr;
      if (it == members_.end()) {
        m = Learn(u.id, {}, false, now, &from);
        if (!m) return;
      } else {
        m = &it->second;
        if (u.incarnation < m->incarnation) return;
        if (m->state == MemberState::kLeft) return;
        if (m->state == MemberState::kDead && u.state == MemberState::kDead) return;
        // Accepted at once only from the member itself (its own leave) or
        // when we failed to reach it ourselves; otherwise it is someone
        // else's word: held as a suspicion until our direct pings fail.
        const bool first_hand = (u.state == MemberState::kLeft && from == u.id) ||
                                (m->state == MemberState::kSuspect &&
                                 u.incarnation == m->incarnation && m->confirmations.count(self_));
        if (!first_hand && m->state != MemberState::kDead) {
          if (m->state != MemberState::kSuspect || u.incarnation > m->incarnation) {
            StartSuspicion(u.id, *m, u.incarnation, u.by, now);
          } else if (u.by != self_) {
            Confirm(*m, u.by);
          }
          if (m->verdict != u.state) {
            if (m->verdict == MemberState::kSuspect) {
              m->last_chance_pings = 0;
              m->suspect_deadline = now;  // first ping on the next Tick
            }
            // A leave outranks a crash verdict (it is what the member said).
            if (m->verdict != MemberState::kLeft) m->verdict = u.state;
          }
          // Passed on as it came (every node checks it for itself), so a real
          // verdict still spreads at gossip speed.
          Enqueue(u);
          return;
        }
      }
      m->incarnation = u.incarnation;
      SetState(u.id, *m, u.state, now);
      Report(u.state == MemberState::kDead ? MembershipEvent::kDown : MembershipEvent::kLeft,
             u.id, u.incarnation);
      Enqueue(u);
      OnMemberGone(u.id, now);
      return;
    }
  }
}

Membership::BroadcastKey Membership::KeyOf(const Broadcast& b) {
  const bool urgent = b.update.state != MemberState::kAlive || b.update.incarnation > 0;
  return BroadcastKey{!urgent, b.transmits, b.order, b.update.id};
}

void Membership::Enqueue(const MemberUpdate& u) {
  auto [it, inserted] = broadcasts_.try_emplace(u.id);
  Broadcast& b = it->second;
  if (!inserted) broadcast_queue_.erase(KeyOf(b));
  b.update = u;
  b.transmits = 0;
  b.order = ++broadcast_order_;
  broadcast_queue_.insert(KeyOf(b));
}

std::vector<MemberUpdate> Membership::Piggyback(const FeedId& to) {
  std::vector<MemberUpdate> out;
  // News about the recipient first: it is the one that must refute it.
  auto mit = members_.find(to);
  if (mit != members_.end() && mit->second.state != MemberState::kAlive &&
      mit->second.state != MemberState::kLeft) {
    out.push_back(MemberUpdate{to, mit->second.incarnation, mit->second.state, {}, self_});
  }
  if (broadcasts_.empty() || options_.max_piggyback == 0) return out;
  const size_t want = options_.max_piggyback > out.size() ? options_.max_piggyback - out.size() : 0;
  // The queue is kept in piggyback order (see BroadcastKey): the first `want`
  // entries not about the recipient, in O(want log n).
  std::vector<BroadcastKey> taken;
  for (auto it = broadcast_queue_.begin(); it != broadcast_queue_.end() && taken.size() < want;
       ++it) {
    if (it->id != to) taken.push_back(*it);
  }
  const uint32_t limit = RetransmitLimit();
  for (const BroadcastKey& k : taken) {
    broadcast_queue_.erase(k);
    auto bit = broadcasts_.find(k.id);
    Broadcast& b = bit->second;
    out.push_back(b.update);
    if (++b.transmits >= limit) {
      broadcasts_.erase(bit);
    } else {
      broadcast_queue_.insert(KeyOf(b));
    }
  }
  return out;
}

void Membership::ProbeTheDead(TimeMs now) {
  std::vector<FeedId> dead;
  std::vector<FeedId> forget;
  for (const FeedId& id : gone_) {
    const Member& m = members_.at(id);
    if (now - m.state_since > options_.dead_retention_ms) {
      forget.push_back(id);
    } else if (m.state == MemberState::kDead) {
      dead.push_back(id);
    }
  }
  for (const FeedId& id : forget) Forget(id);
  if (dead.empty()) return;
  std::uniform_int_distribution<size_t> d(0, dead.size() - 1);
  const FeedId target = dead[d(rng_)];
  Send(target, PingMessage{next_seq_++, Piggyback(target)});
}

void Membership::Tick(TimeMs now) {
  if (!joined_ || left_) return;
  // Requests that timed out.
  std::vector<FeedId> expired;
  for (const auto& [id, p] : pending_) {
    if (now >= p.deadline) expired.push_back(id);
  }
  for (const FeedId& id : expired) FailRequest(id, /*close=*/true, now);
  // Relays that timed out.
  for (auto it = relays_.begin(); it != relays_.end();) {
    it = now >= it->second.deadline ? relays_.erase(it) : std::next(it);
  }
  CheckProbe(now);
  CheckSuspicions(now);
  if (now >= next_probe_) {
    next_probe_ = now + options_.probe_interval_ms;
    if (!probe_) ProbeRound(now);
    FillActive(now);
  }
  if (now >= next_shuffle_) {
    next_shuffle_ = now + options_.shuffle_interval_ms;
    StartShuffle(now);
  }
  if (now >= next_dead_probe_) {
    next_dead_probe_ = now + options_.dead_probe_interval_ms;
    ProbeTheDead(now);
  }
  if (now >= next_rejoin_) {
    next_rejoin_ = now + options_.rejoin_interval_ms;
    if (active_.empty() && pending_.empty() && !contacts_.empty()) {
      const Contact& c = contacts_[next_contact_++ % contacts_.size()];
      Learn(c.id, c.address, true, now);
      StartRequest(c.id, Pending::Kind::kJoin, true, now);
    }
  }
}

TimeMs Membership::NextTimeout(TimeMs now) const {
  if (!joined_ || left_) return kNever;
  TimeMs t = std::min({next_probe_, next_shuffle_, next_dead_probe_, next_rejoin_});
  for (const auto& [id, p] : pending_) t = std::min(t, p.deadline);
  for (const auto& [seq, r] : relays_) t = std::min(t, r.deadline);
  if (probe_) {
    if (!probe_->acked && !probe_->indirect_sent) {
      t = std::min(t, probe_->started + options_.probe_timeout_ms);
    }
    t = std::min(t, probe_->started + options_.probe_interval_ms);
  }
  for (const FeedId& id : suspects_) t = std::min(t, members_.at(id).suspect_deadline);
  return std::max(t, now);
}

void Membership::Leave(TimeMs now) {
  if (left_) return;
  std::vector<FeedId> tell = active_;
  for (const FeedId& p : Sample(passive_, 3)) tell.push_back(p);
  for (const FeedId& p : tell) Send(p, LeaveMessage{incarnation_});
  for (const FeedId& p : std::vector<FeedId>(active_)) {
    RemoveActive(p, /*send_disconnect=*/false, false, now);
  }
  for (const auto& [id, p] : pending_) {
    MembershipEffect e;
    e.kind = MembershipEffect::Kind::kDisconnect;
    e.peer = id;
    effects_.push_back(std::move(e));
  }
  pending_.clear();
  passive_.clear();
  probe_.reset();
  left_ = true;
}

}  // namespace plumlog::replication
