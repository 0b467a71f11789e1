// Data-driven simulator scenarios (as etcd raft's testdata): every file in
// tests/sim/testdata/*.txt is a script of commands run against one
// Simulator, with `expect` lines that must hold. The language:
//
//   # a comment; blank lines are ignored
//   sim seed=N [membership=on|off] [loss=P] [latency=LO-HI]
//   [replicate_all=true|false]
//       [hops=N] [ingest_delay=MS] [idle_timeout=MS]       (first command;
//       defaults: seed 1, membership off, loss 0, latency 1-10, replicate_all
//       true, hops 2)
//   nodes N                     add N nodes (0..N-1)
//   connect A B                 A keeps a connection to B (a configured peer)
//   join A B...                 A joins the membership through B...
//   append A [N]                N entries (default 1) on A's feed
//   follow A B | unfollow A B   A follows / unfollows B's feed (a contact
//   entry) block A B [purge] | unblock A B loss P                      frame
//   loss on every link from now on partition A,B|C,D | heal crash A
//   [reset|silent]      (default reset) | restart A crash-eager A B
//   [reset|silent]
//                               crash A's eager source for B's feed
//   flood-notes A B N [seq=S]   A sends B notes naming N random feeds at
//   sequence
//                               S (default 1): a hostile peer
//   reset-stats
//   run MS                      let MS of virtual time pass
//   run-until converged [MS] | run-until seq A B N [MS]
//                               run until it holds (fails after MS, default
//                               60000)
//   expect converged
//   expect seq A B N            A holds exactly N entries of B's feed
//   expect connections A B N    open connections A has with B
//   expect replicating A B true|false
//   expect feeds A OP N         A's replicator has state for OP (<=, ==, >=) N
//   feeds expect counter A NAME OP N  a NodeStatus counter of A expect stat A
//   NAME OP N     a replicator stat of A (grafts, prunes, notes_ignored, ...)
//   expect payload OP N         entries delivered in Entries frames since
//   reset-stats expect stale-timeouts 0 | expect timers-consistent
//
// A failure names the file, the line and the seed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "node/events.h"
#include "replication/message.h"
#include "replication/note.h"
#include "tests/sim/simulator.h"

#ifndef PLUMLOG_SOURCE_DIR
#define PLUMLOG_SOURCE_DIR "."
#endif

namespace plumlog::sim {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool Compare(uint64_t value, const std::string& op, uint64_t want) {
  if (op == "<=") return value <= want;
  if (op == ">=") return value >= want;
  if (op == "==") return value == want;
  if (op == "<") return value < want;
  if (op == ">") return value > want;
  return false;
}

uint64_t Counter(const NodeStatus& s, const std::string& name, bool* known) {
  const NodeCounters& c = s.counters;
  const std::map<std::string, uint64_t> all = {
      {"malformed_frames", c.malformed_frames},
      {"invalid_entries", c.invalid_entries},
      {"forks", c.forks},
      {"store_errors", c.store_errors},
      {"slow_peer_disconnects", c.slow_peer_disconnects},
      {"connections_accepted", c.connections_accepted},
      {"connections_dialed", c.connections_dialed},
      {"dial_failures", c.dial_failures},
      {"handshakes_ok", c.handshakes_ok},
      {"idle_timeouts", c.idle_timeouts},
      {"entries_stored", c.entries_stored},
      {"duplicates_received", c.duplicates_received},
  };
  auto it = all.find(name);
  *known = it != all.end();
  return *known ? it->second : 0;
}

uint64_t Stat(const replication::ReplicationStats& s, const std::string& name,
              bool* known) {
  const std::map<std::string, uint64_t> all = {
      {"grafts", s.grafts},
      {"prunes", s.prunes},
      {"notes_ignored", s.notes_ignored},
      {"feeds_refused", s.feeds_refused},
      {"digests_sent", s.digests_sent},
      {"wants_sent", s.wants_sent},
      {"ingests", s.ingests},
      {"entries_stored", s.entries_stored},
  };
  auto it = all.find(name);
  *known = it != all.end();
  return *known ? it->second : 0;
}

class Scenario {
 public:
  explicit Scenario(std::string file) : file_(std::move(file)) {}

