// net::Logger: every line timestamped with its level, levels filter, a file
// is appended to and reopened by name (logrotate), lines never interleave.
#include "net/logger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/net/log_line.h"

namespace plumlog::net {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class LoggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/plumlog-logger-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string line; std::getline(ss, line);) out.push_back(line);
    return out;
  }

  std::string dir_;
};

TEST_F(LoggerTest, EveryLineHasTimeAndLevelAndLevelsFilter) {
  const std::string path = dir_ + "/plumlog.log";
  Logger log(LogLevel::kWarn);
  ASSERT_TRUE(log.OpenFile(path).ok());
  EXPECT_EQ(log.path(), path);
  log.Log(LogLevel::kError, "disk on fire");
  log.Log(LogLevel::kWarn, "peer misbehaves");
  log.Log(LogLevel::kInfo, "dropped: below warn");
  log.Logf(LogLevel::kDebug, "dropped too: %d", 42);
  log.Logf(LogLevel::kWarn, "formatted %s %d", "x", 7);
  log.Log(LogLevel::kError, "two\nlines stay one");
  std::vector<std::string> lines = Lines(Slurp(path));
  ASSERT_EQ(lines.size(), 4u) << Slurp(path);
  for (const std::string& l : lines)
    EXPECT_TRUE(plumlog::testing::IsLogLine(l)) << l;
  EXPECT_THAT(lines[0], HasSubstr(" ERROR disk on fire"));
  EXPECT_THAT(lines[1], HasSubstr(" WARN peer misbehaves"));
  EXPECT_THAT(lines[2], HasSubstr(" WARN formatted x 7"));
  EXPECT_THAT(lines[3], HasSubstr(" ERROR two lines stay one"));
  EXPECT_FALSE(log.Enabled(LogLevel::kInfo));
  log.set_level(LogLevel::kDebug);
  EXPECT_TRUE(log.Enabled(LogLevel::kDebug));
  log.Log(LogLevel::kDebug, "now kept");
  EXPECT_THAT(Slurp(path), HasSubstr(" DEBUG now kept"));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST_F(LoggerTest, AppendsToAnExistingFileAndReopensAfterRotation) {
  const std::string path = dir_ + "/plumlog.log";
  { std::ofstream(path) << "an older line\n"; }
  Logger log;
  ASSERT_TRUE(log.OpenFile(path).ok());
  log.Log(LogLevel::kInfo, "before rotation");
  // logrotate: rename, then SIGHUP makes the daemon call Reopen().
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);
  log.Log(LogLevel::kInfo, "still into the renamed file");
  ASSERT_TRUE(log.Reopen().ok());
  log.Log(LogLevel::kInfo, "after rotation");
  const std::string old_text = Slurp(path + ".1");
  EXPECT_THAT(old_text, HasSubstr("an older line\n"));
  EXPECT_THAT(old_text, HasSubstr("before rotation"));
  EXPECT_THAT(old_text, HasSubstr("still into the renamed file"));
  EXPECT_THAT(old_text, Not(HasSubstr("after rotation")));
  EXPECT_EQ(Lines(Slurp(path)).size(), 1u);
  EXPECT_THAT(Slurp(path), HasSubstr("after rotation"));
}

TEST_F(LoggerTest, OpenFailuresKeepTheOldDestinationAndSayWhy) {
  Logger log;
  Status st = log.OpenFile(dir_ + "/no/such/dir/plumlog.log");
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("cannot open log file"));
  EXPECT_EQ(log.path(), "");
  const std::string path = dir_ + "/a.log";
  ASSERT_TRUE(log.OpenFile(path).ok());
  // The directory vanishes: reopening fails, the open file stays in use.
  ASSERT_EQ(::rename(path.c_str(), (dir_ + "/b.log").c_str()), 0);
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);  // a directory where the file was
  EXPECT_FALSE(log.Reopen().ok());
  log.Log(LogLevel::kInfo, "kept");
  EXPECT_THAT(Slurp(dir_ + "/b.log"), HasSubstr("kept"));
}

TEST_F(LoggerTest, LinesFromManyThreadsNeverInterleave) {
  const std::string path = dir_ + "/t.log";
  Logger log;
  ASSERT_TRUE(log.OpenFile(path).ok());
  constexpr int kThreads = 4, kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      const std::string body(200, static_cast<char>('a' + t));
      for (int i = 0; i < kLines; ++i) log.Log(LogLevel::kInfo, body);
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<std::string> lines = Lines(Slurp(path));
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  for (const std::string& l : lines) {
    ASSERT_TRUE(plumlog::testing::IsLogLine(l)) << l;
    const std::string body = l.substr(l.find(" INFO ") + 6);
    ASSERT_EQ(body.size(), 200u) << l;
    EXPECT_EQ(body.find_first_not_of(body[0]), std::string::npos) << l;
  }
}

TEST(LogLevelTest, NamesParseBackAndUnknownNamesSayWhich) {
  for (LogLevel l :
       {LogLevel::kError, LogLevel::kWarn, LogLevel::kInfo, LogLevel::kDebug}) {
    Result<LogLevel> parsed = ParseLogLevel(LogLevelName(l));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, l);
  }
  Result<LogLevel> bad = ParseLogLevel("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("error, warn, info, debug"));
}

TEST(LogLineTest, TheTestsCheckOfTheFormatRejectsOtherLines) {
  EXPECT_TRUE(
      plumlog::testing::IsLogLine("2026-01-31T10:00:00.112Z INFO listening"));
  EXPECT_FALSE(plumlog::testing::IsLogLine("2026-01-31T10:00:00.112Z INFO "));
  EXPECT_FALSE(plumlog::testing::IsLogLine("2026-01-31 10:00:00.112Z INFO x"));
  EXPECT_FALSE(plumlog::testing::IsLogLine("2026-01-31T10:00:00Z INFO x"));
  EXPECT_FALSE(
      plumlog::testing::IsLogLine("2026-01-31T10:00:00.112Z NOTICE x"));
  EXPECT_FALSE(plumlog::testing::IsLogLine("plumlog serve: listening"));
}

TEST(FormatUtcMillisTest, IsoWithMillisecondsAndBeyondYear9999AsNumber) {
  EXPECT_EQ(FormatUtcMillis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatUtcMillis(1732167695904), "2024-11-21T05:41:35.904Z");
  EXPECT_EQ(FormatUtcMillis(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatUtcMillis(253402300800000), "253402300800000");
}

}  // namespace
}  // namespace plumlog::net
