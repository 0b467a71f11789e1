// Plain option structs with a documented default on every field and named presets.
#ifndef PLUMLOG_OPTIONS_H_
#define PLUMLOG_OPTIONS_H_

#include <cstddef>
#include <cstdint>

#include "plumlog/status.h"

namespace plumlog {

// The nonce of an Ed25519 signature made by the store (StoreOptions::signing).
// Append-only; the values are not stored anywhere.
enum class SigningNonce : uint8_t {
  // r = SHA-512(32 fresh random bytes || secret nonce key || zeros || signed
  // bytes) mod L: a secret function of the entry even if the randomness
  // repeats, fresh each time otherwise (signing the same bytes twice gives
  // two different valid signatures).
  kHedged = 1,
  // RFC 8032 section 5.1.6: r = SHA-512(secret nonce key || signed bytes)
  // mod L; the same bytes always get the same signature (libsodium's
  // crypto_sign_detached, byte for byte).
  kDeterministic = 2,
};

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

  // How the store makes the nonce r of its own entries' Ed25519 signatures
  // (docs/storage.md, "Signing"). Both derive r from the entry's bytes with
  // the secret key, so no copy of the process (fork() without exec, a VM
  // snapshot restored twice) can sign two different entries with one nonce
  // and leak the key. Default: kHedged.
  SigningNonce signing = SigningNonce::kHedged;

  // Open with the own feed unconfirmed (Store::OwnFeedHold, docs/storage.md
  // "Own feed"): Append and AppendBatch fail with FailedPrecondition until a
  // Node has heard from a peer how much of the feed it holds, or until
  // ConfirmOwnFeed(). `plumlog serve` sets it, so that a home restored from
  // an old backup fetches its own feed before writing to it instead of
  // forking it. (A repaired store, or one whose Init kept an existing key,
  // starts unconfirmed whatever this says.) Default: false.
  bool own_feed_check = false;

  // Verify other authors' signatures with plumlog's table-based verifier for
  // authors seen often (about 3x faster, docs/storage.md "Verifying"). It
  // decides exactly as libsodium 1.0.18 does and runs only when the linked
  // libsodium is 1.0.18 (checked at run time); otherwise, or when false,
  // every signature is checked by the linked libsodium. Check() always uses
  // libsodium alone. Default: true.
  bool fast_verify = true;

  // RocksDB block cache. Default: 32 MiB.
  size_t block_cache_bytes = size_t{32} << 20;

  // RocksDB memtable size per column family before a flush. Default: 16 MiB.
  size_t write_buffer_bytes = size_t{16} << 20;

  // All memtables together (8 column families, each up to two memtables
  // while one flushes) stay under this: past it RocksDB flushes the largest.
  // Bounds a daemon's memory however much it ingests (flushing memtables
  // count until written, so the peak is about twice this). 0: no shared
  // limit. Default: 32 MiB.
  size_t memtable_budget_bytes = size_t{32} << 20;

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


// How a node replicates feeds (docs/protocol.md). Times are in milliseconds.
struct ReplicationOptions {
  // Replicate every feed a peer offers (the default for a private network), or
  // only feeds put on the follow list. Default: true.
  bool replicate_all = true;

  // Without replicate_all: replicate the feeds within this many follows of
  // our own in the follow graph (contact entries, docs/protocol.md
  // "Replication policy"): 1 = the feeds we follow, 2 = also the feeds they
  // follow, ... 0 = only our own feed. Default: 2 (SSB's usual range).
  uint32_t hops = 2;

  // Plumtree's first graft timeout: a lazy peer announced entries we lack and
  // the eager source has not delivered them this long after. The feed is then
  // grafted onto the next announcing peer in rotation. ~10 round trips on a LAN.
  // Default: 1000 ms.
  int64_t graft_timeout_ms = 1000;

  // That first timeout is this much longer at a node an odd number of hops
  // from the feed's author (by the last entry it received of the feed; not
  // while unknown). After a crash cuts a tree, a node and its eager source
  // (one hop apart) often both lack an entry that lazy peers announce to
  // them at nearly the same moment; with equal timers both graft, and the
  // node gets the entry twice, by its own graft and by its source's push.
  // Staggered, one of them grafts first and the other normally receives the
  // push before its own timer fires (docs/replication.md, "RMR after a
  // crash"). Costs at most this much delivery time per tree level repaired
  // by a graft. 0 disables; at most graft_timeout_ms. Default: 100 ms.
  int64_t graft_stagger_ms = 100;

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

