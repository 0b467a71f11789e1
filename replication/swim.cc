// SWIM failure detection (Das, Gupta, Motivala, DSN 2002) with Lifeguard's
// suspicion (Dadgar et al., 2018): probes, indirect probes through ping-req,
// suspicion with confirmations, incarnations, refutation, dead verdicts and
// reconnecting to the dead (docs/protocol.md section 17).
#include <algorithm>
#include <cmath>

#include "replication/membership.h"

namespace plumlog::replication {
namespace {
// Direct pings a node that suspects a member only by hearsay sends before it
// declares the member dead (one per probe interval).
constexpr uint32_t kLastChancePings = 8;
// Direct pings (one per probe timeout) that must go unanswered before we
// adopt someone else's dead or left verdict about a member.
constexpr uint32_t kVerdictPings = 2;
// Ping-reqs relayed at once; more are ignored (a peer cannot make us keep
// unbounded state or send unbounded pings).
constexpr size_t kMaxRelays = 64;
}  // namespace

void Membership::HandlePing(const FeedId& from, const PingMessage& m,
                            TimeMs now) {
  ApplyAll(m.updates, from, now);
  Send(from, AckMessage{m.seq, Piggyback(from)});
  TakeIfIsolated(from, now);
}

void Membership::HandleAck(const FeedId& from, const AckMessage& m,
                           TimeMs now) {
  ApplyAll(m.updates, from, now);
  TakeIfIsolated(from, now);
  if (probe_ && !probe_->acked && m.seq == probe_->seq &&
      (from == probe_->target || probe_->helpers.count(from))) {
    probe_->acked = true;
    return;
  }
  auto it = relays_.find(m.seq);
  if (it != relays_.end() && it->second.target == from) {
    Send(it->second.origin,
         AckMessage{it->second.origin_seq, Piggyback(it->second.origin)});
    relays_.erase(it);
  }
}

void Membership::HandlePingReq(const FeedId& from, const PingReqMessage& m,
                               TimeMs now) {
  ApplyAll(m.updates, from, now);
  TakeIfIsolated(from, now);
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
    if (it == members_.end() || it->second.state != MemberState::kAlive)
      continue;
    StartProbe(target, now);
    return;
  }
  if (probe_index_ >= probe_order_.size()) {
    probe_order_ = active_;
    // Once per cycle, also a member outside the active view (the next in a
    // round over the table): a member whose neighbours all failed with it (a
    // correlated crash) is in nobody's active view and nobody's recheck
    // list, and would stay "alive" in every list forever; and a live one cut
    // off that way hears from a live member only through such a probe (it
    // then takes the prober as its neighbour, see OnFrame). memberlist
    // probes every member in turn; this keeps probes on neighbours (no new
    // connection) but for one in active_view_size + 1 (last in the cycle).
    std::shuffle(probe_order_.begin(), probe_order_.end(), rng_);
    if (std::optional<FeedId> other = NextNonNeighbour())
      probe_order_.push_back(*other);
    probe_index_ = 0;
  }
  while (probe_index_ < probe_order_.size()) {
    const FeedId& t = probe_order_[probe_index_];
    auto mit = members_.find(t);
    if (InActive(t) ||
        (mit != members_.end() && mit->second.state == MemberState::kAlive))
      break;
    ++probe_index_;
  }
  if (probe_index_ < probe_order_.size())
    StartProbe(probe_order_[probe_index_++], now);
}

void Membership::CheckProbe(TimeMs now) {
  if (!probe_) return;
  Probe& p = *probe_;
  if (!p.acked && !p.indirect_sent &&
      now >= p.started + options_.probe_timeout_ms) {
    p.indirect_sent = true;
    std::vector<FeedId> others;
    for (const FeedId& a : active_) {
      if (a != p.target) others.push_back(a);
    }
    for (const FeedId& h : Sample(others, options_.indirect_checks)) {
      p.helpers.insert(h);
      ++stats_.ping_reqs_sent;
      Send(h,
           PingReqMessage{p.seq, p.target, AddressOf(p.target), Piggyback(h)});
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
    } else if (m.state == MemberState::kSuspect &&
               !m.confirmations.count(self_)) {
      // Our own evidence: the member now counts as confirmed by us, and a
      // verdict someone else reached needs no further check.
      if (m.confirmations.size() >= MaxConfirmations()) {  // make room for ours
        m.confirmations.erase(std::prev(m.confirmations.end()));
      }
      m.confirmations.insert(self_);
      m.suspect_deadline = std::min(
          m.suspect_deadline,
          m.suspect_start + SuspicionTimeout(m.confirmations.size() - 1));
      Enqueue(MemberUpdate{
          target, m.incarnation, MemberState::kSuspect, {}, self_});
      if (m.verdict != MemberState::kSuspect) {
        DeclareDead(target, now, m.verdict);
        return;
      }
      TellSuspecters(target, m);
    }
  }
}

bool Membership::Confirm(Member& m, const FeedId& by) {
  if (m.confirmations.count(by) || m.confirmations.size() >= MaxConfirmations())
    return false;
  m.confirmations.insert(by);
  // The timeout only shrinks; a last-chance or verdict ping already due
  // keeps its (nearer) deadline.
  m.suspect_deadline =
      std::min(m.suspect_deadline,
               m.suspect_start + SuspicionTimeout(m.confirmations.size() - 1));
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
    news.push_back(
        MemberUpdate{id, m.incarnation, MemberState::kSuspect, {}, by});
  }
  for (const FeedId& by : m.confirmations) {
    if (by == self_ || by == id) continue;
    ++stats_.pings_sent;
    Send(by, PingMessage{next_seq_++, news});
  }
}

