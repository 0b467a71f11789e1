// NodeCore: event dispatch, commands, the cores' effects, timers, status.
// The connection policy is in node_connections.cc.
#include "node/node_core.h"

#include <algorithm>
#include <limits>
#include <variant>

#include "core/host_port.h"
#include "node/contact.h"
#include "node/node_core_internal.h"
#include "replication/membership_message.h"
#include "replication/message.h"

namespace plumlog::node {
namespace {

constexpr TimeMs kNever = std::numeric_limits<TimeMs>::max();

MemberEventKind ToKind(replication::MembershipEvent e) {
  switch (e) {
    case replication::MembershipEvent::kNeighborUp:
      return MemberEventKind::kNeighborUp;
    case replication::MembershipEvent::kNeighborDown:
      return MemberEventKind::kNeighborDown;
    case replication::MembershipEvent::kMemberUp:
      return MemberEventKind::kUp;
    case replication::MembershipEvent::kSuspect:
      return MemberEventKind::kSuspect;
    case replication::MembershipEvent::kDown:
      return MemberEventKind::kDown;
    case replication::MembershipEvent::kLeft:
      return MemberEventKind::kLeft;
  }
  return MemberEventKind::kUp;
}

// A peer's address as `plumlog whoami --address` prints it (what
// PeerAddress::ToString, in net/, writes): net:HOST:PORT~shs:KEY.
std::string AddressText(const FeedId& id, const std::string& host_port) {
  const std::string id_text = id.ToString();  // "@" + base64 + ".ed25519"
  return "net:" + host_port + "~shs:" +
         id_text.substr(1, id_text.size() - 1 - 8);
}

}  // namespace

const char* CloseReasonName(CloseReason r) {
  switch (r) {
    case CloseReason::kLocal:
      return "closed locally";
    case CloseReason::kPeerClosed:
      return "peer closed";
    case CloseReason::kHandshakeFailed:
      return "handshake failed";
    case CloseReason::kHandshakeTimeout:
      return "handshake timeout";
    case CloseReason::kIdleTimeout:
      return "idle timeout";
    case CloseReason::kStreamError:
      return "stream error";
    case CloseReason::kOversizedFrame:
      return "oversized frame";
    case CloseReason::kMalformedFrame:
      return "malformed frame";
    case CloseReason::kSocketError:
      return "socket error";
    case CloseReason::kRefused:
      return "refused";
    case CloseReason::kReceiveBudget:
      return "receive buffers over the node's limit";
    case CloseReason::kResolveFailed:
      return "resolve failed";
  }
  return "?";
}

// The membership's views (or the members the driver set without one) are
// where digests go.
class NodeCore::Targets final : public replication::DigestTargets {
 public:
  explicit Targets(const NodeCore* core) : core_(core) {}
  std::vector<FeedId> DigestCandidates() const override {
    std::vector<FeedId> out;
    if (const replication::Membership* m = core_->membership()) {
      out = m->ActiveView();
      for (const FeedId& p : m->PassiveView()) out.push_back(p);
    } else {
      for (const Contact& c : core_->digest_members_) out.push_back(c.id);
    }
    return out;
  }

