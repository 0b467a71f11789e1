// FeedStore::Ingest: validity rules, duplicates, failures, forks.
#include <gtest/gtest.h>

#include <mutex>

#include "store_test_util.h"

namespace plumlog {
namespace {

using testing::FeedBuilder;
using testing::Numbered;
using testing::OpenOrDie;
using testing::TempDir;
using testing::WithBadSignature;

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(dir_ / "home");
    ASSERT_TRUE(store_);
  }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(IngestTest, ValidChainFromAnotherStore) {
  auto source = OpenOrDie(dir_ / "source");
  ASSERT_TRUE(source);
  std::vector<std::string> contents;
  for (int i = 0; i < 20; ++i)
    contents.push_back(TextContent(Numbered("s", i)));
  ASSERT_TRUE(source->AppendBatch(contents).ok());
  std::vector<Entry> feed = *source->ReadFeed(source->local_id(), 1, 100);
  IngestResult r = store_->Ingest(feed);
  ASSERT_TRUE(r.ok()) << r.failure.ToString();
  EXPECT_EQ(r.stored, 20u);
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_TRUE(r.forks.empty());
  EXPECT_EQ(*store_->ReadFeed(source->local_id(), 1, 100), feed);
  Result<FeedInfo> head = store_->Feed(source->local_id());
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 20u);
  EXPECT_EQ(head->head, feed.back().id());
  EXPECT_EQ(head->lamport, feed.back().lamport());
  EXPECT_EQ(store_->GetClock()->at(source->local_id()), 20u);
  EXPECT_TRUE(store_->Check()->ok());
}

TEST_F(IngestTest, DuplicatesAreCounted) {
  FeedBuilder f(testing::KeyFromByte(1));
  std::vector<Entry> all = f.NextN(25);
  std::vector<Entry> first(all.begin(), all.begin() + 20);
  ASSERT_EQ(store_->Ingest(first).stored, 20u);
  IngestResult again = store_->Ingest(first);
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(again.duplicates, 20u);
  EXPECT_EQ(again.stored, 0u);
  // Overlap: 15..25 = 6 duplicates then 5 new.
  IngestResult overlap =
      store_->Ingest(std::vector<Entry>(all.begin() + 14, all.end()));
  EXPECT_TRUE(overlap.ok()) << overlap.failure.ToString();
  EXPECT_EQ(overlap.duplicates, 6u);
  EXPECT_EQ(overlap.stored, 5u);
  // The same entry twice in one batch.
  FeedBuilder g(testing::KeyFromByte(2));
  Entry g1 = g.Next("x");
  IngestResult twice = store_->Ingest({g1, g1});
  EXPECT_TRUE(twice.ok());
  EXPECT_EQ(twice.stored, 1u);
  EXPECT_EQ(twice.duplicates, 1u);
  EXPECT_EQ(store_->ReadArrival(0, 100)->entries.size(), 26u);
  // An empty batch does nothing.
  IngestResult none = store_->Ingest({});
  EXPECT_TRUE(none.ok());
  EXPECT_EQ(none.stored + none.duplicates, 0u);
}

TEST_F(IngestTest, GapStopsTheBatch) {
  FeedBuilder f(testing::KeyFromByte(1));
  std::vector<Entry> e = f.NextN(5);
  IngestResult r = store_->Ingest({e[0], e[1], e[3], e[4]});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(*r.failed_index, 2u);
  EXPECT_EQ(r.failure.code(), Status::Code::kInvalidEntry);
  EXPECT_NE(r.failure.message().find("out of order"), std::string::npos);
  EXPECT_EQ(r.stored, 2u);
  EXPECT_EQ(store_->Feed(f.id())->seq, 2u);
  EXPECT_EQ(store_->Get(f.id(), 4).status().code(), Status::Code::kNotFound);
  // A feed that starts at seq 2 is a gap too.
  FeedBuilder g(testing::KeyFromByte(2));
  std::vector<Entry> ge = g.NextN(2);
  IngestResult r2 = store_->Ingest({ge[1]});
  EXPECT_EQ(*r2.failed_index, 0u);
  EXPECT_EQ(r2.stored, 0u);
  // Filling the gap later works.
  EXPECT_TRUE(store_->Ingest({e[2], e[3], e[4]}).ok());
  EXPECT_EQ(store_->Feed(f.id())->seq, 5u);
}

