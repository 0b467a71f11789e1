// The plumlog command's normal use: every command on a temporary store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "plumlog/store.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using json = nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = dir_.Sub("home");
    RunResult r = RunWithHome(home_, {"init"});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    id_ = r.out.substr(0, r.out.size() - 1);
  }

  RunResult Run(const std::vector<std::string>& args,
                std::string_view in = "") {
    return RunWithHome(home_, args, in);
  }

  // The content of every entry as `read --json` shows it, in order.
  std::vector<json> Contents() {
    RunResult r = Run({"read", "--json"});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    std::vector<json> out;
    for (const std::string& line : Lines(r.out))
      out.push_back(json::parse(line)["content"]);
    return out;
  }

  TempDir dir_;
  std::string home_;
  std::string id_;
};

TEST_F(CliTest, InitPrintsFeedIdAndCreatesPrivateHome) {
  EXPECT_TRUE(id_.starts_with("@") && id_.ends_with(".ed25519")) << id_;
  EXPECT_EQ(id_.size(), 1u + 44 + 8);
  struct stat st;
  ASSERT_EQ(::stat((home_ + "/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CliTest, WhoamiPrintsTheInitId) {
  RunResult r = Run({"whoami"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, id_ + "\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, InitTwiceFails) {
  RunResult r = Run({"init"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_NE(r.err.find("plumlog: error: a plumlog store already exists"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Run({"whoami"}).out, id_ + "\n");
}

TEST_F(CliTest, HomeFromEnvironmentAndFlagAfterCommand) {
  RunResult env = RunPlumlog({"whoami"}, "", {{"PLUMLOG_HOME", home_}});
  EXPECT_EQ(env.exit_code, 0) << Show(env);
  EXPECT_EQ(env.out, id_ + "\n");
  RunResult after = RunPlumlog({"whoami", "--home", home_});
  EXPECT_EQ(after.out, id_ + "\n") << Show(after);
  // --home wins over $PLUMLOG_HOME; $HOME/.plumlog is the last resort.
  RunResult both = RunPlumlog({"--home", home_, "whoami"}, "",
                              {{"PLUMLOG_HOME", dir_.Sub("elsewhere")}});
  EXPECT_EQ(both.out, id_ + "\n") << Show(both);
  RunResult fallback =
      RunPlumlog({"init"}, "",
                 {{"PLUMLOG_HOME", std::nullopt}, {"HOME", dir_.Sub("user")}});
  EXPECT_EQ(fallback.exit_code, 0) << Show(fallback);
  struct stat st;
  EXPECT_EQ(::stat(dir_.Sub("user/.plumlog/secret").c_str(), &st), 0);
}

TEST_F(CliTest, AppendTextArgument) {
  RunResult r = Run({"append", "hello world"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  std::vector<std::string> fields = Lines(r.out);
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_TRUE(fields[0].starts_with("1\t%")) << fields[0];
  EXPECT_TRUE(fields[0].ends_with(".blake2b")) << fields[0];
  // Text that starts with a dash goes after "--".
  RunResult dash = Run({"append", "--", "-not an option"});
  ASSERT_EQ(dash.exit_code, 0) << Show(dash);
  std::vector<json> c = Contents();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], json("hello world"));
  EXPECT_EQ(c[1], json("-not an option"));
}

TEST_F(CliTest, AppendEverySource) {
  const std::string file = dir_.Sub("content.txt");
  WriteFileBytes(file, "file text\n");
  const std::string json_file = dir_.Sub("content.json");
  WriteFileBytes(json_file, " {\"from\": \"json file\", \"n\": [1, 2]}\n");
  ASSERT_EQ(Run({"append", "text arg"}).exit_code, 0);
  ASSERT_EQ(
      Run({"append", "--json", R"({"k":[1,-2,3.5,true,null,"s"]})"}).exit_code,
      0);
  ASSERT_EQ(Run({"append", "--json", "42"}).exit_code, 0);
  ASSERT_EQ(Run({"append", "--json", "-"}, "[\"json\", \"stdin\"]").exit_code,
            0);
  ASSERT_EQ(Run({"append", "--file", file}).exit_code, 0);
  ASSERT_EQ(Run({"append", "--json-file", json_file}).exit_code, 0);
  ASSERT_EQ(Run({"append", "--json-file", "-"}, "{\"a\": {}}").exit_code, 0);
  ASSERT_EQ(Run({"append", "--file", "-"}, "dash stdin").exit_code, 0);
  RunResult last = Run({"append"}, "plain stdin\n");
  ASSERT_EQ(last.exit_code, 0) << Show(last);
  EXPECT_TRUE(last.out.starts_with("9\t%")) << last.out;
  std::vector<json> c = Contents();
  ASSERT_EQ(c.size(), 9u);
  EXPECT_EQ(c[0], json("text arg"));
  EXPECT_EQ(c[1], json::parse(R"({"k":[1,-2,3.5,true,null,"s"]})"));
  EXPECT_EQ(c[2], json(42));
  EXPECT_EQ(c[3], json::parse(R"(["json","stdin"])"));
  EXPECT_EQ(c[4], json("file text\n"));  // bytes kept as they are
  EXPECT_EQ(c[5], json::parse(R"({"from":"json file","n":[1,2]})"));
  EXPECT_EQ(c[6], json::parse(R"({"a":{}})"));
  EXPECT_EQ(c[7], json("dash stdin"));
  EXPECT_EQ(c[8], json("plain stdin\n"));
}

TEST_F(CliTest, BinaryContentRoundTripsThroughJson) {
  ASSERT_EQ(Run({"append", "--json", R"({"$bin":"AAEC/w=="})"}).exit_code, 0);
  ASSERT_EQ(
      Run({"append", "--json", R"([{"$ext":5,"$bin":"AQ=="}])"}).exit_code, 0);
  std::vector<json> c = Contents();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], json::parse(R"({"$bin":"AAEC/w=="})"));
  EXPECT_EQ(c[1], json::parse(R"([{"$ext":5,"$bin":"AQ=="}])"));
  // Appending the printed JSON again stores the same content bytes.
  ASSERT_EQ(Run({"append", "--json", c[0].dump()}).exit_code, 0);
  EXPECT_EQ(Contents()[2], c[0]);
}

TEST_F(CliTest, ContentJsonCannotHoldIsShownAsRawMsgpack) {
  // A map with an integer key ({1: 2}), as another program might write.
  {
    Result<std::unique_ptr<Store>> store = Store::Open(home_, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Append(std::string("\x81\x01\x02", 3)).ok());
  }
  std::vector<json> c = Contents();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0], json::parse(R"({"$msgpack":"gQEC"})"));
  RunResult text = Run({"read"});
  EXPECT_TRUE(text.out.ends_with("\t{\"$msgpack\":\"gQEC\"}\n")) << text.out;
}

TEST_F(CliTest, ReadTextFormat) {
  ASSERT_EQ(Run({"append", "first"}).exit_code, 0);
  ASSERT_EQ(Run({"append", "--json", R"({"x":1})"}).exit_code, 0);
  ASSERT_EQ(Run({"append", "two\nlines"}).exit_code, 0);
  RunResult r = Run({"read"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  std::string author = "@";
  author += id_.substr(1, 8);
  // seq, author short, UTC timestamp, content.
  const std::string prefix = "1\t" + author + "\t20";
  EXPECT_TRUE(lines[0].starts_with(prefix)) << lines[0];
  EXPECT_TRUE(lines[0].ends_with("Z\tfirst")) << lines[0];
  EXPECT_EQ(lines[0][prefix.size() + 8], 'T') << lines[0];
  EXPECT_TRUE(lines[1].ends_with("Z\t{\"x\":1}")) << lines[1];
  EXPECT_TRUE(lines[2].ends_with("Z\t\"two\\nlines\"")) << lines[2];
  // The same with the feed named: self and the full id.
  EXPECT_EQ(Run({"read", "self"}).out, r.out);
  EXPECT_EQ(Run({"read", id_}).out, r.out);
}

TEST_F(CliTest, ReadJsonFields) {
  RunResult a1 = Run({"append", "a"});
  RunResult a2 = Run({"append", "--json", "[1]"});
  ASSERT_EQ(a2.exit_code, 0);
  RunResult r = Run({"read", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  json e1 = json::parse(lines[0]);
  json e2 = json::parse(lines[1]);
  EXPECT_EQ(e1["author"], id_);
  EXPECT_EQ(e1["seq"], 1);
  EXPECT_EQ("1\t" + e1["id"].get<std::string>() + "\n", a1.out);
  EXPECT_TRUE(e1["previous"].is_null());
  EXPECT_EQ(e1["lamport"], 1);
  EXPECT_TRUE(e1["timestamp"].is_number_unsigned());
  EXPECT_EQ(e1["position"], 1);
  EXPECT_EQ(e1["content"], "a");
  EXPECT_EQ(e2["seq"], 2);
  EXPECT_EQ(e2["previous"], e1["id"]);
  EXPECT_GT(e2["lamport"].get<uint64_t>(), e1["lamport"].get<uint64_t>());
  EXPECT_GE(e2["timestamp"].get<uint64_t>(), e1["timestamp"].get<uint64_t>());
  EXPECT_EQ(e2["content"], json::parse("[1]"));
  // Reading one feed gives no arrival position.
  json f1 = json::parse(Lines(Run({"read", "self", "--json"}).out)[0]);
  EXPECT_FALSE(f1.contains("position"));
  EXPECT_EQ(f1["id"], e1["id"]);
}

TEST_F(CliTest, ReadSinceAndLimit) {
  for (int i = 1; i <= 6; ++i) {
    ASSERT_EQ(
        Run({"append", std::string("m").append(std::to_string(i))}).exit_code,
        0);
  }
  auto seqs = [&](const std::vector<std::string>& args) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    std::string s;
    for (const std::string& line : Lines(r.out)) {
      s += line.substr(0, line.find('\t'));
      s += ',';
    }
    return s;
  };
  EXPECT_EQ(seqs({"read"}), "1,2,3,4,5,6,");
  EXPECT_EQ(seqs({"read", "--since", "4"}), "5,6,");
  EXPECT_EQ(seqs({"read", "--limit", "2"}), "1,2,");
  EXPECT_EQ(seqs({"read", "--since", "2", "--limit", "3"}), "3,4,5,");
  EXPECT_EQ(seqs({"read", "self", "--since", "5"}), "6,");
  EXPECT_EQ(seqs({"read", "self", "--since", "1", "--limit", "1"}), "2,");
  EXPECT_EQ(seqs({"read", "--since", "6"}), "");
  EXPECT_EQ(seqs({"read", "--limit", "0"}), "");
}

TEST_F(CliTest, ReadFeedSelectsOneAuthor) {
  // A second store's feed arrives by import; then FEED picks one of the two.
  TempDir other_dir;
  const std::string other = other_dir.Sub("home");
  RunResult init = RunWithHome(other, {"init"});
  ASSERT_EQ(init.exit_code, 0) << Show(init);
  const std::string other_id = init.out.substr(0, init.out.size() - 1);
  ASSERT_EQ(RunWithHome(other, {"append", "theirs 1"}).exit_code, 0);
  ASSERT_EQ(RunWithHome(other, {"append", "theirs 2"}).exit_code, 0);
  ASSERT_EQ(Run({"append", "mine"}).exit_code, 0);
  const std::string stream = other_dir.Sub("x.plumlog");
  ASSERT_EQ(RunWithHome(other, {"export", "-o", stream}).exit_code, 0);
  RunResult imp = Run({"import", stream});
  ASSERT_EQ(imp.exit_code, 0) << Show(imp);

  RunResult theirs = Run({"read", other_id, "--json"});
  ASSERT_EQ(theirs.exit_code, 0) << Show(theirs);
  std::vector<std::string> lines = Lines(theirs.out);
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& l : lines)
    EXPECT_EQ(json::parse(l)["author"], other_id);
  RunResult mine = Run({"read", "self"});
  EXPECT_EQ(Lines(mine.out).size(), 1u);
  // Arrival order: mine first, then the imported ones; positions 1..3.
  std::vector<std::string> all = Lines(Run({"read", "--json"}).out);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(json::parse(all[0])["author"], id_);
  EXPECT_EQ(json::parse(all[2])["position"], 3);
  EXPECT_EQ(Lines(Run({"read", "--since", "1"}).out).size(), 2u);
  // Imported entries raise the local lamport clock.
  ASSERT_EQ(Run({"append", "after"}).exit_code, 0);
  json after = json::parse(
      Lines(Run({"read", "self", "--since", "1", "--json"}).out)[0]);
  EXPECT_GT(after["lamport"].get<uint64_t>(), 2u);
  // A feed this store has never seen reads as empty.
  RunResult unknown =
      Run({"read", "@AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519"});
  EXPECT_EQ(unknown.exit_code, 0) << Show(unknown);
  EXPECT_EQ(unknown.out, "");
}

TEST_F(CliTest, FeedsTextAndJson) {
  RunResult empty = Run({"feeds"});
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.out, "");
  ASSERT_EQ(Run({"append", "a"}).exit_code, 0);
  RunResult last = Run({"append", "b"});
  const std::string head = Lines(last.out)[0].substr(2);
  RunResult text = Run({"feeds"});
  ASSERT_EQ(text.exit_code, 0) << Show(text);
  EXPECT_EQ(text.out, id_ + "\t2\t" + head + "\t-\n");
  RunResult js = Run({"feeds", "--json"});
  ASSERT_EQ(js.exit_code, 0) << Show(js);
  json f = json::parse(js.out);
  EXPECT_EQ(f["author"], id_);
  EXPECT_EQ(f["seq"], 2);
  EXPECT_EQ(f["head"], head);
  EXPECT_EQ(f["lamport"], 2);
  EXPECT_EQ(f["forked"], false);
}

TEST_F(CliTest, CheckPasses) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Run({"append", "x"}).exit_code, 0);
  RunResult r = Run({"check"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "checked 1 feeds, 3 entries, 0 fork proofs: ok\n");
}

TEST_F(CliTest, HelpForEveryCommand) {
  RunResult top = RunPlumlog({"--help"});
  EXPECT_EQ(top.exit_code, 0) << Show(top);
  for (const char* cmd : {"init", "whoami", "append", "read", "feeds", "check",
                          "export", "import"}) {
    EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
    RunResult r = RunPlumlog({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd << Show(r);
    EXPECT_NE(r.out.find(std::string("plumlog ") + cmd), std::string::npos)
        << r.out;
  }
  EXPECT_NE(RunPlumlog({"read", "--help"}).out.find("--follow"),
            std::string::npos);
  EXPECT_NE(RunPlumlog({"append", "--help"}).out.find("--json-file"),
            std::string::npos);
}

}  // namespace
}  // namespace plumlog::testing
