// The Replicator's private state, shared by the files it is split into
// (replicator.cc, ebt_notes.cc, plumtree.cc, digest_repair.cc). Not for use
// outside replication/.
#ifndef PLUMLOG_REPLICATION_REPLICATOR_INTERNAL_H_
#define PLUMLOG_REPLICATION_REPLICATOR_INTERNAL_H_

#include <deque>
#include <memory>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "replication/message.h"
#include "replication/replicator.h"

namespace plumlog::replication {

// Hops value meaning "distance to the author unknown".
inline constexpr uint32_t kUnknownHops = kMaxHops;
// Frame overhead allowance when packing entries into a frame.
inline constexpr size_t kFrameSlack = 64;

inline uint32_t NextHops(uint32_t hops) {
  return hops >= kUnknownHops - 1 ? kUnknownHops : hops + 1;
}

struct Replicator::PeerFeed {
  bool known = false;      // the peer sent a note or entries of this feed
  bool replicates = true;  // false: their note was -1
  uint64_t seq = 0;        // their latest sequence, as far as we know
  bool tx = false;         // they asked us to push entries
  uint64_t sent = 0;       // pushed (or they had) up to here
  bool error = false;      // they sent an invalid entry: ignored for this feed
  uint32_t hops = kUnknownHops;  // their distance to the author
  int64_t note_sent = -2;        // the last note we sent them (-2: none yet)
  bool heard = false;  // they sent a note for it on this connection
};

// A feed we hold nothing of, as one peer noted it: asked of that peer, not
// yet delivered (docs/protocol.md, "Claims").
struct Replicator::Claim {
  uint64_t seq = 0;
  uint32_t hops = kUnknownHops;
};

struct Replicator::Peer {
  FeedId id;
  bool connected = false;
  bool congested =
      false;  // the transport's send queue is full: no backlog pumping
  bool notes_received = false;  // their notes arrived since they connected
  // First contact by reconciliation (no stored clock): only differing feeds
  // are announced until our session with it ends (FinishFirstContact).
  bool first_contact = false;
  uint32_t first_contact_sessions = 0;  // sessions started for it
  TimeMs last_seen = 0;
  std::unordered_map<FeedId, PeerFeed> feeds;
  std::map<FeedId, int64_t>
      stored_clock;  // notes of the last connection, kept current
  bool clock_dirty = false;
  uint64_t progress_start = 0;
  // Outgoing, coalesced until Flush.
  std::map<FeedId, NoteItem> out_notes;
  std::vector<std::pair<uint32_t, Entry>> out_push;  // (hops, entry), in order
  std::vector<Entry> out_repair;
  std::set<FeedId> backlog;  // feeds with entries to push from the store
  // Feeds it noted that we hold nothing of (at most max_claims_per_peer).
  std::unordered_map<FeedId, Claim> claims;
};

struct Replicator::FeedState {
  uint64_t seq = 0;
  bool forked = false;
  std::optional<FeedId> eager;
  TimeMs last_delivery =
      0;  // last push from the eager source (or when it became eager)
  TimeMs graft_deadline = 0;  // 0: none pending
  uint32_t hops = kUnknownHops;
  uint32_t pending_hops = kUnknownHops;  // hops of the frame being ingested
  uint64_t head_prefix = 0;              // HeadPrefix of entry `seq`
  // Recent arrivals, (first seq, time), one pair per distinct time, for
  // StableSeq: what we have held for at least a graft timeout.
  std::deque<std::pair<uint64_t, TimeMs>> recent;
  TimeMs timer = 0;  // its key in feed_timers_ (0: not indexed)
};

struct Replicator::PendingWant {
  FeedId peer;
  uint64_t seq = 0;  // what the peer claimed
  TimeMs deadline = 0;
};

struct Replicator::PendingIngest {
  FeedId peer;
  FeedId feed;
  // A copy of what was handed to the store: the verdict on a failed entry
  // (a gap, or a forgery) depends on the entry itself.
  std::vector<Entry> batch;
};

// Reconciliation sessions with one peer: at most one we started and one it
// started (docs/protocol.md section 19.3).
struct Replicator::ReconcileState {
  std::unique_ptr<ReconcileSession> ours;
  TimeMs ours_deadline = 0;
  std::unique_ptr<ReconcileSession> theirs;
  TimeMs theirs_deadline = 0;
  TimeMs last_used = 0;
};

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_REPLICATOR_INTERNAL_H_