TEST_F(IngestTest, WrongPreviousIsRefused) {
  FeedBuilder f(testing::KeyFromByte(1));
  Entry e1 = f.Next("1");
  EntryId bogus;
  bogus.mutable_bytes().fill(0x5a);
  Entry e2 =
      f.Make(2, bogus, 2, TextContent("2"));  // validly signed, wrong link
  IngestResult r = store_->Ingest({e1, e2});
  EXPECT_EQ(r.stored, 1u);
  ASSERT_TRUE(r.failed_index.has_value());
  EXPECT_EQ(*r.failed_index, 1u);
  EXPECT_EQ(r.failure.code(), Status::Code::kInvalidEntry);
  EXPECT_NE(r.failure.message().find("previous"), std::string::npos);
}

TEST_F(IngestTest, LamportMustIncrease) {
  FeedBuilder f(testing::KeyFromByte(1));
  Entry e1 = f.Next("1", 10);
  for (uint64_t lamport : {1, 9, 10}) {
    Entry e2 = f.Make(2, e1.id(), lamport, TextContent("2"));
    IngestResult r = store_->Ingest({e1, e2});
    ASSERT_TRUE(r.failed_index.has_value()) << lamport;
    EXPECT_EQ(*r.failed_index, 1u);
    EXPECT_EQ(r.failure.code(), Status::Code::kInvalidEntry);
    EXPECT_NE(r.failure.message().find("lamport"), std::string::npos);
  }
  EXPECT_TRUE(store_->Ingest({f.Make(2, e1.id(), 11, TextContent("2"))}).ok());
}

TEST_F(IngestTest, BadSignatureFailsExactlyThatIndex) {
  FeedBuilder f(testing::KeyFromByte(1));
  std::vector<Entry> e = f.NextN(5);
  std::vector<Entry> batch = e;
  batch[2] = WithBadSignature(e[2]);
  ASSERT_EQ(batch[2].id(), e[2].id());
  IngestResult r = store_->Ingest(batch);
  ASSERT_TRUE(r.failed_index.has_value());
  EXPECT_EQ(*r.failed_index, 2u);
  EXPECT_EQ(r.failure.code(), Status::Code::kInvalidEntry);
  EXPECT_NE(r.failure.message().find("bad signature"), std::string::npos);
  EXPECT_EQ(r.stored, 2u);
  EXPECT_EQ(*store_->ReadFeed(f.id(), 1, 10),
            std::vector<Entry>(e.begin(), e.begin() + 2));
  EXPECT_EQ(store_->GetById(e[2].id()).status().code(),
            Status::Code::kNotFound);
}

TEST_F(IngestTest, BadSignatureInALargeParallelBatch) {
  // Over parallel_min_batch (64), so signatures are checked on the pool.
  FeedBuilder f(testing::KeyFromByte(1));
  std::vector<Entry> e = f.NextN(150);
  e[97] = WithBadSignature(e[97]);
  IngestResult r = store_->Ingest(e);
  ASSERT_TRUE(r.failed_index.has_value());
  EXPECT_EQ(*r.failed_index, 97u);
  EXPECT_EQ(r.stored, 97u);
  EXPECT_EQ(store_->Feed(f.id())->seq, 97u);
  EXPECT_TRUE(store_->Check()->ok());
}

