#include "storage/db_setup.h"

#include <rocksdb/cache.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "storage/feed_sum_merge_operator.h"
#include "storage/keys.h"
#include "storage/rocksdb_status.h"

namespace plumlog::storage {

namespace fs = std::filesystem;

std::string SecretPath(const std::string& home) { return home + "/secret"; }
std::string DbPath(const std::string& home) { return home + "/db"; }

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

rocksdb::Options DbOptions(const StoreOptions& o) {
  rocksdb::Options opts;
  opts.create_if_missing = false;
  opts.create_missing_column_families = false;
  opts.paranoid_checks = true;
  // Replaying the WAL at open: a record cut short at the very end (a write
  // that was in progress when the process died, never acknowledged) is
  // dropped; any other damage (a checksum mismatch anywhere, a bad record in
  // the middle) fails the open with Corruption. RocksDB's default
  // (kPointInTimeRecovery) would instead stop at the first bad record and
  // open without everything after it, silently.
  opts.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  opts.keep_log_file_num = 3;
  opts.max_log_file_size = 4 << 20;
  opts.write_buffer_size = o.write_buffer_bytes;
  if (o.memtable_budget_bytes > 0) {
    opts.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(o.memtable_budget_bytes);
  }
  // Replay the WAL into the memtable on open instead of flushing it to new
  // table files every time: short-lived processes (`plumlog append`) open
  // fast and leave no pile of tiny files.
  opts.avoid_flush_during_recovery = true;
  // Writes are serialised by the store's own group commit, so RocksDB's
  // concurrent memtable inserts bring nothing; without them the memtable can
  // use the insert hints below.
  opts.allow_concurrent_memtable_write = false;
  // Opening table files needs no thread pool per column family (the default
  // starts 16 threads for each of the 8 families on every open).
  opts.max_file_opening_threads = 1;
  opts.IncreaseParallelism(2);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(o.block_cache_bytes);
  table.cache_index_and_filter_blocks = true;
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return opts;
}

std::vector<rocksdb::ColumnFamilyDescriptor> CfDescriptors(
    const rocksdb::Options& opts) {
  std::vector<rocksdb::ColumnFamilyDescriptor> d;
  for (const char* name : kCfNames)
    d.emplace_back(name, rocksdb::ColumnFamilyOptions(opts));
  // Keys of the log (arrival order) and of the feed index (author, seq) arrive
  // in order within one prefix: let the memtable resume each insert where the
  // previous one of the same prefix ended.
  d[kCfLog].options.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(0));
  d[kCfFeeds].options.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(32));
  // Feed summaries are written as merge operands that add up; a flush or a
  // read folds them. (Capping the operands per key with
  // max_successive_merges makes every write past the cap read the record
  // first: 30 % off the ingest of many feeds, bench/README.md.)
  d[kCfFeedSums].options.merge_operator =
      std::make_shared<FeedSumMergeOperator>();
  return d;
}

Status DamagedStoreError(const std::string& home,
                         const std::string& rocks_error) {
  return Status::Corruption(
      "the store at " + home + " is damaged (" + rocks_error +
      "); it was not opened and nothing was written to it. Run "
      "`plumlog check` to see what is damaged and `plumlog repair` "
      "to rebuild it from every entry that still verifies "
      "(docs/operations.md, \"Damaged stores\")");
}

Status CreateDb(const std::string& path, const StoreOptions& o,
                const FeedId& identity, std::string_view own_feed) {
  rocksdb::Options opts = DbOptions(o);
  opts.create_if_missing = true;
  opts.error_if_exists = true;
  opts.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  PLUMLOG_RETURN_IF_ERROR(FromRocks(
      rocksdb::DB::Open(opts, path, CfDescriptors(opts), &handles, &raw),
      "cannot create database " + path));
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::WriteBatch wb;
  wb.Put(handles[kCfMeta], std::string(kMetaSchemaKey),
         std::string(kSchemaVersion));
  wb.Put(handles[kCfMeta], std::string(kMetaIdentityKey),
         std::string(identity.view()));
  if (!own_feed.empty())
    wb.Put(handles[kCfMeta], std::string(kMetaOwnFeedKey),
           std::string(own_feed));
  Status st =
      FromRocks(db->Write(wo, &wb), "cannot write the new database's metadata");
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  if (st.ok()) st = FromRocks(db->Close(), "cannot close new database");
  return st;
}

bool IsAbandonedCreate(const std::string& db) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(db, ec)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".sst")) return false;
    if (name.ends_with(".log") && e.file_size(ec) > 0) return false;
  }
  return !ec;
}

Status MissingKeyError(const std::string& home) {
  std::string whose;
  {
    // Best effort: the identity recorded in the database names the key.
    rocksdb::Options opts;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    std::vector<std::string> present;
    (void)rocksdb::DB::ListColumnFamilies(opts, DbPath(home), &present);
    for (const std::string& name : present)
      cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    const auto meta = std::find(present.begin(), present.end(),
                                std::string(kCfNames[kCfMeta]));
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    if (meta != present.end() &&
        rocksdb::DB::OpenForReadOnly(opts, DbPath(home), cfs, &handles, &raw)
            .ok()) {
      std::string v;
      if (raw->Get(rocksdb::ReadOptions(),
                   handles[static_cast<size_t>(meta - present.begin())],
                   std::string(kMetaIdentityKey), &v)
              .ok()) {
        if (std::optional<FeedId> id = FeedId::FromBytes(v))
          whose = " of " + id->ToString();
      }
      for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
      delete raw;
    }
  }
  return Status::FailedPrecondition(
      "the store at " + home + " holds feeds but its secret key " +
      SecretPath(home) + whose +
      " is missing. Restore the key from your backup (docs/operations.md, "
      "\"Backups\"); `plumlog init` will not create a new identity over "
      "existing feeds");
}

}  // namespace plumlog::storage
