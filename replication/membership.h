// Membership: the sans-IO membership core of one node (docs/protocol.md
// section 17, docs/membership.md). Split by concern: membership.cc (members
// table, dispatch, timers), hyparview.cc, swim.cc, broadcast_queue.cc.
//
// HyParView partial views: an active view of neighbours we hold connections
// with (the replicator's peers) and a passive view of addresses to replace
// them from; joining through contacts with a forward-join random walk,
// neighbour requests with high/low priority, disconnects and periodic
// shuffles. SWIM failure detection over the active view: a probe every
// interval, indirect probes through other neighbours, Lifeguard suspicion whose
// timeout shrinks with independent confirmations, incarnation numbers and
// refutation, infection-style dissemination piggybacked on probes with a
// bounded retransmit count, graceful leave. Suspecters that failed to reach a
// member themselves tell each other directly; a dead or left verdict from a
// third party is only adopted after our own direct pings go unanswered; one
// peer can introduce at most max_members / 4 unproven members.
//
// Events in: Join, OnConnected/OnDisconnected (transport), OnFrame, Tick,
// Leave. Effects out: TakeEffects() returns frames to send, connections to
// open or close, and events (neighbour up/down for the replicator, member
// up/suspect/down/left for the application). A peer's id is always the one
// the transport's handshake proved; nothing here trusts an id or address a
// message claims beyond using the address to dial. Nothing here reads a clock,
// touches a socket or draws randomness except from the seeded generator.
#ifndef PLUMLOG_REPLICATION_MEMBERSHIP_H_
#define PLUMLOG_REPLICATION_MEMBERSHIP_H_

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plumlog/options.h"
#include "plumlog/types.h"
#include "replication/membership_message.h"

namespace plumlog::replication {

using TimeMs = int64_t;

// Events reported as effects. Wire-independent, but kept stable (append-only)
// because applications log them.
enum class MembershipEvent : uint8_t {
  kNeighborUp = 1,    // `peer` joined our active view: replicator OnPeerUp
  kNeighborDown = 2,  // `peer` left our active view: replicator OnPeerDown
  kMemberUp = 3,      // `peer` is known alive (new, or back from suspect/dead)
  kSuspect = 4,       // `peer` is suspected (SWIM)
  kDown = 5,          // `peer` was declared dead
  kLeft = 6,          // `peer` left gracefully
};
const char* MembershipEventName(MembershipEvent e);

struct MembershipEffect {
  enum class Kind : uint8_t { kSend, kConnect, kDisconnect, kEvent };
  Kind kind = Kind::kSend;
  FeedId peer;
  // kSend, kConnect: where `peer` said it listens (a dial hint; may be empty
  // when we have never learnt one: use an existing connection).
  std::string address;
  // kSend
  std::string frame;
  MembershipMessageType type = MembershipMessageType::kPing;
  // kEvent
  MembershipEvent event = MembershipEvent::kNeighborUp;
  uint64_t incarnation = 0;
};

// A known contact for joining.
struct Contact {
  FeedId id;
  std::string address;
};

struct MembershipStats {
  uint64_t frames_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t frames_received = 0;
  uint64_t malformed_frames = 0;
  uint64_t pings_sent = 0;
  uint64_t ping_reqs_sent = 0;
  uint64_t suspicions = 0;       // suspicions this node started itself
  uint64_t refutations = 0;      // times this node refuted news of its own failure
  uint64_t declared_dead = 0;    // members this node declared dead itself
  uint64_t shuffles = 0;
  uint64_t neighbor_requests = 0;
};

class Membership {
 public:
  // `self` is this node's id (its handshake key), `address` where it listens
  // (at most kMaxAddressBytes; a longer one is replaced by "", i.e. unknown).
  Membership(const FeedId& self, std::string address, const MembershipOptions& options,
             uint64_t seed);
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  const FeedId& self() const { return self_; }

