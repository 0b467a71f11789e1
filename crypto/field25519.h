// Fe25519: an element of GF(2^255 - 19) for the variable-time verification
// path.
//
// Five unsigned 51-bit limbs (value = sum v[i] * 2^(51 i)), multiplied with
// 64x64->128-bit products. Limbs are kept loosely reduced: +, -, * and
// Square return limbs below 2^52 and accept any such value; * and Square also
// accept the lazy sums below (limbs under 2^54: their 128-bit column sums then
// stay under 2^115, the most Reduce takes). Only ToBytes produces the unique
// (canonical) representation.
//
// Time does not depend on the values: +, -, *, Square, Invert, Pow22523,
// ToBytes, IsZero, IsNegative and Select run the same instructions and touch
// the same memory whatever the limbs hold (64x64->128-bit multiplication is
// constant-time on the x86-64 and AArch64 cores plumlog runs on), so the
// signer (crypto/hedged_signer.h) uses them on secret values. Equals and
// every caller that branches on a result (point decompression, the verifier)
// are variable-time and only ever see public data.
#ifndef PLUMLOG_CRYPTO_FIELD25519_H_
#define PLUMLOG_CRYPTO_FIELD25519_H_

#include <array>
#include <cstdint>

namespace plumlog::crypto {

class Fe25519 {
 public:
  using u128 = unsigned __int128;
  static constexpr uint64_t kMask = (uint64_t{1} << 51) - 1;

  constexpr Fe25519() : v_{0, 0, 0, 0, 0} {}
  static constexpr Fe25519 FromLimbs(uint64_t a, uint64_t b, uint64_t c,
                                     uint64_t d, uint64_t e) {
    Fe25519 r;
    r.v_[0] = a;
    r.v_[1] = b;
    r.v_[2] = c;
    r.v_[3] = d;
    r.v_[4] = e;
    return r;
  }
  static constexpr Fe25519 Zero() { return Fe25519(); }
  static constexpr Fe25519 One() { return FromLimbs(1, 0, 0, 0, 0); }

  // The low 255 bits of the little-endian bytes (bit 255 is ignored); values
  // from p to 2^255 - 1 are accepted and reduced by arithmetic.
  static Fe25519 FromBytes(const uint8_t s[32]);
  // The canonical little-endian encoding (value < p), bit 255 clear.
  std::array<uint8_t, 32> ToBytes() const;

  bool IsZero() const;
  // The low bit of the canonical encoding ("negative" in RFC 8032 terms).
  bool IsNegative() const;
  bool Equals(const Fe25519& o) const { return ToBytes() == o.ToBytes(); }

  friend Fe25519 operator+(const Fe25519& a, const Fe25519& b) {
    Fe25519 r;
    for (int i = 0; i < 5; ++i) r.v_[i] = a.v_[i] + b.v_[i];
    r.Carry();
    return r;
  }
  // a - b computed as a + 4p - b, so no limb underflows.
  friend Fe25519 operator-(const Fe25519& a, const Fe25519& b) {
    Fe25519 r;
    r.v_[0] = a.v_[0] + kFourP0 - b.v_[0];
    for (int i = 1; i < 5; ++i) r.v_[i] = a.v_[i] + kFourPi - b.v_[i];
    r.Carry();
    return r;
  }
  Fe25519 operator-() const { return Zero() - *this; }

  // Sum and difference without the carry, for the point formulas' inner
  // terms that go straight into a multiplication or a square. Results may
  // have limbs up to 2^54, so they may only feed * and Square. AddLazy: both
  // inputs below 2^53 (carried values, products, or one lazy sum of two of
  // those). SubLazy: the minuend below 2^53, the subtrahend a carried value or
  // product (below 2^52; it must not exceed 4p's limbs, ~2^53).
  static Fe25519 AddLazy(const Fe25519& a, const Fe25519& b) {
    Fe25519 r;
    for (int i = 0; i < 5; ++i) r.v_[i] = a.v_[i] + b.v_[i];
    return r;
  }
  static Fe25519 SubLazy(const Fe25519& a, const Fe25519& b) {
    Fe25519 r;
    r.v_[0] = a.v_[0] + kFourP0 - b.v_[0];
    for (int i = 1; i < 5; ++i) r.v_[i] = a.v_[i] + kFourPi - b.v_[i];
    return r;
  }

