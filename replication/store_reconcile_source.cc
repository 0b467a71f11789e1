#include "replication/store_reconcile_source.h"

namespace plumlog::replication {

Result<std::vector<FeedRangeSummary>> StoreReconcileSource::Summarize(
    const FeedRange& range, uint32_t split_bits) const {
  return store_->SummarizeFeeds(range, split_bits);
}

Result<std::vector<DigestItem>> StoreReconcileSource::Items(
    const FeedRange& range, size_t limit) const {
  PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedInfo> heads,
                           store_->FeedsInRange(range, limit));
  std::vector<DigestItem> out;
  out.reserve(heads.size());
  for (const FeedInfo& h : heads)
    out.push_back(DigestItem{h.author, h.seq, HeadPrefix(h.head)});
  return out;
}

}  // namespace plumlog::replication
