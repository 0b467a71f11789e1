// Node: a Store plus the replicating peer around it (docs/architecture.md).
//
// A Node listens for TCP connections, dials peers, authenticates every
// connection with the secret handshake (the peer's id is the key it proved),
// keeps HyParView views and SWIM failure detection, and replicates feeds over
// the active view by EBT notes, plumtree push and digest repair. Entries
// appended through the Store reach peers at once.
//
// Threads: a Node runs on one libuv loop. Start() gives it a loop on a thread
// of its own; Attach() puts it on the caller's loop (the caller runs the loop).
// Every public method may be called from any thread: called on the loop's
// thread it runs at once, otherwise it is handed to the loop and waited for.
// Listeners are called on the loop's thread and must not block.
//
//   auto node = plumlog::Node::Start(store.get(), plumlog::NodeOptions::Lan());
//   (*node)->AddPeer(*plumlog::PeerAddress::Parse("net:10.0.0.2:8640~shs:..."));
#ifndef PLUMLOG_NODE_H_
#define PLUMLOG_NODE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plumlog/log.h"
#include "plumlog/options.h"
#include "plumlog/status.h"
#include "plumlog/store.h"
#include "plumlog/types.h"

typedef struct uv_loop_s uv_loop_t;

namespace plumlog {

// A 32-byte secret shared by every node of one network. Nodes with different
// keys cannot complete a handshake (and learn nothing of each other).
using NetworkKey = std::array<uint8_t, 32>;

// plumlog's own default network key: BLAKE2b-256 of "plumlog network key v1"
// (not SSB's main-network key).
NetworkKey DefaultNetworkKey();
// Parses 32 bytes given as 64 hex digits or as (standard, padded) base64.
Result<NetworkKey> ParseNetworkKey(std::string_view text);

// Where a peer listens and who it is. Text form (SSB's multiserver address):
//   net:HOST:PORT~shs:KEY    KEY = the base64 of the peer's public key
// Also accepted: HOST:PORT~shs:KEY, and the whole feed id for KEY:
// net:HOST:PORT~shs:@KEY.ed25519, HOST:PORT~@KEY.ed25519. IPv6 hosts go in
// brackets: net:[::1]:8640~shs:KEY. HOST may be a name (resolved when
// dialling; the first IPv4 address is used, else the first IPv6 one).
struct PeerAddress {
  std::string host;
  uint16_t port = 0;
  FeedId id;

  static Result<PeerAddress> Parse(std::string_view text);
  std::string ToString() const;           // net:HOST:PORT~shs:KEY
  std::string HostPort() const;           // HOST:PORT ([v6]:PORT)
  bool operator==(const PeerAddress&) const = default;
};

// Parses HOST:PORT (brackets around an IPv6 host). Port 0 is allowed.
Status ParseHostPort(std::string_view text, std::string* host, uint16_t* port);

// Options of a Node. Every field has a documented default; Lan() is the
// default, Wan() for high-latency links, Test() for fast local tests.
struct NodeOptions {
  // Listen for peers on this address. Port 0 picks a free port (see
  // Node::address()). Default: "0.0.0.0:8640".
  std::string listen = "0.0.0.0:8640";
  // Do not listen at all (a node that only dials, e.g. `plumlog sync`).
  // Default: false.
  bool no_listen = false;
  // HOST:PORT announced to other members as where to reach us. Empty: the
  // listen address, or, when that is a wildcard (0.0.0.0 / ::), the local
  // address of our first outgoing connection with the listen port.
  // Default: "".
  std::string advertise;

  // Dialled at start and kept connected (redialled with backoff), also the
  // membership's contacts for joining. Default: none.
  std::vector<PeerAddress> peers;

  // The network's secret. Default: DefaultNetworkKey().
  NetworkKey network_key = DefaultNetworkKey();

  // Take part in the membership protocol (HyParView views, SWIM). When false,
  // the node replicates only with its configured peers and the peers that
  // dial it. Default: true.
  bool membership = true;

  ReplicationOptions replication = ReplicationOptions::Lan();
  MembershipOptions membership_options = MembershipOptions::Lan();

