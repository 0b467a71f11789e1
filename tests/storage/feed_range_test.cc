// FeedRange and FeedRangeSummary arithmetic, and the `feed_sums` record
// layout (storage/keys.h).
#include <gtest/gtest.h>

#include <random>

#include "format/feed_summary.h"
#include "storage/keys.h"
#include "tests/storage/store_test_util.h"

namespace plumlog {
namespace {

FeedId IdOf(std::initializer_list<uint8_t> first_bytes) {
  return testing::FeedIdStartingWith(first_bytes);
}

EntryId RandomId(std::mt19937_64& rng) {
  EntryId id;
  for (auto& b : id.mutable_bytes()) b = static_cast<uint8_t>(rng());
  return id;
}

TEST(FeedRange, EverythingContainsEveryId) {
  FeedRange all;
  EXPECT_TRUE(all.Contains(IdOf({0x00})));
  EXPECT_TRUE(all.Contains(IdOf({0xff, 0xff})));
  const FeedId last = all.Last();
  for (uint8_t b : last.bytes()) EXPECT_EQ(b, 0xff);
}

TEST(FeedRange, OfClearsTheBitsPastItsLength) {
  FeedId id = IdOf({0xab, 0xcd, 0xef});
  FeedRange r = FeedRange::Of(id, 12);
  EXPECT_EQ(r.bits, 12u);
  EXPECT_EQ(r.prefix.bytes()[0], 0xab);
  EXPECT_EQ(r.prefix.bytes()[1], 0xc0);
  EXPECT_EQ(r.prefix.bytes()[2], 0x00);
  EXPECT_TRUE(r.Contains(id));
  EXPECT_TRUE(r.Contains(IdOf({0xab, 0xcf, 0x00})));
  EXPECT_FALSE(r.Contains(IdOf({0xab, 0xd0})));
  EXPECT_EQ(r.Last().bytes()[1], 0xcf);
  EXPECT_EQ(r.Last().bytes()[2], 0xff);
  EXPECT_EQ(FeedRange::Of(id, 256).prefix, id);
  EXPECT_TRUE(FeedRange::Of(id, 256).Contains(id));
  EXPECT_FALSE(FeedRange::Of(id, 256).Contains(IdOf({0xab, 0xcd, 0xee})));
}

TEST(FeedRange, ChildrenTileTheRangeInOrder) {
  const FeedRange r = FeedRange::Of(IdOf({0x5a}), 4);  // 0x5_
  FeedId prev_last;
  for (uint32_t i = 0; i < 16; ++i) {
    FeedRange c = r.Child(4, i);
    EXPECT_EQ(c.bits, 8u);
    EXPECT_EQ(c.prefix.bytes()[0], 0x50 | i);
    EXPECT_TRUE(r.Contains(c.First()));
    EXPECT_TRUE(r.Contains(c.Last()));
    EXPECT_EQ(r.ChildIndex(4, c.First()), i);
    EXPECT_EQ(r.ChildIndex(4, c.Last()), i);
    if (i > 0) {
      // The next child starts right after the previous one ends.
      FeedId next = prev_last;
      auto& b = next.mutable_bytes();
      for (int k = 31; k >= 0 && ++b[static_cast<size_t>(k)] == 0; --k) {
      }
      EXPECT_EQ(next, c.First());
    }
    prev_last = c.Last();
  }
  EXPECT_EQ(prev_last, r.Last());
  // Splits across a byte boundary.
  const FeedRange q = FeedRange::Of(IdOf({0xff, 0x80}), 9);
  EXPECT_EQ(q.Child(3, 5).prefix.bytes()[1], 0x80 | (5 << 4));
  EXPECT_EQ(q.ChildIndex(3, IdOf({0xff, 0xd0})), 5u);
}

TEST(FeedRangeSummary, SumsAddUpAndUndo) {
  std::mt19937_64 rng(7);
  FeedRangeSummary a, b, both;
  std::vector<EntryId> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(RandomId(rng));
  for (int i = 0; i < 50; ++i) {
    (i % 2 ? a : b).Add(ids[static_cast<size_t>(i)]);
    both.Add(ids[static_cast<size_t>(49 - i)]);  // order does not matter
  }
  FeedRangeSummary sum = a;
  sum.Add(b);
  EXPECT_EQ(sum, both);
  EXPECT_EQ(sum.count, 50u);
  sum.Subtract(b);
  EXPECT_EQ(sum, a);
  for (int i = 1; i < 50; i += 2) sum.Subtract(ids[static_cast<size_t>(i)]);
  EXPECT_TRUE(sum.empty());
  // Wraps modulo 2^256: all-ones plus one is zero.
  EntryId ones;
  ones.mutable_bytes().fill(0xff);
  EntryId one;
  one.mutable_bytes()[0] = 1;  // little-endian 1
  FeedRangeSummary w;
  w.Add(ones);
  w.Add(one);
  EXPECT_EQ(w.count, 2u);
  EXPECT_EQ(w.sum, (std::array<uint8_t, 32>{}));
  EXPECT_FALSE(w.empty());
}

TEST(FeedRangeSummary, DifferentSetsDiffer) {
  std::mt19937_64 rng(8);
  FeedRangeSummary a, b;
  const EntryId x = RandomId(rng), y = RandomId(rng);
  a.Add(x);
  b.Add(y);
  EXPECT_NE(a, b);
  a.Add(y);
  b.Add(x);
  EXPECT_EQ(a, b);
}

TEST(FeedSumRecords, KeysAndValuesRoundTrip) {
  std::mt19937_64 rng(9);
  FeedId feed;
  for (auto& b : feed.mutable_bytes()) b = static_cast<uint8_t>(rng());
  for (uint32_t bits : storage::kFeedSumLevels) {
    const std::string key = storage::FeedSumKey(bits, feed);
    EXPECT_EQ(key.size(), 1 + bits / 8);
    FeedRange r;
    ASSERT_TRUE(storage::ParseFeedSumKey(key, &r));
    EXPECT_EQ(r, FeedRange::Of(feed, bits));
    EXPECT_TRUE(r.Contains(feed));
  }
  FeedRange r;
  EXPECT_FALSE(storage::ParseFeedSumKey("", &r));
  EXPECT_FALSE(
      storage::ParseFeedSumKey(std::string(1, '\x08'), &r));  // no prefix
  EXPECT_FALSE(
      storage::ParseFeedSumKey(std::string("\x0c\x01", 2), &r));  // 12 bits
  EXPECT_FALSE(storage::ParseFeedSumKey(std::string("\x10\x01", 2),
                                        &r));  // 16 bits, 1 byte
  FeedRangeSummary s;
  s.Add(RandomId(rng));
  s.Add(RandomId(rng));
  s.count = 0xfffffffffffffffeull;  // a negative delta, as merge operands carry
  FeedRangeSummary back;
  ASSERT_TRUE(storage::ParseFeedSumValue(storage::FeedSumValue(s), &back));
  EXPECT_EQ(back, s);
  EXPECT_FALSE(storage::ParseFeedSumValue(std::string(39, '\0'), &back));
  EXPECT_FALSE(storage::ParseFeedSumValue(std::string(41, '\0'), &back));
}

TEST(FeedSummary, RequestsAreChecked) {
  EXPECT_TRUE(format::CheckSummaryRequest(FeedRange(), 16).ok());
  EXPECT_EQ(format::CheckSummaryRequest(FeedRange(), 17).code(),
            Status::Code::kInvalidArgument);
  FeedRange deep = FeedRange::Of(IdOf({1}), 250);
  EXPECT_TRUE(format::CheckSummaryRequest(deep, 6).ok());
  EXPECT_FALSE(format::CheckSummaryRequest(deep, 7).ok());
  FeedRange bad;
  bad.bits = 4;
  bad.prefix = IdOf({0x01});  // a bit past the first 4 set
  EXPECT_FALSE(format::CheckSummaryRequest(bad, 0).ok());
  bad.bits = 257;
  EXPECT_FALSE(format::CheckSummaryRequest(bad, 0).ok());
}

}  // namespace
}  // namespace plumlog
