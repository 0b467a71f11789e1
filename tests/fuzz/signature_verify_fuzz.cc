// Fuzz target: crypto::SignatureVerifier against libsodium. Every entry that
// arrives from the network is checked by the verifier's own arithmetic, so its
// answer must be libsodium's crypto_sign_verify_detached answer for every
// input, not only for honest signatures.
//
// The first byte picks how the rest is read:
//   0: raw: public key (32) || signature (64) || message;
//   1: an honest signature by the key from seed (32), then XOR the byte at
//      position data[33] % 96 of signature || key with data[34];
//   2: an honest signature whose s gets L added 1 + data[33] % 7 times
//      (the same residue, not canonical);
//   3: a key with a torsion component, A = a B + T for the small-order point
//      T chosen by data[33], and a signature formed honestly for it (libsodium
//      accepts it exactly when h * T = 0);
// the message is the remaining bytes. Each case is verified alone and in a
// batch next to an honest signature by the same key, with a fresh verifier
// that builds the key's table at once.
//
// Checks: fast answer == libsodium answer, in both forms; the honest
// neighbour always verifies.
#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/edwards_point.h"
#include "crypto/signature_verifier.h"
#include "crypto/sodium_init.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using plumlog::crypto::EdwardsPoint;
using plumlog::crypto::Fe25519;
using plumlog::crypto::SignatureVerifier;
using Bytes32 = std::array<uint8_t, 32>;

constexpr std::string_view kPrefix = "fuzz\n";
constexpr uint8_t kOrder[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                0,    0,    0,    0,    0,    0,    0,    0,
                                0,    0,    0,    0,    0,    0,    0,    0x10};

struct Case {
  Bytes32 pk{};
  std::array<uint8_t, 64> sig{};
  std::string msg;
  // An honest signature under pk on another message, when one can be made.
  std::optional<std::array<uint8_t, 64>> neighbour_sig;
  std::string neighbour_msg = "neighbour";
};

