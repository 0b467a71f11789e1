// Three daemons on 127.0.0.2, .3 and .4 inside a network namespace of the
// test's own, where packet filter rules (nftables, else iptables) make the
// network bad: 30 % random loss, then a partition of 127.0.0.2 from the other
// two. The daemons converge under loss, diverge while partitioned, and
// converge again once the partition heals.
//
// Skips (with the reason) where the machine forbids network namespaces or
// has neither nft nor iptables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/integration_test.h"
#include "tests/integration/netns.h"

namespace plumlog::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr Millis kPoll(300);
// The group the isolated daemon runs as (see Firewall::Isolate).
constexpr gid_t kIsolatedGid = 46123;

class NetnsTest : public IntegrationTest {
 protected:
  void SetUp() override {
    std::string why;
    if (!EnterNetworkNamespace(&why)) GTEST_SKIP() << why;
    firewall_ = Firewall::Create(&why);
    if (!firewall_) GTEST_SKIP() << why;
    std::cout << "packet filter: " << firewall_->name() << "\n";
  }

  void TearDown() override {
    if (HasFailure() && firewall_) {
      std::cout << "firewall rules at the end:\n" << firewall_->Show() << "\n";
    }
    IntegrationTest::TearDown();
  }

  // Three initialised stores, x2, x3, x4 (for 127.0.0.2, .3, .4).
  std::vector<Peer*> AddThree() {
    return {&Add("x2"), &Add("x3"), &Add("x4")};
  }

  static std::string Listen(int host) {
    return std::string("127.0.0.") + std::to_string(host) + ":0";
  }

  // Every peer's own feed at `seq` everywhere.
  std::map<std::string, uint64_t> All(const std::vector<Peer*>& peers,
                                      uint64_t seq) {
    std::map<std::string, uint64_t> want;
    for (Peer* p : peers) want[p->id()] = seq;
    return want;
  }

  std::unique_ptr<Firewall> firewall_;
};

TEST_F(NetnsTest, ThreeDaemonsConvergeUnderThirtyPercentLoss) {
  std::vector<Peer*> p = AddThree();
  std::string why;
  ASSERT_TRUE(firewall_->Loss(30, &why)) << why;
  // .3 bootstraps from .2, .4 from .3 and .2; membership on.
  ASSERT_TRUE(Start(*p[0], {"--listen", Listen(2)}));
  ASSERT_TRUE(Start(*p[1], {"--listen", Listen(3), "--peer", p[0]->address()}));
  ASSERT_TRUE(Start(*p[2], {"--listen", Listen(4), "--peer", p[1]->address(),
                            "--peer", p[0]->address()}));
  EXPECT_THAT(p[0]->address(), HasSubstr("net:127.0.0.2:"));

  std::vector<std::string> errors = AppendOnAll(p, 100);
  ASSERT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
  std::string missing;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(PollEvery(kPoll, Millis(120000), [&] {
    return cluster_.HaveAll(All(p, 100), &missing);
  })) << "not converged under 30 % loss after 120 s: "
      << missing;
  std::cout << "converged under 30 % loss in "
            << std::chrono::duration_cast<Millis>(
                   std::chrono::steady_clock::now() - start)
                   .count()
            << " ms\n";
  EXPECT_EQ(p[0]->GetHeads(), p[1]->GetHeads());
  EXPECT_EQ(p[0]->GetHeads(), p[2]->GetHeads());

  // A clean shutdown once the network is good again; the stores check.
  ASSERT_TRUE(firewall_->Clear(&why)) << why;
  for (Peer* x : p) EXPECT_EQ(x->Stop(), 0) << x->name();
  for (Peer* x : p) {
    RunResult r = x->Run({"check"});
    EXPECT_EQ(r.exit_code, 0) << x->name() << ": " << Show(r);
    EXPECT_THAT(r.out, HasSubstr("3 feeds, 300 entries")) << x->name();
  }
}

