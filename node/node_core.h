// NodeCore: everything one node decides, sans-IO (docs/architecture.md).
//
// It owns the Replicator and the Membership, the replication policy
// (node/replication_policy.h), and the peer and connection policy: which
// connection carries a peer's frames (primary, duplicates from simultaneous
// dials, replacement of a stale connection by a reconnect), who is a
// replication peer (the active view, configured peers, and peers that asked
// by sending notes), configured peers and their redial backoff, dial failures
// reported to the membership only once a backoff ends, keepalives, slow
// peers, connection limits, and pausing reads while ingestion is behind.
//
//   Status Handle(Event, now)      one event in (node/events.h)
//   std::vector<Effect> TakeEffects()  what the driver must do, in order
//
// The daemon's driver (net/node_impl.cc) and the simulator
// (tests/sim/simulator.cc) run this same class. Time is an input; the only
// randomness comes from the seed; the store is only read (writes are
// effects). Handle never calls back into the driver.
#ifndef PLUMLOG_NODE_NODE_CORE_H_
#define PLUMLOG_NODE_NODE_CORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "node/admission.h"
#include "node/events.h"
#include "node/log_limiter.h"
#include "node/replication_policy.h"
#include "plumlog/node.h"
#include "replication/membership.h"
#include "replication/replicator.h"
#include "storage/replication_store.h"

namespace plumlog::node {

// What NodeCore keeps about one connection (status, tests).
struct ConnectionInfo {
  ConnId conn = 0;
  FeedId peer;  // proven (open) or expected (dialling)
  bool outbound = false;
  bool open = false;
  bool primary = false;      // carries the peer's frames
  bool replicating = false;  // primary connection of a replication peer
  std::string address;
  TimeMs opened_at = 0;
};

class NodeCore {
 public:
  // `store` is read (never written) and must outlive the core. `advertise`
  // is where this node says it listens (HOST:PORT, may be empty).
  NodeCore(const storage::ReplicationStore* store, std::string advertise,
           const NodeOptions& options, uint64_t seed);
  ~NodeCore();
  NodeCore(const NodeCore&) = delete;
  NodeCore& operator=(const NodeCore&) = delete;

  const FeedId& self() const { return self_; }

  // One event. Commands answer with their verdict (InvalidArgument for a bad
  // peer address, NotFound for removing an unknown peer); other events
  // return OK.
  Status Handle(Event event, TimeMs now);
  std::vector<Effect> TakeEffects();

  // The id for an inbound connection the driver accepted, before it reports
  // ConnectionAccepted.
  ConnId NewConnectionId() { return next_conn_++; }
  // When the core next needs a Tick (also reported by SetTimer).
  TimeMs NextDeadline() const;

  // ---- observation ----
  std::vector<ConnectionInfo> Connections() const;
  // The connection carrying `peer`'s frames, if open.
  std::optional<ConnId> PrimaryConnection(const FeedId& peer) const;
  // The replicator's verdict (the driver also checks its send queue).
  bool InSyncWith(const FeedId& peer) const;
  // Everything of NodeStatus the core knows: views, members, progress,
  // feeds, counters (not the sockets' bytes), configured peers.
  void FillStatus(NodeStatus* status) const;
  // Entries received and verified (not duplicates), for the verify rate.
  uint64_t EntriesVerified() const;
  ReplicationPolicyStatus Policy() const;
  bool stopped() const { return stopped_; }

  replication::Replicator& replicator() { return *replicator_; }
  const replication::Replicator& replicator() const { return *replicator_; }
  // Null without the membership protocol.
  replication::Membership* membership() { return membership_.get(); }
  const replication::Membership* membership() const {
    return membership_.get();
  }
  const ReplicationPolicy& policy() const { return policy_; }
  size_t pending_ingest_bytes() const { return ingest_bytes_; }

 private:
  struct Conn;
  struct PeerConns;
  struct Configured;
  struct Backoff;
  class Dispatch;
  class Targets;

