// Many feeds in the deterministic simulator (issue 15): N nodes that each
// bring F feeds (N x F feeds in all) replicate them to everyone; reported
// are the bytes of each message type per node per digest round, while the
// first sync runs, when nothing changes, and with a trickle of new entries.
//
//   many_feeds_sim [--nodes N] [--feeds-per-node F] [--entries E]
//                  [--degree D] [--members M] [--rounds R] [--new-per-round K]
//                  [--seed S] [--digests]
//
// Defaults: 1,000 nodes x 10 feeds (10,000 feeds) of 1 entry, each node
// connected to 3 random others (so ~6 links), 30 random digest members
// (the size of the membership's passive view), Lan replication options (a
// round = digest_interval_ms = 1 s of virtual time), 10 rounds idle and 10
// with 10 new entries per round. A scaled-down run (e.g. --nodes 100
// --feeds-per-node 100: the same 10,000 feeds) gives the same per-node
// figures, since a node's traffic follows the number of feeds and its links,
// not the number of nodes.
//
// RunManyFeeds is the scenario; it uses only the Simulator's public calls
// (AddNodes, Inject, ConnectRandom, SetRandomMembers, RunFor, Converged,
// on_deliver), so it ports to another driver by replacing those.
#include <sys/resource.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "replication/message.h"
#include "format/entry_codec.h"
#include "storage/memory_store.h"
#include "tests/sim/simulator.h"

