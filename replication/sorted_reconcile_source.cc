#include "replication/sorted_reconcile_source.h"

#include <algorithm>

#include "format/feed_summary.h"

namespace plumlog::replication {

SortedReconcileSource::SortedReconcileSource(std::vector<Item> items)
    : items_(std::move(items)) {
  std::sort(items_.begin(), items_.end(),
            [](const Item& a, const Item& b) { return a.key < b.key; });
  prefix_.resize(items_.size() + 1);
  for (size_t i = 0; i < items_.size(); ++i) {
    prefix_[i + 1] = prefix_[i];
    prefix_[i + 1].Add(items_[i].hash);
  }
}

SortedReconcileSource SortedReconcileSource::FromHeads(
    const std::vector<FeedInfo>& heads) {
  std::vector<Item> items;
  for (const FeedInfo& h : heads) {
    if (format::CountsInSummary(h))
      items.push_back(Item{h.author, h.seq, h.head});
  }
  return SortedReconcileSource(std::move(items));
}

size_t SortedReconcileSource::LowerBound(const FeedId& id) const {
  return static_cast<size_t>(
      std::lower_bound(
          items_.begin(), items_.end(), id,
          [](const Item& a, const FeedId& k) { return a.key < k; }) -
      items_.begin());
}

size_t SortedReconcileSource::UpperBound(const FeedId& id) const {
  return static_cast<size_t>(
      std::upper_bound(
          items_.begin(), items_.end(), id,
          [](const FeedId& k, const Item& a) { return k < a.key; }) -
      items_.begin());
}

Result<std::vector<FeedRangeSummary>> SortedReconcileSource::Summarize(
    const FeedRange& range, uint32_t split_bits) const {
  PLUMLOG_RETURN_IF_ERROR(format::CheckSummaryRequest(range, split_bits));
  const size_t n = size_t{1} << split_bits;
  std::vector<FeedRangeSummary> out(n);
  const size_t begin = LowerBound(range.First()),
               end = UpperBound(range.Last());
  size_t lo = begin;
  for (size_t i = 0; i < n && lo < end; ++i) {
    const size_t hi =
        i + 1 == n
            ? end
            : UpperBound(
                  range.Child(split_bits, static_cast<uint32_t>(i)).Last());
    out[i] = prefix_[hi];
    out[i].Subtract(prefix_[lo]);
    lo = hi;
  }
  return out;
}

Result<std::vector<DigestItem>> SortedReconcileSource::Items(
    const FeedRange& range, size_t limit) const {
  PLUMLOG_RETURN_IF_ERROR(format::CheckSummaryRequest(range, 0));
  std::vector<DigestItem> out;
  const size_t end = UpperBound(range.Last());
  for (size_t i = LowerBound(range.First()); i < end && out.size() < limit;
       ++i) {
    out.push_back(
        DigestItem{items_[i].key, items_[i].seq, HeadPrefix(items_[i].hash)});
  }
  return out;
}

}  // namespace plumlog::replication
