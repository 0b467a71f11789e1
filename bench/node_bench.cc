// Networked node benchmarks (issue 5, "Benchmarks"). Real RocksDB stores in
// temp dirs, real loopback TCP with the secret handshake and box-stream, nodes
// started with Node::Start (each on its own loop thread). Every figure with a
// goal is printed with PASS/MISS and next to a baseline measured in the same
// run, just before it (bench/README.md).
//
//   node_bench [--runs N] [--only throughput|latency|fanout|rss] [--dir DIR]
//              [--rss-entries N] [--seed S]
//
// throughput  A holds 100k entries (200-byte content), a fresh B connects:
//             entries/s from B's AddPeer to B's listener seeing the last one.
//             Baseline: Ed25519 verify of the same 100k entries on all cores.
// latency     A and B directly connected (membership off, configured peer);
//             2,000 appends on A ~1.5 ms apart; Store::Append on A -> B's
//             NodeListener::OnEntry. Baselines: loopback TCP half round trip
//             and Append -> A's own listener.
// fanout      20 in-process nodes (membership on), random overlay; 200 appends
//             on random nodes; time until the entry is stored on all 20.
//             Baseline: time to the first other node (one hop).
// rss         a node in a child process (this binary re-executed) syncs 1M
//             entries from 20 peers (20 feeds of 50k) and stays connected;
//             its VmRSS. Baseline: the same child idle with an empty store.
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "crypto/keypair.h"
#include "plumlog/node.h"
#include "plumlog/store.h"
#include "format/entry_codec.h"

namespace fs = std::filesystem;
using plumlog::bench::Content200;
using plumlog::bench::Median;
using plumlog::bench::Percentile;
using plumlog::bench::ProcStatusKb;
using plumlog::bench::Seconds;
using plumlog::bench::SteadyClock;

namespace {

int g_runs = 3;
std::string g_dir;
std::string g_only;
size_t g_rss_entries = 1000000;
uint64_t g_seed = 1;
bool g_verbose = false;
bool g_rss_hub = false;  // --rss-hub: the peers want every feed back

bool Want(const char* key) { return g_only.empty() || g_only == key; }

int64_t Nanos(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
int64_t NowNs() { return Nanos(SteadyClock::now()); }

const char* Verdict(bool pass) { return pass ? "PASS" : "MISS"; }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "node_bench: %s\n", what.c_str());
  std::exit(1);
}

int g_dir_counter = 0;
std::string FreshDir(const std::string& name) {
  std::string d = g_dir + "/" + name + "-" + std::to_string(g_dir_counter++);
  fs::remove_all(d);
  return d;
}

std::unique_ptr<plumlog::Store> OpenStore(const std::string& home,
                                          plumlog::StoreOptions o = plumlog::StoreOptions()) {
  o.create_if_missing = true;
  auto s = plumlog::Store::Open(home, o);
  if (!s.ok()) Die("open " + home + ": " + s.status().ToString());
  return std::move(s).value();
}

// Appends n 200-byte entries to the store's own feed, 1,000 per AppendBatch.
void FillOwnFeed(plumlog::Store* store, size_t n) {
  const std::string content = Content200();
  for (size_t at = 0; at < n; at += 1000) {
    std::vector<std::string> batch(std::min<size_t>(1000, n - at), content);
    if (!store->AppendBatch(batch).ok()) Die("AppendBatch failed");
  }
}

plumlog::NodeOptions LoopbackOptions(bool membership) {
  // The daemon's defaults (Lan timers), on loopback with a free port.
  plumlog::NodeOptions o = plumlog::NodeOptions::Lan();
  o.listen = "127.0.0.1:0";
  o.membership = membership;
  return o;
}

std::unique_ptr<plumlog::Node> StartNode(plumlog::Store* store,
                                         const plumlog::NodeOptions& o) {
  auto n = plumlog::Node::Start(store, o);
  if (!n.ok()) Die("Node::Start: " + n.status().ToString());
  return std::move(n).value();
}

// Polls `pred` every `sleep_us` until it holds or `ms` passed.
bool WaitUntil(const std::function<bool()>& pred, int ms, int sleep_us = 1000) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(ms);
  while (SteadyClock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
  }
  return pred();
}

