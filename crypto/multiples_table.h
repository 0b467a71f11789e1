// MultiplesTable: precomputed multiples of one point for fast variable-time
// multiplication by scalars below 2^253 (every scalar mod L).
//
// A scalar a is written with signed digits of `width` bits, e_i in
// [-2^(width-1), 2^(width-1)], a = sum e_i 2^(width i). With `passes` = 1,
// row j of the table holds k * 2^(width j) * P for k = 1..2^(width-1), and
// a P = sum_j e_j row_j: one mixed addition per nonzero digit, no doubling.
// With `passes` = 2, rows are 2 width bits apart and hold the even digits'
// multiples; the odd digits use the same rows and are doubled `width` times
// afterwards:
//   a P = 2^width * (sum_j e_{2j+1} row_j) + sum_j e_{2j} row_j,
// which halves the table for `width` doublings per multiplication, and those
// doublings are shared when several tables are accumulated into one point
// (s B - h A). Entries are affine NielsPoints (120 bytes each).
#ifndef PLUMLOG_CRYPTO_MULTIPLES_TABLE_H_
#define PLUMLOG_CRYPTO_MULTIPLES_TABLE_H_

#include <array>
#include <cstdint>
#include <vector>

#include "crypto/edwards_point.h"

namespace plumlog::crypto {

class MultiplesTable {
 public:
  // Digits of a scalar, at most 64 (width >= 4).
  using Digits = std::array<int8_t, 64>;

  // width in [4, 8], passes 1 or 2.
  MultiplesTable(const EdwardsPoint& p, int width, int passes);

  int width() const { return width_; }
  int passes() const { return passes_; }
  size_t size() const { return entries_.size(); }

  // The signed digits of a 32-byte little-endian scalar below 2^253.
  Digits Recode(const uint8_t a[32]) const;

  // acc + sum_j digits[passes * j + pass] * row_j.
  EdwardsPoint Accumulate(EdwardsPoint acc, const Digits& digits,
                          int pass) const;

 private:
  int width_;
  int passes_;
  int digits_;                       // ceil(256 / width)
  int rows_;                         // ceil(digits_ / passes)
  int per_row_;                      // 2^(width - 1)
  std::vector<NielsPoint> entries_;  // [row * per_row_ + k - 1] = k * row base
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_MULTIPLES_TABLE_H_