Bytes32 HashScalar(const uint8_t r[32], const Bytes32& pk,
                   std::string_view msg) {
  crypto_hash_sha512_state hs;
  crypto_hash_sha512_init(&hs);
  crypto_hash_sha512_update(&hs, r, 32);
  crypto_hash_sha512_update(&hs, pk.data(), 32);
  crypto_hash_sha512_update(
      &hs, reinterpret_cast<const unsigned char*>(kPrefix.data()),
      kPrefix.size());
  crypto_hash_sha512_update(
      &hs, reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
  unsigned char h64[64];
  crypto_hash_sha512_final(&hs, h64);
  Bytes32 h;
  crypto_core_ed25519_scalar_reduce(h.data(), h64);
  return h;
}

// (R, s) with R = r B, s = r + h a: honest for A = a B, and the torsion case.
std::array<uint8_t, 64> SignWithScalar(const Bytes32& a, const Bytes32& pk,
                                       std::string_view msg,
                                       uint8_t nonce_tweak) {
  unsigned char wide[64];
  crypto_generichash(wide, sizeof wide,
                     reinterpret_cast<const unsigned char*>(msg.data()),
                     msg.size(), a.data(), a.size());
  wide[0] ^= nonce_tweak;
  Bytes32 r, big_r, ha, s;
  crypto_core_ed25519_scalar_reduce(r.data(), wide);
  if (crypto_scalarmult_ed25519_base_noclamp(big_r.data(), r.data()) != 0)
    big_r.fill(0);
  Bytes32 h = HashScalar(big_r.data(), pk, msg);
  crypto_core_ed25519_scalar_mul(ha.data(), h.data(), a.data());
  crypto_core_ed25519_scalar_add(s.data(), r.data(), ha.data());
  std::array<uint8_t, 64> sig;
  std::memcpy(sig.data(), big_r.data(), 32);
  std::memcpy(sig.data() + 32, s.data(), 32);
  return sig;
}

std::array<uint8_t, 64> SignDetached(const unsigned char sk[64],
                                     std::string_view msg) {
  std::string full(kPrefix);
  full.append(msg);
  std::array<uint8_t, 64> sig;
  crypto_sign_detached(sig.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(full.data()),
                       full.size(), sk);
  return sig;
}

// The y coordinates of small-order points: 0, 1, -1 and the order-8 pair.
Bytes32 SmallOrderPoint(uint8_t which) {
  Bytes32 e{};
  switch (which % 5) {
    case 0:
      break;  // y = 0, order 4
    case 1:
      e[0] = 1;
      break;  // identity
    case 2:
      e = (-Fe25519::One()).ToBytes();
      break;  // order 2
    default: {
      const Bytes32 y8 = {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0,
                          0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
                          0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
                          0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05};
      e = (which % 5 == 3) ? y8 : (-Fe25519::FromBytes(y8.data())).ToBytes();
    }
  }
  if (which & 0x80) e[31] |= 0x80;
  return e;
}

bool BuildCase(const uint8_t* data, size_t size, Case* c) {
  if (size < 1) return false;
  const uint8_t mode = data[0] % 4;
  if (mode == 0) {
    if (size < 97) return false;
    std::memcpy(c->pk.data(), data + 1, 32);
    std::memcpy(c->sig.data(), data + 33, 64);
    c->msg.assign(reinterpret_cast<const char*>(data + 97), size - 97);
    return true;
  }
  if (size < 35) return false;
  Bytes32 seed;
  std::memcpy(seed.data(), data + 1, 32);
  const uint8_t p1 = data[33], p2 = data[34];
  c->msg.assign(reinterpret_cast<const char*>(data + 35), size - 35);
  unsigned char pk[32], sk[64];
  crypto_sign_seed_keypair(pk, sk, seed.data());
  std::memcpy(c->pk.data(), pk, 32);
  if (mode == 1 || mode == 2) {
    c->sig = SignDetached(sk, c->msg);
    c->neighbour_sig = SignDetached(sk, c->neighbour_msg);
    if (mode == 1) {
      size_t pos = p1 % 96;
      if (pos < 64) {
        c->sig[pos] ^= p2;
      } else {
        c->pk[pos - 64] ^= p2;
        c->neighbour_sig.reset();  // no longer this key's signature
      }
    } else {
      for (int k = 0; k < 1 + p1 % 7; ++k) {
        unsigned carry = 0;
        for (int i = 0; i < 32; ++i) {
          unsigned v = c->sig[32 + i] + kOrder[i] + carry;
          c->sig[32 + i] = static_cast<uint8_t>(v);
          carry = v >> 8;
        }
      }
    }
    return true;
  }
  // mode 3: A = a B + T.
  Bytes32 a;
  crypto_core_ed25519_scalar_reduce(a.data(),
                                    sk);  // any scalar derived from the seed
  Bytes32 ab;
  if (crypto_scalarmult_ed25519_base_noclamp(ab.data(), a.data()) != 0)
    return false;
  std::optional<EdwardsPoint> pa = EdwardsPoint::Decompress(ab);
  std::optional<EdwardsPoint> t = EdwardsPoint::Decompress(SmallOrderPoint(p1));
  if (!pa || !t) return false;
  c->pk = (*pa + *t).Compress();
  c->sig = SignWithScalar(a, c->pk, c->msg, p2);
  return true;
}

SignatureVerifier::Item ItemOf(const Bytes32& pk, const uint8_t* sig,
                               std::string_view msg) {
  SignatureVerifier::Item it;
  it.public_key = pk.data();
  it.prefix = kPrefix;
  it.message = msg;
  it.signature = sig;
  return it;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  plumlog::crypto::EnsureSodium();
  Case c;
  if (!BuildCase(data, size, &c)) return 0;
  const SignatureVerifier::Item item = ItemOf(c.pk, c.sig.data(), c.msg);
  const bool want = SignatureVerifier::VerifyWithSodium(item);

  SignatureVerifier alone(
      SignatureVerifier::Options{.max_keys = 4, .build_after = 1});
  const bool got = alone.Verify(item);
  if (got != want) {
    std::fprintf(stderr, "alone: fast path says %d, libsodium %d\n", got, want);
  }
  FUZZ_CHECK(got == want);

  if (c.neighbour_sig) {
    SignatureVerifier::Item items[2] = {
        ItemOf(c.pk, c.neighbour_sig->data(), c.neighbour_msg), item};
    uint8_t ok[2] = {9, 9};
    SignatureVerifier batch(
        SignatureVerifier::Options{.max_keys = 4, .build_after = 1});
    batch.Verify(items, ok);
    FUZZ_CHECK(ok[0] == 1);
    FUZZ_CHECK(ok[1] == (want ? 1 : 0));
  }
  return 0;
}
