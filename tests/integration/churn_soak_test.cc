// Churn soak: 11 daemons replicating while appends go on at every one of
// them, with random SIGKILLs and restarts, network partitions and 20 %
// packet loss, for PLUMLOG_SOAK_SECONDS (default 60; scripts/soak runs 300).
// Then the faults stop and every node must converge to the same clock (the
// same head seq and head id of every feed), with no acknowledged entry lost
// or duplicated and every feed 1..n in order (`read --json`), and each
// daemon's resident memory (VmRSS, sampled every second) under a bound.
//
// The test runs in a network namespace of its own where 127.0.0.2 ... .12
// are the nodes' addresses and nftables (else iptables) drops packets. Where
// network namespaces are not allowed it runs on plain 127.0.0.1 with kills
// and restarts only (no loss, no partitions) and says so.
//
// Seeded: PLUMLOG_SOAK_SEED=<seed> repeats the choices of a run (the timing
// of the processes, of course, differs).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/integration/integration_test.h"
#include "tests/integration/netns.h"
#include "tests/integration/reliability_util.h"

namespace plumlog::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kNodes = 11;
constexpr gid_t kGidBase = 47100;  // node i runs as group kGidBase + i
constexpr int kMaxDown = 3;        // nodes down at once, at most
constexpr uint64_t kRssLimitKib = 300 * 1024;

long MsSince(Clock::time_point t) {
  return static_cast<long>(
      std::chrono::duration_cast<Millis>(Clock::now() - t).count());
}

struct Node {
  Peer* peer = nullptr;
  std::vector<std::string> args;
  std::string host;
  std::mutex write_mu;  // held by an append; a restart waits for it
  std::atomic<bool> up{false};
  Clock::time_point restart_at;
  std::mutex acks_mu;
  std::vector<Ack> acks;
  std::vector<std::string> errors;
  uint64_t rss_max_kib = 0;
  int kills = 0;
};

class ChurnSoakTest : public IntegrationTest {
 protected:
  void SetUp() override {
    seed_ = SeedFromEnv("PLUMLOG_SOAK_SEED", "soak");
    rng_.seed(seed_);
    std::string why;
    if (EnterNetworkNamespace(&why)) {
      firewall_ = Firewall::Create(&why);
      if (firewall_) {
        netns_ = true;
        groups_ = CanRunAsGroup(kGidBase);
        nft_ =
            firewall_->name().rfind("nftables", 0) == 0 ? FindTool("nft") : "";
        std::printf("network namespace with %s; partitions %s\n",
                    firewall_->name().c_str(),
                    groups_
                        ? (nft_.empty() ? "by isolating nodes" : "two-sided")
                        : "OFF (cannot run daemons as other groups)");
        return;
      }
    }
    std::printf(
        "NO network namespace or packet filter (%s): plain 127.0.0.1, "
        "kills and restarts only, no loss and no partitions\n",
        why.c_str());
  }

  int Rand(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }

  bool StartNode(Node& n, std::string* why) {
    std::optional<gid_t> gid;
    if (netns_ && groups_)
      gid = kGidBase + static_cast<gid_t>(&n - nodes_.data());
    if (!n.peer->Start(n.args, why, gid)) return false;
    n.up = true;
    return true;
  }

  // Cuts the nodes in `side` off from all others (both ways).
  bool Partition(const std::vector<int>& side, std::string* why) {
    std::set<int> a(side.begin(), side.end());
    if (nft_.empty()) {
      for (int i : a) {
        if (!firewall_->Isolate(nodes_[i].host, kGidBase + i, why))
          return false;
      }
      return true;
    }
    auto set_of = [&](bool in_a, bool gids) {
      std::string s = "{ ";
      for (int i = 0; i < kNodes; ++i) {
        if ((a.count(i) > 0) != in_a) continue;
        if (s.size() > 2) s += ", ";
        s += gids ? std::to_string(kGidBase + i) : nodes_[i].host;
      }
      return s + " }";
    };
    for (bool from_a : {true, false}) {
      if (!Firewall::Exec({nft_, "add", "rule", "inet", "plumlog_test",
                           "output", "meta", "skgid", set_of(from_a, true),
                           "ip", "daddr", set_of(!from_a, false), "drop"},
                          why)) {
        return false;
      }
    }
    return true;
  }

  uint32_t seed_ = 0;
  std::mt19937 rng_;
  bool netns_ = false;
  bool groups_ = false;
  std::string nft_;
  std::unique_ptr<Firewall> firewall_;
  std::vector<Node> nodes_ = std::vector<Node>(kNodes);
};