TEST_F(IngestTest, MixedAuthorsInOneBatch) {
  FeedBuilder a(testing::KeyFromByte(1)), b(testing::KeyFromByte(2)),
      c(testing::KeyFromByte(3));
  std::vector<Entry> batch;
  for (int i = 0; i < 10; ++i) {
    batch.push_back(a.Next("a"));
    batch.push_back(b.Next("b"));
    if (i % 2 == 0) batch.push_back(c.Next("c"));
  }
  IngestResult r = store_->Ingest(batch);
  ASSERT_TRUE(r.ok()) << r.failure.ToString();
  EXPECT_EQ(r.stored, 25u);
  EXPECT_EQ(store_->ReadArrival(0, 100)->entries, batch);
  Result<std::vector<FeedInfo>> feeds = store_->Feeds();
  ASSERT_EQ(feeds->size(), 3u);
  EXPECT_LT((*feeds)[0].author, (*feeds)[1].author);
  EXPECT_LT((*feeds)[1].author, (*feeds)[2].author);
  Clock clock = *store_->GetClock();
  EXPECT_EQ(clock[a.id()], 10u);
  EXPECT_EQ(clock[b.id()], 10u);
  EXPECT_EQ(clock[c.id()], 5u);
}

class ForkListener : public StoreListener {
 public:
  void OnEntry(const Entry&) override { ++entries; }
  void OnFork(const ForkProof& p) override { forks.push_back(p); }
  int entries = 0;
  std::vector<ForkProof> forks;
};

TEST_F(IngestTest, ForkIsProvedFrozenAndReported) {
  ForkListener listener;
  store_->AddListener(&listener);
  FeedBuilder f(testing::KeyFromByte(1));
  Entry e1 = f.Next("1");
  Entry e2a = f.Next("2a");
  Entry e3a = f.Next("3a");
  Entry e2b =
      f.Make(2, e1.id(), 2, TextContent("2b"));  // same seq, other content
  ASSERT_NE(e2a.id(), e2b.id());
  ASSERT_TRUE(store_->Ingest({e1, e2a}).ok());

  IngestResult r = store_->Ingest({e2b});
  ASSERT_TRUE(r.failed_index.has_value());
  EXPECT_EQ(*r.failed_index, 0u);
  EXPECT_EQ(r.failure.code(), Status::Code::kForked);
  ASSERT_EQ(r.forks.size(), 1u);
  EXPECT_EQ(r.forks[0], f.id());

  Result<std::vector<ForkProof>> proofs = store_->Forks();
  ASSERT_TRUE(proofs.ok()) << proofs.status().ToString();
  ASSERT_EQ(proofs->size(), 1u);
  EXPECT_EQ((*proofs)[0].stored, e2a);
  EXPECT_EQ((*proofs)[0].conflicting, e2b);
  EXPECT_TRUE(store_->Feed(f.id())->forked);
  ASSERT_EQ(listener.forks.size(), 1u);
  EXPECT_EQ(listener.forks[0].conflicting, e2b);
  EXPECT_EQ(listener.forks[0].stored, e2a);

  // The feed takes no more entries, but duplicates are still recognised.
  IngestResult more = store_->Ingest({e3a});
  EXPECT_EQ(more.failure.code(), Status::Code::kForked);
  EXPECT_EQ(more.stored, 0u);
  IngestResult dup = store_->Ingest({e1, e2a});
  EXPECT_TRUE(dup.ok());
  EXPECT_EQ(dup.duplicates, 2u);
  // Another conflicting entry does not add a second proof.
  Entry e2c = f.Make(2, e1.id(), 2, TextContent("2c"));
  EXPECT_EQ(store_->Ingest({e2c}).failure.code(), Status::Code::kForked);
  EXPECT_EQ(store_->Forks()->size(), 1u);
  // Other feeds are unaffected.
  FeedBuilder g(testing::KeyFromByte(2));
  EXPECT_TRUE(store_->Ingest(g.NextN(3)).ok());
  EXPECT_TRUE(store_->Append(TextContent("local")).ok());
  EXPECT_FALSE(store_->Feed(g.id())->forked);

  Result<CheckReport> report = store_->Check();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->problems.front().what;
  EXPECT_EQ(report->forks, 1u);
  store_->RemoveListener(&listener);

  // The fork survives a reopen.
  store_.reset();
  store_ = OpenOrDie(dir_ / "home");
  ASSERT_TRUE(store_);
  EXPECT_TRUE(store_->Feed(f.id())->forked);
  EXPECT_EQ(store_->Forks()->size(), 1u);
  EXPECT_EQ(store_->Ingest({e3a}).failure.code(), Status::Code::kForked);
}

