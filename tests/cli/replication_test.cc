// Daemons replicating with each other over loopback TCP, and `plumlog sync`.
// Real processes, `--preset test` (fast timers), 127.0.0.1 with free ports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "plumlog/store.h"
#include "tests/cli/daemon_util.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr Millis kConverge(60000);

class ReplicationTest : public ::testing::Test {
 protected:
  // Creates a store; returns its feed id.
  std::string Init(const std::string& home) {
    RunResult r = RunWithHome(home, {"init"});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    return r.out.substr(0, r.out.size() - 1);
  }

  // Appends `n` entries to the store's own feed directly (no daemon runs).
  static void Fill(const std::string& home, int n, const std::string& tag) {
    StoreOptions options;
    Result<std::unique_ptr<Store>> store = Store::Open(home, options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::vector<std::string> batch;
    for (int i = 1; i <= n; ++i) {
      batch.push_back(TextContent(tag + " " + std::to_string(i)));
      if (batch.size() == 1000 || i == n) {
        ASSERT_TRUE((*store)->AppendBatch(batch).ok());
        batch.clear();
      }
    }
  }

  // The head sequence of `feed` in the store at `home` (0 if absent).
  static uint64_t Head(const std::string& home, const std::string& feed) {
    return FeedHeadSeq(home, feed);
  }

  std::unique_ptr<Daemon> Serve(const std::string& home,
                                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--preset", "test"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto d = std::make_unique<Daemon>(home, args);
    EXPECT_TRUE(d->started()) << d->log();
    return d;
  }

  // `plumlog --home HOME sync ...` with time for its own --timeout.
  static RunResult Sync(const std::string& home,
                        const std::vector<std::string>& args) {
    std::vector<std::string> full = {"--home", home, "sync"};
    full.insert(full.end(), args.begin(), args.end());
    return RunPlumlog(full, "", {}, Millis(120000));
  }

  TempDir dir_;
};

class SyncTest
    : public ReplicationTest,
      public ::testing::WithParamInterface<std::vector<std::string>> {};

TEST_F(ReplicationTest, AppendOnAIsReadableOnB) {
  const std::string a = dir_.Sub("a"), b = dir_.Sub("b");
  const std::string a_id = Init(a);
  const std::string b_id = Init(b);
  auto da = Serve(a);
  ASSERT_TRUE(da->started());
  auto db = Serve(b, {"--peer", da->address()});
  ASSERT_TRUE(db->started());
  RunResult r = RunWithHome(a, {"append", "hello from a"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  std::string seen;
  EXPECT_TRUE(PollUntil(
      [&] {
        seen = RunWithHome(b, {"read", a_id}).out;
        return seen.find("\thello from a\n") != std::string::npos;
      },
      kConverge))
      << "B shows: " << seen << "\nA log:\n"
      << da->log() << "\nB log:\n"
      << db->log();
  // And the other way round.
  ASSERT_EQ(RunWithHome(b, {"append", "hello from b"}).exit_code, 0);
  EXPECT_TRUE(PollUntil(
      [&] {
        return RunWithHome(a, {"read", b_id}).out.find("\thello from b\n") !=
               std::string::npos;
      },
      kConverge))
      << db->log();
  // Both know of the connection.
  r = RunWithHome(b, {"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  json s = json::parse(r.out);
  ASSERT_EQ(s["configured_peers"].size(), 1u);
  EXPECT_EQ(s["configured_peers"][0], da->address());
  EXPECT_GE(s["connections"].size(), 1u) << r.out;
  r = RunWithHome(b, {"peers"});
  EXPECT_THAT(r.out, HasSubstr(da->address() + "\tconnected"));
  EXPECT_EQ(db->Stop(SIGTERM), 0) << db->log();
  EXPECT_EQ(da->Stop(SIGTERM), 0) << da->log();
  EXPECT_EQ(RunWithHome(a, {"check"}).exit_code, 0);
  EXPECT_EQ(RunWithHome(b, {"check"}).exit_code, 0);
}

TEST_P(SyncTest, OneShotWithoutADaemon) {
  const std::string a = dir_.Sub("a"), c = dir_.Sub("c");
  const std::string a_id = Init(a);
  const std::string c_id = Init(c);
  Fill(a, 500, "a");
  Fill(c, 300, "c");
  auto da = Serve(a, GetParam());
  ASSERT_TRUE(da->started());
  RunResult r = Sync(c, {da->address(), "--preset", "test", "--timeout", "60"});
  ASSERT_EQ(r.exit_code, 0) << Show(r) << da->log();
  EXPECT_THAT(r.out, HasSubstr("in sync with " + a_id));
  // "sent" counts entries written to the peer, resends included (a slow
  // machine repairs some twice): at least C's 300.
  EXPECT_THAT(r.out, HasSubstr("received 500 new entries, sent "));
  const size_t at = r.out.find(", sent ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::stoul(r.out.substr(at + 7)), 300u) << r.out;
  // stderr is not a terminal: no progress bar.
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(Head(c, a_id), 500u);
  // Entries C lacked were written to the connection; A stores them.
  EXPECT_TRUE(PollUntil([&] { return Head(a, c_id) == 300; }, kConverge));
  EXPECT_EQ(RunWithHome(c, {"check"}).exit_code, 0);
  // Once more: nothing to do, still exit 0.
  r = Sync(c, {da->address(), "--preset", "test", "--timeout", "60"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(da->Stop(SIGTERM), 0) << da->log();
}

TEST_P(SyncTest, ThroughARunningDaemon) {
  const std::string a = dir_.Sub("a"), b = dir_.Sub("b");
  const std::string a_id = Init(a);
  Init(b);
  Fill(a, 200, "a");
  auto da = Serve(a, GetParam());
  auto db = Serve(b, GetParam());
  ASSERT_TRUE(da->started() && db->started());
  RunResult r = Sync(b, {da->address(), "--timeout", "60"});
  ASSERT_EQ(r.exit_code, 0) << Show(r) << db->log();
  EXPECT_EQ(r.out, "in sync with " + a_id + "\n");
  EXPECT_EQ(Head(b, a_id), 200u);
  EXPECT_EQ(db->Stop(SIGTERM), 0) << db->log();
  EXPECT_EQ(da->Stop(SIGTERM), 0) << da->log();
}

// The daemons: with membership (the default) and without.
INSTANTIATE_TEST_SUITE_P(
    Daemons, SyncTest,
    ::testing::Values(std::vector<std::string>{},
                      std::vector<std::string>{"--no-membership"}),
    [](const ::testing::TestParamInfo<std::vector<std::string>>& param_info) {
      return param_info.param.empty() ? std::string("Membership")
                                      : std::string("NoMembership");
    });

TEST_F(ReplicationTest, SyncWithTheWrongNetworkKeyFails) {
  const std::string a = dir_.Sub("a"), c = dir_.Sub("c");
  Init(a);
  Init(c);
  auto da = Serve(a);
  ASSERT_TRUE(da->started());
  const auto start = std::chrono::steady_clock::now();
  RunResult r = Sync(c, {da->address(), "--preset", "test", "--timeout", "30",
                         "--network-key", std::string(64, 'a')});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("the handshake failed")) << Show(r);
  // It says so at once instead of waiting for the timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - start, Millis(15000));
  EXPECT_EQ(da->Stop(SIGTERM), 0) << da->log();
}

TEST_F(ReplicationTest, TwoDaemonsSyncTenThousandEntriesBothWays) {
  const std::string a = dir_.Sub("a"), b = dir_.Sub("b");
  const std::string a_id = Init(a);
  const std::string b_id = Init(b);
  Fill(a, 10000, "from a");
  Fill(b, 10000, "from b");
  auto da = Serve(a);
  ASSERT_TRUE(da->started());
  auto db = Serve(b, {"--peer", da->address()});
  ASSERT_TRUE(db->started());
  EXPECT_TRUE(PollUntil(
      [&] { return Head(a, b_id) == 10000 && Head(b, a_id) == 10000; },
      Millis(180000)))
      << "a has " << Head(a, b_id) << " of b, b has " << Head(b, a_id)
      << " of a\nA log:\n"
      << da->log() << "\nB log:\n"
      << db->log();
  EXPECT_EQ(db->Stop(SIGTERM), 0) << db->log();
  EXPECT_EQ(da->Stop(SIGTERM), 0) << da->log();
  RunResult r = RunWithHome(b, {"check"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("20000 entries"));
  r = RunWithHome(a, {"check"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
}

}  // namespace
}  // namespace plumlog::testing
