// Admission: which connections a node takes and keeps (docs/protocol.md,
// "Admission"). Sans-IO, part of NodeCore's connection policy: NodeCore
// reports connections by id and remote host and carries out the verdicts
// (close a connection, refuse a new one).
//
// The threat: anyone can open TCP connections and sit in the handshake, and
// anyone who knows the network key (plumlog's default one is public) can
// finish it under a fresh identity. Neither may keep honest peers out. The
// connections of a node fall into three pools:
//
//   pending   inbound, handshake not finished. At most max_handshakes, at
//             most max_handshakes_per_address from one address (beyond: the
//             new one is refused) and max_handshakes_per_prefix from one
//             /24 (IPv4) or /48 (IPv6) (beyond: that prefix's oldest pending
//             connection is evicted). When the pool or the node is full, a
//             newcomer evicts the oldest pending connection of the prefix
//             holding the most (ties: the prefix with more connections
//             evicted or refused before, then the oldest connection): a
//             flood from a few prefixes evicts itself, not the newcomer from
//             elsewhere.
//   strangers authenticated, but neither a configured peer nor a member. At
//             most max_connections - reserved_connections - max_handshakes,
//             and max_strangers_per_prefix per prefix. When full, a new one
//             evicts the oldest stranger of the prefix holding the most, if
//             that prefix would still hold more than the newcomer's; else it
//             is refused (equal shares keep whoever came first).
//   known     authenticated configured peers and members, and our own dials.
//             They take whatever is left of max_connections: pending and
//             strangers together never hold more than max_connections -
//             reserved_connections, so at least reserved_connections slots
//             stay for known peers.
//
// Every refusal and eviction carries its reason for the log and counters.
#ifndef PLUMLOG_NODE_ADMISSION_H_
#define PLUMLOG_NODE_ADMISSION_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "node/events.h"
#include "plumlog/node.h"

namespace plumlog::node {

// Filled from NodeOptions (include/plumlog/node.h documents the defaults;
// AdmissionLimits::From derives the automatic ones).
struct AdmissionLimits {
  size_t max_connections = 128;
  size_t reserved_connections = 16;
  size_t max_handshakes = 32;
  size_t max_handshakes_per_address = 4;
  size_t max_handshakes_per_prefix = 8;
  size_t max_strangers_per_prefix = 8;

  // Slots pending and stranger connections share: max_connections -
  // reserved_connections. Strangers alone: that minus max_handshakes.
  size_t shared_slots() const;
  size_t max_strangers() const;

  static AdmissionLimits From(const NodeOptions& o);
};

class Admission {
 public:
  struct Decision {
    bool admit = false;
    ConnId evict =
        0;  // close this connection (already forgotten here); 0: none
    std::string reason;  // why refused, or why `evict` goes
  };

  explicit Admission(const AdmissionLimits& limits) : limits_(limits) {}

  // A new inbound TCP connection from `host` (an IP address, no port).
  Decision OnInbound(ConnId id, std::string_view host);
  // We are about to dial: our dials go to peers we chose, so they only need a
  // free slot, for which a pending or stranger connection is evicted. If
  // admitted, report the new connection with OnDialed.
  Decision RoomForDial();
  void OnDialed(ConnId id);
  // The handshake of `id` finished; `known`: a configured peer or a member.
  // Not admitted: close `id` (it is already forgotten here).
  Decision OnAuthenticated(ConnId id, bool known);
  // `id` closed, whatever it was. Ids not tracked (any more) are ignored.
  void OnClosed(ConnId id);

  size_t total() const { return conns_.size(); }
  size_t pending() const { return pending_.count; }
  size_t strangers() const { return strangers_.count; }
  size_t PendingFrom(std::string_view host) const;
  const AdmissionLimits& limits() const { return limits_; }

  // The prefix a host is counted under: "a.b.c.0/24" for IPv4 (also an IPv4
  // address mapped into IPv6, ::ffff:a.b.c.d), "x:y:z::/48" for IPv6, the
  // host text itself when it is not an IP address. (Parsed here: the node
  // layer has no sockets API.)
  static std::string PrefixOf(std::string_view host);
  // The host of "HOST:PORT" or "[V6]:PORT" (the text itself without a port).
  static std::string_view HostOf(std::string_view address);

 private:
  enum class Pool : uint8_t { kPending, kStranger, kKnown };
  struct Conn {
    Pool pool = Pool::kKnown;
    uint64_t order = 0;  // arrival order: smaller is older
    std::string host;
    std::string prefix;
  };
  // Counts of one pool, overall and per prefix (and per host for pending).
  struct Counts {
    size_t count = 0;
    std::map<std::string, size_t, std::less<>> by_prefix;
    std::map<std::string, size_t, std::less<>> by_host;
    size_t Of(const std::map<std::string, size_t, std::less<>>& m,
              std::string_view k) const;
  };

  Counts& CountsOf(Pool pool) {
    return pool == Pool::kPending ? pending_ : strangers_;
  }
  void Add(ConnId id, Pool pool, std::string_view host, std::string prefix);
  void Forget(ConnId id);
  // The oldest connection of `pool` in `prefix`; or, with an empty prefix, of
  // the prefix holding the most connections of `pool`. 0 if none.
  ConnId Oldest(Pool pool, std::string_view prefix) const;
  std::string_view LargestPrefix(Pool pool) const;
  void Strike(const std::string& prefix);
  static constexpr size_t kMaxStrikePrefixes = 4096;

  AdmissionLimits limits_;
  std::unordered_map<ConnId, Conn> conns_;
  Counts pending_;
  Counts strangers_;
  // Per prefix: its connections evicted or refused so far (ties in eviction
  // go against the prefix with more).
  std::map<std::string, uint64_t, std::less<>> strikes_;
  uint64_t next_order_ = 0;
};

}  // namespace plumlog::node

#endif  // PLUMLOG_NODE_ADMISSION_H_