 private:
  const NodeCore* core_;
};

NodeCore::NodeCore(const storage::ReplicationStore* store,
                   std::string advertise, const NodeOptions& options,
                   uint64_t seed)
    : store_(store),
      self_(store->local_id()),
      options_(options),
      rng_(seed),
      policy_(store, options.replication.replicate_all,
              options.replication.hops),
      targets_(std::make_unique<Targets>(this)),
      admission_(AdmissionLimits::From(options)) {
  Status st = policy_.Load();
  if (!st.ok()) StoreError("cannot load the replication policy", st);
  replicator_ = std::make_unique<replication::Replicator>(
      store_, options_.replication, rng_(), &policy_);
  replicator_->SetDigestTargets(targets_.get());
  if (options_.membership) {
    membership_ = std::make_unique<replication::Membership>(
        self_, std::move(advertise), options_.membership_options, rng_());
  }
  for (const PeerAddress& p : options_.peers) {
    if (p.id == self_) continue;
    Configured& c = configured_[p.id];
    c.address = p;
    c.host_port = core::JoinHostPort(p.host, p.port);
    c.persistent = true;
    addresses_[p.id] = c.host_port;
  }
  // Effects of the constructor (store errors) go out with the first event.
  RunReplicatorEffects(0, nullptr);
}

NodeCore::~NodeCore() = default;

// ---- events ----

// One handler per event type: std::visit does not compile without one for
// every alternative of Event.
class NodeCore::Dispatch {
 public:
  Dispatch(NodeCore* core, TimeMs now) : c_(core), now_(now) {}
  Status operator()(Start&) { return c_->OnStart(now_), Status::OK(); }
  Status operator()(Tick&) { return c_->OnTick(now_), Status::OK(); }
  Status operator()(ConnectionAccepted& e) {
    return c_->OnAccepted(e, now_), Status::OK();
  }
  Status operator()(ConnectionOpened& e) {
    return c_->OnOpened(e, now_), Status::OK();
  }
  Status operator()(ConnectionClosed& e) {
    return c_->Closed(e.conn, e.reason, e.why, now_), Status::OK();
  }
  Status operator()(FrameReceived& e) {
    return c_->OnFrame(e, now_), Status::OK();
  }
  Status operator()(SendQueue& e) {
    return c_->OnSendQueue(e, now_), Status::OK();
  }
  Status operator()(StoreEntries& e) {
    return c_->OnStoreEntries(e, now_), Status::OK();
  }
  Status operator()(IngestDone& e) {
    return c_->OnIngestDone(e, now_), Status::OK();
  }
  Status operator()(StoreFailed& e) {
    return c_->StoreError(e.what, e.status), Status::OK();
  }
  Status operator()(AddPeer& e) { return c_->OnAddPeer(e, now_); }
  Status operator()(RemovePeer& e) { return c_->OnRemovePeer(e, now_); }
  Status operator()(Join& e) {
    if (!c_->membership_)
      return Status::FailedPrecondition("the membership protocol is off");
    c_->membership_->Join(std::move(e.contacts), now_);
    return Status::OK();
  }
  Status operator()(Follow& e) { return c_->OnFollow(e, now_); }
  Status operator()(Block& e) { return c_->OnBlock(e, now_); }
  Status operator()(Replicate& e) {
    Status error;
    c_->ApplyPolicyChanges(c_->policy_.Request(e.feed, e.replicate, &error),
                           now_);
    return error;
  }
  Status operator()(SetMembers& e) {
    for (const Contact& m : e.members) {
      if (!m.address.empty() && !c_->configured_.count(m.id))
        c_->addresses_[m.id] = m.address;
    }
    c_->digest_members_ = std::move(e.members);
    return Status::OK();
  }
  Status operator()(Stop&) { return c_->OnStop(now_), Status::OK(); }

