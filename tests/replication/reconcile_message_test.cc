// The Reconcile wire message: round trips, the exact bytes of a small one,
// and every kind of malformed or over-limit frame refused with a reason.
#include "replication/reconcile_message.h"

#include <gtest/gtest.h>

#include <variant>

#include "core/msgpack_reader.h"
#include "replication/message.h"
#include "tests/storage/store_test_util.h"

namespace plumlog::replication {
namespace {

FeedId Fid(std::initializer_list<uint8_t> first) {
  return plumlog::testing::FeedIdStartingWith(first);
}

ReconcileMessage Sample() {
  ReconcileMessage m;
  m.session = 0x1122334455667788ull;
  m.round = 3;
  m.fingerprint_bytes = 4;
  m.truncated = true;
  ReconcilePart fp;
  fp.range = FeedRange::Of(Fid({0x12, 0x30}), 12);
  fp.mode = ReconcileMode::kFingerprints;
  fp.split_bits = 2;
  fp.fingerprints = std::string(16, 'f');
  m.parts.push_back(fp);
  ReconcilePart items;
  items.range = FeedRange::Of(Fid({0x20}), 4);
  items.mode = ReconcileMode::kItems;
  items.items.push_back({Fid({0x20, 1}), 1, 0});
  items.items.push_back({Fid({0x2f, 0xff}), 1ull << 40, 0xdeadbeefcafef00dull});
  m.parts.push_back(items);
  ReconcilePart empty;  // "I hold nothing here"
  empty.range = FeedRange::Of(Fid({0x30}), 8);
  empty.mode = ReconcileMode::kItems;
  m.parts.push_back(empty);
  return m;
}

TEST(ReconcileMessage, RoundTripsAndIsRecognised) {
  const ReconcileMessage m = Sample();
  const std::string wire = EncodeReconcileMessage(m);
  EXPECT_TRUE(IsReconcileFrame(wire));
  Result<ReconcileMessage> back = DecodeReconcileMessage(wire);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, m);
  size_t parts = 0;
  for (const auto& p : m.parts) parts += EncodedPartSize(p);
  EXPECT_LE(wire.size(), parts + kReconcileHeaderBytes);
  EXPECT_GE(wire.size(), parts + 8);
  ReconcileMessage done;
  done.session = 5;
  done.round = 1;
  Result<ReconcileMessage> d =
      DecodeReconcileMessage(EncodeReconcileMessage(done));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->parts.empty());
  EXPECT_FALSE(
      IsReconcileFrame(std::string("\x92\x05\x00", 3)));  // a fork proof's type
}

// An array16 header where a fixarray fits: the decoder takes it, so the
// routing in DecodeMessage must too (it used to look for a fixarray only).
TEST(ReconcileMessage, LongArrayHeaderIsRecognised) {
  const std::string wire = EncodeReconcileMessage(Sample());
  ASSERT_EQ(static_cast<uint8_t>(wire[0]), 0x96);
  const std::string a16 = std::string("\xdc\x00\x06", 3) + wire.substr(1);
  EXPECT_TRUE(IsReconcileFrame(a16));
  Result<Message> m = DecodeMessage(a16);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE(std::holds_alternative<ReconcileMessage>(*m));
  EXPECT_EQ(std::get<ReconcileMessage>(*m), Sample());
}

TEST(ReconcileMessage, ExactBytesOfASmallMessage) {
  ReconcileMessage m;
  m.session = 7;
  m.round = 0;
  m.fingerprint_bytes = 4;
  ReconcilePart p;
  p.range = FeedRange::Of(Fid({0xa0}), 3);
  p.split_bits = 1;
  p.fingerprints = "abcdefgh";
  m.parts.push_back(p);
  static const char kWant[] =
      "\x96\x06\x07\x00\x04\xc2\x91"  // [6, 7, 0, 4, false, [
      "\x95\x03\xc4\x01\xa0\x01\x01"  //   [3, bin(a0), 1, 1,
      "\xc4\x08"
      "abcdefgh";  //    bin(abcdefgh)]]]
  EXPECT_EQ(EncodeReconcileMessage(m), std::string(kWant, sizeof kWant - 1));
}

