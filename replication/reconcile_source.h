// ReconcileSource: the set a RangeReconciler reconciles, one item per feed --
// key the feed id, value its sequence and head id (docs/protocol.md section
// 19.1) -- and the two questions the reconciler asks of it.
#ifndef PLUMLOG_REPLICATION_RECONCILE_SOURCE_H_
#define PLUMLOG_REPLICATION_RECONCILE_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "plumlog/status.h"
#include "plumlog/types.h"
#include "replication/message.h"

namespace plumlog::replication {

class ReconcileSource {
 public:
  virtual ~ReconcileSource() = default;
  // Summaries (count, sum of head ids) of the 2^split_bits children of
  // `range`, in FeedRange::Child order; split_bits <= 16.
  virtual Result<std::vector<FeedRangeSummary>> Summarize(
      const FeedRange& range, uint32_t split_bits) const = 0;
  // The first `limit` items of `range` in id order: feed, sequence, and the
  // HeadPrefix of the head id.
  virtual Result<std::vector<DigestItem>> Items(const FeedRange& range,
                                                size_t limit) const = 0;
};

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_RECONCILE_SOURCE_H_
