// Store::SummarizeFeeds and FeedsInRange: FeedStore's `feed_sums` index is
// kept current by every append, ingest and fork, survives reopening, is
// built for a version 1 store, is checked by Check; MemoryStore (the default
// implementation) answers the same.
#include "format/feed_summary.h"

#include <gtest/gtest.h>

#include <random>

#include "storage/memory_store.h"
#include "storage/replication_store.h"
#include "tests/storage/store_test_util.h"

namespace plumlog {
namespace {

using testing::FeedBuilder;
using testing::KeyFromByte;
using testing::OpenOrDie;
using testing::RawDb;
using testing::TempDir;

crypto::KeyPair KeyFromNumber(uint32_t n) {
  std::array<uint8_t, 32> seed{};
  for (int i = 0; i < 4; ++i)
    seed[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
  seed[31] = 0x5c;
  return crypto::KeyPair::FromSeed(seed);
}

// Ranges at every depth the store answers differently: above, at and
// between its two stored levels, below them, and a single id.
std::vector<std::pair<FeedRange, uint32_t>> Probes(
    const std::vector<FeedInfo>& heads) {
  std::vector<std::pair<FeedRange, uint32_t>> p = {{FeedRange(), 0},
                                                   {FeedRange(), 4},
                                                   {FeedRange(), 8},
                                                   {FeedRange(), 12},
                                                   {FeedRange(), 16}};
  for (size_t i = 0; i < heads.size() && i < 6; ++i) {
    const FeedId& f = heads[i * heads.size() / 6].author;
    for (uint32_t bits : {4u, 8u, 9u, 12u, 16u, 20u, 30u, 250u}) {
      for (uint32_t split : {0u, 1u, 4u, 6u}) {
        if (bits + split <= 256) p.emplace_back(FeedRange::Of(f, bits), split);
      }
    }
    p.emplace_back(FeedRange::Of(f, 256), 0);
  }
  return p;
}

// Every probe answered as SummarizeHeads over Feeds() answers it.
// The summaries are the node's (storage::ReplicationStore), not public API.
const storage::ReplicationStore& Rep(const Store& store) {
  return dynamic_cast<const storage::ReplicationStore&>(store);
}

void ExpectSummariesMatchHeads(const Store& plain) {
  const storage::ReplicationStore& store = Rep(plain);
  Result<std::vector<FeedInfo>> heads = store.Feeds();
  ASSERT_TRUE(heads.ok());
  for (const auto& [range, split] : Probes(*heads)) {
    Result<std::vector<FeedRangeSummary>> got =
        store.SummarizeFeeds(range, split);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, format::SummarizeHeads(*heads, range, split))
        << "bits " << range.bits << " split " << split;
  }
}

enum class Kind { kRocksDb, kMemory };

class FeedSummaryTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    if (GetParam() == Kind::kRocksDb) {
      store_ = OpenOrDie(dir_ / "home");
    } else if (!memory_) {
      memory_ = std::make_unique<storage::MemoryStore>(
          KeyFromByte(1), storage::MemoryStoreOptions());
    }
  }
  storage::ReplicationStore& store() {
    if (GetParam() == Kind::kRocksDb)
      return dynamic_cast<storage::ReplicationStore&>(*store_);
    return *memory_;
  }

  // `n` feeds of 1..3 entries, ingested in a few batches, and local appends.
  void Fill(uint32_t n) {
    std::mt19937_64 rng(n);
    std::vector<Entry> batch;
    for (uint32_t i = 0; i < n; ++i) {
      FeedBuilder b(KeyFromNumber(i));
      for (auto& e : b.NextN(1 + static_cast<int>(rng() % 3)))
        batch.push_back(std::move(e));
      builders_.push_back(std::move(b));
      if (batch.size() > 100) {
        ASSERT_TRUE(store().Ingest(std::move(batch)).ok());
        batch.clear();
      }
    }
    ASSERT_TRUE(store().Ingest(std::move(batch)).ok());
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(store().Append(TextContent("mine")).ok());
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<storage::MemoryStore> memory_;
  std::vector<FeedBuilder> builders_;
};

TEST_P(FeedSummaryTest, EmptyStoreSummarizesToNothing) {
  Result<std::vector<FeedRangeSummary>> s =
      store().SummarizeFeeds(FeedRange(), 4);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 16u);
  for (const auto& c : *s) EXPECT_TRUE(c.empty());
  Result<std::vector<FeedInfo>> f = store().FeedsInRange(FeedRange(), 10);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->empty());
}

TEST_P(FeedSummaryTest, SummariesFollowEveryWrite) {
  Fill(400);
  ExpectSummariesMatchHeads(store());
  // New entries move feeds' items: only the summaries holding them change.
  const FeedId moved = builders_[17].id();
  Result<std::vector<FeedRangeSummary>> before =
      store().SummarizeFeeds(FeedRange(), 8);
  ASSERT_TRUE(store().Ingest(builders_[17].NextN(2)).ok());
  Result<std::vector<FeedRangeSummary>> after =
      store().SummarizeFeeds(FeedRange(), 8);
  for (uint32_t i = 0; i < 256; ++i) {
    if (i == FeedRange().ChildIndex(8, moved)) {
      EXPECT_NE((*before)[i], (*after)[i]);
      EXPECT_EQ((*before)[i].count, (*after)[i].count);
    } else {
      EXPECT_EQ((*before)[i], (*after)[i]);
    }
  }
  ExpectSummariesMatchHeads(store());
  Reopen();
  ExpectSummariesMatchHeads(store());
  Result<std::vector<FeedRangeSummary>> all =
      store().SummarizeFeeds(FeedRange(), 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)[0].count, 401u);  // 400 foreign feeds and ours
}

