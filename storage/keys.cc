#include "storage/keys.h"

#include <cstring>

namespace plumlog::storage {

void PutU64BE(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void EncodeU64BE(uint64_t v, char out[8]) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetU64BE(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string ArrivalKey(uint64_t arrival) {
  std::string k;
  PutU64BE(&k, arrival);
  return k;
}

std::string FeedKey(const FeedId& author, uint64_t seq) {
  std::string k(author.view());
  PutU64BE(&k, seq);
  return k;
}

bool ParseFeedKey(std::string_view key, FeedId* author, uint64_t* seq) {
  if (key.size() != 40) return false;
  *author = *FeedId::FromBytes(key.substr(0, 32));
  *seq = GetU64BE(key.substr(32));
  return true;
}

std::string FeedValue(uint64_t arrival, const EntryId& id) {
  std::string v;
  PutU64BE(&v, arrival);
  v.append(id.view());
  return v;
}

bool ParseFeedValue(std::string_view v, uint64_t* arrival, EntryId* id) {
  if (v.size() != 40) return false;
  *arrival = GetU64BE(v);
  *id = *EntryId::FromBytes(v.substr(8));
  return true;
}

std::string HeadValue(const FeedInfo& head) {
  std::string v;
  PutU64BE(&v, head.seq);
  v.append(head.head.view());
  PutU64BE(&v, head.lamport);
  v.push_back(head.forked ? 1 : 0);
  return v;
}

bool ParseHeadValue(std::string_view author_key, std::string_view v, FeedInfo* head) {
  if (author_key.size() != 32 || v.size() != 49) return false;
  if ((static_cast<uint8_t>(v[48]) & ~1u) != 0) return false;
  head->author = *FeedId::FromBytes(author_key);
  head->seq = GetU64BE(v);
  head->head = *EntryId::FromBytes(v.substr(8, 32));
  head->lamport = GetU64BE(v.substr(40));
  head->forked = (v[48] & 1) != 0;
  return true;
}

std::string ForkKey(const FeedId& author, uint64_t seq, const EntryId& conflicting) {
  std::string k = FeedKey(author, seq);
  k.append(conflicting.view());
  return k;
}

std::string ForkValue(std::string_view first, std::string_view second) {
  std::string v;
  const uint32_t n = static_cast<uint32_t>(first.size());
  for (int i = 3; i >= 0; --i) v.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  v.append(first);
  v.append(second);
  return v;
}

bool ParseForkValue(std::string_view v, std::string_view* first, std::string_view* second) {
  if (v.size() < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(v[i]);
  if (n > v.size() - 4) return false;
  *first = v.substr(4, n);
  *second = v.substr(4 + n);
  return true;
}

std::string PeerClockKey(const FeedId& peer, const FeedId& author) {
  std::string k(peer.view());
  k.append(author.view());
  return k;
}

std::string BlockKey(const FeedId& feed) {
  std::string k(kMetaBlockPrefix);
  k.append(feed.view());
  return k;
}

std::string FeedSumKey(uint32_t bits, const FeedId& feed) {
  std::string k(1, static_cast<char>(bits));
  k.append(feed.view().substr(0, bits / 8));
  return k;
}

bool ParseFeedSumKey(std::string_view key, FeedRange* range) {
  if (key.empty()) return false;
  const uint32_t bits = static_cast<uint8_t>(key[0]);
  if ((bits != kFeedSumLevels[0] && bits != kFeedSumLevels[1]) ||
      key.size() != 1 + bits / 8) {
    return false;
  }
  FeedId id;
  std::memcpy(id.mutable_bytes().data(), key.data() + 1, bits / 8);
  *range = FeedRange::Of(id, bits);
  return true;
}

std::string FeedSumValue(const FeedRangeSummary& s) {
  std::string v(kFeedSumValueSize, '\0');
  for (int i = 0; i < 8; ++i)
    v[static_cast<size_t>(i)] = static_cast<char>((s.count >> (8 * i)) & 0xff);
  std::memcpy(v.data() + 8, s.sum.data(), 32);
  return v;
}

bool ParseFeedSumValue(std::string_view v, FeedRangeSummary* s) {
  if (v.size() != kFeedSumValueSize) return false;
  s->count = 0;
  for (int i = 7; i >= 0; --i)
    s->count =
        (s->count << 8) | static_cast<uint8_t>(v[static_cast<size_t>(i)]);
  std::memcpy(s->sum.data(), v.data() + 8, 32);
  return true;
}

}  // namespace plumlog::storage
