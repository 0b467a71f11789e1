// Replicator: the sans-IO replication core of one node (docs/protocol.md).
//
// It combines SSB-style EBT (per-feed notes exchanged with every connected
// peer), plumtree (for each feed exactly one connected peer is the eager source
// that pushes entries; the others are lazy and only announce their sequence),
// and bimodal-multicast digest rounds that repair whatever push missed. The
// code is split by concern: replicator.cc (peers, dispatch, timers, policy,
// observation), ebt_notes.cc (notes and the output of frames),
// plumtree.cc (eager/lazy push, grafts, prunes, ingestion, forks),
// digest_repair.cc (repair rounds, digests and wants) and reconcile.cc
// (range-based reconciliation for repair rounds and first contacts).
//
// Events in: OnPeerUp/OnPeerDown (a peer to replicate with came or went),
// OnMessage/OnFrame (a message from a peer), OnStoreEntry (every entry that
// became durable in the store, in order), OnIngestDone (the answer to an
// Ingest effect), Tick(now), OnPolicyChange (the feed filter's verdict on a
// feed changed). Effects out (TakeEffects): frames to send, peers to drop,
// events to report, and the store writes the core asks for: Ingest (the
// driver runs it off its event loop and hands the result back through
// OnIngestDone, as etcd raft's Ready/Advance), SavePeerClock and
// StoreForkProof. The store is only read here. Time is always passed in;
// nothing here reads a clock, touches a socket or draws randomness except
// from the seeded generator.
#ifndef PLUMLOG_REPLICATION_REPLICATOR_H_
#define PLUMLOG_REPLICATION_REPLICATOR_H_

#include <cstdint>
#include <deque>
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
#include "replication/message.h"
#include "replication/range_reconciler.h"
#include "replication/reconcile_session.h"
#include "replication/store_reconcile_source.h"
#include "storage/replication_store.h"

namespace plumlog::replication {

using TimeMs = int64_t;

// Decides which feeds are replicated at all: the node's policy (follow graph,
// blocks, replicate-all; node/replication_policy.h). The local feed always is.
class FeedFilter {
 public:
  virtual ~FeedFilter() = default;
  virtual bool Replicates(const FeedId& feed) const = 0;
  // Feeds replicated whether or not anything of them is stored yet: they are
  // announced to every peer on connect. (Under replicate-all, feeds are
  // learnt from peers' notes instead.)
  virtual std::vector<FeedId> Wanted() const = 0;
};

// Who digests may go to (the membership's views, or a list the driver set).
// Asked once per digest round.
class DigestTargets {
 public:
  virtual ~DigestTargets() = default;
  virtual std::vector<FeedId> DigestCandidates() const = 0;
};

// Wire-independent, but kept stable (append-only): drivers log them.
enum class ReplicationEvent : uint8_t {
  kInvalidEntry =
      1,  // a peer sent an entry that failed validation; feed blocked for it
  kFork = 2,            // a feed was found forked; replication of it stopped
  kMalformedFrame = 3,  // a frame failed to decode; the peer is dropped
  kGraft = 4,           // a feed's eager source moved to another peer
  kPrune = 5,           // a peer was told to stop pushing a feed (duplicate)
  kStoreError = 6,      // reading the store failed (detail says what)
};
const char* ReplicationEventName(ReplicationEvent e);

struct Effect {
  enum class Kind : uint8_t {
    kSend,            // frame to peer
    kDisconnect,      // drop peer (detail: why)
    kEvent,           // event about peer / feed / seq (detail)
    kIngest,          // store `batch` (one feed's entries from `peer`); answer
                      // OnIngestDone(request)
    kSavePeerClock,   // save `clock` as what `peer` last announced
    kStoreForkProof,  // record the fork proof (first, second)
  };
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
  // kIngest
  uint64_t request = 0;
  std::vector<Entry> batch;
  // kSavePeerClock
  std::map<FeedId, int64_t> clock;
  // kStoreForkProof
  Entry first;
  Entry second;
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
  uint64_t entries_sent = 0;  // payload entries pushed or repaired
  uint64_t notes_sent = 0;    // note items
  uint64_t digests_sent = 0;
  // Reconciliation (ReplicationOptions::reconcile): sessions we started
  // (rounds and first contacts), Reconcile frames sent, feeds found to
  // differ, sessions abandoned (timeout) or broken by the peer (protocol
  // violation), and first contacts that fell back to notes of every feed.
  uint64_t reconcile_sessions = 0;
  uint64_t reconcile_messages_sent = 0;
  uint64_t reconcile_diffs = 0;
  uint64_t reconcile_failures = 0;
  uint64_t first_contact_fallbacks = 0;
  uint64_t wants_sent = 0;
  uint64_t entries_received = 0;
  uint64_t entries_stored = 0;
  uint64_t duplicates_received = 0;
  uint64_t grafts = 0;
  uint64_t prunes = 0;
  uint64_t invalid_entries = 0;
  uint64_t forks = 0;
  uint64_t malformed_frames = 0;
  uint64_t feeds_refused = 0;  // entries of new feeds ignored: max_feeds reached
  // Note items about feeds we hold nothing of, ignored because their peer
  // already had max_claims_per_peer claims outstanding (and digest items
  // beyond as many pending wants).
  uint64_t claims_refused = 0;
  uint64_t notes_ignored =
      0;  // note items about feeds the filter does not replicate
  uint64_t store_errors = 0;  // store reads that failed (kStoreError events)
  uint64_t ingests = 0;       // Ingest effects emitted
  // Feeds whose timer was looked at or re-indexed (Tick, NextTimeout and
  // the bookkeeping after each event). With the deadline index this grows
  // with the feeds an event touches, not with the feeds held: the simulator
  // test ManyFeedsCostPerEventStaysFlat counts it.
  uint64_t timer_work = 0;
};

class Replicator {
 public:
  // `store` (read only here) and `filter` (null: replicate per
  // options.replicate_all) are not owned and must outlive the replicator.
  Replicator(const storage::ReplicationStore* store,
             const ReplicationOptions& options, uint64_t seed,
             const FeedFilter* filter = nullptr);
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  const FeedId& self() const { return self_; }