// One node with its own store in a temp dir.
struct BenchNode {
  BenchNode(const std::string& name, const plumlog::NodeOptions& o,
            plumlog::StoreOptions so = plumlog::StoreOptions(), size_t prefill = 0)
      : home(FreshDir(name)) {
    store = OpenStore(home, so);
    FillOwnFeed(store.get(), prefill);
    node = StartNode(store.get(), o);
  }
  ~BenchNode() {
    node.reset();
    store.reset();
    fs::remove_all(home);
  }
  uint64_t Seq(const plumlog::FeedId& feed) const {
    auto f = store->Feed(feed);
    return f.ok() ? f->seq : 0;
  }
  std::string home;
  std::unique_ptr<plumlog::Store> store;
  std::unique_ptr<plumlog::Node> node;
};

// Counts entries stored through the node; stamps the moment the target count
// is reached (on the loop thread, so the main thread's polling does not blur it).
class CountingListener : public plumlog::NodeListener {
 public:
  explicit CountingListener(uint64_t target) : target_(target) {}
  void OnEntry(const plumlog::Entry&) override {
    const uint64_t n = count_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n == target_) done_ns_.store(NowNs(), std::memory_order_release);
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  int64_t done_ns() const { return done_ns_.load(std::memory_order_acquire); }

 private:
  const uint64_t target_;
  std::atomic<uint64_t> count_{0};
  std::atomic<int64_t> done_ns_{0};
};

double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---------------------------------------------------------------- throughput

