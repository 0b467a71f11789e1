// The replication policy end to end, through real daemons on loopback:
// `follow` (contact entries) with `serve --hops`, `follows`, `block`
// surviving a restart, `blocks`, `unblock`, `block --purge`.
//
// Every "does not arrive" is checked against a marker appended after it on
// another feed that the node does replicate: once the marker is there, the
// blocked or unfollowed entry had every chance to arrive too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "tests/cli/daemon_util.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr Millis kConverge(60000);

class PolicyTest : public ::testing::Test {
 protected:
  // A store at dir/name; returns its feed id.
  std::string Init(const std::string& name) {
    const std::string home = Home(name);
    RunResult r = RunWithHome(home, {"init"});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    return r.out.substr(0, r.out.size() - 1);
  }
  std::string Home(const std::string& name) const { return dir_.path() + "/" + name; }

  // The head sequence of `feed` in the store at `name` (0 if absent).
  uint64_t Head(const std::string& name, const std::string& feed) const {
    return FeedHeadSeq(Home(name), feed);
  }
  bool WaitHead(const std::string& name, const std::string& feed, uint64_t seq) const {
    return PollUntil([&] { return Head(name, feed) >= seq; }, kConverge);
  }

  std::unique_ptr<Daemon> Serve(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {"--preset", "test", "--no-membership"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto d = std::make_unique<Daemon>(Home(name), args);
    EXPECT_TRUE(d->started()) << d->log();
    return d;
  }

  RunResult Run(const std::string& name, const std::vector<std::string>& args) const {
    return RunWithHome(Home(name), args);
  }
  void Append(const std::string& name, const std::string& text) const {
    RunResult r = Run(name, {"append", text});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
  }

  TempDir dir_;
};

TEST_F(PolicyTest, FollowsReplicateByHopsAndSurviveARestart) {
  const std::string a = Init("a"), b = Init("b"), c = Init("c"), d = Init("d");
  // B replicates everything; C and D hang off it. C follows D.
  auto db = Serve("b", {});
  auto dc = Serve("c", {"--peer", db->address()});
  auto dd = Serve("d", {"--peer", db->address()});
  Append("b", "b1");
  Append("c", "c1");
  Append("d", "d1");
  RunResult r = Run("c", {"follow", d});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "following " + d + "\n");
  // C's feed: c1 and the contact entry.
  ASSERT_TRUE(WaitHead("b", c, 2));
  ASSERT_TRUE(WaitHead("b", d, 1));

  // A replicates by the follow graph, two hops, and follows nobody yet.
  auto da = Serve("a", {"--hops", "2", "--peer", db->address()});
  r = Run("a", {"follows"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "");
  r = Run("a", {"follow", c});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  // C (1 hop) and D (2 hops, C follows it); not B, which nobody follows.
  ASSERT_TRUE(WaitHead("a", c, 2)) << da->log();
  ASSERT_TRUE(WaitHead("a", d, 1)) << da->log();
  EXPECT_EQ(Head("a", b), 0u);
  r = Run("a", {"follows"});
  EXPECT_EQ(r.out, c + "\n");
  r = Run("a", {"follows", "--all", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  json j = json::parse(r.out);
  EXPECT_EQ(j["replicating"], "hops 2");
  std::map<std::string, int> hops;
  for (const json& f : j["in_range"]) hops[f["feed"]] = f["hops"];
  EXPECT_EQ(hops, (std::map<std::string, int>{{a, 0}, {c, 1}, {d, 2}}));

  // The follow is an entry in A's feed: it survives a restart.
  EXPECT_EQ(da->Stop(SIGTERM), 0) << da->log();
  da = Serve("a", {"--hops", "2", "--peer", db->address()});
  EXPECT_EQ(Run("a", {"follows"}).out, c + "\n");
  Append("d", "d2");
  ASSERT_TRUE(WaitHead("a", d, 2)) << da->log();
  EXPECT_EQ(Head("a", b), 0u);

  // Unfollowed, C and D stop: a new D entry reaches B but not A, while a
  // marker on B's feed, now followed, does.
  r = Run("a", {"unfollow", c});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "no longer following " + c + "\n");
  ASSERT_EQ(Run("a", {"follow", b}).exit_code, 0);
  Append("d", "d3");
  ASSERT_TRUE(WaitHead("b", d, 3));
  Append("b", "marker");
  ASSERT_TRUE(WaitHead("a", b, 2)) << da->log();
  EXPECT_EQ(Head("a", d), 2u);
  EXPECT_EQ(Run("a", {"follows"}).out, b + "\n");
  for (auto* daemon : {&da, &db, &dc, &dd}) EXPECT_EQ((*daemon)->Stop(SIGTERM), 0);
}

TEST_F(PolicyTest, BlocksSurviveARestartUnblockAndPurge) {
  const std::string a = Init("a"), b = Init("b"), x = Init("x");
  (void)a;
  auto db = Serve("b", {});
  auto dx = Serve("x", {"--peer", db->address()});
  auto da = Serve("a", {"--peer", db->address()});
  Append("x", "x1");
  Append("b", "b1");
  ASSERT_TRUE(WaitHead("a", x, 1)) << da->log();

  RunResult r = Run("a", {"block", x});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "blocked " + x + "\n");
  // The block is kept in A's store: after a restart it still holds.
  EXPECT_EQ(da->Stop(SIGTERM), 0) << da->log();
  da = Serve("a", {"--peer", db->address()});
  r = Run("a", {"blocks"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, x + "\n");
  Append("x", "x2");
  ASSERT_TRUE(WaitHead("b", x, 2));
  Append("b", "marker 1");
  ASSERT_TRUE(WaitHead("a", b, 2)) << da->log();
  EXPECT_EQ(Head("a", x), 1u) << "a blocked feed replicated after a restart";

  // Unblocked, it catches up.
  r = Run("a", {"unblock", x});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "unblocked " + x + "\n");
  EXPECT_EQ(Run("a", {"blocks"}).out, "");
  ASSERT_TRUE(WaitHead("a", x, 2)) << da->log();

  // Purged: blocked again and its entries deleted from A's store.
  r = Run("a", {"block", "--purge", x});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "blocked " + x + " and deleted its entries\n");
  EXPECT_EQ(Head("a", x), 0u);
  Append("x", "x3");
  ASSERT_TRUE(WaitHead("b", x, 3));
  Append("b", "marker 2");
  ASSERT_TRUE(WaitHead("a", b, 3)) << da->log();
  EXPECT_EQ(Head("a", x), 0u);
  // The store is consistent after the purge.
  r = Run("a", {"check"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(da->log(), HasSubstr("deleted its entries"));
  for (auto* daemon : {&da, &db, &dx}) EXPECT_EQ((*daemon)->Stop(SIGTERM), 0);
}

TEST_F(PolicyTest, PolicyCommandsCheckTheirArguments) {
  const std::string a = Init("a");
  auto da = Serve("a", {});
  EXPECT_EQ(Run("a", {"unblock"}).exit_code, 2);
  EXPECT_EQ(Run("a", {"block", "--purge"}).exit_code, 2);
  EXPECT_EQ(Run("a", {"unblock", "@nonsense"}).exit_code, 2);
  RunResult r = Run("a", {"block", a});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("cannot block its own feed"));
  r = Run("a", {"follow", a});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("its own feed"));
  r = Run("a", {"follows", "--all"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("# replicating: all"));
  EXPECT_EQ(da->Stop(SIGTERM), 0) << da->log();
}

}  // namespace
}  // namespace plumlog::testing
