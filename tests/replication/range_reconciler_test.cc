// RangeReconciler and ReconcileSession: two sets in memory reconcile to
// their exact difference, whatever it is; hostile input stays within the
// limits; sessions refuse messages out of turn.
#include <gtest/gtest.h>

#include "replication/store_reconcile_source.h"
#include "storage/memory_store.h"
#include "tests/replication/reconcile_test_util.h"
#include "tests/storage/store_test_util.h"

namespace plumlog::replication {
namespace {

using testing::ExpectFound;
using testing::Item;
using testing::MakeSets;
using testing::RandomFeed;
using testing::RandomHead;
using testing::RunSession;
using testing::SessionRun;

struct Pair {
  Pair(std::vector<Item> a_items, std::vector<Item> b_items,
       ReconcileOptions o = {})
      : a_src(std::move(a_items)),
        b_src(std::move(b_items)),
        a(&a_src, o),
        b(&b_src, o) {}
  SortedReconcileSource a_src, b_src;
  RangeReconciler a, b;
};

TEST(RangeReconciler, IdenticalSetsEndAfterOneRoundTrip) {
  testing::SetPair s = MakeSets(1, 10000, 0);
  Pair p(s.a, s.b);
  SessionRun run = RunSession(p.a, p.b);
  EXPECT_EQ(run.messages, 2);  // fingerprints, and the empty answer
  EXPECT_TRUE(run.a_diffs.empty());
  EXPECT_TRUE(run.b_diffs.empty());
  EXPECT_TRUE(run.a_done && run.b_done);
  EXPECT_FALSE(run.truncated);
  EXPECT_LT(run.bytes_a_to_b + run.bytes_b_to_a, 200u);
}

TEST(RangeReconciler, TwoEmptySetsAgree) {
  Pair p({}, {});
  SessionRun run = RunSession(p.a, p.b);
  EXPECT_EQ(run.messages, 2);
  EXPECT_TRUE(run.a_diffs.empty() && run.b_diffs.empty());
}

TEST(RangeReconciler, RandomDifferencesAreAllFound) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    for (size_t common : {0u, 1u, 7u, 300u, 5000u}) {
      for (size_t diffs : {1u, 3u, 40u, 700u}) {
        SCOPED_TRACE(::testing::Message() << "seed " << seed << " common "
                                          << common << " diffs " << diffs);
        testing::SetPair s =
            MakeSets(seed * 1000 + common + diffs, common, diffs);
        Pair p(s.a, s.b);
        SessionRun run = RunSession(p.a, p.b, seed);
        EXPECT_TRUE(run.a_done && run.b_done);
        EXPECT_FALSE(run.truncated);
        ExpectFound(run, s.a, s.b);
      }
    }
  }
}

TEST(RangeReconciler, EveryOptionSettingFindsTheSameDifferences) {
  testing::SetPair s = MakeSets(77, 3000, 120);
  for (uint32_t split : {1u, 2u, 4u, 8u}) {
    // Leaf 0 lists only empty ranges: one item is split down to 256 bits,
    // 256 / split levels, within max_rounds only for splits of 4 or more.
    for (uint32_t leaf : {0u, 1u, 4u, 64u}) {
      if (leaf == 0 && split < 4) continue;
      for (uint32_t fp : {4u, 8u, 16u}) {
        ReconcileOptions o;
        o.split_bits = split;
        o.initial_split_bits = split;
        o.max_leaf_items = leaf;
        o.fingerprint_bytes = fp;
        o.max_resolve_items = 50;  // small: ranges get split to be compared
        o.max_rounds = 128;
        ASSERT_TRUE(o.Validate().ok());
        SCOPED_TRACE(::testing::Message()
                     << "split " << split << " leaf " << leaf << " fp " << fp);
        Pair p(s.a, s.b, o);
        SessionRun run = RunSession(p.a, p.b);
        EXPECT_FALSE(run.truncated);
        ExpectFound(run, s.a, s.b);
      }
    }
  }
}

TEST(RangeReconciler, EmptyAgainstFullListsEverythingEitherWay) {
  testing::SetPair s = MakeSets(5, 10000, 0);
  {
    Pair p(s.a, {});  // the full side starts
    SessionRun run = RunSession(p.a, p.b);
    EXPECT_EQ(run.messages, 3);  // fingerprints, empty item lists, done
    ExpectFound(run, s.a, {});
    EXPECT_EQ(run.a_diffs.size(), 10000u);
  }
  {
    Pair p({}, s.a);  // the empty side starts
    SessionRun run = RunSession(p.a, p.b);
    EXPECT_LE(run.messages, 4);
    ExpectFound(run, {}, s.a);
    EXPECT_EQ(run.b_diffs.size(), 10000u);
  }
}