// Ed25519 verification of `entries` (their exact signed bytes) on `threads`
// threads: entries/s.
double VerifyRate(const std::vector<plumlog::Entry>& entries, unsigned threads) {
  const std::string_view prefix = plumlog::EntryCodec::kSignaturePrefix;
  const auto t0 = SteadyClock::now();
  std::vector<std::thread> ts;
  for (unsigned c = 0; c < threads; ++c) {
    ts.emplace_back([&, c] {
      for (size_t i = c; i < entries.size(); i += threads) {
        const plumlog::Entry& e = entries[i];
        if (!plumlog::crypto::KeyPair::Verify(e.author(), prefix, e.signed_bytes(),
                                              e.signature())) {
          std::abort();
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  return static_cast<double>(entries.size()) / Seconds(t0, SteadyClock::now());
}

void RunThroughput() {
  const size_t kN = 100000;
  std::printf("throughput: 100k entries of 200-byte content, A -> fresh B over loopback\n");
  std::printf("  (membership off, B AddPeer(A), Lan options, StoreOptions defaults; "
              "%d runs, median)\n", g_runs);
  auto t_fill = SteadyClock::now();
  BenchNode a("tp-a", LoopbackOptions(false), plumlog::StoreOptions(), kN);
  std::printf("  A filled with AppendBatch in %.2f s\n", Seconds(t_fill, SteadyClock::now()));
  const plumlog::FeedId fa = a.store->local_id();
  std::vector<plumlog::Entry> entries = a.store->ReadFeed(fa, 1, kN).value();
  if (entries.size() != kN) Die("A does not hold 100k entries");
  const unsigned cores = std::max(2u, std::thread::hardware_concurrency());

  std::vector<double> rates, bases, ratios;
  for (int run = 0; run < g_runs; ++run) {
    const double base = VerifyRate(entries, 2);
    BenchNode b("tp-b", LoopbackOptions(false));
    CountingListener heard(kN);
    b.node->AddListener(&heard);
    std::fprintf(stderr, "  run %d: B connecting\n", run + 1);  // marker for perf -p
    const auto t0 = SteadyClock::now();
    if (!b.node->AddPeer(a.node->address()).ok()) Die("AddPeer");
    if (!WaitUntil([&] { return heard.done_ns() != 0; }, 300000, 200)) {
      Die("B got only " + std::to_string(heard.count()) + " entries in 300 s");
    }
    const double secs = static_cast<double>(heard.done_ns() - Nanos(t0)) / 1e9;
    const double rate = static_cast<double>(kN) / secs;
    if (b.Seq(fa) != kN) Die("B's store does not hold all of A's feed");
    auto st = b.node->GetStatus();
    std::printf("  run %d: %8.0f entries/s (%.2f s)   verify 2 threads %8.0f /s   ratio %.2f"
                "   B: %llu frames, %.1f MB in\n",
                run + 1, rate, secs, base, rate / base,
                static_cast<unsigned long long>(st->counters.frames_received),
                static_cast<double>(st->counters.bytes_received) / 1e6);
    b.node->RemoveListener(&heard);
    rates.push_back(rate);
    bases.push_back(base);
    ratios.push_back(rate / base);
  }
  (void)cores;
  const double rate = Median(rates);
  std::printf("  %-46s %10.0f /s\n", "baseline: Ed25519 verify, same entries, 2 thr", Median(bases));
  std::printf("  %-46s %10.0f /s   %5.2f x verify/2 threads   [goal >= 25000/s] %s\n",
              "replicate 100k, connect -> last stored on B", rate, Median(ratios),
              Verdict(rate >= 25000));
}

// ------------------------------------------------------------------- latency

// Half the round trip of a 300-byte message between two threads over a
// loopback TCP connection (blocking sockets, TCP_NODELAY): the wire's share.
std::vector<double> LoopbackHalfRttUs(int n) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("bind");
  listen(ls, 1);
  socklen_t len = sizeof addr;
  getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len);
  int cs = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(cs, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("connect");
  int ss = accept(ls, nullptr, nullptr);
  int one = 1;
  setsockopt(cs, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(ss, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const size_t kMsg = 300;
  std::thread echo([&] {
    char buf[kMsg];
    for (int i = 0; i < n; ++i) {
      size_t got = 0;
      while (got < kMsg) {
        ssize_t r = read(ss, buf + got, kMsg - got);
        if (r <= 0) return;
        got += static_cast<size_t>(r);
      }
      if (write(ss, buf, kMsg) != static_cast<ssize_t>(kMsg)) return;
    }
  });
  std::vector<double> out;
  char buf[kMsg];
  std::memset(buf, 'x', kMsg);
  for (int i = 0; i < n; ++i) {
    const int64_t t0 = NowNs();
    if (write(cs, buf, kMsg) != static_cast<ssize_t>(kMsg)) Die("write");
    size_t got = 0;
    while (got < kMsg) {
      ssize_t r = read(cs, buf + got, kMsg - got);
      if (r <= 0) Die("read");
      got += static_cast<size_t>(r);
    }
    out.push_back(static_cast<double>(NowNs() - t0) / 2e3);
    std::this_thread::sleep_for(std::chrono::microseconds(1000));
  }
  echo.join();
  close(cs);
  close(ss);
  close(ls);
  return out;
}

// Stamps the arrival of each sequence of one feed.
class ArrivalListener : public plumlog::NodeListener {
 public:
  ArrivalListener(const plumlog::FeedId& feed, size_t max_seq)
      : feed_(feed), at_(max_seq + 1) {
    for (auto& a : at_) a.store(0);
  }
  void OnEntry(const plumlog::Entry& e) override {
    const int64_t now = NowNs();
    if (e.author() == feed_ && e.seq() < at_.size()) {
      at_[e.seq()].store(now, std::memory_order_release);
    }
  }
  int64_t at(uint64_t seq) const { return at_[seq].load(std::memory_order_acquire); }

 private:
  const plumlog::FeedId feed_;
  std::vector<std::atomic<int64_t>> at_;
};

void RunLatency() {
  const size_t kN = 2000;
  std::printf("latency: Store::Append on A -> NodeListener::OnEntry on B, directly connected\n"
              "  (membership off: B is A's configured peer; Lan options; %zu appends ~1.5 ms "
              "apart)\n", kN);
  const std::vector<double> half_rtt = LoopbackHalfRttUs(1000);

  BenchNode a("lat-a", LoopbackOptions(false));
  BenchNode b("lat-b", LoopbackOptions(false));
  const plumlog::FeedId fa = a.store->local_id();
  ArrivalListener at_b(fa, kN + 10), at_a(fa, kN + 10);
  b.node->AddListener(&at_b);
  a.node->AddListener(&at_a);
  if (!a.node->AddPeer(b.node->address()).ok()) Die("AddPeer");
  if (!WaitUntil([&] { return *a.node->InSyncWith(b.store->local_id()) &&
                              *b.node->InSyncWith(fa); }, 20000)) {
    Die("A and B never got in sync");
  }
  const std::string content = Content200();
  std::vector<int64_t> before(kN + 1), append_done(kN + 1);
  std::mt19937_64 rng(g_seed);
  std::uniform_int_distribution<int> gap_us(1000, 2000);
  auto next = SteadyClock::now();
  for (size_t i = 1; i <= kN; ++i) {
    std::this_thread::sleep_until(next);
    before[i] = NowNs();
    auto e = a.store->Append(content);
    append_done[i] = NowNs();
    if (!e.ok() || e->seq() != i) Die("Append failed");
    next = SteadyClock::now() + std::chrono::microseconds(gap_us(rng));
  }
  if (!WaitUntil([&] { return at_b.at(kN) != 0; }, 10000)) Die("B missed the last entry");
  std::vector<double> lat, local, call;
  size_t missing = 0;
  for (size_t i = 1; i <= kN; ++i) {
    if (at_b.at(i) == 0) {
      ++missing;
      continue;
    }
    lat.push_back(static_cast<double>(at_b.at(i) - before[i]) / 1e3);
    local.push_back(static_cast<double>(at_a.at(i) - before[i]) / 1e3);
    call.push_back(static_cast<double>(append_done[i] - before[i]) / 1e3);
  }
  b.node->RemoveListener(&at_b);
  a.node->RemoveListener(&at_a);
  if (missing) std::printf("  %zu entries never reached B's listener\n", missing);
  const double p50 = Percentile(lat, 50), p99 = Percentile(lat, 99);
  const double mx = *std::max_element(lat.begin(), lat.end());
  const double rtt50 = Percentile(half_rtt, 50), loc50 = Percentile(local, 50);
  std::printf("  %-44s p50 %7.1f us  p99 %7.1f us  max %7.1f us\n",
              "baseline: loopback TCP half round trip", rtt50, Percentile(half_rtt, 99),
              *std::max_element(half_rtt.begin(), half_rtt.end()));
  std::printf("  %-44s p50 %7.1f us  p99 %7.1f us\n", "baseline: Store::Append call itself",
              Percentile(call, 50), Percentile(call, 99));
  std::printf("  %-44s p50 %7.1f us  p99 %7.1f us\n", "baseline: Append -> A's own listener",
              loc50, Percentile(local, 99));
  std::printf("  %-44s p50 %7.1f us  p99 %7.1f us  max %7.1f us\n",
              "Append on A -> B's listener", p50, p99, mx);
  std::printf("  p50 %7.3f ms  [goal <= 1 ms] %s   %5.2f x (own listener + half RTT)\n",
              p50 / 1e3, Verdict(p50 <= 1000), p50 / (loc50 + rtt50));
  std::printf("  p99 %7.3f ms  [goal <= 5 ms] %s\n", p99 / 1e3, Verdict(p99 <= 5000));
}

// -------------------------------------------------------------------- fanout

// Records, for the entry currently being tracked, when each node stored it.
class FanoutListener : public plumlog::NodeListener {
 public:
  struct Shared {
    std::mutex mu;
    plumlog::FeedId author;
    uint64_t seq = 0;
    std::vector<int64_t> at;  // per node, 0 = not yet
    int reached = 0;
  };
  FanoutListener(Shared* shared, int index) : s_(shared), index_(index) {}
  void OnEntry(const plumlog::Entry& e) override {
    const int64_t now = NowNs();
    std::lock_guard<std::mutex> l(s_->mu);
    if (e.author() == s_->author && e.seq() == s_->seq && s_->at[index_] == 0) {
      s_->at[index_] = now;
      ++s_->reached;
    }
  }

 private:
  Shared* s_;
  int index_;
};

void RunFanout() {
  const int kNodes = 20, kAppends = 200;
  std::printf("fanout: %d nodes in one process (each on its own loop thread), membership on,\n"
              "  Lan options; node i>0 bootstrapped (NodeOptions::peers) from 1-2 random "
              "earlier nodes;\n  warm-up: 2 appends per node; then %d appends on random nodes, one at a\n"
              "  time, 20-40 ms apart\n",
              kNodes, kAppends);
  std::mt19937_64 rng(g_seed);
  std::vector<std::unique_ptr<BenchNode>> nodes;
  FanoutListener::Shared shared;
  shared.at.assign(kNodes, 0);
  std::vector<std::unique_ptr<FanoutListener>> listeners;
  const double cpu0 = CpuSeconds();
  const auto t_start = SteadyClock::now();
  for (int i = 0; i < kNodes; ++i) {
    plumlog::NodeOptions o = LoopbackOptions(true);
    o.seed = rng() | 1;
    if (i > 0) {
      const int contacts = i == 1 ? 1 : 1 + static_cast<int>(rng() % 2);
      std::vector<int> picks;
      while (static_cast<int>(picks.size()) < contacts) {
        int p = static_cast<int>(rng() % static_cast<uint64_t>(i));
        if (std::find(picks.begin(), picks.end(), p) == picks.end()) picks.push_back(p);
      }
      for (int p : picks) o.peers.push_back(nodes[p]->node->address());
    }
    nodes.push_back(std::make_unique<BenchNode>("fan", o));
    listeners.push_back(std::make_unique<FanoutListener>(&shared, i));
    nodes.back()->node->AddListener(listeners.back().get());
  }
  // Settled: every node knows all 20 alive and no active view changed for 3 s.
  std::vector<std::vector<plumlog::FeedId>> last(kNodes);
  auto stable_since = SteadyClock::now();
  bool settled = false;
  while (Seconds(t_start, SteadyClock::now()) < 60) {
    bool changed = false;
    size_t min_known = SIZE_MAX;
    for (int i = 0; i < kNodes; ++i) {
      auto st = nodes[i]->node->GetStatus();
      std::vector<plumlog::FeedId> v = st->active_view;
      std::sort(v.begin(), v.end());
      if (v != last[i]) changed = true;
      last[i] = v;
      min_known = std::min(min_known, st->members.size());
    }
    if (g_verbose) {
      std::fprintf(stderr, "  settle t=%.1f s: views changed %d, fewest members known %zu\n",
                   Seconds(t_start, SteadyClock::now()), changed, min_known);
    }
    // Settled: no active view changed for 3 s (members are learnt by gossip
    // and need not all be known everywhere for replication).
    if (changed) stable_since = SteadyClock::now();
    if (Seconds(stable_since, SteadyClock::now()) >= 3.0) {
      settled = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  size_t links = 0, min_deg = 1000, max_deg = 0;
  for (int i = 0; i < kNodes; ++i) {
    auto st = nodes[i]->node->GetStatus();
    size_t deg = 0;
    for (auto& c : st->connections) deg += c.replicating;
    links += deg;
    min_deg = std::min(min_deg, deg);
    max_deg = std::max(max_deg, deg);
  }
  // Background load of the idle overlay (probes, digests, shuffles).
  const double cpu1 = CpuSeconds();
  const auto t_idle = SteadyClock::now();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double idle_cpu = (CpuSeconds() - cpu1) / Seconds(t_idle, SteadyClock::now());
  std::printf("  overlay %s after %.1f s: replicating links per node %zu..%zu (sum/2 = %zu); "
              "idle CPU of the 20 nodes %.0f%% of one core (setup used %.1f s CPU)\n",
              settled ? "settled" : "NOT settled", Seconds(t_start, SteadyClock::now()),
              min_deg, max_deg, links / 2, idle_cpu * 100, cpu1 - cpu0);

  const std::string content = Content200();
  std::vector<double> all, first_hop;
  int timeouts = 0;
  // One append on `origin`, timed until stored on all nodes.
  auto one = [&](int k, int origin, std::vector<double>* all_out,
                 std::vector<double>* hop_out) {
    BenchNode& n = *nodes[origin];
    {
      std::lock_guard<std::mutex> l(shared.mu);
      shared.author = n.store->local_id();
      shared.seq = n.Seq(shared.author) + 1;
      std::fill(shared.at.begin(), shared.at.end(), 0);
      shared.reached = 0;
    }
    const int64_t t0 = NowNs();
    if (!n.store->Append(content).ok()) Die("Append failed");
    const bool ok = WaitUntil([&] {
      std::lock_guard<std::mutex> l(shared.mu);
      return shared.reached == kNodes;
    }, 5000, 200);
    std::lock_guard<std::mutex> l(shared.mu);
    if (!ok) {
      ++timeouts;
      return;
    }
    int64_t last_at = 0, first_other = INT64_MAX;
    for (int i = 0; i < kNodes; ++i) {
      last_at = std::max(last_at, shared.at[i]);
      if (i != origin) first_other = std::min(first_other, shared.at[i]);
    }
    all_out->push_back(static_cast<double>(last_at - t0) / 1e6);
    if (g_verbose && all_out->back() > 50) {
      std::fprintf(stderr, "  slow: append %d on node %d seq %llu: %.1f ms; per node:", k,
                   origin, static_cast<unsigned long long>(shared.seq), all_out->back());
      for (int i = 0; i < kNodes; ++i) {
        std::fprintf(stderr, " %.0f", static_cast<double>(shared.at[i] - t0) / 1e6);
      }
      std::fprintf(stderr, "\n");
    }
    hop_out->push_back(static_cast<double>(first_other - t0) / 1e6);
    shared.seq = 0;
  };
  // Warm-up: the first two entries of every node's feed, in node order. A
  // feed new to the network spreads by lazy notes and graft timers (see
  // README); these are reported apart.
  std::vector<double> new1, new2, hop_unused;
  for (int i = 0; i < kNodes; ++i) {
    one(-1, i, &new1, &hop_unused);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int i = 0; i < kNodes; ++i) {
    one(-2, i, &new2, &hop_unused);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double cpu2 = CpuSeconds();
  const auto t_app = SteadyClock::now();
  for (int k = 0; k < kAppends; ++k) {
    one(k, static_cast<int>(rng() % kNodes), &all, &first_hop);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 21));
  }
  const double app_cpu = (CpuSeconds() - cpu2) / Seconds(t_app, SteadyClock::now());
  for (int i = 0; i < kNodes; ++i) nodes[i]->node->RemoveListener(listeners[i].get());
  if (timeouts) std::printf("  %d appends did not reach all 20 nodes within 5 s\n", timeouts);
  if (all.empty()) return;
  const double p99 = Percentile(all, 99), hop50 = Percentile(first_hop, 50);
  if (!new1.empty() && !new2.empty()) {
    std::printf("  %-44s p50 %7.2f ms  max %7.2f ms  (warm-up, %zu feeds)\n",
                "seq 1 of a new feed -> all 20", Percentile(new1, 50),
                *std::max_element(new1.begin(), new1.end()), new1.size());
    std::printf("  %-44s p50 %7.2f ms  max %7.2f ms  (warm-up, %zu feeds)\n",
                "seq 2 of a new feed -> all 20", Percentile(new2, 50),
                *std::max_element(new2.begin(), new2.end()), new2.size());
  }
  std::printf("  process CPU while appending: %.0f%% of one core (2 cores)\n", app_cpu * 100);
  std::printf("  %-44s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n",
              "baseline: Append -> first other node (1 hop)", hop50,
              Percentile(first_hop, 99),
              *std::max_element(first_hop.begin(), first_hop.end()));
  std::printf("  %-44s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n",
              "Append (seq >= 3) -> stored on all 20", Percentile(all, 50), p99,
              *std::max_element(all.begin(), all.end()));
  std::printf("  p99 %7.2f ms  [goal <= 50 ms] %s   p50 %5.2f x one hop\n", p99,
              Verdict(p99 <= 50), Percentile(all, 50) / hop50);
}

// ----------------------------------------------------------------------- rss

// The measured node, in a child process: this binary run as
//   node_bench --rss-child HOME
// It opens (creating) the store with StoreOptions defaults, starts a node with
// the daemon's defaults but membership off, prints "ADDR <address>" and then
// answers commands on stdin, one per line:
//   stat -> "STAT <VmRSS kB> <VmHWM kB> <entries stored> <open connections>"
//   quit -> stops the node and exits
int RssChild(const std::string& home) {
  if (const char* t = std::getenv("NODE_BENCH_MMAP_THRESHOLD")) {
    mallopt(M_MMAP_THRESHOLD, std::atoi(t));
  }
  auto store = OpenStore(home);
  auto node = StartNode(store.get(), LoopbackOptions(false));
  std::printf("ADDR %s\n", node->address().ToString().c_str());
  std::fflush(stdout);
  char line[64];
  while (std::fgets(line, sizeof line, stdin)) {
    if (!std::strncmp(line, "stat", 4)) {
      auto st = node->GetStatus();
      size_t conns = 0;
      for (auto& c : st->connections) conns += c.replicating;
      std::printf("STAT %ld %ld %llu %zu\n", ProcStatusKb(0, "VmRSS"), ProcStatusKb(0, "VmHWM"),
                  static_cast<unsigned long long>(st->progress_current), conns);
      std::fflush(stdout);
    } else if (!std::strncmp(line, "quit", 4)) {
      break;
    }
  }
  if (std::getenv("NODE_BENCH_MALLOC_STATS")) {
    // Where the memory is: glibc's arenas, and what returning free pages gives back.
    const long before = ProcStatusKb(0, "VmRSS");
    malloc_stats();
    malloc_trim(0);
    std::fprintf(stderr, "VmRSS %ld kB, after malloc_trim %ld kB\n", before,
                 ProcStatusKb(0, "VmRSS"));
  }
  node.reset();
  store.reset();
  return 0;
}

struct Child {
  pid_t pid = -1;
  FILE* in = nullptr;   // its stdin
  FILE* out = nullptr;  // its stdout
  plumlog::PeerAddress address;

  static Child Spawn(const std::string& home) {
    int to[2], from[2];
    if (pipe(to) != 0 || pipe(from) != 0) Die("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from[1], 1);
    posix_spawn_file_actions_addclose(&fa, to[1]);
    posix_spawn_file_actions_addclose(&fa, from[0]);
    std::string self = fs::read_symlink("/proc/self/exe").string();
    const char* args[] = {self.c_str(), "--rss-child", home.c_str(), nullptr};
    Child c;
    if (posix_spawn(&c.pid, self.c_str(), &fa, nullptr, const_cast<char**>(args), environ) != 0) {
      Die("cannot spawn the rss child");
    }
    posix_spawn_file_actions_destroy(&fa);
    close(to[0]);
    close(from[1]);
    c.in = fdopen(to[1], "w");
    c.out = fdopen(from[0], "r");
    char line[512];
    if (!std::fgets(line, sizeof line, c.out) || std::strncmp(line, "ADDR ", 5) != 0) {
      Die("rss child did not start");
    }
    std::string addr(line + 5);
    while (!addr.empty() && addr.back() == '\n') addr.pop_back();
    c.address = plumlog::PeerAddress::Parse(addr).value();
    return c;
  }
  struct Stat {
    long rss_kb = 0, hwm_kb = 0;
    unsigned long long entries = 0;
    size_t conns = 0;
  };
  Stat Get() {
    std::fputs("stat\n", in);
    std::fflush(in);
    char line[256];
    if (!std::fgets(line, sizeof line, out)) Die("rss child died");
    Stat s;
    if (std::sscanf(line, "STAT %ld %ld %llu %zu", &s.rss_kb, &s.hwm_kb, &s.entries,
                    &s.conns) != 4) {
      Die(std::string("rss child said: ") + line);
    }
    return s;
  }
  void Quit() {
    std::fputs("quit\n", in);
    std::fflush(in);
    int status;
    waitpid(pid, &status, 0);
    std::fclose(in);
    std::fclose(out);
  }
};

void RunRss() {
  const int kPeers = 20;
  const size_t per_peer = g_rss_entries / kPeers;
  const size_t total = per_peer * kPeers;
  std::printf("rss: the measured node runs in a child process (this binary, --rss-child):\n"
              "  StoreOptions defaults, Lan node options, membership off. %d peers in this\n"
              "  process (StoreOptions::Test, %zu entries of their own feed each) dial it;\n"
              "  it syncs %zu entries, then VmRSS is read with all %d connections open.\n",
              kPeers, per_peer, total, kPeers);
  // Baseline: idle node, empty store, nothing connected.
  Child::Stat idle;
  {
    Child c = Child::Spawn(FreshDir("rss-idle"));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    idle = c.Get();
    c.Quit();
  }
  // The peers and their feeds.
  auto t_fill = SteadyClock::now();
  std::vector<std::unique_ptr<BenchNode>> peers;
  // The peers replicate only their own feed (replicate_all = false, empty
  // follow list): the measured node only receives. (With replicate_all the
  // node would also forward every feed to the 19 other peers: a hub pushing
  // 19x what it stores, whose send queues dominate its RSS; see README.)
  plumlog::NodeOptions po = LoopbackOptions(false);
  po.replication.replicate_all = g_rss_hub;
  for (int i = 0; i < kPeers; ++i) {
    peers.push_back(std::make_unique<BenchNode>("rss-peer", po, plumlog::StoreOptions::Test(),
                                                per_peer));
  }
  std::printf("  peers filled in %.1f s\n", Seconds(t_fill, SteadyClock::now()));
  const std::string home = FreshDir("rss-node");
  Child c = Child::Spawn(home);
  const auto t0 = SteadyClock::now();
  for (auto& p : peers) {
    if (!p->node->AddPeer(c.address).ok()) Die("AddPeer");
  }
  Child::Stat s;
  long peak_during = 0;
  while (true) {
    s = c.Get();
    peak_during = std::max(peak_during, s.rss_kb);
    if (s.entries >= total) break;
    if (Seconds(t0, SteadyClock::now()) > 600) Die("sync did not finish in 600 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double sync_secs = Seconds(t0, SteadyClock::now());
  std::printf("  (peak VmRSS seen while syncing %.1f MB)\n", static_cast<double>(peak_during) / 1024);
  // Connected and idle for a while (peer clocks saved, memtables settle).
  std::this_thread::sleep_for(std::chrono::seconds(5));
  s = c.Get();
  std::printf("  synced %llu entries from %d peers in %.1f s (%.0f entries/s, 50 ms polling)\n",
              s.entries, kPeers, sync_secs, static_cast<double>(s.entries) / sync_secs);
  std::printf("  %-44s %8.1f MB\n", "baseline: idle node, empty store (VmRSS)",
              static_cast<double>(idle.rss_kb) / 1024);
  std::printf("  %-44s %8.1f MB   %5.2f x idle   (peak VmHWM %.1f MB)\n",
              g_rss_hub ? "node (hub) after sync + 20 connections" : "node after sync + 20 connections", static_cast<double>(s.rss_kb) / 1024,
              static_cast<double>(s.rss_kb) / static_cast<double>(idle.rss_kb),
              static_cast<double>(s.hwm_kb) / 1024);
  std::printf("  RSS %.1f MB with %zu replicating connections  [goal <= 150 MB] %s\n",
              static_cast<double>(s.rss_kb) / 1024, s.conns,
              Verdict(s.rss_kb <= 150 * 1024));
  c.Quit();
  fs::remove_all(home);
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc == 3 && !std::strcmp(argv[1], "--rss-child")) return RssChild(argv[2]);
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) g_runs = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) g_dir = argv[++i];
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) g_only = argv[++i];
    else if (!std::strcmp(argv[i], "--rss-entries") && i + 1 < argc)
      g_rss_entries = std::strtoull(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--verbose")) g_verbose = true;
    else if (!std::strcmp(argv[i], "--rss-hub")) g_rss_hub = true;
    else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc)
      g_seed = std::strtoull(argv[++i], nullptr, 10);
    else {
      std::fprintf(stderr,
                   "usage: node_bench [--runs N] [--only throughput|latency|fanout|rss] "
                   "[--dir DIR] [--rss-entries N] [--seed S]\n");
      return 2;
    }
  }
  if (g_runs < 1) g_runs = 1;
  const bool own_dir = g_dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/plumlog-nodebench-XXXXXX";
    g_dir = mkdtemp(tmpl);
  }
  std::printf("plumlog node_bench: %u hardware threads, seed %llu\n\n",
              std::thread::hardware_concurrency(), static_cast<unsigned long long>(g_seed));
  if (Want("throughput")) { RunThroughput(); std::printf("\n"); }
  if (Want("latency")) { RunLatency(); std::printf("\n"); }
  if (Want("fanout")) { RunFanout(); std::printf("\n"); }
  if (Want("rss")) { RunRss(); std::printf("\n"); }
  std::fflush(stdout);
  if (own_dir) fs::remove_all(g_dir);
  return 0;
}
