#include "crypto/signature_verifier.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "crypto/edwards_point.h"
#include "crypto/multiples_table.h"
#include "crypto/sodium_init.h"

namespace plumlog::crypto {

struct SignatureVerifier::KeyState {
  bool valid = false;  // the key passes libsodium's checks and decodes
  std::unique_ptr<MultiplesTable> neg_a;
};

namespace {

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
constexpr uint8_t kOrder[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                0,    0,    0,    0,    0,    0,    0,    0,
                                0,    0,    0,    0,    0,    0,    0,    0x10};

bool ScalarIsCanonical(const uint8_t s[32]) {
  for (int i = 31; i >= 0; --i) {
    if (s[i] != kOrder[i]) return s[i] < kOrder[i];
  }
  return false;  // s == L
}

// The low 255 bits as an integer are below p (bit 255, the sign, ignored).
bool IsCanonicalY(const uint8_t s[32]) {
  std::array<uint8_t, 32> canonical = Fe25519::FromBytes(s).ToBytes();
  std::array<uint8_t, 32> given;
  std::memcpy(given.data(), s, 32);
  given[31] &= 0x7f;
  return canonical == given;
}

// True when y (low 255 bits, taken mod p) is the y coordinate of one of the
// eight points of order dividing 8: y = 0 (order 4), y = 1 (identity),
// y = -1 (order 2), or a root of d y^4 + 2 y^2 - 1 (order 8; from
// 2P = (+-sqrt(-1), 0) and the curve equation). libsodium compares the
// encoding, sign bit masked, against the seven 255-bit encodings of these
// values (0, 1, the two order-8 roots, p - 1, p, p + 1); the integers p + 2 to
// 2^255 - 1 reduce to 2..18, none of which is in the set, so the two tests
// agree.
bool HasSmallOrder(const uint8_t s[32]) {
  Fe25519 y = Fe25519::FromBytes(s);
  if (y.IsZero() || (y - Fe25519::One()).IsZero() ||
      (y + Fe25519::One()).IsZero()) {
    return true;
  }
  Fe25519 yy = y.Square();
  Fe25519 quartic = EdwardsPoint::D() * yy.Square() + yy + yy - Fe25519::One();
  return quartic.IsZero();
}

// Table shapes (crypto/multiples_table.h). B's is MultiplesTable::ForBase():
// 6-bit digits in one pass, 43 additions and no doubling. A key's is built
// per author: 5-bit digits in two passes, 26 rows of 16 (49 KiB), 52
// additions and 5 doublings. Both fit in a 512 KiB L2 with room to spare.
constexpr int kKeyWidth = 5;
constexpr int kKeyPasses = 2;

std::array<uint8_t, 32> ChallengeScalar(const SignatureVerifier::Item& item) {
  crypto_hash_sha512_state hs;
  crypto_hash_sha512_init(&hs);
  crypto_hash_sha512_update(&hs, item.signature, 32);
  crypto_hash_sha512_update(&hs, item.public_key, 32);
  crypto_hash_sha512_update(
      &hs, reinterpret_cast<const unsigned char*>(item.prefix.data()),
      item.prefix.size());
  crypto_hash_sha512_update(
      &hs, reinterpret_cast<const unsigned char*>(item.message.data()),
      item.message.size());
  unsigned char h[64];
  crypto_hash_sha512_final(&hs, h);
  std::array<uint8_t, 32> reduced;
  crypto_core_ed25519_scalar_reduce(reduced.data(), h);
  return reduced;
}

// The checks on the signature alone (before any point arithmetic).
bool SignatureShapeOk(const uint8_t sig[64]) {
  if ((sig[63] & 0xf0) != 0 && !ScalarIsCanonical(sig + 32)) return false;
  return !HasSmallOrder(sig);
}

// s B - h A, with -A's table: the key's odd-digit pass, its doublings, then
// its even digits and all of B's.
EdwardsPoint Combine(const MultiplesTable& neg_a, const uint8_t s[32],
                     const uint8_t h[32]) {
  const MultiplesTable& base = MultiplesTable::ForBase();
  const MultiplesTable::Digits dh = neg_a.Recode(h);
  const MultiplesTable::Digits ds = base.Recode(s);
  EdwardsPoint acc = neg_a.Accumulate(EdwardsPoint::Identity(), dh, 1);
  for (int i = 0; i < kKeyWidth; ++i) acc = acc.Double();
  acc = neg_a.Accumulate(acc, dh, 0);
  return base.Accumulate(acc, ds, 0);
}

}  // namespace

size_t SignatureVerifier::KeyHash::operator()(const Key& k) const {
  // Keys are chosen by whoever signs: mix all of it, not a prefix that is
  // free to collide.
  uint64_t h = 0;
  for (size_t i = 0; i < k.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, k.data() + i, sizeof w);
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  }
  return static_cast<size_t>(h);
}

SignatureVerifier::SignatureVerifier() : SignatureVerifier(Options()) {}

SignatureVerifier::SignatureVerifier(const Options& options)
    : options_(options) {
  EnsureSodium();
}

SignatureVerifier::~SignatureVerifier() = default;

