// FeedStore: Init and Open, their errors, options, persistence across reopen.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/feed_store.h"
#include "store_test_util.h"

namespace plumlog {
namespace {

using testing::Numbered;
using testing::OpenOrDie;
using testing::RawDb;
using testing::TempDir;
namespace fs = std::filesystem;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(StoreOpen, NoStoreIsFailedPrecondition) {
  TempDir dir;
  Result<std::unique_ptr<Store>> s =
      Store::Open(dir / "home", StoreOptions::Default());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("plumlog init"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "home"));  // nothing created
}

TEST(StoreOpen, InitCreatesPrivateHomeAndOpenUsesIt) {
  TempDir dir;
  const std::string home = dir / "home";
  ASSERT_TRUE(Store::Init(home).ok());
  EXPECT_EQ(ModeOf(home), 0700u);
  EXPECT_EQ(ModeOf(home + "/secret"), 0600u);
  EXPECT_TRUE(fs::exists(home + "/db/CURRENT"));
  Status again = Store::Init(home);
  EXPECT_EQ(again.code(), Status::Code::kAlreadyExists) << again.ToString();
  auto store = OpenOrDie(home, StoreOptions::Default());
  ASSERT_TRUE(store);
  Result<crypto::KeyPair> key = crypto::KeyPair::Load(home + "/secret");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(store->local_id(), key->public_key());
  // An empty store.
  EXPECT_TRUE(store->Feeds()->empty());
  EXPECT_TRUE(store->GetClock()->empty());
  EXPECT_EQ(store->Feed(store->local_id()).status().code(),
            Status::Code::kNotFound);
  EXPECT_TRUE(store->ReadArrival(0, 10)->entries.empty());
  EXPECT_TRUE(store->Forks()->empty());
}

TEST(StoreOpen, InitOnAFileIsInvalidArgument) {
  TempDir dir;
  { std::ofstream(dir / "file") << "x"; }
  EXPECT_EQ(Store::Init(dir / "file").code(), Status::Code::kInvalidArgument);
}

TEST(StoreOpen, CreateIfMissing) {
  TempDir dir;
  auto store = OpenOrDie(dir / "home", StoreOptions::Test());
  ASSERT_TRUE(store);
  EXPECT_TRUE(fs::exists(dir / "home/secret"));
  store.reset();
  // Opening again keeps the identity.
  Result<crypto::KeyPair> key = crypto::KeyPair::Load(dir / "home/secret");
  auto again = OpenOrDie(dir / "home", StoreOptions::Test());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->local_id(), key->public_key());
}

TEST(StoreOpen, DatabaseWithoutSecretIsRefused) {
  TempDir dir;
  const std::string home = dir / "home";
  ASSERT_TRUE(Store::Init(home).ok());
  const FeedId id = crypto::KeyPair::Load(home + "/secret")->public_key();
  fs::remove(home + "/secret");
  Result<std::unique_ptr<Store>> s = Store::Open(home, StoreOptions::Default());
  EXPECT_EQ(s.status().code(), Status::Code::kFailedPrecondition)
      << s.status().ToString();
  // Neither init nor create_if_missing make a new identity over existing
  // feeds, and every path tells the same story (issue 12: whoami said "run
  // init", init refused): the key is missing, restore it, init will not.
  Status init = Store::Init(home);
  EXPECT_EQ(init.code(), Status::Code::kFailedPrecondition) << init.ToString();
  EXPECT_EQ(init.message(), s.status().message());
  EXPECT_NE(init.message().find("will not create a new identity"),
            std::string::npos);
  EXPECT_NE(init.message().find("Restore the key"), std::string::npos);
  // The database names the identity whose key is missing.
  EXPECT_NE(init.message().find(id.ToString()), std::string::npos)
      << init.ToString();
  Result<std::unique_ptr<Store>> reader =
      Store::Open(home, testing::ReaderOptions());
  EXPECT_EQ(reader.status().message(), init.message());
  EXPECT_EQ(Store::Open(home, StoreOptions::Test()).status().code(),
            Status::Code::kFailedPrecondition);
  EXPECT_FALSE(fs::exists(home + "/secret"));
}

