// Feed summaries for set reconciliation (docs/storage.md, "Feed summaries"):
// which feeds count, and summaries computed from a list of heads. The
// FeedRange and FeedRangeSummary methods (include/plumlog/types.h) are
// defined in feed_summary.cc.
#ifndef PLUMLOG_FORMAT_FEED_SUMMARY_H_
#define PLUMLOG_FORMAT_FEED_SUMMARY_H_

#include <cstdint>
#include <vector>

#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog::format {

// The most children one SummarizeFeeds call computes: 2^16.
inline constexpr uint32_t kMaxSummarySplitBits = 16;

// A feed counts in summaries when it holds an entry and is not forked.
inline bool CountsInSummary(const FeedInfo& head) {
  return head.seq > 0 && !head.forked;
}

// What `head` adds to the summary of a range holding it (empty if it does
// not count).
FeedRangeSummary SummaryOf(const FeedInfo& head);

// InvalidArgument unless `range` is well formed (bits <= 256, prefix bits
// past `bits` clear) and split_bits <= kMaxSummarySplitBits with
// range.bits + split_bits <= 256.
Status CheckSummaryRequest(const FeedRange& range, uint32_t split_bits);

// Summaries of the 2^split_bits children of `range` over `heads` (any
// order; heads outside the range are skipped).
std::vector<FeedRangeSummary> SummarizeHeads(const std::vector<FeedInfo>& heads,
                                             const FeedRange& range,
                                             uint32_t split_bits);

}  // namespace plumlog::format

#endif  // PLUMLOG_FORMAT_FEED_SUMMARY_H_