  // ---- events in ----
  void OnPeerUp(const FeedId& peer, TimeMs now);
  void OnPeerDown(const FeedId& peer, TimeMs now);
  // A decoded message from `peer` (connected or not: digests and repair may
  // come from any member).
  void OnMessage(const FeedId& peer, Message message, TimeMs now);
  // Decodes and hands on to OnMessage; a frame that does not decode is
  // reported (kMalformedFrame) and the peer dropped.
  void OnFrame(const FeedId& peer, std::string_view frame, TimeMs now);
  // The result of the Ingest effect `request`. Entries it stored arrive
  // through OnStoreEntry, before this.
  void OnIngestDone(uint64_t request, const IngestResult& result, TimeMs now);
  // An entry became durable in the store (local append or ingest), in order.
  void OnStoreEntry(const Entry& entry, TimeMs now);
  void Tick(TimeMs now);
  // The earliest time Tick has something to do; 0 when it has work now (a
  // push backlog left over by max_push_per_pump). Costs O(connected peers),
  // not O(feeds): feed timers are kept in an index.
  TimeMs NextTimeout() const;

  // Where digests go: one of `targets`' candidates per round (not owned;
  // null or no candidates: a connected peer).
  void SetDigestTargets(const DigestTargets* targets) { targets_ = targets; }

  // The filter's verdict on `feed` changed (followed, unfollowed, blocked,
  // unblocked): announce it to the peers, or stop replicating it and forget
  // its state.
  void OnPolicyChange(const FeedId& feed, TimeMs now);
  // Never send `feed` to `peer`, nor take it from them.
  void BlockFeedForPeer(const FeedId& feed, const FeedId& peer, TimeMs now);

  // ---- effects out ----
  std::vector<Effect> TakeEffects();

