// Replicator: the sans-IO replication core of one node (docs/protocol.md).
//
// It combines SSB-style EBT (per-feed notes exchanged with every connected
// peer), plumtree (for each feed exactly one connected peer is the eager source
// that pushes entries; the others are lazy and only announce their sequence),
// and bimodal-multicast digest rounds that repair whatever push missed.
//
// Events in: OnPeerUp/OnPeerDown (the membership layer's neighbour hooks),
// OnFrame (a frame from a peer), OnStoreEntry (every entry that became durable
// in the store, in order: the driver forwards the StoreListener callbacks),
// Tick(now). Effects out: TakeEffects() returns frames to send, peers to drop
// and events to report. Time is always passed in; nothing here reads a clock,
// touches a socket or draws randomness except from the seeded generator.
#ifndef PLUMLOG_REPLICATION_REPLICATOR_H_
#define PLUMLOG_REPLICATION_REPLICATOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "plumlog/options.h"
#include "plumlog/store.h"
#include "replication/message.h"

namespace plumlog::replication {

using TimeMs = int64_t;

// Decides whether a feed is replicated at all (the application's say).
class ReplicationPolicy {
 public:
  virtual ~ReplicationPolicy() = default;
  virtual bool ShouldReplicate(const FeedId& feed) = 0;
};

enum class ReplicationEvent : uint8_t {
  kInvalidEntry = 1,      // a peer sent an entry that failed validation; feed blocked for it
  kFork = 2,              // a feed was found forked; replication of it stopped
  kMalformedFrame = 3,    // a frame failed to decode; the peer is dropped
  kGraft = 4,             // a feed's eager source moved to another peer
  kPrune = 5,             // a peer was told to stop pushing a feed (duplicate)
};

struct Effect {
  enum class Kind : uint8_t { kSend, kDisconnect, kEvent };
  Kind kind = Kind::kSend;
  FeedId peer;
  // kSend
  std::string frame;
  MessageType type = MessageType::kNotes;
  size_t entries = 0;  // payload entries carried by this frame
  // kEvent / kDisconnect
  ReplicationEvent event = ReplicationEvent::kInvalidEntry;
  FeedId feed;
  uint64_t seq = 0;
  std::string detail;
};

// SSB-style progress: sums over feeds of sequences.
struct Progress {
  uint64_t start = 0;    // what we had when the peer(s) connected
  uint64_t current = 0;  // what we have now
  uint64_t target = 0;   // the most any connected peer claims (at least current)
  // GetPeerProgress only: entries we hold, of feeds the peer replicates and
  // has told us its sequence of, that it lacks and we have not sent it yet.
  uint64_t peer_lacks = 0;
};

struct ReplicationStats {
  uint64_t frames_sent = 0;
  uint64_t entries_sent = 0;        // payload entries pushed or repaired
  uint64_t notes_sent = 0;          // note items
  uint64_t digests_sent = 0;
  uint64_t wants_sent = 0;
  uint64_t entries_received = 0;
  uint64_t entries_stored = 0;
  uint64_t duplicates_received = 0;
  uint64_t grafts = 0;
  uint64_t prunes = 0;
  uint64_t invalid_entries = 0;
  uint64_t forks = 0;
  uint64_t malformed_frames = 0;
  uint64_t feeds_refused = 0;  // note items ignored: max_feeds reached
};

class Replicator {
 public:
  // `store` and `policy` (may be null: replicate per options) are not owned.
  Replicator(Store* store, const ReplicationOptions& options, uint64_t seed,
             ReplicationPolicy* policy = nullptr);
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  const FeedId& self() const { return self_; }

  // ---- events in ----
  void OnPeerUp(const FeedId& peer, TimeMs now);
  void OnPeerDown(const FeedId& peer, TimeMs now);
  // A frame from `peer` (connected or not: digests and repair may come from
  // any member).
  void OnFrame(const FeedId& peer, std::string_view frame, TimeMs now);
  // An entry became durable in the store (local append or ingest), in order.
  void OnStoreEntry(const Entry& entry, TimeMs now);
  void Tick(TimeMs now);
  // The earliest time Tick has something to do; 0 when it has work now (a push
  // backlog left over by max_push_per_pump).
  TimeMs NextTimeout() const;

  // Members eligible as digest targets (the membership layer's view: active
  // and passive). Without it, digests go to connected peers.
  void SetMembers(std::vector<FeedId> members);

  // Follow policy: follow list (used when !replicate_all) and blocks.
  void Follow(const FeedId& feed, bool follow, TimeMs now);
  // Never replicate `feed` with anyone.
  void BlockFeed(const FeedId& feed, TimeMs now);
  // Never send `feed` to `peer`, nor take it from them.
  void BlockFeedForPeer(const FeedId& feed, const FeedId& peer, TimeMs now);

