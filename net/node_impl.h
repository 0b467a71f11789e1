// Node::Impl: the driver. It owns the libuv handles of one node (listener,
// timers, the wake-up async, every Connection) and feeds socket, timer and
// store events into the sans-IO cores (replication::Replicator and
// replication::Membership), then carries out their effects: frames to send,
// connections to open or close, events for listeners and counters.
//
// Everything here runs on the loop's thread. Other threads reach it only
// through RunOnLoop (a queue plus uv_async) and the store listener (which
// queues entries). Core calls never recurse into the driver: effects are
// collected and executed by Drain(), which runs after every libuv callback
// until nothing is left to do.
#ifndef PLUMLOG_NET_NODE_IMPL_H_
#define PLUMLOG_NET_NODE_IMPL_H_

#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/connection.h"
#include "plumlog/node.h"
#include "replication/membership.h"
#include "replication/replicator.h"

namespace plumlog {

class Node::Impl final : public net::Connection::Handler {
 public:
  Impl(Store* store, const NodeOptions& options, uv_loop_t* loop);
  ~Impl() override;

  // On the loop's thread: binds, starts timers, dials configured peers.
  Status Init();
  // Runs `fn` on the loop's thread and waits (inline when already there).
  // Aborted once the node has stopped.
  Status RunOnLoop(std::function<void()> fn);
  // On the loop's thread: leave, goodbye, close every handle.
  void BeginStop();
  bool stopping() const { return stopping_.load(); }
  // Every handle closed (the loop has nothing left of ours).
  bool all_closed() const { return handles_open_ == 0 && conns_.empty(); }
  // Called by ~Node (Attach mode): delete ourselves once all_closed().
  void Orphan();

  void set_loop_thread(std::thread::id id) { loop_thread_ = id; }
  const FeedId& id() const { return self_; }
  PeerAddress address() const;

  // Loop-thread operations behind Node's methods.
  Status AddPeer(const PeerAddress& peer, bool persistent);
  Status RemovePeer(const FeedId& peer);
  void Follow(const FeedId& feed, bool follow);
  void Block(const FeedId& feed);
  NodeStatus GetStatus();
  bool InSyncWith(const FeedId& peer);
  void AddListener(NodeListener* l);
  void RemoveListener(NodeListener* l);

  // net::Connection::Handler
  void OnOpen(net::Connection* c) override;
  void OnFrame(net::Connection* c, std::string_view frame) override;
  void OnClose(net::Connection* c, net::CloseReason reason, const Status& why) override;
  void OnWritable(net::Connection* c) override;
  void OnThrottled(net::Connection* c) override;
  void OnFreed(net::Connection* c) override;

 private:
  class EntryQueue;
  struct Configured {
    PeerAddress address;
    bool persistent = true;  // redial after loss (AddPeer) or once (Connect)
    bool dialed_once = false;
  };
  struct PeerConns {
    net::Connection* primary = nullptr;  // open; we send on it
    std::vector<net::Connection*> secondaries;  // open duplicates (simultaneous dials)
    net::Connection* dialing = nullptr;  // our outbound one, not open yet
  };

  int64_t Now() const;
  void Log(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  // Received entries whose signatures were verified (NodeCounters).
  uint64_t EntriesVerified() const;
  void SampleVerifyRate(int64_t now);

  // The work loop.
  void Drain();
  void DrainOnce(bool* progress);
  void RunMembershipEffects(bool* progress);
  void RunReplicatorEffects(bool* progress);
  void FlushConnections();
  void ArmTimer();
  void MaybeFinishStop();
  void Tick();
  void Housekeeping();

  // Connections.
  void SendTo(const FeedId& peer, std::string_view frame, const std::string& address);
  net::Connection* Dial(const FeedId& peer, const std::string& host_port);
  void OpenNeighbor(const FeedId& peer);  // a connection came up for `peer`
  void LostPeer(const FeedId& peer);      // its last connection went
  void CloseAll(const FeedId& peer, net::CloseReason reason, const Status& why);
  void UpdateReplicationPeer(const FeedId& peer);
  bool WantsReplication(const FeedId& peer) const;
  size_t LiveConnections() const;
  // After a failed dial or a lost connection: no new dial of `peer` for a
  // jittered delay, doubling from reconnect_min_ms to reconnect_max_ms
  // (reset: from the start). One mechanism for configured peers,
  // membership dials and transient sends.
  void BackOff(const FeedId& peer, bool reset);
  bool BackingOff(const FeedId& peer) const;
  void DialConfigured();
  std::string AddressOf(const FeedId& peer) const;
  void Emit(const MemberEvent& e);

  static void OnAsync(uv_async_t* h);
  static void OnTimer(uv_timer_t* h);
  static void OnHousekeeping(uv_timer_t* h);
  static void OnConnection(uv_stream_t* server, int status);
  static void OnHandleClosed(uv_handle_t* h);

  Store* const store_;
  NodeOptions options_;
  uv_loop_t* const loop_;
  std::thread::id loop_thread_;
  FeedId self_;
  net::ConnectionConfig config_;
  std::string advertise_;  // HOST:PORT told to others
  std::string listen_host_;
  uint16_t bound_port_ = 0;
  int64_t started_ = 0;

  std::unique_ptr<replication::Replicator> replicator_;
  std::unique_ptr<replication::Membership> membership_;
  std::mt19937_64 rng_;

  uv_tcp_t server_;
  uv_timer_t timer_;
  uv_timer_t housekeeping_;
  uv_async_t async_;
  bool listening_ = false;
  int handles_open_ = 0;
  int64_t timer_due_ = -1;
  int64_t next_release_ = 0;  // next malloc_trim
  // Entries stored as of the last housekeeping, and since when that count has
  // not moved while a burst of stores is not yet followed by a trim.
  uint64_t stored_seen_ = 0;
  int64_t stored_changed_at_ = 0;
  bool trim_after_burst_ = false;

  std::unordered_set<net::Connection*> conns_;  // every live Connection
  std::unordered_map<FeedId, PeerConns> peers_;
  std::unordered_set<FeedId> active_;     // membership's active view
  std::unordered_set<FeedId> requested_;  // peers that sent us notes (they replicate with us)
  std::unordered_set<FeedId> rep_peers_;  // Replicator::OnPeerUp'd
  std::unordered_set<FeedId> congested_;
  std::map<FeedId, Configured> configured_;
  std::unordered_map<FeedId, std::string> addresses_;  // learnt dial addresses
  struct DialBackoff {
    int64_t delay_ms = 0;
    int64_t next = 0;  // no new dial before this
  };
  std::unordered_map<FeedId, DialBackoff> dial_backoff_;  // peers whose last dial failed
  std::multimap<int64_t, FeedId> deferred_failures_;     // (when, peer) for the membership
  std::vector<NodeListener*> listeners_;
  NodeCounters counters_;
  // (time, entries verified) about once a second over the last 10 s, for
  // NodeStatus::verify_rate.
  std::deque<std::pair<int64_t, uint64_t>> verify_samples_;

  std::shared_ptr<EntryQueue> entries_;
  std::mutex calls_mu_;
  std::deque<std::function<void()>> calls_;
  std::atomic<bool> stopping_{false};
  bool draining_ = false;
  bool dirty_ = false;  // a connection closed during this drain round
  bool housekeeping_closed_ = false;
  bool orphaned_ = false;
};

}  // namespace plumlog

#endif  // PLUMLOG_NET_NODE_IMPL_H_