  void Run() {
    std::ifstream in(file_);
    ASSERT_TRUE(in) << "cannot read " << file_;
    std::string line;
    while (std::getline(in, line)) {
      ++line_no_;
      const size_t hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      std::vector<std::string> w = Split(line);
      if (w.empty()) continue;
      Step(w);
      if (::testing::Test::HasFatalFailure()) return;
    }
    if (sim_) {
      EXPECT_EQ(sim_->stats().stale_timeouts, 0u) << Where();
    }
  }

 private:
  std::string Where() const {
    return file_ + ":" + std::to_string(line_no_) + " (seed " +
           std::to_string(seed_) + ")";
  }
  int Node(const std::string& s) {
    const int n = std::stoi(s);
    if (!sim_ || n < 0 || n >= sim_->size()) {
      ADD_FAILURE() << Where() << ": no node " << s;
      return 0;
    }
    return n;
  }
  std::string Arg(const std::vector<std::string>& w, size_t i) {
    if (i >= w.size()) {
      ADD_FAILURE() << Where() << ": missing argument " << i << " of " << w[0];
      return "0";
    }
    return w[i];
  }
  uint64_t Seq(int node, int author) {
    Result<FeedInfo> f = sim_->store(node).Feed(sim_->id(author));
    return f.ok() ? f->seq : 0;
  }

  void Configure(const std::vector<std::string>& w) {
    SimOptions o = SimOptions::Replication(ReplicationOptions::Test());
    LinkModel link;
    for (size_t i = 1; i < w.size(); ++i) {
      const size_t eq = w[i].find('=');
      const std::string key = w[i].substr(0, eq);
      const std::string value =
          eq == std::string::npos ? "" : w[i].substr(eq + 1);
      if (key == "seed") {
        seed_ = std::stoull(value);
      } else if (key == "membership") {
        o.node.membership = value == "on";
      } else if (key == "loss") {
        link.loss = std::stod(value);
      } else if (key == "latency") {
        link.min_latency_ms = std::stoll(value.substr(0, value.find('-')));
        link.max_latency_ms = std::stoll(value.substr(value.find('-') + 1));
      } else if (key == "replicate_all") {
        o.node.replication.replicate_all = value == "true";
      } else if (key == "hops") {
        o.node.replication.hops = static_cast<uint32_t>(std::stoul(value));
      } else if (key == "ingest_delay") {
        o.ingest_delay_ms = std::stoll(value);
      } else if (key == "idle_timeout") {
        o.node.idle_timeout_ms = std::stoll(value);
      } else {
        ADD_FAILURE() << Where() << ": unknown sim option " << key;
      }
    }
    seed_ = SeedFromEnv(seed_);
    sim_ = std::make_unique<Simulator>(seed_, o, link);
  }

