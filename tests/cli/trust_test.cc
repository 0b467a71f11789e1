// Issue 12 from the command line: a damaged store (check, repair,
// confirm-feed), the secret key file (one story when it is missing, refused
// when it is another identity's), and a node restored from an old backup,
// with real daemons on loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "plumlog/store.h"
#include "tests/cli/daemon_util.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr Millis kConverge(60000);

class TrustCliTest : public ::testing::Test {
 protected:
  std::string Init(const std::string& home) {
    RunResult r = RunWithHome(home, {"init"});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    return r.out.substr(0, r.out.size() - 1);
  }

  // The head of `feed` and whether it is forked, from `feeds --json`.
  static std::pair<uint64_t, bool> Head(const std::string& home,
                                        const std::string& feed) {
    RunResult r = RunWithHome(home, {"feeds", "--json"});
    if (r.exit_code != 0) return {0, false};
    for (const std::string& line : Lines(r.out)) {
      json f = json::parse(line);
      if (f["author"] == feed) {
        return {f["seq"].get<uint64_t>(), f["forked"].get<bool>()};
      }
    }
    return {0, false};
  }

  std::unique_ptr<Daemon> Serve(const std::string& home,
                                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--preset", "test", "--no-membership"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto d = std::make_unique<Daemon>(home, args);
    EXPECT_TRUE(d->started()) << d->log();
    return d;
  }

  TempDir dir_;
};

// The reproduction through the CLI: 16 bytes flipped in the middle
// of the WAL. append, feeds and serve used to disagree (the writer opened
// with half the feed, silently); now every command refuses the store, check
// says what is damaged, and repair rebuilds it.
TEST_F(TrustCliTest, DamagedWalCheckRepairConfirm) {
  const std::string home = dir_.Sub("home");
  const std::string id = Init(home);
  {
    StoreOptions o;
    o.write_buffer_bytes = size_t{64} << 20;  // everything stays in the WAL
    o.memtable_budget_bytes = 0;
    Result<std::unique_ptr<Store>> s = Store::Open(home, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    std::vector<std::string> batch;
    for (int i = 1; i <= 2000; ++i) {
      batch.push_back(
          TextContent("entry " + std::to_string(i) + std::string(150, '.')));
      if (batch.size() == 10) {
        ASSERT_TRUE((*s)->AppendBatch(batch).ok());
        batch.clear();
      }
    }
  }
  std::string wal;
  for (const auto& e : fs::directory_iterator(home + "/db")) {
    if (e.path().extension() == ".log" &&
        (wal.empty() || e.file_size() > fs::file_size(wal))) {
      wal = e.path().string();
    }
  }
  ASSERT_FALSE(wal.empty());
  {
    std::string bytes = ReadFileBytes(wal);
    for (size_t i = 0; i < 16; ++i) bytes[bytes.size() / 2 + i] ^= 0xff;
    WriteFileBytes(wal, bytes);
  }

  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"append", "x"}, {"feeds"}}) {
    RunResult r = RunWithHome(home, cmd);
    EXPECT_EQ(r.exit_code, 1) << Show(r);
    EXPECT_THAT(r.err, HasSubstr("is damaged")) << Show(r);
    EXPECT_THAT(r.err, HasSubstr("plumlog repair")) << Show(r);
  }
  auto refused = std::make_unique<Daemon>(
      home, std::vector<std::string>{"--preset", "test"});
  EXPECT_FALSE(refused->started());
  RunResult serve = refused->Wait();
  EXPECT_EQ(serve.exit_code, 1);
  EXPECT_THAT(refused->log(), HasSubstr("is damaged"));

  RunResult check = RunWithHome(home, {"check"});
  EXPECT_EQ(check.exit_code, 1) << Show(check);
  EXPECT_THAT(check.out, HasSubstr("does not open: it is damaged"));
  EXPECT_THAT(check.out, HasSubstr(fs::path(wal).filename().string()));
  EXPECT_THAT(check.out, HasSubstr("sequence gap"));

  RunResult repair = RunWithHome(home, {"repair"});
  ASSERT_EQ(repair.exit_code, 0) << Show(repair);
  EXPECT_THAT(repair.out, HasSubstr("repaired " + home));
  EXPECT_THAT(repair.out, HasSubstr(id + " holds 1.."));
  EXPECT_THAT(repair.out, HasSubstr("2000 (at least)"));
  EXPECT_THAT(repair.out, HasSubstr("db.damaged-"));

  RunResult clean = RunWithHome(home, {"check"});
  EXPECT_EQ(clean.exit_code, 0) << Show(clean);
  const uint64_t kept = Head(home, id).first;
  EXPECT_GT(kept, 500u);
  EXPECT_LT(kept, 2000u);

  // The own feed lost its newest entries: appends wait for a peer.
  RunResult held = RunWithHome(home, {"append", "too early"});
  EXPECT_EQ(held.exit_code, 1) << Show(held);
  EXPECT_THAT(held.err, HasSubstr("are held"));
  EXPECT_THAT(held.err, HasSubstr("fork"));
  RunResult confirm = RunWithHome(home, {"confirm-feed"});
  EXPECT_EQ(confirm.exit_code, 0) << Show(confirm);
  RunResult after = RunWithHome(home, {"append", "now"});
  ASSERT_EQ(after.exit_code, 0) << Show(after);
  EXPECT_EQ(after.out.substr(0, after.out.find('\t')),
            std::to_string(kept + 1));
  RunResult again = RunWithHome(home, {"confirm-feed"});
  EXPECT_EQ(again.exit_code, 0) << Show(again);
  EXPECT_THAT(again.out, HasSubstr("not held"));
}

