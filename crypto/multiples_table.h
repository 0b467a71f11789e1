// MultiplesTable: precomputed multiples of one point for fast variable-time
// multiplication by scalars below 2^255.
//
// A scalar a is written with 64 signed radix-16 digits e_i in [-8, 8],
// a = sum e_i 16^i. Row j of the table holds k * 256^j * P for k = 1..8 as
// affine NielsPoints, so
//   a P = 16 * (sum_j e_{2j+1} row_j) + sum_j e_{2j} row_j
// costs at most 64 mixed additions and 4 doublings, and the 4 doublings are
// shared when several tables are accumulated into one point (s B - h A).
// The table is 256 points, 30 KiB; building it costs about as much as two
// ordinary signature verifications.
#ifndef PLUMLOG_CRYPTO_MULTIPLES_TABLE_H_
#define PLUMLOG_CRYPTO_MULTIPLES_TABLE_H_

#include <array>
#include <cstdint>

#include "crypto/edwards_point.h"

namespace plumlog::crypto {

class MultiplesTable {
 public:
  static constexpr int kRows = 32;
  static constexpr int kPerRow = 8;

  explicit MultiplesTable(const EdwardsPoint& p);

  // The signed radix-16 digits of a 32-byte little-endian scalar whose top
  // bit is clear (a < 2^255); every digit ends in [-8, 8].
  static std::array<int8_t, 64> Digits(const uint8_t a[32]);

  // acc + sum_j digits[2 j + parity] * 256^j * P, for parity 0 or 1.
  EdwardsPoint Accumulate(EdwardsPoint acc,
                          const std::array<int8_t, 64>& digits,
                          int parity) const;

 private:
  std::array<NielsPoint, kRows * kPerRow>
      entries_;  // [row * 8 + k - 1] = k * 256^row * P
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_MULTIPLES_TABLE_H_
