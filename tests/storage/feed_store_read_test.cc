// FeedStore reads: Get, GetById, ReadFeed, ReadArrival, Feeds, GetClock, and
// read-only stores next to a writer.
#include <gtest/gtest.h>

#include "store_test_util.h"

namespace plumlog {
namespace {

using testing::FeedBuilder;
using testing::Numbered;
using testing::OpenOrDie;
using testing::TempDir;

class ReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(dir_ / "home");
    ASSERT_TRUE(store_);
    // Arrival order: local 1..3, foreign 1..4, local 4..5.
    for (int i = 1; i <= 3; ++i)
      local_.push_back(*store_->Append(TextContent(Numbered("l", i))));
    foreign_ = other_.NextN(4);
    ASSERT_TRUE(store_->Ingest(foreign_).ok());
    for (int i = 4; i <= 5; ++i)
      local_.push_back(*store_->Append(TextContent(Numbered("l", i))));
    arrival_ = {local_[0],   local_[1],   local_[2], foreign_[0], foreign_[1],
                foreign_[2], foreign_[3], local_[3], local_[4]};
  }
  TempDir dir_;
  std::unique_ptr<Store> store_;
  FeedBuilder other_{testing::KeyFromByte(8)};
  std::vector<Entry> local_, foreign_, arrival_;
};

