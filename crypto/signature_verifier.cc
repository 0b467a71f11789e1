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

// The twelve edge cases of "Taming the many EdDSAs" (Chalkias, Garillot,
// Nikolaenko, SSR 2020; the cases.json of github.com/novifinancial/
// ed25519-speccheck): small-order and mixed-order A and R, S >= L,
// non-canonical A and R. Verifiers disagree on them; libsodium 1.0.18
// accepts only the fourth. Hex: message, public key, signature.
struct EdgeCase {
  const char* message;
  const char* public_key;
  const char* signature;
};
constexpr EdgeCase kSpeccheckCases[] = {
    {"8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a000000000"
     "0000000000000000000000000000000000000000000000000000000"},
    {"9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb70478"
     "6be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04"},
    {"aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45ae"
     "caca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e"},
    {"9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e144"
     "28a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009"},
    {"e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982"
     "a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09"},
    {"e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836d"
     "ac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405"},
    {"85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a"
     "0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514"},
    {"85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a4"
     "73474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22"},
    {"9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678a"
     "c102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f"},
    {"9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64c"
     "d208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908"},
    {"e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb70478"
     "6be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04"},
    {"39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb70478"
     "6be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04"},
};

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
  // Keys are chosen by whoever signs, so an unkeyed hash would let a peer
  // pick many keys that share a bucket and turn every lookup into a list
  // walk. SipHash-2-4 (libsodium's crypto_shorthash) under a random key
  // drawn once per process makes such collisions as hard to find as
  // guessing the key.
  static const std::array<uint8_t, crypto_shorthash_KEYBYTES> hash_key = [] {
    EnsureSodium();
    std::array<uint8_t, crypto_shorthash_KEYBYTES> key;
    randombytes_buf(key.data(), key.size());
    return key;
  }();
  uint64_t h;
  crypto_shorthash(reinterpret_cast<unsigned char*>(&h), k.data(), k.size(),
                   hash_key.data());
  return static_cast<size_t>(h);
}

bool SignatureVerifier::LinkedSodiumHasSameRules() {
  static const bool same = [] {
    EnsureSodium();
    if (std::strcmp(sodium_version_string(), kRulesVersion) != 0) return false;
    // The version string says nothing about a patched build: check the
    // decisions that changed between releases too.
    for (const EdgeCase& c : kSpeccheckCases) {
      uint8_t msg[32], pk[32], sig[64];
      if (sodium_hex2bin(msg, sizeof msg, c.message, 64, nullptr, nullptr,
                         nullptr) != 0 ||
          sodium_hex2bin(pk, sizeof pk, c.public_key, 64, nullptr, nullptr,
                         nullptr) != 0 ||
          sodium_hex2bin(sig, sizeof sig, c.signature, 128, nullptr, nullptr,
                         nullptr) != 0) {
        return false;
      }
      const Item item{pk, "",
                      std::string_view(reinterpret_cast<char*>(msg), 32), sig};
      const size_t index = 0;
      uint8_t fast = 0;
      DecideWithTable(*BuildState(pk), std::span<const Item>(&item, 1),
                      std::span<const size_t>(&index, 1),
                      std::span<uint8_t>(&fast, 1));
      if ((fast != 0) != VerifyWithSodium(item)) return false;
    }
    return true;
  }();
  return same;
}

bool SignatureVerifier::fast_path_enabled() const {
  return options_.fast_path && LinkedSodiumHasSameRules();
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
  if (!fast_path_enabled()) return nullptr;
  // Build outside the lock; two threads may race to build the same key once.
  std::shared_ptr<const KeyState> state = BuildState(public_key);
  std::lock_guard<std::mutex> l(mu_);
  ++tables_built_;
  auto it = index_.find(key);
  if (it != index_.end() && it->second->state == nullptr)
    it->second->state = state;
  return state;
}

std::shared_ptr<const SignatureVerifier::KeyState>
SignatureVerifier::BuildState(const uint8_t* public_key) {
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
  return state;
}

void SignatureVerifier::DecideWithTable(const KeyState& state,
                                        std::span<const Item> items,
                                        std::span<const size_t> idx,
                                        std::span<uint8_t> ok) {
  if (!state.valid) {
    for (size_t i : idx) ok[i] = 0;
    return;
  }
  std::vector<EdwardsPoint> points;
  std::vector<size_t> point_item;
  points.reserve(idx.size());
  point_item.reserve(idx.size());
  for (size_t i : idx) {
    ok[i] = 0;
    const Item& item = items[i];
    if (!SignatureShapeOk(item.signature)) continue;
    std::array<uint8_t, 32> h = ChallengeScalar(item);
    points.push_back(Combine(*state.neg_a, item.signature + 32, h.data()));
    point_item.push_back(i);
  }
  std::vector<std::array<uint8_t, 32>> encodings(points.size());
  EdwardsPoint::CompressBatch(points, encodings);
  for (size_t k = 0; k < points.size(); ++k) {
    size_t i = point_item[k];
    ok[i] =
        std::memcmp(encodings[k].data(), items[i].signature, 32) == 0 ? 1 : 0;
  }
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
    DecideWithTable(*state, items, idx, ok);
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
