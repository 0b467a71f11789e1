// `plumlog append`: bulk append (--lines, --jsonl) in batches, with and
// without a daemon; --binary; empty and binary input refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/daemon_util.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

class AppendTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    home_ = dir_.Sub("home");
    RunResult r = RunWithHome(home_, {"init"});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    // The parameter: through a running daemon, or on the store itself.
    if (GetParam()) {
      daemon_ = std::make_unique<Daemon>(
          home_, std::vector<std::string>{"--preset", "test"});
      ASSERT_TRUE(daemon_->started()) << daemon_->log();
    }
  }

  RunResult Run(const std::vector<std::string>& args,
                std::string_view in = "") {
    return RunWithHome(home_, args, in);
  }

  // Every entry of the local feed as `read --json` prints it.
  std::vector<json> Entries() {
    RunResult r = Run({"read", "self", "--json"});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    std::vector<json> out;
    for (const std::string& line : Lines(r.out))
      out.push_back(json::parse(line));
    return out;
  }

  TempDir dir_;
  std::string home_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_P(AppendTest, LinesBecomeOneEntryEachAcrossBatchesInOrder) {
  // 2,500 lines: three batches of at most 1,000.
  std::string input;
  for (int i = 1; i <= 2500; ++i) input += "line " + std::to_string(i) + "\n";
  RunResult r = Run({"append", "--lines"}, input);
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  std::vector<std::string> printed = Lines(r.out);
  ASSERT_EQ(printed.size(), 2500u);
  std::vector<json> entries = Entries();
  ASSERT_EQ(entries.size(), 2500u);
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i]["content"], "line " + std::to_string(i + 1));
    // What append printed is each entry's seq and id.
    EXPECT_EQ(printed[i], std::to_string(i + 1) + "\t" +
                              entries[i]["id"].get<std::string>());
  }
  EXPECT_EQ(Run({"check"}).exit_code, 0);
}

TEST_P(AppendTest, LinesSkipEmptyLinesDropCrAndTakeALastLineWithoutNewline) {
  RunResult r = Run({"append", "--lines"}, "a\n\nb c\r\n\n  \nlast");
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  std::vector<json> e = Entries();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0]["content"], "a");
  EXPECT_EQ(e[1]["content"], "b c");
  EXPECT_EQ(e[2]["content"], "  ");  // not empty: kept as it is
  EXPECT_EQ(e[3]["content"], "last");
}

TEST_P(AppendTest, JsonlParsesEachLineAndSkipsBlankOnes) {
  RunResult r = Run({"append", "--jsonl"},
                    "{\"type\":\"post\",\"n\":1}\n\n   "
                    "\n[1,2]\n\"text\"\n{\"$bin\":\"AAE=\"}\n");
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  std::vector<json> e = Entries();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0]["content"], json::parse(R"({"type":"post","n":1})"));
  EXPECT_EQ(e[1]["content"], json::parse("[1,2]"));
  EXPECT_EQ(e[2]["content"], "text");
  EXPECT_EQ(e[3]["content"], json::parse(R"({"$bin":"AAE="})"));
}

TEST_P(AppendTest, FileAsTheSourceOfLines) {
  WriteFileBytes(dir_.Sub("in.txt"), "x\ny\n");
  RunResult r = Run({"append", "--lines", "--file", dir_.Sub("in.txt")});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(Entries().size(), 2u);
}

TEST_P(AppendTest, ABadLineStopsThereWithEverythingBeforeItStored) {
  // 1,500 good lines (one full batch and part of the next), then bad JSON:
  // all 1,500 are stored, the line number is named, nothing after it.
  std::string input;
  for (int i = 1; i <= 1500; ++i) input += std::to_string(i) + "\n";
  input += "{bad\n7\n";
  RunResult r = Run({"append", "--jsonl"}, input);
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err,
              HasSubstr("line 1501: invalid JSON: parse error at column 2"));
  EXPECT_THAT(r.err, HasSubstr("the 1500 entries before it were appended"));
  EXPECT_EQ(Lines(r.out).size(), 1500u);
  std::vector<json> e = Entries();
  ASSERT_EQ(e.size(), 1500u);
  EXPECT_EQ(e.back()["content"], 1500);
}

TEST_P(AppendTest, ATooLargeLineInsideABatchStopsAtThatLine) {
  // Content just under 64 KiB fits no entry once the header is added: the
  // store refuses the batch as a whole, and append then finds the line.
  std::string input = "one\ntwo\n" + std::string(65500, 'x') + "\nfour\n";
  RunResult r = Run({"append", "--lines"}, input);
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("line 3: "));
  EXPECT_THAT(r.err, HasSubstr("65536"));
  EXPECT_THAT(r.err, HasSubstr("the 2 entries before it were appended"));
  std::vector<json> e = Entries();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[1]["content"], "two");
  // Content over 64 KiB is refused before it reaches the store.
  RunResult over =
      Run({"append", "--lines"}, "three\n" + std::string(70000, 'x') + "\n");
  EXPECT_EQ(over.exit_code, 1) << Show(over);
  EXPECT_THAT(
      over.err,
      HasSubstr("line 2: content is 70005 bytes; an entry is at most 65536"));
  EXPECT_EQ(Entries().size(), 3u);
  // A line no entry could ever hold is refused while reading.
  RunResult huge =
      Run({"append", "--lines"}, "ok\n" + std::string(200000, 'y'));
  EXPECT_EQ(huge.exit_code, 1) << Show(huge);
  EXPECT_THAT(huge.err, HasSubstr("line 2 is longer than"));
  EXPECT_EQ(Entries().size(), 4u);  // "ok" was appended before it
}

