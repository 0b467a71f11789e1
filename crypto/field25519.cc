#include "crypto/field25519.h"

#include <cstring>

namespace plumlog::crypto {
namespace {

uint64_t Load64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Fe25519 Fe25519::FromBytes(const uint8_t s[32]) {
  // Limb i holds bits [51 i, 51 i + 51): byte offset 51 i / 8, shift 51 i % 8,
  // except the last, read from byte 24 so the load stays inside the 32 bytes.
  return FromLimbs(Load64(s) & kMask, (Load64(s + 6) >> 3) & kMask,
                   (Load64(s + 12) >> 6) & kMask, (Load64(s + 19) >> 1) & kMask,
                   (Load64(s + 24) >> 12) & kMask);
}

std::array<uint8_t, 32> Fe25519::ToBytes() const {
  Fe25519 t = *this;
  t.Carry();
  t.Carry();  // now every limb < 2^51 and the value < 2^255 + 2^(something
              // small) < 2p
  // q = 1 exactly when the value is >= p: adding 19 then carries out of bit
  // 255.
  uint64_t q = (t.v_[0] + 19) >> 51;
  q = (t.v_[1] + q) >> 51;
  q = (t.v_[2] + q) >> 51;
  q = (t.v_[3] + q) >> 51;
  q = (t.v_[4] + q) >> 51;
  t.v_[0] += 19 * q;  // value + 19q, then drop bit 255: value - p q
  uint64_t c;
  c = t.v_[0] >> 51, t.v_[0] &= kMask, t.v_[1] += c;
  c = t.v_[1] >> 51, t.v_[1] &= kMask, t.v_[2] += c;
  c = t.v_[2] >> 51, t.v_[2] &= kMask, t.v_[3] += c;
  c = t.v_[3] >> 51, t.v_[3] &= kMask, t.v_[4] += c;
  t.v_[4] &= kMask;
  std::array<uint8_t, 32> out{};
  // Pack 5 x 51 bits into 255 bits, little-endian.
  u128 acc = 0;
  int bits = 0;
  size_t o = 0;
  for (int i = 0; i < 5; ++i) {
    acc |= static_cast<u128>(t.v_[i]) << bits;
    bits += 51;
    while (bits >= 8) {
      out[o++] = static_cast<uint8_t>(acc);
      acc >>= 8;
      bits -= 8;
    }
  }
  out[o] = static_cast<uint8_t>(acc);  // the last 7 bits (o == 31)
  return out;
}

bool Fe25519::IsZero() const {
  std::array<uint8_t, 32> b = ToBytes();
  uint8_t any = 0;
  for (uint8_t x : b) any |= x;
  return any == 0;
}

bool Fe25519::IsNegative() const { return (ToBytes()[0] & 1) != 0; }

// Both exponentiations share the ladder to z^(2^250 - 1):
//   z^11, z^(2^5-1), z^(2^10-1), z^(2^20-1), z^(2^40-1), z^(2^50-1),
//   z^(2^100-1), z^(2^200-1), z^(2^250-1).
namespace {

struct Ladder {
  Fe25519 z11;
  Fe25519 z250;  // z^(2^250 - 1)
};

Ladder Climb(const Fe25519& z) {
  Fe25519 z2 = z.Square();                      // 2
  Fe25519 z9 = z2.SquareTimes(2) * z;           // 9
  Fe25519 z11 = z9 * z2;                        // 11
  Fe25519 z5 = z11.Square() * z9;               // 2^5 - 1 (22 + 9 = 31)
  Fe25519 z10 = z5.SquareTimes(5) * z5;         // 2^10 - 1
  Fe25519 z20 = z10.SquareTimes(10) * z10;      // 2^20 - 1
  Fe25519 z40 = z20.SquareTimes(20) * z20;      // 2^40 - 1
  Fe25519 z50 = z40.SquareTimes(10) * z10;      // 2^50 - 1
  Fe25519 z100 = z50.SquareTimes(50) * z50;     // 2^100 - 1
  Fe25519 z200 = z100.SquareTimes(100) * z100;  // 2^200 - 1
  Fe25519 z250 = z200.SquareTimes(50) * z50;    // 2^250 - 1
  return {z11, z250};
}

}  // namespace

Fe25519 Fe25519::Invert() const {
  Ladder l = Climb(*this);
  return l.z250.SquareTimes(5) * l.z11;  // 2^255 - 32 + 11 = p - 2
}

Fe25519 Fe25519::Pow22523() const {
  Ladder l = Climb(*this);
  return l.z250.SquareTimes(2) * *this;  // 2^252 - 4 + 1 = (p - 5) / 8
}

}  // namespace plumlog::crypto
