// NodeCore's connection policy: which connection carries a peer's frames,
// simultaneous dials and stale connections, replication peers, dialling and
// its backoff, keepalives, slow peers, connection limits, read pausing.
#include <algorithm>

#include "node/node_core.h"
#include "node/node_core_internal.h"
#include "node/refusal.h"
#include "replication/membership_message.h"
#include "replication/message.h"

namespace plumlog::node {
namespace {

// A refused or evicted peer may try again after this.
constexpr uint64_t kRefusedRetryMs = 10000;

// "reason: detail" without saying the reason twice (a detail often starts
// with it already).
std::string DescribeClose(CloseReason reason, const Status& why) {
  const std::string name = CloseReasonName(reason);
  if (why.ok() || why.message().empty()) return name;
  if (why.message().rfind(name, 0) == 0) return why.message();
  return name + ": " + why.message();
}

}  // namespace

// ---- connection events ----

void NodeCore::OnAccepted(const ConnectionAccepted& e, TimeMs now) {
  ++counters_.connections_accepted;
  Conn& c = conns_[e.conn];
  c.id = e.conn;
  c.outbound = false;
  c.address = e.address;
  c.created = now;
  c.last_sent = now;
  if (stopped_) {
    CloseConn(e.conn, CloseReason::kLocal,
              Status::Aborted("the node is stopping"), false, now);
    return;
  }
  Admission::Decision d =
      admission_.OnInbound(e.conn, Admission::HostOf(e.address));
  if (d.evict != 0) Evict(d.evict, d.reason, now);
  if (!d.admit) {
    ++counters_.connections_refused;
    LogRefusal("refusing connection from " + e.address + ": " + d.reason,
               FeedId(), now);
    CloseConn(e.conn, CloseReason::kRefused, Status::Busy(d.reason), false,
              now);
  }
}

void NodeCore::Evict(ConnId victim, const std::string& reason, TimeMs now) {
  auto it = conns_.find(victim);
  if (it == conns_.end()) return;
  ++counters_.connections_evicted;
  LogRefusal(std::string("closing connection ") +
                 (it->second.outbound ? "to " : "from ") + it->second.address +
                 ": " + reason,
             it->second.peer, now);
  if (it->second.open) {
    Refuse(victim, reason, now);
  } else {
    CloseConn(victim, CloseReason::kRefused, Status::Busy(reason), false, now);
  }
}

void NodeCore::Refuse(ConnId conn, const std::string& reason, TimeMs now) {
  SendOn(conn, EncodeRefusal({reason, kRefusedRetryMs}), now);
  CloseConn(conn, CloseReason::kRefused, Status::Busy(reason),
            /*graceful=*/true, now);
}

bool NodeCore::Known(const FeedId& peer) const {
  if (configured_.count(peer)) return true;
  auto it = peers_.find(peer);
  if (it != peers_.end() && it->second.primary != 0)
    return true;  // reconnecting
  if (!membership_) return false;
  auto st = membership_->StateOf(peer);
  return st.has_value() && (*st == replication::MemberState::kAlive ||
                            *st == replication::MemberState::kSuspect);
}

void NodeCore::LogRefusal(std::string text, const FeedId& peer, TimeMs now) {
  if (refusals_log_.Allow(now))
    Log(ReportKind::kConnection, std::move(text), peer, true, LogLevel::kWarn);
}

void NodeCore::HandleRefusal(ConnId conn, std::string_view frame, TimeMs now) {
  const Conn& c = conns_.at(conn);
  const FeedId peer = c.peer;
  Result<Refusal> r = DecodeRefusal(frame);
  if (!r.ok()) {
    ++counters_.malformed_frames;
    Log(ReportKind::kConnection,
        "malformed refused frame from " + peer.Short() + ": " +
            r.status().message(),
        peer);
    CloseConn(conn, CloseReason::kMalformedFrame, r.status(), false, now);
    return;
  }
  ++counters_.refused_by_peers;
  Log(ReportKind::kConnection,
      peer.Short() + " (" + c.address + ") refused the connection: " +
          r->reason + "; not redialling it for " +
          std::to_string(r->retry_after_ms) + " ms",
      peer);
  Backoff& b = backoff_[peer];
  b.delay_ms =
      std::max<TimeMs>(b.delay_ms, static_cast<TimeMs>(r->retry_after_ms));
  b.next = std::max(b.next, now + static_cast<TimeMs>(r->retry_after_ms));
  CloseConn(conn, CloseReason::kRefused,
            Status::Busy("refused by the peer: " + r->reason), false, now);
}

void NodeCore::OnOpened(const ConnectionOpened& e, TimeMs now) {
  auto cit = conns_.find(e.conn);
  if (cit == conns_.end()) return;  // closed meanwhile
  ++counters_.handshakes_ok;
  Conn& c = cit->second;
  const FeedId peer = e.peer;
  c.peer = peer;
  c.has_peer = true;
  c.open = true;
  if (peer == self_) {
    CloseConn(e.conn, CloseReason::kLocal,
              Status::InvalidArgument("connected to ourselves"), false, now);
    return;
  }
  if (policy_.Blocked(peer)) {
    ++counters_.connections_refused;
    LogRefusal("refusing " + peer.Short() + ": blocked", peer, now);
    CloseConn(e.conn, CloseReason::kRefused, Status::PermissionDenied("blocked"), false,
              now);
    return;
  }
  if (!c.outbound) {
    Admission::Decision d = admission_.OnAuthenticated(e.conn, Known(peer));
    if (d.evict != 0) Evict(d.evict, d.reason, now);
    if (!d.admit) {
      ++counters_.connections_refused;
      LogRefusal(
          "refusing " + peer.Short() + " from " + c.address + ": " + d.reason,
          peer, now);
      Refuse(e.conn, d.reason, now);
      return;
    }
  }
  PeerConns& pc = peers_[peer];
  if (pc.dialing == e.conn) pc.dialing = 0;
  Log(ReportKind::kConnection,
      std::string("connected ") + (c.outbound ? "to " : "from ") +
          peer.ToString() + " (" + c.address + ")",
      peer);
  if (pc.primary != 0) {
    const Conn& primary = conns_.at(pc.primary);
    const bool simultaneous = now - primary.created < kSimultaneousMs &&
                              primary.outbound != c.outbound;
    if (simultaneous) {
      pc.secondaries.push_back(e.conn);
      return;
    }
    // The peer reconnected: its side of the old connection is gone. Both cores
    // start over with it on the new one, which becomes primary before the old
    // one is closed (closing it then finds nothing of the peer to tear down).
    const ConnId old = pc.primary;
    pc.primary = e.conn;
    if (rep_peers_.erase(peer)) replicator_->OnPeerDown(peer, now);
    congested_.erase(peer);
    if (membership_) membership_->OnDisconnected(peer, now);
    Log(ReportKind::kConnection,
        "replacing the stale connection of " + peer.Short() + " by its new one",
        peer);
    CloseConn(old, CloseReason::kLocal, Status::OK(), true, now);
    OpenNeighbor(peer, now);
    return;
  }
  pc.primary = e.conn;
  OpenNeighbor(peer, now);
}

void NodeCore::OpenNeighbor(const FeedId& peer, TimeMs now) {
  if (membership_) membership_->OnConnected(peer, now);
  UpdateReplicationPeer(peer, now);
  auto it = configured_.find(peer);
  if (it != configured_.end()) it->second.dialed_once = true;
}

bool NodeCore::WantsReplication(const FeedId& peer) const {
  // The active view, configured peers, and peers that sent notes (they took
  // us as a replication peer: configured us, or have us in their view).
  return active_.count(peer) > 0 || configured_.count(peer) > 0 ||
         requested_.count(peer) > 0;
}

void NodeCore::UpdateReplicationPeer(const FeedId& peer, TimeMs now) {
  auto it = peers_.find(peer);
  const bool connected = it != peers_.end() && it->second.primary != 0;
  const bool want = connected && !stopped_ && WantsReplication(peer);
  if (want && !rep_peers_.count(peer)) {
    rep_peers_.insert(peer);
    replicator_->OnPeerUp(peer, now);
  } else if (!want && rep_peers_.count(peer)) {
    rep_peers_.erase(peer);
    congested_.erase(peer);
    replicator_->OnPeerDown(peer, now);
  }
}

void NodeCore::OnFrame(const FrameReceived& e, TimeMs now) {
  auto cit = conns_.find(e.conn);
  if (cit == conns_.end() || !cit->second.open) return;
  ++counters_.frames_received;
  const FeedId peer = cit->second.peer;
  if (IsRefusalFrame(e.frame)) {
    HandleRefusal(e.conn, e.frame, now);
    return;
  }
  if (replication::IsMembershipFrame(e.frame)) {
    bool malformed;
    if (membership_) {
      const uint64_t before = membership_->stats().malformed_frames;
      membership_->OnFrame(peer, e.frame, now);
      malformed = membership_->stats().malformed_frames != before;
    } else {
      // Not taking part: validated all the same, then ignored.
      malformed = !replication::DecodeMembershipMessage(e.frame).ok();
    }
    if (malformed) {
      ++counters_.malformed_frames;
      Log(ReportKind::kConnection,
          "malformed membership frame from " + peer.Short() + ": disconnecting",
          peer, true, LogLevel::kWarn);
      CloseConn(e.conn, CloseReason::kMalformedFrame,
                Status::Corruption("malformed membership frame"), false, now);
    }
    return;
  }
  Result<replication::Message> m = replication::DecodeMessage(e.frame);
  if (!m.ok()) {
    // The replicator reports it and drops the peer.
    replicator_->OnFrame(peer, e.frame, now);
    return;
  }
  if (std::holds_alternative<replication::NotesMessage>(*m) &&
      !rep_peers_.count(peer)) {
    // Notes come only from a peer whose replicator took us as a peer: it
    // configured us (`peers add`, `sync`) or has us in its active view. Such
    // a peer replicates with us even when our own views do not list it.
    auto it = peers_.find(peer);
    if (it != peers_.end() && it->second.primary == e.conn) {
      requested_.insert(peer);
      UpdateReplicationPeer(peer, now);
    }
  }
  replicator_->OnMessage(peer, std::move(m).value(), now);
}

void NodeCore::OnSendQueue(const SendQueue& e, TimeMs now) {
  auto cit = conns_.find(e.conn);
  if (cit == conns_.end()) return;
  cit->second.queued = e.queued_bytes;
  EnforceSendBudget(now);
  cit = conns_.find(e.conn);
  if (cit == conns_.end() || !cit->second.has_peer) return;
  const FeedId peer = cit->second.peer;
  auto pit = peers_.find(peer);
  if (pit == peers_.end() || pit->second.primary != e.conn) return;
  if (cit->second.open && e.queued_bytes > options_.send_queue_hard_bytes) {
    ++counters_.slow_peer_disconnects;
    Log(ReportKind::kConnection,
        "peer " + peer.Short() + " too slow (" +
            std::to_string(e.queued_bytes) + " bytes queued): disconnecting",
        peer, true, LogLevel::kWarn);
    CloseConn(e.conn, CloseReason::kLocal,
              Status::Busy("send queue over its limit"), false, now);
    return;
  }
  if (e.congested) {
    // Tell the replicator at once, before its next pump overshoots.
    if (rep_peers_.count(peer) && congested_.insert(peer).second) {
      replicator_->SetPeerCongested(peer, true);
    }
  } else if (congested_.erase(peer)) {
    replicator_->SetPeerCongested(peer, false);
  }
}

void NodeCore::EnforceSendBudget(TimeMs now) {
  // The queues the driver reported (those over the soft limit; the others
  // hold less than send_queue_soft_bytes each): the longest goes until the
  // total fits.
  for (;;) {
    size_t total = 0;
    const Conn* longest = nullptr;
    for (const auto& [id, c] : conns_) {
      total += c.queued;
      if (longest == nullptr || c.queued > longest->queued) longest = &c;
    }
    if (total <= options_.max_send_buffer_bytes || longest == nullptr) return;
    ++counters_.slow_peer_disconnects;
    Log(ReportKind::kConnection,
        "send queues hold " + std::to_string(total) +
            " bytes (max_send_buffer_bytes " +
            std::to_string(options_.max_send_buffer_bytes) +
            "): disconnecting " + longest->peer.Short() + ", the longest (" +
            std::to_string(longest->queued) + " bytes)",
        longest->peer);
    CloseConn(longest->id, CloseReason::kLocal,
              Status::Busy("send queues over the node's limit"), false, now);
  }
}

void NodeCore::Closed(ConnId conn, CloseReason reason, const Status& why,
                      TimeMs now) {
  admission_.OnClosed(conn);
  switch (reason) {
    case CloseReason::kReceiveBudget:
      ++counters_.receive_budget_closes;
      break;
    case CloseReason::kHandshakeFailed:
      ++counters_.handshake_failures;
      break;
    case CloseReason::kHandshakeTimeout:
      ++counters_.handshake_timeouts;
      break;
    case CloseReason::kIdleTimeout:
      ++counters_.idle_timeouts;
      break;
    case CloseReason::kStreamError:
      ++counters_.stream_errors;
      break;
    case CloseReason::kOversizedFrame:
      ++counters_.oversized_frames;
      break;
    default:
      break;
  }
  auto cit = conns_.find(conn);
  if (cit == conns_.end()) return;  // closed by us already, or unknown
  const Conn c = std::move(cit->second);
  conns_.erase(cit);
  paused_.erase(conn);
  if (reason == CloseReason::kRefused) {
    // Logged (rate limited) where it was decided.
  } else if (reason == CloseReason::kReceiveBudget) {
    LogRefusal(std::string("connection ") + (c.outbound ? "to " : "from ") +
                   c.address + " closed: " + DescribeClose(reason, why),
               c.peer, now);
  } else if (reason != CloseReason::kLocal &&
             reason != CloseReason::kPeerClosed) {
    // A peer that fails the handshake or sends garbage is worth a warning;
    // dial failures and timeouts of an unreachable peer are routine.
    const bool bad_peer = reason == CloseReason::kHandshakeFailed ||
                          reason == CloseReason::kHandshakeTimeout ||
                          reason == CloseReason::kStreamError ||
                          reason == CloseReason::kOversizedFrame ||
                          reason == CloseReason::kMalformedFrame;
    Log(ReportKind::kConnection,
        std::string("connection ") + (c.outbound ? "to " : "from ") +
            c.address + " closed: " + DescribeClose(reason, why),
        c.peer, true, bad_peer ? LogLevel::kWarn : LogLevel::kInfo);
  } else if (reason == CloseReason::kPeerClosed) {
    Log(ReportKind::kConnection, c.peer.Short() + " closed the connection",
        c.peer);
  }
  if (!c.has_peer) return;  // inbound, handshake never finished
  const FeedId peer = c.peer;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  PeerConns& pc = it->second;
  if (pc.dialing == conn) {
    pc.dialing = 0;
    ++counters_.dial_failures;
    if (reason != CloseReason::kLocal) BackOff(peer, /*reset=*/false, now);
    if (pc.primary == 0) {
      if (membership_ && !stopped_) membership_->OnDisconnected(peer, now);
      auto ct = configured_.find(peer);
      if (ct != configured_.end() && !ct->second.persistent)
        configured_.erase(ct);
    }
  } else if (pc.primary == conn) {
    pc.primary = 0;
    if (!pc.secondaries.empty()) {
      // A duplicate survives: continue on it, both cores starting over.
      pc.primary = pc.secondaries.front();
      pc.secondaries.erase(pc.secondaries.begin());
      if (rep_peers_.erase(peer)) replicator_->OnPeerDown(peer, now);
      congested_.erase(peer);
      UpdateReplicationPeer(peer, now);
    } else if (!stopped_) {
      LostPeer(peer, now);
      auto ct = configured_.find(peer);
      if (ct != configured_.end()) {
        if (ct->second.persistent) {
          // Redial after the backoff; a connection that lived a while
          // starts it over, a flapping one keeps doubling it.
          BackOff(peer, now - c.created >= kStableConnectionMs, now);
        } else {
          configured_.erase(ct);
          UpdateReplicationPeer(peer, now);
        }
      }
    }
  } else {
    std::erase(pc.secondaries, conn);
  }
  auto again = peers_.find(peer);
  if (again != peers_.end() && again->second.empty()) peers_.erase(again);
}

void NodeCore::LostPeer(const FeedId& peer, TimeMs now) {
  requested_.erase(peer);
  if (rep_peers_.erase(peer)) replicator_->OnPeerDown(peer, now);
  congested_.erase(peer);
  if (membership_) membership_->OnDisconnected(peer, now);
}

// ---- sending and dialling ----

void NodeCore::SendOn(ConnId conn, std::string frame, TimeMs now) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  it->second.last_sent = now;
  Emit(Send{conn, std::move(frame)});
}