TEST_P(AppendTest, LinesThatAreNotTextAreRefused) {
  RunResult r = Run({"append", "--lines"}, "fine\nbad \xff\n");
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("line 2: the line is not UTF-8 text"));
  EXPECT_EQ(Entries().size(), 1u);
}

TEST_P(AppendTest, NoLinesAtAllIsRefused) {
  for (const char* in : {"", "\n\n"}) {
    RunResult r = Run({"append", "--lines"}, in);
    EXPECT_EQ(r.exit_code, 1) << Show(r);
    EXPECT_THAT(r.err, HasSubstr("has no lines: nothing to append"));
  }
  EXPECT_TRUE(Entries().empty());
}

TEST_P(AppendTest, EmptyInputIsRefusedNotStoredAsAnEmptyString) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"append"},
        {"append", "--file", "-"},
        {"append", "--binary"}}) {
    RunResult r = Run(args, "");
    EXPECT_EQ(r.exit_code, 1) << Show(r);
    EXPECT_THAT(r.err, HasSubstr("standard input is empty: nothing to append"));
  }
  WriteFileBytes(dir_.Sub("empty"), "");
  RunResult f = Run({"append", "--file", dir_.Sub("empty")});
  EXPECT_EQ(f.exit_code, 1) << Show(f);
  EXPECT_THAT(f.err, HasSubstr(dir_.Sub("empty") + " is empty"));
  EXPECT_TRUE(Entries().empty());
  // An empty string on purpose is still possible.
  ASSERT_EQ(Run({"append", ""}).exit_code, 0);
  EXPECT_EQ(Entries().at(0)["content"], "");
}

TEST_P(AppendTest, BinaryInputIsRefusedUnlessBinaryThenStoredAsBin) {
  const std::string bytes("\x89PNG\r\n\x1a\n\x00\x01\xfe\xff", 12);
  RunResult refused = Run({"append"}, bytes);
  EXPECT_EQ(refused.exit_code, 1) << Show(refused);
  EXPECT_THAT(refused.err,
              HasSubstr("standard input is not UTF-8 text (12 bytes)"));
  EXPECT_THAT(refused.err, HasSubstr("--binary"));
  // NUL bytes in otherwise valid UTF-8 are not text either.
  RunResult nul = Run({"append"}, std::string("a\0b", 3));
  EXPECT_EQ(nul.exit_code, 1) << Show(nul);
  EXPECT_THAT(nul.err, HasSubstr("contains NUL bytes"));
  EXPECT_TRUE(Entries().empty());

  RunResult ok = Run({"append", "--binary"}, bytes);
  ASSERT_EQ(ok.exit_code, 0) << Show(ok);
  WriteFileBytes(dir_.Sub("blob"), bytes);
  ASSERT_EQ(Run({"append", "--binary", "--file", dir_.Sub("blob")}).exit_code,
            0);
  std::vector<json> e = Entries();
  ASSERT_EQ(e.size(), 2u);
  // base64 of the 12 bytes, in the {"$bin"} form `append --json` takes back.
  const json expected = {{"$bin", "iVBORw0KGgoAAf7/"}};
  EXPECT_EQ(e[0]["content"], expected);
  EXPECT_EQ(e[1]["content"], expected);
  // Text input with --binary is stored as bytes too.
  ASSERT_EQ(Run({"append", "--binary"}, "hi").exit_code, 0);
  EXPECT_EQ(Entries().at(2)["content"], json({{"$bin", "aGk="}}));
}

INSTANTIATE_TEST_SUITE_P(StoreAndDaemon, AppendTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "ThroughDaemon" : "OnStore";
                         });

TEST(AppendUsageTest, ConflictingSourcesAreUsageErrors) {
  TempDir dir;
  const std::string home = dir.Sub("home");
  ASSERT_EQ(RunWithHome(home, {"init"}).exit_code, 0);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"append", "--lines", "--jsonl"},
        {"append", "--lines", "text"},
        {"append", "--jsonl", "--json", "1"},
        {"append", "--binary", "--json", "1"},
        {"append", "--binary", "--lines"},
        {"append", "--binary", "text"}}) {
    RunResult r = RunWithHome(home, args, "x\n");
    EXPECT_EQ(r.exit_code, 2) << Show(r);
    EXPECT_THAT(r.err, HasSubstr("excludes"));
  }
  EXPECT_EQ(RunWithHome(home, {"read"}).out, "");
}

}  // namespace
}  // namespace plumlog::testing