TEST(RangeReconciler, ForkedHeadsAreReportedWithEqualSequences) {
  std::mt19937_64 rng(3);
  std::vector<Item> a, b;
  for (int i = 0; i < 500; ++i) {
    Item x{RandomFeed(rng), 10, RandomHead(rng)};
    a.push_back(x);
    b.push_back(x);
  }
  b[123].hash = RandomHead(rng);
  Pair p(a, b);
  SessionRun run = RunSession(p.a, p.b);
  ExpectFound(run, a, b);
  std::vector<ReconcileDiff> all = run.a_diffs;
  for (const auto& d : run.b_diffs) all.push_back(testing::Flip(d));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].feed, a[123].key);
  EXPECT_EQ(all[0].local_seq, 10u);
  EXPECT_EQ(all[0].remote_seq, 10u);
  EXPECT_NE(all[0].local_head, all[0].remote_head);
}

// Keys that share their first `shared` bits: each split separates nothing
// until the shared prefix is used up.
std::vector<Item> Clustered(std::mt19937_64& rng, int n, uint32_t shared) {
  const FeedId base = RandomFeed(rng);
  std::vector<Item> out;
  for (int i = 0; i < n; ++i) {
    FeedId k = RandomFeed(rng);
    for (uint32_t bit = 0; bit < shared; ++bit) {
      const uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
      k.mutable_bytes()[bit / 8] = static_cast<uint8_t>(
          (k.bytes()[bit / 8] & ~mask) | (base.bytes()[bit / 8] & mask));
    }
    out.push_back({k, 1, RandomHead(rng)});
  }
  return out;
}

TEST(RangeReconciler, KeysSharingLongPrefixesStillReconcile) {
  std::mt19937_64 rng(11);
  std::vector<Item> a = Clustered(rng, 300, 150);
  std::vector<Item> b = a;
  b[7].seq = 2;  // a new entry: a new head
  b[7].hash = RandomHead(rng);
  b[299].hash = RandomHead(rng);
  a.erase(a.begin() + 100);
  Pair p(a, b);
  SessionRun run = RunSession(p.a, p.b);
  EXPECT_FALSE(run.truncated);
  ExpectFound(run, a, b);
  EXPECT_GT(run.messages,
            30);  // one level of 4 bits per message through the shared prefix
}

TEST(RangeReconciler, TooDeepASessionEndsTruncatedNotStuck) {
  std::mt19937_64 rng(12);
  std::vector<Item> a =
      Clustered(rng, 50, 200);  // 50 levels of splits before keys part
  std::vector<Item> b = a;
  b[3].seq = 5;
  b[3].hash = RandomHead(rng);
  ReconcileOptions o;
  o.max_rounds = 20;
  Pair p(a, b, o);
  SessionRun run = RunSession(p.a, p.b);
  EXPECT_TRUE(run.a_done && run.b_done);
  EXPECT_TRUE(run.truncated);
  EXPECT_EQ(run.messages, 21);  // rounds 0..19, then the empty round 20
  EXPECT_TRUE(run.a_diffs.empty() && run.b_diffs.empty());
}

TEST(RangeReconciler, IdenticalSingleKeysAtFullDepth) {
  // Two items whose keys differ in the last bit only.
  std::mt19937_64 rng(13);
  Item x{RandomFeed(rng), 1, RandomHead(rng)};
  Item y = x;
  y.key.mutable_bytes()[31] ^= 1;
  y.hash = RandomHead(rng);
  ReconcileOptions o;
  o.max_leaf_items = 0;  // always split: reaches ranges of one id
  o.split_bits = 8;
  o.initial_split_bits = 8;
  Pair p({x, y}, {x}, o);
  SessionRun run = RunSession(p.a, p.b);
  EXPECT_FALSE(run.truncated);
  ExpectFound(run, {x, y}, {x});
}

TEST(RangeReconciler, FingerprintsDependOnSessionAndSummary) {
  std::mt19937_64 rng(14);
  FeedRangeSummary s, t;
  s.Add(RandomHead(rng));
  t = s;
  EXPECT_EQ(RangeReconciler::Fingerprint(s, 1, 8),
            RangeReconciler::Fingerprint(t, 1, 8));
  EXPECT_NE(RangeReconciler::Fingerprint(s, 1, 8),
            RangeReconciler::Fingerprint(s, 2, 8));
  t.Add(RandomHead(rng));
  EXPECT_NE(RangeReconciler::Fingerprint(s, 1, 8),
            RangeReconciler::Fingerprint(t, 1, 8));
  EXPECT_EQ(RangeReconciler::Fingerprint(s, 1, 4).size(), 4u);
  EXPECT_EQ(RangeReconciler::Fingerprint(s, 1, 16).size(), 16u);
  // The empty set's fingerprint is not all zeros (it is keyed).
  EXPECT_NE(RangeReconciler::Fingerprint(FeedRangeSummary(), 1, 8),
            std::string(8, '\0'));
}

