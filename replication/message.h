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
  // Range-based set reconciliation (docs/protocol.md section 19): encoded and
  // decoded by replication/reconcile_message.h, not part of Message (the
  // replicator does not take it yet).
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

using Message =
    std::variant<NotesMessage, EntriesMessage, DigestMessage, WantMessage, ForkProofMessage>;

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