// Decodes `wire` and expects a refusal whose message mentions `what`.
void ExpectRefused(const std::string& wire, std::string_view what) {
  Result<ReconcileMessage> r = DecodeReconcileMessage(wire);
  ASSERT_FALSE(r.ok()) << "accepted; expected: " << what;
  EXPECT_NE(r.status().message().find(what), std::string::npos)
      << r.status().message();
}

// A hand-built message: header fields, then the given parts' bytes.
std::string Frame(uint32_t nparts, const std::string& parts, uint64_t round = 0,
                  uint64_t fp_bytes = 4) {
  std::string out;
  core::AppendMsgpackArrayHeader(&out, 6);
  core::AppendMsgpackUint(&out, 6);
  core::AppendMsgpackUint(&out, 1);
  core::AppendMsgpackUint(&out, round);
  core::AppendMsgpackUint(&out, fp_bytes);
  core::AppendMsgpackBool(&out, false);
  core::AppendMsgpackArrayHeader(&out, nparts);
  return out + parts;
}
std::string FpPart(uint32_t bits, std::string prefix, uint32_t split,
                   size_t fp_len) {
  std::string out;
  core::AppendMsgpackArrayHeader(&out, 5);
  core::AppendMsgpackUint(&out, bits);
  core::AppendMsgpackBin(&out, prefix);
  core::AppendMsgpackUint(&out, 1);
  core::AppendMsgpackUint(&out, split);
  core::AppendMsgpackBin(&out, std::string(fp_len, 'x'));
  return out;
}
std::string ItemsPart(uint32_t bits, std::string prefix,
                      const std::vector<std::pair<FeedId, uint64_t>>& items) {
  std::string out;
  core::AppendMsgpackArrayHeader(&out, 4);
  core::AppendMsgpackUint(&out, bits);
  core::AppendMsgpackBin(&out, prefix);
  core::AppendMsgpackUint(&out, 2);
  core::AppendMsgpackArrayHeader(&out, static_cast<uint32_t>(items.size()));
  for (const auto& [feed, seq] : items) {
    core::AppendMsgpackArrayHeader(&out, 3);
    core::AppendMsgpackBin(&out, feed.view());
    core::AppendMsgpackUint(&out, seq);
    core::AppendMsgpackUint(&out, 0);
  }
  return out;
}