  // Most open connections (both directions, handshakes included), at most
  // 65536. Who gets a slot is decided by admission (docs/protocol.md
  // section 18): connections still in the handshake and those of unknown
  // peers (authenticated, but neither configured nor members) are limited
  // per address and per /24 (IPv4) or /48 (IPv6), and are evicted first.
  // Default: 128.
  size_t max_connections = 128;
  // Of max_connections, slots that only known peers (configured peers and
  // members) may take: handshakes and unknown peers together never hold
  // more than max_connections - reserved_connections. 0: max_connections / 8
  // (at least 1 when max_connections > 1). Default: 0 (16 of 128).
  size_t reserved_connections = 0;
  // Inbound connections in the handshake at once, from all addresses.
  // Beyond it a new one evicts the oldest handshake of the prefix that holds
  // the most. 0: max_connections / 4 (at least 1). Default: 0 (32 of 128).
  size_t max_handshakes = 0;
  // Inbound handshakes at once from one address; beyond it a new connection
  // from there is closed at once. Default: 4.
  size_t max_handshakes_per_address = 4;
  // Inbound handshakes at once from one /24 (IPv4) or /48 (IPv6); beyond it
  // the prefix's oldest handshake is evicted. Default: 8.
  size_t max_handshakes_per_prefix = 8;
  // Connections of unknown peers from one /24 or /48. Beyond it a new one is
  // refused after its handshake, with a Refused frame saying why.
  // Default: 8.
  size_t max_unknown_per_prefix = 8;
  // Bytes of incomplete frames all connections hold together. Past it the
  // connection whose incomplete frame is oldest is closed (one connection
  // holds at most a frame, 1 MiB). Default: 64 MiB.
  size_t max_receive_buffer_bytes = size_t{64} << 20;
  // Bytes queued for sending to all peers together. Past it the peer with
  // the longest queue is disconnected as too slow. Default: 256 MiB.
  size_t max_send_buffer_bytes = size_t{256} << 20;
  // A connection whose handshake has not finished this long after it was
  // opened is closed. Default: 5000 ms.
  int64_t handshake_timeout_ms = 5000;
  // A connection on which nothing was received this long is closed: an idle
  // short-lived connection, or a dead link (a peer cut off by the network
  // does not reset the connection). Replication peers send each other a
  // keepalive after a third of it without traffic. Default: 30000 ms.
  int64_t idle_timeout_ms = 30000;
  // Bytes queued for one peer above which no more catch-up (backlog) entries
  // are produced for it until the queue drains below half. A LAN's
  // bandwidth-delay product is far below it; a hub with many peers holds at
  // most about this much (plus one pump, ~1.2 MB) per peer. Default: 1 MiB.
  size_t send_queue_soft_bytes = size_t{1} << 20;
  // Bytes queued for one peer above which the peer is disconnected as too
  // slow. Must exceed the soft limit by at least one frame (1 MiB).
  // Default: 64 MiB.
  size_t send_queue_hard_bytes = size_t{64} << 20;
  // Bytes of received entries handed to the store and not yet stored (the
  // store verifies and writes them off the node's loop thread). Above it the
  // node stops reading from the peers that sent them until half of it is
  // done, so a fast peer cannot queue unbounded work. Default: 16 MiB.
  size_t max_pending_ingest_bytes = size_t{16} << 20;
  // Frames accepted from one connection per second (token bucket with one
  // second of burst). Beyond it the connection's reading is paused until
  // tokens return: a flooding peer slows itself down and costs bounded CPU
  // and memory. Default: 20000.
  uint32_t max_frames_per_second = 20000;
  // Redial backoff for configured peers: starts at min, doubles per failure
  // up to max, each delay jittered by ±25 %. Default: 500 ms and 30000 ms.
  int64_t reconnect_min_ms = 500;
  int64_t reconnect_max_ms = 30000;
  // Every interval, and one second after a burst of stored entries ends, the
  // node hands memory the allocator holds free back to the system (glibc's
  // malloc_trim; elsewhere nothing). Catching up on a big backlog leaves
  // ~100 MB of freed buffers in glibc's arenas otherwise. 0 disables.
  // Default: 10000 ms.
  int64_t release_memory_ms = 10000;
  // Seed for the protocol cores' randomness; 0 draws one at start.
  // Default: 0.
  uint64_t seed = 0;
  // Log lines (connections, handshake failures, misbehaving peers) go to
  // stderr, timestamped, info level and above, when true and log_sink is
  // null. Default: false.
  bool log_to_stderr = false;
  // Where log lines go (include/plumlog/log.h); not owned, must outlive the
  // Node. Takes precedence over log_to_stderr. Default: nullptr.
  LogSink* log_sink = nullptr;

