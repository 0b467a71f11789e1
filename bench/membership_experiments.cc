// Membership experiments in the deterministic simulator (docs/membership.md).
//
//   membership_experiments [--experiment
//   all|reliability|detection|fp|fp-hour|cost]
//                          [--seed N] [--nodes 1000,2000] [--fails 50,80,90,95]
//                          [--failure silent|reset|both] [--join random|first]
//                          [--quick] [--out DIR]
//                          [--duration SECONDS] [--default-only]
//                          [--trace-cut-off]
//
// Every node is a NodeCore with NodeOptions::Lan() (its connection limit,
// idle timeout and redial backoff included) run by tests/sim/simulator.h;
// nodes join through a random node that joined before (--join first: all
// through node 0, the old setup).
//
// reliability: plumtree (the Replicator) over HyParView views; right after
//              50/80/90/95 % of the nodes crash at once (silent host crash,
//              or process crash whose connections are reset), one entry per
//              round (1 s of simulated time) from a random survivor: share of
//              the survivors holding it at the end of its round, and the first
//              round from which views are connected and reliability is 100 %.
//              --trace-cut-off: after a run whose views never connected, print
//              each survivor outside the largest component (its views, the
//              live members it knows, who knows it, its counters).
// detection:   SWIM (LAN preset): time from a crash until the first member
//              declares it dead and until every member has, 50 ... 2,000
//              members.
// fp:          false positives (live members declared dead) among 500 members
//              in 5 simulated minutes at 10 % and 30 % loss, with and without
//              indirect probes and suspicion.
//              --nodes N (first value) and --duration S change the size and
//              the simulated time; --default-only runs only the first row.
// fp-hour:     the goal run: 500 members, 10 % loss, one simulated hour
//              (--duration S: S simulated seconds instead).
// cost:        membership messages per member per second (LAN preset, no loss).
//
// Tables go to stdout, plots (SVG) to DIR (default: docs/img of the source
// tree). Every run prints its seed; the same seed reproduces it exactly.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bench/svg_plot.h"
#include "core/msgpack_reader.h"
#include "node/events.h"
#include "replication/membership_message.h"
#include "tests/sim/simulator.h"

#ifndef PLUMLOG_SOURCE_DIR
#define PLUMLOG_SOURCE_DIR "."
#endif

