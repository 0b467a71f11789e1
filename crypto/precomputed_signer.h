// PrecomputedSigner: Ed25519 signing with nonces prepared in the background.
//
// An Ed25519 signature is (R, S) with R = r*B and S = r + H(R || A || M) * a
// (mod L). RFC 8032 derives the nonce r from the message, so R, which costs
// about 70% of a signature (a base-point multiplication), can only be computed
// once the message is known. Any secret, uniformly random, never-reused r gives
// an equally valid signature (verification does not depend on how r was
// chosen), so this signer draws r = SHA-512(nonce key || 32 random bytes) mod
// L, where the nonce key is the secret second half of SHA-512(seed) that RFC
// 8032 uses for the same purpose, and computes (r, R) pairs ahead of time on a
// background thread. Signing a message then costs one SHA-512 and a few scalar
// operations. When the pool is empty a nonce is computed inline, so Sign never
// waits.
//
// Signatures are therefore not deterministic (the same message signed twice
// gives two different, valid signatures). Nothing in plumlog depends on
// determinism: entry ids cover the signed bytes, not the signature.
#ifndef PLUMLOG_CRYPTO_PRECOMPUTED_SIGNER_H_
#define PLUMLOG_CRYPTO_PRECOMPUTED_SIGNER_H_

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>

#include "crypto/keypair.h"

namespace plumlog::crypto {

class PrecomputedSigner {
 public:
  // Keeps up to `capacity` (> 0) nonces ready.
  PrecomputedSigner(const KeyPair& key, size_t capacity);
  ~PrecomputedSigner();
  PrecomputedSigner(const PrecomputedSigner&) = delete;
  PrecomputedSigner& operator=(const PrecomputedSigner&) = delete;

  // Ed25519 signature of prefix || message under the key. Thread-safe.
  Signature Sign(std::string_view prefix, std::string_view message);

  // Nonces ready now (tests, benchmarks).
  size_t ready() const;

 private:
  struct Nonce {
    std::array<uint8_t, 32> r;  // secret scalar, reduced mod L
    std::array<uint8_t, 32> R;  // r*B, encoded
  };
  Nonce MakeNonce() const;
  void Fill();

  std::array<uint8_t, 32> scalar_;     // a: clamped, reduced secret scalar
  std::array<uint8_t, 32> nonce_key_;  // second half of SHA-512(seed)
  FeedId public_key_;
  const size_t capacity_;
  const size_t low_water_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Nonce> pool_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_PRECOMPUTED_SIGNER_H_