 private:
  NodeCore* c_;
  TimeMs now_;
};

Status NodeCore::Handle(Event event, TimeMs now) {
  now_ = now;
  Status st = std::visit(Dispatch(this, now), event);
  Drain(now);
  MaybeConfirmOwnFeed();
  const TimeMs next = NextDeadline();
  if (next != timer_reported_ && !stopped_) {
    timer_reported_ = next;
    Emit(SetTimer{next});
  }
  return st;
}

std::vector<Effect> NodeCore::TakeEffects() {
  std::vector<Effect> out;
  out.swap(effects_);
  return out;
}

TimeMs NodeCore::NextDeadline() const {
  if (stopped_ || !started_) return kNever;
  TimeMs next = replicator_->NextTimeout();
  if (membership_) next = std::min(next, membership_->NextTimeout(now_));
  if (!deferred_failures_.empty())
    next = std::min(next, deferred_failures_.begin()->first);
  // Keepalives of replication peers.
  const TimeMs keepalive = options_.idle_timeout_ms / 3;
  for (const FeedId& peer : rep_peers_) {
    auto it = peers_.find(peer);
    if (it == peers_.end() || it->second.primary == 0) continue;
    next = std::min(next, conns_.at(it->second.primary).last_sent + keepalive);
  }
  // Redials of configured peers whose backoff is running.
  for (const auto& [id, c] : configured_) {
    if (!c.persistent && c.dialed_once) continue;
    auto it = peers_.find(id);
    if (it != peers_.end() &&
        (it->second.primary != 0 || it->second.dialing != 0))
      continue;
    auto b = backoff_.find(id);
    if (b != backoff_.end()) next = std::min(next, b->second.next);
  }
  return std::max(next, now_);
}

void NodeCore::OnStart(TimeMs now) {
  if (started_) return;
  started_ = true;
  if (std::optional<std::string> hold = store_->OwnFeedHold()) {
    own_feed_held_ = true;
    Log(ReportKind::kPolicy,
        "appends to the own feed are held until a peer says how much of it "
        "it holds: " + *hold, FeedId(), true, LogLevel::kWarn);
  }
  std::vector<Contact> contacts;
  for (const auto& [id, c] : configured_) contacts.push_back({id, c.host_port});
  if (membership_ && !contacts.empty()) membership_->Join(contacts, now);
  DialConfigured(now);
}

void NodeCore::OnTick(TimeMs now) {
  if (stopped_ || !started_) return;
  if (membership_) membership_->Tick(now);
  replicator_->Tick(now);
  Keepalives(now);
  if (const uint64_t n = refusals_log_.TakeSuppressed(now)) {
    Log(ReportKind::kConnection,
        std::to_string(n) + " more connections refused or evicted in the last " +
            std::to_string(refusals_log_.window_ms() / 1000) +
            " s (not logged one by one; `plumlog status` counts them)");
  }
  // Membership dials whose failure report waited out the peer's backoff.
  while (!deferred_failures_.empty() &&
         deferred_failures_.begin()->first <= now) {
    const FeedId peer = deferred_failures_.begin()->second;
    deferred_failures_.erase(deferred_failures_.begin());
    // Connected since (the peer dialled us, or a later dial worked): the
    // membership heard of that connection when it opened, and a failure
    // now would take a live neighbour out of its active view without a
    // Disconnect, leaving the edge one-sided.
    auto pit = peers_.find(peer);
    if (pit != peers_.end() && pit->second.primary != 0) continue;
    if (membership_) membership_->OnDisconnected(peer, now);
  }
  DialConfigured(now);
}

void NodeCore::OnStoreEntries(StoreEntries& e, TimeMs now) {
  for (const Entry& entry : e.entries) {
    replicator_->OnStoreEntry(entry, now);
    Status error;
    std::vector<FeedId> changed = policy_.OnEntry(entry, &error);
    if (!error.ok()) StoreError("cannot update the follow graph", error);
    if (!changed.empty()) ApplyPolicyChanges(changed, now);
  }
}

void NodeCore::OnIngestDone(IngestDone& e, TimeMs now) {
  auto it = ingests_.find(e.request);
  if (it != ingests_.end()) {
    ingest_bytes_ -= it->second;
    ingests_.erase(it);
  }
  replicator_->OnIngestDone(e.request, e.result, now);
  if (ingest_bytes_ <= options_.max_pending_ingest_bytes / 2) ResumeReads();
}

void NodeCore::ApplyPolicyChanges(const std::vector<FeedId>& changed,
                                  TimeMs now) {
  for (const FeedId& feed : changed) replicator_->OnPolicyChange(feed, now);
}

// ---- commands ----

Status NodeCore::OnAddPeer(const AddPeer& c, TimeMs now) {
  const PeerAddress& peer = c.address;
  if (peer.id == self_)
    return Status::InvalidArgument("that is this node's own id");
  if (peer.port == 0)
    return Status::InvalidArgument("peer address needs a port");
  auto [it, inserted] = configured_.try_emplace(peer.id);
  Configured& conf = it->second;
  if (!inserted && conf.persistent && !c.persistent)
    return Status::OK();  // already kept
  conf.address = peer;
  conf.host_port = core::JoinHostPort(peer.host, peer.port);
  conf.persistent = c.persistent;
  conf.dialed_once = false;
  backoff_.erase(peer.id);  // dial now
  addresses_[peer.id] = conf.host_port;
  if (membership_ && membership_->ActiveView().empty()) {
    membership_->Join({{peer.id, conf.host_port}}, now);
  }
  Log(ReportKind::kConnection,
      std::string(c.persistent ? "peer added " : "connecting to ") +
          AddressText(peer.id, conf.host_port));
  UpdateReplicationPeer(peer.id, now);
  if (started_) DialConfigured(now);
  return Status::OK();
}

Status NodeCore::OnRemovePeer(const RemovePeer& c, TimeMs now) {
  auto it = configured_.find(c.peer);
  if (it == configured_.end()) {
    return Status::NotFound("not a configured peer: " + c.peer.ToString());
  }
  configured_.erase(it);
  Log(ReportKind::kConnection, "peer removed " + c.peer.ToString());
  if (!active_.count(c.peer))
    CloseAll(c.peer, CloseReason::kLocal, Status::OK());
  UpdateReplicationPeer(c.peer, now);
  return Status::OK();
}

Status NodeCore::OnFollow(const Follow& c, TimeMs now) {
  (void)now;
  if (c.feed == self_)
    return Status::InvalidArgument("a node always replicates its own feed");
  // The contact entry is the record; the follow graph reads it back when it
  // is stored (StoreEntries).
  Emit(AppendContent{EncodeContact(c.feed, c.follow)});
  Log(ReportKind::kPolicy,
      (c.follow ? "following " : "unfollowing ") + c.feed.ToString());
  return Status::OK();
}

Status NodeCore::OnBlock(const Block& c, TimeMs now) {
  if (c.feed == self_)
    return Status::InvalidArgument("a node cannot block its own feed");
  Status error;
  std::vector<FeedId> changed = policy_.SetBlocked(c.feed, c.block, &error);
  Emit(SaveBlock{c.feed, c.block});
  ApplyPolicyChanges(changed, now);
  if (c.block) {
    // A blocked feed's author is not a peer either (as SSB's blocks).
    CloseAll(c.feed, CloseReason::kLocal, Status::PermissionDenied("blocked"));
  }
  if (c.block && c.purge) Emit(DeleteFeed{c.feed});
  Log(ReportKind::kPolicy,
      std::string(c.block ? "blocked " : "unblocked ") + c.feed.ToString() +
          (c.block && c.purge ? " (its entries are deleted)" : ""));
  return error;
}

void NodeCore::OnStop(TimeMs now) {
  if (stopped_) return;
  replicator_->SavePeerClocks();
  RunReplicatorEffects(now, nullptr);
  if (membership_) {
    membership_->Leave(now);
    for (replication::MembershipEffect& e : membership_->TakeEffects()) {
      if (e.kind != replication::MembershipEffect::Kind::kSend) continue;
      auto it = peers_.find(e.peer);
      if (it != peers_.end() && it->second.primary != 0) {
        SendOn(it->second.primary, std::move(e.frame), now);
      }
    }
  }
  stopped_ = true;
  Log(ReportKind::kConnection, "stopping");
  std::vector<ConnId> all;
  for (const auto& [id, c] : conns_) all.push_back(id);
  std::sort(all.begin(), all.end());
  for (ConnId id : all)
    CloseConn(id, CloseReason::kLocal, Status::OK(), true, now);
}

// ---- the cores' effects ----

void NodeCore::Drain(TimeMs now) {
  for (int rounds = 0; rounds < 1000; ++rounds) {
    bool progress = false;
    RunMembershipEffects(now, &progress);
    RunReplicatorEffects(now, &progress);
    if (!progress) break;
  }
}

void NodeCore::RunMembershipEffects(TimeMs now, bool* progress) {
  if (!membership_) return;
  std::vector<replication::MembershipEffect> effects =
      membership_->TakeEffects();
  if (effects.empty()) return;
  if (progress) *progress = true;
  using Kind = replication::MembershipEffect::Kind;
  for (replication::MembershipEffect& e : effects) {
    if (!e.address.empty() && e.peer != self_) {
      // A dial hint from the membership (what the peer itself claimed, or
      // third-party gossip): configured addresses win.
      if (!configured_.count(e.peer)) addresses_[e.peer] = e.address;
    }
    switch (e.kind) {
      case Kind::kSend:
        SendTo(e.peer, std::move(e.frame), e.address, now);
        break;
      case Kind::kConnect: {
        auto it = peers_.find(e.peer);
        if (it != peers_.end() && it->second.primary != 0) {
          membership_->OnConnected(e.peer, now);
        } else if (it == peers_.end() || it->second.dialing == 0) {
          const std::string addr =
              e.address.empty() ? AddressOf(e.peer) : e.address;
          if (BackingOff(e.peer, now)) {
            // Failed recently: report the failure when the backoff ends, not
            // now (a handshake refused in 1 ms would otherwise be retried
            // every millisecond).
            deferred_failures_.emplace(backoff_[e.peer].next, e.peer);
          } else if (addr.empty() || DialPeer(e.peer, addr, now) == 0) {
            membership_->OnDisconnected(e.peer, now);
          }
        }
        break;
      }
      case Kind::kDisconnect:
        active_.erase(e.peer);
        if (!configured_.count(e.peer) && peers_.count(e.peer)) {
          // After what is queued (the Disconnect message) has gone.
          CloseAll(e.peer, CloseReason::kLocal, Status::OK());
        }
        UpdateReplicationPeer(e.peer, now);
        break;
      case Kind::kEvent: {
        if (e.event == replication::MembershipEvent::kNeighborUp) {
          active_.insert(e.peer);
          UpdateReplicationPeer(e.peer, now);
        } else if (e.event == replication::MembershipEvent::kNeighborDown) {
          active_.erase(e.peer);
          UpdateReplicationPeer(e.peer, now);
        }
        if (e.event == replication::MembershipEvent::kDown) {
          // SWIM's verdict: whatever connection we still hold is dead (a
          // configured peer is redialled with backoff).
          CloseAll(e.peer, CloseReason::kLocal, Status::OK());
        }
        Report r;
        r.kind = ReportKind::kMember;
        r.peer = e.peer;
        r.text = "member " + e.peer.Short() + " " +
                 replication::MembershipEventName(e.event);
        r.member = MemberEvent{ToKind(e.event), e.peer, e.incarnation};
        if (e.event == replication::MembershipEvent::kSuspect ||
            e.event == replication::MembershipEvent::kDown)
          r.level = LogLevel::kWarn;
        Emit(std::move(r));
        break;
      }
    }
  }
}

void NodeCore::RunReplicatorEffects(TimeMs now, bool* progress) {
  std::vector<replication::Effect> effects = replicator_->TakeEffects();
  if (effects.empty()) return;
  if (progress) *progress = true;
  using Kind = replication::Effect::Kind;
  using replication::ReplicationEvent;
  for (replication::Effect& e : effects) {
    switch (e.kind) {
      case Kind::kSend:
        SendTo(e.peer, std::move(e.frame), std::string(), now);
        break;
      case Kind::kDisconnect:
        Log(ReportKind::kConnection,
            "dropping peer " + e.peer.Short() + ": " + e.detail, e.peer, true,
            LogLevel::kWarn);
        CloseAll(e.peer, CloseReason::kMalformedFrame,
                 Status::Corruption(e.detail));
        break;
      case Kind::kEvent: {
        Report r;
        r.kind = ReportKind::kReplication;
        r.peer = e.peer;
        r.feed = e.feed;
        r.seq = e.seq;
        r.level = LogLevel::kWarn;
        switch (e.event) {
          case ReplicationEvent::kInvalidEntry:
            ++counters_.invalid_entries;
            r.text = "invalid entry " + e.feed.Short() + ":" +
                     std::to_string(e.seq) + " from " + e.peer.Short() + ": " +
                     e.detail;
            break;
          case ReplicationEvent::kFork:
            ++counters_.forks;
            r.level = LogLevel::kError;
            r.text = "feed " + e.feed.ToString() + " forked at " +
                     std::to_string(e.seq) + " (from " + e.peer.Short() +
                     "): replication of it stopped";
            break;
          case ReplicationEvent::kMalformedFrame:
            ++counters_.malformed_frames;
            r.text = "malformed frame from " + e.peer.Short() + ": " + e.detail;
            break;
          case ReplicationEvent::kStoreError:
            ++counters_.store_errors;
            last_store_error_ = e.detail;
            r.kind = ReportKind::kStoreError;
            r.level = LogLevel::kError;
            r.text = "store error: " + e.detail;
            break;
          case ReplicationEvent::kGraft:
          case ReplicationEvent::kPrune:
            r.log = false;
            r.level = LogLevel::kDebug;
            r.text = std::string(replication::ReplicationEventName(e.event)) +
                     " " + e.feed.Short() + " " + e.peer.Short();
            break;
        }
        Emit(std::move(r));
        break;
      }
      case Kind::kIngest: {
        size_t bytes = 0;
        for (const Entry& entry : e.batch) bytes += entry.encoded().size();
        ingests_[e.request] = bytes;
        ingest_bytes_ += bytes;
        Emit(Ingest{e.request, e.peer, std::move(e.batch)});
        if (ingest_bytes_ > options_.max_pending_ingest_bytes) {
          // Ingestion is behind: stop reading from whoever feeds it.
          auto it = peers_.find(e.peer);
          if (it != peers_.end()) {
            if (it->second.primary != 0) PauseReads(it->second.primary);
            for (ConnId s : it->second.secondaries) PauseReads(s);
          }
        }
        break;
      }
      case Kind::kSavePeerClock:
        Emit(SavePeerClock{e.peer, std::move(e.clock)});
        break;
      case Kind::kStoreForkProof:
        Emit(StoreForkProof{std::move(e.first), std::move(e.second)});
        break;
    }
  }
}

// ---- output ----

// The own-feed check (docs/storage.md, "Own feed"): a store that may hold an
// older copy of its own feed than its peers (restored, repaired, or opened by
// `plumlog serve`) takes appends only once a peer has told us how much of
// the feed it holds and the store holds at least that much (replication
// fetches what is missing meanwhile).
void NodeCore::MaybeConfirmOwnFeed() {
  if (!own_feed_held_ || stopped_) return;
  const std::optional<uint64_t> heard = replicator_->HeardSeq(self_);
  if (!heard) return;
  Result<FeedInfo> head = store_->Feed(self_);
  const uint64_t have = head.ok() ? head->seq : 0;
  if (have < *heard) return;  // still fetching
  own_feed_held_ = false;
  Emit(ConfirmOwnFeed{*heard, have});
}

void NodeCore::Log(ReportKind kind, std::string text, const FeedId& peer,
                   bool log, LogLevel level) {
  Report r;
  r.kind = kind;
  r.log = log;
  r.level = kind == ReportKind::kStoreError ? LogLevel::kError : level;
  r.peer = peer;
  r.text = std::move(text);
  Emit(std::move(r));
}

void NodeCore::StoreError(std::string what, const Status& status) {
  ++counters_.store_errors;
  last_store_error_ = what + ": " + status.ToString();
  Report r;
  r.kind = ReportKind::kStoreError;
  r.text = "store error: " + last_store_error_;
  Emit(std::move(r));
}

// ---- observation ----

std::vector<ConnectionInfo> NodeCore::Connections() const {
  std::vector<ConnectionInfo> out;
  out.reserve(conns_.size());
  for (const auto& [id, c] : conns_) {
    ConnectionInfo ci;
    ci.conn = id;
    ci.peer = c.peer;
    ci.outbound = c.outbound;
    ci.open = c.open;
    ci.address = c.address;
    ci.opened_at = c.created;
    if (c.has_peer) {
      auto it = peers_.find(c.peer);
      ci.primary = it != peers_.end() && it->second.primary == id;
      ci.replicating = ci.primary && c.open && rep_peers_.count(c.peer) > 0;
    }
    out.push_back(std::move(ci));
  }
  std::sort(out.begin(), out.end(),
            [](const ConnectionInfo& a, const ConnectionInfo& b) {
              return a.peer != b.peer ? a.peer < b.peer : a.conn < b.conn;
            });
  return out;
}

std::optional<ConnId> NodeCore::PrimaryConnection(const FeedId& peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.primary == 0) return std::nullopt;
  return it->second.primary;
}