TEST(StoreOpen, SecretWithoutDatabaseIsIncompleteAndInitFinishesIt) {
  TempDir dir;
  const std::string home = dir / "home";
  fs::create_directories(home);
  crypto::KeyPair key = testing::KeyFromByte(5);
  ASSERT_TRUE(key.Save(home + "/secret").ok());
  Result<std::unique_ptr<Store>> s = Store::Open(home, StoreOptions::Default());
  EXPECT_EQ(s.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("incomplete"), std::string::npos);
  ASSERT_TRUE(Store::Init(home).ok());
  auto store = OpenOrDie(home, StoreOptions::Default());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->local_id(), key.public_key());  // the existing key is kept
  // A key brought back into an empty home is a restore: peers may hold more
  // of its feed than this empty store, so appends wait (issue 12).
  ASSERT_TRUE(store->OwnFeedHold().has_value());
  EXPECT_NE(store->OwnFeedHold()->find("restored"), std::string::npos);
  Result<Entry> held = store->Append(TextContent("too early"));
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(held.status().message().find("fork"), std::string::npos);
  ASSERT_TRUE(store->ConfirmOwnFeed().ok());
  EXPECT_TRUE(store->Append(TextContent("now")).ok());
  store.reset();
  store = OpenOrDie(home, StoreOptions::Default());
  EXPECT_FALSE(store->OwnFeedHold().has_value());  // confirmed for good
}

// Issue 12: a well-formed key file of another identity used to be taken as a
// new identity, its appends starting a new feed in the old store. The
// database records its identity and refuses any other key.
TEST(StoreOpen, KeyFileOfAnotherIdentityIsRefused) {
  TempDir dir;
  const std::string home = dir / "home";
  FeedId first;
  {
    auto s = OpenOrDie(home, StoreOptions::Test());
    ASSERT_TRUE(s);
    first = s->local_id();
    ASSERT_TRUE(s->Append(TextContent("one")).ok());
  }
  fs::remove(home + "/secret");
  ASSERT_TRUE(testing::KeyFromByte(77).Save(home + "/secret").ok());
  for (bool read_only : {false, true}) {
    StoreOptions o =
        read_only ? testing::ReaderOptions() : StoreOptions::Test();
    o.create_if_missing = false;
    Result<std::unique_ptr<Store>> s = Store::Open(home, o);
    ASSERT_FALSE(s.ok()) << "read_only " << read_only;
    EXPECT_EQ(s.status().code(), Status::Code::kCorruption);
    EXPECT_NE(s.status().message().find(first.ToString()), std::string::npos)
        << s.status().ToString();
  }
}

// Stores created before the identity record: the first writable open by
// this version records it, and from then on a swapped key is refused. Key
// files of format v1 keep working.
TEST(StoreOpen, OldStoreGetsItsIdentityRecorded) {
  TempDir dir;
  const std::string home = dir / "home";
  ASSERT_TRUE(Store::Init(home).ok());
  const crypto::KeyPair key = *crypto::KeyPair::Load(home + "/secret");
  {
    RawDb raw(home);
    raw.Delete(storage::kCfMeta, storage::kMetaIdentityKey);
  }
  // The v1 spelling of the same key.
  const std::string v2 = testing::ReadFileText(home + "/secret");
  fs::remove(home + "/secret");
  testing::WriteFileText(home + "/secret",
                         "plumlog-secret-v1 " + v2.substr(18, 44) + "\n");
  ::chmod((home + "/secret").c_str(), 0600);
  {
    auto s = OpenOrDie(home, StoreOptions::Default());
    ASSERT_TRUE(s);
    EXPECT_EQ(s->local_id(), key.public_key());
  }
  {
    RawDb raw(home);
    EXPECT_EQ(raw.Get(storage::kCfMeta, storage::kMetaIdentityKey),
              key.public_key().view());
  }
  fs::remove(home + "/secret");
  ASSERT_TRUE(testing::KeyFromByte(78).Save(home + "/secret").ok());
  EXPECT_EQ(Store::Open(home, StoreOptions::Default()).status().code(),
            Status::Code::kCorruption);
}

