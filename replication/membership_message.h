// Membership wire messages (docs/protocol.md section 17). Each message is one
// msgpack array whose first element is the MembershipMessageType (16..63, the
// range reserved for membership); frames are at most kMaxMembershipFrameBytes.
// Decoding is strict and never trusts a count it cannot back with bytes.
//
// No message carries its sender: the sender is the connection's peer id, which
// the transport's handshake proved. Ids inside a message (a joiner being
// forwarded, shuffle samples, updates) are claims about third parties, and
// addresses are only dial hints: a dial proves the id it reaches.
#ifndef PLUMLOG_REPLICATION_MEMBERSHIP_MESSAGE_H_
#define PLUMLOG_REPLICATION_MEMBERSHIP_MESSAGE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog::replication {

// Wire enum: append-only, explicit values, all within 16..63.
enum class MembershipMessageType : uint8_t {
  kJoin = 16,
  kForwardJoin = 17,
  kNeighbor = 18,
  kNeighborReply = 19,
  kDisconnect = 20,
  kShuffle = 21,
  kShuffleReply = 22,
  kPing = 23,
  kAck = 24,
  kPingReq = 25,
  kLeave = 26,
};

// Limits (docs/protocol.md section 17).
inline constexpr size_t kMaxMembershipFrameBytes = size_t{64} << 10;  // 64 KiB
inline constexpr size_t kMaxAddressBytes = 256;
inline constexpr size_t kMaxShuffleEntries = 64;
inline constexpr size_t kMaxPiggybackUpdates = 32;
inline constexpr uint32_t kMaxWalkLength = 32;
inline constexpr uint64_t kMaxIncarnation = (uint64_t{1} << 62);
// 32*(32+2+256+4) + 64*(...) stays well under the frame limit.

// Wire enum: append-only, explicit values.
enum class MemberState : uint8_t {
  kAlive = 0,
  kSuspect = 1,
  kDead = 2,
  kLeft = 3,
};
const char* MemberStateName(MemberState s);

// One piece of SWIM news: `id` is in `state` at `incarnation`; `by` is the
// node that originated it (the suspecter, for a suspicion: independent
// confirmations are counted by distinct `by`).
struct MemberUpdate {
  FeedId id;
  uint64_t incarnation = 0;
  MemberState state = MemberState::kAlive;
  std::string address;
  FeedId by;
  bool operator==(const MemberUpdate&) const = default;
};

struct PeerSample {
  FeedId id;
  std::string address;
  bool operator==(const PeerSample&) const = default;
};

// The sender wants to join through us; `address` is where it says it listens.
struct JoinMessage {
  std::string address;
};
// Walks the overlay on behalf of a joiner.
struct ForwardJoinMessage {
  FeedId node;
  std::string address;
  uint32_t ttl = 0;
};
// Asks to become an active neighbour. High priority (the sender's active view
// is empty) is always accepted.
struct NeighborMessage {
  bool high_priority = false;
  std::string address;
};
struct NeighborReplyMessage {
  bool accepted = false;
};
// The sender drops us from its active view. alive: it is not leaving, keep it
// as a passive candidate.
struct DisconnectMessage {
  bool alive = true;
};
struct ShuffleMessage {
  FeedId origin;
  std::string origin_address;
  uint32_t ttl = 0;
  std::vector<PeerSample> samples;
};
struct ShuffleReplyMessage {
  std::vector<PeerSample> samples;
};
struct PingMessage {
  uint64_t seq = 0;
  std::vector<MemberUpdate> updates;
};
struct AckMessage {
  uint64_t seq = 0;
  std::vector<MemberUpdate> updates;
};
// Ping `target` on my behalf and ack me with `seq` if it answers.
struct PingReqMessage {
  uint64_t seq = 0;
  FeedId target;
  std::string target_address;
  std::vector<MemberUpdate> updates;
};
// The sender leaves the network for good (graceful leave).
struct LeaveMessage {
  uint64_t incarnation = 0;
};

using MembershipMessage =
    std::variant<JoinMessage, ForwardJoinMessage, NeighborMessage, NeighborReplyMessage,
                 DisconnectMessage, ShuffleMessage, ShuffleReplyMessage, PingMessage,
                 AckMessage, PingReqMessage, LeaveMessage>;

MembershipMessageType TypeOf(const MembershipMessage& m);
const char* MembershipMessageTypeName(MembershipMessageType t);

// True if `frame` looks like a membership frame (an array whose first element
// is a type in 16..63); the driver routes it here instead of to the replicator.
bool IsMembershipFrame(std::string_view frame);

// Encodes one message. The caller keeps within the limits above (asserted in
// debug builds).
std::string EncodeMembershipMessage(const MembershipMessage& m);
Result<MembershipMessage> DecodeMembershipMessage(std::string_view frame);

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_MEMBERSHIP_MESSAGE_H_
