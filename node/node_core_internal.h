// NodeCore's private state, shared by node_core.cc and node_connections.cc.
#ifndef PLUMLOG_NODE_NODE_CORE_INTERNAL_H_
#define PLUMLOG_NODE_NODE_CORE_INTERNAL_H_

#include <string>
#include <vector>

#include "node/node_core.h"

namespace plumlog::node {

// Two connections with one peer opened within this window are a simultaneous
// dial (both kept); a later one means the peer lost the first (it replaces it).
inline constexpr TimeMs kSimultaneousMs = 2000;
// A connection that lived this long resets the redial backoff.
inline constexpr TimeMs kStableConnectionMs = 10000;

struct NodeCore::Conn {
  ConnId id = 0;
  bool outbound = false;
  bool open = false;      // handshake done
  bool has_peer = false;  // outbound (expected) or open (proven)
  FeedId peer;
  std::string address;  // remote HOST:PORT
  TimeMs created = 0;
  TimeMs last_sent = 0;  // last frame the core sent on it
  size_t queued = 0;     // bytes queued as last reported (SendQueue)
};

struct NodeCore::PeerConns {
  ConnId primary = 0;               // open; we send on it
  std::vector<ConnId> secondaries;  // open duplicates (simultaneous dials)
  ConnId dialing = 0;               // our outbound one, not open yet
  bool empty() const {
    return primary == 0 && dialing == 0 && secondaries.empty();
  }
};

struct NodeCore::Configured {
  PeerAddress address;
  std::string host_port;
  bool persistent = true;  // redial after loss (AddPeer) or once (Connect)
  bool dialed_once = false;
};

struct NodeCore::Backoff {
  TimeMs delay_ms = 0;
  TimeMs next = 0;  // no new dial before this
};

}  // namespace plumlog::node

#endif  // PLUMLOG_NODE_NODE_CORE_INTERNAL_H_
