// The Reconcile wire message (docs/protocol.md, section 19): one step of
// range-based set reconciliation between two nodes' sets of feed heads
// (replication/range_reconciler.h). One msgpack array whose first element is
// MessageType::kReconcile (6); frames are at most kMaxFrameBytes. Decoding is
// strict and never trusts a count it cannot back with bytes.
//
//   [6, session: uint, round: uint, fingerprint_bytes: uint, truncated: bool,
//    [part, ...]]
//   part = [bits: uint, prefix: bin, 1, split_bits: uint, fingerprints: bin]
//        | [bits: uint, prefix: bin, 2, [[feed: bin32, seq: uint, head: uint],
//        ...]]
#ifndef PLUMLOG_REPLICATION_RECONCILE_MESSAGE_H_
#define PLUMLOG_REPLICATION_RECONCILE_MESSAGE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plumlog/status.h"
#include "plumlog/types.h"
#include "replication/message.h"

namespace plumlog::replication {

// Limits (docs/protocol.md, section 19.4).
inline constexpr uint32_t kMaxReconcileRound = 128;  // rounds of one session
inline constexpr size_t kMaxReconcileParts = 4096;   // parts of one message
inline constexpr size_t kMaxReconcileChildren =
    32768;  // fingerprints of one message
inline constexpr size_t kMaxReconcileItems = 8192;  // items of one message
inline constexpr uint32_t kMinFingerprintBytes = 4;
inline constexpr uint32_t kMaxFingerprintBytes = 16;
inline constexpr uint32_t kMaxReconcileSplitBits =
    8;  // at most 256 children per part

// True if `frame` is an array whose first element is the Reconcile type.
bool IsReconcileFrame(std::string_view frame);

// Encodes a message within the limits above (asserted in debug builds).
std::string EncodeReconcileMessage(const ReconcileMessage& m);
// Bytes `part` adds to an encoded message.
size_t EncodedPartSize(const ReconcilePart& part);
// Bytes of an encoded message without its parts (at most).
inline constexpr size_t kReconcileHeaderBytes = 32;

Result<ReconcileMessage> DecodeReconcileMessage(std::string_view frame);

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_RECONCILE_MESSAGE_H_
