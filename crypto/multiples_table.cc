#include "crypto/multiples_table.h"

#include <vector>

namespace plumlog::crypto {

MultiplesTable::MultiplesTable(const EdwardsPoint& p) {
  std::vector<EdwardsPoint> all;
  all.reserve(kRows * kPerRow);
  EdwardsPoint row = p;  // 256^j * P
  for (int j = 0; j < kRows; ++j) {
    EdwardsPoint k = row;
    all.push_back(k);
    for (int m = 2; m <= kPerRow; ++m) {
      k = (m % 2 == 0) ? all[all.size() - 1 - (m / 2 - 1)].Double() : k + row;
      all.push_back(k);
    }
    // 256 * row = 32 * (8 * row): five doublings of the last multiple.
    EdwardsPoint next = all.back();
    for (int d = 0; d < 5; ++d) next = next.Double();
    row = next;
  }
  EdwardsPoint::ToNielsBatch(all, entries_);
}

std::array<int8_t, 64> MultiplesTable::Digits(const uint8_t a[32]) {
  std::array<int8_t, 64> e{};
  for (int i = 0; i < 32; ++i) {
    e[2 * i] = static_cast<int8_t>(a[i] & 15);
    e[2 * i + 1] = static_cast<int8_t>((a[i] >> 4) & 15);
  }
  // Recentre each digit into [-8, 8) and carry into the next; the top digit
  // absorbs the last carry (at most 7 + 1 since a < 2^255).
  int carry = 0;
  for (int i = 0; i < 63; ++i) {
    int v = e[i] + carry;
    carry = (v + 8) >> 4;
    e[i] = static_cast<int8_t>(v - (carry << 4));
  }
  e[63] = static_cast<int8_t>(e[63] + carry);
  return e;
}

EdwardsPoint MultiplesTable::Accumulate(EdwardsPoint acc,
                                        const std::array<int8_t, 64>& digits,
                                        int parity) const {
  for (int j = 0; j < kRows; ++j) {
    int e = digits[2 * j + parity];
    if (e > 0) {
      acc = acc.AddNiels(entries_[j * kPerRow + e - 1]);
    } else if (e < 0) {
      acc = acc.SubNiels(entries_[j * kPerRow - e - 1]);
    }
  }
  return acc;
}

}  // namespace plumlog::crypto
