// FeedStore: the RocksDB implementation of plumlog::Store (docs/storage.md).
#ifndef PLUMLOG_STORAGE_FEED_STORE_H_
#define PLUMLOG_STORAGE_FEED_STORE_H_

#include <rocksdb/db.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "crypto/keypair.h"
#include "crypto/parallel.h"
#include "crypto/signature_verifier.h"
#include "crypto/signer.h"
#include "plumlog/store.h"
#include "storage/replication_store.h"

namespace plumlog::storage {

class FeedStore final : public ReplicationStore {
 public:
  static Status Init(const std::string& home);
  static Result<std::unique_ptr<FeedStore>> Open(const std::string& home,
                                                 const StoreOptions& options);
  // Store::OpenDamaged and Store::Repair (storage/feed_store_repair.cc).
  static Result<std::unique_ptr<FeedStore>> OpenDamaged(
      const std::string& home, std::vector<CheckProblem>* damage);
  static Result<RepairReport> Repair(const std::string& home);
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
  std::optional<std::string> OwnFeedHold() const override;
  Status ConfirmOwnFeed() override;
  Status AddForkProof(const Entry& first, const Entry& second) override;
  Result<std::map<FeedId, int64_t>> LoadPeerClock(const FeedId& peer) const override;
  Status SavePeerClock(const FeedId& peer, const std::map<FeedId, int64_t>& clock) override;
  Result<std::set<FeedId>> LoadBlocks() const override;
  Status SaveBlock(const FeedId& feed, bool blocked) override;
  Result<uint64_t> DeleteFeed(const FeedId& author) override;
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
  // A kDeleteFeed op, always committed in a group of its own.
  void CommitDelete(WriteOp* op);
  void PrepareAppend(WriteOp* op, GroupState* g);
  void PrepareIngest(WriteOp* op, GroupState* g);
  // ok[i] = 1 when *entries[i] carries a valid signature, else 0; batches of
  // at least parallel_min_batch are spread over the worker pool. sodium_only:
  // one libsodium call per signature, never the verifier's tables (Check).
  void VerifySignatures(const std::vector<const Entry*>& entries, std::vector<uint8_t>* ok,
                        bool sodium_only = false) const;
  Result<Entry> ReadLogValue(std::string_view arrival_key, std::string_view value) const;
  // Adds the log record (arrival key, value) to `page` (ReadArrival*).
  Status AddLogRecord(std::string_view key, std::string_view value, ArrivalPage* page) const;
  Result<Entry> GetAt(uint64_t arrival) const;
  uint64_t NowMs() const;
  Status WritableCheck() const;
  // FromRocks, remembering a Corruption: a store that found damage takes no
  // more writes (WritableCheck) until it is repaired.
  Status Rocks(const rocksdb::Status& rs, std::string_view context) const;
  void NoteDamage(const rocksdb::Status& rs) const;
  // FailedPrecondition while the own feed is unconfirmed.
  Status OwnFeedCheck() const;
  // Reads the meta records of the identity and the own feed; records the
  // identity when it is missing (stores created before it existed).
  Status LoadMeta();

  // Salvage (storage/feed_store_repair.cc): opens the scratch copy in
  // salvage_dir_, skipping damaged WAL records, rebuilding the MANIFEST when
  // it does not read.
  Status OpenSalvageDb(std::vector<CheckProblem>* damage);
  // Calls fn(arrival, record) for each `log` record that reads, in arrival
  // order, stepping over stretches that do not (each becomes a problem).
  void ScanLogTolerant(
      const std::function<void(uint64_t, std::string_view)>& fn,
      std::vector<CheckProblem>* problems) const;

  const std::string home_;
  const StoreOptions options_;
  const crypto::KeyPair key_;
  std::unique_ptr<crypto::WorkerPool> pool_;
  // Keeps a table per recent author so runs of entries verify ~3x faster than
  // with one libsodium call each (crypto/signature_verifier.h).
  std::unique_ptr<crypto::SignatureVerifier> verifier_;
  std::unique_ptr<crypto::Signer> signer_;  // writable stores only
  std::string
      secondary_dir_;        // read-only mode: RocksDB secondary instance files
  std::string salvage_dir_;  // OpenDamaged: the scratch copy, removed on close

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

  mutable std::mutex damage_mu_;
  mutable std::optional<std::string>
      damage_;  // the first Corruption a read met

  // Why appends are held (Store::OwnFeedHold); empty: they are not.
  mutable std::mutex own_feed_mu_;
  std::optional<std::string> own_feed_hold_;
  bool own_feed_marked_ = false;  // the hold is recorded in meta

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