bool NodeCore::InSyncWith(const FeedId& peer) const {
  // Entries received but still on their way into the store (the Ingest
  // effect has not come back) are not held yet.
  return ingest_bytes_ == 0 && PrimaryConnection(peer).has_value() &&
         replicator_->InSyncWith(peer);
}

uint64_t NodeCore::EntriesVerified() const {
  const replication::ReplicationStats& rs = replicator_->stats();
  return rs.entries_received -
         std::min(rs.entries_received, rs.duplicates_received);
}

void NodeCore::FillStatus(NodeStatus* s) const {
  for (const auto& [id, c] : configured_) {
    if (c.persistent) s->configured_peers.push_back(c.address);
  }
  if (membership_) {
    s->active_view = membership_->ActiveView();
    s->passive_view = membership_->PassiveView();
    s->members_alive = membership_->ClusterSizeEstimate();
    for (const FeedId& m : membership_->LiveMembers()) {
      auto st = membership_->StateOf(m);
      s->members.emplace_back(
          m, st ? replication::MemberStateName(*st) : "unknown");
    }
  } else {
    for (const FeedId& p : rep_peers_) s->active_view.push_back(p);
    std::sort(s->active_view.begin(), s->active_view.end());
    s->members_alive = rep_peers_.size() + 1;
  }
  const replication::Progress pr = replicator_->GetProgress();
  s->progress_start = pr.start;
  s->progress_current = pr.current;
  s->progress_target = pr.target;
  for (const auto& f : replicator_->FeedStatuses()) {
    if (f.local == 0 && f.remote == 0) continue;
    s->feeds.push_back(FeedProgress{f.feed, f.local, f.remote});
  }
  s->counters = counters_;
  const replication::ReplicationStats& rs = replicator_->stats();
  s->counters.entries_received = rs.entries_received;
  s->counters.entries_stored = rs.entries_stored;
  s->counters.entries_sent = rs.entries_sent;
  s->counters.duplicates_received = rs.duplicates_received;
  s->counters.claims_refused = rs.claims_refused;
  s->counters.reconcile_sessions = rs.reconcile_sessions;
  s->counters.reconcile_failures = rs.reconcile_failures;
  s->counters.first_contact_fallbacks = rs.first_contact_fallbacks;
  s->counters.entries_verified = EntriesVerified();
  for (const FeedId& p : replicator_->ConnectedPeers()) {
    const replication::Progress pp = replicator_->GetPeerProgress(p);
    s->peer_progress.push_back(PeerProgress{
        p, pp.target - std::min(pp.target, pp.current), pp.peer_lacks});
  }
  std::sort(s->peer_progress.begin(), s->peer_progress.end(),
            [](const PeerProgress& a, const PeerProgress& b) {
              return a.peer < b.peer;
            });
  s->last_store_error = last_store_error_;
}

ReplicationPolicyStatus NodeCore::Policy() const {
  ReplicationPolicyStatus p;
  p.replicate_all = policy_.replicate_all();
  p.hops = policy_.hops();
  p.follows = policy_.Follows();
  p.blocks.assign(policy_.blocks().begin(), policy_.blocks().end());
  if (!p.replicate_all) p.in_range = policy_.InRange();
  return p;
}

}  // namespace plumlog::node
