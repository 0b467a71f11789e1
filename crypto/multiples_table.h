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
//
// Accumulate branches on the digits and reads only the entries they pick: it
// is for public scalars (signature verification). AccumulateSecret is for
// secret ones (a signature's nonce): it adds one entry per row whatever the
// digit (the neutral element for 0), reads every entry of the row to pick it
// with masks, and negates it with masks, so neither its time nor the memory
// it touches depend on the scalar (the method of ref10, Bernstein et al.,
// "High-speed high-security signatures", 2011, section 4).
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

  // The base point B's table, built on first use and shared by the verifier
  // (public scalars) and the signer (secret ones): 6-bit digits in one pass,
  // 43 rows of 32 (165 KiB), 43 additions and no doubling. For the signer's
  // constant-time lookups 4 and 5 bits (64 rows of 8, 52 rows of 16) were
  // measured too: 5 bits is ~2% faster, 4 bits ~7% slower, not worth a
  // second table (bench/README.md).
  static constexpr int kBaseWidth = 6;
  static const MultiplesTable& ForBase();

  int width() const { return width_; }
  int passes() const { return passes_; }
  size_t size() const { return entries_.size(); }

  // The signed digits of a 32-byte little-endian scalar below 2^253.
  Digits Recode(const uint8_t a[32]) const;

  // acc + sum_j digits[passes * j + pass] * row_j.
  EdwardsPoint Accumulate(EdwardsPoint acc, const Digits& digits,
                          int pass) const;
  // The same sum in constant time (see above).
  EdwardsPoint AccumulateSecret(EdwardsPoint acc, const Digits& digits,
                                int pass) const;

 private:
  // digit * row j's base (|digit| <= per_row_) without a branch or a
  // digit-dependent read.
  NielsPoint SelectSecret(int row, int digit) const;

  int width_;
  int passes_;
  int digits_;                       // ceil(256 / width)
  int rows_;                         // ceil(digits_ / passes)
  int per_row_;                      // 2^(width - 1)
  std::vector<NielsPoint> entries_;  // [row * per_row_ + k - 1] = k * row base
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_MULTIPLES_TABLE_H_
