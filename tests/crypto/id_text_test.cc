// Text form of ids: sigil + 44 chars of padded standard base64 + suffix,
// canonical spelling only (crypto/base64_id.cc).
#include <gtest/gtest.h>

#include <initializer_list>
#include <random>
#include <string>

#include "plumlog/types.h"

namespace plumlog {
namespace {

constexpr std::string_view kB64Of1To32 =
    "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

// Joins text pieces (GCC 12 warns falsely on "literal" + std::string&&).
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

template <typename Id>
Id Counting() {
  Id id;
  for (size_t i = 0; i < Id::kSize; ++i)
    id.mutable_bytes()[i] = static_cast<uint8_t>(i + 1);
  return id;
}

TEST(IdText, KnownSpellings) {
  EXPECT_EQ(Counting<FeedId>().ToString(),
            "@" + std::string(kB64Of1To32) + ".ed25519");
  EXPECT_EQ(Counting<EntryId>().ToString(),
            "%" + std::string(kB64Of1To32) + ".blake2b");
  EXPECT_EQ(FeedId().ToString(), "@" + std::string(43, 'A') + "=.ed25519");
  EXPECT_EQ(Counting<FeedId>().Short(), "AQIDBAUG");
  EXPECT_EQ(Counting<EntryId>().Short(), "AQIDBAUG");
}

TEST(IdText, RoundTripFeedAndEntryIds) {
  std::mt19937 rng(12345);
  for (int n = 0; n < 500; ++n) {
    FeedId f;
    EntryId e;
    for (auto& b : f.mutable_bytes()) b = static_cast<uint8_t>(rng());
    for (auto& b : e.mutable_bytes()) b = static_cast<uint8_t>(rng());
    const std::string ft = f.ToString();
    const std::string et = e.ToString();
    ASSERT_EQ(ft.size(), 1u + 44u + 8u);
    ASSERT_EQ(et.size(), 1u + 44u + 8u);
    Result<FeedId> fp = FeedId::Parse(ft);
    Result<EntryId> ep = EntryId::Parse(et);
    ASSERT_TRUE(fp.ok()) << ft << " " << fp.status().ToString();
    ASSERT_TRUE(ep.ok()) << et << " " << ep.status().ToString();
    EXPECT_EQ(*fp, f);
    EXPECT_EQ(*ep, e);
  }
  // Extremes.
  FeedId ones;
  ones.mutable_bytes().fill(0xff);
  EXPECT_EQ(*FeedId::Parse(ones.ToString()), ones);
  EXPECT_EQ(*FeedId::Parse(FeedId().ToString()), FeedId());
}

void ExpectRejectedAsFeedId(const std::string& text) {
  Result<FeedId> r = FeedId::Parse(text);
  ASSERT_FALSE(r.ok()) << "accepted: " << text;
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << text;
  EXPECT_NE(r.status().message().find("feed id"), std::string::npos)
      << r.status().message();
}

TEST(IdText, RejectsWrongSigilOrSuffix) {
  const std::string b64(kB64Of1To32);
  ExpectRejectedAsFeedId(Cat({"%", b64, ".ed25519"}));
  ExpectRejectedAsFeedId(Cat({"&", b64, ".ed25519"}));
  ExpectRejectedAsFeedId(b64 + ".ed25519");
  ExpectRejectedAsFeedId(Cat({"@", b64, ".blake2b"}));
  ExpectRejectedAsFeedId(Cat({"@", b64, ".ed25518"}));
  ExpectRejectedAsFeedId(Cat({"@", b64, ".ED25519"}));
  ExpectRejectedAsFeedId(Cat({"@", b64, "ed25519"}));
  ExpectRejectedAsFeedId(Cat({"@", b64}));
  ExpectRejectedAsFeedId(Cat({"@", b64, ".ed25519 "}));
  ExpectRejectedAsFeedId(Cat({" @", b64, ".ed25519"}));
  // An entry id is not a feed id and vice versa.
  EXPECT_FALSE(FeedId::Parse(Counting<EntryId>().ToString()).ok());
  Result<EntryId> e = EntryId::Parse(Counting<FeedId>().ToString());
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("entry id"), std::string::npos);
  EXPECT_FALSE(EntryId::Parse(Cat({"%", b64, ".sha256"})).ok());
}

TEST(IdText, RejectsWrongLength) {
  const std::string b64(kB64Of1To32);
  ExpectRejectedAsFeedId("");
  ExpectRejectedAsFeedId("@");
  ExpectRejectedAsFeedId("@.ed25519");
  ExpectRejectedAsFeedId(
      Cat({"@", b64.substr(0, 43), ".ed25519"}));  // padding dropped
  ExpectRejectedAsFeedId(
      Cat({"@", b64.substr(1), ".ed25519"}));            // a char dropped
  ExpectRejectedAsFeedId(Cat({"@A", b64, ".ed25519"}));  // a char added
  ExpectRejectedAsFeedId(Cat({"@", b64, "=.ed25519"}));
  ExpectRejectedAsFeedId(Cat({"@", b64, b64, ".ed25519"}));
  // 44 chars that decode to 33 bytes (no padding) or 31 bytes (two '=').
  ExpectRejectedAsFeedId(Cat({"@", b64.substr(0, 43), "A.ed25519"}));
  ExpectRejectedAsFeedId(Cat({"@", b64.substr(0, 42), "==.ed25519"}));
}

TEST(IdText, RejectsBadCharacters) {
  const std::string b64(kB64Of1To32);
  for (char bad :
       {'!', '-', '_', ' ', '\n', '.', '@', '%', '\0', '\x80', '\xff', '='}) {
    for (size_t pos : {size_t{0}, size_t{10}, size_t{42}}) {
      std::string t = b64;
      t[pos] = bad;
      ExpectRejectedAsFeedId(Cat({"@", t, ".ed25519"}));
    }
  }
}

TEST(IdText, RejectsNonCanonicalBase64) {
  // 32 bytes = 42 full sextets + 4 bits: the 43rd character carries 4 data bits
  // and 2 unused bits, which the canonical spelling leaves zero. Base64
  // alphabet index of the last char of the all-zero id is 0 ('A'); 'B', 'C',
  // 'D' set the unused bits and decode to the same bytes in lenient decoders.
  const std::string zeros(43, 'A');
  ASSERT_TRUE(FeedId::Parse(Cat({"@", zeros, "=.ed25519"})).ok());
  for (char last : {'B', 'C', 'D'}) {
    std::string t = zeros;
    t[42] = last;
    Result<FeedId> r = FeedId::Parse(Cat({"@", t, "=.ed25519"}));
    EXPECT_FALSE(r.ok()) << t;
    Result<EntryId> e = EntryId::Parse(Cat({"%", t, "=.blake2b"}));
    EXPECT_FALSE(e.ok()) << t;
  }
  // 'E' (index 4) is a real data bit: a different, canonical id.
  std::string t = zeros;
  t[42] = 'E';
  Result<FeedId> r = FeedId::Parse(Cat({"@", t, "=.ed25519"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes()[31], 0x01);  // 000100: data bits 0001, unused 00
  // The same for the counting id: its last char 'A' -> 'B' is non-canonical.
  std::string c(kB64Of1To32);
  ASSERT_EQ(c[42], 'A');
  c[42] = 'B';
  EXPECT_FALSE(FeedId::Parse(Cat({"@", c, ".ed25519"})).ok());
}

TEST(IdText, FromBytesChecksLength) {
  EXPECT_FALSE(FeedId::FromBytes(std::string(31, 'a')).has_value());
  EXPECT_FALSE(FeedId::FromBytes(std::string(33, 'a')).has_value());
  EXPECT_FALSE(EntryId::FromBytes("").has_value());
  auto id = EntryId::FromBytes(std::string(32, '\x07'));
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->view(), std::string(32, '\x07'));
}

TEST(IdText, OrderingFollowsBytes) {
  FeedId a, b;
  a.mutable_bytes()[0] = 1;
  b.mutable_bytes()[0] = 2;
  EXPECT_LT(a, b);
  b.mutable_bytes()[0] = 1;
  EXPECT_EQ(a, b);
  EXPECT_EQ(std::hash<FeedId>{}(a), std::hash<FeedId>{}(b));
}

}  // namespace
}  // namespace plumlog
