// ReplicationStore's default set-reconciliation reads (docs/storage.md,
// "Feed summaries"): from Feeds(), for stores without an index (MemoryStore).
#include "storage/replication_store.h"

#include "format/feed_summary.h"

namespace plumlog::storage {

Result<std::vector<FeedRangeSummary>> ReplicationStore::SummarizeFeeds(
    const FeedRange& range, uint32_t split_bits) const {
  PLUMLOG_RETURN_IF_ERROR(format::CheckSummaryRequest(range, split_bits));
  PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedInfo> heads, Feeds());
  return format::SummarizeHeads(heads, range, split_bits);
}

Result<std::vector<FeedInfo>> ReplicationStore::FeedsInRange(
    const FeedRange& range, size_t limit) const {
  PLUMLOG_RETURN_IF_ERROR(format::CheckSummaryRequest(range, 0));
  PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedInfo> heads, Feeds());
  std::vector<FeedInfo> out;
  for (const FeedInfo& h : heads) {
    if (out.size() >= limit) break;
    if (format::CountsInSummary(h) && range.Contains(h.author))
      out.push_back(h);
  }
  return out;
}

}  // namespace plumlog::storage