  // Anti-entropy rounds: every interval, one random member (a view member,
  // else a connected peer) is compared with us. Default: 1000 ms.
  int64_t digest_interval_ms = 1000;

  // How a round compares: true, a range-based reconciliation session over
  // the two stores' feed heads (docs/protocol.md section 19: an identical
  // pair costs one round trip and ~150 bytes, a difference bytes in
  // proportion to it); false, a bimodal-multicast digest listing every feed
  // (~46 bytes a feed). With true, a first contact (no stored clock of the
  // peer) also starts with a session, and notes go out only for the feeds
  // found to differ. Default: true.
  bool reconcile = true;

  // A reconciliation session that has not ended after this long is
  // abandoned (a first contact then falls back to notes of every feed). A
  // session normally takes a few round trips. Default: 5000 ms.
  int64_t reconcile_timeout_ms = 5000;

  // Reconciliation sessions other nodes started with us that are kept at
  // once (each a few dozen bytes; the oldest goes first). Default: 256.
  size_t max_reconcile_sessions = 256;

  // Most entries sent in answer to one digest or want (bounds repair load per
  // round). Default: 1024.
  size_t repair_max_entries = 1024;

  // Entries per Entries frame (~300 B each for 200-byte content). Default: 256.
  size_t max_entries_per_frame = 256;

  // Most backlog entries pushed to one peer per event (keeps a big catch-up
  // from monopolising the loop). Default: 4096.
  size_t max_push_per_pump = 4096;

  // Most feeds with state here (~300 bytes each, plus ~100 per peer that
  // replicates it). State is only made for feeds with a stored entry (or
  // wanted by the follow graph); entries of further new feeds are ignored
  // (counted in ReplicationStats::feeds_refused): a runaway guard, as
  // making a feed takes a validly signed entry. Default: 1000000.
  size_t max_feeds = 1000000;

  // Feeds a peer names that we hold nothing of are only its claims until it
  // delivers an entry that verifies: they are asked of that peer alone, kept
  // per peer (~100 bytes each), never announced to other peers, never saved
  // in its stored clock. At most this many per peer; notes about further
  // unknown feeds are ignored (counted in ReplicationStats::claims_refused;
  // digest repair finds them later). A first sync from one peer fetches up
  // to this many new feeds at once. Default: 20000.
  size_t max_claims_per_peer = 20000;

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
    o.graft_stagger_ms = 300;
    o.graft_retry_ms = 1500;
    o.digest_interval_ms = 5000;
    o.reconcile_timeout_ms = 15000;
    return o;
  }
  // Fast timers for tests and the simulator.
  static ReplicationOptions Test() {
    ReplicationOptions o;
    o.graft_timeout_ms = 200;
    o.graft_stagger_ms = 20;
    o.graft_retry_ms = 100;
    o.digest_interval_ms = 200;
    o.reconcile_timeout_ms = 1000;
    o.peer_clock_save_ms = 500;
    return o;
  }

  Status Validate() const;
};

// How a node keeps its membership (docs/protocol.md section 17,
// docs/membership.md): HyParView partial views plus SWIM failure detection.
// Times are in milliseconds. n below is the number of members this node knows
// alive or suspect, itself included.
struct MembershipOptions {
  // HyParView active view: the neighbours we hold connections with (the
  // replicator's peers). The paper sizes it log10(n)+c; 5 covers ~10^4 nodes
  // with c=1. Default: 5.
  size_t active_view_size = 5;

  // HyParView passive view: known addresses kept as replacements. The paper
  // uses k*(log10(n)+c) with k=6: 6*5 = 30. Default: 30.
  size_t passive_view_size = 30;

  // Active random walk length (ARWL): hops a forward-join travels before the
  // node holding it must take the joiner into its active view. Default: 6.
  uint32_t active_random_walk_length = 6;

  // Passive random walk length (PRWL): the node holding a forward-join whose
  // remaining walk equals this puts the joiner into its passive view; also the
  // walk length of a shuffle. Must be <= ARWL. Default: 3.
  uint32_t passive_random_walk_length = 3;

