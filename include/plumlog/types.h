// Value types shared by the whole public API: feed and entry ids, entries, feed heads.
#ifndef PLUMLOG_TYPES_H_
#define PLUMLOG_TYPES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plumlog/status.h"

namespace plumlog {

// Format limits (docs/format.md). An encoded entry, signature included, is at most this big.
inline constexpr size_t kMaxEntryBytes = 64 * 1024;
// Deepest nesting of arrays/maps allowed inside entry content.
inline constexpr int kMaxContentDepth = 32;
// Lamport clocks and timestamps stay below 2^63 so that max+1 never overflows.
inline constexpr uint64_t kMaxClockValue = (uint64_t{1} << 63) - 1;
// The only entry format this build writes and reads.
inline constexpr int kEntryFormatVersion = 1;

// 32 raw bytes with a text form. Tag picks the sigil and suffix.
template <typename Tag>
class Id32 {
 public:
  static constexpr size_t kSize = 32;
  Id32() { bytes_.fill(0); }
  explicit Id32(std::span<const uint8_t, kSize> bytes) {
    std::memcpy(bytes_.data(), bytes.data(), kSize);
  }
  // From 32 raw bytes; nullopt if the length is wrong.
  static std::optional<Id32> FromBytes(std::string_view raw) {
    if (raw.size() != kSize) return std::nullopt;
    Id32 id;
    std::memcpy(id.bytes_.data(), raw.data(), kSize);
    return id;
  }
  // Parses the text form (docs/format.md): Tag::kSigil, 44 chars of padded
  // standard base64, Tag::kSuffix. Rejects anything else, including non-canonical
  // base64 (nonzero unused bits).
  static Result<Id32> Parse(std::string_view text);
  std::string ToString() const;
  // The first 8 characters of the base64 part, for logs.
  std::string Short() const { return ToString().substr(1, 8); }

  const std::array<uint8_t, kSize>& bytes() const { return bytes_; }
  std::array<uint8_t, kSize>& mutable_bytes() { return bytes_; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes_.data()), kSize};
  }
  auto operator<=>(const Id32&) const = default;
  bool operator==(const Id32&) const = default;

 private:
  std::array<uint8_t, kSize> bytes_;
};

struct FeedIdTag {
  static constexpr std::string_view kSigil = "@";
  static constexpr std::string_view kSuffix = ".ed25519";
  static constexpr std::string_view kWhat = "feed id";
};
struct EntryIdTag {
  static constexpr std::string_view kSigil = "%";
  static constexpr std::string_view kSuffix = ".blake2b";
  static constexpr std::string_view kWhat = "entry id";
};

// A feed id is its author's Ed25519 public key: "@<base64>.ed25519".
using FeedId = Id32<FeedIdTag>;
// An entry id is BLAKE2b-256 of the entry's signed bytes: "%<base64>.blake2b".
using EntryId = Id32<EntryIdTag>;

struct IdHash {
  template <typename Tag>
  size_t operator()(const Id32<Tag>& id) const {
    size_t h;
    std::memcpy(&h, id.bytes().data(), sizeof h);
    return h;
  }
};

class EntryCodec;

// One signed feed entry (format v1), immutable. Holds its encoded bytes; the
// accessors are views into them. Decoding checks the structure and limits, not
// the signature: call VerifySignature() (the Store does for everything it ingests).
class Entry {
 public:
  Entry() = default;

  // Strict decoder: rejects trailing bytes, wrong types and lengths, anything over
  // a limit. Computes the id. Never crashes on any input.
  static Result<Entry> Decode(std::string_view encoded);

  int format_version() const { return kEntryFormatVersion; }
  const FeedId& author() const { return author_; }
  uint64_t seq() const { return seq_; }
  // Id of entry seq-1; nullopt exactly when seq == 1.
  const std::optional<EntryId>& previous() const { return previous_; }
  uint64_t lamport() const { return lamport_; }
  // Milliseconds since the Unix epoch, as claimed by the author.
  uint64_t timestamp_ms() const { return timestamp_ms_; }
  // The content: exactly one msgpack value.
  std::string_view content() const {
    return std::string_view(bytes_).substr(content_offset_, content_size_);
  }
  const EntryId& id() const { return id_; }
  // The whole encoded entry: signed bytes followed by the signature.
  const std::string& encoded() const { return bytes_; }
  // The bytes the signature covers (after the domain-separation prefix).
  std::string_view signed_bytes() const {
    return std::string_view(bytes_).substr(0, signed_size_);
  }
  std::span<const uint8_t, 64> signature() const {
    return std::span<const uint8_t, 64>(
        reinterpret_cast<const uint8_t*>(bytes_.data()) + bytes_.size() - 64, 64);
  }
  bool VerifySignature() const;

  bool operator==(const Entry& o) const { return bytes_ == o.bytes_; }