  // ---- events in ----
  // Joins through `contacts` (tried in order; the first that answers wins).
  // The contacts are kept for rejoining when the views run empty.
  void Join(std::vector<Contact> contacts, TimeMs now);
  // A connection with `peer` is up (we dialled it or it dialled us).
  void OnConnected(const FeedId& peer, TimeMs now);
  // The connection with `peer` closed, or our dial of it failed.
  void OnDisconnected(const FeedId& peer, TimeMs now);
  // A membership frame from `peer` (over any connection, short-lived or not).
  void OnFrame(const FeedId& peer, std::string_view frame, TimeMs now);
  void Tick(TimeMs now);
  // Leaves gracefully: tells the active view and a few others, closes every
  // connection; the core then ignores everything.
  void Leave(TimeMs now);
  // The earliest time Tick has something to do (never before `now`).
  TimeMs NextTimeout(TimeMs now) const;

  // ---- effects out ----
  std::vector<MembershipEffect> TakeEffects();

  // ---- observation ----
  std::vector<FeedId> ActiveView() const;
  std::vector<FeedId> PassiveView() const;
  // Members believed alive or suspect (not self), e.g. digest targets for
  // Replicator::SetMembers.
  std::vector<FeedId> LiveMembers() const;
  std::optional<MemberState> StateOf(const FeedId& id) const;
  // Where `id` can be dialled, as far as we know ("" if unknown).
  std::string AddressOf(const FeedId& id) const;
  uint64_t incarnation() const { return incarnation_; }
  bool left() const { return left_; }
  // n of the formulas (members alive or suspect, self included).
  size_t ClusterSizeEstimate() const;
  // The current suspicion timeout for `id` if suspected.
  std::optional<TimeMs> SuspicionDeadline(const FeedId& id) const;
  const MembershipStats& stats() const { return stats_; }

 private:
  struct Member {
    std::string address;
    uint64_t incarnation = 0;
    MemberState state = MemberState::kAlive;
    TimeMs state_since = 0;
    // suspicion (state == kSuspect)
    TimeMs suspect_start = 0;
    TimeMs suspect_deadline = 0;
    std::set<FeedId> confirmations;  // distinct suspecters (at most MaxConfirmations())
    bool announced = false;          // kMemberUp reported for the current life
    // Suspicions known only by hearsay get a few direct last-chance pings
    // before we declare the member dead ourselves.
    uint32_t last_chance_pings = 0;
    // kDead or kLeft: a verdict someone else reached, held as a suspicion
    // until our own direct pings fail (a peer cannot get a member declared
    // dead by lying). kSuspect: none.
    MemberState verdict = MemberState::kSuspect;
    size_t list_index = 0;  // its place in member_list_
    // confirmations.size() when we last sent our suspicion directly to the
    // other suspecters (0: never).
    size_t told = 0;
    // Who told us of this member (hearsay), until it proves itself by
    // talking to us; counted in introduced_.
    std::optional<FeedId> introducer;
  };
  struct Pending {  // a connection + neighbour/join request in flight
    enum class Kind : uint8_t { kJoin, kNeighbor, kForwardJoinAccept } kind = Kind::kNeighbor;
    bool high = false;
    bool connected = false;
    TimeMs deadline = 0;
  };
  struct Probe {  // the current probe period
    FeedId target;
    uint64_t seq = 0;
    TimeMs started = 0;
    bool acked = false;
    bool indirect_sent = false;
    std::set<FeedId> helpers;  // asked to ping-req
  };
  struct Relay {  // a ping we send on behalf of a ping-req
    FeedId origin;
    uint64_t origin_seq = 0;
    FeedId target;
    TimeMs deadline = 0;
  };
  struct Broadcast {
    MemberUpdate update;
    uint32_t transmits = 0;
    uint64_t order = 0;  // newer first among equal transmit counts
  };
  // Piggyback order: failure news and refutations before plain join news
  // (alive at incarnation 0), then fewest transmissions, then newest. `order`
  // is unique, so the key is too.
  struct BroadcastKey {
    bool join_news = false;
    uint32_t transmits = 0;
    uint64_t order = 0;
    FeedId id;
    bool operator<(const BroadcastKey& o) const {
      if (join_news != o.join_news) return !join_news;
      if (transmits != o.transmits) return transmits < o.transmits;
      return order > o.order;
    }
  };
  static BroadcastKey KeyOf(const Broadcast& b);
  class Dispatch;

