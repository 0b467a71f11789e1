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

  // Ed25519 nonces kept precomputed by a background thread, so that signing an
  // entry costs ~1.5 us instead of ~20 us (docs/storage.md, "Signing"). The
  // nonce is random (hedged with the secret key) instead of RFC 8032's
  // message-derived one; signatures verify the same way. 0: no thread,
  // deterministic RFC 8032 signing (short-lived processes). Default: 4096
  // (256 KiB; ~60 ms of one core to fill).
  size_t precomputed_nonces = 4096;

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
    o.precomputed_nonces = 64;
    o.block_cache_bytes = size_t{1} << 20;
    o.write_buffer_bytes = size_t{1} << 20;
    return o;
  }

  // InvalidArgument naming the first bad field, else OK.
  Status Validate() const;
};


// How a node replicates feeds (docs/protocol.md). Times are in milliseconds.
struct ReplicationOptions {
  // Replicate every feed a peer offers (the default for a private network), or
  // only feeds put on the follow list. Default: true.
  bool replicate_all = true;

  // Plumtree's first graft timeout: a lazy peer announced entries we lack and
  // the eager source has not delivered them this long after. The feed is then
  // grafted onto the next announcing peer in rotation. ~10 round trips on a LAN.
  // Default: 1000 ms.
  int64_t graft_timeout_ms = 1000;

  // Plumtree's second timeout: after a graft, how long the new source gets
  // before the next one is tried. Default: 500 ms.
  int64_t graft_retry_ms = 500;

  // A lazy peer this many entries ahead of the eager source is grafted at
  // once, without waiting for a timeout. Default: 100.
  uint64_t far_ahead = 100;

  // Plumtree optimisation threshold: a lazy peer whose announcements come
  // this many hops closer to the author than the eager source's entries
  // replaces it. 0 disables. Default: 3 (the plumtree paper's example value).
  uint32_t optimize_hops = 3;

  // Bimodal-multicast anti-entropy: every interval, a digest of our clock goes
  // to one random member. Default: 1000 ms.
  int64_t digest_interval_ms = 1000;

  // Most entries sent in answer to one digest or want (bounds repair load per
  // round). Default: 1024.
  size_t repair_max_entries = 1024;

  // Entries per Entries frame (~300 B each for 200-byte content). Default: 256.
  size_t max_entries_per_frame = 256;

  // Most backlog entries pushed to one peer per event (keeps a big catch-up
  // from monopolising the loop). Default: 4096.
  size_t max_push_per_pump = 4096;

  // Peer clocks are saved to the store at most this often. Default: 5000 ms.
  int64_t peer_clock_save_ms = 5000;

  // Experiments only: push every new entry to every neighbour (flooding
  // gossip) instead of plumtree. Default: false.
  bool flood = false;

  static ReplicationOptions Lan() { return ReplicationOptions(); }
  // Higher latency links: longer timeouts, slower digest rounds.
  static ReplicationOptions Wan() {
    ReplicationOptions o;
    o.graft_timeout_ms = 3000;
    o.graft_retry_ms = 1500;
    o.digest_interval_ms = 5000;
    return o;
  }
  // Fast timers for tests and the simulator.
  static ReplicationOptions Test() {
    ReplicationOptions o;
    o.graft_timeout_ms = 200;
    o.graft_retry_ms = 100;
    o.digest_interval_ms = 200;
    o.peer_clock_save_ms = 500;
    return o;
  }

  Status Validate() const;
};

}  // namespace plumlog

#endif  // PLUMLOG_OPTIONS_H_
