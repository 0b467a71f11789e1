// MemoryStore: a Store kept entirely in memory, for the deterministic
// simulator and tests. Same validity rules as FeedStore (storage/ingest_rules.h);
// nothing survives the object.
#ifndef PLUMLOG_STORAGE_MEMORY_STORE_H_
#define PLUMLOG_STORAGE_MEMORY_STORE_H_

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "crypto/keypair.h"
#include "plumlog/store.h"
#include "storage/replication_store.h"

namespace plumlog::storage {

struct MemoryStoreOptions {
  // Verify signatures on Ingest. false is for large simulator experiments
  // only, where every entry is known to be honestly signed. Default: true.
  bool verify_signatures = true;
  // Timestamps for Append (ms since epoch). nullptr: 0. Default: nullptr.
  uint64_t (*clock_ms)() = nullptr;
};

class MemoryStore final : public ReplicationStore {
 public:
  MemoryStore(const crypto::KeyPair& key, const MemoryStoreOptions& options);
  ~MemoryStore() override;

  const FeedId& local_id() const override { return key_.public_key(); }
  std::span<const uint8_t, 32> identity_seed() const override { return key_.seed(); }
  Result<Entry> Append(std::string_view content) override;
  Result<std::vector<Entry>> AppendBatch(const std::vector<std::string>& contents) override;
  IngestResult Ingest(std::vector<Entry> entries) override;
  Result<Entry> Get(const FeedId& author, uint64_t seq) const override;
  Result<Entry> GetById(const EntryId& id) const override;
  Result<std::vector<Entry>> ReadFeed(const FeedId& author, uint64_t from_seq,
                                      size_t limit) const override;
  Result<ArrivalPage> ReadArrival(uint64_t after, size_t limit) const override;
  Result<ArrivalPage> ReadArrivalBackward(uint64_t before, size_t limit) const override;
  Result<std::vector<FeedInfo>> Feeds() const override;
  Result<FeedInfo> Feed(const FeedId& author) const override;
  Result<Clock> GetClock() const override;
  Result<std::vector<ForkProof>> Forks() const override;
  Result<CheckReport> Check() const override;
  Result<bool> Refresh() override { return false; }
  // Held only when HoldOwnFeed says so (nothing persists, so nothing is ever
  // restored from a backup): tests and the simulator play a restore with it.
  std::optional<std::string> OwnFeedHold() const override;
  Status ConfirmOwnFeed() override;
  void HoldOwnFeed(std::string why);
  Status AddForkProof(const Entry& first, const Entry& second) override;
  Result<std::map<FeedId, int64_t>> LoadPeerClock(const FeedId& peer) const override;
  Status SavePeerClock(const FeedId& peer, const std::map<FeedId, int64_t>& clock) override;
  Result<std::set<FeedId>> LoadBlocks() const override;
  Status SaveBlock(const FeedId& feed, bool blocked) override;
  Result<uint64_t> DeleteFeed(const FeedId& author) override;
  // From Feeds() (no index).
  Result<std::vector<FeedRangeSummary>> SummarizeFeeds(
      const FeedRange& range, uint32_t split_bits) const override;
  Result<std::vector<FeedInfo>> FeedsInRange(const FeedRange& range,
                                             size_t limit) const override;
  void AddListener(StoreListener* listener) override;
  void RemoveListener(StoreListener* listener) override;

  size_t entry_count() const;

 private:
  struct FeedData {
    FeedInfo head;
    std::vector<uint64_t> arrivals;  // arrivals[seq-1] = index into log_
  };
  Result<std::vector<Entry>> AppendLocked(const std::vector<std::string_view>& contents);
  void Store1(const Entry& e);
  bool Verify(const Entry& e) const;
  void Notify(const std::vector<Entry>& added, const std::vector<ForkProof>& forks);

  const crypto::KeyPair key_;
  const MemoryStoreOptions options_;
  mutable std::recursive_mutex mu_;
  std::optional<std::string> own_feed_hold_;
  std::vector<Entry> log_;
  std::vector<bool> deleted_;  // by log_ index: removed by DeleteFeed
  std::unordered_map<FeedId, FeedData> feeds_;
  std::unordered_map<EntryId, std::pair<FeedId, uint64_t>> ids_;
  std::vector<ForkProof> forks_;
  std::unordered_map<FeedId, std::map<FeedId, int64_t>> peer_clocks_;
  std::set<FeedId> blocks_;
  uint64_t max_lamport_ = 0;
  std::vector<StoreListener*> listeners_;
  bool in_listener_ = false;
};

}  // namespace plumlog::storage

#endif  // PLUMLOG_STORAGE_MEMORY_STORE_H_
