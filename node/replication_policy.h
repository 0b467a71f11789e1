// ReplicationPolicy: which feeds a node replicates, as data (docs/protocol.md,
// "Replication policy"). In order of precedence:
//
//   1. a blocked feed is never replicated (blocks are private to the node and
//      kept in the store: ReplicationStore::LoadBlocks/SaveBlock);
//   2. the local feed always is;
//   3. with replicate_all, every feed is;
//   4. a feed requested for this session (Request) is;
//   5. otherwise a feed is replicated iff it lies within `hops` follows of the
//      local feed in the follow graph: hops 1 = the feeds we follow, 2 = also
//      the feeds they follow, and so on (SSB's model).
//
// The follow graph comes from contact entries (node/contact.h) in the feeds
// themselves: the latest contact entry of an author about a feed says whether
// the author follows it. Only authors closer than `hops` can extend the set,
// so only their entries are read (their stored entries once, when they come
// within range; new ones as they are stored). Blocked feeds' follows are not
// followed.
//
// Feeds outside the policy cost nothing here: no state is kept for a feed a
// peer merely names (the replicator asks Replicates before it creates any).
#ifndef PLUMLOG_NODE_REPLICATION_POLICY_H_
#define PLUMLOG_NODE_REPLICATION_POLICY_H_

#include <cstdint>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "plumlog/status.h"
#include "plumlog/types.h"
#include "replication/replicator.h"
#include "storage/replication_store.h"

namespace plumlog::node {

class ReplicationPolicy final : public replication::FeedFilter {
 public:
  // `store` is read (blocks, contact entries) and must outlive the policy.
  ReplicationPolicy(const storage::ReplicationStore* store, bool replicate_all,
                    uint32_t hops);

  // Reads the block list and the follow graph from the store. A failed read
  // is returned (and the policy keeps what it could read).
  Status Load();

  // ---- replication::FeedFilter ----
  bool Replicates(const FeedId& feed) const override;
  std::vector<FeedId> Wanted() const override;

  // ---- changes; each returns the feeds whose Replicates() verdict changed,
  // and a store read that failed meanwhile, if any, in *error ----
  // An entry became durable: a contact entry of an author within range
  // changes the graph.
  std::vector<FeedId> OnEntry(const Entry& entry, Status* error);
  std::vector<FeedId> SetBlocked(const FeedId& feed, bool blocked,
                                 Status* error);
  std::vector<FeedId> Request(const FeedId& feed, bool replicate,
                              Status* error);

  // ---- observation ----
  bool replicate_all() const { return replicate_all_; }
  uint32_t hops() const { return max_hops_; }
  bool Blocked(const FeedId& feed) const { return blocks_.count(feed) > 0; }
  const std::set<FeedId>& blocks() const { return blocks_; }
  // The feeds the local feed follows (its latest contact entry says so).
  std::vector<FeedId> Follows() const;
  // Every feed within range with its distance (0 = the local feed), by id.
  std::vector<std::pair<FeedId, uint32_t>> InRange() const;

 private:
  // Follow edges of one author: contact -> following, per its latest entry.
  using Edges = std::map<FeedId, bool>;

  // Applies a contact entry of `author`; true if the graph changed.
  bool ApplyContact(const FeedId& author, const Entry& entry);
  // Reads the stored entries of `author` for contact entries.
  Status Scan(const FeedId& author);
  // Recomputes the distances (scanning authors that came within range) and
  // appends to *changed the feeds whose verdict changed.
  void Recompute(std::vector<FeedId>* changed, Status* error);
  std::unordered_map<FeedId, uint32_t> Distances() const;
  // Depth of the graph walk: authors closer than this are read.
  uint32_t GraphDepth() const;

  const storage::ReplicationStore* store_;
  const FeedId self_;
  const bool replicate_all_;
  const uint32_t max_hops_;
  std::set<FeedId> blocks_;
  std::set<FeedId> requested_;
  std::unordered_map<FeedId, Edges> graph_;
  std::unordered_set<FeedId> scanned_;
  std::unordered_map<FeedId, uint64_t>
      applied_seq_;                            // last entry read per author
  std::unordered_map<FeedId, uint32_t> hops_;  // feeds within range -> distance
};

}  // namespace plumlog::node

#endif  // PLUMLOG_NODE_REPLICATION_POLICY_H_