void NodeCore::SendTo(const FeedId& peer, std::string frame,
                      const std::string& address, TimeMs now) {
  if (peer == self_ || stopped_) return;
  auto it = peers_.find(peer);
  if (it != peers_.end()) {
    if (it->second.primary != 0) {
      SendOn(it->second.primary, std::move(frame), now);
      return;
    }
    if (it->second.dialing != 0) {
      SendOn(it->second.dialing, std::move(frame), now);
      return;
    }
  }
  const std::string addr = address.empty() ? AddressOf(peer) : address;
  // Nowhere to send it, dialled in vain lately, or no room to dial: dropped
  // like a lost datagram, and counted.
  ConnId c = 0;
  if (!addr.empty() && !BackingOff(peer, now)) c = DialPeer(peer, addr, now);
  if (c == 0) {
    ++counters_.frames_unsendable;
    return;
  }
  SendOn(c, std::move(frame), now);
}

ConnId NodeCore::DialPeer(const FeedId& peer, const std::string& address,
                          TimeMs now) {
  if (stopped_ || peer == self_ || address.empty() || policy_.Blocked(peer)) return 0;
  auto existing = peers_.find(peer);
  if (existing != peers_.end() && existing->second.dialing != 0)
    return existing->second.dialing;
  Admission::Decision d = admission_.RoomForDial();
  if (d.evict != 0) Evict(d.evict, d.reason, now);
  if (!d.admit) {
    LogRefusal("not dialling " + peer.Short() + ": " + d.reason, peer, now);
    return 0;
  }
  ++counters_.connections_dialed;
  const ConnId id = next_conn_++;
  admission_.OnDialed(id);
  Conn& c = conns_[id];
  c.id = id;
  c.outbound = true;
  c.has_peer = true;
  c.peer = peer;
  c.address = address;
  c.created = now;
  c.last_sent = now;
  peers_[peer].dialing = id;
  Emit(Dial{id, peer, address});
  return id;
}