TEST_P(FeedSummaryTest, ForkedFeedsLeaveTheSummaries) {
  Fill(50);
  // A fork by ingest: another entry at a stored sequence.
  FeedBuilder twin(KeyFromNumber(3));
  const Entry conflicting = twin.Next("the other first entry");
  IngestResult r = store().Ingest({conflicting});
  ASSERT_EQ(r.forks.size(), 1u);
  // A fork proof about a feed we never held.
  FeedBuilder x(KeyFromByte(77)), y(KeyFromByte(77));
  ASSERT_TRUE(store().AddForkProof(x.Next("a"), y.Next("b")).ok());
  ExpectSummariesMatchHeads(store());
  Result<std::vector<FeedInfo>> in = store().FeedsInRange(FeedRange(), 1000);
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->size(), 50u);  // 51 feeds, one forked
  for (const FeedInfo& h : *in) EXPECT_NE(h.author, builders_[3].id());
  Reopen();
  ExpectSummariesMatchHeads(store());
}

TEST_P(FeedSummaryTest, FeedsInRangeListsInIdOrderUpToTheLimit) {
  Fill(300);
  Result<std::vector<FeedInfo>> heads = store().Feeds();
  const FeedRange r = FeedRange::Of((*heads)[100].author, 3);
  std::vector<FeedInfo> want;
  for (const FeedInfo& h : *heads) {
    if (r.Contains(h.author)) want.push_back(h);
  }
  ASSERT_GT(want.size(), 10u);
  Result<std::vector<FeedInfo>> all = store().FeedsInRange(r, 100000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*all)[i].author, want[i].author);
    EXPECT_EQ((*all)[i].seq, want[i].seq);
    EXPECT_EQ((*all)[i].head, want[i].head);
  }
  Result<std::vector<FeedInfo>> some = store().FeedsInRange(r, 7);
  ASSERT_EQ(some->size(), 7u);
  EXPECT_EQ((*some)[6].author, want[6].author);
  EXPECT_TRUE(store().FeedsInRange(r, 0)->empty());
}

TEST_P(FeedSummaryTest, BadRequestsAreInvalidArgument) {
  EXPECT_EQ(store().SummarizeFeeds(FeedRange(), 17).status().code(),
            Status::Code::kInvalidArgument);
  FeedRange bad;
  bad.bits = 3;
  bad.prefix.mutable_bytes()[0] = 0x01;
  EXPECT_EQ(store().SummarizeFeeds(bad, 1).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(store().FeedsInRange(bad, 1).status().code(),
            Status::Code::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Stores, FeedSummaryTest,
                         ::testing::Values(Kind::kRocksDb, Kind::kMemory),
                         [](const ::testing::TestParamInfo<Kind>& p) {
                           return p.param == Kind::kRocksDb ? "FeedStore"
                                                            : "MemoryStore";
                         });

// ---- FeedStore only: the index on disk ----

// Turns the closed store at `home` into a schema version 1 store: no
// `feed_sums` family.
void MakeVersion1(const std::string& home) {
  RawDb raw(home);
  ASSERT_TRUE(raw.db()->DropColumnFamily(raw.cf(storage::kCfFeedSums)).ok());
  // (RawDb's destructor frees the dropped family's handle.)
  raw.Put(storage::kCfMeta, storage::kMetaSchemaKey,
          storage::kSchemaVersionWithoutFeedSums);
}

std::vector<Entry> SomeFeeds(int feeds, std::vector<FeedBuilder>* builders) {
  std::vector<Entry> out;
  for (int i = 0; i < feeds; ++i) {
    builders->emplace_back(KeyFromNumber(static_cast<uint32_t>(1000 + i)));
    for (auto& e : builders->back().NextN(2)) out.push_back(std::move(e));
  }
  return out;
}

TEST(FeedSumIndex, Version1StoreIsUpgradedOnOpenForWriting) {
  TempDir dir;
  const std::string home = dir / "home";
  std::vector<FeedBuilder> builders;
  {
    auto s = OpenOrDie(home);
    ASSERT_TRUE(s->Ingest(SomeFeeds(120, &builders)).ok());
  }
  MakeVersion1(home);
  {
    // A reader leaves it as it is, and still answers (from the heads).
    auto r = OpenOrDie(home, testing::ReaderOptions());
    ASSERT_TRUE(r);
    ExpectSummariesMatchHeads(*r);
  }
  {
    RawDb raw(home);
    EXPECT_EQ(raw.Get(storage::kCfMeta, storage::kMetaSchemaKey), "1");
  }
  {
    auto s = OpenOrDie(home);
    ASSERT_TRUE(s);
    ExpectSummariesMatchHeads(*s);
    ASSERT_TRUE(s->Ingest(builders[5].NextN(3)).ok());
    ExpectSummariesMatchHeads(*s);
    Result<CheckReport> c = s->Check();
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c->ok()) << c->problems[0].where << ": " << c->problems[0].what;
  }
  RawDb raw(home);
  EXPECT_EQ(raw.Get(storage::kCfMeta, storage::kMetaSchemaKey),
            storage::kSchemaVersion);
  // Both levels hold a record per range that has feeds.
  std::unique_ptr<rocksdb::Iterator> it(raw.db()->NewIterator(
      rocksdb::ReadOptions(), raw.cf(storage::kCfFeedSums)));
  size_t records = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++records;
  EXPECT_GT(records, 120u);  // ~100 of 256 at 8 bits, ~120 at 16 bits
}

TEST(FeedSumIndex, Version2WithoutTheFamilyIsCorruption) {
  TempDir dir;
  const std::string home = dir / "home";
  { ASSERT_TRUE(OpenOrDie(home)); }
  MakeVersion1(home);
  {
    RawDb raw(home);
    raw.Put(storage::kCfMeta, storage::kMetaSchemaKey, storage::kSchemaVersion);
  }
  Result<std::unique_ptr<Store>> s = Store::Open(home, StoreOptions::Test());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kCorruption);
  EXPECT_NE(s.status().message().find("feed_sums"), std::string::npos)
      << s.status().message();
}