 private:
  friend class EntryCodec;
  std::string bytes_;
  size_t signed_size_ = 0;
  size_t content_offset_ = 0;
  size_t content_size_ = 0;
  FeedId author_;
  uint64_t seq_ = 0;
  std::optional<EntryId> previous_;
  uint64_t lamport_ = 0;
  uint64_t timestamp_ms_ = 0;
  EntryId id_;
};

// msgpack encoding of a UTF-8 string: handy content for an entry.
std::string TextContent(std::string_view text);

// The head of one feed as stored locally.
struct FeedInfo {
  FeedId author;
  uint64_t seq = 0;        // latest stored sequence (0: nothing stored)
  EntryId head;            // id of entry `seq`
  uint64_t lamport = 0;    // lamport clock of entry `seq`
  bool forked = false;     // a fork proof is stored; the feed takes no more entries
};

// author -> latest stored sequence.
using Clock = std::map<FeedId, uint64_t>;

// A range of feed ids, for set reconciliation (docs/storage.md, "Feed
// summaries"): every id whose first `bits` bits equal those of `prefix`.
// The bits of `prefix` after the first `bits` are zero; bits = 0 is every
// feed, bits = 256 one id.
struct FeedRange {
  FeedId prefix;
  uint32_t bits = 0;  // 0..256

  // A range of the first `bits` bits of `id` (the other bits cleared).
  static FeedRange Of(const FeedId& id, uint32_t bits);
  bool Contains(const FeedId& id) const;
  // The lowest and highest ids in the range.
  FeedId First() const { return prefix; }
  FeedId Last() const;
  // Child i of the split of this range into 2^split_bits ranges of equal
  // size, in id order (bits + split_bits <= 256, i < 2^split_bits).
  FeedRange Child(uint32_t split_bits, uint32_t i) const;
  // Which child of that split holds `id` (Contains(id) must hold).
  uint32_t ChildIndex(uint32_t split_bits, const FeedId& id) const;
  bool operator==(const FeedRange&) const = default;
};

// What a store holds in a FeedRange: how many feeds (with at least one
// entry and not forked), and the sum modulo 2^256 of their head ids, each
// read as a 256-bit little-endian number. Sums of disjoint ranges add up.
struct FeedRangeSummary {
  uint64_t count = 0;
  std::array<uint8_t, 32> sum{};

  void Add(const EntryId& head);
  void Subtract(const EntryId& head);
  void Add(const FeedRangeSummary& other);
  void Subtract(const FeedRangeSummary& other);
  bool empty() const;  // count 0 and sum 0
  bool operator==(const FeedRangeSummary&) const = default;
};

// Two valid entries by one author with the same sequence and different ids.
struct ForkProof {
  Entry stored;    // the one that was in the store first
  Entry conflicting;
};

// What Store::Ingest did with a batch.
struct IngestResult {
  size_t stored = 0;       // new entries written
  size_t duplicates = 0;   // entries already present (same id), skipped
  // Set when an entry was refused: its index in the batch and why. Entries before
  // it were handled as counted above; it and everything after were not stored.
  std::optional<size_t> failed_index;
  Status failure;
  // Feeds found forked by this batch (their proofs are stored).
  std::vector<FeedId> forks;
  bool ok() const { return !failed_index.has_value(); }
};

// A page of entries in local arrival order.
struct ArrivalPage {
  std::vector<Entry> entries;
  std::vector<uint64_t> positions;  // arrival position of each entry (1, 2, ...)
  uint64_t next = 0;                // pass as `after` to continue
};

// One problem found by Store::Check.
struct CheckProblem {
  std::string where;   // e.g. "@abc.ed25519 seq 12" or "id index"
  std::string what;
};

struct CheckReport {
  uint64_t feeds = 0;
  uint64_t entries = 0;
  uint64_t forks = 0;
  std::vector<CheckProblem> problems;
  bool ok() const { return problems.empty(); }
};

// What Store::Repair found and did.
struct RepairReport {
  // What was damaged: why the store did not open, writes lost from the WAL,
  // unreadable table or log stretches, entries that no longer verify.
  std::vector<CheckProblem> damage;
  uint64_t feeds = 0;               // feeds in the rebuilt store
  uint64_t entries_kept = 0;        // verified entries in the rebuilt store
  uint64_t entries_unreadable = 0;  // log records that did not decode or verify
  // Verified entries after a gap in their feed: they cannot be stored until
  // the gap is filled (peers send them again); the damaged copy keeps them.
  uint64_t entries_set_aside = 0;
  uint64_t forks_kept = 0;
  // A feed the rebuilt store holds less of than the damaged one knew of.
  struct FeedLoss {
    FeedId feed;
    uint64_t kept = 0;   // entries 1..kept are in the rebuilt store
    uint64_t known = 0;  // the highest sequence the damaged store knew of
  };
  std::vector<FeedLoss> incomplete;
  std::string damaged_copy;  // where the old database now is
};

}  // namespace plumlog

template <typename Tag>
struct std::hash<plumlog::Id32<Tag>> {
  size_t operator()(const plumlog::Id32<Tag>& id) const { return plumlog::IdHash{}(id); }
};

#endif  // PLUMLOG_TYPES_H_
