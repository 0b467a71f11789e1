// Store's static factories: the public entry points, backed by FeedStore.
#include "plumlog/store.h"

#include "storage/feed_store.h"
#include "storage/feed_summary.h"

namespace plumlog {

Status Store::Init(const std::string& home) { return storage::FeedStore::Init(home); }

Result<std::unique_ptr<Store>> Store::Open(const std::string& home,
                                           const StoreOptions& options) {
  PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<storage::FeedStore> s,
                           storage::FeedStore::Open(home, options));
  return std::unique_ptr<Store>(std::move(s));
}

// The default Store implementations (docs/storage.md): from Feeds().
Result<std::vector<FeedRangeSummary>> Store::SummarizeFeeds(
    const FeedRange& range, uint32_t split_bits) const {
  PLUMLOG_RETURN_IF_ERROR(storage::CheckSummaryRequest(range, split_bits));
  PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedInfo> heads, Feeds());
  return storage::SummarizeHeads(heads, range, split_bits);
}

Result<std::vector<FeedInfo>> Store::FeedsInRange(const FeedRange& range,
                                                  size_t limit) const {
  PLUMLOG_RETURN_IF_ERROR(storage::CheckSummaryRequest(range, 0));
  PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedInfo> heads, Feeds());
  std::vector<FeedInfo> out;
  for (const FeedInfo& h : heads) {
    if (out.size() >= limit) break;
    if (storage::CountsInSummary(h) && range.Contains(h.author))
      out.push_back(h);
  }
  return out;
}

}  // namespace plumlog
