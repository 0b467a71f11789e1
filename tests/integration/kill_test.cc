// A daemon SIGKILLed in the middle of its own appends while its peer keeps
// appending, then restarted on the same home and port: nothing it
// acknowledged is lost, the stale control socket is noticed and replaced, and
// it catches up with everything the peer wrote meanwhile. Several rounds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "tests/integration/integration_test.h"
#include "tests/integration/reliability_util.h"

namespace plumlog::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr int kRounds = 3;
constexpr Millis kConverge(60000);
constexpr Millis kPoll(200);

class KillTest : public IntegrationTest {};

TEST_F(KillTest, KilledDaemonRestartsAndCatchesUpWithNothingLost) {
  std::mt19937 rng(std::random_device{}());
  const unsigned seed = rng();
  std::cout << "seed " << seed << "\n";
  rng.seed(seed);

  Peer& a = Add("a");
  Peer& b = Add("b");
  // B listens on a port of its own choosing, and keeps it across restarts;
  // A dials B (and redials it while B is down).
  ASSERT_TRUE(Start(b, {}));
  const uint16_t port = b.port();
  const std::string b_address = b.address();
  ASSERT_NE(port, 0);
  ASSERT_TRUE(Start(a, {"--peer", b.address()}));

  Appender on_a(a, "a");
  std::vector<Ack> b_acks;  // every acknowledged entry of B, all rounds
  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE(std::string("round ") + std::to_string(round));
    // Kill B at a random moment during its own appends.
    const size_t kill_after = b_acks.size() + 10 + rng() % 40;
    {
      Appender on_b(b, std::string("b") + std::to_string(round));
      ASSERT_TRUE(PollEvery(Millis(5), Millis(30000), [&] {
        return b_acks.size() + on_b.acked() >= kill_after;
      })) << "B acknowledged only " << on_b.acked();
      b.Kill();
      on_b.Stop();
      // The append under way when B died may fail; later ones may be written
      // to the store directly (no daemon answers). Every acknowledged one
      // counts.
      std::vector<Ack> acks = on_b.acks();
      b_acks.insert(b_acks.end(), acks.begin(), acks.end());
    }
    // The control socket is left behind, but nobody answers on it.
    struct stat st;
    EXPECT_EQ(::stat((b.home() + "/control.sock").c_str(), &st), 0)
        << "SIGKILL should leave the socket file";
    RunResult r = b.Run({"status"});
    EXPECT_EQ(r.exit_code, 1) << Show(r);
    EXPECT_THAT(r.err, HasSubstr("no daemon running")) << Show(r);
    // A writer command works without the daemon (on the store itself).
    std::string why;
    std::optional<Ack> offline = b.Append(std::string("offline ") + std::to_string(round), &why);
    ASSERT_TRUE(offline.has_value()) << why;
    b_acks.push_back(*offline);

    // A goes on appending while B is down.
    const size_t a_before = on_a.acked();
    ASSERT_TRUE(PollEvery(Millis(10), Millis(30000),
                          [&] { return on_a.acked() >= a_before + 20; }));

    // B comes back on the same home and port.
    ASSERT_TRUE(Start(b, {"--listen", std::string("127.0.0.1:") + std::to_string(port)}));
    EXPECT_EQ(b.address(), b_address);
    EXPECT_THAT(b.Logs(), HasSubstr("control socket " + b.home() + "/control.sock"));
    // Nothing B acknowledged is lost: every entry is there with its id.
    auto mine = b.ReadFeed(b.id());
    ASSERT_TRUE(mine.has_value());
    for (const Ack& ack : b_acks) {
      auto it = mine->find(ack.seq);
      ASSERT_TRUE(it != mine->end()) << "B lost its acknowledged seq " << ack.seq;
      EXPECT_EQ(it->second, ack.id) << "seq " << ack.seq;
    }
    // And it catches up with A while A keeps appending.
    const uint64_t a_target = on_a.acked();
    std::string seen;
    ASSERT_TRUE(PollEvery(kPoll, kConverge, [&] {
      const uint64_t have = b.Head(a.id());
      seen = std::to_string(have);
      return have >= a_target;
    })) << "B has " << seen << " of A's " << a_target << " entries";
  }

  on_a.Stop();
  ASSERT_TRUE(on_a.errors().empty()) << ::testing::PrintToString(on_a.errors());
  const std::vector<Ack> a_acks = on_a.acks();
  ASSERT_FALSE(a_acks.empty());
  const uint64_t b_head = b.Head(b.id());
  std::map<std::string, uint64_t> want = {{a.id(), a_acks.back().seq},
                                          {b.id(), b_head}};
  std::string missing;
  ASSERT_TRUE(PollEvery(kPoll, kConverge,
                        [&] { return cluster_.HaveAll(want, &missing); }))
      << missing;
  EXPECT_EQ(a.GetHeads(), b.GetHeads());
  // Every acknowledged entry, on both stores, with the acknowledged id.
  for (Peer* p : {&a, &b}) {
    auto feed_a = p->ReadFeed(a.id());
    auto feed_b = p->ReadFeed(b.id());
    ASSERT_TRUE(feed_a && feed_b) << p->name();
    for (const Ack& ack : a_acks) {
      EXPECT_EQ((*feed_a)[ack.seq], ack.id) << p->name() << ": a seq " << ack.seq;
    }
    for (const Ack& ack : b_acks) {
      EXPECT_EQ((*feed_b)[ack.seq], ack.id) << p->name() << ": b seq " << ack.seq;
    }
  }
  EXPECT_EQ(a.Stop(), 0);
  EXPECT_EQ(b.Stop(), 0);
  for (Peer* p : {&a, &b}) {
    RunResult r = p->Run({"check"});
    EXPECT_EQ(r.exit_code, 0) << p->name() << ": " << Show(r);
  }
}

}  // namespace
}  // namespace plumlog::testing
