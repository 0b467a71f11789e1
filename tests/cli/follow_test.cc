// `plumlog read --follow`: new entries appended by other processes show up.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "plumlog/store.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using ::testing::HasSubstr;

// Generous: a loaded machine may be slow; a working follow answers in ~100 ms.
constexpr Millis kLineTimeout(15000);

class FollowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = dir_.Sub("home");
    RunResult r = RunWithHome(home_, {"init"});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    id_ = r.out.substr(0, r.out.size() - 1);
  }

  std::unique_ptr<Subprocess> Follow(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {PLUMLOG_BIN, "--home", home_, "read",
                                     "--follow"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Subprocess::Start(argv);
  }

  void Append(const std::string& text) {
    RunResult r = RunWithHome(home_, {"append", text});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
  }

  // Waits for the follower to exit by itself; returns its exit code.
  static int ExitCode(Subprocess* p) {
    RunResult r;
    if (!p->WaitExit(Millis(10000), &r)) return -100;
    return r.exit_code;
  }

  TempDir dir_;
  std::string home_;
  std::string id_;
};

TEST_F(FollowTest, PrintsStoredThenAppendedEntries) {
  Append("before");
  auto follow = Follow({});
  std::optional<std::string> line = follow->ReadLine(kLineTimeout);
  ASSERT_TRUE(line.has_value());
  EXPECT_TRUE(line->starts_with("1\t@")) << *line;
  EXPECT_TRUE(line->ends_with("\tbefore")) << *line;
  for (int i = 0; i < 3; ++i) {
    const std::string text = "appended " + std::to_string(i);
    Append(text);
    line = follow->ReadLine(kLineTimeout);
    ASSERT_TRUE(line.has_value()) << "no line for " << text;
    EXPECT_TRUE(line->starts_with(std::to_string(i + 2) + "\t@")) << *line;
    EXPECT_TRUE(line->ends_with("\t" + text)) << *line;
  }
  follow->Kill(SIGTERM);
  EXPECT_EQ(ExitCode(follow.get()), 0);
}

TEST_F(FollowTest, FollowsOneFeedAsJsonFromAnEmptyStore) {
  auto follow = Follow({"self", "--json"});
  Append("first");
  std::optional<std::string> line = follow->ReadLine(kLineTimeout);
  ASSERT_TRUE(line.has_value());
  nlohmann::json e = nlohmann::json::parse(*line);
  EXPECT_EQ(e["author"], id_);
  EXPECT_EQ(e["seq"], 1);
  EXPECT_EQ(e["content"], "first");
  follow->Kill(SIGINT);
  EXPECT_EQ(ExitCode(follow.get()), 0);
}

TEST_F(FollowTest, StopsAtTheLimit) {
  Append("one");
  auto follow = Follow({"--limit", "2"});
  ASSERT_TRUE(follow->ReadLine(kLineTimeout).has_value());
  Append("two");
  std::optional<std::string> line = follow->ReadLine(kLineTimeout);
  ASSERT_TRUE(line.has_value());
  EXPECT_TRUE(line->ends_with("\ttwo"));
  EXPECT_EQ(ExitCode(follow.get()), 0);
}

TEST_F(FollowTest, ExitsWhenStdoutIsClosed) {
  Append("one");
  auto follow = Follow({});
  ASSERT_TRUE(follow->ReadLine(kLineTimeout).has_value());
  follow->CloseStdout();
  RunResult r;
  ASSERT_TRUE(follow->WaitExit(Millis(10000), &r))
      << "follow did not notice stdout closing";
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.term_signal, 0);
}

TEST_F(FollowTest, SeesEntriesOfAWriterHoldingTheStore) {
  Result<std::unique_ptr<Store>> writer = Store::Open(home_, StoreOptions());
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Append(TextContent("held 1")).ok());
  auto follow = Follow({"--json"});
  std::optional<std::string> line = follow->ReadLine(kLineTimeout);
  ASSERT_TRUE(line.has_value());
  EXPECT_THAT(*line, HasSubstr("\"content\":\"held 1\""));
  ASSERT_TRUE((*writer)->Append(TextContent("held 2")).ok());
  line = follow->ReadLine(kLineTimeout);
  ASSERT_TRUE(line.has_value());
  EXPECT_THAT(*line, HasSubstr("\"position\":2"));
  EXPECT_THAT(*line, HasSubstr("\"content\":\"held 2\""));
  follow->Kill(SIGTERM);
  EXPECT_EQ(ExitCode(follow.get()), 0);
}

}  // namespace
}  // namespace plumlog::testing
