// A deterministic network simulator for the sans-IO replication core.
//
// Virtual time (ms) and one event queue; every random choice comes from one
// seeded generator, so a seed reproduces a run exactly (SIM_SEED=<n> in the
// environment overrides the seed of every test; failures print it).
// Links are FIFO per direction (like TCP), with a latency drawn per message
// and optional loss; partitions drop everything between groups; nodes crash
// (state lost, store kept) and restart.
#ifndef PLUMLOG_TESTS_SIM_SIMULATOR_H_
#define PLUMLOG_TESTS_SIM_SIMULATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "crypto/keypair.h"
#include "plumlog/store.h"
#include "replication/replicator.h"
#include "tests/sim/event_queue.h"

namespace plumlog::sim {

using replication::TimeMs;

struct LinkModel {
  TimeMs min_latency_ms = 1;
  TimeMs max_latency_ms = 10;
  double loss = 0.0;  // probability a message is dropped
};

struct SimStats {
  uint64_t deliveries = 0;        // frames delivered
  uint64_t dropped = 0;           // frames lost (loss, partition, dead node)
  uint64_t payload_entries = 0;   // entries carried by delivered Entries frames
  uint64_t bytes = 0;
  uint64_t events = 0;
  // Times a replicator, right after Tick(now), still had something due at or
  // before now (NextTimeout() <= now, not 0): a real driver would spin on
  // it. Must stay 0.
  uint64_t stale_timeouts = 0;
};

// Returns SIM_SEED from the environment if set, else `fallback`.
uint64_t SeedFromEnv(uint64_t fallback);

class Simulator {
 public:
  // Makes the store of a node; called again on restart only if the node has
  // none (stores survive crashes).
  using StoreFactory = std::function<std::unique_ptr<Store>(int node, const crypto::KeyPair&)>;

  Simulator(uint64_t seed, ReplicationOptions options, LinkModel link);
  ~Simulator();

  uint64_t seed() const { return seed_; }
  TimeMs now() const { return events_.now(); }
  std::mt19937_64& rng() { return rng_; }
  const SimStats& stats() const { return stats_; }
  void ResetStats() { stats_ = SimStats(); }
  LinkModel& link() { return link_; }

  // Adds `n` nodes with stores from `factory` (default: MemoryStore).
  void AddNodes(int n, StoreFactory factory = nullptr);
  int size() const { return static_cast<int>(nodes_.size()); }
  Store& store(int node);
  replication::Replicator& replicator(int node);
  const FeedId& id(int node) const;
  bool up(int node) const;
  int IndexOf(const FeedId& id) const;
  // Each node gets up to `k` random other nodes as digest targets (k<0: all).
  void SetRandomMembers(int k);
  // Like SetRandomMembers, but only up nodes get members, drawn among up nodes
  // (a membership layer that has noticed every crash).
  void SetRandomUpMembers(int k);
  // The digest members of `node` (as node indices).
  std::vector<int> Members(int node) const;
  void SetPolicy(int node, replication::ReplicationPolicy* policy);

  // Overlay.
  void Connect(int a, int b);
  void Disconnect(int a, int b);
  bool Connected(int a, int b) const;
  // Each node connects to `degree` random others (undirected; so average degree ~2x).
  void ConnectRandom(int degree);
  std::vector<int> Neighbours(int node) const;

  // Faults.
  void Partition(const std::vector<std::vector<int>>& groups);
  void Heal();
  void Crash(int node);
  void Restart(int node);

  // Drive.
  Result<Entry> Append(int node, std::string_view content);
  IngestResult Inject(int node, std::vector<Entry> entries);  // as if imported
  void RunFor(TimeMs duration);
  // Runs until pred() holds (checked after each event batch) or the deadline
  // passes; returns whether pred held.
  bool RunUntil(const std::function<bool()>& pred, TimeMs max_duration);

  // All up nodes hold the same clock, equal to the union of clocks.
  bool Converged() const;
  Clock UnionClock() const;

  // Called for every frame delivered (tests inspect traffic).
  std::function<void(int from, int to, const replication::Effect&)> on_deliver;
  // Called for every event effect of a node.
  std::function<void(int node, const replication::Effect&)> on_event;

 private:
  struct Node;
  void Schedule(TimeMs at, std::function<void()> fn) { events_.Schedule(at, std::move(fn)); }
  void AfterEvent(int node);
  void ScheduleTick(int node);
  void Deliver(int from, int to, replication::Effect effect);
  bool Reachable(int a, int b) const;
  TimeMs Latency();
  void StartNode(int node);

  uint64_t seed_;
  ReplicationOptions options_;
  LinkModel link_;
  std::mt19937_64 rng_;
  EventQueue events_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unordered_map<FeedId, int> index_;
  std::vector<int> partition_;  // group per node; empty = no partition
  std::unordered_map<uint64_t, TimeMs> link_clear_;  // FIFO: last delivery per directed link
  SimStats stats_;
};

}  // namespace plumlog::sim

#endif  // PLUMLOG_TESTS_SIM_SIMULATOR_H_
