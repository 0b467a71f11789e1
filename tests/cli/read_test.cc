// `plumlog read --last/--reverse/--type`, `plumlog get`, `--version`, and
// how text output shows strings that are not UTF-8.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "plumlog/store.h"
#include "storage/msgpack_reader.h"
#include "tests/cli/daemon_util.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class ReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = dir_.Sub("home");
    ASSERT_EQ(RunWithHome(home_, {"init"}).exit_code, 0);
    // 1..12 alternating "post" and "vote" maps, every third a plain string.
    std::string lines;
    for (int i = 1; i <= 12; ++i) {
      if (i % 3 == 0) {
        lines += "\"s" + std::to_string(i) + "\"\n";
      } else {
        lines += R"({"type":")" + std::string(i % 2 ? "post" : "vote") +
                 R"(","n":)" + std::to_string(i) + "}\n";
      }
    }
    RunResult r = Run({"append", "--jsonl"}, lines);
    ASSERT_EQ(r.exit_code, 0) << Show(r);
  }

  RunResult Run(const std::vector<std::string>& args,
                std::string_view in = "") {
    return RunWithHome(home_, args, in);
  }

  // The seqs `read ARGS --json` prints, in order.
  std::vector<int> Seqs(std::vector<std::string> args) {
    args.insert(args.begin(), "read");
    args.push_back("--json");
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    std::vector<int> out;
    for (const std::string& line : Lines(r.out))
      out.push_back(json::parse(line)["seq"]);
    return out;
  }

  TempDir dir_;
  std::string home_;
};

using V = std::vector<int>;

TEST_F(ReadTest, LastPrintsTheNewestNOldestFirst) {
  EXPECT_EQ(Seqs({"--last", "3"}), (V{10, 11, 12}));
  EXPECT_EQ(Seqs({"self", "--last", "3"}), (V{10, 11, 12}));
  EXPECT_EQ(Seqs({"--last", "100"}).size(), 12u);
  EXPECT_EQ(Seqs({"--last", "0"}), V{});
  // --since bounds it from below.
  EXPECT_EQ(Seqs({"--last", "5", "--since", "9"}), (V{10, 11, 12}));
  EXPECT_EQ(Seqs({"self", "--last", "5", "--since", "9"}), (V{10, 11, 12}));
  // Text output too.
  RunResult text = Run({"read", "--last", "1"});
  ASSERT_EQ(text.exit_code, 0) << Show(text);
  EXPECT_THAT(text.out, StartsWith("12\t@"));
  EXPECT_EQ(Lines(text.out).size(), 1u);
}

