// Tests of box-stream framing (crypto/box_stream.h).
#include "crypto/box_stream.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdint>
#include <string>

namespace plumlog::crypto {
namespace {

BoxStreamKey TestKey() {
  BoxStreamKey k;
  for (size_t i = 0; i < k.key.size(); ++i) k.key[i] = static_cast<uint8_t>(i);
  // A nonce whose low bytes are about to carry, to exercise the big-endian
  // counter across byte boundaries.
  k.nonce.fill(0);
  k.nonce[21] = 0x01;
  k.nonce[22] = 0xff;
  k.nonce[23] = 0xfe;
  return k;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 7919 + 13) & 0xff);
  return s;
}

std::string EncodeAll(const std::string& plain, bool goodbye = true) {
  BoxStreamEncoder enc(TestKey());
  std::string wire;
  EXPECT_TRUE(enc.Encode(plain, &wire).ok());
  if (goodbye) {
    EXPECT_TRUE(enc.Goodbye(&wire).ok());
  }
  return wire;
}

class BoxStreamSizeTest : public ::testing::TestWithParam<size_t> {};

TEST_P(BoxStreamSizeTest, RoundTrip) {
  const std::string plain = Pattern(GetParam());
  const std::string wire = EncodeAll(plain);
  const size_t frames =
      (plain.size() + kBoxStreamMaxBodySize - 1) / kBoxStreamMaxBodySize;
  EXPECT_EQ(wire.size(), plain.size() + (frames + 1) * kBoxStreamHeaderSize);
  BoxStreamDecoder dec(TestKey());
  std::string out;
  ASSERT_TRUE(dec.Feed(wire, &out).ok());
  EXPECT_TRUE(dec.goodbye());
  EXPECT_EQ(out, plain);
  EXPECT_TRUE(dec.End().ok());
}

INSTANTIATE_TEST_SUITE_P(Sizes, BoxStreamSizeTest,
                         ::testing::Values(0, 1, 4095, 4096, 4097, 1 << 20));

TEST(BoxStreamTest, ByteByByte) {
  const std::string plain = Pattern(9000);
  const std::string wire = EncodeAll(plain);
  BoxStreamDecoder dec(TestKey());
  std::string out;
  for (char c : wire) {
    ASSERT_TRUE(dec.Feed(std::string(1, c), &out).ok());
    EXPECT_LE(dec.buffered(), kBoxStreamHeaderSize + kBoxStreamMaxBodySize);
  }
  EXPECT_EQ(out, plain);
  EXPECT_TRUE(dec.goodbye());
}

TEST(BoxStreamTest, ManyWritesOneStream) {
  BoxStreamEncoder enc(TestKey());
  std::string wire, plain;
  for (size_t n : {5u, 0u, 4096u, 300u, 10000u}) {
    const std::string part = Pattern(n);
    plain += part;
    ASSERT_TRUE(enc.Encode(part, &wire).ok());
  }
  ASSERT_TRUE(enc.Goodbye(&wire).ok());
  EXPECT_FALSE(enc.Encode("late", &wire).ok());
  EXPECT_FALSE(enc.Goodbye(&wire).ok());
  BoxStreamDecoder dec(TestKey());
  std::string out;
  // Odd-sized chunks.
  for (size_t i = 0; i < wire.size(); i += 777) {
    ASSERT_TRUE(dec.Feed(std::string_view(wire).substr(i, 777), &out).ok());
  }
  EXPECT_EQ(out, plain);
  EXPECT_TRUE(dec.goodbye());
}

TEST(BoxStreamTest, EveryTamperedByteFails) {
  const std::string wire = EncodeAll(Pattern(100));
  for (size_t i = 0; i < wire.size(); ++i) {
    std::string bad = wire;
    bad[i] ^= 0x04;
    BoxStreamDecoder dec(TestKey());
    std::string out;
    const Status st = dec.Feed(bad, &out);
    EXPECT_FALSE(st.ok()) << i;
    EXPECT_FALSE(dec.goodbye()) << i;
    if (i < kBoxStreamHeaderSize) {
      EXPECT_NE(st.message().find("header"), std::string::npos)
          << st.ToString();
    }
    EXPECT_FALSE(dec.Feed("x", &out).ok());  // stays failed
  }
}

TEST(BoxStreamTest, WrongKeyFails) {
  const std::string wire = EncodeAll("secret");
  BoxStreamKey other = TestKey();
  other.nonce[0] ^= 1;
  BoxStreamDecoder dec(other);
  std::string out;
  EXPECT_FALSE(dec.Feed(wire, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(BoxStreamTest, MissingGoodbyeIsAnError) {
  const std::string wire = EncodeAll(Pattern(5000), /*goodbye=*/false);
  BoxStreamDecoder dec(TestKey());
  std::string out;
  ASSERT_TRUE(dec.Feed(wire, &out).ok());
  EXPECT_EQ(out.size(), 5000u);
  const Status st = dec.End();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("without goodbye"), std::string::npos)
      << st.ToString();
}

TEST(BoxStreamTest, EndInsideFrameIsAnError) {
  const std::string wire = EncodeAll(Pattern(100));
  for (size_t cut :
       {size_t{1}, kBoxStreamHeaderSize, kBoxStreamHeaderSize + 50}) {
    BoxStreamDecoder dec(TestKey());
    std::string out;
    ASSERT_TRUE(dec.Feed(wire.substr(0, cut), &out).ok());
    const Status st = dec.End();
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("inside a frame"), std::string::npos)
        << st.ToString();
  }
}

TEST(BoxStreamTest, DataAfterGoodbyeFails) {
  const std::string wire = EncodeAll("abc");
  BoxStreamDecoder dec(TestKey());
  std::string out;
  EXPECT_FALSE(dec.Feed(wire + "z", &out).ok());
  BoxStreamDecoder dec2(TestKey());
  ASSERT_TRUE(dec2.Feed(wire, &out).ok());
  EXPECT_FALSE(dec2.Feed("z", &out).ok());
}

TEST(BoxStreamTest, OversizedLengthFails) {
  // A validly encrypted header announcing 4097 bytes (a hostile peer that
  // knows the key).
  const BoxStreamKey k = TestKey();
  unsigned char header[18] = {0x10, 0x01};
  std::string wire(kBoxStreamHeaderSize, '\0');
  crypto_secretbox_easy(reinterpret_cast<unsigned char*>(wire.data()), header,
                        sizeof header, k.nonce.data(), k.key.data());
  BoxStreamDecoder dec(k);
  std::string out;
  const Status st = dec.Feed(wire, &out);
  EXPECT_EQ(st.code(), Status::Code::kTooLarge) << st.ToString();
}

}  // namespace
}  // namespace plumlog::crypto