  // ---- connections (node_connections.cc) ----
  void OnAccepted(const ConnectionAccepted& e, TimeMs now);
  void OnOpened(const ConnectionOpened& e, TimeMs now);
  // `conn` closed (reported by the driver, or closed by the core itself):
  // what it carried goes to another connection of the peer, or the peer is
  // lost. Unknown ids are ignored.
  void Closed(ConnId conn, CloseReason reason, const Status& why, TimeMs now);
  void OnFrame(const FrameReceived& e, TimeMs now);
  void OnSendQueue(const SendQueue& e, TimeMs now);
  void OpenNeighbor(const FeedId& peer, TimeMs now);
  void LostPeer(const FeedId& peer, TimeMs now);
  void UpdateReplicationPeer(const FeedId& peer, TimeMs now);
  bool WantsReplication(const FeedId& peer) const;
  // Sends `frame` to `peer` on its connection, or dials one (`address`, else
  // what we know) if none; dropped like a lost datagram when that is
  // impossible.
  void SendTo(const FeedId& peer, std::string frame, const std::string& address,
              TimeMs now);
  void SendOn(ConnId conn, std::string frame, TimeMs now);
  // A new outgoing connection, or 0 when over the limit or without address.
  ConnId DialPeer(const FeedId& peer, const std::string& address, TimeMs now);
  // Emits Close and forgets the connection at once (as Closed would).
  void CloseConn(ConnId conn, CloseReason reason, const Status& why,
                 bool graceful, TimeMs now);
  void CloseAll(const FeedId& peer, CloseReason reason, const Status& why);
  void BackOff(const FeedId& peer, bool reset, TimeMs now);
  bool BackingOff(const FeedId& peer, TimeMs now) const;
  void DialConfigured(TimeMs now);
  // Where to dial `peer`: its configured address, else one a membership
  // effect or SetMembers named, else the membership's member table; "" if
  // none knows one.
  std::string AddressOf(const FeedId& peer) const;
  void Keepalives(TimeMs now);
  // Ends the store's own-feed hold once a peer's note allows it.
  void MaybeConfirmOwnFeed();
  void PauseReads(ConnId conn);
  void ResumeReads();
  // Admission (node/admission.h): closes what a verdict evicts.
  void Evict(ConnId victim, const std::string& reason, TimeMs now);
  // A Refused frame (node/refusal.h), then a graceful close.
  void Refuse(ConnId conn, const std::string& reason, TimeMs now);
  void HandleRefusal(ConnId conn, std::string_view frame, TimeMs now);
  // A configured peer, a member, or a peer with an open connection: it may
  // take the reserved connection slots.
  bool Known(const FeedId& peer) const;
  // A refusal or eviction line, at most 10 per 10 s (the rest summed up).
  void LogRefusal(std::string text, const FeedId& peer, TimeMs now);
  // All send queues together within max_send_buffer_bytes.
  void EnforceSendBudget(TimeMs now);

  // ---- the cores' effects (node_core.cc) ----
  void Drain(TimeMs now);
  void RunMembershipEffects(TimeMs now, bool* progress);
  void RunReplicatorEffects(TimeMs now, bool* progress);
  void UpdateDigestMembers();
  void ApplyPolicyChanges(const std::vector<FeedId>& changed, TimeMs now);

  // ---- events and commands (node_core.cc) ----
  void OnStart(TimeMs now);
  void OnTick(TimeMs now);
  void OnStoreEntries(StoreEntries& e, TimeMs now);
  void OnIngestDone(IngestDone& e, TimeMs now);
  Status OnAddPeer(const AddPeer& c, TimeMs now);
  Status OnRemovePeer(const RemovePeer& c, TimeMs now);
  Status OnFollow(const Follow& c, TimeMs now);
  Status OnBlock(const Block& c, TimeMs now);
  void OnStop(TimeMs now);

  void Emit(Effect e) { effects_.push_back(std::move(e)); }
  void Log(ReportKind kind, std::string text, const FeedId& peer = FeedId(),
           bool log = true, LogLevel level = LogLevel::kInfo);
  void StoreError(std::string what, const Status& status);

  const storage::ReplicationStore* store_;
  const FeedId self_;
  const NodeOptions options_;
  std::mt19937_64 rng_;
  ReplicationPolicy policy_;
  std::unique_ptr<Targets> targets_;
  std::unique_ptr<replication::Replicator> replicator_;
  std::unique_ptr<replication::Membership> membership_;
  bool started_ = false;
  bool stopped_ = false;
  bool own_feed_held_ = false;  // the store held its own feed at start

  ConnId next_conn_ = 1;
  std::unordered_map<ConnId, Conn> conns_;
  Admission admission_;
  LogLimiter refusals_log_{10, 10000};
  std::unordered_map<FeedId, PeerConns> peers_;
  std::unordered_set<FeedId> active_;  // membership's active view
  std::unordered_set<FeedId>
      requested_;  // peers that sent us notes (they replicate with us)
  std::unordered_set<FeedId> rep_peers_;  // Replicator::OnPeerUp'd
  std::unordered_set<FeedId> congested_;
  std::map<FeedId, Configured> configured_;
  std::unordered_map<FeedId, std::string> addresses_;  // learnt dial addresses
  std::unordered_map<FeedId, Backoff> backoff_;  // peers whose last dial failed
  std::multimap<TimeMs, FeedId>
      deferred_failures_;                // (when, peer) for the membership
  std::vector<Contact> digest_members_;  // SetMembers (no membership)

  // Ingestion in flight (bytes by request) and connections paused for it.
  std::unordered_map<uint64_t, size_t> ingests_;
  size_t ingest_bytes_ = 0;
  std::unordered_set<ConnId> paused_;

  TimeMs now_ = 0;  // of the event being handled (or the last one)
  TimeMs timer_reported_ = -1;
  std::vector<Effect> effects_;
  NodeCounters counters_;
  std::string last_store_error_;
};

}  // namespace plumlog::node

#endif  // PLUMLOG_NODE_NODE_CORE_H_