  void Send(const FeedId& peer, const MembershipMessage& m, std::string_view address = {});
  void Report(MembershipEvent e, const FeedId& peer, uint64_t incarnation = 0);
  // Records `id` (and its address: a claim by the node itself replaces what
  // we have, a third party's only fills a gap). Null if the table is full.
  // `teller` is the peer a third-party claim came from (empty: the member
  // itself or our own configuration): one teller introduces at most
  // MaxIntroduced() members that have not yet talked to us.
  Member* Learn(const FeedId& id, std::string_view address, bool self_claimed, TimeMs now,
                const FeedId* teller = nullptr);
  // The member talked to us over a connection the handshake proved.
  void Proven(Member& m);
  void Forget(const FeedId& id);
  size_t MaxIntroduced() const;
  size_t MaxConfirmations() const;
  void SetState(const FeedId& id, Member& m, MemberState s, TimeMs now);
  std::vector<FeedId> Sample(const std::vector<FeedId>& from, size_t k);

  // Views.
  bool InActive(const FeedId& id) const;
  bool InPassive(const FeedId& id) const;
  void AddActive(const FeedId& id, TimeMs now);
  void RemoveActive(const FeedId& id, bool send_disconnect, bool alive, TimeMs now);
  void DropRandomActive(TimeMs now);
  void AddPassive(const FeedId& id, TimeMs now);
  void RemovePassive(const FeedId& id);
  void StartRequest(const FeedId& id, Pending::Kind kind, bool high, TimeMs now);
  void FailRequest(const FeedId& id, bool close, TimeMs now);
  size_t PendingNeighbors() const;
  void FillActive(TimeMs now);
  // `peer` pinged us or acked our ping (SWIM) while our active view is
  // empty: ask it to be our neighbour if it is a live member.
  void TakeIfIsolated(const FeedId& peer, TimeMs now);
  // A join request (to a contact, or to whoever told us we were dead) is in
  // flight.
  bool Joining() const;
  bool RandomActiveExcept(const FeedId& a, const FeedId& b, FeedId* out);
  void StartShuffle(TimeMs now);

  // Handlers.
  void HandleJoin(const FeedId& from, const JoinMessage& m, TimeMs now);
  void HandleForwardJoin(const FeedId& from, const ForwardJoinMessage& m, TimeMs now);
  void HandleNeighbor(const FeedId& from, const NeighborMessage& m, TimeMs now);
  void HandleNeighborReply(const FeedId& from, const NeighborReplyMessage& m, TimeMs now);
  void HandleDisconnect(const FeedId& from, const DisconnectMessage& m, TimeMs now);
  void HandleShuffle(const FeedId& from, const ShuffleMessage& m, TimeMs now);
  void HandlePing(const FeedId& from, const PingMessage& m, TimeMs now);
  void HandleAck(const FeedId& from, const AckMessage& m, TimeMs now);
  void HandlePingReq(const FeedId& from, const PingReqMessage& m, TimeMs now);
  void IntegrateSamples(const FeedId& from, const std::vector<PeerSample>& samples,
                        const std::vector<PeerSample>& sent, TimeMs now);

