// Replication experiments in the deterministic simulator (docs/replication.md).
//
//   replication_experiments [--experiment all|gossip|digest|speed] [--seed N]
//                           [--quick] [--nodes 1000,10000] [--runs 20]
//                           [--digests] [--out DIR]
//                           [--mode plumtree|flood|both] [--crash 0,20,...]
//                           [--variant 0,1,2] [--graft-stagger MS]
//
// gossip: plumtree vs flooding on one random overlay: RMR, last delivery hop
//         and reliability, stable and after 20..80 % of the nodes crash.
// digest: repair rounds alone: share of 50 nodes holding one entry after each
//         round at 0/10/30/50 % message loss.
//
// Repair rounds are reconciliation sessions (ReplicationOptions::reconcile,
// the default) or, with --digests, bimodal-multicast digests. --mode,
// --crash (0 = the stable row) and --variant select rows of experiment 1
// (no plots are written then); each crash row prints where the duplicate
// copies of its entry came from. --graft-stagger overrides
// ReplicationOptions::graft_stagger_ms in experiment 1 (0: the timers before
// the stagger existed).
// speed:  wall-clock speed of the simulator on the 10,000-node plumtree run.
//
// Tables go to stdout, plots (SVG) to DIR (default: docs/img of the source
// tree). Every run prints its seed; the same seed reproduces it exactly.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench/svg_plot.h"
#include "replication/message.h"
#include "storage/memory_store.h"
#include "tests/sim/simulator.h"

#ifndef PLUMLOG_SOURCE_DIR
#define PLUMLOG_SOURCE_DIR "."
#endif

namespace plumlog::bench {
namespace {

using replication::TimeMs;
using sim::LinkModel;
using sim::Simulator;

struct Flags {
  std::string experiment = "all";
  uint64_t seed = 1;
  bool quick = false;
  std::vector<int> nodes;  // empty: default per mode
  int runs = 20;
  // Repair rounds as bimodal-multicast digests (ReplicationOptions::reconcile
  // = false) instead of range-based reconciliation sessions (the default).
  bool digests = false;
  // Experiment 1 only: restrict the runs (empty: all).
  std::vector<int> crashes;   // crash percentages; 0 = the stable row
  std::vector<int> variants;  // 0: t0-0, 1: t0-100, 2: t0-0+m
  std::string mode = "both";  // plumtree|flood|both
  std::string out = std::string(PLUMLOG_SOURCE_DIR) + "/docs/img";
};

// Concatenation by append (GCC 12 reports a false -Wrestrict on some inlined
// `"literal" + std::string` chains).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// MemoryStores that skip signature checks (every entry here is honestly signed).
Simulator::StoreFactory FastStores() {
  return [](int, const crypto::KeyPair& key) -> std::unique_ptr<Store> {
    storage::MemoryStoreOptions o;
    o.verify_signatures = false;
    return std::make_unique<storage::MemoryStore>(key, o);
  };
}

// Speed counters over a whole program run (experiment 3).
struct SpeedLog {
  double wall = 0;
  uint64_t deliveries = 0;
  uint64_t events = 0;
  TimeMs virtual_ms = 0;
};

// Where the copies of an entry beyond each node's first came from, told apart
// by the Entries frame's repair flag and by whether the sender was the
// receiver's eager source for the feed when the frame arrived.
struct DupCounts {
  uint64_t repair = 0;           // a repair frame (answer to a round or a want)
  uint64_t push_from_eager = 0;  // pushed by the receiver's eager source (a graft's answer, or
                                 // the eager push after another copy came first)
  uint64_t push_from_other = 0;  // pushed by a peer the receiver no longer takes as eager
                                 // (it grafted elsewhere meanwhile, or made it lazy)
  uint64_t late = 0;             // of all three: arrived at or after t0 + graft_timeout_ms
  uint64_t first_was_repair = 0; // of all three: the receiver's first copy was a repair frame
  uint64_t close = 0;            // of all three: within kRace ms of the receiver's first copy
  // Three link latencies (LinkModel 1..10 ms): a copy this close to the first
  // was on its way before the receiver could have told its sender anything.
  static constexpr TimeMs kRace = 30;
  uint64_t total() const { return repair + push_from_eager + push_from_other; }
  void Add(const DupCounts& o) {
    repair += o.repair;
    push_from_eager += o.push_from_eager;
    push_from_other += o.push_from_other;
    late += o.late;
    first_was_repair += o.first_was_repair;
    close += o.close;
  }
};

// ---------------------------------------------------------------------------
// Tracker: follows one entry of node 0's feed through the network via
// Simulator::on_deliver. The hop at which a node got the entry is the Entries
// frame's `hops` (the sender's distance to the author) + 1.
class Tracker {
 public:
  // Duplicates at or after t0 + this count as "late" (the repair window:
  // ReplicationOptions::Lan().graft_timeout_ms).
  static constexpr TimeMs kRepairWindow = 1000;

  explicit Tracker(Simulator& sim)
      : sim_(sim),
        hop_(sim.size(), -1),
        first_by_repair_(sim.size(), 0),
        first_time_(sim.size(), 0) {
    author_ = sim.id(0);
    sim.on_deliver = [this](const sim::Delivery& d) { OnDeliver(d); };
  }
  ~Tracker() { sim_.on_deliver = nullptr; }

  void Start(uint64_t seq) {
    seq_ = seq;
    std::fill(hop_.begin(), hop_.end(), -1);
    std::fill(first_by_repair_.begin(), first_by_repair_.end(), 0);
    hop_[0] = 0;
    reached_ = 1;
    payload_ = 0;
    repair_payload_ = 0;
    reached_by_repair_ = 0;
    dups_ = DupCounts();
    t0_ = sim_.now();
    first_time_[0] = t0_;
    last_first_delivery_ = t0_;
  }