bool SignatureVerifier::VerifyWithSodium(const Item& item) {
  EnsureSodium();
  if (item.prefix.empty()) {
    return crypto_sign_verify_detached(
               item.signature,
               reinterpret_cast<const unsigned char*>(item.message.data()),
               item.message.size(), item.public_key) == 0;
  }
  std::string buf;
  buf.reserve(item.prefix.size() + item.message.size());
  buf.append(item.prefix).append(item.message);
  return crypto_sign_verify_detached(
             item.signature, reinterpret_cast<const unsigned char*>(buf.data()),
             buf.size(), item.public_key) == 0;
}

std::shared_ptr<const SignatureVerifier::KeyState> SignatureVerifier::StateFor(
    const uint8_t* public_key, uint32_t uses) {
  Key key;
  std::memcpy(key.data(), public_key, key.size());
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) {
      lru_.push_front(Slot{key, 0, nullptr});
      index_[key] = lru_.begin();
      while (lru_.size() > options_.max_keys) {
        index_.erase(lru_.back().key);
        lru_.pop_back();
      }
      it = index_.find(key);
      if (it == index_.end()) return nullptr;  // max_keys == 0
    } else {
      lru_.splice(lru_.begin(), lru_, it->second);
    }
    Slot& slot = *it->second;
    slot.seen += uses;
    if (slot.state != nullptr) return slot.state;
    if (slot.seen < options_.build_after) return nullptr;
  }
  // Build outside the lock; two threads may race to build the same key once.
  auto state = std::make_shared<KeyState>();
  if (IsCanonicalY(public_key) && !HasSmallOrder(public_key)) {
    std::optional<EdwardsPoint> a =
        EdwardsPoint::Decompress(std::span<const uint8_t, 32>(public_key, 32));
    if (a.has_value()) {
      state->valid = true;
      state->neg_a =
          std::make_unique<MultiplesTable>(-*a, kKeyWidth, kKeyPasses);
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  ++tables_built_;
  auto it = index_.find(key);
  if (it != index_.end() && it->second->state == nullptr)
    it->second->state = state;
  return state;
}

bool SignatureVerifier::Verify(const Item& item) {
  uint8_t ok = 0;
  Verify(std::span<const Item>(&item, 1), std::span<uint8_t>(&ok, 1));
  return ok != 0;
}

void SignatureVerifier::Verify(std::span<const Item> items,
                               std::span<uint8_t> ok) {
  if (ok.size() != items.size()) {  // a caller's bug: fail closed
    std::fill(ok.begin(), ok.end(), 0);
    return;
  }
  // Group by key, keeping order within a key.
  std::vector<size_t> order(items.size());
  std::vector<size_t> group_start;
  {
    std::unordered_map<Key, std::vector<size_t>, KeyHash> groups;
    std::vector<Key> keys_in_order;
    for (size_t i = 0; i < items.size(); ++i) {
      Key k;
      std::memcpy(k.data(), items[i].public_key, k.size());
      auto [it, fresh] = groups.try_emplace(k);
      if (fresh) keys_in_order.push_back(k);
      it->second.push_back(i);
    }
    size_t n = 0;
    for (const Key& k : keys_in_order) {
      group_start.push_back(n);
      for (size_t i : groups[k]) order[n++] = i;
    }
    group_start.push_back(n);
  }
  std::vector<EdwardsPoint> points;
  std::vector<size_t> point_item;
  std::vector<std::array<uint8_t, 32>> encodings;
  uint64_t fast = 0;
  for (size_t g = 0; g + 1 < group_start.size(); ++g) {
    std::span<const size_t> idx(order.data() + group_start[g],
                                group_start[g + 1] - group_start[g]);
    std::shared_ptr<const KeyState> state =
        StateFor(items[idx[0]].public_key, static_cast<uint32_t>(idx.size()));
    if (state == nullptr) {
      for (size_t i : idx) ok[i] = VerifyWithSodium(items[i]) ? 1 : 0;
      continue;
    }
    fast += idx.size();
    if (!state->valid) {
      for (size_t i : idx) ok[i] = 0;
      continue;
    }
    points.clear();
    point_item.clear();
    for (size_t i : idx) {
      ok[i] = 0;
      const Item& item = items[i];
      if (!SignatureShapeOk(item.signature)) continue;
      std::array<uint8_t, 32> h = ChallengeScalar(item);
      points.push_back(Combine(*state->neg_a, item.signature + 32, h.data()));
      point_item.push_back(i);
    }
    encodings.resize(points.size());
    EdwardsPoint::CompressBatch(points, encodings);
    for (size_t k = 0; k < points.size(); ++k) {
      size_t i = point_item[k];
      ok[i] =
          std::memcmp(encodings[k].data(), items[i].signature, 32) == 0 ? 1 : 0;
    }
  }
  if (fast > 0) {
    std::lock_guard<std::mutex> l(mu_);
    fast_checks_ += fast;
  }
}

size_t SignatureVerifier::tables_built() const {
  std::lock_guard<std::mutex> l(mu_);
  return tables_built_;
}

uint64_t SignatureVerifier::fast_checks() const {
  std::lock_guard<std::mutex> l(mu_);
  return fast_checks_;
}

}  // namespace plumlog::crypto