namespace plumlog::bench {
namespace {

using replication::MessageType;
using replication::TimeMs;

struct ManyFeedsParams {
  int nodes = 1000;
  int feeds_per_node = 10;
  int entries_per_feed = 1;
  int degree = 3;    // Simulator::ConnectRandom
  int members = 30;  // Simulator::SetRandomMembers
  int rounds = 10;   // idle rounds, then as many with new entries
  int new_per_round =
      10;  // new entries per round (on random feeds) in the churn phase
  uint64_t seed = 1;
  bool digests = false;  // repair rounds by digests (reconcile = false)
};

// Bytes and frames of each message type, summed over all nodes.
struct Traffic {
  std::map<MessageType, uint64_t> bytes, frames;
  uint64_t total() const {
    uint64_t t = 0;
    for (const auto& [type, b] : bytes) t += b;
    return t;
  }
};

struct Phase {
  std::string name;
  int rounds = 0;
  Traffic traffic;
};

struct ManyFeedsReport {
  bool converged = false;
  TimeMs sync_ms = 0;
  std::vector<Phase> phases;  // first sync, idle, new entries
};

// The scenario. Every node injects its own F feeds (as an import would),
// the overlay is random, and the network runs on Lan options.
ManyFeedsReport RunManyFeeds(const ManyFeedsParams& p) {
  ReplicationOptions ro = ReplicationOptions::Lan();
  ro.reconcile = !p.digests;
  sim::SimOptions so = sim::SimOptions::Replication(ro);
  so.verify_signatures = false;  // every entry here is honestly signed
  sim::Simulator sim(p.seed, so, sim::LinkModel{1, 10, 0.0});
  sim.AddNodes(p.nodes);
  // The feeds: author keys from the seed; feed k belongs to node k / F.
  struct Feed {
    crypto::KeyPair key;
    uint64_t seq = 0;
    EntryId head;
  };
  std::vector<Feed> feeds;
  const std::string content = Content200();
  auto next_entry = [&](Feed& f) {
    EntryCodec::Fields fields;
    fields.author = f.key.public_key();
    fields.seq = f.seq + 1;
    if (f.seq > 0) fields.previous = f.head;
    fields.lamport = fields.seq;
    fields.timestamp_ms = 1700000000000 + fields.seq;
    fields.content = content;
    Entry e = EntryCodec::Build(f.key, fields).value();
    f.seq = e.seq();
    f.head = e.id();
    return e;
  };
  for (int n = 0; n < p.nodes; ++n) {
    std::vector<Entry> mine;
    for (int k = 0; k < p.feeds_per_node; ++k) {
      std::array<uint8_t, 32> seed{};
      const uint64_t id =
          static_cast<uint64_t>(n) * static_cast<uint64_t>(p.feeds_per_node) +
          static_cast<uint64_t>(k);
      std::memcpy(seed.data(), &id, sizeof id);
      seed[31] = 0x3d;
      feeds.push_back(Feed{crypto::KeyPair::FromSeed(seed), 0, EntryId()});
      for (int e = 0; e < p.entries_per_feed; ++e)
        mine.push_back(next_entry(feeds.back()));
    }
    sim.Inject(n, std::move(mine));
  }
  sim.ConnectRandom(p.degree);
  sim.SetRandomMembers(p.members);

  ManyFeedsReport report;
  Phase* current = nullptr;
  // Counted by the type in the frame itself (its first array element), so
  // that the hook ports to a driver that hands over frames only.
  sim.on_deliver = [&](const sim::Delivery& d) {
    if (current == nullptr || d.type == 0) return;
    const auto type = static_cast<MessageType>(d.type);
    current->traffic.bytes[type] += d.frame.size();
    ++current->traffic.frames[type];
  };
  const TimeMs round = ro.digest_interval_ms;

  // First sync: until every node holds every feed (checked once a round).
  report.phases.push_back({"first sync", 0, {}});
  current = &report.phases.back();
  const TimeMs start = sim.now();
  for (int r = 0; r < 600 && !report.converged; ++r) {
    sim.RunFor(round);
    ++current->rounds;
    report.converged = sim.Converged();
  }
  report.sync_ms = sim.now() - start;

  report.phases.push_back({"idle", p.rounds, {}});
  current = &report.phases.back();
  sim.RunFor(round * p.rounds);

  report.phases.push_back({"new entries", p.rounds, {}});
  current = &report.phases.back();
  std::mt19937_64 rng(p.seed + 1);
  for (int r = 0; r < p.rounds; ++r) {
    for (int k = 0; k < p.new_per_round; ++k) {
      const size_t f = rng() % feeds.size();
      sim.Inject(static_cast<int>(f / static_cast<size_t>(p.feeds_per_node)),
                 {next_entry(feeds[f])});
    }
    sim.RunFor(round);
  }
  current = nullptr;
  return report;
}

void PrintReport(const ManyFeedsParams& p, const ManyFeedsReport& r) {
  const char* names[] = {"notes", "entries",    "digest",
                         "want",  "fork proof", "reconcile"};
  std::printf("first sync %s after %.1f s of virtual time (%d rounds)\n",
              r.converged ? "converged" : "did NOT converge",
              static_cast<double>(r.sync_ms) / 1e3, r.phases[0].rounds);
  std::printf("\nbytes per node per round (frames per node per round)\n");
  std::printf("  %-12s", "phase");
  for (const char* n : names) std::printf(" %20s", n);
  std::printf(" %12s\n", "all");
  for (const Phase& ph : r.phases) {
    const double per = static_cast<double>(p.nodes) * std::max(1, ph.rounds);
    std::printf("  %-12s", ph.name.c_str());
    for (int t = 1; t <= 6; ++t) {
      const auto type = static_cast<MessageType>(t);
      auto b = ph.traffic.bytes.find(type);
      auto f = ph.traffic.frames.find(type);
      const double bytes =
          b == ph.traffic.bytes.end() ? 0 : static_cast<double>(b->second);
      const double frames =
          f == ph.traffic.frames.end() ? 0 : static_cast<double>(f->second);
      std::printf(" %11.0f (%6.2f)", bytes / per, frames / per);
    }
    std::printf(" %12.0f\n", static_cast<double>(ph.traffic.total()) / per);
  }
}

int Main(int argc, char** argv) {
  ManyFeedsParams p;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> long long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::stoll(argv[++i]);
    };
    if (a == "--nodes") {
      p.nodes = static_cast<int>(next());
    } else if (a == "--feeds-per-node") {
      p.feeds_per_node = static_cast<int>(next());
    } else if (a == "--entries") {
      p.entries_per_feed = static_cast<int>(next());
    } else if (a == "--degree") {
      p.degree = static_cast<int>(next());
    } else if (a == "--members") {
      p.members = static_cast<int>(next());
    } else if (a == "--rounds") {
      p.rounds = static_cast<int>(next());
    } else if (a == "--new-per-round") {
      p.new_per_round = static_cast<int>(next());
    } else if (a == "--digests") {
      p.digests = true;
    } else if (a == "--seed") {
      p.seed = static_cast<uint64_t>(next());
    } else {
      std::fprintf(stderr,
                   "usage: many_feeds_sim [--nodes N] [--feeds-per-node F] "
                   "[--entries E] "
                   "[--degree D] [--members M] [--rounds R] [--new-per-round "
                   "K] [--seed S] [--digests]\n");
      return 2;
    }
  }
  std::printf(
      "many_feeds_sim: %d nodes x %d feeds (%d feeds) of %d entries, degree "
      "%d, %d "
      "round members, repair rounds by %s, seed %llu (load %.2f)\n",
      p.nodes, p.feeds_per_node, p.nodes * p.feeds_per_node, p.entries_per_feed,
      p.degree, p.members, p.digests ? "digests" : "reconciliation",
      static_cast<unsigned long long>(p.seed),
      LoadAverage1());
  const auto t0 = SteadyClock::now();
  const ManyFeedsReport r = RunManyFeeds(p);
  PrintReport(p, r);
  std::printf("\nwall %.1f s, peak RSS %.0f MB\n",
              Seconds(t0, SteadyClock::now()),
              static_cast<double>(ProcStatusKb(0, "VmHWM")) / 1024.0);
  return 0;
}

}  // namespace
}  // namespace plumlog::bench

int main(int argc, char** argv) { return plumlog::bench::Main(argc, argv); }
