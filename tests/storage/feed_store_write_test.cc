// FeedStore write path: Append, AppendBatch, group commit under concurrency,
// listeners.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "store_test_util.h"

namespace plumlog {
namespace {

using testing::FeedBuilder;
using testing::Numbered;
using testing::OpenOrDie;
using testing::TempDir;

std::atomic<uint64_t> g_clock{1700000000000};
uint64_t FakeClock() { return g_clock.load(); }

// Walks the local feed and checks every chain rule.
void ExpectValidChain(Store& s, uint64_t expect_len) {
  Result<std::vector<Entry>> all = s.ReadFeed(s.local_id(), 1, 1 << 20);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), expect_len);
  for (size_t i = 0; i < all->size(); ++i) {
    const Entry& e = (*all)[i];
    EXPECT_EQ(e.seq(), i + 1);
    EXPECT_EQ(e.author(), s.local_id());
    EXPECT_TRUE(e.VerifySignature());
    if (i == 0) {
      EXPECT_FALSE(e.previous().has_value());
    } else {
      ASSERT_TRUE(e.previous().has_value());
      EXPECT_EQ(*e.previous(), (*all)[i - 1].id());
      EXPECT_GT(e.lamport(), (*all)[i - 1].lamport());
    }
  }
}

TEST(StoreAppend, BuildsAValidChain) {
  TempDir dir;
  StoreOptions o = StoreOptions::Test();
  o.clock_ms = &FakeClock;
  auto s = OpenOrDie(dir / "home", o);
  ASSERT_TRUE(s);
  std::vector<Entry> got;
  for (int i = 0; i < 10; ++i) {
    g_clock = 1700000000000 + static_cast<uint64_t>(i);
    Result<Entry> e = s->Append(TextContent(Numbered("post ", i)));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_EQ(e->seq(), static_cast<uint64_t>(i + 1));
    EXPECT_EQ(e->timestamp_ms(), 1700000000000u + static_cast<uint64_t>(i));
    EXPECT_EQ(e->content(), TextContent(Numbered("post ", i)));
    EXPECT_EQ(e->lamport(), static_cast<uint64_t>(i + 1));
    EXPECT_TRUE(e->VerifySignature());
    got.push_back(*e);
  }
  ExpectValidChain(*s, 10);
  Result<FeedInfo> head = s->Feed(s->local_id());
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 10u);
  EXPECT_EQ(head->head, got.back().id());
  EXPECT_EQ(head->lamport, 10u);
  EXPECT_FALSE(head->forked);
  // What Append returned is exactly what is stored.
  for (const Entry& e : got) EXPECT_EQ(*s->GetById(e.id()), e);
}

TEST(StoreAppend, LamportExceedsEveryStoredEntry) {
  TempDir dir;
  auto s = OpenOrDie(dir / "home");
  ASSERT_TRUE(s);
  Result<Entry> first = s->Append(TextContent("1"));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->lamport(), 1u);
  // Another author's entries with a far higher clock arrive.
  FeedBuilder other(testing::KeyFromByte(9));
  IngestResult r = s->Ingest({other.Next("a", 500), other.Next("b", 1000)});
  ASSERT_TRUE(r.ok()) << r.failure.ToString();
  Result<Entry> second = s->Append(TextContent("2"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->lamport(), 1001u);
  // A lower foreign clock does not pull ours back.
  FeedBuilder low(testing::KeyFromByte(10));
  ASSERT_TRUE(s->Ingest({low.Next("c", 3)}).ok());
  EXPECT_EQ(s->Append(TextContent("3"))->lamport(), 1002u);
  // And after a reopen the maximum is recovered from the heads.
  s.reset();
  s = OpenOrDie(dir / "home");
  ASSERT_TRUE(s);
  FeedBuilder high(testing::KeyFromByte(11));
  EXPECT_EQ(s->Append(TextContent("4"))->lamport(), 1003u);
}

