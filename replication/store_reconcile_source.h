// StoreReconcileSource: a store's feed heads as a ReconcileSource, through
// ReplicationStore::SummarizeFeeds and FeedsInRange (FeedStore answers them from
// its `feed_sums` index, docs/storage.md "Feed summaries").
#ifndef PLUMLOG_REPLICATION_STORE_RECONCILE_SOURCE_H_
#define PLUMLOG_REPLICATION_STORE_RECONCILE_SOURCE_H_

#include "storage/replication_store.h"
#include "replication/reconcile_source.h"

namespace plumlog::replication {

class StoreReconcileSource final : public ReconcileSource {
 public:
  // `store` is not owned.
  explicit StoreReconcileSource(const storage::ReplicationStore* store) : store_(store) {}

  Result<std::vector<FeedRangeSummary>> Summarize(
      const FeedRange& range, uint32_t split_bits) const override;
  Result<std::vector<DigestItem>> Items(const FeedRange& range,
                                        size_t limit) const override;

 private:
  const storage::ReplicationStore* store_;
};

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_STORE_RECONCILE_SOURCE_H_