  int reached() const { return reached_; }
  uint64_t payload() const { return payload_; }
  uint64_t repair_payload() const { return repair_payload_; }
  int reached_by_repair() const { return reached_by_repair_; }
  // Copies beyond each node's first, by kind (see DupCounts).
  const DupCounts& dups() const { return dups_; }
  int hop(int node) const { return hop_[node]; }
  int MaxHop() const { return *std::max_element(hop_.begin(), hop_.end()); }
  TimeMs last_first_delivery() const { return last_first_delivery_ - t0_; }

  // Up nodes whose store holds the entry (the authoritative count).
  int CountHolders() const {
    int n = 0;
    for (int i = 0; i < sim_.size(); ++i) {
      if (sim_.up(i) && sim_.store(i).Get(author_, seq_).ok()) ++n;
    }
    return n;
  }

 private:
  void OnDeliver(const sim::Delivery& d) {
    if (seq_ == 0 || d.entries == 0) return;
    const int to = d.to;
    Result<replication::Message> m = replication::DecodeMessage(d.frame);
    if (!m.ok()) return;
    const auto& em = std::get<replication::EntriesMessage>(*m);
    for (const Entry& en : em.entries) {
      if (en.seq() != seq_ || en.author() != author_) continue;
      ++payload_;
      if (em.repair) ++repair_payload_;
      if (hop_[to] >= 0) {
        // A duplicate. on_deliver runs before the receiver handles the
        // frame, so EagerSource is the receiver's choice as it arrives.
        const std::optional<FeedId> eager = sim_.replicator(to).EagerSource(author_);
        const bool from_eager = eager && sim_.IndexOf(*eager) == d.from;
        const bool late = sim_.now() - t0_ >= kRepairWindow;
        if (em.repair) {
          ++dups_.repair;
        } else if (from_eager) {
          ++dups_.push_from_eager;
        } else {
          ++dups_.push_from_other;
        }
        dups_.late += late;
        if (first_by_repair_[to]) ++dups_.first_was_repair;
        if (sim_.now() - first_time_[to] <= DupCounts::kRace) ++dups_.close;
      }
      if (hop_[to] < 0) {
        first_by_repair_[to] = em.repair;
        first_time_[to] = sim_.now();
        hop_[to] = static_cast<int>(em.hops) + 1;
        ++reached_;
        last_first_delivery_ = sim_.now();
        if (em.repair) ++reached_by_repair_;
      }
    }
  }

