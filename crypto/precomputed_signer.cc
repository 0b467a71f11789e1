#include "crypto/precomputed_signer.h"

#include <sodium.h>

#include <cstring>

#include "crypto/sodium_init.h"

namespace plumlog::crypto {

PrecomputedSigner::PrecomputedSigner(const KeyPair& key, size_t capacity)
    : public_key_(key.public_key()),
      capacity_(capacity),
      low_water_(capacity / 2) {
  EnsureSodium();
  // RFC 8032 5.1.5: h = SHA-512(seed); a = clamp(h[0..32]); h[32..64] keys
  // nonces.
  unsigned char h[64];
  crypto_hash_sha512(h, key.seed().data(), key.seed().size());
  h[0] &= 248;
  h[31] &= 127;
  h[31] |= 64;
  unsigned char wide[64] = {0};
  std::memcpy(wide, h, 32);
  crypto_core_ed25519_scalar_reduce(scalar_.data(), wide);
  std::memcpy(nonce_key_.data(), h + 32, 32);
  sodium_memzero(h, sizeof h);
  sodium_memzero(wide, sizeof wide);
  thread_ = std::thread([this] { Fill(); });
}

PrecomputedSigner::~PrecomputedSigner() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (Nonce& n : pool_) sodium_memzero(n.r.data(), n.r.size());
  sodium_memzero(scalar_.data(), scalar_.size());
  sodium_memzero(nonce_key_.data(), nonce_key_.size());
}

PrecomputedSigner::Nonce PrecomputedSigner::MakeNonce() const {
  // r = SHA-512(nonce key || fresh randomness) mod L: secret even if the
  // random source were weak, unique as long as it does not repeat.
  unsigned char in[64];
  std::memcpy(in, nonce_key_.data(), 32);
  randombytes_buf(in + 32, 32);
  unsigned char h[64];
  crypto_hash_sha512(h, in, sizeof in);
  Nonce n;
  crypto_core_ed25519_scalar_reduce(n.r.data(), h);
  sodium_memzero(in, sizeof in);
  sodium_memzero(h, sizeof h);
  // r is never 0 in practice (probability 2^-252); retry anyway.
  while (crypto_scalarmult_ed25519_base_noclamp(n.R.data(), n.r.data()) != 0) {
    crypto_core_ed25519_scalar_random(n.r.data());
  }
  return n;
}

void PrecomputedSigner::Fill() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stop_ || pool_.size() <= low_water_; });
    if (stop_) return;
    while (!stop_ && pool_.size() < capacity_) {
      l.unlock();
      Nonce n = MakeNonce();
      l.lock();
      pool_.push_back(n);
    }
  }
}

size_t PrecomputedSigner::ready() const {
  std::lock_guard<std::mutex> l(mu_);
  return pool_.size();
}

Signature PrecomputedSigner::Sign(std::string_view prefix,
                                  std::string_view message) {
  Nonce n;
  bool have = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!pool_.empty()) {
      n = pool_.front();
      sodium_memzero(pool_.front().r.data(), 32);
      pool_.pop_front();
      have = true;
      if (pool_.size() == low_water_) cv_.notify_one();
    }
  }
  if (!have) n = MakeNonce();
  // k = SHA-512(R || A || prefix || message) mod L
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, n.R.data(), 32);
  crypto_hash_sha512_update(&st, public_key_.bytes().data(), 32);
  crypto_hash_sha512_update(
      &st, reinterpret_cast<const unsigned char*>(prefix.data()),
      prefix.size());
  crypto_hash_sha512_update(
      &st, reinterpret_cast<const unsigned char*>(message.data()),
      message.size());
  unsigned char kh[64];
  crypto_hash_sha512_final(&st, kh);
  unsigned char k[32];
  crypto_core_ed25519_scalar_reduce(k, kh);
  // S = r + k*a mod L
  unsigned char ka[32];
  crypto_core_ed25519_scalar_mul(ka, k, scalar_.data());
  Signature sig;
  std::memcpy(sig.data(), n.R.data(), 32);
  crypto_core_ed25519_scalar_add(sig.data() + 32, n.r.data(), ka);
  sodium_memzero(n.r.data(), 32);
  sodium_memzero(ka, sizeof ka);
  return sig;
}

}  // namespace plumlog::crypto
