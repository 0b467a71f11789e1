// Replication wire messages (docs/protocol.md). Each message is one msgpack
// array whose first element is the MessageType; frames are at most
// kMaxFrameBytes. Decode is strict and never trusts a count it cannot back with
// bytes.
#ifndef PLUMLOG_REPLICATION_MESSAGE_H_
#define PLUMLOG_REPLICATION_MESSAGE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog::replication {

// Wire enum: append-only, explicit values. 16..63 are membership (issue 4).
enum class MessageType : uint8_t {
  kNotes = 1,
  kEntries = 2,
  kDigest = 3,
  kWant = 4,
  kForkProof = 5,
  // Range-based set reconciliation (docs/protocol.md section 19); its codec
  // is replication/reconcile_message.h, EncodeMessage/DecodeMessage call it.
  kReconcile = 6,
};

// Limits (docs/protocol.md).
inline constexpr size_t kMaxFrameBytes = size_t{1} << 20;   // 1 MiB
inline constexpr size_t kMaxNotesPerMessage = 2048;         // larger clocks are split
inline constexpr size_t kMaxEntriesPerMessage = 1024;
inline constexpr size_t kMaxDigestItems = 2048;
inline constexpr size_t kMaxWantItems = 2048;
inline constexpr uint32_t kMaxHops = 1u << 16;

struct NoteItem {
  FeedId feed;
  int64_t note = -1;   // see note.h
  uint32_t hops = 0;   // hops from the author of the sender's latest entry (0: unknown/author)
};
struct NotesMessage {
  std::vector<NoteItem> notes;
};

struct EntriesMessage {
  uint32_t hops = 0;     // hops from the author to the sender
  bool repair = false;   // an answer to a digest or want, not an eager push
  std::vector<Entry> entries;
};

// One feed in a digest: its latest sequence and the first 8 bytes of that
// entry's id (big-endian), so two nodes at the same sequence with different
// heads (a fork) notice.
struct DigestItem {
  FeedId feed;
  uint64_t seq = 0;
  uint64_t head_prefix = 0;
  bool operator==(const DigestItem&) const = default;
};

// First 8 bytes of an entry id as a big-endian integer.
uint64_t HeadPrefix(const EntryId& id);

// One part of a node's clock: every feed of the sender in [lo, hi] (by id
// order) with its latest sequence. A feed in range but absent: the sender has
// nothing of it.
struct DigestMessage {
  uint64_t round = 0;
  FeedId lo;
  FeedId hi;
  std::vector<DigestItem> clock;
};

// "Send me entries of these feeds after these sequences" (a solicitation).
struct WantMessage {
  std::vector<std::pair<FeedId, uint64_t>> after;
};

// Two validly signed entries of one author at one sequence with different ids.
// Flooded once by every node that learns of it, so a fork is known everywhere.
struct ForkProofMessage {
  Entry first;
  Entry second;
};

// Wire enum: append-only, explicit values.
enum class ReconcileMode : uint8_t {
  kFingerprints =
      1,       // the range split in 2^split_bits children, one fingerprint each
  kItems = 2,  // every item the sender holds in the range
};

// One range of feed ids and what the sender says about it.
struct ReconcilePart {
  FeedRange range;
  ReconcileMode mode = ReconcileMode::kFingerprints;
  uint32_t split_bits = 0;  // kFingerprints: 1..kMaxReconcileSplitBits
  // kFingerprints: 2^split_bits fingerprints of the message's
  // fingerprint_bytes each, in FeedRange::Child order.
  std::string fingerprints;
  // kItems: the sender's feeds in the range (strictly increasing ids, each
  // with its sequence >= 1 and the HeadPrefix of its head).
  std::vector<DigestItem> items;
  bool operator==(const ReconcilePart&) const = default;
};

struct ReconcileMessage {
  uint64_t session =
      0;  // chosen by the initiator, echoed; also keys the fingerprints
  uint32_t round = 0;  // 0 for the initiator's first message, +1 per reply
  uint32_t fingerprint_bytes = 8;  // kMinFingerprintBytes..kMaxFingerprintBytes
  // The sender left differing ranges out to stay within the limits; another
  // session will find them.
  bool truncated = false;
  // Disjoint ranges in increasing id order. None: the sender is done.
  std::vector<ReconcilePart> parts;
  bool operator==(const ReconcileMessage&) const = default;
};

using Message =
    std::variant<NotesMessage, EntriesMessage, DigestMessage, WantMessage,
                 ForkProofMessage, ReconcileMessage>;

MessageType TypeOf(const Message& m);
const char* MessageTypeName(MessageType t);

// Encodes one message. The caller keeps within the per-message limits (the
// Split helpers below do); an encoder given more asserts in debug builds.
std::string EncodeMessage(const Message& m);
Result<Message> DecodeMessage(std::string_view frame);

// Splits a clock into digests of at most kMaxDigestItems feeds covering the
// whole id space between them.
std::vector<DigestMessage> SplitDigest(uint64_t round, const std::vector<DigestItem>& sorted);

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_MESSAGE_H_
