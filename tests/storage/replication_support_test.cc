// Store methods used by replication (fork proofs from elsewhere, peer clocks),
// checked on both Store implementations.
#include <gtest/gtest.h>

#include "storage/memory_store.h"
#include "tests/storage/store_test_util.h"

namespace plumlog {
namespace {

using testing::FeedBuilder;
using testing::KeyFromByte;
using testing::TempDir;

enum class Kind { kRocksDb, kMemory };

class ReplicationSupportTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    if (GetParam() == Kind::kRocksDb) {
      store_ = testing::OpenOrDie(dir_ / "home");
    } else if (!memory_) {
      memory_ = std::make_unique<storage::MemoryStore>(KeyFromByte(1),
                                                       storage::MemoryStoreOptions());
    }
  }
  Store& store() { return GetParam() == Kind::kRocksDb ? *store_ : *memory_; }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<storage::MemoryStore> memory_;
};

struct ForkRecorder : StoreListener {
  void OnEntry(const Entry&) override {}
  void OnFork(const ForkProof& p) override { proofs.push_back(p); }
  std::vector<ForkProof> proofs;
};

TEST_P(ReplicationSupportTest, ForkProofFromElsewhereFreezesAFeedWeNeverHeld) {
  FeedBuilder mallory(KeyFromByte(9));
  FeedBuilder twin = mallory;
  Entry a = mallory.Next("a");
  Entry b = twin.Next("b");
  ForkRecorder rec;
  store().AddListener(&rec);
  ASSERT_TRUE(store().AddForkProof(a, b).ok());
  store().RemoveListener(&rec);
  ASSERT_EQ(rec.proofs.size(), 1u);
  auto head = store().Feed(mallory.id());
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_TRUE(head->forked);
  EXPECT_EQ(head->seq, 0u);
  auto proofs = store().Forks();
  ASSERT_TRUE(proofs.ok());
  ASSERT_EQ(proofs->size(), 1u);
  EXPECT_EQ(proofs->front().stored, a);
  EXPECT_EQ(proofs->front().conflicting, b);
  // The feed takes nothing now, and a second proof is not news.
  IngestResult r = store().Ingest({a});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure.code(), Status::Code::kForked);
  EXPECT_EQ(store().AddForkProof(b, a).code(), Status::Code::kAlreadyExists);
  auto check = store().Check();
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok()) << check->problems.front().what;
  EXPECT_EQ(check->forks, 1u);
  if (GetParam() == Kind::kRocksDb) {
    Reopen();
    EXPECT_TRUE(store().Feed(mallory.id())->forked);
    EXPECT_EQ(store().Forks()->size(), 1u);
  }
}

TEST_P(ReplicationSupportTest, ForkProofOverAStoredEntry) {
  FeedBuilder alice(KeyFromByte(3));
  FeedBuilder twin = alice;
  std::vector<Entry> chain = alice.NextN(3);
  ASSERT_TRUE(store().Ingest(chain).ok());
  Entry other = twin.Next("a different first entry");
  ASSERT_TRUE(store().AddForkProof(chain[0], other).ok());
  EXPECT_TRUE(store().Feed(alice.id())->forked);
  EXPECT_EQ(store().Feed(alice.id())->seq, 3u);  // what was stored stays
  EXPECT_TRUE(store().Check()->ok());
}

TEST_P(ReplicationSupportTest, RejectsWhatIsNotAProof) {
  FeedBuilder alice(KeyFromByte(3));
  std::vector<Entry> chain = alice.NextN(2);
  FeedBuilder bob(KeyFromByte(4));
  Entry b1 = bob.Next("b");
  EXPECT_EQ(store().AddForkProof(chain[0], chain[0]).code(), Status::Code::kInvalidEntry);
  EXPECT_EQ(store().AddForkProof(chain[0], chain[1]).code(), Status::Code::kInvalidEntry);
  EXPECT_EQ(store().AddForkProof(chain[0], b1).code(), Status::Code::kInvalidEntry);
  FeedBuilder twin(KeyFromByte(3));
  Entry forged = testing::WithBadSignature(twin.Next("forged"));
  EXPECT_EQ(store().AddForkProof(chain[0], forged).code(), Status::Code::kInvalidEntry);
  EXPECT_FALSE(store().Feed(alice.id()).ok());
}

