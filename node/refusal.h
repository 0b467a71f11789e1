// The Refused frame (docs/protocol.md section 18, "Admission"): the last
// frame a node sends on a connection it will not keep, so the peer learns
// why and when to try again instead of seeing a bare close.
//
//   [64, reason: str <= 256 bytes, retry_after_ms: uint <= 86,400,000]
//
// Type 64 is the first of the connection-level types (64..79), handled by
// the driver, not by the protocol cores. Decoding is strict like every
// message of docs/protocol.md section 2.
#ifndef PLUMLOG_NODE_REFUSAL_H_
#define PLUMLOG_NODE_REFUSAL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "plumlog/status.h"

namespace plumlog::node {

inline constexpr uint8_t kRefusedType = 64;
inline constexpr size_t kMaxRefusalReasonBytes = 256;
inline constexpr uint64_t kMaxRetryAfterMs = 86400000;  // a day

struct Refusal {
  std::string reason;
  uint64_t retry_after_ms = 0;
};

// True if `frame` claims to be a Refused frame (type 64); it may still fail
// to decode.
bool IsRefusalFrame(std::string_view frame);
// The reason is cut to kMaxRefusalReasonBytes (at a UTF-8 boundary) and the
// delay to kMaxRetryAfterMs.
std::string EncodeRefusal(const Refusal& r);
// Control characters in the reason come back as '?' (it is shown to people).
Result<Refusal> DecodeRefusal(std::string_view frame);

}  // namespace plumlog::node

#endif  // PLUMLOG_NODE_REFUSAL_H_
