// Damaged stores (issue 12): a corrupted write-ahead log, table file or
// MANIFEST is reported when the store is opened, nothing is written until the
// user decides, Check works on a salvaged copy and says what is damaged, and
// Repair rebuilds the store from every entry that still verifies.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "store_test_util.h"

namespace plumlog::testing {
namespace {

namespace fs = std::filesystem;

// Everything stays in the WAL: no memtable flush while the test writes.
StoreOptions WalOnlyOptions() {
  StoreOptions o = StoreOptions::Test();
  o.write_buffer_bytes = size_t{64} << 20;
  o.memtable_budget_bytes = 0;
  return o;
}

std::string Content200(uint64_t n) {
  std::string text = Numbered("entry ", n);
  text.resize(198, '.');
  return TextContent(text);
}

// A store whose own feed holds n entries, closed.
void MakeStore(const std::string& home, uint64_t n) {
  std::unique_ptr<Store> s = OpenOrDie(home, WalOnlyOptions());
  ASSERT_NE(s, nullptr);
  for (uint64_t i = 1; i <= n; ++i) ASSERT_TRUE(s->Append(Content200(i)).ok());
}

// The reproduction: 16 bytes flipped in the middle of the WAL. The
// store used to open "fine" with the feed cut at the damage and say nothing.
TEST(FeedStoreDamage, CorruptWalFailsTheOpenInsteadOfDroppingEntries) {
  TempDir dir;
  const std::string home = dir / "home";
  MakeStore(home, 3000);
  const std::string wal = LargestFile(home + "/db", ".log");
  ASSERT_FALSE(wal.empty());
  FlipBytes(wal, fs::file_size(wal) / 2, 16);

  StoreOptions o = WalOnlyOptions();
  o.create_if_missing = false;
  Result<std::unique_ptr<Store>> s = Store::Open(home, o);
  if (s.ok()) {
    // What the old code did: the open succeeds with half the feed.
    Result<FeedInfo> head = (*s)->Feed((*s)->local_id());
    FAIL() << "a store with a corrupted WAL opened, own feed at seq "
           << (head.ok() ? head->seq : 0) << " of 3000";
  }
  EXPECT_EQ(s.status().code(), Status::Code::kCorruption)
      << s.status().ToString();
  EXPECT_NE(s.status().message().find("plumlog repair"), std::string::npos)
      << s.status().ToString();
  // Readers refuse it the same way.
  Result<std::unique_ptr<Store>> r = Store::Open(home, ReaderOptions());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  // The damaged WAL is still there for repair: the failed open changed nothing.
  EXPECT_TRUE(fs::exists(wal));
}

bool Mentions(const std::vector<CheckProblem>& list, std::string_view text) {
  for (const CheckProblem& p : list) {
    if (p.where.find(text) != std::string::npos ||
        p.what.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::string Dump(const std::vector<CheckProblem>& list) {
  std::string out;
  for (const CheckProblem& p : list) out += p.where + ": " + p.what + "\n";
  return out;
}

std::unique_ptr<Store> OpenExisting(const std::string& home) {
  StoreOptions o = WalOnlyOptions();
  o.create_if_missing = false;
  return OpenOrDie(home, o);
}

// The repaired store: it opens, holds `kept` entries of `me`, and checks clean.
std::unique_ptr<Store> OpenRepaired(const std::string& home, const FeedId& me,
                                    uint64_t kept) {
  std::unique_ptr<Store> s = OpenExisting(home);
  if (s == nullptr) return nullptr;
  Result<FeedInfo> head = s->Feed(me);
  EXPECT_TRUE(head.ok());
  if (head.ok()) {
    EXPECT_EQ(head->seq, kept);
  }
  Result<CheckReport> clean = s->Check();
  EXPECT_TRUE(clean.ok());
  if (clean.ok()) {
    EXPECT_TRUE(clean->ok()) << Dump(clean->problems);
  }
  return s;
}

// The damaged WAL of the reproduction, then check and repair: what reads is
// kept, what does not is named, and the own feed waits for peers.
TEST(FeedStoreDamage, CorruptWalCheckAndRepair) {
  TempDir dir;
  const std::string home = dir / "home";
  MakeStore(home, 3000);
  const std::string wal = LargestFile(home + "/db", ".log");
  FlipBytes(wal, fs::file_size(wal) / 2, 16);
  const std::string wal_name = fs::path(wal).filename().string();

  // Check works on a salvaged copy and says what is damaged.
  std::vector<CheckProblem> damage;
  Result<std::unique_ptr<Store>> salvaged = Store::OpenDamaged(home, &damage);
  ASSERT_TRUE(salvaged.ok()) << salvaged.status().ToString();
  EXPECT_TRUE(Mentions(damage, wal_name)) << Dump(damage);
  Result<CheckReport> check = (*salvaged)->Check();
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_FALSE(check->ok());
  EXPECT_TRUE(Mentions(check->problems, "sequence gap"))
      << Dump(check->problems);
  const FeedId me = (*salvaged)->local_id();
  salvaged->reset();
  // The scratch copy is gone; the store itself is untouched.
  for (const auto& e : fs::directory_iterator(home)) {
    EXPECT_FALSE(e.path().filename().string().starts_with("salvage-"))
        << e.path();
  }
  EXPECT_FALSE(Store::Open(home, ReaderOptions()).ok());

  Result<RepairReport> repair = Store::Repair(home);
  ASSERT_TRUE(repair.ok()) << repair.status().ToString();
  EXPECT_TRUE(Mentions(repair->damage, wal_name)) << Dump(repair->damage);
  EXPECT_GT(repair->entries_kept, 1000u);
  EXPECT_LT(repair->entries_kept, 3000u);
  // Everything after the gap verified but cannot be chained yet.
  EXPECT_GT(repair->entries_set_aside, 1000u);
  EXPECT_LT(repair->entries_kept + repair->entries_set_aside, 3000u);
  ASSERT_EQ(repair->incomplete.size(), 1u);
  EXPECT_EQ(repair->incomplete[0].feed, me);
  EXPECT_EQ(repair->incomplete[0].kept, repair->entries_kept);
  EXPECT_EQ(repair->incomplete[0].known, 3000u);
  EXPECT_TRUE(fs::exists(repair->damaged_copy + "/" + wal_name));

  std::unique_ptr<Store> s = OpenRepaired(home, me, repair->entries_kept);
  ASSERT_NE(s, nullptr);
  // The own feed lost its newest entries: appending now would fork it.
  ASSERT_TRUE(s->OwnFeedHold().has_value());
  Result<Entry> held = s->Append(Content200(1));
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(held.status().message().find("fork"), std::string::npos);
  // Until the user (or a node that heard a peer) confirms it; persistently.
  ASSERT_TRUE(s->ConfirmOwnFeed().ok());
  s.reset();
  s = OpenExisting(home);
  EXPECT_FALSE(s->OwnFeedHold().has_value());
  Result<Entry> next = s->Append(Content200(1));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->seq(), repair->entries_kept + 1);
}

// A table file with a damaged block: the store opens (table blocks are only
// read when needed), the first read of the block reports it and the store
// takes no more writes; Check names the file; Repair keeps everything else.
TEST(FeedStoreDamage, CorruptTableFile) {
  TempDir dir;
  const std::string home = dir / "home";
  MakeStore(home, 3000);
  {
    RawDb raw(home);
    raw.Flush();
  }
  const std::string sst = LargestFile(home + "/db", ".sst");
  ASSERT_FALSE(sst.empty());
  FlipBytes(sst, fs::file_size(sst) / 3, 16);
  const std::string sst_name = fs::path(sst).filename().string();

  std::unique_ptr<Store> s = OpenExisting(home);
  ASSERT_NE(s, nullptr);
  Result<CheckReport> check = s->Check();
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_FALSE(check->ok());
  EXPECT_TRUE(Mentions(check->problems, sst_name)) << Dump(check->problems);
  // Having seen damage, the store refuses writes until it is repaired.
  Result<Entry> refused = s->Append(Content200(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kCorruption);
  EXPECT_NE(refused.status().message().find("plumlog repair"),
            std::string::npos);
  const FeedId me = s->local_id();
  s.reset();

  Result<RepairReport> repair = Store::Repair(home);
  ASSERT_TRUE(repair.ok()) << repair.status().ToString();
  EXPECT_TRUE(Mentions(repair->damage, sst_name)) << Dump(repair->damage);
  // One block of ~4 KiB holds about a dozen entries.
  EXPECT_GT(repair->entries_kept, 100u);
  EXPECT_LT(repair->entries_kept + repair->entries_set_aside, 3000u);
  EXPECT_GT(repair->entries_kept + repair->entries_set_aside, 2900u);
  ASSERT_EQ(repair->incomplete.size(), 1u);
  EXPECT_EQ(repair->incomplete[0].known, 3000u);
  s = OpenRepaired(home, me, repair->entries_kept);
  EXPECT_NE(s, nullptr);
}

// A damaged MANIFEST: the open fails; the salvage rebuilds a MANIFEST from
// the table and log files of a copy, and nothing is lost.
TEST(FeedStoreDamage, CorruptManifest) {
  TempDir dir;
  const std::string home = dir / "home";
  MakeStore(home, 2000);
  {
    RawDb raw(home);
    raw.Flush();
  }
  {
    // More entries after the flush: some in table files, some in the WAL.
    std::unique_ptr<Store> s = OpenExisting(home);
    for (uint64_t i = 2001; i <= 2500; ++i) {
      ASSERT_TRUE(s->Append(Content200(i)).ok());
    }
  }
  std::string manifest;
  for (const auto& e : fs::directory_iterator(home + "/db")) {
    if (e.path().filename().string().starts_with("MANIFEST-")) {
      manifest = e.path().string();
    }
  }
  ASSERT_FALSE(manifest.empty());
  FlipBytes(manifest, fs::file_size(manifest) / 2, 16);

  StoreOptions o = WalOnlyOptions();
  o.create_if_missing = false;
  Result<std::unique_ptr<Store>> open = Store::Open(home, o);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), Status::Code::kCorruption);
  EXPECT_NE(open.status().message().find("plumlog repair"), std::string::npos);

  std::vector<CheckProblem> damage;
  Result<std::unique_ptr<Store>> salvaged = Store::OpenDamaged(home, &damage);
  ASSERT_TRUE(salvaged.ok()) << salvaged.status().ToString();
  EXPECT_TRUE(Mentions(damage, "MANIFEST")) << Dump(damage);
  salvaged->reset();

  Result<RepairReport> repair = Store::Repair(home);
  ASSERT_TRUE(repair.ok()) << repair.status().ToString();
  EXPECT_EQ(repair->entries_kept, 2500u);
  EXPECT_EQ(repair->entries_set_aside, 0u);
  EXPECT_TRUE(repair->incomplete.empty());
  std::unique_ptr<Store> s = OpenExisting(home);
  ASSERT_NE(s, nullptr);
  Result<CheckReport> clean = s->Check();
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(clean->ok()) << Dump(clean->problems);
  EXPECT_EQ(clean->entries, 2500u);
}

// A write cut short at the end of the WAL (the process died inside write(2);
// never acknowledged) is not damage: the store opens without it.
TEST(FeedStoreDamage, TornWalTailIsNotDamage) {
  TempDir dir;
  const std::string home = dir / "home";
  MakeStore(home, 100);
  const std::string wal = LargestFile(home + "/db", ".log");
  fs::resize_file(wal, fs::file_size(wal) - 100);
  std::unique_ptr<Store> s = OpenExisting(home);
  ASSERT_NE(s, nullptr);
  Result<FeedInfo> head = s->Feed(s->local_id());
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 99u);
  EXPECT_TRUE(s->Append(Content200(100)).ok());
}

// Repair refuses to run under a process that has the store open.
TEST(FeedStoreDamage, RepairRefusesAStoreInUse) {
  TempDir dir;
  const std::string home = dir / "home";
  MakeStore(home, 10);
  std::unique_ptr<Store> s = OpenExisting(home);
  Result<RepairReport> repair = Store::Repair(home);
  ASSERT_FALSE(repair.ok());
  EXPECT_EQ(repair.status().code(), Status::Code::kBusy);
}

}  // namespace
}  // namespace plumlog::testing