  Simulator& sim_;
  FeedId author_;
  uint64_t seq_ = 0;
  std::vector<int> hop_;
  std::vector<char> first_by_repair_;  // the node's first copy was a repair frame
  std::vector<TimeMs> first_time_;     // when the node's first copy arrived
  DupCounts dups_;
  int reached_ = 0;
  uint64_t payload_ = 0;
  uint64_t repair_payload_ = 0;
  int reached_by_repair_ = 0;
  TimeMs t0_ = 0;
  TimeMs last_first_delivery_ = 0;
};

// ---------------------------------------------------------------------------
// Experiment 1: plumtree vs flooding.

struct GossipSetup {
  int nodes = 1000;
  bool flood = false;
  uint64_t seed = 1;
  int warmup = 5;
  int measured = 10;
  bool reconcile = true;  // repair rounds: reconciliation (true) or digests
};

// --graft-stagger (-1: the preset's).
int64_t graft_stagger_flag = -1;

ReplicationOptions GossipOptions(bool flood, bool reconcile = true) {
  ReplicationOptions o = ReplicationOptions::Lan();
  o.flood = flood;
  o.reconcile = reconcile;
  if (graft_stagger_flag >= 0) o.graft_stagger_ms = graft_stagger_flag;
  return o;
}
constexpr LinkModel kGossipLink{1, 10, 0.0};

// The daemon's LAN node (NodeOptions::Lan(): idle timeout, redial backoff,
// connection limit) without the membership protocol, replicating with `r`.
sim::SimOptions SimOptionsFor(const ReplicationOptions& r) {
  sim::SimOptions o = sim::SimOptions::Replication(r);
  NodeOptions lan = NodeOptions::Lan();
  lan.membership = false;
  lan.replication = r;
  o.node = lan;
  return o;
}
constexpr int kOverlayDegree = 3;   // ConnectRandom(3): average degree ~6
constexpr int kDigestMembers = 10;  // SetRandomMembers(10)

struct EntryStats {
  int alive = 0;
  int holders_before = 0;   // at t0 + graft_timeout_ms - 1
  int holders_after = 0;    // at the end
  int bound = 0;            // alive nodes connected to the author at all
  double rmr = 0;
  int ldh = 0;              // last delivery hop (all deliveries)
  TimeMs push_end = 0;      // last first-delivery before the repair window, ms after append
  TimeMs time_all = -1;     // ms after append until the last reachable node had it
  uint64_t payload = 0;
  uint64_t repair_payload = 0;
  int reached_by_repair = 0;
  // At the "before repair" instant: alive nodes lacking the entry with an
  // alive overlay neighbour that holds it, and how many of those have an
  // alive eager source for the feed that lacks it too (they wait for the
  // plumtree IHAVE timer, graft_timeout_ms).
  int frontier = 0;
  int frontier_waiting = 0;
  DupCounts dups;
  uint64_t grafts = 0;  // grafts by alive nodes, t0 to the end (every feed)
};

struct GossipRow {
  int nodes = 0;
  bool flood = false;
  int crash_pct = 0;
  TimeMs crash_delay = 0;  // crash this long before the append
  bool refreshed = false;  // digest members redrawn among alive nodes at the crash
  double avg_degree = 0;
  // Stable: aggregated over the measured entries.
  int entries = 1;
  double rel_before = 0, rel_after = 0;  // fractions of alive nodes
  double rmr = 0, rmr_max = 0;
  double ldh = 0;
  int ldh_max = 0;
  double push_end = 0;
  double time_all = 0;
  int alive = 0, bound = 0, missed = 0;
  int frontier = 0, frontier_waiting = 0;
  DupCounts dups;
  uint64_t grafts = 0;
  uint64_t payload = 0, repair_payload = 0;
  int reached_by_repair = 0;
  double wall = 0;
  uint64_t deliveries = 0, events = 0;
  TimeMs virtual_ms = 0;
};

std::unique_ptr<Simulator> BuildGossipSim(const GossipSetup& s) {
  auto sim = std::make_unique<Simulator>(s.seed, SimOptionsFor(GossipOptions(s.flood, s.reconcile)),
                                         kGossipLink);
  sim->AddNodes(s.nodes, FastStores());
  sim->ConnectRandom(kOverlayDegree);
  sim->SetRandomMembers(kDigestMembers);
  sim->RunFor(100);  // initial notes
  return sim;
}

double AverageDegree(const Simulator& sim) {
  size_t sum = 0;
  for (int i = 0; i < sim.size(); ++i) sum += sim.Neighbours(i).size();
  return static_cast<double>(sum) / sim.size();
}

// Alive nodes connected to node 0 through alive overlay links or digest
// member links (either direction: a digest can be answered). No message can
// ever reach the others: this bounds reliability for any protocol here.
int ReachableBound(const Simulator& sim, std::vector<char>* reachable_out = nullptr) {
  const int n = sim.size();
  std::vector<std::vector<int>> adj(n);
  for (int i = 0; i < n; ++i) {
    if (!sim.up(i)) continue;
    for (int j : sim.Neighbours(i)) {
      if (sim.up(j)) adj[i].push_back(j);
    }
    for (int j : sim.Members(i)) {
      if (j >= 0 && sim.up(j)) {
        adj[i].push_back(j);
        adj[j].push_back(i);
      }
    }
  }
  std::vector<char> seen(n, 0);
  std::vector<int> stack{0};
  seen[0] = 1;
  int count = 1;
  while (!stack.empty()) {
    int v = stack.back();
    stack.pop_back();
    for (int w : adj[v]) {
      if (!seen[w]) {
        seen[w] = 1;
        ++count;
        stack.push_back(w);
      }
    }
  }
  if (reachable_out) *reachable_out = std::move(seen);
  return count;
}

int CountUp(const Simulator& sim) {
  int n = 0;
  for (int i = 0; i < sim.size(); ++i) n += sim.up(i);
  return n;
}

// Appends one entry at node 0 and follows it: "before repair" at
// t0 + graft_timeout_ms - 1 (nothing timer-driven can act earlier: grafts wait
// graft_timeout_ms after an announcement, digest gaps wait graft_timeout_ms
// before a want, and digest answers only carry entries held graft_timeout_ms),
// "after repair" when every node that can be reached has it (or after
// `repair_cap` ms), then `settle` ms more so late duplicates are counted.
EntryStats BroadcastOne(Simulator& sim, Tracker& tracker, uint64_t seq, TimeMs repair_cap,
                        TimeMs settle) {
  const ReplicationOptions opts = GossipOptions(false);
  EntryStats st;
  st.alive = CountUp(sim);
  st.bound = ReachableBound(sim);
  auto grafts = [&] {
    uint64_t n = 0;
    for (int i = 0; i < sim.size(); ++i) {
      if (sim.up(i)) n += sim.replicator(i).stats().grafts;
    }
    return n;
  };
  const uint64_t grafts0 = grafts();
  const TimeMs t0 = sim.now();
  Result<Entry> e = sim.Append(0, TextContent(Cat("entry ", std::to_string(seq))));
  if (!e.ok() || e->seq() != seq) {
    std::fprintf(stderr, "append failed\n");
    std::exit(1);
  }
  tracker.Start(seq);
  sim.RunUntil([&] { return tracker.reached() >= st.alive; }, opts.graft_timeout_ms - 1);
  st.holders_before = tracker.CountHolders();
  st.push_end = tracker.last_first_delivery();
  {
    const FeedId& author = sim.id(0);
    auto has = [&](int i) { return sim.up(i) && sim.store(i).Get(author, seq).ok(); };
    for (int i = 0; i < sim.size(); ++i) {
      if (!sim.up(i) || has(i)) continue;
      bool nb = false;
      for (int j : sim.Neighbours(i)) nb = nb || has(j);
      if (!nb) continue;
      ++st.frontier;
      std::optional<FeedId> eager = sim.replicator(i).EagerSource(author);
      const int src = eager ? sim.IndexOf(*eager) : -1;
      if (src >= 0 && sim.up(src) && !has(src)) ++st.frontier_waiting;
    }
  }
  if (st.holders_before != tracker.reached()) {
    std::fprintf(stderr, "warning: tracker saw %d, stores hold %d\n", tracker.reached(),
                 st.holders_before);
  }
  const bool done = sim.RunUntil([&] { return tracker.reached() >= st.bound; },
                                 repair_cap - (sim.now() - t0));
  if (done) st.time_all = tracker.last_first_delivery();
  sim.RunFor(settle);
  st.holders_after = tracker.CountHolders();
  st.payload = tracker.payload();
  st.repair_payload = tracker.repair_payload();
  st.reached_by_repair = tracker.reached_by_repair();
  st.dups = tracker.dups();
  st.grafts = grafts() - grafts0;
  st.rmr = st.holders_after > 1
               ? static_cast<double>(st.payload) / (st.holders_after - 1) - 1
               : 0;
  st.ldh = tracker.MaxHop();
  return st;
}

void Warmup(Simulator& sim, Tracker& tracker, int count, uint64_t* seq) {
  const ReplicationOptions opts = GossipOptions(false);
  for (int k = 0; k < count; ++k) {
    ++*seq;
    BroadcastOne(sim, tracker, *seq, 30'000, opts.graft_timeout_ms + 100);
  }
}

void Accumulate(GossipRow& row, const Simulator& sim, double wall) {
  row.wall = wall;
  row.deliveries = sim.stats().deliveries;
  row.events = sim.stats().events;
  row.virtual_ms = sim.now();
}

GossipRow RunStable(const GossipSetup& s) {
  const double w0 = Now();
  auto sim = BuildGossipSim(s);
  Tracker tracker(*sim);
  uint64_t seq = 0;
  Warmup(*sim, tracker, s.warmup, &seq);
  GossipRow row;
  row.nodes = s.nodes;
  row.flood = s.flood;
  row.avg_degree = AverageDegree(*sim);
  row.entries = s.measured;
  row.rel_before = 1;
  row.rel_after = 1;
  double rmr_sum = 0, ldh_sum = 0, push_end_sum = 0, time_all_sum = 0;
  for (int k = 0; k < s.measured; ++k) {
    EntryStats st = BroadcastOne(*sim, tracker, ++seq, 30'000, 2'000);
    row.alive = st.alive;
    row.bound = st.bound;
    row.rel_before = std::min(row.rel_before, double(st.holders_before) / st.alive);
    row.rel_after = std::min(row.rel_after, double(st.holders_after) / st.alive);
    row.missed = std::max(row.missed, st.alive - st.holders_after);
    rmr_sum += st.rmr;
    row.rmr_max = std::max(row.rmr_max, st.rmr);
    ldh_sum += st.ldh;
    row.ldh_max = std::max(row.ldh_max, st.ldh);
    push_end_sum += st.push_end;
    time_all_sum += st.time_all;
    row.payload += st.payload;
    row.repair_payload += st.repair_payload;
    row.reached_by_repair += st.reached_by_repair;
    row.dups.Add(st.dups);
    row.grafts += st.grafts;
  }
  row.rmr = rmr_sum / s.measured;
  row.ldh = ldh_sum / s.measured;
  row.push_end = push_end_sum / s.measured;
  row.time_all = time_all_sum / s.measured;
  Accumulate(row, *sim, Now() - w0);
  return row;
}

// Describes up to `limit` alive nodes that lack the entry after repair.
void DescribeMissed(Simulator& sim, uint64_t seq, int limit) {
  std::vector<char> reachable;
  ReachableBound(sim, &reachable);
  std::vector<int> in_members(sim.size(), 0);
  for (int i = 0; i < sim.size(); ++i) {
    if (!sim.up(i)) continue;
    for (int j : sim.Members(i)) {
      if (j >= 0) ++in_members[j];
    }
  }
  int shown = 0;
  for (int i = 0; i < sim.size() && shown < limit; ++i) {
    if (!sim.up(i) || sim.store(i).Get(sim.id(0), seq).ok()) continue;
    int alive_nb = 0, alive_members = 0;
    for (int j : sim.Neighbours(i)) alive_nb += sim.up(j);
    for (int j : sim.Members(i)) alive_members += j >= 0 && sim.up(j);
    std::printf("    missed node %d: alive neighbours %d, alive members %d, listed by %d alive "
                "nodes, connected to the author: %s\n",
                i, alive_nb, alive_members, in_members[i], reachable[i] ? "yes" : "no");
    ++shown;
  }
}

// Crashes crash_pct % of the nodes (never the author) at once, then appends at
// node 0 `delay` ms later. delay 0: the broadcast meets a tree whose broken
// links nobody has noticed yet (neighbours see a crashed connection drop
// 1..10 ms later, Simulator::Crash). delay 100: every drop has been seen.
// refresh: at the crash, every alive node's digest members are redrawn among
// alive nodes (a membership layer that noticed the crashes at once; the
// overlay links stay as they are).
GossipRow RunCrash(const GossipSetup& s, int crash_pct, TimeMs delay, bool refresh,
                   bool verbose) {
  const double w0 = Now();
  auto sim = BuildGossipSim(s);
  Tracker tracker(*sim);
  uint64_t seq = 0;
  Warmup(*sim, tracker, s.warmup, &seq);
  std::mt19937_64 rng(s.seed * 7919 + crash_pct);
  std::vector<int> others(s.nodes - 1);
  std::iota(others.begin(), others.end(), 1);
  std::shuffle(others.begin(), others.end(), rng);
  const int crash = static_cast<int>(std::lround(crash_pct / 100.0 * s.nodes));
  for (int k = 0; k < crash && k < static_cast<int>(others.size()); ++k) sim->Crash(others[k]);
  if (refresh) sim->SetRandomUpMembers(kDigestMembers);
  if (delay > 0) sim->RunFor(delay);
  EntryStats st = BroadcastOne(*sim, tracker, ++seq, 120'000, 2'000);
  GossipRow row;
  row.nodes = s.nodes;
  row.flood = s.flood;
  row.crash_pct = crash_pct;
  row.crash_delay = delay;
  row.refreshed = refresh;
  row.avg_degree = AverageDegree(*sim);
  row.alive = st.alive;
  row.bound = st.bound;
  row.rel_before = double(st.holders_before) / st.alive;
  row.rel_after = double(st.holders_after) / st.alive;
  row.missed = st.alive - st.holders_after;
  row.rmr = row.rmr_max = st.rmr;
  row.ldh = row.ldh_max = st.ldh;
  row.push_end = static_cast<double>(st.push_end);
  row.time_all = static_cast<double>(st.time_all);
  row.payload = st.payload;
  row.repair_payload = st.repair_payload;
  row.reached_by_repair = st.reached_by_repair;
  row.frontier = st.frontier;
  row.frontier_waiting = st.frontier_waiting;
  row.dups = st.dups;
  row.grafts = st.grafts;
  if (verbose && row.missed > 0) DescribeMissed(*sim, seq, 10);
  Accumulate(row, *sim, Now() - w0);
  return row;
}

void PrintGossipHeader() {
  std::printf(
      "%-8s %6s %6s %7s %6s %9s %9s %7s %7s %6s %5s %7s %8s %8s %7s\n", "mode", "nodes",
      "crash", "at", "alive", "rel.pre", "rel.post", "bound", "RMR", "LDH", "maxLDH", "pre_ms",
      "all_ms", "repaired", "wall_s");
}

void PrintGossipRow(const GossipRow& r) {
  char at[16];
  if (r.crash_pct == 0) {
    std::snprintf(at, sizeof(at), "-");
  } else {
    std::snprintf(at, sizeof(at), "t0-%lld%s", static_cast<long long>(r.crash_delay),
                  r.refreshed ? "+m" : "");
  }
  std::printf(
      "%-8s %6d %5d%% %7s %6d %8.2f%% %8.2f%% %7d %7.3f %6.1f %5d %7.0f %8.0f %8d %7.1f\n",
      r.flood ? "flood" : "plumtree", r.nodes, r.crash_pct, at, r.alive, 100 * r.rel_before,
      100 * r.rel_after, r.bound, r.rmr, r.ldh, r.ldh_max, r.push_end, r.time_all,
      r.reached_by_repair, r.wall);
  const DupCounts& d = r.dups;
  std::printf("    payload %llu, duplicates %llu: repair %llu, push from the eager source %llu, "
              "push from another peer %llu (late %llu, after a first copy by repair %llu, "
              "within %lld ms of the first copy %llu); grafts %llu\n",
              static_cast<unsigned long long>(r.payload),
              static_cast<unsigned long long>(d.total()),
              static_cast<unsigned long long>(d.repair),
              static_cast<unsigned long long>(d.push_from_eager),
              static_cast<unsigned long long>(d.push_from_other),
              static_cast<unsigned long long>(d.late),
              static_cast<unsigned long long>(d.first_was_repair),
              static_cast<long long>(DupCounts::kRace), static_cast<unsigned long long>(d.close),
              static_cast<unsigned long long>(r.grafts));
  std::fflush(stdout);
}

void RunGossip(const Flags& f, SpeedLog* speed) {
  std::vector<int> sizes = f.nodes;
  if (sizes.empty()) sizes = f.quick ? std::vector<int>{1000} : std::vector<int>{1000, 10000};
  const std::vector<int> all_crashes = {20, 40, 60, 80};
  auto wanted = [](const std::vector<int>& only, int x) {
    return only.empty() || std::find(only.begin(), only.end(), x) != only.end();
  };
  const ReplicationOptions o = GossipOptions(false, !f.digests);
  std::printf(
      "\n== Experiment 1: plumtree vs flooding (seed %llu) "
      "==\nReplicationOptions::Lan() (graft_timeout %lld ms, graft_stagger "
      "%lld ms, graft_retry %lld ms, digest every %lld ms, optimize_hops %u); "
      "links %lld..%lld ms, no loss;\noverlay ConnectRandom(%d), "
      "SetRandomMembers(%d); author node 0; MemoryStore without signature "
      "checks.\ncrash: share of nodes crashed at once at t0-at ms (t0 = "
      "append; 0: unnoticed, 100: every neighbour has seen the drop;\n+m: "
      "digest members redrawn among alive nodes at the crash).\nrel.pre = "
      "share of alive nodes holding the entry at t0+%lld ms (before any graft "
      "or digest timer can act); rel.post = after repair;\nbound = alive nodes "
      "connected to the author by alive overlay or member links; RMR = "
      "payload/(holders-1)-1; LDH = last delivery hop (stable: mean, and max "
      "over entries);\nrepair rounds: %s;\npre_ms / all_ms = last first "
      "delivery before the repair window / overall (ms after append; -1: some "
      "reachable node never got it); repaired = nodes first reached by a "
      "repair frame (digest or want answer).\n",
      static_cast<unsigned long long>(f.seed),
      static_cast<long long>(o.graft_timeout_ms),
      static_cast<long long>(o.graft_stagger_ms),
      static_cast<long long>(o.graft_retry_ms),
      static_cast<long long>(o.digest_interval_ms), o.optimize_hops,
      static_cast<long long>(kGossipLink.min_latency_ms),
      static_cast<long long>(kGossipLink.max_latency_ms), kOverlayDegree,
      kDigestMembers, static_cast<long long>(o.graft_timeout_ms - 1),
      o.reconcile ? "range-based reconciliation (reconcile = true)"
                  : "bimodal-multicast digests (reconcile = false)");
  // (nodes, flood) -> stable row, then crash rows for each delay.
  std::map<std::pair<int, bool>, std::vector<GossipRow>> rows;
  for (int n : sizes) {
    for (bool flood : {false, true}) {
      if (f.mode != "both" && (f.mode == "flood") != flood) continue;
      GossipSetup s;
      s.nodes = n;
      s.flood = flood;
      s.seed = f.seed;
      s.warmup = f.quick ? 3 : 5;
      s.measured = f.quick ? 5 : 10;
      s.reconcile = !f.digests;
      PrintGossipHeader();
      GossipRow stable;
      if (wanted(f.crashes, 0)) {
        stable = RunStable(s);
        PrintGossipRow(stable);
        rows[{n, flood}].push_back(stable);
      }
      if (speed && n == 10000 && !flood && stable.wall > 0) {
        speed->wall = stable.wall;
        speed->deliveries = stable.deliveries;
        speed->events = stable.events;
        speed->virtual_ms = stable.virtual_ms;
      }
      for (int variant = 0; variant < 3; ++variant) {
        if (!wanted(f.variants, variant)) continue;
        const TimeMs d = variant == 1 ? 100 : 0;
        const bool refresh = variant == 2;
        for (int c : all_crashes) {
          if (!wanted(f.crashes, c)) continue;
          GossipRow r = RunCrash(s, c, d, refresh, /*verbose=*/true);
          PrintGossipRow(r);
          std::printf("    at t0+%lld ms: %d alive nodes lack it but have a neighbour holding "
                      "it; %d of them wait on an alive eager source that lacks it too\n",
                      static_cast<long long>(o.graft_timeout_ms - 1), r.frontier,
                      r.frontier_waiting);
          rows[{n, flood}].push_back(r);
        }
      }
      if (stable.wall == 0) continue;  // no stable row in this selection
      std::printf("  (average overlay degree %.2f; stable row: %d entries after %d warm-up "
                  "entries, payload %llu of which repair %llu)\n",
                  stable.avg_degree, stable.entries, s.warmup,
                  static_cast<unsigned long long>(stable.payload),
                  static_cast<unsigned long long>(stable.repair_payload));
    }
  }
  if (!f.crashes.empty() || !f.variants.empty() || f.mode != "both") {
    std::printf("(a selection of rows: no plots written)\n");
    return;
  }
  // The series of one (nodes, mode, delay): the stable row at 0 %, then crashes.
  auto series_of = [&](int n, bool flood, TimeMs delay) {
    std::vector<GossipRow> out;
    for (const GossipRow& r : rows[{n, flood}]) {
      if (r.crash_pct == 0 || (r.crash_delay == delay && !r.refreshed)) out.push_back(r);
    }
    return out;
  };
  // Names built with append(): GCC 12 warns (-Wrestrict, a false positive) on
  // operator+ chains here.
  auto name = [](bool flood, const char* rest) {
    std::string out = flood ? "flooding" : "plumtree";
    out.append(rest);
    return out;
  };
  for (int n : sizes) {
    PlotOptions po;
    po.title = Cat("Reliability after a mass crash, ", n == 10000 ? "10,000" : std::to_string(n),
                   " nodes");
    po.x_label = std::string("nodes crashed at once (%)");
    po.y_label = std::string("alive nodes holding the entry (%)");
    po.y_suffix = std::string("%");
    po.x_min = 0;
    po.x_max = 80;
    po.y_min = 0;
    po.y_max = 105;  // room above 100 % so a line at 100 % stays visible
    po.legend = PlotOptions::Legend::kBottomLeft;
    SvgPlot plot(po);
    for (bool flood : {false, true}) {
      PlotSeries post{name(flood, ", after repair"), {}, false, true, flood ? 1 : 0};
      PlotSeries pre0{name(flood, ", before repair"), {}, true, true,
                      flood ? 1 : 0};
      for (const GossipRow& r : series_of(n, flood, 0)) {
        post.points.emplace_back(r.crash_pct, 100 * r.rel_after);
        pre0.points.emplace_back(r.crash_pct, 100 * r.rel_before);
      }
      PlotSeries refreshed{name(flood, ", after repair, members refreshed"), {}, false, false,
                           flood ? 3 : 2};
      for (const GossipRow& r : rows[{n, flood}]) {
        if (r.crash_pct == 0 || r.refreshed) {
          refreshed.points.emplace_back(r.crash_pct, 100 * r.rel_after);
        }
      }
      plot.AddSeries(post);
      plot.AddSeries(refreshed);
      plot.AddSeries(pre0);
    }
    plot.WriteFile(Cat(f.out, "/gossip_reliability_", std::to_string(n), ".svg"));
  }
  auto metric_plot = [&](const std::string& file, const std::string& title,
                         const std::string& ylabel, PlotOptions::Legend legend,
                         double (*get)(const GossipRow&)) {
    PlotOptions po;
    po.legend = legend;
    po.title = title;
    po.x_label = std::string("nodes crashed at once (%), crash unnoticed at the broadcast");
    po.y_label = ylabel;
    po.x_min = 0;
    po.x_max = 80;
    po.y_min = 0;
    SvgPlot plot(po);
    for (int n : sizes) {
      for (bool flood : {false, true}) {
        const std::string suffix = Cat(", ", std::to_string(n), " nodes");
        PlotSeries ser{name(flood, suffix.c_str()), {},
                       n != sizes.front(), true, flood ? 1 : 0};
        for (const GossipRow& r : series_of(n, flood, 0)) {
          ser.points.emplace_back(r.crash_pct, get(r));
        }
        plot.AddSeries(ser);
      }
    }
    plot.WriteFile(f.out + "/" + file);
  };
  metric_plot("gossip_rmr.svg", "Relative message redundancy per entry",
              "RMR = payload / (holders - 1) - 1", PlotOptions::Legend::kTopRight,
              [](const GossipRow& r) { return r.rmr; });
  metric_plot("gossip_ldh.svg", "Last delivery hop", "hops from the author (max over nodes)",
              PlotOptions::Legend::kTopLeft, [](const GossipRow& r) { return r.ldh; });
}

// ---------------------------------------------------------------------------
// Experiment 2: digest repair alone.

void RunDigest(const Flags& f) {
  const int kNodes = 50;
  const int runs = f.quick ? 5 : f.runs;
  const int rounds = f.quick ? 10 : 30;
  const std::vector<double> losses = {0.0, 0.1, 0.3, 0.5};
  ReplicationOptions o = ReplicationOptions::Lan();
  o.graft_timeout_ms = 1;  // no grace: a digest round is a full repair round
  o.graft_stagger_ms = 0;  // at most graft_timeout_ms (no push to stagger)
  o.graft_retry_ms = 1;
  o.digest_interval_ms = 1000;
  o.reconcile = !f.digests;
  const TimeMs interval = o.digest_interval_ms;
  std::printf(
      "\n== Experiment 2: repair rounds alone (seed %llu; run r uses seed %llu*1000+r) ==\n"
      "repair rounds: %s;\n"
      "%d nodes, no overlay links (no push), every node has all others as digest members;\n"
      "ReplicationOptions::Lan() with digest_interval %lld ms, graft_timeout 1 ms (so a "
      "digest gap is solicited at once and\nrepair answers carry entries held 1 ms);"
      " links 1..10 ms with the given loss on every frame; one entry appended at node 0 at "
      "t=0.\nShare of the %d nodes holding the entry at t=(r+1/2)*%lld ms, i.e. after "
      "digest round r; min/median/max over %d runs.\n",
      static_cast<unsigned long long>(f.seed), static_cast<unsigned long long>(f.seed),
      o.reconcile ? "range-based reconciliation sessions (reconcile = true)"
                  : "bimodal-multicast digests (reconcile = false)",
      kNodes, static_cast<long long>(interval), kNodes, static_cast<long long>(interval), runs);
  // share[loss][round][run]
  std::vector<std::vector<std::vector<double>>> share(
      losses.size(), std::vector<std::vector<double>>(rounds + 1, std::vector<double>(runs)));
  std::vector<std::vector<int>> full_round(losses.size(), std::vector<int>(runs, -1));
  for (size_t li = 0; li < losses.size(); ++li) {
    for (int r = 0; r < runs; ++r) {
      Simulator sim(f.seed * 1000 + r, SimOptionsFor(o), LinkModel{1, 10, losses[li]});
      sim.AddNodes(kNodes, FastStores());
      sim.SetRandomMembers(-1);
      Result<Entry> e = sim.Append(0, TextContent("digest me"));
      if (!e.ok()) std::exit(1);
      for (int round = 0; round <= rounds; ++round) {
        sim.RunFor(round * interval + interval / 2 - sim.now());
        int holders = 0;
        for (int i = 0; i < kNodes; ++i) holders += sim.store(i).Get(sim.id(0), 1).ok();
        share[li][round][r] = 100.0 * holders / kNodes;
        if (holders == kNodes && full_round[li][r] < 0) full_round[li][r] = round;
      }
    }
  }
  auto stat = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    if (q <= 0) return v.front();
    if (q >= 1) return v.back();
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  };
  std::printf("%-6s", "round");
  for (double l : losses) std::printf("   loss %2.0f%%: min/med/max  ", 100 * l);
  std::printf("\n");
  for (int round = 0; round <= rounds; ++round) {
    std::printf("%-6d", round);
    for (size_t li = 0; li < losses.size(); ++li) {
      std::printf("   %5.0f%% %5.0f%% %5.0f%%     ", stat(share[li][round], 0),
                  stat(share[li][round], 0.5), stat(share[li][round], 1));
    }
    std::printf("\n");
  }
  std::printf("first round with all %d nodes (min/median/max over runs; -1: not within %d "
              "rounds):\n",
              kNodes, rounds);
  for (size_t li = 0; li < losses.size(); ++li) {
    std::vector<double> v;
    for (int x : full_round[li]) v.push_back(x < 0 ? 1e9 : x);
    auto show = [&](double q) {
      double x = stat(v, q);
      return x >= 1e9 ? -1 : static_cast<int>(x);
    };
    std::printf("  loss %2.0f%%: %d / %d / %d\n", 100 * losses[li], show(0), show(0.5), show(1));
  }
  // Plot: medians with min..max bands.
  PlotOptions po;
  po.title = o.reconcile
                 ? std::string("Repair rounds alone (reconciliation): 50 nodes, one round per "
                               "node per second")
                 : std::string("Digest repair alone: 50 nodes, one digest per node per round");
  po.x_label = std::string(o.reconcile ? "repair round" : "digest round");
  po.y_label = std::string("nodes holding the entry (%)");
  po.y_suffix = std::string("%");
  po.x_min = 0;
  po.x_max = rounds;
  po.y_min = 0;
  po.y_max = 105;
  po.legend = PlotOptions::Legend::kBottomRight;
  SvgPlot plot(po);
  for (size_t li = 0; li < losses.size(); ++li) {
    PlotBand band;
    band.color = static_cast<int>(li);
    PlotSeries med{Cat("loss ", std::to_string(static_cast<int>(std::lround(100 * losses[li]))),
                       "%: median (band: min..max)"),
                   {}, false, true, static_cast<int>(li)};
    for (int round = 0; round <= rounds; ++round) {
      band.x.push_back(round);
      band.lower.push_back(stat(share[li][round], 0));
      band.upper.push_back(stat(share[li][round], 1));
      med.points.emplace_back(round, stat(share[li][round], 0.5));
    }
    plot.AddBand(band);
    plot.AddSeries(med);
  }
  plot.WriteFile(f.out + (o.reconcile ? "/reconcile_repair.svg" : "/digest_repair.svg"));
}

// ---------------------------------------------------------------------------
// Experiment 3: simulator speed.

void PrintSpeed(const SpeedLog& s, int nodes) {
  std::printf(
      "\n== Experiment 3: simulator speed (%d nodes, plumtree, stable run: build, warm-up, "
      "measured entries) ==\n"
      "wall %.1f s for %.1f s of virtual time; %llu deliveries (%.0f /s wall), %llu events "
      "(%.0f /s wall)\n",
      nodes, s.wall, s.virtual_ms / 1000.0, static_cast<unsigned long long>(s.deliveries),
      s.deliveries / s.wall, static_cast<unsigned long long>(s.events), s.events / s.wall);
}

void RunSpeed(const Flags& f) {
  GossipSetup s;
  s.nodes = f.nodes.empty() ? 10000 : f.nodes.front();
  s.seed = f.seed;
  s.warmup = f.quick ? 3 : 5;
  s.measured = f.quick ? 5 : 10;
  std::printf("\n(speed run: seed %llu)\n", static_cast<unsigned long long>(f.seed));
  const double w0 = Now();
  auto sim = BuildGossipSim(s);
  const double build = Now() - w0;
  Tracker tracker(*sim);
  uint64_t seq = 0;
  const double w1 = Now();
  const uint64_t ev1 = sim->stats().events, d1 = sim->stats().deliveries;
  const TimeMs t1 = sim->now();
  Warmup(*sim, tracker, s.warmup + s.measured, &seq);
  const double w2 = Now();
  std::printf("build %d nodes + overlay: %.2f s wall (%llu deliveries)\n", s.nodes, build,
              static_cast<unsigned long long>(d1));
  std::printf("%d broadcasts: %.2f s wall, %.1f s virtual, %llu deliveries (%.0f /s), %llu "
              "events (%.0f /s)\n",
              s.warmup + s.measured, w2 - w1, (sim->now() - t1) / 1000.0,
              static_cast<unsigned long long>(sim->stats().deliveries - d1),
              (sim->stats().deliveries - d1) / (w2 - w1),
              static_cast<unsigned long long>(sim->stats().events - ev1),
              (sim->stats().events - ev1) / (w2 - w1));
  // A quiet second: nothing to send, only timers.
  const double w3 = Now();
  const uint64_t ev3 = sim->stats().events, d3 = sim->stats().deliveries;
  sim->RunFor(1000);
  const double w4 = Now();
  std::printf("1 s of quiet virtual time: %.2f s wall, %llu deliveries, %llu events\n", w4 - w3,
              static_cast<unsigned long long>(sim->stats().deliveries - d3),
              static_cast<unsigned long long>(sim->stats().events - ev3));
  SpeedLog log{w4 - w0, sim->stats().deliveries, sim->stats().events, sim->now()};
  PrintSpeed(log, s.nodes);
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      const size_t len = std::strlen(name);
      if (a.compare(0, len, name) == 0 && a.size() > len && a[len] == '=') return argv[i] + len + 1;
      if (a == name && i + 1 < argc) return argv[++i];
      return nullptr;
    };
    auto ints = [](const char* v) {
      std::vector<int> out;
      for (char* p = const_cast<char*>(v); *p;) {
        out.push_back(static_cast<int>(std::strtol(p, &p, 10)));
        if (*p != ',') break;
        ++p;
      }
      return out;
    };
    if (a == "--quick") {
      f->quick = true;
    } else if (a == "--digests") {
      f->digests = true;
    } else if (const char* c = value("--crash")) {
      f->crashes = ints(c);
    } else if (const char* vv = value("--variant")) {
      f->variants = ints(vv);
    } else if (const char* g = value("--graft-stagger")) {
      graft_stagger_flag = std::strtoll(g, nullptr, 10);
    } else if (const char* m = value("--mode")) {
      f->mode = std::string(m);
    } else if (const char* v = value("--experiment")) {
      f->experiment = std::string(v);
    } else if (const char* v2 = value("--seed")) {
      f->seed = std::strtoull(v2, nullptr, 10);
    } else if (const char* v3 = value("--runs")) {
      f->runs = std::atoi(v3);
    } else if (const char* v4 = value("--out")) {
      f->out = std::string(v4);
    } else if (const char* v5 = value("--nodes")) {
      f->nodes.clear();
      for (char* p = const_cast<char*>(v5); *p;) {
        f->nodes.push_back(static_cast<int>(std::strtol(p, &p, 10)));
        if (*p == ',') ++p;
      }
    } else {
      std::fprintf(stderr,
                   "usage: %s [--experiment all|gossip|digest|speed] [--seed "
                   "N] [--quick] [--nodes 1000,10000] [--runs 20] [--digests] "
                   "[--out DIR]\n  gossip rows only: [--mode "
                   "plumtree|flood|both] [--crash 0,20,40,60,80] [--variant "
                   "0,1,2] (0: t0-0, 1: t0-100, 2: t0-0+m) [--graft-stagger "
                   "MS]\n",
                   argv[0]);
      return false;
    }
  }
  return true;
}

}  // namespace
}  // namespace plumlog::bench

int main(int argc, char** argv) {
  using namespace plumlog::bench;
  Flags f;
  if (!ParseFlags(argc, argv, &f)) return 2;
  std::error_code ec;
  std::filesystem::create_directories(f.out, ec);
  std::printf("replication_experiments: experiment %s, seed %llu%s, plots to %s\n",
              f.experiment.c_str(), static_cast<unsigned long long>(f.seed),
              f.quick ? ", quick" : "", f.out.c_str());
  const double t0 = Now();
  SpeedLog speed;
  if (f.experiment == "all" || f.experiment == "gossip") {
    RunGossip(f, &speed);
    if (speed.wall > 0) PrintSpeed(speed, 10000);
  }
  if (f.experiment == "all" || f.experiment == "digest") RunDigest(f);
  if (f.experiment == "speed") RunSpeed(f);
  std::printf("\ntotal wall time %.1f s\n", Now() - t0);
  return 0;
}
