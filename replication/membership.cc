// Membership: the members table, plumbing, events in (dispatch), timers and
// leaving. The protocols are in hyparview.cc (views), swim.cc (failure
// detection, suspicion) and broadcast_queue.cc (piggybacked news).
#include "replication/membership.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <variant>

namespace plumlog::replication {

namespace {
constexpr TimeMs kNever = std::numeric_limits<TimeMs>::max();
// Distinct suspecters remembered per suspicion, at least (the timeout stops
// shrinking at suspicion_confirmations; a liar cannot grow the set beyond).
constexpr size_t kMinConfirmationsKept = 8;
// Table entries NextNonNeighbour looks at per call (dead, suspect, addressless
// and neighbours are skipped): at 95 % dead a live one is found in 20 on
// average.
constexpr size_t kNonNeighbourLooks = 64;
}  // namespace

const char* MembershipEventName(MembershipEvent e) {
  switch (e) {
    case MembershipEvent::kNeighborUp:
      return "neighbor up";
    case MembershipEvent::kNeighborDown:
      return "neighbor down";
    case MembershipEvent::kMemberUp:
      return "member up";
    case MembershipEvent::kSuspect:
      return "suspect";
    case MembershipEvent::kDown:
      return "down";
    case MembershipEvent::kLeft:
      return "left";
  }
  return "unknown";
}

Membership::Membership(const FeedId& self, std::string address,
                       const MembershipOptions& options, uint64_t seed)
    : self_(self),
      address_(address.size() <= kMaxAddressBytes ? std::move(address)
                                                  : std::string()),
      options_(options),
      rng_(seed) {}

// ---------------------------------------------------------------------------
// Plumbing

void Membership::Send(const FeedId& peer, const MembershipMessage& m,
                      std::string_view address) {
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

void Membership::Report(MembershipEvent ev, const FeedId& peer,
                        uint64_t incarnation) {
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
  return std::max<size_t>(kMinConfirmationsKept,
                          options_.suspicion_confirmations + 1);
}

void Membership::Proven(Member& m) {
  if (!m.introducer) return;
  auto it = introduced_.find(*m.introducer);
  if (it != introduced_.end() && --it->second == 0) introduced_.erase(it);
  m.introducer.reset();
}

std::optional<FeedId> Membership::NextNonNeighbour() {
  // A round over the whole table, as memberlist probes every member in turn:
  // random picks would mostly hit the dead after a mass failure (they stay
  // in the table for dead_retention_ms), and a live member only one survivor
  // knows of would be picked by nobody for minutes. Entries looked at per
  // call are bounded; a new round starts after the last entry.
  for (size_t looked = 0; looked < kNonNeighbourLooks; ++looked) {
    if (non_neighbour_index_ >= non_neighbour_order_.size()) {
      if (member_list_.empty() || looked > 0) return std::nullopt;
      non_neighbour_order_ = member_list_;
      std::shuffle(non_neighbour_order_.begin(), non_neighbour_order_.end(),
                   rng_);
      non_neighbour_index_ = 0;
    }
    const FeedId& id = non_neighbour_order_[non_neighbour_index_++];
    auto it = members_.find(id);
    // Without an address the ping could not leave (no connection to carry
    // it): the probe would fail and make a false suspicion.
    if (it != members_.end() && it->second.state == MemberState::kAlive &&
        !it->second.address.empty() && !InActive(id))
      return id;
  }
  return std::nullopt;
}

void Membership::Forget(const FeedId& id) {
  auto it = members_.find(id);
  if (it == members_.end()) return;
  Proven(it->second);
  const size_t index = it->second.list_index;
  if (index + 1 != member_list_.size()) {
    member_list_[index] = member_list_.back();
    members_[member_list_[index]].list_index = index;
  }
  member_list_.pop_back();
  members_.erase(it);
  gone_.erase(id);
  suspects_.erase(id);
}

Membership::Member* Membership::Learn(const FeedId& id,
                                      std::string_view address,
                                      bool self_claimed, TimeMs now,
                                      const FeedId* teller) {
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
    it->second.list_index = member_list_.size();
    member_list_.push_back(id);
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

void Membership::SetState(const FeedId& id, Member& m, MemberState s,
                          TimeMs now) {
  const bool was_live =
      m.state == MemberState::kAlive || m.state == MemberState::kSuspect;
  const bool live = s == MemberState::kAlive || s == MemberState::kSuspect;
  if (was_live && !live) --live_count_;
  if (!was_live && live) ++live_count_;
  if (m.state == MemberState::kSuspect) suspects_.erase(id);
  if (m.state == MemberState::kDead || m.state == MemberState::kLeft)
    gone_.erase(id);
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

TimeMs Membership::SuspicionTimeout(size_t confirmations) const {
  const double n = static_cast<double>(ClusterSizeEstimate());
  const double interval = static_cast<double>(options_.probe_interval_ms);
  const double base =
      std::max(1.0, options_.suspicion_mult * std::log10(n + 1)) * interval;
  const double max = options_.suspicion_max_timeout_mult * base;
  const double k = static_cast<double>(options_.suspicion_confirmations);
  double t = max;
  if (confirmations > 0) {
    t = max - (max - base) * std::log(static_cast<double>(confirmations) + 1) /
                  std::log(k + 1);
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
  if (it == members_.end() || it->second.state != MemberState::kSuspect)
    return std::nullopt;
  return it->second.suspect_deadline;
}

std::vector<FeedId> Membership::ActiveView() const { return active_; }
std::vector<FeedId> Membership::PassiveView() const { return passive_; }

std::vector<FeedId> Membership::LiveMembers() const {
  std::vector<FeedId> out;
  for (const auto& [id, m] : members_) {
    if (m.state == MemberState::kAlive || m.state == MemberState::kSuspect)
      out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}
// ---------------------------------------------------------------------------
// Events in

void Membership::Join(std::vector<Contact> contacts, TimeMs now) {
  if (left_) return;
  contacts_.clear();
  for (Contact& c : contacts) {
    if (c.id != self_ && c.address.size() <= kMaxAddressBytes)
      contacts_.push_back(std::move(c));
  }
  joined_ = true;
  Enqueue(
      MemberUpdate{self_, incarnation_, MemberState::kAlive, address_, self_});
  std::uniform_int_distribution<TimeMs> jitter(0,
                                               options_.probe_interval_ms - 1);
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

// One handler per message type: std::visit does not compile without one for
// every alternative of MembershipMessage, so a new message type cannot go
// unhandled.
class Membership::Dispatch {
 public:
  Dispatch(Membership* m, const FeedId& from, TimeMs now)
      : m_(m), from_(from), now_(now) {}
  void operator()(const JoinMessage& msg) { m_->HandleJoin(from_, msg, now_); }
  void operator()(const ForwardJoinMessage& msg) {
    m_->HandleForwardJoin(from_, msg, now_);
  }
  void operator()(const NeighborMessage& msg) {
    m_->HandleNeighbor(from_, msg, now_);
  }
  void operator()(const NeighborReplyMessage& msg) {
    m_->HandleNeighborReply(from_, msg, now_);
  }
  void operator()(const DisconnectMessage& msg) {
    m_->HandleDisconnect(from_, msg, now_);
  }
  void operator()(const ShuffleMessage& msg) {
    m_->HandleShuffle(from_, msg, now_);
  }
  void operator()(const ShuffleReplyMessage& msg) {
    m_->IntegrateSamples(from_, msg.samples, m_->last_shuffle_sent_, now_);
  }
  void operator()(const PingMessage& msg) { m_->HandlePing(from_, msg, now_); }
  void operator()(const AckMessage& msg) { m_->HandleAck(from_, msg, now_); }
  void operator()(const PingReqMessage& msg) {
    m_->HandlePingReq(from_, msg, now_);
  }
  void operator()(const LeaveMessage& msg) {
    m_->Apply(
        MemberUpdate{from_, msg.incarnation, MemberState::kLeft, {}, from_},
        from_, now_);
  }

 private:
  Membership* m_;
  const FeedId& from_;
  TimeMs now_;
};

void Membership::OnFrame(const FeedId& peer, std::string_view frame,
                         TimeMs now) {
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
  std::visit(Dispatch(this, peer, now), *decoded);
}

bool Membership::Joining() const {
  return std::any_of(pending_.begin(), pending_.end(), [](const auto& p) {
    return p.second.kind == Pending::Kind::kJoin;
  });
}

void Membership::TakeIfIsolated(const FeedId& peer, TimeMs now) {
  // With no neighbour, a live member that pings us (its non-neighbour probe,
  // say) may be the only one we can reach: our views and every member we
  // know of may have failed together, and nobody else may know of us. Ask
  // it, high priority, over the connection that brought the ping. (Not on a
  // Disconnect or a refusal: that peer just said it has no room; nor while
  // our join is under way.)
  if (!joined_ || left_ || !active_.empty() || Joining() ||
      pending_.count(peer) || pending_.size() >= options_.active_view_size)
    return;
  auto it = members_.find(peer);
  if (it == members_.end() || it->second.state != MemberState::kAlive) return;
  StartRequest(peer, Pending::Kind::kNeighbor, /*high=*/true, now);
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
    PingOwnSuspects();
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
    // No neighbour: rejoin through a contact, also while neighbour requests
    // to members that may be dead are in flight (they may never stop
    // failing: nobody tells us those members are dead).
    if (active_.empty() && !Joining() && !contacts_.empty()) {
      const Contact& c = contacts_[next_contact_++ % contacts_.size()];
      Learn(c.id, c.address, true, now);
      StartRequest(c.id, Pending::Kind::kJoin, true, now);
    }
  }
}

TimeMs Membership::NextTimeout(TimeMs now) const {
  if (!joined_ || left_) return kNever;
  TimeMs t =
      std::min({next_probe_, next_shuffle_, next_dead_probe_, next_rejoin_});
  for (const auto& [id, p] : pending_) t = std::min(t, p.deadline);
  for (const auto& [seq, r] : relays_) t = std::min(t, r.deadline);
  if (probe_) {
    if (!probe_->acked && !probe_->indirect_sent) {
      t = std::min(t, probe_->started + options_.probe_timeout_ms);
    }
    t = std::min(t, probe_->started + options_.probe_interval_ms);
  }
  for (const FeedId& id : suspects_)
    t = std::min(t, members_.at(id).suspect_deadline);
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