void Membership::StartSuspicion(const FeedId& id, Member& m,
                                uint64_t incarnation, const FeedId& by,
                                TimeMs now) {
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
    if (!m.confirmations.count(self_) &&
        m.last_chance_pings < kLastChancePings) {
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

void Membership::PingOwnSuspects() {
  // A member we suspect first-hand hears of it only by gossip, and its
  // refutation reaches us only by gossip, unless we ask again: a neighbour
  // comes round in the probe order, but a member outside the active view (the
  // cycle's non-neighbour probe) would never be pinged again, and with no
  // confirmation its suspicion runs the full timeout on gossip alone. The
  // ping tells it that it is suspected (Piggyback puts news about the
  // recipient first), and a live member's ack carries its refutation. A
  // crashed member's detection time does not change.
  for (const FeedId& id : suspects_) {  // ordered: deterministic
    const Member& m = members_.at(id);
    if (!m.confirmations.count(self_) || (probe_ && probe_->target == id))
      continue;
    ++stats_.pings_sent;
    Send(id, PingMessage{next_seq_++, Piggyback(id)});
  }
}

void Membership::DeclareDead(const FeedId& id, TimeMs now, MemberState state) {
  auto it = members_.find(id);
  if (it == members_.end()) return;
  Member& m = it->second;
  SetState(id, m, state, now);
  if (state == MemberState::kDead) ++stats_.declared_dead;
  Report(state == MemberState::kDead ? MembershipEvent::kDown
                                     : MembershipEvent::kLeft,
         id, m.incarnation);
  Enqueue(MemberUpdate{id, m.incarnation, state, {}, self_});
  OnMemberGone(id, now);
}

void Membership::OnMemberGone(const FeedId& id, TimeMs now) {
  if (InActive(id)) RemoveActive(id, /*send_disconnect=*/false, false, now);
  RemovePassive(id);
  if (pending_.count(id)) FailRequest(id, /*close=*/true, now);
  FillActive(now);
}

void Membership::Refute(uint64_t at_least, const FeedId& teller, bool was_dead,
                        TimeMs now) {
  incarnation_ =
      std::min(kMaxIncarnation, std::max(incarnation_, at_least + 1));
  ++stats_.refutations;
  Enqueue(
      MemberUpdate{self_, incarnation_, MemberState::kAlive, address_, self_});
  // Declared dead: the teller's side dropped us; rejoin through it (heals
  // partitions), at most once per rejoin interval.
  if (was_dead && teller != self_ && !InActive(teller) &&
      (last_rejoin_ < 0 || now - last_rejoin_ >= options_.rejoin_interval_ms)) {
    last_rejoin_ = now;
    StartRequest(teller, Pending::Kind::kJoin, true, now);
  }
}

void Membership::ApplyAll(const std::vector<MemberUpdate>& updates,
                          const FeedId& from, TimeMs now) {
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
      if (it == broadcasts_.end() ||
          it->second.update.incarnation != incarnation_ ||
          it->second.transmits > 0) {
        Enqueue(MemberUpdate{self_, incarnation_, MemberState::kAlive, address_,
                             self_});
      }
    }
    return;
  }
  auto it = members_.find(u.id);
  if (it != members_.end() && it->second.address.empty() &&
      !u.address.empty() && u.address.size() <= kMaxAddressBytes) {
    // Any news may fill a gap in what we know of the member's address (a
    // member first heard of through a suspicion, or that dialled us): with
    // none, a ping to it cannot leave unless a connection happens to exist.
    it->second.address = u.address;
  }
  switch (u.state) {
    case MemberState::kAlive: {
      Member* m = nullptr;
      if (it == members_.end()) {
        m = Learn(u.id, u.address, u.by == u.id, now, &from);
        if (!m) return;
        m->incarnation = u.incarnation;
      } else {
        m = &it->second;
        if (u.incarnation <= m->incarnation &&
            !(m->state == MemberState::kAlive && !m->announced))
          return;
        if (u.incarnation < m->incarnation) return;
        if (u.by == u.id && !u.address.empty()) m->address = u.address;
      }
      const bool was_alive = m->state == MemberState::kAlive && m->announced;
      m->incarnation = u.incarnation;
      if (m->state != MemberState::kAlive)
        SetState(u.id, *m, MemberState::kAlive, now);
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
        Member* fresh = Learn(u.id, u.address, false, now, &from);
        if (!fresh) return;
        fresh->incarnation = u.incarnation;
        it = members_.find(u.id);
      }
      Member& m = it->second;
      if (u.incarnation < m.incarnation) return;
      if (m.state == MemberState::kDead || m.state == MemberState::kLeft)
        return;
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
        m = Learn(u.id, u.address, false, now, &from);
        if (!m) return;
      } else {
        m = &it->second;
        if (u.incarnation < m->incarnation) return;
        if (m->state == MemberState::kLeft) return;
        if (m->state == MemberState::kDead && u.state == MemberState::kDead)
          return;
        // Accepted at once only from the member itself (its own leave) or
        // when we failed to reach it ourselves; otherwise it is someone
        // else's word: held as a suspicion until our direct pings fail.
        const bool first_hand =
            (u.state == MemberState::kLeft && from == u.id) ||
            (m->state == MemberState::kSuspect &&
             u.incarnation == m->incarnation && m->confirmations.count(self_));
        if (!first_hand && m->state != MemberState::kDead) {
          if (m->state != MemberState::kSuspect ||
              u.incarnation > m->incarnation) {
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
      Report(u.state == MemberState::kDead ? MembershipEvent::kDown
                                           : MembershipEvent::kLeft,
             u.id, u.incarnation);
      Enqueue(u);
      OnMemberGone(u.id, now);
      return;
    }
  }
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

}  // namespace plumlog::replication