  // ---- observation ----
  Progress GetProgress() const;
  Progress GetPeerProgress(const FeedId& peer) const;
  const ReplicationStats& stats() const { return stats_; }
  std::vector<FeedId> ConnectedPeers() const;
  // Ingest effects not answered yet.
  size_t IngestsInFlight() const { return ingests_.size(); }
  // Feeds with replication state (replicated feeds held or heard of).
  size_t FeedCount() const { return feeds_.size(); }

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
  // The most any connected peer holds of `feed` by the notes it sent on its
  // current connection; nullopt while no connected peer has sent a note that
  // says it replicates the feed. (The node's own-feed check: docs/storage.md,
  // "Own feed".)
  std::optional<uint64_t> HeardSeq(const FeedId& feed) const;
  // The peer currently eager for `feed`, if any (tests, status).
  std::optional<FeedId> EagerSource(const FeedId& feed) const;
  // Saves every connected peer's clock now (also done periodically and on
  // disconnect): SavePeerClock effects.
  void SavePeerClocks();
  // Tests: recomputes every feed's timer the slow way and says whether the
  // index agrees (the index is what NextTimeout and Tick use).
  bool TimersConsistent() const;

 private:
  struct PeerFeed;
  struct Claim;
  struct Peer;
  struct FeedState;
  struct PendingWant;
  struct PendingIngest;
  struct ReconcileState;
  class Dispatch;

  bool Replicates(const FeedId& feed) const;
  bool SharedWith(const FeedId& feed, const FeedId& peer) const;
  // The feed's state, created empty if absent; the feed's timer is
  // re-indexed after the current event.
  FeedState& Feed(const FeedId& feed);
  Peer* FindPeer(const FeedId& peer);
  const Peer* FindPeer(const FeedId& peer) const;
  Peer& TransientPeer(const FeedId& peer, TimeMs now);

  // ---- EBT notes (ebt_notes.cc) ----
  void HandleNotes(Peer& p, const NotesMessage& m, TimeMs now);
  // A note about a feed we hold nothing of: a claim of `p`'s, asked of it.
  void HandleClaim(Peer& p, const NoteItem& item);
  // `feed` now has entries here: the claims of it become peer state.
  void PromoteClaims(const FeedId& feed);
  void SendInitialNotes(Peer& p);
  // Our note of `feed` to `p` as on connect (makes us its eager source when
  // it is the first peer for a feed we hold). With `skip_unchanged`, a feed
  // the peer's stored clock already holds at our sequence is marked known
  // instead (request skipping).
  void AnnounceFeed(Peer& p, const FeedId& feed, bool ask_own,
                    bool skip_unchanged);
  // First contact by reconciliation: notes of what cannot be in the session
  // (our own feed while held, wanted feeds we hold nothing of), then a
  // session; the rest is announced as the sessions find differences.
  void StartFirstContact(Peer& p, TimeMs now);
  // Our first-contact session with `p` ended: every shared feed not
  // announced either way is the same on both sides.
  void FinishFirstContact(Peer& p);
  // A first contact that cannot go on by reconciliation: every feed is
  // announced, as without it (first_contact_fallbacks).
  void FallBackToNotes(Peer& p);
  void QueueNote(Peer& p, const FeedId& feed, int64_t note);
  void Pump(Peer& p);
  void Flush(Peer& p);
  void FlushAll();

  // ---- plumtree (plumtree.cc) ----
  void HandleEntries(Peer& p, EntriesMessage& m, TimeMs now);
  void HandleForkProof(Peer& p, const ForkProofMessage& m, TimeMs now);
  void SetEager(const FeedId& feed, Peer* peer, TimeMs now, bool graft);
  void ChooseEagerFor(const FeedId& feed, TimeMs now);
  void CheckGrafts(TimeMs now);
  void GraftDue(const FeedId& feed, FeedState& fs, TimeMs now);
  // The IHAVE timer's length for a feed: graft_timeout_ms, plus
  // graft_stagger_ms at an odd distance from the author.
  TimeMs IhaveTimeout(const FeedState& fs) const;
  void StartBacklog(Peer& p, const FeedId& feed);
  // Stops replicating a forked feed; floods the proof when given.
  void StopFeed(const FeedId& feed, const Entry* first, const Entry* second);

