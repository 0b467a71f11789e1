// The RocksDB side of a store's home directory, shared by FeedStore's open
// path (storage/feed_store.cc) and its salvage and repair
// (storage/feed_store_repair.cc): paths, options, column families, creating
// an empty database, and the errors that name what is wrong with a home.
#ifndef PLUMLOG_STORAGE_DB_SETUP_H_
#define PLUMLOG_STORAGE_DB_SETUP_H_

#include <rocksdb/db.h>

#include <string>
#include <string_view>
#include <vector>

#include "plumlog/options.h"
#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog::storage {

std::string SecretPath(const std::string& home);  // <home>/secret
std::string DbPath(const std::string& home);      // <home>/db
// lstat() succeeds (symlinks count, dangling or not).
bool Exists(const std::string& path);

// The RocksDB options of a store (docs/storage.md section 2).
rocksdb::Options DbOptions(const StoreOptions& o);
// Every column family of storage/keys.h, in handle order.
std::vector<rocksdb::ColumnFamilyDescriptor> CfDescriptors(
    const rocksdb::Options& opts);

// A new, empty database holding the schema version and the identity's public
// key; `own_feed` non-empty marks the own feed unconfirmed for that reason.
Status CreateDb(const std::string& path, const StoreOptions& o,
                const FeedId& identity, std::string_view own_feed);

// True when `db` is a directory an interrupted CreateDb left behind: no table
// file and no WAL with anything in it (CreateDb's first write comes after
// CURRENT exists). Anything else without CURRENT is a damaged database.
bool IsAbandonedCreate(const std::string& db);

// Corruption: the store RocksDB found damaged was not opened; names check
// and repair.
Status DamagedStoreError(const std::string& home,
                         const std::string& rocks_error);
// FailedPrecondition: a database without its secret key (what Init and Open
// both say, naming the identity the database records when it can).
Status MissingKeyError(const std::string& home);

}  // namespace plumlog::storage

#endif  // PLUMLOG_STORAGE_DB_SETUP_H_
