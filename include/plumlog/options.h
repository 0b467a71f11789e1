// Plain option structs with a documented default on every field and named presets.
#ifndef PLUMLOG_OPTIONS_H_
#define PLUMLOG_OPTIONS_H_

#include <cstddef>
#include <cstdint>

#include "plumlog/status.h"

namespace plumlog {

struct StoreOptions {
  // Create the home directory, a new identity and an empty database when the
  // home does not hold a store yet. Default: false (`plumlog init` does it).
  bool create_if_missing = false;

  // Open for reading only, alongside a writer that may be running in another
  // process; Refresh() catches up with what the writer has written since.
  // Write methods return kFailedPrecondition. Default: false.
  bool read_only = false;

  // fsync the write-ahead log before acknowledging a write. false: every
  // acknowledged write is in the OS page cache and survives kill -9 of the
  // process but not power loss; true: it survives power loss too. Concurrent
  // writers share one fsync (group commit). Default: false.
  bool sync = false;

  // Threads used to sign and verify batches. 0 = one per hardware core.
  // Default: 0.
  int crypto_threads = 0;

  // Smallest batch worth spreading over threads; smaller ones run inline.
  // ~64 signatures take ~1.5 ms on one core, well above the hand-off cost.
  // Default: 64.
  size_t parallel_min_batch = 64;

  // RocksDB block cache. Default: 32 MiB.
  size_t block_cache_bytes = size_t{32} << 20;

  // RocksDB memtable size per column family before a flush. Default: 16 MiB.
  size_t write_buffer_bytes = size_t{16} << 20;

  // Source of entry timestamps, in ms since the Unix epoch. nullptr: the
  // system clock. The simulator passes its virtual clock. Default: nullptr.
  uint64_t (*clock_ms)() = nullptr;

  // Presets.
  static StoreOptions Default() { return StoreOptions(); }
  // Power-loss safe: every acknowledged write is fsynced (group commit).
  static StoreOptions Durable() {
    StoreOptions o;
    o.sync = true;
    return o;
  }
  // Small caches for tests that open many stores.
  static StoreOptions Test() {
    StoreOptions o;
    o.create_if_missing = true;
    o.block_cache_bytes = size_t{1} << 20;
    o.write_buffer_bytes = size_t{1} << 20;
    return o;
  }

  // InvalidArgument naming the first bad field, else OK.
  Status Validate() const;
};

}  // namespace plumlog

#endif  // PLUMLOG_OPTIONS_H_