TEST(StoreAppend, InvalidContentStoresNothing) {
  TempDir dir;
  auto s = OpenOrDie(dir / "home");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->Append("").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s->Append(std::string("\x01\x02", 2)).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(s->Append(std::string(70000, '\0')).status().code(),
            Status::Code::kTooLarge);
  EXPECT_EQ(s->Feed(s->local_id()).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(s->ReadArrival(0, 10)->entries.empty());
  Result<Entry> e = s->Append(TextContent("ok"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->seq(), 1u);
}

TEST(StoreAppend, BatchIsAtomic) {
  TempDir dir;
  auto s = OpenOrDie(dir / "home");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Append(TextContent("before")).ok());
  // One bad content anywhere: nothing of the batch is stored.
  for (size_t bad_at : {0, 3, 9}) {
    std::vector<std::string> batch(10, TextContent("x"));
    batch[bad_at] = std::string("\xc1", 1);
    Result<std::vector<Entry>> r = s->AppendBatch(batch);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad_at;
    EXPECT_EQ(s->Feed(s->local_id())->seq, 1u);
    EXPECT_EQ(s->ReadArrival(0, 100)->entries.size(), 1u);
  }
  std::vector<std::string> too_big(3, TextContent("x"));
  too_big[1] = TextContent(std::string(65500, 'y'));
  EXPECT_EQ(s->AppendBatch(too_big).status().code(), Status::Code::kTooLarge);
  EXPECT_EQ(s->Feed(s->local_id())->seq, 1u);
  // Empty batch: nothing to do.
  Result<std::vector<Entry>> empty = s->AppendBatch({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  // A good batch continues the chain; large enough to be signed in parallel.
  std::vector<std::string> good;
  for (int i = 0; i < 150; ++i) good.push_back(TextContent(Numbered("b", i)));
  Result<std::vector<Entry>> r = s->AppendBatch(good);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 150u);
  EXPECT_EQ(r->front().seq(), 2u);
  EXPECT_EQ(r->back().seq(), 151u);
  for (size_t i = 0; i < r->size(); ++i) {
    EXPECT_EQ((*r)[i].content(), good[i]);
    EXPECT_TRUE((*r)[i].VerifySignature());
  }
  ExpectValidChain(*s, 151);
  EXPECT_TRUE(s->Check()->ok());
}

TEST(StoreAppend, ConcurrentAppendsFromEightThreads) {
  TempDir dir;
  StoreOptions o = StoreOptions::Test();
  o.crypto_threads = 2;
  auto s = OpenOrDie(dir / "home", o);
  ASSERT_TRUE(s);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::mutex mu;
  std::vector<uint64_t> seqs;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (i % 10 == 9) {
          Result<std::vector<Entry>> r =
              s->AppendBatch({TextContent("batch a"), TextContent("batch b")});
          ASSERT_TRUE(r.ok()) << r.status().ToString();
          std::lock_guard<std::mutex> l(mu);
          EXPECT_EQ((*r)[1].seq(),
                    (*r)[0].seq() + 1);  // a batch stays contiguous
          for (const Entry& e : *r) seqs.push_back(e.seq());
        } else {
          Result<Entry> e = s->Append(TextContent(Numbered("t", t)));
          ASSERT_TRUE(e.ok()) << e.status().ToString();
          std::lock_guard<std::mutex> l(mu);
          seqs.push_back(e->seq());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const uint64_t total = kThreads * (kPerThread + kPerThread / 10);
  ASSERT_EQ(seqs.size(), total);
  std::set<uint64_t> unique(seqs.begin(), seqs.end());
  EXPECT_EQ(unique.size(), total);
  EXPECT_EQ(*unique.begin(), 1u);
  EXPECT_EQ(*unique.rbegin(), total);
  ExpectValidChain(*s, total);
  Result<CheckReport> report = s->Check();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->entries, total);
}

TEST(StoreAppend, ConcurrentAppendAndIngest) {
  TempDir dir;
  auto s = OpenOrDie(dir / "home");
  ASSERT_TRUE(s);
  FeedBuilder other(testing::KeyFromByte(21));
  std::vector<Entry> foreign = other.NextN(200);
  std::thread ingester([&] {
    for (size_t i = 0; i < foreign.size(); i += 20) {
      IngestResult r = s->Ingest(
          std::vector<Entry>(foreign.begin() + static_cast<long>(i),
                             foreign.begin() + static_cast<long>(i + 20)));
      EXPECT_TRUE(r.ok()) << r.failure.ToString();
      EXPECT_EQ(r.stored, 20u);
    }
  });
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(s->Append(TextContent("local")).ok());
  ingester.join();
  EXPECT_EQ(s->Feed(other.id())->seq, 200u);
  EXPECT_EQ(s->Feed(s->local_id())->seq, 100u);
  Result<ArrivalPage> page = s->ReadArrival(0, 1000);
  ASSERT_EQ(page->entries.size(), 300u);
  for (size_t i = 0; i < 300; ++i) EXPECT_EQ(page->positions[i], i + 1);
  EXPECT_TRUE(s->Check()->ok());
}

class RecordingListener : public StoreListener {
 public:
  void OnEntry(const Entry& e) override {
    std::lock_guard<std::mutex> l(mu);
    entries.push_back(e);
  }
  void OnFork(const ForkProof& p) override {
    std::lock_guard<std::mutex> l(mu);
    forks.push_back(p);
  }
  std::mutex mu;
  std::vector<Entry> entries;
  std::vector<ForkProof> forks;
};

TEST(StoreListeners, SeeEveryEntryInStorageOrder) {
  TempDir dir;
  auto s = OpenOrDie(dir / "home");
  ASSERT_TRUE(s);
  RecordingListener a, b;
  s->AddListener(&a);
  s->AddListener(&b);
  FeedBuilder other(testing::KeyFromByte(3));
  ASSERT_TRUE(s->Append(TextContent("one")).ok());
  ASSERT_TRUE(s->Ingest(other.NextN(3)).ok());
  ASSERT_TRUE(s->AppendBatch({TextContent("two"), TextContent("three")}).ok());
  // Duplicates and failures are not reported.
  ASSERT_EQ(s->Ingest(*s->ReadFeed(other.id(), 1, 10)).duplicates, 3u);
  EXPECT_FALSE(s->Append("").ok());
  Result<ArrivalPage> page = s->ReadArrival(0, 100);
  ASSERT_EQ(page->entries.size(), 6u);
  EXPECT_EQ(a.entries, page->entries);
  EXPECT_EQ(b.entries, page->entries);
  s->RemoveListener(&b);
  ASSERT_TRUE(s->Append(TextContent("four")).ok());
  EXPECT_EQ(a.entries.size(), 7u);
  EXPECT_EQ(b.entries.size(), 6u);
  s->RemoveListener(&a);
}

TEST(StoreListeners, ConcurrentWritersAreReportedInStorageOrder) {
  TempDir dir;
  auto s = OpenOrDie(dir / "home");
  ASSERT_TRUE(s);
  RecordingListener l;
  s->AddListener(&l);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i)
        EXPECT_TRUE(s->Append(TextContent("c")).ok());
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(l.entries.size(), 100u);
  EXPECT_EQ(l.entries, s->ReadArrival(0, 1000)->entries);
  s->RemoveListener(&l);
}

// Tries to write from inside the callback; records what it got.
class WritingListener : public StoreListener {
 public:
  explicit WritingListener(Store* s) : store(s) {}
  void OnEntry(const Entry& e) override {
    append = store->Append(TextContent("re-entrant")).status();
    batch = store->AppendBatch({TextContent("x")}).status();
    IngestResult r = store->Ingest({e});
    ingest = r.failure;
    ingest_failed = r.failed_index.has_value();
    // Reads are fine, and the entry is already stored.
    read_back = store->GetById(e.id()).ok();
    ++calls;
  }
  Store* store;
  Status append, batch, ingest;
  bool ingest_failed = false;
  bool read_back = false;
  int calls = 0;
};

TEST(StoreListeners, WritesFromACallbackFailInsteadOfDeadlocking) {
  TempDir dir;
  auto s = OpenOrDie(dir / "home");
  ASSERT_TRUE(s);
  WritingListener l(s.get());
  s->AddListener(&l);
  ASSERT_TRUE(s->Append(TextContent("trigger")).ok());
  EXPECT_EQ(l.calls, 1);
  EXPECT_EQ(l.append.code(), Status::Code::kFailedPrecondition)
      << l.append.ToString();
  EXPECT_EQ(l.batch.code(), Status::Code::kFailedPrecondition);
  EXPECT_TRUE(l.ingest_failed);
  EXPECT_EQ(l.ingest.code(), Status::Code::kFailedPrecondition);
  EXPECT_TRUE(l.read_back);
  s->RemoveListener(&l);
  // Outside the callback the same thread writes normally.
  EXPECT_TRUE(s->Append(TextContent("after")).ok());
  EXPECT_EQ(s->Feed(s->local_id())->seq, 2u);
}

TEST(StoreListeners, ACallbackMayWriteToAnotherStore) {
  TempDir dir;
  auto a = OpenOrDie(dir / "a");
  auto b = OpenOrDie(dir / "b");
  ASSERT_TRUE(a && b);
  struct Relay : StoreListener {
    Store* to;
    IngestResult last;
    void OnEntry(const Entry& e) override { last = to->Ingest({e}); }
  } relay;
  relay.to = b.get();
  a->AddListener(&relay);
  ASSERT_TRUE(a->Append(TextContent("relayed")).ok());
  EXPECT_TRUE(relay.last.ok()) << relay.last.failure.ToString();
  EXPECT_EQ(b->Feed(a->local_id())->seq, 1u);
  a->RemoveListener(&relay);
}

// A's listener relays to B (which has a listener of its own), then tries to
// write to A: that must still be refused, not deadlock.
TEST(StoreListeners, NestedStoreCallbacksStillRefuseReentry) {
  TempDir dir;
  auto a = OpenOrDie(dir / "a");
  auto b = OpenOrDie(dir / "b");
  ASSERT_TRUE(a && b);
  RecordingListener on_b;
  b->AddListener(&on_b);
  struct RelayThenWrite : StoreListener {
    Store* self;
    Store* to;
    Status relay, own_write, back_write;
    void OnEntry(const Entry& e) override {
      relay = to->Ingest({e}).failure;
      own_write = self->Append(TextContent("re-entrant")).status();
    }
  } relay;
  relay.self = a.get();
  relay.to = b.get();
  a->AddListener(&relay);
  // And B's listener tries to write back into A, whose leader is this thread.
  struct WriteBack : StoreListener {
    Store* target;
    Status st;
    void OnEntry(const Entry&) override {
      st = target->Append(TextContent("cycle")).status();
    }
  } back;
  back.target = a.get();
  b->AddListener(&back);
  ASSERT_TRUE(a->Append(TextContent("start")).ok());
  EXPECT_TRUE(relay.relay.ok()) << relay.relay.ToString();
  EXPECT_EQ(on_b.entries.size(), 1u);
  EXPECT_EQ(back.st.code(), Status::Code::kFailedPrecondition)
      << back.st.ToString();
  EXPECT_EQ(relay.own_write.code(), Status::Code::kFailedPrecondition)
      << relay.own_write.ToString();
  a->RemoveListener(&relay);
  b->RemoveListener(&back);
  b->RemoveListener(&on_b);
  EXPECT_EQ(a->Feed(a->local_id())->seq, 1u);
}

}  // namespace
}  // namespace plumlog
