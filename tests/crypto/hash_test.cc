// BLAKE2b-256 (RFC 7693, 32-byte digest, no key) against published values.
#include "crypto/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace plumlog::crypto {
namespace {

std::string Hex(const std::array<uint8_t, 32>& d) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

// Known answers for BLAKE2b with a 32-byte output (the parameter block of RFC
// 7693 section 2.5 with nn = 32, kk = 0), as published by the BLAKE2 authors'
// reference implementation and reproduced by Python's hashlib.blake2b(
// digest_size=32).
TEST(Blake2b256, KnownVectors) {
  EXPECT_EQ(Hex(Blake2b256("")),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(Hex(Blake2b256("abc")),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(Blake2b256, DifferentInputsDiffer) {
  EXPECT_NE(Blake2b256("abc"), Blake2b256("abd"));
  EXPECT_NE(Blake2b256(std::string(1, '\0')), Blake2b256(""));
}

TEST(Blake2b256, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  const auto expect = Blake2b256(data);
  // Split at several points, including empty updates and block boundaries
  // (128).
  for (size_t split : {size_t{0}, size_t{1}, size_t{127}, size_t{128},
                       size_t{129}, size_t{500}, size_t{999}, size_t{1000}}) {
    Blake2b256Hasher h;
    h.Update(std::string_view(data).substr(0, split));
    h.Update("");
    h.Update(std::string_view(data).substr(split));
    EXPECT_EQ(h.Final(), expect) << "split at " << split;
  }
  // Byte by byte.
  Blake2b256Hasher h;
  for (char c : data) h.Update(std::string_view(&c, 1));
  EXPECT_EQ(h.Final(), expect);
}

TEST(Blake2b256, HasherWithNoInputIsHashOfEmpty) {
  Blake2b256Hasher h;
  EXPECT_EQ(Hex(h.Final()),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST(Blake2b256, IncrementalAbc) {
  Blake2b256Hasher h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(Hex(h.Final()),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

}  // namespace
}  // namespace plumlog::crypto
