#include "crypto/multiples_table.h"

#include <cstring>

namespace plumlog::crypto {
namespace {

// Hides a value from the optimiser, so a mask built from a comparison stays
// arithmetic and is not turned back into a branch.
inline uint64_t Opaque(uint64_t v) {
#if defined(__GNUC__)
  __asm__("" : "+r"(v));
#endif
  return v;
}

}  // namespace

MultiplesTable::MultiplesTable(const EdwardsPoint& p, int width, int passes)
    : width_(width),
      passes_(passes),
      digits_((256 + width - 1) / width),
      rows_((digits_ + passes - 1) / passes),
      per_row_(1 << (width - 1)) {
  std::vector<EdwardsPoint> all;
  all.reserve(static_cast<size_t>(rows_) * per_row_);
  EdwardsPoint base = p;  // 2^(width * passes * row) * P
  for (int j = 0; j < rows_; ++j) {
    const size_t first = all.size();
    all.push_back(base);
    for (int k = 2; k <= per_row_; ++k) {
      // Even multiples by doubling half of them, odd ones by one addition.
      all.push_back(k % 2 == 0 ? all[first + k / 2 - 1].Double()
                               : all.back() + base);
    }
    // The next row's base: per_row_ * base doubled (width * passes - width + 1)
    // times.
    EdwardsPoint next = all.back();
    for (int d = 0; d < width_ * passes_ - (width_ - 1); ++d)
      next = next.Double();
    base = next;
  }
  entries_.resize(all.size());
  EdwardsPoint::ToNielsBatch(all, entries_);
}

const MultiplesTable& MultiplesTable::ForBase() {
  static const MultiplesTable* table =
      new MultiplesTable(EdwardsPoint::Base(), kBaseWidth, /*passes=*/1);
  return *table;
}

MultiplesTable::Digits MultiplesTable::Recode(const uint8_t a[32]) const {
  Digits e{};
  const int half = 1 << (width_ - 1);
  int carry = 0;
  for (int i = 0; i < digits_; ++i) {
    // Bits [width * i, width * i + width) of a, then recentred into
    // [-half, half) with the carry going up; the top digit keeps the last
    // carry.
    int v = 0;
    for (int b = width_ - 1; b >= 0; --b) {
      const int bit = width_ * i + b;
      v = (v << 1) | (bit < 256 ? (a[bit >> 3] >> (bit & 7)) & 1 : 0);
    }
    v += carry;
    if (i == digits_ - 1) {
      e[i] = static_cast<int8_t>(v);
      break;
    }
    carry = (v + half) >> width_;
    e[i] = static_cast<int8_t>(v - (carry << width_));
  }
  return e;
}

EdwardsPoint MultiplesTable::Accumulate(EdwardsPoint acc, const Digits& digits,
                                        int pass) const {
  for (int j = 0; j < rows_; ++j) {
    const int i = passes_ * j + pass;
    if (i >= digits_) break;
    const int e = digits[i];
    if (e > 0) {
      acc = acc.AddNiels(entries_[j * per_row_ + e - 1]);
    } else if (e < 0) {
      acc = acc.SubNiels(entries_[j * per_row_ - e - 1]);
    }
  }
  return acc;
}

NielsPoint MultiplesTable::SelectSecret(int row, int digit) const {
  // neg = 1 for a negative digit; abs = |digit|.
  const uint64_t neg = Opaque(static_cast<uint64_t>(digit >> 31) & 1);
  const uint64_t neg_mask = 0 - neg;
  const uint64_t abs =
      (static_cast<uint64_t>(static_cast<int64_t>(digit)) ^ neg_mask) + neg;
  NielsPoint r{Fe25519::One(), Fe25519::One(), Fe25519::Zero()};
  const NielsPoint* entry = &entries_[static_cast<size_t>(row) * per_row_];
  for (int k = 1; k <= per_row_; ++k, ++entry) {
    // All ones exactly when abs == k: (abs ^ k) - 1 borrows only from 0.
    const uint64_t mask =
        0 - (Opaque((abs ^ static_cast<uint64_t>(k)) - 1) >> 63);
    r.y_plus_x = Fe25519::Select(r.y_plus_x, entry->y_plus_x, mask);
    r.y_minus_x = Fe25519::Select(r.y_minus_x, entry->y_minus_x, mask);
    r.xy2d = Fe25519::Select(r.xy2d, entry->xy2d, mask);
  }
  // -(x, y) = (-x, y): y + x and y - x swap, 2dxy changes sign.
  const Fe25519 swapped_plus =
      Fe25519::Select(r.y_plus_x, r.y_minus_x, neg_mask);
  const Fe25519 swapped_minus =
      Fe25519::Select(r.y_minus_x, r.y_plus_x, neg_mask);
  r.y_plus_x = swapped_plus;
  r.y_minus_x = swapped_minus;
  r.xy2d = Fe25519::Select(r.xy2d, -r.xy2d, neg_mask);
  return r;
}

EdwardsPoint MultiplesTable::AccumulateSecret(EdwardsPoint acc,
                                              const Digits& digits,
                                              int pass) const {
  for (int j = 0; j < rows_; ++j) {
    const int i = passes_ * j + pass;
    if (i >= digits_) break;  // depends on the table's shape only
    acc = acc.AddNiels(SelectSecret(j, digits[i]));
  }
  return acc;
}

}  // namespace plumlog::crypto