  friend Fe25519 operator*(const Fe25519& a, const Fe25519& b) {
    const uint64_t* x = a.v_;
    const uint64_t* y = b.v_;
    const uint64_t y1 = y[1] * 19, y2 = y[2] * 19, y3 = y[3] * 19,
                   y4 = y[4] * 19;
    u128 r0 =
        M(x[0], y[0]) + M(x[1], y4) + M(x[2], y3) + M(x[3], y2) + M(x[4], y1);
    u128 r1 =
        M(x[0], y[1]) + M(x[1], y[0]) + M(x[2], y4) + M(x[3], y3) + M(x[4], y2);
    u128 r2 = M(x[0], y[2]) + M(x[1], y[1]) + M(x[2], y[0]) + M(x[3], y4) +
              M(x[4], y3);
    u128 r3 = M(x[0], y[3]) + M(x[1], y[2]) + M(x[2], y[1]) + M(x[3], y[0]) +
              M(x[4], y4);
    u128 r4 = M(x[0], y[4]) + M(x[1], y[3]) + M(x[2], y[2]) + M(x[3], y[1]) +
              M(x[4], y[0]);
    return Reduce(r0, r1, r2, r3, r4);
  }
  Fe25519 Square() const {
    const uint64_t* x = v_;
    const uint64_t d0 = x[0] * 2, d1 = x[1] * 2, d3 = x[3] * 2;
    const uint64_t x3_19 = x[3] * 19, x4_19 = x[4] * 19;
    u128 r0 = M(x[0], x[0]) + M(d1, x4_19) + M(x[2] * 2, x3_19);
    u128 r1 = M(d0, x[1]) + M(x[2] * 2, x4_19) + M(x[3], x3_19);
    u128 r2 = M(d0, x[2]) + M(x[1], x[1]) + M(d3, x4_19);
    u128 r3 = M(d0, x[3]) + M(d1, x[2]) + M(x[4], x4_19);
    u128 r4 = M(d0, x[4]) + M(d1, x[3]) + M(x[2], x[2]);
    return Reduce(r0, r1, r2, r3, r4);
  }
  // this^(2^n), n >= 1.
  Fe25519 SquareTimes(int n) const {
    Fe25519 r = Square();
    for (int i = 1; i < n; ++i) r = r.Square();
    return r;
  }

  // 1/this (0 for 0), as this^(p-2).
  Fe25519 Invert() const;
  // this^((p-5)/8), the core of the square root in point decompression.
  Fe25519 Pow22523() const;

  const uint64_t* limbs() const { return v_; }

  // b where mask is all ones, a where it is 0 (any other mask mixes limbs).
  // No branch: for choices that depend on secrets.
  static Fe25519 Select(const Fe25519& a, const Fe25519& b, uint64_t mask) {
    Fe25519 r;
    for (int i = 0; i < 5; ++i)
      r.v_[i] = a.v_[i] ^ ((a.v_[i] ^ b.v_[i]) & mask);
    return r;
  }

 private:
  // 4p, limb by limb: 4 * (2^51 - 19) and 4 * (2^51 - 1).
  static constexpr uint64_t kFourP0 = 0x1FFFFFFFFFFFB4;
  static constexpr uint64_t kFourPi = 0x1FFFFFFFFFFFFC;

  static u128 M(uint64_t a, uint64_t b) { return static_cast<u128>(a) * b; }

  // Carries so every limb is below 2^51 except limb 0, which may exceed it
  // by 19 * (the carry out of limb 4), far below 2^52.
  void Carry() {
    uint64_t c;
    c = v_[0] >> 51, v_[0] &= kMask, v_[1] += c;
    c = v_[1] >> 51, v_[1] &= kMask, v_[2] += c;
    c = v_[2] >> 51, v_[2] &= kMask, v_[3] += c;
    c = v_[3] >> 51, v_[3] &= kMask, v_[4] += c;
    c = v_[4] >> 51, v_[4] &= kMask, v_[0] += c * 19;
  }

  static Fe25519 Reduce(u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
    Fe25519 r;
    r1 += static_cast<uint64_t>(r0 >> 51);
    r.v_[0] = static_cast<uint64_t>(r0) & kMask;
    r2 += static_cast<uint64_t>(r1 >> 51);
    r.v_[1] = static_cast<uint64_t>(r1) & kMask;
    r3 += static_cast<uint64_t>(r2 >> 51);
    r.v_[2] = static_cast<uint64_t>(r2) & kMask;
    r4 += static_cast<uint64_t>(r3 >> 51);
    r.v_[3] = static_cast<uint64_t>(r3) & kMask;
    u128 top = r4 >> 51;  // below 2^66: kept wide for the multiplication by 19
    r.v_[4] = static_cast<uint64_t>(r4) & kMask;
    u128 low = static_cast<u128>(r.v_[0]) + top * 19;
    r.v_[0] = static_cast<uint64_t>(low) & kMask;
    r.v_[1] += static_cast<uint64_t>(low >> 51);
    return r;
  }

  uint64_t v_[5];
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_FIELD25519_H_
