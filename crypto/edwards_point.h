// EdwardsPoint: a point of edwards25519 (-x^2 + y^2 = 1 + d x^2 y^2 over
// GF(2^255 - 19), RFC 8032 section 5.1) for the variable-time verification
// path.
//
// Extended coordinates (X : Y : Z : T) with x = X/Z, y = Y/Z, x y = T/Z, and
// the doubling and addition formulas of Hisil, Wong, Carter and Dawson,
// "Twisted Edwards Curves Revisited" (ASIACRYPT 2008), for a = -1. A
// NielsPoint is an affine point prepared for mixed addition: (y + x, y - x,
// 2 d x y); adding one costs 7 multiplications.
#ifndef PLUMLOG_CRYPTO_EDWARDS_POINT_H_
#define PLUMLOG_CRYPTO_EDWARDS_POINT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "crypto/field25519.h"

namespace plumlog::crypto {

struct NielsPoint {
  Fe25519 y_plus_x;
  Fe25519 y_minus_x;
  Fe25519 xy2d;
};

class EdwardsPoint {
 public:
  static EdwardsPoint Identity();
  // The base point B of RFC 8032 (y = 4/5, x even).
  static const EdwardsPoint& Base();
  // Decodes a 32-byte encoding the way libsodium does (ref10): the y
  // coordinate is the low 255 bits taken modulo p, x is the square root with
  // the parity given by bit 255. nullopt when no such x exists. Canonicity
  // and small order are the caller's checks.
  static std::optional<EdwardsPoint> Decompress(std::span<const uint8_t, 32> s);

  // The canonical encoding: y with the parity of x in bit 255.
  std::array<uint8_t, 32> Compress() const;
  // Compresses many points with one field inversion (Montgomery's trick).
  static void CompressBatch(std::span<const EdwardsPoint> points,
                            std::span<std::array<uint8_t, 32>> out);

  EdwardsPoint Double() const;
  EdwardsPoint operator+(const EdwardsPoint& q) const;
  EdwardsPoint operator-() const;
  // this + q and this - q for a prepared affine q.
  EdwardsPoint AddNiels(const NielsPoint& q) const;
  EdwardsPoint SubNiels(const NielsPoint& q) const;

  // Affine forms of many points with one inversion.
  static void ToNielsBatch(std::span<const EdwardsPoint> points,
                           std::span<NielsPoint> out);

  bool IsIdentity() const;
  // Equal as points (projectively), not as representations.
  bool Equals(const EdwardsPoint& q) const;

  // The curve constants d and 2d, and sqrt(-1), computed once.
  static const Fe25519& D();
  static const Fe25519& D2();
  static const Fe25519& SqrtM1();

 private:
  static EdwardsPoint FromEFGH(const Fe25519& e, const Fe25519& f,
                               const Fe25519& g, const Fe25519& h);
  template <bool kSubtract>
  EdwardsPoint MixedAdd(const NielsPoint& q) const;

  Fe25519 x_, y_, z_, t_;
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_EDWARDS_POINT_H_
