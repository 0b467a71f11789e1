// NodeCore's events in and effects out (node/node_core.h). Everything a node
// decides goes through these two variants; a driver (net/node_impl.cc over
// libuv, tests/sim/simulator.cc in virtual time) turns socket callbacks,
// timers and store results into Events and carries out the Effects.
//
// Connections are named by ConnId, never by pointer: a driver may report an
// event about a connection the core has already closed or replaced, and the
// core ignores ids it does not know.
#ifndef PLUMLOG_NODE_EVENTS_H_
#define PLUMLOG_NODE_EVENTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "plumlog/node.h"
#include "plumlog/status.h"
#include "plumlog/types.h"
#include "replication/membership.h"

namespace plumlog::node {

using TimeMs = int64_t;
// A connection, named by the core (NodeCore::NewConnectionId for accepted
// ones, the Dial effect for outgoing ones). 0 is never used.
using ConnId = uint64_t;

// Why a connection closed (for counters and logs). Stable values: logged.
enum class CloseReason : uint8_t {
  kLocal = 0,            // we closed it (node decision, shutdown)
  kPeerClosed = 1,       // goodbye / clean end
  kHandshakeFailed = 2,  // bad network key, garbage, bad auth, wrong server key
  kHandshakeTimeout = 3,
  kIdleTimeout = 4,
  kStreamError =
      5,  // box-stream failed to authenticate, or ended without goodbye
  kOversizedFrame = 6,
  kMalformedFrame = 7,  // the core found a frame it could not decode
  kSocketError = 8,     // connect failed, reset, read/write error
  kResolveFailed = 9,
  kRefused = 10,        // admission refused or evicted it (node/admission.h)
  kReceiveBudget = 11,  // the driver's incomplete frames went over their limit
};
const char* CloseReasonName(CloseReason r);

// A member known by id and where it listens (HOST:PORT; may be empty).
using Contact = replication::Contact;

// ---------------------------------------------------------------------------
// Events in

// Start the node: dial the configured peers, join through them.
struct Start {};
// The timer the core asked for (SetTimer) fired; also fine at any other time.
struct Tick {};
// An inbound TCP connection was accepted (handshake not done yet).
struct ConnectionAccepted {
  ConnId conn = 0;
  std::string address;  // the remote HOST:PORT
};
// The handshake of `conn` finished: `peer` is the key it proved.
struct ConnectionOpened {
  ConnId conn = 0;
  FeedId peer;
};
// `conn` stopped being usable (exactly once per connection; also for a dial
// that never connected).
struct ConnectionClosed {
  ConnId conn = 0;
  CloseReason reason = CloseReason::kLocal;
  Status why;  // what went wrong, if anything
};
// One application frame from `conn`. The bytes are only read during Handle.
struct FrameReceived {
  ConnId conn = 0;
  std::string_view frame;
};
// The send queue of `conn` crossed its soft limit (congested) or drained
// below half of it; while congested the driver reports it again after every
// flush, with the bytes still queued.
struct SendQueue {
  ConnId conn = 0;
  size_t queued_bytes = 0;
  bool congested = false;
};
// Entries that became durable in the store (local appends and ingests), in
// storage order, and before the IngestDone of the ingest that stored them.
struct StoreEntries {
  std::vector<Entry> entries;
};
// The answer to an Ingest effect.
struct IngestDone {
  uint64_t request = 0;
  IngestResult result;
};
// A store write effect failed (SavePeerClock, StoreForkProof, SaveBlock,
// DeleteFeed, AppendContent): reported in the log and in status.
struct StoreFailed {
  std::string what;
  Status status;
};

// ---- commands ----
// Keep a connection to `address` (persistent: redialled with backoff) and
// replicate with it regardless of the views; it is also a join contact.
// Not persistent: one connection, no redial (`plumlog sync`).
struct AddPeer {
  PeerAddress address;
  bool persistent = true;
};
struct RemovePeer {
  FeedId peer;
};
// Join the membership through `contacts` without keeping connections to them.
struct Join {
  std::vector<Contact> contacts;
};
// Follow or unfollow `feed`: appends a contact entry to the local feed
// (node/contact.h), which the follow graph then reads.
struct Follow {
  FeedId feed;
  bool follow = true;
};
// Block (never replicate; private to this node) or unblock `feed`; purge
// also deletes its stored entries.
struct Block {
  FeedId feed;
  bool block = true;
  bool purge = false;
};
// Replicate `feed` for as long as this core runs, whatever the follow graph
// says (not persisted; as ssb-ebt's request()).
struct Replicate {
  FeedId feed;
  bool replicate = true;
};
// Without the membership protocol: the members digests go to (default: the
// connected peers), dialled when not connected.
struct SetMembers {
  std::vector<Contact> members;
};
// Leave the membership gracefully and close every connection.
struct Stop {};

using Event =
    std::variant<Start, Tick, ConnectionAccepted, ConnectionOpened,
                 ConnectionClosed, FrameReceived, SendQueue, StoreEntries,
                 IngestDone, StoreFailed, AddPeer, RemovePeer, Join, Follow,
                 Block, Replicate, SetMembers, Stop>;

// ---------------------------------------------------------------------------
// Effects out

// Open a connection to `peer` at `address` (HOST:PORT) and name it `conn`.
// Frames may be sent on it at once; they leave after the handshake.
struct Dial {
  ConnId conn = 0;
  FeedId peer;
  std::string address;
};
struct Send {
  ConnId conn = 0;
  std::string frame;
};
// Close `conn`; graceful: after what is queued, with the goodbye. The core
// has forgotten it already (a ConnectionClosed for it is ignored).
struct Close {
  ConnId conn = 0;
  CloseReason reason = CloseReason::kLocal;
  Status why;
  bool graceful = true;
};
// Stop (reading = false) or resume reading from `conn`: ingestion is behind.
struct SetReading {
  ConnId conn = 0;
  bool reading = true;
};
// The core's next deadline: deliver Tick at `at` (replaces any earlier
// SetTimer). Emitted whenever it changes.
struct SetTimer {
  TimeMs at = 0;
};
// Store `entries` (Store::Ingest) and answer with IngestDone{request}. The
// driver may run it on another thread, but ingests, and the store writes
// below, must run in the order given.
struct Ingest {
  uint64_t request = 0;
  FeedId peer;
  std::vector<Entry> entries;
};
struct SavePeerClock {
  FeedId peer;
  std::map<FeedId, int64_t> clock;
};
struct StoreForkProof {
  Entry first;
  Entry second;
};
struct SaveBlock {
  FeedId feed;
  bool blocked = true;
};
struct DeleteFeed {
  FeedId feed;
};
// Append `content` to the local feed (a contact entry).
struct AppendContent {
  std::string content;
};
// End the store's own-feed hold (Store::ConfirmOwnFeed, docs/storage.md,
// "Own feed"): a peer said it holds `heard` entries of the local feed and
// the store holds `have` >= heard. A failure comes back as StoreFailed.
struct ConfirmOwnFeed {
  uint64_t heard = 0;
  uint64_t have = 0;
};

// Something for the log, the status counters' readers and the listeners.
enum class ReportKind : uint8_t {
  kConnection = 1,   // connected, closed, refused, replaced, dropped, slow
  kMember = 2,       // a membership event (member is set)
  kReplication = 3,  // invalid entries, forks, malformed frames, grafts, prunes
  kStoreError = 4,   // a store read or write failed
  kPolicy = 5,       // follows, blocks, purges
};
struct Report {
  ReportKind kind = ReportKind::kConnection;
  bool log = true;  // false: routine (grafts, prunes), not worth a log line
  LogLevel level = LogLevel::kInfo;
  FeedId peer;
  FeedId feed;
  uint64_t seq = 0;
  std::string text;
  std::optional<MemberEvent> member;
};

using Effect =
    std::variant<Dial, Send, Close, SetReading, SetTimer, Ingest, SavePeerClock,
                 StoreForkProof, SaveBlock, DeleteFeed, AppendContent,
                 ConfirmOwnFeed, Report>;

}  // namespace plumlog::node

#endif  // PLUMLOG_NODE_EVENTS_H_