TEST_F(ReadTest, ReverseIsNewestFirst) {
  EXPECT_EQ(Seqs({"--reverse"}), (V{12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(Seqs({"self", "--reverse", "--limit", "2"}), (V{12, 11}));
  EXPECT_EQ(Seqs({"--reverse", "--last", "3"}), (V{12, 11, 10}));
  EXPECT_EQ(Seqs({"--reverse", "--since", "10"}), (V{12, 11}));
  // Arrival positions come with the arrival order, backwards too.
  RunResult r = Run({"read", "--reverse", "--limit", "1", "--json"});
  EXPECT_EQ(json::parse(r.out)["position"], 12);
}

TEST_F(ReadTest, TypeKeepsOnlyMapsOfThatTypeAndLimitsCountThem) {
  EXPECT_EQ(Seqs({"--type", "post"}), (V{1, 5, 7, 11}));
  EXPECT_EQ(Seqs({"--type", "vote"}), (V{2, 4, 8, 10}));
  EXPECT_EQ(Seqs({"self", "--type", "post", "--limit", "2"}), (V{1, 5}));
  EXPECT_EQ(Seqs({"--type", "post", "--last", "2"}), (V{7, 11}));
  EXPECT_EQ(Seqs({"--type", "vote", "--reverse", "--limit", "3"}),
            (V{10, 8, 4}));
  EXPECT_EQ(Seqs({"--type", "nothing"}), V{});
}

TEST_F(ReadTest, LastThenFollowPrintsNewEntries) {
  std::unique_ptr<Subprocess> p =
      Subprocess::Start({PLUMLOG_BIN, "--home", home_, "read", "--last", "2",
                         "--follow", "--type", "post"});
  std::optional<std::string> a = p->ReadLine(Millis(30000));
  std::optional<std::string> b = p->ReadLine(Millis(30000));
  ASSERT_TRUE(a && b);
  EXPECT_THAT(*a, StartsWith("7\t"));
  EXPECT_THAT(*b, StartsWith("11\t"));
  // Entries appended afterwards are followed (only the matching ones).
  ASSERT_EQ(Run({"append", "--json", R"({"type":"vote"})"}).exit_code, 0);
  ASSERT_EQ(
      Run({"append", "--json", R"({"type":"post","new":true})"}).exit_code, 0);
  std::optional<std::string> c = p->ReadLine(Millis(30000));
  ASSERT_TRUE(c) << p->pending_out();
  EXPECT_THAT(*c, StartsWith("14\t"));
  EXPECT_THAT(*c, HasSubstr("\"new\":true"));
  p->Kill(SIGTERM);
  RunResult r = p->Finish();
  EXPECT_EQ(r.exit_code, 0) << Show(r);
}

TEST_F(ReadTest, ConflictingOptionsAreUsageErrors) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"read", "--reverse", "--follow"},
        {"read", "--last", "2", "--limit", "3"},
        {"read", "--last", "-1"}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << Show(r);
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(ReadTest, GetPrintsOneEntryByIdAsReadDoes) {
  RunResult all = Run({"read", "--json"});
  std::vector<std::string> lines = Lines(all.out);
  ASSERT_EQ(lines.size(), 12u);
  const json fifth = json::parse(lines[4]);
  const std::string id = fifth["id"];
  RunResult r = Run({"get", id, "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  json got = json::parse(r.out);
  json expected = fifth;
  expected.erase("position");  // arrival order only
  EXPECT_EQ(got, expected);
  RunResult text = Run({"get", id});
  ASSERT_EQ(text.exit_code, 0) << Show(text);
  EXPECT_EQ(text.out, Lines(Run({"read"}).out)[4] + "\n");
  // An id the store lacks: exit 1; not an id at all: usage error.
  const std::string missing = "%" + std::string(43, 'A') + "=.blake2b";
  RunResult none = Run({"get", missing});
  EXPECT_EQ(none.exit_code, 1) << Show(none);
  EXPECT_THAT(none.err, HasSubstr("no entry " + missing));
  RunResult bad = Run({"get", "@notanentry"});
  EXPECT_EQ(bad.exit_code, 2) << Show(bad);
  EXPECT_THAT(bad.err,
              HasSubstr("not an entry id (expected %<base64>.blake2b"));
}

TEST_F(ReadTest, GetAndLastWorkWhileADaemonServes) {
  Daemon d(home_, {"--preset", "test"});
  ASSERT_TRUE(d.started()) << d.log();
  RunResult app = Run({"append", "while serving"});
  ASSERT_EQ(app.exit_code, 0) << Show(app);
  const std::string id = app.out.substr(app.out.find('\t') + 1, 53);
  RunResult got = Run({"get", id});
  ASSERT_EQ(got.exit_code, 0) << Show(got);
  EXPECT_THAT(got.out, HasSubstr("while serving"));
  EXPECT_EQ(Seqs({"--last", "1"}), V{13});
}

TEST(VersionTest, VersionFlagPrintsTheVersion) {
  RunResult r = RunPlumlog({"--version"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, std::string("plumlog ") + PLUMLOG_VERSION + "\n");
}

TEST(TextOutputTest,
     InvalidUtf8StringsAreShownAsJsonWithReplacementCharacters) {
  TempDir dir;
  const std::string home = dir.Sub("home");
  ASSERT_EQ(RunWithHome(home, {"init"}).exit_code, 0);
  {
    StoreOptions options;
    auto store = Store::Open(home, options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::string content;
    storage::AppendMsgpackStr(&content, "caf\xe9 ok");  // Latin-1 é: not UTF-8
    ASSERT_TRUE((*store)->Append(content).ok());
  }
  RunResult text = RunWithHome(home, {"read"});
  ASSERT_EQ(text.exit_code, 0) << Show(text);
  EXPECT_THAT(text.out, HasSubstr("\t\"caf\xef\xbf\xbd ok\"\n"));
  RunResult js = RunWithHome(home, {"read", "--json"});
  EXPECT_EQ(json::parse(js.out)["content"], "caf\xef\xbf\xbd ok");
}

TEST(TextOutputTest, ControlCharactersNeverReachTheTerminalRaw) {
  TempDir dir;
  const std::string home = dir.Sub("home");
  ASSERT_EQ(RunWithHome(home, {"init"}).exit_code, 0);
  {
    auto store = Store::Open(home, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    // DEL, and U+009B (CSI as a C1 control: an escape sequence on some
    // terminals), in a plain string and inside a map.
    std::string text, map;
    storage::AppendMsgpackStr(&text, "a\x7f b\xc2\x9b[31m c");
    storage::AppendMsgpackMapHeader(&map, 1);
    storage::AppendMsgpackStr(&map, "k\xc2\x9b");
    storage::AppendMsgpackStr(&map, "v\x7f");
    ASSERT_TRUE((*store)->Append(text).ok());
    ASSERT_TRUE((*store)->Append(map).ok());
  }
  RunResult r = RunWithHome(home, {"read"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("\t\"a\\u007f b\\u009b[31m c\"\n"));
  EXPECT_THAT(r.out, HasSubstr("\t{\"k\\u009b\":\"v\\u007f\"}\n"));
  EXPECT_EQ(r.out.find('\x7f'), std::string::npos);
  EXPECT_EQ(r.out.find("\xc2\x9b"), std::string::npos);
}

}  // namespace
}  // namespace plumlog::testing