  static NodeOptions Lan() { return NodeOptions(); }
  static NodeOptions Wan() {
    NodeOptions o;
    o.replication = ReplicationOptions::Wan();
    o.membership_options = MembershipOptions::Wan();
    o.handshake_timeout_ms = 15000;
    o.idle_timeout_ms = 120000;
    return o;
  }
  // Loopback tests: listens on 127.0.0.1 with a free port, fast timers.
  static NodeOptions Test() {
    NodeOptions o;
    o.listen = "127.0.0.1:0";
    o.replication = ReplicationOptions::Test();
    o.membership_options = MembershipOptions::Test();
    o.handshake_timeout_ms = 2000;
    o.idle_timeout_ms = 10000;
    o.reconnect_min_ms = 100;
    o.reconnect_max_ms = 2000;
    return o;
  }

  Status Validate() const;
};

// Membership and connection events for the application.
enum class MemberEventKind : uint8_t {
  kNeighborUp = 1,    // became a replication neighbour (active view)
  kNeighborDown = 2,  // stopped being one
  kUp = 3,            // known alive
  kSuspect = 4,       // suspected to have failed (SWIM)
  kDown = 5,          // declared failed
  kLeft = 6,          // left gracefully
};
const char* MemberEventName(MemberEventKind kind);

struct MemberEvent {
  MemberEventKind kind = MemberEventKind::kUp;
  FeedId peer;
  uint64_t incarnation = 0;
};

// Called on the node's loop thread. Must not block; may call Node methods.
class NodeListener {
 public:
  virtual ~NodeListener() = default;
  // An entry became durable in the store (appended here or received), after
  // the node has scheduled it for its peers.
  virtual void OnEntry(const Entry& entry) { (void)entry; }
  virtual void OnMemberEvent(const MemberEvent& event) { (void)event; }
};

// Counters of everything that went wrong with peers (status's "counters").
struct NodeCounters {
  uint64_t connections_accepted = 0;
  uint64_t connections_dialed = 0;
  uint64_t dial_failures = 0;
  uint64_t handshakes_ok = 0;
  uint64_t handshake_failures = 0;    // wrong network key, garbage, bad auth
  uint64_t handshake_timeouts = 0;    // peer stalled mid-handshake
  uint64_t idle_timeouts = 0;
  uint64_t connections_refused = 0;    // admission refused them (docs/protocol.md section 18)
  uint64_t connections_evicted = 0;    // admission closed them to make room for newer ones
  uint64_t receive_budget_closes = 0;  // closed: incomplete frames over max_receive_buffer_bytes
  uint64_t refused_by_peers = 0;       // a peer sent us a Refused frame
  // Notes about feeds we hold nothing of, ignored: their peer already had
  // ReplicationOptions::max_claims_per_peer claims outstanding.
  uint64_t claims_refused = 0;
  // Reconciliation (docs/protocol.md sections 6.1, 11, 19): sessions this
  // node started, sessions abandoned (no answer in time) or broken (a peer
  // broke the rules, a store read failed), and first contacts that fell
  // back to announcing every feed.
  uint64_t reconcile_sessions = 0;
  uint64_t reconcile_failures = 0;
  uint64_t first_contact_fallbacks = 0;
  uint64_t stream_errors = 0;         // box-stream failed to authenticate / truncated
  uint64_t oversized_frames = 0;
  uint64_t malformed_frames = 0;
  uint64_t invalid_entries = 0;       // bad signature, broken chain
  uint64_t forks = 0;
  uint64_t slow_peer_disconnects = 0;  // send queue over the hard limit
  uint64_t throttled = 0;             // times a flooding connection was paused
  uint64_t store_errors = 0;          // store reads or writes that failed (see the log)
  uint64_t entries_received = 0;
  uint64_t entries_stored = 0;
  uint64_t entries_sent = 0;
  uint64_t duplicates_received = 0;
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  // Frames for a member we had no connection to and could not dial: no
  // address known, redial backing off, or no room for another connection
  // (dropped like a lost datagram; the protocols repair or retry).
  uint64_t frames_unsendable = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  // Received entries whose signature was verified before they were stored or
  // refused (received - duplicates: only duplicates skip verification).
  uint64_t entries_verified = 0;
};

struct ConnectionStatus {
  FeedId peer;
  std::string remote;       // HOST:PORT of the socket
  bool outbound = false;    // we dialled it
  bool open = false;        // handshake done (false: still connecting or handshaking)
  bool replicating = false;  // a replication neighbour (active view or configured peer)
  int64_t age_ms = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  size_t send_queue_bytes = 0;
};

struct FeedProgress {
  FeedId feed;
  uint64_t local = 0;   // our sequence
  uint64_t remote = 0;  // the most any connected peer claims
};

// Replication with one connected replication peer.
struct PeerProgress {
  FeedId peer;
  uint64_t behind = 0;  // entries the peer has offered that we have not stored yet
  // Entries we hold, of feeds it replicates, that it lacks and that have not
  // been sent to it yet (sent ones may still be queued: send_queue_bytes).
  uint64_t ahead = 0;
};

struct NodeStatus {
  FeedId id;
  PeerAddress address;  // where we listen (id included)
  int64_t uptime_ms = 0;
  std::vector<ConnectionStatus> connections;
  std::vector<PeerAddress> configured_peers;
  std::vector<FeedId> active_view;
  std::vector<FeedId> passive_view;
  size_t members_alive = 0;  // alive or suspect, self included
  std::vector<std::pair<FeedId, std::string>> members;  // id, state name
  // Sums over feeds (SSB-style progress): start, current, target.
  uint64_t progress_start = 0;
  uint64_t progress_current = 0;
  uint64_t progress_target = 0;
  std::vector<FeedProgress> feeds;
  // One per connected replication peer, ordered by id.
  std::vector<PeerProgress> peer_progress;
  NodeCounters counters;
  // counters.entries_verified per second over the last 10 s.
  double verify_rate = 0;
  std::string last_store_error;  // the latest store error, "" if none
};

// How a node chooses the feeds it replicates (ReplicationOptions and the
// follow graph; docs/protocol.md, "Replication policy").
struct ReplicationPolicyStatus {
  bool replicate_all = true;
  uint32_t hops = 0;               // used when !replicate_all
  std::vector<FeedId> follows;     // our latest contact entries follow these
  std::vector<FeedId> blocks;      // never replicated (private to this node)
  // Without replicate_all: every feed within `hops` follows, with its
  // distance (0 = our own).
  std::vector<std::pair<FeedId, uint32_t>> in_range;
};

class Node {
 public:
  // Starts a node on a loop thread of its own. `store` is not owned and must
  // outlive the Node; it must have been opened for writing.
  static Result<std::unique_ptr<Node>> Start(Store* store, const NodeOptions& options);
  // Starts a node on the caller's loop; the caller runs `loop` and keeps
  // running it until Stop() has finished (Node::stopped()), then destroys the
  // Node. Call from the loop's thread. The caller must ignore SIGPIPE (or
  // block it on the loop's thread): a peer that closes its end while the node
  // writes raises it, and its default action kills the process. (Start()
  // blocks it on its own thread.)
  static Result<std::unique_ptr<Node>> Attach(Store* store, const NodeOptions& options,
                                              uv_loop_t* loop);

