#include "crypto/signer.h"

#include <sodium.h>

#include <array>
#include <cstring>
#include <new>
#include <vector>

#include "crypto/edwards_point.h"
#include "crypto/multiples_table.h"
#include "crypto/sodium_init.h"

namespace plumlog::crypto {

struct Signer::Secrets {
  uint8_t scalar[32];     // a: clamped, reduced mod L
  uint8_t nonce_key[32];  // the second half of SHA-512(seed)
};

namespace {

// r B for a secret r < 2^253, in constant time.
EdwardsPoint BaseTimes(const uint8_t r[32]) {
  const MultiplesTable& table = MultiplesTable::ForBase();
  MultiplesTable::Digits digits = table.Recode(r);
  EdwardsPoint p = table.AccumulateSecret(EdwardsPoint::Identity(), digits, 0);
  sodium_memzero(digits.data(), digits.size());
  return p;
}

void Update(crypto_hash_sha512_state* st, std::string_view s) {
  crypto_hash_sha512_update(
      st, reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

}  // namespace

Signer::Signer(const KeyPair& key, Nonce nonce)
    : nonce_(nonce), public_key_(key.public_key()) {
  EnsureSodium();
  (void)MultiplesTable::ForBase();  // build it now, not in the first append
  secrets_ = static_cast<Secrets*>(sodium_malloc(sizeof(Secrets)));
  if (secrets_ == nullptr) throw std::bad_alloc();
  // RFC 8032 5.1.5: h = SHA-512(seed); a = clamp(h[0..32]); h[32..64] keys
  // the nonces.
  unsigned char h[64];
  crypto_hash_sha512(h, key.seed().data(), key.seed().size());
  h[0] &= 248;
  h[31] &= 127;
  h[31] |= 64;
  unsigned char wide[64] = {0};
  std::memcpy(wide, h, 32);
  crypto_core_ed25519_scalar_reduce(secrets_->scalar, wide);
  std::memcpy(secrets_->nonce_key, h + 32, 32);
  sodium_memzero(h, sizeof h);
  sodium_memzero(wide, sizeof wide);
  sodium_mprotect_readonly(secrets_);
}

Signer::~Signer() {
  if (secrets_ != nullptr) {
    sodium_mprotect_readwrite(secrets_);
    sodium_free(secrets_);  // zeroes the memory first
  }
}

void Signer::NonceFor(std::string_view prefix, std::string_view message,
                      uint8_t r[32]) const {
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  if (nonce_ == Nonce::kHedged) {
    // Z || nonce key || zeros: exactly one 128-byte block.
    unsigned char block[128] = {0};
    randombytes_buf(block, 32);
    std::memcpy(block + 32, secrets_->nonce_key, 32);
    crypto_hash_sha512_update(&st, block, sizeof block);
    sodium_memzero(block, sizeof block);
  } else {
    crypto_hash_sha512_update(&st, secrets_->nonce_key, 32);
  }
  Update(&st, prefix);
  Update(&st, message);
  unsigned char h[64];
  crypto_hash_sha512_final(&st, h);
  crypto_core_ed25519_scalar_reduce(r, h);
  sodium_memzero(h, sizeof h);
  sodium_memzero(&st, sizeof st);
}

void Signer::Finish(std::string_view prefix, std::string_view message,
                    const uint8_t r[32], Signature* sig) const {
  // k = SHA-512(R || A || prefix || message) mod L (public).
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, sig->data(), 32);
  crypto_hash_sha512_update(&st, public_key_.bytes().data(), 32);
  Update(&st, prefix);
  Update(&st, message);
  unsigned char kh[64];
  crypto_hash_sha512_final(&st, kh);
  unsigned char k[32];
  crypto_core_ed25519_scalar_reduce(k, kh);
  // S = r + k a mod L
  unsigned char ka[32];
  crypto_core_ed25519_scalar_mul(ka, k, secrets_->scalar);
  crypto_core_ed25519_scalar_add(sig->data() + 32, r, ka);
  sodium_memzero(ka, sizeof ka);
}

Signature Signer::Sign(std::string_view prefix,
                       std::string_view message) const {
  uint8_t r[32];
  NonceFor(prefix, message, r);
  Signature sig;
  EdwardsPoint big_r = BaseTimes(r);
  const std::array<uint8_t, 32> enc = big_r.Compress();
  std::memcpy(sig.data(), enc.data(), 32);
  sodium_memzero(&big_r, sizeof big_r);
  Finish(prefix, message, r, &sig);
  sodium_memzero(r, sizeof r);
  return sig;
}

void Signer::SignBatch(std::string_view prefix,
                       std::span<const std::string_view> messages,
                       std::span<Signature> out) const {
  if (out.size() != messages.size()) {  // a caller's bug: sign nothing
    for (Signature& s : out) s.fill(0);
    return;
  }
  const size_t n = messages.size();
  if (n == 1) {  // one inversion either way: skip the batch's allocations
    out[0] = Sign(prefix, messages[0]);
    return;
  }
  std::vector<std::array<uint8_t, 32>> r(n);
  std::vector<EdwardsPoint> points(n);
  std::vector<std::array<uint8_t, 32>> enc(n);
  for (size_t i = 0; i < n; ++i) {
    NonceFor(prefix, messages[i], r[i].data());
    points[i] = BaseTimes(r[i].data());
  }
  EdwardsPoint::CompressBatch(points, enc);
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(out[i].data(), enc[i].data(), 32);
    Finish(prefix, messages[i], r[i].data(), &out[i]);
  }
  sodium_memzero(r.data(), n * sizeof r[0]);
  sodium_memzero(points.data(), n * sizeof points[0]);
}

}  // namespace plumlog::crypto