TEST_F(NetnsTest, PartitionDivergesThenHeals) {
  if (!CanRunAsGroup(kIsolatedGid)) {
    GTEST_SKIP() << "cannot run a daemon as group " << kIsolatedGid
                 << " here (not root in the initial user namespace), so its "
                    "outgoing connections cannot be told apart";
  }
  std::vector<Peer*> p = AddThree();
  Peer& x2 = *p[0];
  Peer& x3 = *p[1];
  Peer& x4 = *p[2];
  ASSERT_TRUE(Start(x2, {"--listen", Listen(2)}, kIsolatedGid));
  ASSERT_TRUE(Start(x3, {"--listen", Listen(3), "--peer", x2.address()}));
  ASSERT_TRUE(Start(x4, {"--listen", Listen(4), "--peer", x3.address(),
                         "--peer", x2.address()}));

  // Connected and converged first.
  std::vector<std::string> errors = AppendOnAll(p, 20);
  ASSERT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
  std::string missing;
  ASSERT_TRUE(PollEvery(kPoll, Millis(60000), [&] {
    return cluster_.HaveAll(All(p, 20), &missing);
  })) << missing;

  // Cut 127.0.0.2 off; append on both sides.
  std::string why;
  ASSERT_TRUE(firewall_->Isolate("127.0.0.2", kIsolatedGid, &why)) << why;
  errors = AppendOnAll(p, 50);  // "x2 1".."x2 50": seqs 21..70
  ASSERT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
  // The majority side still replicates...
  ASSERT_TRUE(PollEvery(kPoll, Millis(60000), [&] {
    return cluster_.HaveAll({{x3.id(), 70}, {x4.id(), 70}}, &missing,
                            {&x3, &x4});
  })) << "x3 and x4 do not converge with each other: "
      << missing;
  // ...and notices that x2 is gone: no connection to it is left. (The
  // connections carry probes every second; one that brings nothing back for
  // the idle timeout, 10 s with --preset test, is dead.)
  std::string conns;
  auto connections_to = [&](Peer& from, const std::string& to) {
    std::optional<json> s = from.Status();
    int n = 0;
    if (!s) return -1;
    for (const json& c : (*s)["connections"]) n += c["peer"] == to ? 1 : 0;
    return n;
  };
  const bool noticed = PollEvery(kPoll, Millis(25000), [&] {
    const int a = connections_to(x3, x2.id()), b = connections_to(x4, x2.id());
    conns = std::string("x3->x2 ") + std::to_string(a) + std::string(", x4->x2 ") + std::to_string(b);
    return a == 0 && b == 0;
  });
  EXPECT_TRUE(noticed) << "the majority side still shows connections to the "
                          "isolated daemon 25 s after it was cut off: "
                       << conns;
  // The sides have diverged: neither got the other's new entries.
  EXPECT_EQ(x2.Head(x3.id()), 20u);
  EXPECT_EQ(x2.Head(x4.id()), 20u);
  EXPECT_EQ(x3.Head(x2.id()), 20u);
  EXPECT_EQ(x4.Head(x2.id()), 20u);
  EXPECT_EQ(x2.Head(x2.id()), 70u);

  // Heal: everything converges.
  ASSERT_TRUE(firewall_->Clear(&why)) << why;
  const auto healed = std::chrono::steady_clock::now();
  ASSERT_TRUE(PollEvery(kPoll, Millis(90000), [&] {
    return cluster_.HaveAll(All(p, 70), &missing);
  })) << "not converged 90 s after the partition healed: "
      << missing;
  std::cout << "converged "
            << std::chrono::duration_cast<Millis>(
                   std::chrono::steady_clock::now() - healed)
                   .count()
            << " ms after the partition healed\n";
  EXPECT_EQ(x2.GetHeads(), x3.GetHeads());
  EXPECT_EQ(x2.GetHeads(), x4.GetHeads());

  for (Peer* x : p) EXPECT_EQ(x->Stop(), 0) << x->name();
  for (Peer* x : p) {
    RunResult r = x->Run({"check"});
    EXPECT_EQ(r.exit_code, 0) << x->name() << ": " << Show(r);
    EXPECT_THAT(r.out, HasSubstr("3 feeds, 210 entries")) << x->name();
  }
}

}  // namespace
}  // namespace plumlog::testing
