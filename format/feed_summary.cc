#include "format/feed_summary.h"

#include <algorithm>
#include <string>

namespace plumlog {
namespace {

// Bits [start, start + count) of a big-endian 256-bit string, count <= 32.
uint32_t GetBits(const std::array<uint8_t, 32>& b, uint32_t start,
                 uint32_t count) {
  uint32_t v = 0;
  for (uint32_t k = 0; k < count; ++k) {
    const uint32_t bit = start + k;
    v = (v << 1) | ((b[bit / 8] >> (7 - bit % 8)) & 1u);
  }
  return v;
}

void SetBits(std::array<uint8_t, 32>* b, uint32_t start, uint32_t count,
             uint32_t v) {
  for (uint32_t k = 0; k < count; ++k) {
    const uint32_t bit = start + k;
    const uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((v >> (count - 1 - k)) & 1u) {
      (*b)[bit / 8] |= mask;
    } else {
      (*b)[bit / 8] &= static_cast<uint8_t>(~mask);
    }
  }
}

// a += b (or a -= b) modulo 2^256, little-endian.
void AddLe(std::array<uint8_t, 32>* a, const std::array<uint8_t, 32>& b,
           bool subtract) {
  unsigned carry = subtract ? 1 : 0;  // a - b = a + ~b + 1
  for (size_t i = 0; i < 32; ++i) {
    const unsigned bi = subtract ? static_cast<uint8_t>(~b[i]) : b[i];
    const unsigned t = (*a)[i] + bi + carry;
    (*a)[i] = static_cast<uint8_t>(t);
    carry = t >> 8;
  }
}

}  // namespace

FeedRange FeedRange::Of(const FeedId& id, uint32_t bits) {
  FeedRange r;
  r.bits = std::min<uint32_t>(bits, 256);
  r.prefix = id;
  auto& b = r.prefix.mutable_bytes();
  for (uint32_t bit = r.bits; bit < 256; ++bit) {
    b[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return r;
}

bool FeedRange::Contains(const FeedId& id) const {
  const auto& a = prefix.bytes();
  const auto& b = id.bytes();
  const uint32_t whole = bits / 8;
  if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
  const uint32_t rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00u >> rest);
  return (a[whole] & mask) == (b[whole] & mask);
}

FeedId FeedRange::Last() const {
  FeedId last = prefix;
  auto& b = last.mutable_bytes();
  for (uint32_t bit = bits; bit < 256; ++bit)
    b[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
  return last;
}

FeedRange FeedRange::Child(uint32_t split_bits, uint32_t i) const {
  FeedRange c = *this;
  SetBits(&c.prefix.mutable_bytes(), bits, split_bits, i);
  c.bits = bits + split_bits;
  return c;
}

uint32_t FeedRange::ChildIndex(uint32_t split_bits, const FeedId& id) const {
  return GetBits(id.bytes(), bits, split_bits);
}

void FeedRangeSummary::Add(const EntryId& head) {
  ++count;
  AddLe(&sum, head.bytes(), false);
}

void FeedRangeSummary::Subtract(const EntryId& head) {
  --count;
  AddLe(&sum, head.bytes(), true);
}

void FeedRangeSummary::Add(const FeedRangeSummary& other) {
  count += other.count;
  AddLe(&sum, other.sum, false);
}

void FeedRangeSummary::Subtract(const FeedRangeSummary& other) {
  count -= other.count;
  AddLe(&sum, other.sum, true);
}

bool FeedRangeSummary::empty() const {
  return count == 0 &&
         std::all_of(sum.begin(), sum.end(), [](uint8_t b) { return b == 0; });
}

namespace format {

FeedRangeSummary SummaryOf(const FeedInfo& head) {
  FeedRangeSummary s;
  if (CountsInSummary(head)) s.Add(head.head);
  return s;
}

Status CheckSummaryRequest(const FeedRange& range, uint32_t split_bits) {
  if (range.bits > 256) {
    return Status::InvalidArgument("feed range of " +
                                   std::to_string(range.bits) + " bits");
  }
  if (!(FeedRange::Of(range.prefix, range.bits) == range)) {
    return Status::InvalidArgument(
        "feed range prefix has bits set past its length");
  }
  if (split_bits > kMaxSummarySplitBits || range.bits + split_bits > 256) {
    return Status::InvalidArgument(
        "cannot split a range of " + std::to_string(range.bits) +
        " bits into 2^" + std::to_string(split_bits) + " parts");
  }
  return Status::OK();
}

std::vector<FeedRangeSummary> SummarizeHeads(const std::vector<FeedInfo>& heads,
                                             const FeedRange& range,
                                             uint32_t split_bits) {
  std::vector<FeedRangeSummary> out(size_t{1} << split_bits);
  for (const FeedInfo& h : heads) {
    if (!CountsInSummary(h) || !range.Contains(h.author)) continue;
    out[range.ChildIndex(split_bits, h.author)].Add(h.head);
  }
  return out;
}

}  // namespace format

}  // namespace plumlog