// A peer's message that mismatches everywhere (random fingerprints over the
// whole space at the deepest split the limits allow) against a large set:
// the answer stays within every limit, decodes, and says it left work out.
TEST(RangeReconciler, HostileMessageGetsABoundedAnswer) {
  std::mt19937_64 rng(15);
  std::vector<Item> items;
  for (int i = 0; i < 200000; ++i)
    items.push_back({RandomFeed(rng), 1, RandomHead(rng)});
  SortedReconcileSource src(std::move(items));
  RangeReconciler r(&src, ReconcileOptions());
  ReconcileMessage hostile;
  hostile.session = 9;
  hostile.fingerprint_bytes = 4;
  for (uint32_t i = 0; i < 128; ++i) {
    ReconcilePart part;
    part.range = FeedRange().Child(7, i);
    part.split_bits = 8;
    for (int k = 0; k < 256 * 4; ++k)
      part.fingerprints.push_back(static_cast<char>(rng()));
    hostile.parts.push_back(std::move(part));
  }
  ASSERT_TRUE(DecodeReconcileMessage(EncodeReconcileMessage(hostile)).ok());
  Result<ReconcileResult> res = r.Respond(hostile);
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE(res->reply.truncated);
  const std::string wire = EncodeReconcileMessage(res->reply);
  EXPECT_LE(wire.size(), kMaxFrameBytes);
  Result<ReconcileMessage> back = DecodeReconcileMessage(wire);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, res->reply);

  // Empty item lists for every range claim the peer holds nothing: we list
  // our differences, at most max_resolve_per_message of them per message.
  ReconcileOptions small;
  small.max_resolve_items = 1000;
  small.max_resolve_per_message = 5000;
  RangeReconciler r2(&src, small);
  ReconcileMessage empty_lists;
  empty_lists.session = 9;
  for (uint32_t i = 0; i < 4096; ++i) {
    ReconcilePart part;
    part.range = FeedRange().Child(12, i);
    part.mode = ReconcileMode::kItems;
    empty_lists.parts.push_back(std::move(part));
  }
  Result<ReconcileResult> res2 = r2.Respond(empty_lists);
  ASSERT_TRUE(res2.ok());
  EXPECT_LE(res2->diffs.size(), 5000u);
  EXPECT_GT(res2->diffs.size(), 4000u);
  EXPECT_TRUE(res2->reply.truncated);
}

TEST(RangeReconciler, RangesWithTooManyOfOursAreSplitNotListed) {
  std::mt19937_64 rng(16);
  std::vector<Item> items;
  for (int i = 0; i < 5000; ++i)
    items.push_back({RandomFeed(rng), 1, RandomHead(rng)});
  SortedReconcileSource src(items);
  ReconcileOptions o;
  o.max_resolve_items = 100;
  RangeReconciler r(&src, o);
  ReconcileMessage m;
  m.session = 1;
  ReconcilePart all;
  all.mode = ReconcileMode::kItems;  // "I hold nothing at all"
  m.parts.push_back(all);
  Result<ReconcileResult> res = r.Respond(m);
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE(res->diffs.empty());
  ASSERT_EQ(res->reply.parts.size(), 1u);
  EXPECT_EQ(res->reply.parts[0].mode, ReconcileMode::kFingerprints);
  EXPECT_EQ(res->reply.parts[0].split_bits, o.split_bits);
}

TEST(ReconcileOptions, ValidateNamesTheField) {
  EXPECT_TRUE(ReconcileOptions().Validate().ok());
  ReconcileOptions o;
  o.fingerprint_bytes = 3;
  EXPECT_NE(o.Validate().message().find("fingerprint_bytes"),
            std::string::npos);
  o = {};
  o.split_bits = 9;
  EXPECT_NE(o.Validate().message().find("split_bits"), std::string::npos);
  o = {};
  o.initial_split_bits = 0;
  EXPECT_NE(o.Validate().message().find("initial_split_bits"),
            std::string::npos);
  o = {};
  o.max_rounds = 129;
  EXPECT_NE(o.Validate().message().find("max_rounds"), std::string::npos);
  o = {};
  o.max_resolve_per_message = o.max_resolve_items - 1;
  EXPECT_NE(o.Validate().message().find("max_resolve_per_message"),
            std::string::npos);
}

// ---- sessions ----

class SessionTest : public ::testing::Test {
 protected:
  SessionTest()
      : s_(MakeSets(21, 500, 30)),
        a_src_(s_.a),
        b_src_(s_.b),
        a_(&a_src_, {}),
        b_(&b_src_, {}) {}
  testing::SetPair s_;
  SortedReconcileSource a_src_, b_src_;
  RangeReconciler a_, b_;
};

