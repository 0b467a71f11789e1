// Five `plumlog serve` daemons in a line (each --peer the previous one), each
// appending 200 entries through its control socket: every store ends up with
// every feed, entry for entry, and passes `plumlog check`.
//
// Without membership the line really is a line (an entry from one end crosses
// three daemons to reach the other end); with membership each daemon only
// bootstraps from the previous one and the views may add shortcuts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "tests/integration/integration_test.h"

namespace plumlog::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr int kDaemons = 5;
constexpr int kEntries = 200;
constexpr Millis kConverge(90000);
constexpr Millis kPoll(250);

class LineTest : public IntegrationTest,
                 public ::testing::WithParamInterface<bool> {
 protected:
  bool membership() const { return GetParam(); }
};

TEST_P(LineTest, FiveDaemonsConverge) {
  std::vector<Peer*> peers;
  for (int i = 0; i < kDaemons; ++i)
    peers.push_back(&Add(std::string("n") + std::to_string(i)));
  for (int i = 0; i < kDaemons; ++i) {
    std::vector<std::string> args;
    if (!membership()) args.push_back("--no-membership");
    if (i > 0) {
      args.push_back("--peer");
      args.push_back(peers[i - 1]->address());
    }
    ASSERT_TRUE(Start(*peers[i], args));
  }

  std::vector<std::string> errors = AppendOnAll(peers, kEntries);
  ASSERT_TRUE(errors.empty()) << ::testing::PrintToString(errors);

  std::map<std::string, uint64_t> want;
  for (Peer* p : peers) want[p->id()] = kEntries;
  std::string missing;
  ASSERT_TRUE(PollEvery(kPoll, kConverge,
                        [&] { return cluster_.HaveAll(want, &missing); }))
      << "not converged after " << kConverge.count() << " ms: " << missing;

  // Every store holds the same heads, and the far end has every entry of
  // the near end with the ids the near end stored.
  std::optional<Heads> first = peers[0]->GetHeads();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->size(), static_cast<size_t>(kDaemons));
  for (Peer* p : peers) EXPECT_EQ(p->GetHeads(), first) << p->name();
  auto near = peers[0]->ReadFeed(peers[0]->id());
  auto far = peers[kDaemons - 1]->ReadFeed(peers[0]->id());
  ASSERT_TRUE(near && far);
  EXPECT_EQ(near->size(), static_cast<size_t>(kEntries));
  EXPECT_EQ(*near, *far);
  // And the text, in order.
  RunResult r = peers[kDaemons - 1]->Run({"read", peers[0]->id(), "--limit", "3"});
  EXPECT_THAT(r.out, HasSubstr("\tn0 1\n")) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("\tn0 3\n")) << Show(r);

  std::map<std::string, int> index;
  for (int i = 0; i < kDaemons; ++i) index[peers[i]->id()] = i;
  for (int i = 0; i < kDaemons; ++i) {
    std::optional<json> s = peers[i]->Status();
    ASSERT_TRUE(s.has_value()) << peers[i]->name();
    if (!membership()) {
      // The line is a line: a daemon is connected to its neighbours only.
      bool to_previous = false;
      for (const json& c : (*s)["connections"]) {
        const int j = index.count(c["peer"]) ? index[c["peer"]] : -1;
        EXPECT_TRUE(j == i - 1 || j == i + 1)
            << peers[i]->name() << " is connected to " << c.dump();
        to_previous = to_previous || j == i - 1;
      }
      if (i > 0) {
        EXPECT_TRUE(to_previous) << peers[i]->name() << ": " << s->dump();
      }
    }
    EXPECT_EQ((*s)["counters"]["invalid_entries"], 0) << s->dump();
    EXPECT_EQ((*s)["counters"]["forks"], 0) << s->dump();
  }
  if (membership()) {
    // Everyone learns of everyone by gossip.
    std::string seen;
    EXPECT_TRUE(PollEvery(kPoll, Millis(30000), [&] {
      seen.clear();
      bool all = true;
      for (Peer* p : peers) {
        std::optional<json> s = p->Status();
        const int alive = s ? (*s)["members_alive"].get<int>() : -1;
        seen += p->name() + ":" + std::to_string(alive) + " ";
        all = all && alive == kDaemons;
      }
      return all;
    })) << "members alive: " << seen;
  }

  for (Peer* p : peers) EXPECT_EQ(p->Stop(), 0) << p->name();
  for (Peer* p : peers) {
    r = p->Run({"check"});
    EXPECT_EQ(r.exit_code, 0) << p->name() << ": " << Show(r);
    EXPECT_THAT(r.out, HasSubstr("checked 5 feeds, 1000 entries, 0 fork proofs: ok"))
        << p->name();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Daemons, LineTest, ::testing::Values(false, true),
    [](const ::testing::TestParamInfo<bool>& param_info) {
      return param_info.param ? std::string("Membership")
                        : std::string("NoMembership");
    });

}  // namespace
}  // namespace plumlog::testing
