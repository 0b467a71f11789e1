// SortedReconcileSource: a ReconcileSource over items held in memory, sorted
// once, with prefix sums so that any range's summary costs two binary
// searches. For tests, benchmarks and the simulator.
#ifndef PLUMLOG_REPLICATION_SORTED_RECONCILE_SOURCE_H_
#define PLUMLOG_REPLICATION_SORTED_RECONCILE_SOURCE_H_

#include <vector>

#include "replication/reconcile_source.h"

namespace plumlog::replication {

class SortedReconcileSource final : public ReconcileSource {
 public:
  struct Item {
    FeedId key;        // the feed (or any 32-byte key)
    uint64_t seq = 0;  // >= 1
    EntryId hash;      // the head id (summed by fingerprints)
  };
  // Keys must be distinct.
  explicit SortedReconcileSource(std::vector<Item> items);
  // The items of `heads` that count in summaries (format/feed_summary.h).
  static SortedReconcileSource FromHeads(const std::vector<FeedInfo>& heads);

  size_t size() const { return items_.size(); }

  Result<std::vector<FeedRangeSummary>> Summarize(
      const FeedRange& range, uint32_t split_bits) const override;
  Result<std::vector<DigestItem>> Items(const FeedRange& range,
                                        size_t limit) const override;

 private:
  // Index of the first item whose key is >= id.
  size_t LowerBound(const FeedId& id) const;
  // Index of the first item whose key is > id.
  size_t UpperBound(const FeedId& id) const;

  std::vector<Item> items_;               // by key
  std::vector<FeedRangeSummary> prefix_;  // prefix_[i]: summary of items_[0, i)
};

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_SORTED_RECONCILE_SOURCE_H_