namespace plumlog::bench {
namespace {

using replication::MembershipEvent;
using replication::MemberState;
using replication::TimeMs;
using sim::LinkModel;
using sim::SimOptions;
using sim::Simulator;

PlotSeries Series(std::string name, bool dashed = false, bool markers = true) {
  PlotSeries s;
  s.name = std::move(name);
  s.dashed = dashed;
  s.markers = markers;
  return s;
}

PlotOptions Plot(std::string title, std::string x, std::string y,
                 PlotOptions::Legend legend) {
  PlotOptions o;
  o.title = std::move(title);
  o.x_label = std::move(x);
  o.y_label = std::move(y);
  o.y_min = 0;
  o.legend = legend;
  return o;
}

struct Flags {
  std::string experiment = "all";
  uint64_t seed = 1;
  std::vector<int>
      nodes;  // default: 1000, 2000 (reliability), 50 ... 2000 (detection)
  std::vector<int> fails = {50, 80, 90, 95};
  std::string failure = "both";  // silent | reset | both
  bool quick = false;
  // fp / fp-hour: simulated seconds after joining (0: 300 / 3600), and
  // `fp` runs only its first row (10 % loss, indirect probes, suspicion).
  int duration_s = 0;
  bool default_only = false;
  std::string out = std::string(PLUMLOG_SOURCE_DIR) + "/docs/img";
};
// reliability: at the end of a run whose views never connected, print every
// survivor cut off from the largest component of active views (its views,
// what it knows, its counters).
bool g_trace_cut_off = false;

// Prints, for each up node outside the largest connected component of the
// active-view graph among `alive`, what it holds and knows.
void TraceCutOff(Simulator& sim, const std::vector<int>& alive) {
  std::vector<int> comp(sim.size(), -1);
  std::vector<int> sizes;
  for (int a : alive) {
    if (comp[a] >= 0) continue;
    const int c = static_cast<int>(sizes.size());
    sizes.push_back(0);
    std::vector<int> stack{a};
    comp[a] = c;
    while (!stack.empty()) {
      const int x = stack.back();
      stack.pop_back();
      ++sizes[c];
      std::vector<int> next = sim.Active(x);
      for (int b : alive) {
        if (comp[b] >= 0) continue;
        std::vector<int> ab = sim.Active(b);
        const bool edge =
            std::find(next.begin(), next.end(), b) != next.end() ||
            std::find(ab.begin(), ab.end(), x) != ab.end();
        if (edge) {
          comp[b] = c;
          stack.push_back(b);
        }
      }
    }
  }
  const int big = static_cast<int>(
      std::max_element(sizes.begin(), sizes.end()) - sizes.begin());
  auto state = [&](int of, int who) {
    std::optional<MemberState> st = sim.membership(of).StateOf(sim.id(who));
    return st ? replication::MemberStateName(*st) : "unknown";
  };
  for (int a : alive) {
    if (comp[a] == big) continue;
    const replication::Membership& m = sim.membership(a);
    std::printf("cut off: node %d (component of %d) at %lld ms\n", a,
                sizes[comp[a]], static_cast<long long>(sim.now()));
    std::printf("  active:");
    for (const FeedId& id : m.ActiveView()) {
      const int i = sim.IndexOf(id);
      std::printf(" %d(%s,%s)", i, sim.up(i) ? "up" : "down", state(a, i));
    }
    std::printf("\n  passive:");
    for (const FeedId& id : m.PassiveView()) {
      const int i = sim.IndexOf(id);
      std::printf(" %d(%s,%s)", i, sim.up(i) ? "up" : "down", state(a, i));
    }
    int live = 0, live_up = 0, no_address = 0;
    std::printf("\n  live members up:");
    for (const FeedId& id : m.LiveMembers()) {
      const int i = sim.IndexOf(id);
      ++live;
      if (m.AddressOf(id).empty()) ++no_address;
      if (sim.up(i)) {
        ++live_up;
        std::printf(" %d(%s)", i, state(a, i));
      }
    }
    int knows_us = 0, knows_us_alive = 0;
    for (int b : alive) {
      if (b == a) continue;
      std::optional<MemberState> st = sim.membership(b).StateOf(sim.id(a));
      if (st) {
        ++knows_us;
        const replication::Membership& o = sim.membership(b);
        std::vector<FeedId> pv = o.PassiveView();
        std::printf(
            "  known by %d as %s, address '%s', in its passive view %d\n", b,
            state(b, a), o.AddressOf(sim.id(a)).c_str(),
            std::find(pv.begin(), pv.end(), sim.id(a)) != pv.end() ? 1 : 0);
      }
      if (st && (*st == MemberState::kAlive || *st == MemberState::kSuspect))
        ++knows_us_alive;
    }
    const replication::MembershipStats& ms = m.stats();
    NodeStatus ns;
    sim.core(a).FillStatus(&ns);
    std::printf(
        "\n  live members %d (up %d, no address %d); survivors knowing it %d "
        "(as live %d); incarnation %llu\n",
        live, live_up, no_address, knows_us, knows_us_alive,
        static_cast<unsigned long long>(m.incarnation()));
    std::printf(
        "  membership: sent %llu received %llu pings %llu suspicions %llu "
        "refutations %llu declared_dead %llu shuffles %llu neighbor_requests "
        "%llu\n",
        (unsigned long long)ms.frames_sent,
        (unsigned long long)ms.frames_received,
        (unsigned long long)ms.pings_sent, (unsigned long long)ms.suspicions,
        (unsigned long long)ms.refutations,
        (unsigned long long)ms.declared_dead, (unsigned long long)ms.shuffles,
        (unsigned long long)ms.neighbor_requests);
    const NodeCounters& c = ns.counters;
    std::printf(
        "  node: dialed %llu dial_failures %llu accepted %llu refused %llu "
        "evicted %llu refused_by_peers %llu idle_timeouts %llu "
        "frames_unsendable %llu frames_sent %llu frames_received %llu\n",
        (unsigned long long)c.connections_dialed,
        (unsigned long long)c.dial_failures,
        (unsigned long long)c.connections_accepted,
        (unsigned long long)c.connections_refused,
        (unsigned long long)c.connections_evicted,
        (unsigned long long)c.refused_by_peers,
        (unsigned long long)c.idle_timeouts,
        (unsigned long long)c.frames_unsendable,
        (unsigned long long)c.frames_sent,
        (unsigned long long)c.frames_received);
  }
  std::fflush(stdout);
}

// The daemon's LAN node (NodeOptions::Lan(): idle timeout, redial backoff,
// connection limit) with membership `o` and the LAN replication preset.
SimOptions MembershipSimOptions(const MembershipOptions& o) {
  SimOptions so = SimOptions::Membership(o, ReplicationOptions::Lan());
  NodeOptions lan = NodeOptions::Lan();
  lan.membership_options = o;
  so.node = lan;
  so.verify_signatures = false;
  return so;
}

LinkModel Lan() {
  LinkModel l;
  l.min_latency_ms = 1;
  l.max_latency_ms = 10;
  return l;
}

double Secs(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

// Joins every node through node 0, `gap` ms apart, then lets views settle.
// Joins every node, `gap` ms apart, then lets views settle. Each joins
// through a random node that joined before it (a contact it could know); with
// `through_first`, all through node 0 (which then holds a connection per
// joiner for the idle timeout: beyond max_connections, 128, it refuses).
bool g_join_through_first = false;
void JoinAll(Simulator& sim, TimeMs gap, TimeMs settle) {
  sim.Join(0, {});
  for (int i = 1; i < sim.size(); ++i) {
    sim.RunFor(gap);
    int contact = 0;
    if (!g_join_through_first) {
      contact = std::uniform_int_distribution<int>(0, i - 1)(sim.rng());
    }
    sim.Join(i, {contact});
  }
  sim.RunFor(settle);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i =
      static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}
double Mean(const std::vector<double>& v) {
  return v.empty() ? 0
                   : std::accumulate(v.begin(), v.end(), 0.0) /
                         static_cast<double>(v.size());
}

// ---------------------------------------------------------------------------

// One reliability run: `n` nodes, `pct` % crash at once (silently, or with
// their connections reset), then one broadcast per round.
struct ReliabilityRun {
  std::vector<double> per_round;  // % of the other survivors reached
  size_t survivors = 0;
  int connected_from = -1;  // first round from which views stay connected
  int full_from = -1;       // ... and every broadcast reaches everyone
  double wall_s = 0;
};

ReliabilityRun RunReliability(uint64_t seed, int n, int pct, bool reset,
                              int max_rounds) {
  const auto t0 = std::chrono::steady_clock::now();
  ReliabilityRun out;
  // Every node subscribes to the feeds broadcast on (the sources are chosen
  // up front): with replicate_all every node would also track every other
  // node's empty feed, O(n) replicator state per node and O(n^2) work per
  // simulated second, without changing what is measured.
  ReplicationOptions ro = ReplicationOptions::Test();
  ro.replicate_all = false;
  SimOptions so = SimOptions::Membership(MembershipOptions::Test(), ro);
  so.verify_signatures = false;
  Simulator sim(seed, so, Lan());
  sim.AddNodes(n);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), sim.rng());
  const int dead = n * pct / 100;
  std::vector<int> alive(order.begin() + dead, order.end());
  std::vector<int> sources;
  for (int r = 0; r < max_rounds; ++r) {
    sources.push_back(alive[std::uniform_int_distribution<size_t>(
        0, alive.size() - 1)(sim.rng())]);
  }
  std::vector<int> feeds = sources;
  std::sort(feeds.begin(), feeds.end());
  feeds.erase(std::unique(feeds.begin(), feeds.end()), feeds.end());
  for (int i = 0; i < n; ++i) {
    for (int src : feeds)
      (void)sim.Command(i, node::Replicate{sim.id(src), true});
  }
  JoinAll(sim, 2, 10000);
  for (int i = 0; i < dead; ++i) sim.Crash(order[i], reset);
  out.survivors = alive.size();
  // Stop once views were connected and every broadcast complete for 10
  // rounds in a row (the table reports the first of those rounds).
  constexpr int kStableRounds = 10;
  for (int r = 0; r < max_rounds; ++r) {
    const int src = sources[r];
    std::string content;
    core::AppendMsgpackUint(&content, static_cast<uint64_t>(r));
    Result<Entry> e = sim.Append(src, content);
    if (!e.ok()) continue;
    sim.RunFor(1000);
    int have = 0;
    for (int a : alive) {
      if (a == src) continue;
      Result<FeedInfo> fi = sim.store(a).Feed(sim.id(src));
      if (fi.ok() && fi->seq >= e->seq()) ++have;
    }
    const double rel = 100.0 * have / std::max<size_t>(1, alive.size() - 1);
    out.per_round.push_back(rel);
    const bool connected = sim.OverlayConnected();
    if (connected && out.connected_from < 0) out.connected_from = r;
    if (!connected) out.connected_from = -1;
    if (rel >= 100.0 && connected && out.full_from < 0) out.full_from = r;
    if (rel < 100.0 || !connected) out.full_from = -1;
    if (out.full_from >= 0 && r - out.full_from + 1 >= kStableRounds) break;
  }
  if (g_trace_cut_off && out.connected_from < 0) TraceCutOff(sim, alive);
  out.wall_s = Secs(t0);
  return out;
}

void Reliability(const Flags& f) {
  const int rounds = f.quick ? 20 : 40;
  std::printf(
      "\n## Broadcast reliability after mass failure (plumtree over "
      "HyParView)\n\n");
  std::printf(
      "Test presets (probe 200 ms), links 1-10 ms, round = 1 s, entry per "
      "round "
      "from a random survivor; at most %d rounds, stopped after 10 complete "
      "rounds "
      "in a row.\n\n",
      rounds);
  std::printf(
      "| nodes | failed | crash | survivors | round 0 reliability | min "
      "reliability | "
      "views connected from round | 100 %% from round | wall s |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (int n : f.nodes.empty() ? std::vector<int>{1000, 2000} : f.nodes) {
    PlotOptions po =
        Plot("Reliability per round after mass failure, " + std::to_string(n) +
                 " nodes (dashed: silent crash, solid: connections reset)",
             "round (1 s) after the failure", "survivors reached",
             PlotOptions::Legend::kBottomRight);
    po.y_max = 100;
    po.y_suffix = "%";
    SvgPlot plot(po);
    for (int pct : f.fails) {
      for (int model = 0; model < 2; ++model) {
        const bool reset = model == 1;
        if ((reset && f.failure == "silent") ||
            (!reset && f.failure == "reset"))
          continue;
        const uint64_t seed = f.seed * 1000 + static_cast<uint64_t>(n) + pct;
        ReliabilityRun r = RunReliability(seed, n, pct, reset, rounds);
        PlotSeries series = Series(
            std::to_string(pct) + " % " + (reset ? "reset" : "silent"), !reset);
        double min_rel = 100;
        for (size_t i = 0; i < r.per_round.size(); ++i) {
          series.points.push_back({static_cast<double>(i), r.per_round[i]});
          min_rel = std::min(min_rel, r.per_round[i]);
        }
        plot.AddSeries(series);
        std::printf(
            "| %d | %d %% | %s | %zu | %.1f %% | %.1f %% | %s | %s | %.1f |\n",
            n, pct, reset ? "process (reset)" : "host (silent)", r.survivors,
            r.per_round.empty() ? 0.0 : r.per_round[0], min_rel,
            r.connected_from < 0 ? "never"
                                 : std::to_string(r.connected_from).c_str(),
            r.full_from < 0 ? "never" : std::to_string(r.full_from).c_str(),
            r.wall_s);
        std::fflush(stdout);
      }
    }
    plot.WriteFile(f.out + "/membership_reliability_" + std::to_string(n) +
                   ".svg");
  }
}

// ---------------------------------------------------------------------------

void Detection(const Flags& f) {
  std::vector<int> sizes = {50, 100, 200, 500, 1000, 2000};
  if (!f.nodes.empty()) sizes = f.nodes;
  const int trials = f.quick ? 5 : 20;
  const MembershipOptions o = MembershipOptions::Lan();
  std::printf(
      "\n## SWIM crash detection (LAN preset: probe 1 s, timeout 500 ms, 3 "
      "indirect, "
      "suspicion 4/6, 2 confirmations)\n\n");
  std::printf(
      "%d crashes per size, one at a time; first = first member declares it "
      "dead, "
      "all = every member has.\n\n",
      trials);
  std::printf(
      "| members | base suspicion timeout s | first mean s | first p99 s | all "
      "mean s "
      "| all p99 s | goal (3 probes + base) s | msgs/member/s | refused conns "
      "| wall s |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  PlotSeries first_mean = Series("first declaration (mean)");
  PlotSeries all_mean = Series("all members (mean)");
  PlotSeries all_p99 = Series("all members (p99)", true);
  PlotSeries goal = Series("3 probe intervals + base timeout", true, false);
  for (int n : sizes) {
    const auto t0 = std::chrono::steady_clock::now();
    Simulator sim(f.seed * 7 + static_cast<uint64_t>(n),
                  MembershipSimOptions(o), Lan());
    sim.AddNodes(n);
    JoinAll(sim, 5, 60000);
    TimeMs first_at = -1;
    int victim = -1;
    // The members that declared the victim dead (a crashed member stays so),
    // counted as they report it: checking every member's table after every
    // event would cost O(n) per simulated millisecond.
    std::set<int> declared;
    sim.on_report = [&](int node, const node::Report& r) {
      if (!r.member || r.member->kind != MemberEventKind::kDown || victim < 0 ||
          sim.IndexOf(r.member->peer) != victim) {
        return;
      }
      if (first_at < 0) first_at = sim.now();
      declared.insert(node);
    };
    // Message cost on the settled cluster (no crash under way).
    uint64_t sent0 = 0;
    for (int i = 0; i < n; ++i) sent0 += sim.membership(i).stats().frames_sent;
    sim.RunFor(60000);
    uint64_t sent1 = 0;
    for (int i = 0; i < n; ++i) sent1 += sim.membership(i).stats().frames_sent;
    const double cost = static_cast<double>(sent1 - sent0) / n / 60.0;
    uint64_t refused = 0;
    for (int i = 0; i < n; ++i) {
      NodeStatus st;
      sim.core(i).FillStatus(&st);
      refused += st.counters.connections_refused;
    }
    std::vector<double> firsts, alls;
    for (int t = 0; t < trials; ++t) {
      do {
        victim = std::uniform_int_distribution<int>(1, n - 1)(sim.rng());
      } while (!sim.up(victim));
      first_at = -1;
      declared.clear();
      sim.Crash(victim, /*reset=*/false);
      const TimeMs start = sim.now();
      const size_t up = static_cast<size_t>(sim.UpCount());
      const bool ok =
          sim.RunUntil([&] { return declared.size() >= up; }, 600000) &&
          sim.CountState(victim, MemberState::kDead) == sim.UpCount();
      if (first_at >= 0) firsts.push_back((first_at - start) / 1000.0);
      if (ok) alls.push_back((sim.now() - start) / 1000.0);
      victim = -1;
      sim.RunFor(5000);
    }
    const double nn = static_cast<double>(n);
    const double base = std::max(1.0, o.suspicion_mult * std::log10(nn + 1)) *
                        o.probe_interval_ms / 1000.0;
    const double g = 3 * o.probe_interval_ms / 1000.0 + base;
    std::printf(
        "| %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %llu | %.1f "
        "|\n",
        n, base, Mean(firsts), Percentile(firsts, 0.99), Mean(alls),
        Percentile(alls, 0.99), g, cost,
        static_cast<unsigned long long>(refused), Secs(t0));
    std::fflush(stdout);
    first_mean.points.push_back({nn, Mean(firsts)});
    all_mean.points.push_back({nn, Mean(alls)});
    all_p99.points.push_back({nn, Percentile(alls, 0.99)});
    goal.points.push_back({nn, g});
  }
  SvgPlot plot(Plot("SWIM crash detection time (LAN preset)", "members",
                    "seconds after the crash", PlotOptions::Legend::kTopLeft));
  plot.AddSeries(first_mean);
  plot.AddSeries(all_mean);
  plot.AddSeries(all_p99);
  plot.AddSeries(goal);
  plot.WriteFile(f.out + "/membership_detection.svg");
}

// ---------------------------------------------------------------------------

struct FpResult {
  int false_downs = 0;  // kDown events about live members
  int members_hit = 0;  // distinct live members declared dead by someone
  uint64_t suspicions = 0;
  uint64_t refutations = 0;
  double msgs_per_member_s = 0;
};

FpResult FalsePositives(uint64_t seed, int n, double loss, bool indirect,
                        bool suspicion, TimeMs duration) {
  MembershipOptions o = MembershipOptions::Lan();
  if (!indirect) o.indirect_checks = 0;
  o.suspicion = suspicion;
  Simulator sim(seed, MembershipSimOptions(o), Lan());
  sim.AddNodes(n);
  JoinAll(sim, 5, 60000);
  sim.link().loss = loss;
  FpResult r;
  std::vector<char> hit(n, 0);
  sim.on_report = [&](int, const node::Report& rep) {
    if (!rep.member || rep.member->kind != MemberEventKind::kDown) return;
    ++r.false_downs;  // nobody crashed: every down is false
    const int s = sim.IndexOf(rep.member->peer);
    if (s >= 0 && !hit[s]) {
      hit[s] = 1;
      ++r.members_hit;
    }
  };
  uint64_t sent0 = 0;
  for (int i = 0; i < n; ++i) sent0 += sim.membership(i).stats().frames_sent;
  sim.RunFor(duration);
  uint64_t sent1 = 0;
  for (int i = 0; i < n; ++i) {
    sent1 += sim.membership(i).stats().frames_sent;
    r.suspicions += sim.membership(i).stats().suspicions;
    r.refutations += sim.membership(i).stats().refutations;
  }
  r.msgs_per_member_s =
      static_cast<double>(sent1 - sent0) / n / (duration / 1000.0);
  return r;
}

void Fp(const Flags& f) {
  const int n = !f.nodes.empty() ? f.nodes[0] : f.quick ? 100 : 500;
  const TimeMs duration =
      static_cast<TimeMs>(f.duration_s > 0 ? f.duration_s : 300) * 1000;
  std::printf(
      "\n## False positives under loss (%d members, LAN preset, %lld "
      "simulated s, no crash)\n\n",
      n, static_cast<long long>(duration / 1000));
  std::printf(
      "| loss | indirect probes | suspicion | false down events | live members "
      "declared "
      "dead | suspicions started | refutations | msgs/member/s | wall s |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (double loss : {0.10, 0.30}) {
    for (int mode = 0; mode < 4; ++mode) {
      if (f.default_only && (mode != 0 || loss > 0.2)) continue;
      const bool indirect = !(mode & 1), suspicion = !(mode & 2);
      const auto t0 = std::chrono::steady_clock::now();
      FpResult r = FalsePositives(f.seed * 31 + mode, n, loss, indirect,
                                  suspicion, duration);
      std::printf(
          "| %.0f %% | %s | %s | %d | %d | %llu | %llu | %.2f | %.1f |\n",
          loss * 100, indirect ? "yes" : "no", suspicion ? "yes" : "no",
          r.false_downs, r.members_hit,
          static_cast<unsigned long long>(r.suspicions),
          static_cast<unsigned long long>(r.refutations), r.msgs_per_member_s,
          Secs(t0));
      std::fflush(stdout);
    }
  }
}

void FpHour(const Flags& f) {
  const auto t0 = std::chrono::steady_clock::now();
  const TimeMs duration =
      static_cast<TimeMs>(f.duration_s > 0 ? f.duration_s : 3600) * 1000;
  FpResult r = FalsePositives(f.seed * 97, 500, 0.10, true, true, duration);
  std::printf(
      "\n## Goal run: 500 members, 10 %% loss, 1 simulated hour (LAN "
      "preset)\n\n");
  std::printf(
      "| false down events | live members declared dead | suspicions | "
      "refutations | "
      "msgs/member/s | wall s |\n|---|---|---|---|---|---|\n");
  std::printf("| %d | %d | %llu | %llu | %.2f | %.1f |\n", r.false_downs,
              r.members_hit, static_cast<unsigned long long>(r.suspicions),
              static_cast<unsigned long long>(r.refutations),
              r.msgs_per_member_s, Secs(t0));
}

std::vector<int> ParseList(const char* s) {
  std::vector<int> out;
  for (const char* p = s; *p;) {
    out.push_back(std::atoi(p));
    const char* c = std::strchr(p, ',');
    if (!c) break;
    p = c + 1;
  }
  return out;
}

}  // namespace
}  // namespace plumlog::bench

int main(int argc, char** argv) {
  using namespace plumlog::bench;
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--experiment")
      f.experiment = next();
    else if (a == "--seed")
      f.seed = std::strtoull(next(), nullptr, 10);
    else if (a == "--nodes")
      f.nodes = ParseList(next());
    else if (a == "--fails")
      f.fails = ParseList(next());
    else if (a == "--failure")
      f.failure = next();
    else if (a == "--quick")
      f.quick = true;
    else if (a == "--duration")
      f.duration_s = std::atoi(next());
    else if (a == "--default-only")
      f.default_only = true;
    else if (a == "--join")
      g_join_through_first = std::string(next()) == "first";
    else if (a == "--trace-cut-off")
      g_trace_cut_off = true;
    else if (a == "--out")
      f.out = next();
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  std::printf("membership_experiments seed %llu\n",
              static_cast<unsigned long long>(f.seed));
  const std::string& e = f.experiment;
  if (e == "all" || e == "detection") Detection(f);
  if (e == "all" || e == "fp") Fp(f);
  if (e == "all" || e == "fp-hour") FpHour(f);
  if (e == "all" || e == "reliability") Reliability(f);
  return 0;
}