  void Step(const std::vector<std::string>& w) {
    const std::string& cmd = w[0];
    if (cmd == "sim") return Configure(w);
    if (!sim_) Configure({"sim"});
    Simulator& sim = *sim_;
    if (cmd == "nodes") {
      sim.AddNodes(std::stoi(Arg(w, 1)));
    } else if (cmd == "connect") {
      sim.Connect(Node(Arg(w, 1)), Node(Arg(w, 2)));
    } else if (cmd == "join") {
      std::vector<int> contacts;
      for (size_t i = 2; i < w.size(); ++i) contacts.push_back(Node(w[i]));
      sim.Join(Node(Arg(w, 1)), contacts);
    } else if (cmd == "append") {
      const int n = Node(Arg(w, 1));
      const int count = w.size() > 2 ? std::stoi(w[2]) : 1;
      for (int k = 0; k < count; ++k) {
        ASSERT_TRUE(
            sim.Append(n, TextContent("entry " + std::to_string(k))).ok())
            << Where();
      }
    } else if (cmd == "follow" || cmd == "unfollow") {
      Status st =
          sim.Command(Node(Arg(w, 1)),
                      node::Follow{sim.id(Node(Arg(w, 2))), cmd == "follow"});
      EXPECT_TRUE(st.ok()) << Where() << ": " << st.ToString();
    } else if (cmd == "block" || cmd == "unblock") {
      const bool purge = w.size() > 3 && w[3] == "purge";
      Status st = sim.Command(
          Node(Arg(w, 1)),
          node::Block{sim.id(Node(Arg(w, 2))), cmd == "block", purge});
      EXPECT_TRUE(st.ok()) << Where() << ": " << st.ToString();
    } else if (cmd == "loss") {
      sim.link().loss = std::stod(Arg(w, 1));
    } else if (cmd == "partition") {
      std::vector<std::vector<int>> groups(1);
      std::string g = Arg(w, 1);
      std::string num;
      for (char c : g + "|") {
        if (c == ',' || c == '|') {
          if (!num.empty()) groups.back().push_back(Node(num));
          num.clear();
          if (c == '|') groups.emplace_back();
        } else {
          num += c;
        }
      }
      groups.pop_back();
      sim.Partition(groups);
    } else if (cmd == "heal") {
      sim.Heal();
    } else if (cmd == "crash") {
      sim.Crash(Node(Arg(w, 1)), !(w.size() > 2 && w[2] == "silent"));
    } else if (cmd == "crash-eager") {
      const int n = Node(Arg(w, 1));
      std::optional<FeedId> eager =
          sim.replicator(n).EagerSource(sim.id(Node(Arg(w, 2))));
      ASSERT_TRUE(eager.has_value())
          << Where() << ": node " << n << " has no eager source";
      sim.Crash(sim.IndexOf(*eager), !(w.size() > 3 && w[3] == "silent"));
    } else if (cmd == "restart") {
      sim.Restart(Node(Arg(w, 1)));
    } else if (cmd == "flood-notes") {
      FloodNotes(Node(Arg(w, 1)), Node(Arg(w, 2)), std::stoul(Arg(w, 3)),
                 w.size() > 4 && w[4].rfind("seq=", 0) == 0
                     ? std::stoull(w[4].substr(4))
                     : 1);
    } else if (cmd == "reset-stats") {
      sim.ResetStats();
    } else if (cmd == "run") {
      sim.RunFor(std::stoll(Arg(w, 1)));
    } else if (cmd == "run-until") {
      RunUntil(w);
    } else if (cmd == "expect") {
      Expect(w);
    } else {
      ADD_FAILURE() << Where() << ": unknown command " << cmd;
    }
  }

  void RunUntil(const std::vector<std::string>& w) {
    Simulator& sim = *sim_;
    const std::string what = Arg(w, 1);
    if (what == "converged") {
      const TimeMs max = w.size() > 2 ? std::stoll(w[2]) : 60'000;
      ASSERT_TRUE(sim.RunUntil([&] { return sim.Converged(); }, max))
          << Where() << ": not converged at t=" << sim.now();
    } else if (what == "seq") {
      const int n = Node(Arg(w, 2)), author = Node(Arg(w, 3));
      const uint64_t want = std::stoull(Arg(w, 4));
      const TimeMs max = w.size() > 5 ? std::stoll(w[5]) : 60'000;
      ASSERT_TRUE(sim.RunUntil([&] { return Seq(n, author) >= want; }, max))
          << Where() << ": node " << n << " holds " << Seq(n, author) << " of "
          << author;
    } else {
      ADD_FAILURE() << Where() << ": run-until what? " << what;
    }
  }

