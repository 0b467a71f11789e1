// FeedStore: the RocksDB implementation of plumlog::Store (docs/storage.md).
#ifndef PLUMLOG_STORAGE_FEED_STORE_H_
#define PLUMLOG_STORAGE_FEED_STORE_H_

#include <rocksdb/db.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "crypto/keypair.h"
#include "crypto/parallel.h"
#include "crypto/precomputed_signer.h"
#include "crypto/signature_verifier.h"
#include "plumlog/store.h"

namespace plumlog::storage {

class FeedStore final : public Store {
 public:
  static Status Init(const std::string& home);
  static Result<std::unique_ptr<FeedStore>> Open(const std::string& home,
                                                 const StoreOptions& options);
  ~FeedStore() override;

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
  Result<bool> Refresh() override;
  Status AddForkProof(const Entry& first, const Entry& second) override;
  Result<std::map<FeedId, int64_t>> LoadPeerClock(const FeedId& peer) const override;
  Status SavePeerClock(const FeedId& peer, const std::map<FeedId, int64_t>& clock) override;
  // From the `feed_sums` index (docs/storage.md, "Feed summaries").
  Result<std::vector<FeedRangeSummary>> SummarizeFeeds(
      const FeedRange& range, uint32_t split_bits) const override;
  Result<std::vector<FeedInfo>> FeedsInRange(const FeedRange& range,
                                             size_t limit) const override;
  void AddListener(StoreListener* listener) override;
  void RemoveListener(StoreListener* listener) override;

 private:
  // One queued write. The writer that finds the queue without a leader becomes
  // the leader and commits every queued op in one WriteBatch (group commit).
  struct WriteOp;
  struct GroupState;

  FeedStore(std::string home, const StoreOptions& options, crypto::KeyPair key);
  Status OpenDb();
  // Upgrades a schema version 1 store: creates `feed_sums` (if missing) and
  // fills it from the heads.
  Status AddFeedSums(const rocksdb::ColumnFamilyDescriptor& descriptor);
  Status LoadHeads();
  Status Submit(WriteOp* op);
  void CommitGroup(std::vector<WriteOp*>& group);
  void PrepareAppend(WriteOp* op, GroupState* g);
  void PrepareIngest(WriteOp* op, GroupState* g);
  // ok[i] = 1 when *entries[i] carries a valid signature, else 0; batches of
  // at least parallel_min_batch are spread over the worker pool.
  void VerifySignatures(const std::vector<const Entry*>& entries, std::vector<uint8_t>* ok) const;
  Result<Entry> ReadLogValue(std::string_view arrival_key, std::string_view value) const;
  // Adds the log record (arrival key, value) to `page` (ReadArrival*).
  Status AddLogRecord(std::string_view key, std::string_view value, ArrivalPage* page) const;
  Result<Entry> GetAt(uint64_t arrival) const;
  uint64_t NowMs() const;
  Status WritableCheck() const;

  const std::string home_;
  const StoreOptions options_;
  const crypto::KeyPair key_;
  std::unique_ptr<crypto::WorkerPool> pool_;
  // Keeps a table per recent author so runs of entries verify ~3x faster than
  // with one libsodium call each (crypto/signature_verifier.h).
  std::unique_ptr<crypto::SignatureVerifier> verifier_;
  std::unique_ptr<crypto::PrecomputedSigner> signer_;  // writable stores only
  std::string secondary_dir_;  // read-only mode: RocksDB secondary instance files

  std::unique_ptr<rocksdb::DB> db_;
  // By Cf index; cfs_[kCfFeedSums] is null in a reader of a version 1 store.
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  rocksdb::WriteOptions write_options_;

  // Committed state, updated by the leader after each durable write.
  mutable std::shared_mutex state_mu_;
  std::unordered_map<FeedId, FeedInfo> heads_;
  uint64_t last_arrival_ = 0;
  uint64_t max_lamport_ = 0;

  // Write queue.
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<WriteOp*> queue_;
  bool leader_active_ = false;

  std::mutex listeners_mu_;
  // Every db_->Write holds it: one writer at a time (RocksDB would queue them
  // itself, in code ThreadSanitizer cannot see).
  std::mutex db_write_mu_;
  // Held shared while listeners are called; RemoveListener takes it exclusively
  // to wait for calls in flight.
  std::shared_mutex notify_mu_;
  std::vector<StoreListener*> listeners_;
};

}  // namespace plumlog::storage

#endif  // PLUMLOG_STORAGE_FEED_STORE_H_
