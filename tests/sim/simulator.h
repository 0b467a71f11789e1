// The deterministic network simulator: N NodeCores (node/node_core.h), the
// very class the daemon runs, in virtual time.
//
// Every random choice comes from one seeded generator, so a seed reproduces a
// run exactly (SIM_SEED=<n> in the environment overrides the seed of every
// test; failures print it). The simulator is the nodes' driver, as
// net/node_impl.cc is over libuv: it turns its own events into NodeCore
// events and carries out their effects.
//
// Connections: a Dial reaches the other node after a latency (it gets
// ConnectionAccepted + ConnectionOpened), and the dialler learns after the
// way back (ConnectionOpened); a dial to a node that is down or cut off by
// a partition fails after a round trip. Frames travel FIFO per direction
// with a latency drawn per frame and are lost independently with the link's
// loss (global and per node: a lossy transport, standing in for drops and
// breaks); partitions drop everything between groups. A Close reaches the
// other side like a frame. A connection that hears nothing for the node's
// idle_timeout_ms is closed (kIdleTimeout), as Connection does.
//
// Nodes fail two ways: a host crash is silent (its peers hear nothing; SWIM
// or the idle timeout notices), a process crash (reset) makes the kernel
// reset its connections, so every peer holding one gets ConnectionClosed
// after a latency. A restarted node is a new NodeCore on the same store.
// Store writes are carried out at once; the answer to an Ingest comes back
// after SimOptions::ingest_delay_ms (the daemon's worker thread).
#ifndef PLUMLOG_TESTS_SIM_SIMULATOR_H_
#define PLUMLOG_TESTS_SIM_SIMULATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crypto/keypair.h"
#include "node/node_core.h"
#include "plumlog/node.h"
#include "plumlog/store.h"
#include "storage/replication_store.h"
#include "tests/sim/event_queue.h"

namespace plumlog::sim {

using replication::TimeMs;

struct LinkModel {
  TimeMs min_latency_ms = 1;
  TimeMs max_latency_ms = 10;
  double loss = 0.0;  // probability a frame is dropped
};

struct SimOptions {
  // What every node runs with (its peers list is ignored: use Connect/Join).
  NodeOptions node = NodeOptions::Test();
  // MemoryStore: verify signatures on ingest. false only for large
  // experiments where every entry is known to be honestly signed.
  bool verify_signatures = true;
  // How long an ingest takes before its answer reaches the core.
  TimeMs ingest_delay_ms = 0;

  // Replication over a fixed overlay (Connect), no membership protocol.
  static SimOptions Replication(const ReplicationOptions& r) {
    SimOptions o;
    o.node.membership = false;
    o.node.replication = r;
    return o;
  }
  // The membership protocol (and a replicator over its views).
  static SimOptions Membership(
      const MembershipOptions& m,
      const ReplicationOptions& r = ReplicationOptions::Test()) {
    SimOptions o;
    o.node.membership = true;
    o.node.membership_options = m;
    o.node.replication = r;
    return o;
  }
};

struct SimStats {
  uint64_t deliveries = 0;  // frames delivered
  uint64_t dropped =
      0;  // frames lost (loss, partition, dead node, closed connection)
  uint64_t payload_entries = 0;  // entries carried by delivered Entries frames
  uint64_t bytes = 0;
  uint64_t events = 0;
  uint64_t membership_frames = 0;  // delivered
  uint64_t membership_bytes = 0;
  uint64_t replication_frames = 0;
  uint64_t dials = 0;
  uint64_t core_events = 0;  // NodeCore::Handle calls
  std::map<uint8_t, uint64_t>
      by_type;  // delivered frames per message type (first element)
  // Times a core, right after Tick(now), still had something due at or
  // before now that is not a push backlog: a real driver would spin on it.
  // Must stay 0.
  uint64_t stale_timeouts = 0;
};

// A frame as it was delivered (tests inspect traffic).
struct Delivery {
  int from = -1;
  int to = -1;
  std::string_view frame;
  uint8_t type = 0;    // the message type byte (frame[1]), 0 if none
  size_t entries = 0;  // entries, for an Entries frame
};

// Returns SIM_SEED from the environment if set, else `fallback`.
uint64_t SeedFromEnv(uint64_t fallback);

class Simulator {
 public:
  // Makes the store of a node; called again on restart only if the node has
  // none (stores survive crashes). Must return a ReplicationStore (a
  // MemoryStore, or what Store::Open returns).
  using StoreFactory =
      std::function<std::unique_ptr<Store>(int node, const crypto::KeyPair&)>;

  Simulator(uint64_t seed, SimOptions options, LinkModel link);
  ~Simulator();

  uint64_t seed() const { return seed_; }
  TimeMs now() const { return events_.now(); }
  std::mt19937_64& rng() { return rng_; }
  const SimStats& stats() const { return stats_; }
  void ResetStats() { stats_ = SimStats(); }
  LinkModel& link() { return link_; }
  const SimOptions& options() const { return options_; }

  // Adds `n` nodes with stores from `factory` (default: MemoryStore). They
  // start at once (no connections yet).
  void AddNodes(int n, StoreFactory factory = nullptr);
  int size() const { return static_cast<int>(nodes_.size()); }
  Store& store(int node);
  node::NodeCore& core(int node);
  replication::Replicator& replicator(int node);
  replication::Membership& membership(int node);
  const FeedId& id(int node) const;
  // "10.A.B.1:<node + 1>" (A.B: the index; every node its own /24): what
  // the nodes dial and what a connection from it shows.
  static std::string AddressOf(int node);
  static std::string HostOf(int node);
  // The node listening at `address`, or -1.
  int NodeAt(const std::string& address) const;
  bool up(int node) const;
  int IndexOf(const FeedId& id) const;