TEST_F(ChurnSoakTest, ConvergesAfterKillsPartitionsAndLoss) {
  const long seconds = EnvInt("PLUMLOG_SOAK_SECONDS", 60);
  std::printf("soak: %d daemons, %ld s of faults\n", kNodes, seconds);
  RecordProperty("seed", std::to_string(seed_));
  for (int i = 0; i < kNodes; ++i) {
    nodes_[i].peer = &Add(std::string("n") + std::to_string(i));
    nodes_[i].host = netns_ ? std::string("127.0.0.") + std::to_string(i + 2)
                            : std::string("127.0.0.1");
  }
  // Fixed addresses (the namespace has all ports free; outside it, ports
  // free a moment ago), so a restarted node is where its peers look for it.
  std::vector<std::string> addresses;
  for (int i = 0; i < kNodes; ++i) {
    const uint16_t port = netns_ ? 7000 : FreePort();
    const std::string& id = nodes_[i].peer->id();  // @KEY.ed25519
    const std::string key = id.substr(1, id.find(".ed25519") - 1);
    nodes_[i].args = {"--listen", nodes_[i].host + ":" + std::to_string(port)};
    addresses.push_back("net:" + nodes_[i].host + ":" + std::to_string(port) +
                        "~shs:" + key);
  }
  for (int i = 0; i < kNodes; ++i) {  // a ring with chords to bootstrap
    for (int d : {1, kNodes / 2}) {
      nodes_[i].args.push_back("--peer");
      nodes_[i].args.push_back(addresses[(i + d) % kNodes]);
    }
  }
  for (Node& n : nodes_) {
    std::string why;
    ASSERT_TRUE(StartNode(n, &why)) << why;
  }

  // Appenders: one thread per node, an append every 100-300 ms while its
  // daemon is up (one killed mid-append may finish on the store directly).
  std::atomic<bool> stop{false};
  std::vector<std::thread> appenders;
  for (int i = 0; i < kNodes; ++i) {
    appenders.emplace_back([&, i] {
      Node& n = nodes_[i];
      std::mt19937 r(seed_ + i);
      for (int k = 1; !stop; ++k) {
        std::this_thread::sleep_for(Millis(100 + r() % 200));
        std::lock_guard<std::mutex> w(n.write_mu);
        if (!n.up) continue;
        std::string why;
        std::optional<Ack> ack = n.peer->Append(
            std::string("n") + std::to_string(i) + " " + std::to_string(k),
            &why);
        std::lock_guard<std::mutex> l(n.acks_mu);
        if (ack) {
          n.acks.push_back(*ack);
        } else {
          n.errors.push_back(why);
        }
      }
    });
  }
  auto stop_appenders = [&] {
    stop = true;
    for (std::thread& t : appenders) {
      if (t.joinable()) t.join();
    }
  };

  // Faults.
  std::string why;
  if (netns_) {
    ASSERT_TRUE(firewall_->Loss(20, &why)) << why;
  }
  int kills = 0, restarts = 0, partitions = 0, failed_starts = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  auto next_kill = start + Millis(Rand(500, 2500));
  auto next_partition = start + Millis(Rand(3000, 8000));
  auto heal_at = Clock::time_point::max();
  auto next_sample = start;
  while (Clock::now() < end && !HasFatalFailure()) {
    const auto now = Clock::now();
    if (now >= next_sample) {
      for (Node& n : nodes_) {
        if (n.up)
          n.rss_max_kib = std::max(n.rss_max_kib, RssKib(n.peer->daemon_pid()));
      }
      next_sample = now + Millis(1000);
    }
    int down = 0;
    for (Node& n : nodes_) down += n.up ? 0 : 1;
    if (now >= next_kill) {
      if (down < kMaxDown) {
        Node& n = nodes_[Rand(0, kNodes - 1)];
        if (n.up) {
          n.up = false;
          n.peer->Kill();
          ++n.kills;
          ++kills;
          n.restart_at = now + Millis(Rand(500, 5000));
        }
      }
      next_kill = now + Millis(Rand(300, 2000));
    }
    for (Node& n : nodes_) {
      if (n.up || Clock::now() < n.restart_at) continue;
      std::lock_guard<std::mutex> w(n.write_mu);
      std::string err;
      if (StartNode(n, &err)) {
        ++restarts;
      } else {
        ++failed_starts;
        std::printf("restart of %s failed (retrying): %s\n",
                    n.peer->name().c_str(), err.substr(0, 300).c_str());
        n.restart_at = Clock::now() + Millis(500);
      }
    }
    if (netns_ && groups_) {
      if (heal_at == Clock::time_point::max() && now >= next_partition) {
        std::vector<int> side;
        const int size = Rand(1, 4);
        while (static_cast<int>(side.size()) < size) {
          const int i = Rand(0, kNodes - 1);
          if (std::find(side.begin(), side.end(), i) == side.end())
            side.push_back(i);
        }
        ASSERT_TRUE(Partition(side, &why)) << why;
        ++partitions;
        heal_at = now + Millis(Rand(3000, 8000));
      } else if (now >= heal_at) {
        ASSERT_TRUE(firewall_->Clear(&why)) << why;
        ASSERT_TRUE(firewall_->Loss(20, &why)) << why;
        heal_at = Clock::time_point::max();
        next_partition = now + Millis(Rand(2000, 6000));
      }
    }
    std::this_thread::sleep_for(Millis(50));
  }

  // The faults stop: no loss, no partition, every node up, no new appends.
  if (netns_) {
    ASSERT_TRUE(firewall_->Clear(&why)) << why;
  }
  for (Node& n : nodes_) {
    if (n.up) continue;
    std::lock_guard<std::mutex> w(n.write_mu);
    ASSERT_TRUE(PollEvery(Millis(300), Millis(10000), [&] {
      return StartNode(n, &why);
    })) << why;
    ++restarts;
  }
  stop_appenders();
  const auto calm = Clock::now();

  // Every acknowledged entry, per node: seq -> id; a seq acknowledged twice
  // with two ids would be a lost entry whose seq was reused.
  std::vector<std::map<uint64_t, std::string>> acked(kNodes);
  size_t total_acks = 0, total_errors = 0;
  for (int i = 0; i < kNodes; ++i) {
    for (const Ack& a : nodes_[i].acks) {
      auto [it, fresh] = acked[i].emplace(a.seq, a.id);
      EXPECT_TRUE(fresh || it->second == a.id)
          << "n" << i << " acknowledged seq " << a.seq << " as " << it->second
          << " and as " << a.id;
    }
    total_acks += nodes_[i].acks.size();
    total_errors += nodes_[i].errors.size();
  }

  // Converged: every node has the same head (seq and id) of every feed, and
  // each feed's head covers everything its author acknowledged.
  std::string state;
  const bool converged = PollEvery(Millis(500), Millis(90000), [&] {
    std::optional<Heads> first;
    for (int i = 0; i < kNodes; ++i) {
      std::optional<Heads> h = nodes_[i].peer->GetHeads();
      if (!h) {
        state = std::string("n") + std::to_string(i) + ": feeds failed";
        return false;
      }
      if (!first) {
        first = h;
        for (int f = 0; f < kNodes; ++f) {
          const uint64_t want = acked[f].empty() ? 0 : acked[f].rbegin()->first;
          const uint64_t have = (*h)[nodes_[f].peer->id()].seq;
          if (have < want) {
            state = std::string("n0 has ") + std::to_string(have) + " of n" +
                    std::to_string(f) + "'s " + std::to_string(want);
            return false;
          }
        }
      } else if (*h != *first) {
        int differ = 0;
        for (const auto& [feed, head] : *first)
          differ += (*h)[feed] == head ? 0 : 1;
        state = std::string("n") + std::to_string(i) + " differs from n0 in " +
                std::to_string(differ) + " feeds";
        return false;
      }
    }
    return true;
  });
  const long converge_ms = MsSince(calm);
  ASSERT_TRUE(converged) << "not converged 90 s after the faults stopped: "
                         << state;

  // Per feed, on every node: 1..n in order, every acknowledged entry with
  // its id, and the same entries everywhere.
  for (int f = 0; f < kNodes; ++f) {
    std::optional<std::map<uint64_t, std::string>> reference;
    for (int i = 0; i < kNodes; ++i) {
      auto feed = ReadContiguous(*nodes_[i].peer, nodes_[f].peer->id(), &why);
      ASSERT_TRUE(feed.has_value()) << why;
      if (!reference) {
        reference = feed;
        for (const auto& [seq, id] : acked[f]) {
          auto it = feed->find(seq);
          ASSERT_TRUE(it != feed->end())
              << "n" << f << "'s acknowledged seq " << seq << " lost";
          ASSERT_EQ(it->second, id)
              << "n" << f << "'s acknowledged seq " << seq;
        }
      } else {
        ASSERT_EQ(*feed, *reference)
            << "n" << i << " and n0 hold different entries of n" << f;
      }
    }
  }
  uint64_t rss_max = 0;
  std::string rss_all;
  for (int i = 0; i < kNodes; ++i) {
    rss_max = std::max(rss_max, nodes_[i].rss_max_kib);
    rss_all += " " + std::to_string(nodes_[i].rss_max_kib / 1024);
    EXPECT_LT(nodes_[i].rss_max_kib, kRssLimitKib)
        << "n" << i << " grew past the RSS bound";
  }
  for (Node& n : nodes_) {
    RunResult check = n.peer->Run({"check"});
    EXPECT_EQ(check.exit_code, 0) << n.peer->name() << ": " << Show(check);
  }
  std::printf(
      "soak figures: %ld s of faults, %d daemons, %s; %d kills, %d restarts "
      "(%d failed and retried), %d partitions; %zu appends acknowledged, %zu "
      "refused, 0 lost, 0 duplicated; converged %ld ms after the faults "
      "stopped; max RSS %llu MiB (per node, MiB:%s)\n",
      seconds, kNodes, netns_ ? "netns, 20 % loss" : "plain 127.0.0.1, no loss",
      kills, restarts, failed_starts, partitions, total_acks, total_errors,
      converge_ms, static_cast<unsigned long long>(rss_max / 1024),
      rss_all.c_str());
  // Refused appends (exit 1, nothing written) are not losses; say why.
  for (Node& n : nodes_) {
    for (size_t e = 0; e < n.errors.size() && e < 2; ++e) {
      std::printf("refused append: %s\n", n.errors[e].substr(0, 400).c_str());
    }
  }
}

}  // namespace
}  // namespace plumlog::testing