// StoreOptions::own_feed_check (what `plumlog serve` sets): appends wait
// until the hold is ended; it is not recorded in the store.
TEST(StoreOpen, OwnFeedCheckOptionHoldsAppends) {
  TempDir dir;
  const std::string home = dir / "home";
  StoreOptions o = StoreOptions::Test();
  o.own_feed_check = true;
  auto s = OpenOrDie(home, o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->OwnFeedHold().has_value());
  EXPECT_EQ(s->Append(TextContent("x")).status().code(),
            Status::Code::kFailedPrecondition);
  EXPECT_EQ(s->AppendBatch({TextContent("x")}).status().code(),
            Status::Code::kFailedPrecondition);
  // Ingest (replication fetching the own feed) is not held.
  ASSERT_TRUE(s->ConfirmOwnFeed().ok());
  EXPECT_TRUE(s->Append(TextContent("x")).ok());
  s.reset();
  StoreOptions plain = StoreOptions::Test();
  s = OpenOrDie(home, plain);
  EXPECT_FALSE(s->OwnFeedHold().has_value());
  // Read-only stores cannot confirm anything.
  s.reset();
  auto r = OpenOrDie(home, testing::ReaderOptions());
  EXPECT_EQ(r->ConfirmOwnFeed().code(), Status::Code::kFailedPrecondition);
}

TEST(StoreOpen, SecondWriterInSameProcessIsBusy) {
  TempDir dir;
  auto first = OpenOrDie(dir / "home");
  ASSERT_TRUE(first);
  Result<std::unique_ptr<Store>> second =
      Store::Open(dir / "home", StoreOptions::Test());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kBusy)
      << second.status().ToString();
  first.reset();
  EXPECT_TRUE(OpenOrDie(dir / "home"));
}

TEST(StoreOpen, GroupOrWorldReadableSecretIsPermissionDenied) {
  TempDir dir;
  const std::string home = dir / "home";
  ASSERT_TRUE(Store::Init(home).ok());
  for (mode_t mode : {0644, 0640, 0604}) {
    ASSERT_EQ(::chmod((home + "/secret").c_str(), mode), 0);
    Result<std::unique_ptr<Store>> s =
        Store::Open(home, StoreOptions::Default());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), Status::Code::kPermissionDenied);
    EXPECT_NE(s.status().message().find("chmod 600"), std::string::npos);
  }
  ASSERT_EQ(::chmod((home + "/secret").c_str(), 0600), 0);
  EXPECT_TRUE(OpenOrDie(home, StoreOptions::Default()));
}

TEST(StoreOpen, CorruptSecretIsCorruption) {
  TempDir dir;
  const std::string home = dir / "home";
  ASSERT_TRUE(Store::Init(home).ok());
  { std::ofstream(home + "/secret", std::ios::trunc) << "not a key\n"; }
  EXPECT_EQ(Store::Open(home, StoreOptions::Default()).status().code(),
            Status::Code::kCorruption);
}

TEST(StoreOpen, SchemaVersionMismatchIsFailedPrecondition) {
  TempDir dir;
  const std::string home = dir / "home";
  ASSERT_TRUE(Store::Init(home).ok());
  {
    RawDb raw(home);
    raw.Put(storage::kCfMeta, storage::kMetaSchemaKey, "3");
  }
  Result<std::unique_ptr<Store>> s = Store::Open(home, StoreOptions::Default());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("schema version 3"), std::string::npos)
      << s.status().message();
  {
    RawDb raw(home);
    raw.Delete(storage::kCfMeta, storage::kMetaSchemaKey);
  }
  EXPECT_EQ(Store::Open(home, StoreOptions::Default()).status().code(),
            Status::Code::kCorruption);
  {
    RawDb raw(home);
    raw.Put(storage::kCfMeta, storage::kMetaSchemaKey, storage::kSchemaVersion);
  }
  EXPECT_TRUE(OpenOrDie(home, StoreOptions::Default()));
}