void NodeCore::CloseConn(ConnId conn, CloseReason reason, const Status& why,
                         bool graceful, TimeMs now) {
  if (!conns_.count(conn)) return;
  Emit(Close{conn, reason, why, graceful});
  Closed(conn, reason, why, now);
}

void NodeCore::CloseAll(const FeedId& peer, CloseReason reason,
                        const Status& why) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  std::vector<ConnId> victims;
  if (it->second.primary != 0) victims.push_back(it->second.primary);
  for (ConnId s : it->second.secondaries) victims.push_back(s);
  if (it->second.dialing != 0) victims.push_back(it->second.dialing);
  const bool graceful = reason == CloseReason::kLocal;
  for (ConnId c : victims) CloseConn(c, reason, why, graceful, now_);
}

void NodeCore::BackOff(const FeedId& peer, bool reset, TimeMs now) {
  Backoff& b = backoff_[peer];
  b.delay_ms = reset ? options_.reconnect_min_ms
                     : std::clamp(b.delay_ms * 2, options_.reconnect_min_ms,
                                  options_.reconnect_max_ms);
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  // Never sooner than a peer's Refused frame asked (HandleRefusal).
  b.next = std::max(b.next,
                    now + static_cast<TimeMs>(static_cast<double>(b.delay_ms) *
                                              jitter(rng_)));
}

