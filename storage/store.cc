// Store's static factories: the public entry points, backed by FeedStore.
#include "plumlog/store.h"

#include "storage/feed_store.h"

namespace plumlog {

Status Store::Init(const std::string& home) { return storage::FeedStore::Init(home); }

Result<std::unique_ptr<Store>> Store::Open(const std::string& home,
                                           const StoreOptions& options) {
  PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<storage::FeedStore> s,
                           storage::FeedStore::Open(home, options));
  return std::unique_ptr<Store>(std::move(s));
}

Result<std::unique_ptr<Store>> Store::OpenDamaged(
    const std::string& home, std::vector<CheckProblem>* damage) {
  PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<storage::FeedStore> s,
                           storage::FeedStore::OpenDamaged(home, damage));
  return std::unique_ptr<Store>(std::move(s));
}

Result<RepairReport> Store::Repair(const std::string& home) {
  return storage::FeedStore::Repair(home);
}

}  // namespace plumlog
