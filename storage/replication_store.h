// ReplicationStore: what the node needs from a store beyond the public Store
// API (include/plumlog/store.h). None of it is for applications: the peer
// clocks are the replication core's bookkeeping, the block list is the node's
// private policy, the identity seed is the secret handshake's key, and
// DeleteFeed purges a feed the node blocked.
//
// FeedStore and MemoryStore implement it. Node::Start and Node::Attach take a
// plain Store* (what Store::Open returns) and refuse one that is not a
// ReplicationStore.
#ifndef PLUMLOG_STORAGE_REPLICATION_STORE_H_
#define PLUMLOG_STORAGE_REPLICATION_STORE_H_

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <vector>

#include "plumlog/status.h"
#include "plumlog/store.h"
#include "plumlog/types.h"

namespace plumlog::storage {

class ReplicationStore : public Store {
 public:
  // The local identity's 32-byte Ed25519 seed (its secret key, as in
  // <home>/secret): the node's key for the secret handshake. Anyone holding
  // it can write to the local feed.
  virtual std::span<const uint8_t, 32> identity_seed() const = 0;

  // The notes a peer last announced (feed -> note, docs/protocol.md), so that
  // a reconnect only exchanges what changed. Saving replaces the peer's
  // whole clock. Not fsynced (an optimisation: losing one costs a longer
  // notes exchange).
  virtual Result<std::map<FeedId, int64_t>> LoadPeerClock(
      const FeedId& peer) const = 0;
  virtual Status SavePeerClock(const FeedId& peer,
                               const std::map<FeedId, int64_t>& clock) = 0;

  // The feeds this node never replicates (docs/protocol.md, "Replication
  // policy"). Kept in the store, private to this node: blocks are not
  // published the way follows are.
  virtual Result<std::set<FeedId>> LoadBlocks() const = 0;
  virtual Status SaveBlock(const FeedId& feed, bool blocked) = 0;

  // Deletes every stored entry of `author`, its head and its fork proofs, in
  // one atomic write; returns how many entries went. The local feed cannot
  // be deleted (InvalidArgument). Arrival positions of the deleted entries
  // stay unused.
  virtual Result<uint64_t> DeleteFeed(const FeedId& author) = 0;

  // Set reconciliation (docs/storage.md, "Feed summaries"). Only feeds with
  // at least one entry that are not forked count. For each of the
  // 2^split_bits children of `range` (FeedRange::Child order), the number of
  // such feeds in it and the sum of their head ids. InvalidArgument unless
  // split_bits <= 16 and range.bits + split_bits <= 256. MemoryStore reads
  // Feeds(); FeedStore keeps an index.
  virtual Result<std::vector<FeedRangeSummary>> SummarizeFeeds(
      const FeedRange& range, uint32_t split_bits) const = 0;
  // The heads of such feeds in `range`, ordered by id: the first `limit`.
  virtual Result<std::vector<FeedInfo>> FeedsInRange(const FeedRange& range,
                                                     size_t limit) const = 0;
};

}  // namespace plumlog::storage

#endif  // PLUMLOG_STORAGE_REPLICATION_STORE_H_