  // A shuffle (exchange of view samples with a random walk's end) every
  // interval. Default: 10000 ms.
  int64_t shuffle_interval_ms = 10000;
  // Ids from the active view (ka) and from the passive view (kp) in a shuffle,
  // besides our own. Default: 3 and 4.
  size_t shuffle_active = 3;
  size_t shuffle_passive = 4;

  // A connection plus neighbour (or join) request not answered this long
  // after it was started has failed; the next candidate is tried.
  // Default: 2000 ms.
  int64_t neighbor_timeout_ms = 2000;

  // SWIM: one active neighbour (round-robin) is probed every interval.
  // Default: 1000 ms (memberlist LAN).
  int64_t probe_interval_ms = 1000;
  // SWIM: a direct ping not acked within this triggers the indirect probe;
  // must be < probe_interval_ms. Default: 500 ms (memberlist LAN).
  int64_t probe_timeout_ms = 500;
  // SWIM: members asked to ping the target on our behalf (ping-req), taken
  // from the other active neighbours. 0 disables indirect probes.
  // Default: 3 (memberlist IndirectChecks).
  size_t indirect_checks = 3;

  // Lifeguard suspicion timeout. base = suspicion_mult * log10(n+1) *
  // probe_interval_ms (at least one probe interval); a suspicion starts at
  // max = suspicion_max_timeout_mult * base and shrinks towards base as
  // independent confirmations c arrive:
  //   timeout(c) = max(base, max - (max-base) * log(c+1)/log(k+1)),
  // k = suspicion_confirmations. Default: 4 and 6 (memberlist LAN).
  uint32_t suspicion_mult = 4;
  uint32_t suspicion_max_timeout_mult = 6;
  // k above: independent confirmations (other suspecters) that bring the
  // timeout down to base. Lifeguard uses its indirect checks (3), as every
  // member may probe every other; here only a member's active neighbours
  // (~active_view_size) probe it, so 2. Default: 2.
  uint32_t suspicion_confirmations = 2;
  // Experiments only: false = a failed probe declares the target dead at once
  // (plain SWIM without the suspicion sub-protocol). Default: true.
  bool suspicion = true;

  // Each membership update is piggybacked at most
  // retransmit_mult * ceil(log10(n+1)) times. Default: 4 (memberlist LAN).
  uint32_t retransmit_mult = 4;
  // Most updates piggybacked on one message (<= 32, the wire limit).
  // Default: 8.
  size_t max_piggyback = 8;

  // Reconnecting to the dead (heals partitions): every interval, one member
  // we believe dead (for less than dead_retention_ms) is pinged; if it
  // answers it refutes and rejoins. Default: 5000 ms.
  int64_t dead_probe_interval_ms = 5000;
  // Dead and left members are remembered this long (stale-news filter and
  // reconnect targets), then forgotten. Default: 600000 ms (10 min).
  int64_t dead_retention_ms = 600000;

  // A node with no neighbour (empty active view) rejoins through its
  // contacts this often, also while neighbour requests (to passive-view
  // entries or known members that may be dead) are in flight; a node told it
  // was declared dead rejoins through the teller at most this often.
  // Default: 10000 ms.
  int64_t rejoin_interval_ms = 10000;

  // Most members tracked (views + gossip). Default: 16384.
  size_t max_members = 16384;

  static MembershipOptions Lan() { return MembershipOptions(); }
  // memberlist's WAN values.
  static MembershipOptions Wan() {
    MembershipOptions o;
    o.probe_interval_ms = 5000;
    o.probe_timeout_ms = 3000;
    o.suspicion_mult = 6;
    o.neighbor_timeout_ms = 10000;
    o.shuffle_interval_ms = 30000;
    o.dead_probe_interval_ms = 30000;
    o.rejoin_interval_ms = 30000;
    return o;
  }
  // Fast timers for tests and the simulator (links of a few ms).
  static MembershipOptions Test() {
    MembershipOptions o;
    o.probe_interval_ms = 200;
    o.probe_timeout_ms = 100;
    o.shuffle_interval_ms = 2000;
    o.neighbor_timeout_ms = 400;
    o.dead_probe_interval_ms = 1000;
    o.dead_retention_ms = 120000;
    o.rejoin_interval_ms = 2000;
    return o;
  }

  Status Validate() const;
};

}  // namespace plumlog

#endif  // PLUMLOG_OPTIONS_H_
