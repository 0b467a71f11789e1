// A deterministic network simulator for the membership core (and, optionally,
// the replicator running over the views it maintains).
//
// Like Simulator (simulator.h): virtual time (ms), one event queue, every
// random choice from one seeded generator (SIM_SEED overrides the seed; tests
// print it on failure). Frames travel FIFO per direction with a latency drawn
// per frame and optional loss (global and per node); partitions drop
// everything between groups. Connections are modelled: a Connect effect
// reaches the other side after a latency and both get OnConnected, or the
// dialler gets OnDisconnected if the target is down or unreachable; a
// Disconnect reaches the other side like a frame. Two failure models: a host
// crash is silent (no OnDisconnected, frames to it vanish, so only SWIM
// notices); a process crash (Crash with reset, e.g. SIGKILL) makes the kernel
// reset the node's connections, so every peer holding one gets OnDisconnected
// after a latency, which HyParView uses as its failure detector.
#ifndef PLUMLOG_TESTS_SIM_MEMBERSHIP_SIM_H_
#define PLUMLOG_TESTS_SIM_MEMBERSHIP_SIM_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "plumlog/options.h"
#include "plumlog/store.h"
#include "replication/membership.h"
#include "replication/replicator.h"
#include "tests/sim/event_queue.h"
#include "tests/sim/simulator.h"

namespace plumlog::sim {

struct MembershipSimStats {
  uint64_t membership_frames = 0;  // delivered
  uint64_t membership_bytes = 0;
  uint64_t replication_frames = 0;
  uint64_t dropped = 0;
  uint64_t connects = 0;
  std::map<replication::MembershipMessageType, uint64_t> by_type;  // delivered, per type
};

class MembershipSim {
 public:
  MembershipSim(uint64_t seed, MembershipOptions options, LinkModel link);
  ~MembershipSim();

  // Call before AddNodes: every node also runs a Replicator over a
  // MemoryStore (signature checks off), driven by the neighbour events.
  void EnableReplication(ReplicationOptions options);

  uint64_t seed() const { return seed_; }
  TimeMs now() const { return events_.now(); }
  std::mt19937_64& rng() { return rng_; }
  LinkModel& link() { return link_; }
  const MembershipSimStats& stats() const { return stats_; }
  void ResetStats() { stats_ = MembershipSimStats(); }

  void AddNodes(int n);
  int size() const { return static_cast<int>(nodes_.size()); }
  const FeedId& id(int node) const;
  int IndexOf(const FeedId& id) const;
  bool up(int node) const;
  replication::Membership& membership(int node);
  replication::Replicator& replicator(int node);
  Store& store(int node);

  // Starts `node`'s membership with Join through `contacts`.
  void Join(int node, const std::vector<int>& contacts);
  void Leave(int node);
  // Crashes `node`. reset = false: the host vanishes silently. reset = true:
  // only the process dies; its open connections are reset (each peer with
  // one gets OnDisconnected after a latency).
  void Crash(int node, bool reset = false);
  // Restarts a crashed node with fresh state (incarnation 0) and joins it
  // through `contacts`.
  void Restart(int node, const std::vector<int>& contacts);
  // Extra loss on every frame to or from `node` (a slow or flaky host).
  void SetNodeLoss(int node, double loss);
  // Every frame to or from `node` takes [min, max] ms instead of the link's
  // latency (a slow host).
  void SetNodeLatency(int node, TimeMs min_ms, TimeMs max_ms);
  void Partition(const std::vector<std::vector<int>>& groups);
  void Heal();

  Result<Entry> Append(int node, std::string_view content);

  void RunFor(TimeMs duration);
  bool RunUntil(const std::function<bool()>& pred, TimeMs max_duration);

  // Observation.
  std::vector<int> Active(int node) const;
  // Every up, joined, not-left node has a non-empty active view, and the
  // graph of active views (as undirected edges among those nodes) is connected.
  bool OverlayConnected() const;
  // Number of directed active-view edges whose reverse is missing.
  int AsymmetricEdges() const;
  // Nodes (up, not left, not `except`) whose view of `subject` is `state`.
  int CountState(int subject, replication::MemberState state) const;
  int UpCount() const;

  // Every event effect of every node.
  std::function<void(int node, const replication::MembershipEffect&)> on_event;

 private:
  struct Node;
  void Schedule(TimeMs at, std::function<void()> fn) { events_.Schedule(at, std::move(fn)); }
  TimeMs Latency(int a = -1, int b = -1);
  TimeMs FifoAt(int from, int to);
  bool Reachable(int a, int b) const;
  bool Lost(int a, int b);
  void StartNode(int node);
  void AfterEvent(int node);
  void ScheduleTick(int node);
  void SendFrame(int from, int to, std::string frame, bool membership);
  void DoConnect(int from, int to);
  void DoDisconnect(int from, int to);
  static uint64_t Key(int a, int b);

  uint64_t seed_;
  MembershipOptions options_;
  LinkModel link_;
  bool replication_ = false;
  ReplicationOptions rep_options_;
  std::mt19937_64 rng_;
  EventQueue events_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unordered_map<FeedId, int> index_;
  std::vector<int> partition_;
  std::unordered_map<uint64_t, TimeMs> link_clear_;
  bool RemoveConnection(int a, int b) {
    conns_[b].erase(a);
    return conns_[a].erase(b) > 0;
  }
  // Drops every connection of `node`; each live peer gets OnDisconnected
  // after a latency (a reset).
  void ResetConnections(int node);
  std::vector<std::set<int>> conns_;  // open connections, per node (symmetric)
  MembershipSimStats stats_;
};

}  // namespace plumlog::sim

#endif  // PLUMLOG_TESTS_SIM_MEMBERSHIP_SIM_H_
