// The one place RocksDB status codes become plumlog Status.
#ifndef PLUMLOG_STORAGE_ROCKSDB_STATUS_H_
#define PLUMLOG_STORAGE_ROCKSDB_STATUS_H_

#include <rocksdb/status.h>

#include <string_view>

#include "plumlog/status.h"

namespace plumlog::storage {

Status FromRocks(const rocksdb::Status& s, std::string_view context);

}  // namespace plumlog::storage

#endif  // PLUMLOG_STORAGE_ROCKSDB_STATUS_H_
