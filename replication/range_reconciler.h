// RangeReconciler: range-based set reconciliation of two nodes' feed heads
// (docs/protocol.md section 19), sans-IO and stateless: every Reconcile
// message is answered from the message and the local set alone.
//
// The method is Aljoscha Meyer's ("Range-Based Set Reconciliation", SRDS
// 2023, arXiv:2212.13567), as the negentropy protocol also uses it
// (https://github.com/hoytech/negentropy): both sides hold a sorted set; a
// message carries fingerprints of ranges; a range whose fingerprints differ
// is split and its parts compared again, and a range small enough is sent as
// its items, so the receiver sees the exact difference there. Here:
//
// - The set is one item per feed -- the feed id, its latest sequence and
//   head id -- not one per entry: an SSB feed is a hash chain, so equal heads
//   mean equal feeds, and a feed that differs by any number of entries is one
//   differing item. (bench/reconcile_bench measures both choices.)
// - Ranges are prefixes of the 256-bit id space (FeedRange), split into
//   2^split_bits equal parts, so no bounds travel on the wire; feed ids are
//   Ed25519 keys, uniformly spread.
// - A fingerprint is the first `fingerprint_bytes` of keyed BLAKE2b over the
//   range's feed count and the sum modulo 2^256 of its head ids, keyed by the
//   session id: the sums come from the store's index, and a per-session key
//   makes an accidental fingerprint collision repeat with no later session.
#ifndef PLUMLOG_REPLICATION_RANGE_RECONCILER_H_
#define PLUMLOG_REPLICATION_RANGE_RECONCILER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "plumlog/status.h"
#include "plumlog/types.h"
#include "replication/reconcile_message.h"
#include "replication/reconcile_source.h"

namespace plumlog::replication {

// Tuning of reconciliation; figures behind the defaults in bench/README.md
// ("Reconciliation").
struct ReconcileOptions {
  // Bytes of each fingerprint on the wire (4..16). A collision hides a
  // difference from one session with probability 2^-(8 * bytes) per
  // comparison. Default: 8.
  uint32_t fingerprint_bytes = 8;
  // The first message splits the id space into 2^initial_split_bits ranges
  // (1..8). Default: 4.
  uint32_t initial_split_bits = 4;
  // A range whose fingerprints differ is split into 2^split_bits ranges
  // (1..8). Default: 4.
  uint32_t split_bits = 4;
  // A differing range holding at most this many of our feeds is sent as its
  // items instead of being split. Default: 4.
  uint32_t max_leaf_items = 4;
  // Most of our feeds compared with a peer's items of one range: a range
  // holding more is split instead. Default: 4096.
  uint32_t max_resolve_items = 4096;
  // Most of our feeds compared in one message (bounds its work and the
  // differences it reports, ~50 bytes each); ranges past it are left to
  // another session. Default: 131072.
  uint32_t max_resolve_per_message = 131072;
  // A session stops (as truncated) after this many messages. Default: 64.
  uint32_t max_rounds = 64;

  Status Validate() const;
};

// A feed the two sets hold differently. Sequence 0: that side holds nothing
// of it. Equal sequences with different heads: a fork.
struct ReconcileDiff {
  FeedId feed;
  uint64_t local_seq = 0;
  uint64_t local_head = 0;  // HeadPrefix of our head
  uint64_t remote_seq = 0;
  uint64_t remote_head = 0;
  bool operator==(const ReconcileDiff&) const = default;
};

// What handling one message produced.
struct ReconcileResult {
  // The answer (same session, next round). No parts: nothing left to ask;
  // sent all the same, so the peer knows the session ended.
  ReconcileMessage reply;
  // Feeds found to differ, in the ranges the peer listed items of.
  std::vector<ReconcileDiff> diffs;
};

class RangeReconciler {
 public:
  // `source` is not owned. `options` must be valid.
  RangeReconciler(const ReconcileSource* source,
                  const ReconcileOptions& options);

  const ReconcileOptions& options() const { return options_; }

  // The first message of session `session`.
  Result<ReconcileMessage> Initiate(uint64_t session) const;
  // Answers a peer's message. Errors come from the source only; the message
  // is taken as decoded (DecodeReconcileMessage checked its limits).
  Result<ReconcileResult> Respond(const ReconcileMessage& in) const;

  // The fingerprint of a range with summary `s` in session `session`.
  static std::string Fingerprint(const FeedRangeSummary& s, uint64_t session,
                                 uint32_t bytes);

 private:
  class Reply;

  const ReconcileSource* source_;
  const ReconcileOptions options_;
};

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_RANGE_RECONCILER_H_