TEST_F(ReadTest, GetAndGetById) {
  for (const Entry& e : arrival_) {
    Result<Entry> g = store_->Get(e.author(), e.seq());
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(*g, e);
    EXPECT_EQ(g->id(), e.id());
    Result<Entry> b = store_->GetById(e.id());
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(*b, e);
  }
  EXPECT_EQ(store_->Get(other_.id(), 5).status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(store_->Get(other_.id(), 0).status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(store_->Get(FeedId(), 1).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->GetById(EntryId()).status().code(),
            Status::Code::kNotFound);
}

TEST_F(ReadTest, ReadFeedRangesAndLimits) {
  auto read = [&](const FeedId& a, uint64_t from, size_t limit) {
    Result<std::vector<Entry>> r = store_->ReadFeed(a, from, limit);
    EXPECT_TRUE(r.ok());
    return *r;
  };
  EXPECT_EQ(read(store_->local_id(), 1, 100), local_);
  EXPECT_EQ(read(store_->local_id(), 0, 100),
            local_);  // 0 reads from the start
  EXPECT_EQ(read(store_->local_id(), 2, 2),
            std::vector<Entry>(local_.begin() + 1, local_.begin() + 3));
  EXPECT_EQ(read(store_->local_id(), 5, 10), std::vector<Entry>{local_[4]});
  EXPECT_TRUE(read(store_->local_id(), 6, 10).empty());
  EXPECT_TRUE(read(store_->local_id(), 1, 0).empty());
  EXPECT_EQ(read(other_.id(), 3, 1), std::vector<Entry>{foreign_[2]});
  EXPECT_TRUE(read(FeedId(), 1, 10).empty());
  // Never runs into the next author's entries.
  FeedId after = other_.id();
  EXPECT_EQ(read(other_.id(), 1, 100).size(), 4u);
  (void)after;
}

TEST_F(ReadTest, ReadArrivalPaging) {
  Result<ArrivalPage> all = store_->ReadArrival(0, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->entries, arrival_);
  ASSERT_EQ(all->positions.size(), 9u);
  for (size_t i = 0; i < 9; ++i) EXPECT_EQ(all->positions[i], i + 1);
  EXPECT_EQ(all->next, 9u);
  // Page through with a cursor.
  std::vector<Entry> paged;
  uint64_t cursor = 0;
  int pages = 0;
  for (;;) {
    Result<ArrivalPage> p = store_->ReadArrival(cursor, 4);
    ASSERT_TRUE(p.ok());
    if (p->entries.empty()) {
      EXPECT_EQ(p->next, cursor);  // an empty page keeps the cursor
      break;
    }
    EXPECT_LE(p->entries.size(), 4u);
    EXPECT_EQ(p->next, p->positions.back());
    paged.insert(paged.end(), p->entries.begin(), p->entries.end());
    cursor = p->next;
    ++pages;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(paged, arrival_);
  // Mid-way, and limit 0.
  Result<ArrivalPage> mid = store_->ReadArrival(7, 100);
  EXPECT_EQ(mid->entries,
            std::vector<Entry>(arrival_.begin() + 7, arrival_.end()));
  Result<ArrivalPage> none = store_->ReadArrival(3, 0);
  EXPECT_TRUE(none->entries.empty());
  EXPECT_EQ(none->next, 3u);
  // New entries show up after the cursor.
  Entry more = *store_->Append(TextContent("more"));
  Result<ArrivalPage> tail = store_->ReadArrival(cursor, 10);
  ASSERT_EQ(tail->entries.size(), 1u);
  EXPECT_EQ(tail->entries[0], more);
  EXPECT_EQ(tail->positions[0], 10u);
}

TEST_F(ReadTest, FeedsAndClock) {
  Result<std::vector<FeedInfo>> feeds = store_->Feeds();
  ASSERT_TRUE(feeds.ok());
  ASSERT_EQ(feeds->size(), 2u);
  EXPECT_LT((*feeds)[0].author, (*feeds)[1].author);
  for (const FeedInfo& f : *feeds) {
    const std::vector<Entry>& chain =
        f.author == store_->local_id() ? local_ : foreign_;
    EXPECT_EQ(f.seq, chain.size());
    EXPECT_EQ(f.head, chain.back().id());
    EXPECT_EQ(f.lamport, chain.back().lamport());
    EXPECT_FALSE(f.forked);
  }
  Clock clock = *store_->GetClock();
  EXPECT_EQ(clock.size(), 2u);
  EXPECT_EQ(clock[store_->local_id()], 5u);
  EXPECT_EQ(clock[other_.id()], 4u);
  EXPECT_EQ(store_->Feed(FeedId()).status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(*store_->Refresh());  // writable stores have nothing to refresh
}

TEST_F(ReadTest, ReadOnlyStoreFollowsTheWriter) {
  Result<std::unique_ptr<Store>> opened =
      Store::Open(dir_ / "home", testing::ReaderOptions());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Store> reader = std::move(opened).value();
  EXPECT_EQ(reader->local_id(), store_->local_id());
  EXPECT_EQ(reader->ReadArrival(0, 100)->entries, arrival_);
  EXPECT_EQ(reader->Feed(other_.id())->seq, 4u);
  EXPECT_EQ(*reader->GetById(local_[2].id()), local_[2]);

  // Writes are refused.
  EXPECT_EQ(reader->Append(TextContent("no")).status().code(),
            Status::Code::kFailedPrecondition);
  EXPECT_EQ(reader->AppendBatch({TextContent("no")}).status().code(),
            Status::Code::kFailedPrecondition);
  IngestResult r = reader->Ingest(other_.NextN(1));
  EXPECT_EQ(r.failure.code(), Status::Code::kFailedPrecondition);

  // The writer goes on; the reader sees it after Refresh.
  Entry next = *store_->Append(TextContent("new"));
  FeedBuilder third(testing::KeyFromByte(33));
  ASSERT_TRUE(store_->Ingest(third.NextN(2)).ok());
  EXPECT_EQ(reader->Feed(store_->local_id())->seq, 5u);  // not yet
  Result<bool> refreshed = reader->Refresh();
  ASSERT_TRUE(refreshed.ok()) << refreshed.status().ToString();
  EXPECT_TRUE(*refreshed);
  EXPECT_EQ(reader->Feed(store_->local_id())->seq, 6u);
  EXPECT_EQ(reader->Feed(third.id())->seq, 2u);
  EXPECT_EQ(*reader->GetById(next.id()), next);
  EXPECT_EQ(reader->ReadArrival(0, 100)->entries.size(), 12u);
  EXPECT_EQ(reader->GetClock()->size(), 3u);
  EXPECT_FALSE(*reader->Refresh());  // nothing new
  Result<CheckReport> report = reader->Check();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << report->problems.front().where << ": "
                            << report->problems.front().what;
  EXPECT_EQ(report->entries, 12u);
}

TEST(ReadOnly, NeedsAnExistingStore) {
  TempDir dir;
  Result<std::unique_ptr<Store>> r =
      Store::Open(dir / "home", testing::ReaderOptions());
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
}

TEST(ReadOnly, OpensWithoutAWriterAndTwoReadersCoexist) {
  TempDir dir;
  {
    auto w = OpenOrDie(dir / "home");
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->Append(TextContent("x")).ok());
  }
  auto r1 = OpenOrDie(dir / "home", testing::ReaderOptions());
  auto r2 = OpenOrDie(dir / "home", testing::ReaderOptions());
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->Feed(r1->local_id())->seq, 1u);
  EXPECT_EQ(r2->Feed(r2->local_id())->seq, 1u);
  // A writer may still open alongside the readers.
  auto w = OpenOrDie(dir / "home");
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Append(TextContent("y")).ok());
  ASSERT_TRUE(r1->Refresh().ok());
  EXPECT_EQ(r1->Feed(r1->local_id())->seq, 2u);
}

}  // namespace
}  // namespace plumlog