TEST_F(IngestTest, ConflictWithBadSignatureIsNotAFork) {
  FeedBuilder f(testing::KeyFromByte(1));
  Entry e1 = f.Next("1");
  ASSERT_TRUE(store_->Ingest({e1}).ok());
  // A different seq-1 entry whose signature is broken.
  Entry other = f.Make(1, std::nullopt, 1, TextContent("other"));
  Entry forged = WithBadSignature(other);
  IngestResult r = store_->Ingest({forged});
  EXPECT_EQ(r.failure.code(), Status::Code::kInvalidEntry);
  EXPECT_TRUE(r.forks.empty());
  EXPECT_FALSE(store_->Feed(f.id())->forked);
  EXPECT_TRUE(store_->Forks()->empty());
}

TEST_F(IngestTest, ForkWithinOneBatch) {
  FeedBuilder f(testing::KeyFromByte(1));
  Entry e1 = f.Next("1");
  Entry e2a = f.Next("2a");
  Entry e2b = f.Make(2, e1.id(), 2, TextContent("2b"));
  IngestResult r = store_->Ingest({e1, e2a, e2b});
  EXPECT_EQ(r.stored, 2u);
  ASSERT_TRUE(r.failed_index.has_value());
  EXPECT_EQ(*r.failed_index, 2u);
  EXPECT_EQ(r.failure.code(), Status::Code::kForked) << r.failure.ToString();
  EXPECT_TRUE(store_->Feed(f.id())->forked);
  Result<std::vector<ForkProof>> proofs = store_->Forks();
  ASSERT_TRUE(proofs.ok());
  ASSERT_EQ(proofs->size(), 1u);
  EXPECT_EQ((*proofs)[0].stored, e2a);
  EXPECT_EQ((*proofs)[0].conflicting, e2b);
  EXPECT_TRUE(store_->Check()->ok());
}

TEST_F(IngestTest, ForkOfTheLocalFeedStopsAppends) {
  ASSERT_TRUE(store_->Append(TextContent("mine")).ok());
  Result<crypto::KeyPair> key = crypto::KeyPair::Load(dir_ / "home/secret");
  ASSERT_TRUE(key.ok());
  FeedBuilder clone(*key);  // the same identity used elsewhere
  Entry conflicting = clone.Make(1, std::nullopt, 1, TextContent("elsewhere"));
  IngestResult r = store_->Ingest({conflicting});
  EXPECT_EQ(r.failure.code(), Status::Code::kForked);
  EXPECT_TRUE(store_->Feed(store_->local_id())->forked);
  Result<Entry> e = store_->Append(TextContent("more"));
  EXPECT_EQ(e.status().code(), Status::Code::kForked);
  EXPECT_EQ(store_->AppendBatch({TextContent("x")}).status().code(),
            Status::Code::kForked);
}

TEST_F(IngestTest, LocalEntriesCanBeRestoredByIngest) {
  // A store's own feed arriving from a backup is ingested like any other.
  auto source = OpenOrDie(dir_ / "source");
  ASSERT_TRUE(source);
  ASSERT_TRUE(source->AppendBatch({TextContent("a"), TextContent("b")}).ok());
  std::vector<Entry> feed = *source->ReadFeed(source->local_id(), 1, 10);
  source.reset();
  auto restored =
      OpenOrDie(dir_ / "source");  // same home: ingest own entries again
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->Ingest(feed).duplicates, 2u);
}

}  // namespace
}  // namespace plumlog