TEST(FeedSumIndex, CheckFindsDamagedSummaries) {
  TempDir dir;
  const std::string home = dir / "home";
  std::vector<FeedBuilder> builders;
  FeedId victim;
  {
    auto s = OpenOrDie(home);
    ASSERT_TRUE(s->Ingest(SomeFeeds(40, &builders)).ok());
    victim = builders[0].id();
    Result<CheckReport> c = s->Check();
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c->ok());
  }
  auto problems = [&] {
    auto s = OpenOrDie(home);
    Result<CheckReport> c = s->Check();
    EXPECT_TRUE(c.ok());
    return c->problems;
  };
  {
    // A record that counts one feed too many.
    RawDb raw(home);
    FeedRangeSummary extra;
    extra.Add(EntryId());
    ASSERT_TRUE(raw.db()
                    ->Merge(rocksdb::WriteOptions(),
                            raw.cf(storage::kCfFeedSums),
                            storage::FeedSumKey(8, victim),
                            storage::FeedSumValue(extra))
                    .ok());
  }
  {
    // Summaries come from the index (here: the damaged record), not the heads.
    auto s = OpenOrDie(home);
    EXPECT_EQ((*Rep(*s).SummarizeFeeds(FeedRange::Of(victim, 8), 0))[0].count, 2u);
    EXPECT_EQ((*Rep(*s).SummarizeFeeds(FeedRange::Of(victim, 16), 0))[0].count, 1u);
  }
  std::vector<CheckProblem> p = problems();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].where.find("feed summary"), std::string::npos);
  EXPECT_NE(p[0].what.find("counts 2 feeds, the heads 1"), std::string::npos)
      << p[0].what;
  {
    // The same record missing, and a 16-bit one of a feed never held.
    RawDb raw(home);
    raw.Delete(storage::kCfFeedSums, storage::FeedSumKey(8, victim));
    FeedId stranger;
    stranger.mutable_bytes().fill(0xee);
    FeedRangeSummary one;
    one.Add(EntryId());
    raw.Put(storage::kCfFeedSums, storage::FeedSumKey(16, stranger),
            storage::FeedSumValue(one));
    raw.Put(storage::kCfFeedSums, "\x09", "x");
  }
  p = problems();
  ASSERT_EQ(p.size(), 3u);
  bool missing = false, malformed = false, stray = false;
  for (const CheckProblem& q : p) {
    missing = missing ||
              q.what.find("missing; the heads hold 1") != std::string::npos;
    malformed = malformed || q.what == "malformed record";
    stray = stray ||
            q.what.find("counts 1 feeds, the heads 0") != std::string::npos;
  }
  EXPECT_TRUE(missing && malformed && stray);
}

TEST(FeedSumIndex, ReaderSeesTheWritersSummaries) {
  TempDir dir;
  const std::string home = dir / "home";
  std::vector<FeedBuilder> builders;
  auto w = OpenOrDie(home);
  ASSERT_TRUE(w->Ingest(SomeFeeds(30, &builders)).ok());
  auto r = OpenOrDie(home, testing::ReaderOptions());
  ASSERT_TRUE(r);
  ASSERT_TRUE(w->Ingest(builders[2].NextN(1)).ok());
  ASSERT_TRUE(r->Refresh().ok());
  EXPECT_EQ(*Rep(*r).SummarizeFeeds(FeedRange(), 4),
            *Rep(*w).SummarizeFeeds(FeedRange(), 4));
  ExpectSummariesMatchHeads(*r);
}

}  // namespace
}  // namespace plumlog