TEST_F(SessionTest, OnlyTheInitiatorStartsAndOnlyOnce) {
  ReconcileSession init(&a_, 1, true), resp(&b_, 1, false);
  EXPECT_FALSE(resp.Start().ok());
  EXPECT_TRUE(init.Start().ok());
  EXPECT_FALSE(init.Start().ok());
}

TEST_F(SessionTest, MessagesOfAnotherSessionOrOutOfTurnAreViolations) {
  ReconcileSession init(&a_, 1, true);
  Result<ReconcileMessage> first = init.Start();
  ASSERT_TRUE(first.ok());
  {
    ReconcileSession resp(&b_, 1, false);
    ReconcileMessage other = *first;
    other.session = 2;
    EXPECT_FALSE(resp.violated());
    EXPECT_EQ(resp.OnMessage(other).status().code(), Status::Code::kCorruption);
    EXPECT_TRUE(resp.done());
    EXPECT_TRUE(resp.violated());
  }
  {
    ReconcileSession resp(&b_, 1, false);
    ReconcileMessage late = *first;
    late.round = 2;
    EXPECT_FALSE(resp.OnMessage(late).ok());
  }
  {
    // The initiator gets its own first message back (round 0, not 1).
    ReconcileSession again(&a_, 1, true);
    ASSERT_TRUE(again.Start().ok());
    EXPECT_FALSE(again.OnMessage(*first).ok());
  }
  {
    ReconcileSession resp(&b_, 1, false);
    Result<ReconcileSession::Step> step = resp.OnMessage(*first);
    ASSERT_TRUE(step.ok());
    ASSERT_TRUE(step->send.has_value());
    ReconcileMessage reply = *step->send;
    reply.fingerprint_bytes = 16;  // changed mid-session
    ReconcileSession init2(&a_, 1, true);
    ASSERT_TRUE(init2.Start().ok());
    EXPECT_FALSE(init2.OnMessage(reply).ok());
  }
}

TEST_F(SessionTest, NothingIsAcceptedAfterTheEnd) {
  ReconcileSession init(&a_, 1, true), resp(&b_, 1, false);
  ReconcileMessage done;
  done.session = 1;
  ASSERT_TRUE(
      resp.OnMessage(done).ok());  // an empty first message: nothing to do
  EXPECT_TRUE(resp.done());
  done.round = 1;
  EXPECT_FALSE(resp.OnMessage(done).ok());
}

TEST_F(SessionTest, MaxRoundsEndsTheSessionAsTruncated) {
  ReconcileOptions o;
  o.max_rounds = 2;
  o.split_bits = 1;
  o.initial_split_bits = 1;
  o.max_leaf_items = 0;
  RangeReconciler a(&a_src_, o), b(&b_src_, o);
  SessionRun run = RunSession(a, b);
  EXPECT_TRUE(run.truncated);
  EXPECT_TRUE(run.a_done && run.b_done);
  EXPECT_EQ(run.messages, 3);  // round 0, round 1, and round 2 ends it empty
}

// ---- backed by stores ----

TEST(StoreReconcileSource, TwoStoresReconcileToTheirDifference) {
  storage::MemoryStore a(plumlog::testing::KeyFromByte(1),
                         storage::MemoryStoreOptions());
  storage::MemoryStore b(plumlog::testing::KeyFromByte(2),
                         storage::MemoryStoreOptions());
  std::vector<plumlog::testing::FeedBuilder> feeds;
  for (int i = 0; i < 60; ++i)
    feeds.emplace_back(
        plumlog::testing::KeyFromByte(static_cast<uint8_t>(10 + i)));
  for (int i = 0; i < 60; ++i) {
    std::vector<Entry> es = feeds[static_cast<size_t>(i)].NextN(3);
    ASSERT_TRUE(a.Ingest(es).ok());
    if (i % 7 == 0) es.pop_back();  // b is behind on some
    if (i % 11 != 0) {
      ASSERT_TRUE(b.Ingest(es).ok());  // and lacks others
    }
  }
  ASSERT_TRUE(a.Append(TextContent("a's own")).ok());
  StoreReconcileSource sa(&a), sb(&b);
  RangeReconciler ra(&sa, {}), rb(&sb, {});
  SessionRun run = RunSession(ra, rb);
  std::vector<Item> ia, ib;
  for (const Store* s :
       {static_cast<const Store*>(&a), static_cast<const Store*>(&b)}) {
    const std::vector<FeedInfo> heads = *s->Feeds();
    for (const FeedInfo& h : heads)
      (s == &a ? ia : ib).push_back({h.author, h.seq, h.head});
  }
  ExpectFound(run, ia, ib);
  EXPECT_EQ(run.a_diffs.size() + run.b_diffs.size(),
            8u + 6u + 1u);  // behind, lacking, a's own
}

}  // namespace
}  // namespace plumlog::replication