TEST(StoreOpen, OptionsAreValidated) {
  TempDir dir;
  StoreOptions o = StoreOptions::Test();
  o.read_only = true;  // with create_if_missing
  EXPECT_EQ(Store::Open(dir / "home", o).status().code(),
            Status::Code::kInvalidArgument);
  o = StoreOptions::Test();
  o.crypto_threads = -1;
  EXPECT_EQ(Store::Open(dir / "home", o).status().code(),
            Status::Code::kInvalidArgument);
  o = StoreOptions::Test();
  o.parallel_min_batch = 0;
  EXPECT_EQ(Store::Open(dir / "home", o).status().code(),
            Status::Code::kInvalidArgument);
  o = StoreOptions::Test();
  o.block_cache_bytes = 1000;
  EXPECT_EQ(Store::Open(dir / "home", o).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir / "home"));
  EXPECT_EQ(Store::Open("", StoreOptions::Test()).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(StoreOptions::Default().Validate().ok());
  EXPECT_TRUE(StoreOptions::Durable().Validate().ok());
  EXPECT_TRUE(StoreOptions::Durable().sync);
  EXPECT_TRUE(StoreOptions::Test().Validate().ok());
}

TEST(StoreOpen, StatePersistsAcrossReopen) {
  TempDir dir;
  const std::string home = dir / "home";
  testing::FeedBuilder other(testing::KeyFromByte(7));
  std::vector<Entry> mine;
  FeedId me;
  {
    auto s = OpenOrDie(home);
    ASSERT_TRUE(s);
    me = s->local_id();
    for (int i = 0; i < 5; ++i)
      mine.push_back(*s->Append(TextContent(Numbered("m", i))));
    IngestResult r = s->Ingest(other.NextN(3));
    ASSERT_TRUE(r.ok()) << r.failure.ToString();
    mine.push_back(*s->Append(TextContent("after ingest")));
  }
  auto s = OpenOrDie(home);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->local_id(), me);
  Result<FeedInfo> head = s->Feed(me);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 6u);
  EXPECT_EQ(head->head, mine.back().id());
  EXPECT_EQ(head->lamport, mine.back().lamport());
  EXPECT_EQ(s->Feed(other.id())->seq, 3u);
  // The chain, the arrival order and the lamport clock all continue.
  Result<Entry> next = s->Append(TextContent("after reopen"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq(), 7u);
  EXPECT_EQ(*next->previous(), mine.back().id());
  EXPECT_GT(next->lamport(), mine.back().lamport());
  Result<ArrivalPage> page = s->ReadArrival(0, 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 10u);
  EXPECT_EQ(page->positions.back(), 10u);
  EXPECT_EQ(page->entries.back(), *next);
  Result<CheckReport> report = s->Check();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->entries, 10u);
  EXPECT_EQ(report->feeds, 2u);
}

TEST(StoreOpen, DurableModeWorks) {
  TempDir dir;
  StoreOptions o = StoreOptions::Durable();
  o.create_if_missing = true;
  {
    auto s = OpenOrDie(dir / "home", o);
    ASSERT_TRUE(s);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 5; ++i)
          EXPECT_TRUE(s->Append(TextContent("durable")).ok());
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE(s->AppendBatch({TextContent("a"), TextContent("b")}).ok());
  }
  auto s = OpenOrDie(dir / "home", o);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->Feed(s->local_id())->seq, 22u);
  EXPECT_TRUE(s->Check()->ok());
}

}  // namespace
}  // namespace plumlog