  // Stops (see Stop) and, for Start(), joins the loop thread.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Leaves the membership gracefully, says goodbye on every connection and
  // closes everything. With Start() it returns when all is closed; with
  // Attach() the closing completes as the caller's loop runs.
  void Stop();
  bool stopped() const;

  const FeedId& id() const;
  // Our listen address with the port actually bound (port 0 resolved).
  PeerAddress address() const;

  // Keeps a connection to `peer` (redialled with backoff) and replicates with
  // it regardless of the membership views.
  Status AddPeer(const PeerAddress& peer);
  // Stops keeping `peer` connected and closes its connections now. With the
  // membership on, the node may connect to it again if it is a member.
  // NotFound if it is not a configured peer.
  Status RemovePeer(const FeedId& peer);
  // Connects once (no redial) and replicates with the peer while connected.
  Status Connect(const PeerAddress& peer);

  // Follow or unfollow `feed`: appends a contact entry to our feed (SSB's
  // shape, docs/format.md), which replication.hops reads when
  // replication.replicate_all is false. Returns once the entry is stored.
  Status Follow(const FeedId& feed);
  Status Unfollow(const FeedId& feed);
  // Never replicate `feed` with anyone; kept in the store (it survives
  // restarts) and private to this node. Entries already stored stay, unless
  // purged: Purge blocks and deletes them.
  Status Block(const FeedId& feed);
  Status Purge(const FeedId& feed);
  Status Unblock(const FeedId& feed);
  Result<ReplicationPolicyStatus> Policy();

  Result<NodeStatus> GetStatus();
  // True once `peer` is connected, its notes have arrived, we hold every
  // entry it offered, and every entry it lacked has been written to the
  // connection (`plumlog sync` waits for this).
  Result<bool> InSyncWith(const FeedId& peer);

  void AddListener(NodeListener* listener);
  void RemoveListener(NodeListener* listener);

  class Impl;

 private:
  explicit Node(Impl* impl);
  Impl* impl_;               // owned; freed after its last libuv handle closed
  void* own_loop_ = nullptr;  // Start(): the loop and its thread
};

}  // namespace plumlog

#endif  // PLUMLOG_NODE_H_