  // ---- effects out ----
  std::vector<Effect> TakeEffects();

  // ---- observation ----
  Progress GetProgress() const;
  Progress GetPeerProgress(const FeedId& peer) const;
  const ReplicationStats& stats() const { return stats_; }
  std::vector<FeedId> ConnectedPeers() const;

  // The transport's send queue to `peer` is over its soft limit (true) or has
  // drained (false). While congested no catch-up entries are produced for the
  // peer (new entries wait in its backlog); notes and repair still flow.
  void SetPeerCongested(const FeedId& peer, bool congested);
  // `peer` is connected, its notes arrived, we hold everything it offered for
  // the feeds we share, and nothing we owe it is left unsent (the caller
  // checks its own transport queue). A feed of ours the peer has not answered
  // about yet counts as not in sync.
  bool InSyncWith(const FeedId& peer) const;
  struct FeedStatus {
    FeedId feed;
    uint64_t local = 0;   // our sequence
    uint64_t remote = 0;  // the most a connected peer claims (at least local)
    bool forked = false;
    std::optional<FeedId> eager;
  };
  std::vector<FeedStatus> FeedStatuses() const;
  // The peer currently eager for `feed`, if any (tests, status).
  std::optional<FeedId> EagerSource(const FeedId& feed) const;
  // Saves every connected peer's clock now (also done periodically and on
  // disconnect).
  void SavePeerClocks();

 private:
  struct PeerFeed;
  struct Peer;
  struct FeedState;
  struct PendingWant;

  bool Replicates(const FeedId& feed) const;
  bool SharedWith(const FeedId& feed, const FeedId& peer) const;
  FeedState& Feed(const FeedId& feed);
  Peer* FindPeer(const FeedId& peer);
  Peer& TransientPeer(const FeedId& peer, TimeMs now);

  void HandleNotes(Peer& p, NotesMessage& m, TimeMs now);
  void HandleEntries(Peer& p, EntriesMessage& m, TimeMs now);
  void HandleDigest(Peer& p, const DigestMessage& m, TimeMs now);
  void HandleWant(Peer& p, const WantMessage& m, TimeMs now);

  void SendInitialNotes(Peer& p);
  void QueueNote(Peer& p, const FeedId& feed, int64_t note);
  void SetEager(const FeedId& feed, Peer* peer, TimeMs now, bool graft);
  void ChooseEagerFor(const FeedId& feed, TimeMs now);
  void StartBacklog(Peer& p, const FeedId& feed);
  // Queues entries (after, min(upto, head)] of `feed` for `p`, within *budget.
  void SendRepair(Peer& p, const FeedId& feed, uint64_t after, size_t* budget,
                  uint64_t upto = UINT64_MAX);
  // The sequence of `feed` we have held for at least a graft timeout.
  uint64_t StableSeq(FeedState& fs, TimeMs now);
  void SendPendingWants(TimeMs now);
  // Stops replicating a forked feed; floods the proof when given.
  void StopFeed(const FeedId& feed, const Entry* first, const Entry* second);
  void Pump(Peer& p);
  void Flush(Peer& p);
  void FlushAll();
  void DigestRound(TimeMs now);
  void CheckGrafts(TimeMs now);
  void Send(const FeedId& peer, std::string frame, MessageType type, size_t entries = 0);
  void Report(ReplicationEvent ev, const FeedId& peer, const FeedId& feed, uint64_t seq,
              std::string detail);
  void DropPeer(const FeedId& peer, std::string reason);
  void SavePeerClock(Peer& p);

  Store* store_;
  const ReplicationOptions options_;
  ReplicationPolicy* policy_;
  const FeedId self_;
  std::mt19937_64 rng_;

  std::map<FeedId, FeedState> feeds_;  // ordered: digests walk id ranges
  std::unordered_map<FeedId, std::unique_ptr<Peer>> peers_;
  std::vector<FeedId> peer_order_;  // connected peers in connection order (graft rotation)
  std::vector<FeedId> members_;
  std::set<FeedId> follows_;
  std::set<FeedId> blocked_;
  std::set<std::pair<FeedId, FeedId>> blocked_for_peer_;  // (feed, peer)

  std::map<FeedId, PendingWant> pending_wants_;  // digest gaps awaiting their grace period
  TimeMs next_digest_ = 0;
  TimeMs next_clock_save_ = 0;
  uint64_t digest_round_ = 0;
  std::vector<Effect> effects_;
  ReplicationStats stats_;
};

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_REPLICATOR_H_