TEST_P(ReplicationSupportTest, PeerClocksRoundTripAndReplace) {
  const FeedId p1 = KeyFromByte(5).public_key();
  const FeedId p2 = KeyFromByte(6).public_key();
  const FeedId f1 = KeyFromByte(7).public_key();
  const FeedId f2 = KeyFromByte(8).public_key();
  EXPECT_TRUE(store().LoadPeerClock(p1)->empty());
  std::map<FeedId, int64_t> c1 = {{f1, 10}, {f2, -1}};
  std::map<FeedId, int64_t> c2 = {{f1, (int64_t{1} << 62) - 1}};
  ASSERT_TRUE(store().SavePeerClock(p1, c1).ok());
  ASSERT_TRUE(store().SavePeerClock(p2, c2).ok());
  EXPECT_EQ(*store().LoadPeerClock(p1), c1);
  EXPECT_EQ(*store().LoadPeerClock(p2), c2);
  std::map<FeedId, int64_t> c1b = {{f2, 4}};
  ASSERT_TRUE(store().SavePeerClock(p1, c1b).ok());
  EXPECT_EQ(*store().LoadPeerClock(p1), c1b);  // f1 is gone
  EXPECT_EQ(*store().LoadPeerClock(p2), c2);   // untouched
  if (GetParam() == Kind::kRocksDb) {
    Reopen();
    EXPECT_EQ(*store().LoadPeerClock(p1), c1b);
  }
}

// ReadArrivalBackward pages the arrival order from the newest down, in step
// with ReadArrival (`read --last` / `--reverse` rely on it).
TEST_P(ReplicationSupportTest, ReadArrivalBackwardMirrorsReadArrival) {
  FeedBuilder bob(KeyFromByte(5));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store().Append(TextContent("l" + std::to_string(i))).ok());
  ASSERT_TRUE(store().Ingest(bob.NextN(4)).ok());
  ASSERT_TRUE(store().Append(TextContent("last")).ok());
  Result<ArrivalPage> forward = store().ReadArrival(0, 100);
  ASSERT_TRUE(forward.ok());
  ASSERT_EQ(forward->entries.size(), 8u);
  // From the newest, pages of 3: 8 7 6 | 5 4 3 | 2 1 | (empty).
  std::vector<Entry> back;
  std::vector<uint64_t> positions;
  uint64_t before = UINT64_MAX;
  int pages = 0;
  for (;;) {
    Result<ArrivalPage> p = store().ReadArrivalBackward(before, 3);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    if (p->entries.empty()) {
      EXPECT_EQ(p->next, before);
      break;
    }
    ++pages;
    EXPECT_LE(p->entries.size(), 3u);
    EXPECT_EQ(p->next, p->positions.back());
    back.insert(back.end(), p->entries.begin(), p->entries.end());
    positions.insert(positions.end(), p->positions.begin(), p->positions.end());
    before = p->next;
  }
  EXPECT_EQ(pages, 3);
  std::vector<Entry> reversed(forward->entries.rbegin(), forward->entries.rend());
  EXPECT_EQ(back, reversed);
  EXPECT_EQ(positions, (std::vector<uint64_t>{8, 7, 6, 5, 4, 3, 2, 1}));
  // Below a position in the middle; limit 0; before 1 and 0 hold nothing.
  Result<ArrivalPage> mid = store().ReadArrivalBackward(5, 100);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->positions, (std::vector<uint64_t>{4, 3, 2, 1}));
  EXPECT_EQ(mid->entries.front(), forward->entries[3]);
  EXPECT_TRUE(store().ReadArrivalBackward(5, 0)->entries.empty());
  EXPECT_TRUE(store().ReadArrivalBackward(1, 10)->entries.empty());
  EXPECT_TRUE(store().ReadArrivalBackward(0, 10)->entries.empty());
  // Far past the end is the same as from the newest.
  EXPECT_EQ(store().ReadArrivalBackward(1000, 1)->positions, (std::vector<uint64_t>{8}));
}

INSTANTIATE_TEST_SUITE_P(Stores, ReplicationSupportTest,
                         ::testing::Values(Kind::kRocksDb, Kind::kMemory),
                         [](const auto& param_info) {
                           return param_info.param == Kind::kRocksDb ? "RocksDb" : "Memory";
                         });

}  // namespace
}  // namespace plumlog