bool NodeCore::BackingOff(const FeedId& peer, TimeMs now) const {
  auto it = backoff_.find(peer);
  return it != backoff_.end() && now < it->second.next;
}

void NodeCore::DialConfigured(TimeMs now) {
  if (stopped_ || !started_) return;
  for (auto& [id, c] : configured_) {
    if (!c.persistent && c.dialed_once) continue;
    auto it = peers_.find(id);
    if (it != peers_.end() &&
        (it->second.primary != 0 || it->second.dialing != 0))
      continue;
    if (BackingOff(id, now)) continue;
    if (DialPeer(id, c.host_port, now) == 0) {
      BackOff(id, /*reset=*/false, now);
    } else {
      c.dialed_once = true;
    }
  }
}

std::string NodeCore::AddressOf(const FeedId& peer) const {
  auto it = configured_.find(peer);
  if (it != configured_.end()) return it->second.host_port;
  auto jt = addresses_.find(peer);
  if (jt != addresses_.end()) return jt->second;
  // A member known only from membership news (a passive-view member we
  // never connected to): the address its member table holds, or "".
  return membership_ ? membership_->AddressOf(peer) : std::string();
}

void NodeCore::Keepalives(TimeMs now) {
  // An empty Notes frame (a no-op for the receiver) to every replication
  // peer we have sent nothing for a third of the idle timeout, so that its
  // idle timer only fires when the link is dead.
  const TimeMs keepalive = options_.idle_timeout_ms / 3;
  for (const FeedId& peer : rep_peers_) {
    auto it = peers_.find(peer);
    if (it == peers_.end() || it->second.primary == 0) continue;
    if (now - conns_.at(it->second.primary).last_sent >= keepalive) {
      SendOn(it->second.primary,
             replication::EncodeMessage(replication::NotesMessage{}), now);
    }
  }
}

void NodeCore::PauseReads(ConnId conn) {
  if (paused_.insert(conn).second) Emit(SetReading{conn, false});
}

void NodeCore::ResumeReads() {
  std::vector<ConnId> paused(paused_.begin(), paused_.end());
  std::sort(paused.begin(), paused.end());
  paused_.clear();
  for (ConnId c : paused) {
    if (conns_.count(c)) Emit(SetReading{c, true});
  }
}

}  // namespace plumlog::node