  void Expect(const std::vector<std::string>& w) {
    Simulator& sim = *sim_;
    const std::string what = Arg(w, 1);
    if (what == "converged") {
      EXPECT_TRUE(sim.Converged()) << Where();
    } else if (what == "seq") {
      const int n = Node(Arg(w, 2)), author = Node(Arg(w, 3));
      EXPECT_EQ(Seq(n, author), std::stoull(Arg(w, 4))) << Where();
    } else if (what == "connections") {
      EXPECT_EQ(sim.ConnectionsBetween(Node(Arg(w, 2)), Node(Arg(w, 3))),
                std::stoi(Arg(w, 4)))
          << Where();
    } else if (what == "replicating") {
      const int a = Node(Arg(w, 2)), b = Node(Arg(w, 3));
      bool replicating = false;
      for (const node::ConnectionInfo& c : sim.core(a).Connections()) {
        replicating = replicating || (c.peer == sim.id(b) && c.replicating);
      }
      EXPECT_EQ(replicating, Arg(w, 4) == "true") << Where();
    } else if (what == "feeds") {
      const uint64_t n = sim.replicator(Node(Arg(w, 2))).FeedCount();
      EXPECT_TRUE(Compare(n, Arg(w, 3), std::stoull(Arg(w, 4))))
          << Where() << ": " << n << " feeds";
    } else if (what == "counter" || what == "stat") {
      const int n = Node(Arg(w, 2));
      bool known = false;
      uint64_t v;
      if (what == "counter") {
        NodeStatus s;
        sim.core(n).FillStatus(&s);
        v = Counter(s, Arg(w, 3), &known);
      } else {
        v = Stat(sim.replicator(n).stats(), Arg(w, 3), &known);
      }
      ASSERT_TRUE(known) << Where() << ": unknown " << what << " " << w[3];
      EXPECT_TRUE(Compare(v, Arg(w, 4), std::stoull(Arg(w, 5))))
          << Where() << ": " << w[3] << " is " << v;
    } else if (what == "payload") {
      const uint64_t v = sim.stats().payload_entries;
      EXPECT_TRUE(Compare(v, Arg(w, 2), std::stoull(Arg(w, 3))))
          << Where() << ": " << v;
    } else if (what == "stale-timeouts") {
      EXPECT_EQ(sim.stats().stale_timeouts, std::stoull(Arg(w, 2))) << Where();
    } else if (what == "timers-consistent") {
      for (int i = 0; i < sim.size(); ++i) {
        if (sim.up(i)) {
          EXPECT_TRUE(sim.replicator(i).TimersConsistent())
              << Where() << " node " << i;
        }
      }
    } else {
      ADD_FAILURE() << Where() << ": expect what? " << what;
    }
  }

  // `from` names `count` random feeds at `seq` in notes frames to `to`.
  void FloodNotes(int from, int to, uint64_t count, uint64_t seq) {
    std::mt19937_64& rng = sim_->rng();
    replication::NotesMessage m;
    auto flush = [&] {
      if (m.notes.empty()) return;
      ASSERT_TRUE(sim_->InjectFrame(from, to, replication::EncodeMessage(m)))
          << Where() << ": no open connection from " << from << " to " << to;
      m.notes.clear();
    };
    for (uint64_t i = 0; i < count; ++i) {
      FeedId f;
      for (auto& b : f.mutable_bytes()) b = static_cast<uint8_t>(rng());
      m.notes.push_back({f, replication::MakeNote(seq, true), 1});
      if (m.notes.size() == replication::kMaxNotesPerMessage) flush();
    }
    flush();
  }

  std::string file_;
  int line_no_ = 0;
  uint64_t seed_ = 1;
  std::unique_ptr<Simulator> sim_;
};

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> out;
  const fs::path dir = fs::path(PLUMLOG_SOURCE_DIR) / "tests/sim/testdata";
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".txt")
      out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, Runs) {
  Scenario((fs::path(PLUMLOG_SOURCE_DIR) / "tests/sim/testdata" / GetParam())
               .string())
      .Run();
}

INSTANTIATE_TEST_SUITE_P(Testdata, ScenarioTest,
                         ::testing::ValuesIn(ScenarioFiles()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string name =
                               p.param.substr(0, p.param.size() - 4);
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c)))
                               c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace plumlog::sim
