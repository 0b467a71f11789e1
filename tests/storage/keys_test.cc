// RocksDB key and value layouts (storage/keys.h, docs/storage.md).
#include "storage/keys.h"

#include <gtest/gtest.h>

#include <string>

namespace plumlog::storage {
namespace {

FeedId Author(uint8_t fill) {
  FeedId a;
  a.mutable_bytes().fill(fill);
  return a;
}

TEST(Keys, U64BigEndian) {
  std::string s;
  PutU64BE(&s, 0x0102030405060708ull);
  EXPECT_EQ(s, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(GetU64BE(s), 0x0102030405060708ull);
}

TEST(Keys, ArrivalKeysSortNumerically) {
  // RocksDB's default comparator is bytewise: big-endian keeps numeric order.
  for (uint64_t a : {0ull, 1ull, 255ull, 256ull, 65535ull, 1ull << 40}) {
    EXPECT_LT(ArrivalKey(a), ArrivalKey(a + 1)) << a;
    EXPECT_EQ(ArrivalKey(a).size(), 8u);
  }
}

TEST(Keys, FeedKeyLayoutAndParse) {
  const std::string k = FeedKey(Author(0xab), 258);
  ASSERT_EQ(k.size(), 40u);
  EXPECT_EQ(k.substr(0, 32), std::string(32, '\xab'));
  EXPECT_EQ(k.substr(32), std::string("\0\0\0\0\0\0\x01\x02", 8));
  FeedId a;
  uint64_t seq = 0;
  ASSERT_TRUE(ParseFeedKey(k, &a, &seq));
  EXPECT_EQ(a, Author(0xab));
  EXPECT_EQ(seq, 258u);
  EXPECT_FALSE(ParseFeedKey(k.substr(1), &a, &seq));
  EXPECT_FALSE(ParseFeedKey(k + "x", &a, &seq));
  // All of one author's keys sort together, by sequence.
  EXPECT_LT(FeedKey(Author(1), 9), FeedKey(Author(1), 10));
  EXPECT_LT(FeedKey(Author(1), 1ull << 60), FeedKey(Author(2), 1));
}

TEST(Keys, FeedValue) {
  EntryId id;
  id.mutable_bytes().fill(0x11);
  const std::string v = FeedValue(7, id);
  ASSERT_EQ(v.size(), 40u);
  uint64_t arrival = 0;
  EntryId got;
  ASSERT_TRUE(ParseFeedValue(v, &arrival, &got));
  EXPECT_EQ(arrival, 7u);
  EXPECT_EQ(got, id);
  EXPECT_FALSE(ParseFeedValue(v.substr(0, 39), &arrival, &got));
}

TEST(Keys, HeadValue) {
  FeedInfo h;
  h.author = Author(3);
  h.seq = 12;
  h.head.mutable_bytes().fill(0x22);
  h.lamport = 99;
  h.forked = true;
  const std::string v = HeadValue(h);
  ASSERT_EQ(v.size(), 49u);
  EXPECT_EQ(v.back(), '\x01');
  FeedInfo got;
  ASSERT_TRUE(ParseHeadValue(h.author.view(), v, &got));
  EXPECT_EQ(got.author, h.author);
  EXPECT_EQ(got.seq, 12u);
  EXPECT_EQ(got.head, h.head);
  EXPECT_EQ(got.lamport, 99u);
  EXPECT_TRUE(got.forked);
  h.forked = false;
  ASSERT_TRUE(ParseHeadValue(h.author.view(), HeadValue(h), &got));
  EXPECT_FALSE(got.forked);
  // Unknown flag bits, wrong sizes.
  std::string bad = v;
  bad.back() = '\x02';
  EXPECT_FALSE(ParseHeadValue(h.author.view(), bad, &got));
  EXPECT_FALSE(ParseHeadValue(h.author.view(), v.substr(0, 48), &got));
  EXPECT_FALSE(ParseHeadValue(h.author.view().substr(1), v, &got));
}

TEST(Keys, ForkKey) {
  EntryId c;
  c.mutable_bytes().fill(0x33);
  const std::string k = ForkKey(Author(4), 5, c);
  ASSERT_EQ(k.size(), 72u);
  EXPECT_EQ(k.substr(0, 40), FeedKey(Author(4), 5));
  EXPECT_EQ(k.substr(40), c.view());
}

TEST(Keys, ColumnFamilyNames) {
  EXPECT_STREQ(kCfNames[kCfDefault], "default");
  EXPECT_STREQ(kCfNames[kCfLog], "log");
  EXPECT_STREQ(kCfNames[kCfFeeds], "feeds");
  EXPECT_STREQ(kCfNames[kCfHeads], "heads");
  EXPECT_STREQ(kCfNames[kCfIds], "ids");
  EXPECT_STREQ(kCfNames[kCfForks], "forks");
  EXPECT_STREQ(kCfNames[kCfPeerClocks], "peer_clocks");
  EXPECT_STREQ(kCfNames[kCfMeta], "meta");
  EXPECT_EQ(std::size(kCfNames), static_cast<size_t>(kCfCount));
}

}  // namespace
}  // namespace plumlog::storage
