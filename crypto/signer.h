// Signer: Ed25519 signatures (RFC 8032) for a store's own entries, made so
// that no copy of the process can ever reuse a nonce.
//
// A signature is (R, S) with R = r B and S = r + H(R || A || M) a (mod L).
// Two signatures of different messages with one r give away the secret
// scalar: a = (S1 - S2) / (H1 - H2). So r must never repeat for different
// messages, not even when the process is duplicated: an application calling
// fork() without exec, a VM snapshot restored twice, a container checkpoint.
// No state kept in memory (a pool of nonces, a counter, a random stream) can
// promise that, because the copies start with the same state. What does is
// deriving r from the message itself, with a secret: two copies signing
// different messages get unrelated nonces, and the same message gets the
// same signature or a fresh one, never a leak.
//
// Both nonce modes here do that:
//   kHedged (the store's default): r = SHA-512(Z || nonce key || 64 zero
//     bytes || prefix || message) mod L, Z = 32 fresh random bytes. The
//     randomness keeps signatures unlinkable and makes a fault injected
//     into one signing useless against a repeat of it; if the random source
//     failed or repeated (a restored snapshot replays it), r is still a
//     secret function of the message, as in RFC 8032. Z and the secret fill
//     the first SHA-512 block on their own, so the message is hashed from a
//     state that differs per signature. (The construction follows the
//     "hedged" EdDSA of draft-irtf-cfrg-det-sigs-with-noise and Signal's
//     XEdDSA; the byte layout is plumlog's own.)
//   kDeterministic: RFC 8032 section 5.1.6, r = SHA-512(nonce key || prefix
//     || message) mod L: the signatures of libsodium's crypto_sign_detached,
//     byte for byte (the tests compare them).
// The nonce key is the secret second half of SHA-512(seed) (RFC 8032 5.1.5).
//
// R = r B is computed here rather than by libsodium: a constant-time
// fixed-base multiplication over the verifier's table of B (43 rows of 32
// multiples, MultiplesTable::ForBase(), AccumulateSecret), 43 mixed
// additions and no doubling, in plumlog's own field code
// (crypto/field25519.h); its time and memory accesses do not depend on r.
// About 12% faster than crypto_sign_detached here (bench/README.md).
// SignBatch also shares the final field inversion of R's encoding across a
// batch (Montgomery's trick), ~25% less per signature.
//
// Secrets: the clamped scalar and the nonce key live in sodium_malloc'd
// memory (guard pages, locked out of swap, read-only between uses);
// intermediate hashes, nonces and digits on the stack are wiped before
// returning. Thread-safe; no background thread.
#ifndef PLUMLOG_CRYPTO_SIGNER_H_
#define PLUMLOG_CRYPTO_SIGNER_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "crypto/keypair.h"

namespace plumlog::crypto {

class Signer {
 public:
  enum class Nonce : uint8_t {
    kHedged = 1,         // secret + message + fresh randomness (default)
    kDeterministic = 2,  // RFC 8032: secret + message
  };

  explicit Signer(const KeyPair& key, Nonce nonce = Nonce::kHedged);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  // Ed25519 signature of prefix || message under the key.
  Signature Sign(std::string_view prefix, std::string_view message) const;
  // out[i] = the signature of prefix || messages[i]. out.size() must equal
  // messages.size() (otherwise nothing is signed and out is zeroed).
  void SignBatch(std::string_view prefix,
                 std::span<const std::string_view> messages,
                 std::span<Signature> out) const;

  Nonce nonce() const { return nonce_; }
  const FeedId& public_key() const { return public_key_; }

 private:
  struct Secrets;  // in sodium_malloc'd memory

  // r for prefix || message, reduced mod L.
  void NonceFor(std::string_view prefix, std::string_view message,
                uint8_t r[32]) const;
  // S = r + SHA-512(R || A || prefix || message) a mod L; sig holds R.
  void Finish(std::string_view prefix, std::string_view message,
              const uint8_t r[32], Signature* sig) const;

  const Nonce nonce_;
  FeedId public_key_;
  Secrets* secrets_ = nullptr;
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_SIGNER_H_
