// Node::Impl: the libuv driver of one node. Every decision is NodeCore's
// (node/node_core.h); this file only moves bytes, timers and store calls:
// it owns the libuv handles (listener, the core's timer, a housekeeping
// timer for the sockets' own deadlines, the wake-up async, a prepare handle
// that paces accepts) and every Connection by id, turns their callbacks into
// NodeCore events and carries out the effects (dial, send, close, hold
// reads, arm the timer, log, tell listeners). Store writes the core asks for
// run on one worker thread, in order (ingestion verifies on all cores and may
// fsync: the loop thread, and with it SWIM's probes, never waits for it); their
// results come back through the same queue as the store listener's entries.
//
// Everything here runs on the loop's thread except the worker and the store
// listener, which reach the loop only through Completions (a queue plus
// uv_async). Core calls never recurse: events raised while effects run are
// queued and handled after.
#ifndef PLUMLOG_NET_NODE_IMPL_H_
#define PLUMLOG_NET_NODE_IMPL_H_

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/connection.h"
#include "net/receive_budget.h"
#include "node/node_core.h"
#include "plumlog/node.h"
#include "storage/replication_store.h"

namespace plumlog {

class Node::Impl final : public net::Connection::Handler {
 public:
  Impl(storage::ReplicationStore* store, const NodeOptions& options,
       uv_loop_t* loop);
  ~Impl() override;

  // On the loop's thread: binds, starts timers, starts the core.
  Status Init();
  // Runs `fn` on the loop's thread and waits (inline when already there).
  // Aborted once the node has stopped.
  Status RunOnLoop(std::function<void()> fn);
  // On the loop's thread: leave, goodbye, close every handle.
  void BeginStop();
  bool stopping() const { return stopping_.load(); }
  // Every handle closed (the loop has nothing left of ours).
  bool all_closed() const { return handles_open_ == 0 && all_.empty(); }
  // Called by ~Node (Attach mode): delete ourselves once all_closed().
  void Orphan();

  void set_loop_thread(std::thread::id id) { loop_thread_ = id; }
  const FeedId& id() const { return self_; }
  PeerAddress address() const;

  // Loop-thread operations behind Node's methods: NodeCore commands.
  Status Command(node::Event command);
  NodeStatus GetStatus();
  ReplicationPolicyStatus Policy() const;
  bool InSyncWith(const FeedId& peer);
  void AddListener(NodeListener* l);
  void RemoveListener(NodeListener* l);

  // net::Connection::Handler
  void OnOpen(net::Connection* c) override;
  void OnFrame(net::Connection* c, std::string_view frame) override;
  void OnClose(net::Connection* c, net::CloseReason reason,
               const Status& why) override;
  void OnWritable(net::Connection* c) override;
  void OnThrottled(net::Connection* c) override;
  void OnFreed(net::Connection* c) override;
  void OnReceiveBudgetExceeded(net::Connection* c) override;

 private:
  class Completions;
  class Worker;

  int64_t Now() const;
  void Log(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  // Received entries whose signatures were verified (NodeCounters).
  void SampleVerifyRate(int64_t now);

  // Hands `event` to the core and carries out its effects; an event raised
  // meanwhile (a connection closing under an effect) waits its turn, unless
  // `now` (a command from a listener: handled at once, its verdict returned).
  Status Post(node::Event event, bool now = false);
  void Execute(node::Effect& effect, Status* command_status);
  void Execute(node::Dial& d);
  void ArmTimer(int64_t at);
  // Encrypts and writes what was queued; reports congestion changes.
  void FlushConnections();
  void TakeCompletions();
  void MaybeFinishStop();
  void Housekeeping();
  net::Connection* Find(node::ConnId id) const;
  static node::ConnId IdOf(const net::Connection* c);

  static void OnAsync(uv_async_t* h);
  static void OnTimer(uv_timer_t* h);
  static void OnHousekeeping(uv_timer_t* h);
  static void OnConnection(uv_stream_t* server, int status);
  static void OnAcceptTurn(uv_prepare_t* h);
  static void OnHandleClosed(uv_handle_t* h);

  storage::ReplicationStore* const store_;
  NodeOptions options_;
  uv_loop_t* const loop_;
  std::thread::id loop_thread_;
  FeedId self_;
  net::ConnectionConfig config_;
  net::ReceiveBudget receive_budget_;
  uint64_t seed_ = 0;
  std::string advertise_;  // HOST:PORT told to others
  std::string listen_host_;
  uint16_t bound_port_ = 0;
  int64_t started_ = 0;

  std::unique_ptr<node::NodeCore> core_;

  uv_tcp_t server_;
  uv_timer_t timer_;
  uv_timer_t housekeeping_;
  uv_async_t async_;
  // Accepts per loop turn are capped (kMaxAcceptsPerTurn): libuv's listener
  // callback accepts until the backlog is empty, so a peer that reconnects as
  // fast as it is refused kept the loop in it, and the refused connections
  // (64 KiB of read buffer each) were freed only when the flood ended. Past
  // the cap a connection is left unaccepted (libuv stops watching the
  // listener) and this prepare handle accepts it on the next turn, after the
  // closed ones were freed.
  uv_prepare_t accept_turn_;
  int accepts_this_turn_ = 0;
  bool accept_deferred_ = false;
  bool listening_ = false;
  int handles_open_ = 0;
  int64_t timer_due_ = -1;
  int64_t next_release_ = 0;  // next malloc_trim
  // Entries stored as of the last housekeeping, and since when that count has
  // not moved while a burst of stores is not yet followed by a trim.
  uint64_t stored_seen_ = 0;
  int64_t stored_changed_at_ = 0;
  bool trim_after_burst_ = false;

  // Sockets: open ones by id, and every one until it is freed.
  std::unordered_map<node::ConnId, net::Connection*> conns_;
  std::unordered_set<net::Connection*> all_;
  // Connections reported congested, and the queue they had then.
  std::unordered_map<node::ConnId, size_t> congested_;
  node::ConnId dialing_ =
      0;  // the id Connection::Dial is creating (it may close at once)
  // Socket counters (the core counts the rest).
  uint64_t throttled_ = 0;
  uint64_t closed_bytes_sent_ = 0;
  uint64_t closed_bytes_received_ = 0;
  uint64_t closed_frames_sent_ = 0;
  // (time, entries verified) about once a second over the last 10 s, for
  // NodeStatus::verify_rate.
  std::deque<std::pair<int64_t, uint64_t>> verify_samples_;
  std::string last_store_error_;  // the last store error logged

  std::vector<NodeListener*> listeners_;
  std::shared_ptr<Completions> completions_;
  std::unique_ptr<Worker> worker_;

  std::deque<node::Event> pending_;  // events raised while effects run
  std::deque<std::string> frames_;   // owned bytes of deferred frames
  bool posting_ = false;

  std::mutex calls_mu_;
  std::deque<std::function<void()>> calls_;
  std::atomic<bool> stopping_{false};
  bool housekeeping_closed_ = false;
  bool orphaned_ = false;
};

}  // namespace plumlog

#endif  // PLUMLOG_NET_NODE_IMPL_H_