  // A NodeCore command for `node` (its verdict).
  Status Command(int node, node::Event command);

  // ---- overlay without membership ----
  // `a` keeps a connection to `b` (AddPeer: redialled after failures);
  // both replicate over it.
  void Connect(int a, int b);
  void Disconnect(int a, int b);
  bool Connected(int a, int b) const;  // an overlay link (Connect)
  // Each node connects to `degree` random others (so average degree ~2x).
  void ConnectRandom(int degree);
  std::vector<int> Neighbours(int node) const;  // overlay links
  // Each node sends digests to one of up to `k` random other nodes (k < 0:
  // all): SetMembers, dialled when not connected.
  void SetRandomMembers(int k);
  // The same among up nodes only (a membership layer that noticed every crash).
  void SetRandomUpMembers(int k);
  std::vector<int> Members(int node) const;

  // ---- membership ----
  // Starts `node`'s membership, joining through `contacts` (no kept
  // connections).
  void Join(int node, const std::vector<int>& contacts);
  void Leave(int node);
  std::vector<int> Active(int node) const;
  // Every up, joined, not-left node has a non-empty active view, and the
  // graph of active views (undirected edges among those nodes) is connected.
  bool OverlayConnected() const;
  // Directed active-view edges (from, to) of up, not-left nodes whose
  // reverse is missing (or whose target is down or unknown, to = -1).
  std::vector<std::pair<int, int>> AsymmetricEdges() const;
  // Up, joined, not-left nodes (other than `subject`) that see `subject` in
  // `state`.
  int CountState(int subject, replication::MemberState state) const;
  int UpCount() const;

  // ---- faults ----
  void Partition(const std::vector<std::vector<int>>& groups);
  void Heal();
  // reset = false: the host vanishes silently; true: only the process dies
  // and its connections are reset.
  void Crash(int node, bool reset = true);
  // A new core on the node's store; it redials its overlay links, and joins
  // through `contacts` if given (else the ones it last joined through).
  void Restart(int node);
  void Restart(int node, const std::vector<int>& contacts);
  // Extra loss on every frame to or from `node` (a slow or flaky host).
  void SetNodeLoss(int node, double loss);
  // Every frame to or from `node` takes [min, max] ms (a slow host).
  void SetNodeLatency(int node, TimeMs min_ms, TimeMs max_ms);

  // ---- traffic ----
  Result<Entry> Append(int node, std::string_view content);
  IngestResult Inject(int node, std::vector<Entry> entries);  // as if imported
  // A hostile peer: `from` sends `frame` to `to` on their open connection
  // (false if there is none).
  bool InjectFrame(int from, int to, std::string frame);
  // Open connections between a and b, counted on a's side.
  int ConnectionsBetween(int a, int b) const;

  void RunFor(TimeMs duration);
  // Runs until pred() holds (checked after each event batch) or the deadline
  // passes; returns whether pred held.
  bool RunUntil(const std::function<bool()>& pred, TimeMs max_duration);

  // All up nodes hold the same clock, equal to the union of clocks.
  bool Converged() const;
  Clock UnionClock() const;

  // Every frame delivered.
  std::function<void(const Delivery&)> on_deliver;
  // Every report of a core (logs, member events, replication events).
  std::function<void(int node, const node::Report&)> on_report;

 private:
  struct Node;
  struct Link;
  struct Tap;

  void Schedule(TimeMs at, std::function<void()> fn) {
    events_.Schedule(at, std::move(fn));
  }
  void StartNode(int node);
  // Hands `event` to the node's core and carries out its effects (and the
  // events they raise) until it is quiet.
  // Returns the verdict on `event` (for a command).
  Status Post(int node, node::Event event);
  void Execute(int node, node::Effect& effect);
  void ScheduleTick(int node, TimeMs at);
  void DoDial(int node, const node::Dial& d);
  void SendFrame(int node, node::ConnId conn, std::string frame);
  void CloseLink(int node, node::ConnId conn, bool reset);
  void WatchIdle(int node, node::ConnId conn, TimeMs at);
  void DropLinksOf(int node, bool reset);
  TimeMs Latency(int a = -1, int b = -1);
  TimeMs FifoAt(int from, int to);
  bool Reachable(int a, int b) const;
  bool Lost(int a, int b);
  std::vector<int> RandomOthers(int node, const std::vector<int>& pool, int k);

  uint64_t seed_;
  SimOptions options_;
  LinkModel link_;
  std::mt19937_64 rng_;
  EventQueue events_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unordered_map<FeedId, int> index_;
  std::vector<int> partition_;  // group per node; empty = no partition
  std::unordered_map<uint64_t, TimeMs>
      link_clear_;  // FIFO: last delivery per directed pair
  // Connections: both ends, by (node, its ConnId).
  std::map<std::pair<int, node::ConnId>, std::shared_ptr<Link>> links_;
  std::set<std::pair<int, int>> overlay_;  // Connect(a, b): (a, b)
  std::vector<std::set<int>> adjacent_;    // overlay links per node, both ways
  SimStats stats_;
};

}  // namespace plumlog::sim

#endif  // PLUMLOG_TESTS_SIM_SIMULATOR_H_
