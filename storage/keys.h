// Key and value layouts of the RocksDB column families (docs/storage.md).
#ifndef PLUMLOG_STORAGE_KEYS_H_
#define PLUMLOG_STORAGE_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "plumlog/types.h"

namespace plumlog::storage {

// Column family names; their order here is their index in handles.
inline constexpr const char* kCfNames[] = {"default",     "log",  "feeds",
                                           "heads",       "ids",  "forks",
                                           "peer_clocks", "meta", "feed_sums"};
enum Cf : int {
  kCfDefault = 0,  // unused (RocksDB requires it)
  kCfLog = 1,      // arrival(8) -> id(32) encoded-entry     : entries in local
                   // arrival order
  kCfFeeds =
      2,  // author(32) seq(8) -> arrival(8) id(32) : entries by author+seq
  kCfHeads = 3,  // author(32) -> HeadValue                : feed heads
  kCfIds = 4,    // id(32) -> author(32) seq(8)            : id index
  kCfForks =
      5,  // author(32) seq(8) id(32) -> ForkValue  : fork proofs (both entries)
  kCfPeerClocks = 6,  // peer(32) author(32) -> note (8, BE two's complement)
  kCfMeta = 7,  // name -> value                          : schema version etc.
  kCfFeedSums = 8,  // bits(1) prefix(bits/8) -> FeedSumValue  : feed summaries
                    // (merge operands)
  kCfCount = 9,
};

inline constexpr std::string_view kMetaSchemaKey = "schema_version";
// meta: "block/" feed(32) -> "" for every feed the node blocked.
inline constexpr std::string_view kMetaBlockPrefix = "block/";
// Version 2 added `feed_sums`; Open upgrades a version 1 store by building it
// from `heads` (docs/storage.md, "Schema version").
inline constexpr std::string_view kSchemaVersion = "2";
inline constexpr std::string_view kSchemaVersionWithoutFeedSums = "1";
// The local identity's public key (32 bytes), written when a store is created
// (or first opened for writing by a build that knows it): a key file that
// does not match it is refused.
inline constexpr std::string_view kMetaIdentityKey = "identity";
// Present while the own feed is unconfirmed (docs/storage.md, "Own feed"):
// the value says why ("restored", "repaired").
inline constexpr std::string_view kMetaOwnFeedKey = "own_feed_unconfirmed";

void PutU64BE(std::string* out, uint64_t v);
void EncodeU64BE(uint64_t v, char out[8]);
uint64_t GetU64BE(std::string_view in);  // in.size() >= 8

std::string ArrivalKey(uint64_t arrival);
std::string FeedKey(const FeedId& author, uint64_t seq);
// Decodes a FeedKey; false if the size is wrong.
bool ParseFeedKey(std::string_view key, FeedId* author, uint64_t* seq);

// arrival(8) id(32)
std::string FeedValue(uint64_t arrival, const EntryId& id);
bool ParseFeedValue(std::string_view v, uint64_t* arrival, EntryId* id);

// seq(8) id(32) lamport(8) flags(1); flag bit 0 = forked.
std::string HeadValue(const FeedInfo& head);
bool ParseHeadValue(std::string_view author_key, std::string_view v, FeedInfo* head);

std::string ForkKey(const FeedId& author, uint64_t seq,
                    const EntryId& conflicting);
// length of first (u32 BE) || first entry || second entry; id in the key =
// second's.
std::string ForkValue(std::string_view first, std::string_view second);
bool ParseForkValue(std::string_view v, std::string_view* first, std::string_view* second);

// peer(32) author(32) -> note (8 bytes, big-endian two's complement)
std::string PeerClockKey(const FeedId& peer, const FeedId& author);

// meta: kMetaBlockPrefix feed(32)
std::string BlockKey(const FeedId& feed);
// Feed summaries (docs/storage.md, "Feed summaries"): one record per range of
// the first 8 and of the first 16 bits of feed ids. Key: bits (1 byte, 8 or
// 16) || the range's first bits/8 bytes. Value: count (8, little-endian two's
// complement) || sum (32, little-endian) -- a FeedRangeSummary. Records are
// written as merge operands that add up (FeedSumMergeOperator), so a write
// never reads them.
inline constexpr uint32_t kFeedSumLevels[] = {8, 16};
inline constexpr size_t kFeedSumValueSize = 40;
std::string FeedSumKey(uint32_t bits, const FeedId& feed);
// Decodes a FeedSumKey into the range it names; false if malformed.
bool ParseFeedSumKey(std::string_view key, FeedRange* range);
std::string FeedSumValue(const FeedRangeSummary& s);
bool ParseFeedSumValue(std::string_view v, FeedRangeSummary* s);

}  // namespace plumlog::storage

#endif  // PLUMLOG_STORAGE_KEYS_H_