  // ---- digest repair (digest_repair.cc) ----
  void HandleDigest(Peer& p, const DigestMessage& m, TimeMs now);
  void HandleWant(Peer& p, const WantMessage& m, TimeMs now);
  // Queues entries (after, min(upto, head)] of `feed` for `p`, within *budget.
  void SendRepair(Peer& p, const FeedId& feed, uint64_t after, size_t* budget,
                  uint64_t upto = UINT64_MAX);
  // The sequence of `feed` we have held for at least a graft timeout.
  uint64_t StableSeq(FeedState& fs, TimeMs now);
  void SendPendingWants(TimeMs now);
  void DigestRound(TimeMs now);
  // What to do about one feed `p` holds differently (a digest item or a
  // reconciliation difference): solicit it after a grace period, send what
  // it lacks, or prove a fork.
  void RepairItem(Peer& p, const FeedId& feed, uint64_t their_seq,
                  uint64_t their_head, size_t* budget, TimeMs now);

  // ---- reconciliation (reconcile.cc) ----
  void HandleReconcile(Peer& p, const ReconcileMessage& m, TimeMs now);
  // Starts a session with `peer` (not if one of ours is running); false if
  // none was started.
  bool StartReconcile(const FeedId& peer, TimeMs now);
  void HandleReconcileDiffs(Peer& p, const std::vector<ReconcileDiff>& diffs,
                            bool first_contact, TimeMs now);
  void SendReconcile(const FeedId& peer, const ReconcileMessage& m);
  // Drops sessions that ran out of time (a first contact falls back).
  void ExpireReconciles(TimeMs now);
  ReconcileState& ReconcileFor(const FeedId& peer, TimeMs now);

  // ---- timers ----
  // When `feed`'s timer fires: its graft deadline, or the moment a silent
  // eager source that claims more is overdue; 0: none.
  TimeMs FeedDeadline(const FeedId& feed, const FeedState& fs) const;
  void Touch(const FeedId& feed) { touched_.insert(feed); }
  // Re-indexes the timers of the feeds touched by the current event.
  void Retime();
  void Unindex(const FeedId& feed, FeedState& fs);

  // ---- output ----
  void Send(const FeedId& peer, std::string frame, MessageType type,
            size_t entries = 0);
  void Report(ReplicationEvent ev, const FeedId& peer, const FeedId& feed,
              uint64_t seq, std::string detail);
  void StoreError(const FeedId& peer, const FeedId& feed, const Status& status);
  void DropPeer(const FeedId& peer, std::string reason);
  void SavePeerClock(Peer& p);
  // Drops the state of a feed that is no longer replicated.
  void ForgetFeed(const FeedId& feed);

  const storage::ReplicationStore* store_;
  const ReplicationOptions options_;
  const FeedFilter* filter_;
  const FeedId self_;
  std::mt19937_64 rng_;

  std::map<FeedId, FeedState> feeds_;  // ordered: digests walk id ranges
  std::unordered_map<FeedId, std::unique_ptr<Peer>> peers_;
  std::vector<FeedId>
      peer_order_;  // connected peers in connection order (graft rotation)
  const DigestTargets* targets_ = nullptr;
  std::set<std::pair<FeedId, FeedId>> blocked_for_peer_;  // (feed, peer)

  // Feed timers by time (FeedDeadline), and the feeds whose timer may have
  // changed during the current event.
  std::set<std::pair<TimeMs, FeedId>> feed_timers_;
  std::unordered_set<FeedId> touched_;

  std::map<FeedId, PendingWant>
      pending_wants_;  // digest gaps awaiting their grace period
  std::set<std::pair<TimeMs, FeedId>> want_timers_;
  std::unordered_map<uint64_t, PendingIngest> ingests_;  // by request
  uint64_t next_request_ = 1;
  TimeMs next_digest_ = 0;
  TimeMs next_clock_save_ = 0;
  uint64_t digest_round_ = 0;
  // Reconciliation of feed heads against the store's feed_sums index.
  StoreReconcileSource recon_source_;
  RangeReconciler reconciler_;
  // Sessions by peer (connected or not), at most max_reconcile_sessions
  // besides connected peers'.
  std::unordered_map<FeedId, std::unique_ptr<ReconcileState>> recon_;
  std::vector<Effect> effects_;
  ReplicationStats stats_;
};

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_REPLICATOR_H_