TEST(ReconcileMessage, RefusesMalformedFrames) {
  // Sanity: the helpers build an accepted message.
  ASSERT_TRUE(DecodeReconcileMessage(Frame(1, FpPart(4, "\x10", 2, 16))).ok());
  ExpectRefused("", "reconcile message");
  ExpectRefused(std::string("\x95\x06\x01\x00\x04", 5), "expected 6 fields");
  ExpectRefused(std::string("\x96\x05\x01\x00\x04\xc2\x90", 7),
                "not a reconcile message");
  ExpectRefused(Frame(0, "", 129), "round 129");
  ExpectRefused(Frame(0, "", 0, 3), "fingerprints of 3 bytes");
  ExpectRefused(Frame(0, "", 0, 17), "fingerprints of 17 bytes");
  ExpectRefused(Frame(0, "") + "x", "reconcile message");  // trailing bytes
  // Ranges.
  ExpectRefused(Frame(1, FpPart(257, std::string(33, '\0'), 1, 8)), "257 bits");
  ExpectRefused(Frame(1, FpPart(12, "\x10", 1, 8)),
                "prefix");  // 1 byte for 12 bits
  ExpectRefused(Frame(1, FpPart(4, "\x11", 1, 8)),
                "bits set past");  // a bit past 4
  ExpectRefused(Frame(2, FpPart(4, "\x10", 1, 8) + FpPart(8, "\x12", 1, 8)),
                "overlap");
  ExpectRefused(Frame(2, FpPart(4, "\x20", 1, 8) + FpPart(4, "\x10", 1, 8)),
                "out of order");
  ExpectRefused(Frame(2, FpPart(4, "\x10", 1, 8) + FpPart(4, "\x10", 1, 8)),
                "overlap");
  // Fingerprint parts.
  ExpectRefused(Frame(1, FpPart(4, "\x10", 0, 4)), "split of 0 bits");
  ExpectRefused(Frame(1, FpPart(4, "\x10", 9, 4 << 9)), "split of 9 bits");
  ExpectRefused(Frame(1, FpPart(254, std::string(32, '\0'), 3, 32)),
                "split of 3 bits");
  ExpectRefused(Frame(1, FpPart(4, "\x10", 2, 15)), "reconcile fingerprints");
  ExpectRefused(Frame(1, FpPart(4, "\x10", 2, 17)), "reconcile fingerprints");
  // Item parts.
  const FeedId in = Fid({0x15}), out_of_range = Fid({0x25});
  ASSERT_TRUE(
      DecodeReconcileMessage(Frame(1, ItemsPart(4, "\x10", {{in, 1}}))).ok());
  ExpectRefused(Frame(1, ItemsPart(4, "\x10", {{out_of_range, 1}})),
                "outside their range");
  ExpectRefused(Frame(1, ItemsPart(4, "\x10", {{Fid({0x16}), 1}, {in, 1}})),
                "out of order");
  ExpectRefused(Frame(1, ItemsPart(4, "\x10", {{in, 1}, {in, 2}})),
                "out of order");
  ExpectRefused(Frame(1, ItemsPart(4, "\x10", {{in, 0}})),
                "sequence out of range");
  ExpectRefused(Frame(1, ItemsPart(4, "\x10", {{in, 1ull << 62}})),
                "sequence out of range");
  {
    std::string part = ItemsPart(4, "\x10", {});
    part[0] = static_cast<char>(0x95);  // 5 fields for an items part
    ExpectRefused(Frame(1, part + "\x00"), "must have 4 fields");
  }
  {
    std::string part = FpPart(4, "\x10", 1, 8);
    part[5] = 3;  // mode 3
    ExpectRefused(Frame(1, part), "unknown reconcile part mode 3");
  }
  // Counts the bytes cannot back are refused before allocating.
  ExpectRefused(Frame(4000, ""), "truncated");
  ExpectRefused(
      Frame(1, ItemsPart(4, "\x10", {}).substr(0, 6) + "\xdc\x10\x00"),
      "truncated");
}

TEST(ReconcileMessage, RefusesWhatIsOverTheLimits) {
  // Too many parts.
  std::string parts;
  for (uint32_t i = 0; i <= kMaxReconcileParts; ++i) {
    std::string prefix(2, '\0');
    prefix[0] = static_cast<char>(i >> 8);
    prefix[1] = static_cast<char>(i);
    parts += ItemsPart(16, prefix, {});
  }
  ExpectRefused(Frame(static_cast<uint32_t>(kMaxReconcileParts + 1), parts),
                "reconcile parts");
  // Too many fingerprints: 129 parts of 256.
  parts.clear();
  for (uint32_t i = 0; i < 129; ++i) {
    std::string prefix(1, static_cast<char>(i));
    parts += FpPart(8, prefix, 8, 256 * 4);
  }
  ExpectRefused(Frame(129, parts), "more than 32768 fingerprints");
  // Too many items: two parts of 4097.
  std::vector<std::pair<FeedId, uint64_t>> items;
  for (uint32_t i = 0; i < 4097; ++i) {
    FeedId f =
        Fid({0x00, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)});
    items.emplace_back(f, 1);
  }
  std::vector<std::pair<FeedId, uint64_t>> more;
  for (auto [f, s] : items) {
    f.mutable_bytes()[0] = 0x80;
    more.emplace_back(f, s);
  }
  ExpectRefused(Frame(2, ItemsPart(1, std::string(1, '\0'), items) +
                             ItemsPart(1, std::string(1, '\x80'), more)),
                "more than 8192 items");
  // Frames over 1 MiB.
  ExpectRefused(std::string(kMaxFrameBytes + 1, '\0'), "reconcile frame of");
}

}  // namespace
}  // namespace plumlog::replication