  // SWIM.
  // Pings `target` as this period's probe.
  void StartProbe(const FeedId& target, TimeMs now);
  void ProbeRound(TimeMs now);
  void CheckProbe(TimeMs now);
  void CheckSuspicions(TimeMs now);
  // Once per probe interval, a direct ping to every member we suspect after
  // failing to reach it ourselves (not the current probe target).
  void PingOwnSuspects();
  void ProbeTheDead(TimeMs now);
  // The next live member outside the active view whose address we know, in
  // a shuffled round over the member table (every such member comes round
  // once per round, however many of the others are dead), or none.
  std::optional<FeedId> NextNonNeighbour();
  // Applies one piece of news; `from` is the peer that told us.
  void Apply(const MemberUpdate& u, const FeedId& from, TimeMs now);
  void ApplyAll(const std::vector<MemberUpdate>& updates, const FeedId& from, TimeMs now);
  void StartSuspicion(const FeedId& id, Member& m, uint64_t incarnation, const FeedId& by,
                      TimeMs now);
  // Adds `by` as an independent suspecter; false if known or the set is full.
  bool Confirm(Member& m, const FeedId& by);
  // We failed to reach `id` ourselves: tell the other suspecters directly
  // (dissemination by gossip alone is slow to reach them).
  void TellSuspecters(const FeedId& id, Member& m);
  // `state` is kDead or kLeft.
  void DeclareDead(const FeedId& id, TimeMs now, MemberState state = MemberState::kDead);
  void Refute(uint64_t at_least, const FeedId& teller, bool was_dead, TimeMs now);
  TimeMs SuspicionTimeout(size_t confirmations) const;
  void Enqueue(const MemberUpdate& u);
  std::vector<MemberUpdate> Piggyback(const FeedId& to);
  // Piggyback's share of the broadcast queue: appends to `out` (up to
  // max_piggyback in all) the first updates in piggyback order not about
  // `to`, counting their transmissions.
  void TakeNews(const FeedId& to, std::vector<MemberUpdate>* out);
  uint32_t RetransmitLimit() const;
  void OnMemberGone(const FeedId& id, TimeMs now);

  const FeedId self_;
  const std::string address_;
  const MembershipOptions options_;
  std::mt19937_64 rng_;

  std::vector<FeedId> active_;
  std::vector<FeedId> passive_;
  std::map<FeedId, Pending> pending_;
  std::unordered_map<FeedId, Member, IdHash> members_;
  // The ids of members_, in no order, for picking one at random in O(1).
  std::vector<FeedId> member_list_;
  std::unordered_map<FeedId, size_t, IdHash> introduced_;  // by teller, unproven members
  size_t live_count_ = 0;  // members alive or suspect
  std::set<FeedId> suspects_;  // members in kSuspect (timers)
  std::set<FeedId> gone_;      // members in kDead or kLeft (reconnect, forgetting)
  std::vector<Contact> contacts_;
  size_t next_contact_ = 0;

  uint64_t incarnation_ = 0;
  bool joined_ = false;
  bool left_ = false;

  std::optional<Probe> probe_;
  std::vector<FeedId> probe_order_;
  size_t probe_index_ = 0;
  // NextNonNeighbour's round: a shuffled copy of member_list_ and our place
  // in it.
  std::vector<FeedId> non_neighbour_order_;
  size_t non_neighbour_index_ = 0;
  std::optional<FeedId> probe_next_;  // a suspected neighbour, probed out of turn
  // Neighbours whose connection broke without a Disconnect (a reset, e.g. a
  // killed process): probed once out of turn although no longer in the
  // active view, so that a dead one is suspected and declared like any
  // other. At most 2 * active_view_size.
  std::vector<FeedId> recheck_;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, Relay> relays_;  // by our ping seq

  std::map<FeedId, Broadcast> broadcasts_;
  std::set<BroadcastKey> broadcast_queue_;  // broadcasts_ in piggyback order
  uint64_t broadcast_order_ = 0;

  std::vector<PeerSample> last_shuffle_sent_;

  TimeMs next_probe_ = 0;
  TimeMs next_shuffle_ = 0;
  TimeMs next_dead_probe_ = 0;
  TimeMs next_rejoin_ = 0;
  TimeMs last_rejoin_ = -1;

  std::vector<MembershipEffect> effects_;
  MembershipStats stats_;
};

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_MEMBERSHIP_H_
