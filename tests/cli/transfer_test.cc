// export -> import between stores: the round trip keeps every entry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using ::testing::HasSubstr;

std::string Init(const std::string& home) {
  RunResult r = RunWithHome(home, {"init"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  return r.out.substr(0, r.out.size() - 1);
}

void Append(const std::string& home, const std::vector<std::string>& args) {
  std::vector<std::string> full = {"append"};
  full.insert(full.end(), args.begin(), args.end());
  RunResult r = RunWithHome(home, full);
  ASSERT_EQ(r.exit_code, 0) << Show(r);
}

// The feeds of `home` minus `except`'s line: author, seq, head, lamport,
// forked.
std::string FeedsWithout(const std::string& home, const std::string& except) {
  RunResult r = RunWithHome(home, {"feeds", "--json"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  std::string out;
  for (const std::string& line : Lines(r.out)) {
    if (except.empty() || line.find(except) == std::string::npos)
      out += line + "\n";
  }
  return out;
}

std::string FeedLog(const std::string& home, const std::string& feed) {
  RunResult r = RunWithHome(home, {"read", feed, "--json"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  return r.out;
}

void ExpectCheckOk(const std::string& home) {
  RunResult r = RunWithHome(home, {"check"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, HasSubstr(": ok\n"));
}

TEST(TransferTest, ExportImportRoundTrip) {
  TempDir dir;
  const std::string a = dir.Sub("a"), b = dir.Sub("b"), c = dir.Sub("c");
  const std::string id_a = Init(a), id_b = Init(b), id_c = Init(c);
  for (int i = 0; i < 25; ++i) Append(a, {"a says " + std::to_string(i)});
  Append(a, {"--json", R"({"bytes":{"$bin":"3q2+7w=="},"list":[1,2,3]})"});
  for (int i = 0; i < 4; ++i) Append(b, {"b says " + std::to_string(i)});

  // A's feed into B through a file.
  const std::string file = dir.Sub("a.plumlog");
  RunResult exp = RunWithHome(a, {"export", "-o", file});
  ASSERT_EQ(exp.exit_code, 0) << Show(exp);
  EXPECT_EQ(exp.out, "");
  RunResult imp = RunWithHome(b, {"import", file});
  ASSERT_EQ(imp.exit_code, 0) << Show(imp);
  EXPECT_EQ(imp.out, "imported 26 entries: 26 stored, 0 duplicates\n");
  ExpectCheckOk(b);
  EXPECT_EQ(FeedLog(b, id_a), FeedLog(a, id_a));
  EXPECT_EQ(FeedsWithout(b, id_b), FeedsWithout(a, ""));

  // Again: all duplicates, nothing changes.
  imp = RunWithHome(b, {"import", file});
  ASSERT_EQ(imp.exit_code, 0) << Show(imp);
  EXPECT_EQ(imp.out, "imported 26 entries: 0 stored, 26 duplicates\n");

  // Every feed of B into C through a pipe (stdout -> stdin).
  RunResult all = RunWithHome(b, {"export"});
  ASSERT_EQ(all.exit_code, 0) << Show(all);
  EXPECT_TRUE(all.out.starts_with("PLUMLOG-EXPORT/1\n"));
  imp = RunWithHome(c, {"import"}, all.out);
  ASSERT_EQ(imp.exit_code, 0) << Show(imp);
  EXPECT_EQ(imp.out, "imported 30 entries: 30 stored, 0 duplicates\n");
  ExpectCheckOk(c);
  // Same clock: every feed at the same head (and lamport) in both stores.
  EXPECT_EQ(FeedsWithout(c, id_c), FeedsWithout(b, ""));
  EXPECT_EQ(FeedLog(c, id_a), FeedLog(a, id_a));
  EXPECT_EQ(FeedLog(c, id_b), FeedLog(b, id_b));

  // More entries later: an incremental import stores only the new ones.
  for (int i = 0; i < 3; ++i) Append(a, {"later " + std::to_string(i)});
  RunResult again = RunWithHome(a, {"export", "self"});
  ASSERT_EQ(again.exit_code, 0);
  imp = RunWithHome(c, {"import", "-"}, again.out);
  ASSERT_EQ(imp.exit_code, 0) << Show(imp);
  EXPECT_EQ(imp.out, "imported 29 entries: 3 stored, 26 duplicates\n");
  EXPECT_EQ(FeedLog(c, id_a), FeedLog(a, id_a));
  ExpectCheckOk(c);
}

TEST(TransferTest, ExportSelectedFeeds) {
  TempDir dir;
  const std::string a = dir.Sub("a"), b = dir.Sub("b"), c = dir.Sub("c");
  const std::string id_a = Init(a), id_b = Init(b);
  Init(c);
  Append(a, {"from a"});
  Append(b, {"from b"});
  RunResult b_stream = RunWithHome(b, {"export"});
  ASSERT_EQ(RunWithHome(a, {"import"}, b_stream.out).exit_code, 0);
  // Only B's feed, named by id (twice: once is enough).
  RunResult only_b = RunWithHome(a, {"export", id_b, id_b});
  ASSERT_EQ(only_b.exit_code, 0) << Show(only_b);
  RunResult imp = RunWithHome(c, {"import"}, only_b.out);
  EXPECT_EQ(imp.out, "imported 1 entries: 1 stored, 0 duplicates\n")
      << Show(imp);
  RunResult feeds = RunWithHome(c, {"feeds"});
  EXPECT_THAT(feeds.out, HasSubstr(id_b));
  EXPECT_EQ(feeds.out.find(id_a), std::string::npos);
  // An empty store exports a valid, empty stream.
  TempDir empty_dir;
  Init(empty_dir.Sub("e"));
  RunResult empty = RunWithHome(empty_dir.Sub("e"), {"export"});
  ASSERT_EQ(empty.exit_code, 0);
  imp = RunWithHome(c, {"import"}, empty.out);
  EXPECT_EQ(imp.out, "imported 0 entries: 0 stored, 0 duplicates\n")
      << Show(imp);
}

TEST(TransferTest, ExportReplacesTheOutputFileOnlyWhenComplete) {
  TempDir dir;
  const std::string a = dir.Sub("a");
  Init(a);
  Append(a, {"x"});
  std::filesystem::create_directory(dir.Sub("out"));
  const std::string file = dir.Sub("out/x.plumlog");
  WriteFileBytes(file, "old contents");
  ASSERT_EQ(RunWithHome(a, {"export", "--output", file}).exit_code, 0);
  EXPECT_TRUE(ReadFileBytes(file).starts_with("PLUMLOG-EXPORT/1\n"));
  // No temporary file is left beside it.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.Sub("out"))) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace plumlog::testing