// Issue 12: with the key file gone, whoami said "run plumlog init" and init
// refused. Every command now tells the same story.
TEST_F(TrustCliTest, MissingKeyOneStory) {
  const std::string home = dir_.Sub("home");
  const std::string id = Init(home);
  fs::remove(home + "/secret");
  RunResult whoami = RunWithHome(home, {"whoami"});
  RunResult init = RunWithHome(home, {"init"});
  RunResult append = RunWithHome(home, {"append", "x"});
  for (const RunResult* r : {&whoami, &init, &append}) {
    EXPECT_EQ(r->exit_code, 1) << Show(*r);
    EXPECT_THAT(r->err, HasSubstr("secret key " + home + "/secret of " + id +
                                  " is missing"))
        << Show(*r);
    EXPECT_THAT(r->err, HasSubstr("will not create a new identity"));
  }
  EXPECT_FALSE(fs::exists(home + "/secret"));
}

// Issue 12: a well-formed key file of another identity became a new feed in
// the old store. The database knows whose it is.
TEST_F(TrustCliTest, KeyFileOfAnotherIdentityIsRefused) {
  const std::string home = dir_.Sub("home");
  const std::string other = dir_.Sub("other");
  const std::string id = Init(home);
  Init(other);
  ASSERT_EQ(RunWithHome(home, {"append", "one"}).exit_code, 0);
  fs::remove(home + "/secret");
  fs::copy_file(other + "/secret", home + "/secret");
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"append", "x"}, {"whoami"}}) {
    RunResult r = RunWithHome(home, cmd);
    EXPECT_EQ(r.exit_code, 1) << Show(r);
    EXPECT_THAT(r.err, HasSubstr("belongs to " + id)) << Show(r);
  }
}

// Issue 12: restoring an old backup must not fork the feed. A wrote 5
// entries that B replicated; A's home comes back from a backup holding 2.
// The restored daemon refuses appends while no peer has spoken, fetches 3..5
// from B once it hears B, and only then appends, as seq 6.
TEST_F(TrustCliTest, RestoredNodeFetchesItsFeedBeforeAppending) {
  const std::string a = dir_.Sub("a"), b = dir_.Sub("b");
  const std::string backup = dir_.Sub("a-backup");
  const std::string a_id = Init(a);
  Init(b);
  for (int i = 1; i <= 2; ++i) {
    ASSERT_EQ(
        RunWithHome(a, {"append", "early " + std::to_string(i)}).exit_code, 0);
  }
  fs::copy(a, backup, fs::copy_options::recursive);
  {
    auto da = Serve(a);
    ASSERT_TRUE(da->started());
    for (int i = 3; i <= 5; ++i) {
      ASSERT_EQ(
          RunWithHome(a, {"append", "late " + std::to_string(i)}).exit_code, 0);
    }
    auto db = Serve(b, {"--peer", da->address()});
    ASSERT_TRUE(db->started());
    EXPECT_TRUE(PollUntil([&] { return Head(b, a_id).first == 5; }, kConverge))
        << db->log();
    EXPECT_EQ(db->Stop(SIGTERM), 0);
    EXPECT_EQ(da->Stop(SIGTERM), 0);
  }
  // The disk is lost; the backup comes back.
  fs::remove_all(a);
  fs::copy(backup, a, fs::copy_options::recursive);
  auto db = Serve(b);
  ASSERT_TRUE(db->started());
  // The daemon's default: the own-feed check (the helper would skip it).
  auto restored = Serve(a, {"--own-feed-check"});
  ASSERT_TRUE(restored->started());
  EXPECT_THAT(restored->log(), HasSubstr("appends to the own feed are held"));
  RunResult early = RunWithHome(a, {"append", "after restore"});
  EXPECT_EQ(early.exit_code, 1) << Show(early);
  EXPECT_THAT(early.err, HasSubstr("are held")) << Show(early);
  EXPECT_EQ(Head(a, a_id).first, 2u);

  ASSERT_EQ(RunWithHome(a, {"peers", "add", db->address()}).exit_code, 0);
  RunResult appended;
  EXPECT_TRUE(PollUntil(
      [&] {
        appended = RunWithHome(a, {"append", "after restore"});
        return appended.exit_code == 0;
      },
      kConverge))
      << Show(appended) << restored->log();
  // The restored node fetched 3..5 first: its new entry is 6, not a second 3.
  EXPECT_EQ(appended.out.substr(0, appended.out.find('\t')), "6")
      << Show(appended);
  EXPECT_THAT(restored->log(), HasSubstr("own feed confirmed"));
  EXPECT_TRUE(PollUntil([&] { return Head(b, a_id).first == 6; }, kConverge))
      << db->log();
  EXPECT_FALSE(Head(b, a_id).second) << "B saw a fork";
  EXPECT_FALSE(Head(a, a_id).second) << "A saw a fork";
}

}  // namespace
}  // namespace plumlog::testing
