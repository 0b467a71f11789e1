// A fixed-seed differential run: 2^20 (1,048,576) signatures decided by
// SignatureVerifier (fast path, tables shared by all threads) and by the
// linked libsodium's crypto_sign_verify_detached, which must agree on every
// one. Cases come in chunks of 256, each from its own generator seeded with
// (kSeed, chunk), so the run is the same whatever the number of threads, and
// a disagreement names the chunk and case to replay.
//
// Each chunk signs 32 messages under one key and derives 8 cases from each
// signature: the signature itself, a flipped bit in R, in S and in the
// message, S + L (non-canonical), R replaced by a small-order encoding, S
// replaced by random bytes, and the wrong key. One chunk in eight uses a key
// with an order-8 torsion component, whose honest signatures verify (without
// the cofactor) only when h = 0 mod 8.
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crypto/edwards_point.h"
#include "crypto/signature_verifier.h"
#include "crypto/signer.h"
#include "crypto/sodium_init.h"

namespace plumlog::crypto {
namespace {

using Bytes32 = std::array<uint8_t, 32>;

constexpr uint64_t kSeed = 20261204;
constexpr size_t kPerSignature = 8;
constexpr size_t kSignaturesPerChunk = 32;
constexpr size_t kChunkCases = kPerSignature * kSignaturesPerChunk;  // 256
constexpr size_t kChunks = 4096;  // 2^20 cases
constexpr size_t kNormalKeys = 24;
constexpr size_t kTorsionKeys = 4;

// L, little-endian.
constexpr uint8_t kOrder[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                0,    0,    0,    0,    0,    0,    0,    0,
                                0,    0,    0,    0,    0,    0,    0,    0x10};

// The y coordinates of small-order points as libsodium lists them (0, 1, the
// two order-8 values, p - 1, p, p + 1), little-endian, sign bit clear.
const std::vector<Bytes32>& SmallOrderEncodings() {
  static const std::vector<Bytes32> list = [] {
    std::vector<Bytes32> out;
    Bytes32 b{};
    out.push_back(b);  // 0
    b[0] = 1;
    out.push_back(b);  // 1
    const char* hex[] = {
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"};
    for (const char* h : hex) {
      Bytes32 x;
      sodium_hex2bin(x.data(), 32, h, 64, nullptr, nullptr, nullptr);
      out.push_back(x);
    }
    return out;
  }();
  return list;
}

struct Key {
  Bytes32 pk{};
  Bytes32 a{};  // secret scalar (torsion keys: of the prime-order part)
  std::unique_ptr<Signer> signer;  // normal keys
};

Bytes32 RandomScalar(std::mt19937_64& gen) {
  uint8_t wide[64];
  for (auto& x : wide) x = static_cast<uint8_t>(gen());
  Bytes32 s;
  crypto_core_ed25519_scalar_reduce(s.data(), wide);
  return s;
}

std::vector<Key> MakeKeys() {
  std::mt19937_64 gen(kSeed);
  std::vector<Key> keys;
  for (size_t i = 0; i < kNormalKeys; ++i) {
    std::array<uint8_t, 32> seed;
    for (auto& x : seed) x = static_cast<uint8_t>(gen());
    KeyPair kp = KeyPair::FromSeed(seed);
    Key k;
    std::memcpy(k.pk.data(), kp.public_key().bytes().data(), 32);
    k.signer = std::make_unique<Signer>(kp, Signer::Nonce::kDeterministic);
    keys.push_back(std::move(k));
  }
  // A = a B + T, T of order 8.
  const EdwardsPoint t = *EdwardsPoint::Decompress(SmallOrderEncodings()[3]);
  for (size_t i = 0; i < kTorsionKeys; ++i) {
    Key k;
    k.a = RandomScalar(gen);
    Bytes32 ab;
    crypto_scalarmult_ed25519_base_noclamp(ab.data(), k.a.data());
    k.pk = (*EdwardsPoint::Decompress(ab) + t).Compress();
    keys.push_back(std::move(k));
  }
  return keys;
}

struct Case {
  Bytes32 pk;
  std::array<uint8_t, 64> sig;
  std::string msg;
};

// An honest signature under a torsion key: R = r B, S = r + h a.
std::array<uint8_t, 64> SignTorsion(const Key& k, std::mt19937_64& gen,
                                    const std::string& msg) {
  std::array<uint8_t, 64> sig;
  const Bytes32 r = RandomScalar(gen);
  crypto_scalarmult_ed25519_base_noclamp(sig.data(), r.data());
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, sig.data(), 32);
  crypto_hash_sha512_update(&st, k.pk.data(), 32);
  crypto_hash_sha512_update(
      &st, reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
  uint8_t h64[64];
  crypto_hash_sha512_final(&st, h64);
  Bytes32 h, ha;
  crypto_core_ed25519_scalar_reduce(h.data(), h64);
  crypto_core_ed25519_scalar_mul(ha.data(), h.data(), k.a.data());
  crypto_core_ed25519_scalar_add(sig.data() + 32, r.data(), ha.data());
  return sig;
}

void AddOrder(uint8_t s[32]) {
  unsigned carry = 0;
  for (int i = 0; i < 32; ++i) {
    carry += s[i] + kOrder[i];
    s[i] = static_cast<uint8_t>(carry);
    carry >>= 8;
  }
}

std::vector<Case> MakeChunk(const std::vector<Key>& keys, size_t chunk) {
  std::mt19937_64 gen(kSeed ^ (0x9E3779B97F4A7C15ULL * (chunk + 1)));
  const bool torsion = chunk % 8 == 7;
  const Key& key = torsion ? keys[kNormalKeys + gen() % kTorsionKeys]
                           : keys[gen() % kNormalKeys];
  const Key& other = keys[gen() % keys.size()];
  std::vector<std::string> msgs(kSignaturesPerChunk);
  for (std::string& m : msgs) {
    m.resize(gen() % 300);
    for (char& c : m) c = static_cast<char>(gen());
  }
  std::vector<std::array<uint8_t, 64>> sigs(kSignaturesPerChunk);
  if (torsion) {
    for (size_t i = 0; i < msgs.size(); ++i)
      sigs[i] = SignTorsion(key, gen, msgs[i]);
  } else {
    std::vector<std::string_view> views(msgs.begin(), msgs.end());
    std::vector<Signature> out(msgs.size());
    key.signer->SignBatch("", views, out);
    for (size_t i = 0; i < out.size(); ++i) sigs[i] = out[i];
  }
  std::vector<Case> cases;
  cases.reserve(kChunkCases);
  for (size_t i = 0; i < kSignaturesPerChunk; ++i) {
    for (size_t v = 0; v < kPerSignature; ++v) {
      Case c{key.pk, sigs[i], msgs[i]};
      switch (v) {
        case 0:
          break;
        case 1:
          c.sig[gen() % 32] ^= static_cast<uint8_t>(1u << (gen() % 8));
          break;
        case 2:
          c.sig[32 + gen() % 32] ^= static_cast<uint8_t>(1u << (gen() % 8));
          break;
        case 3:
          if (c.msg.empty()) {
            c.msg.push_back('\0');
          } else {
            c.msg[gen() % c.msg.size()] ^= static_cast<char>(1u << (gen() % 8));
          }
          break;
        case 4:
          AddOrder(c.sig.data() + 32);
          break;
        case 5: {
          const auto& small = SmallOrderEncodings();
          Bytes32 r = small[gen() % small.size()];
          if (gen() % 2) r[31] |= 0x80;
          std::memcpy(c.sig.data(), r.data(), 32);
          break;
        }
        case 6:
          for (size_t b = 32; b < 64; ++b)
            c.sig[b] = static_cast<uint8_t>(gen());
          if (gen() % 2) c.sig[63] &= 0x0f;
          break;
        case 7:
          c.pk = other.pk;
          break;
      }
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

TEST(SignatureDifferential, MillionCasesAgreeWithLibsodium) {
  EnsureSodium();
  const std::vector<Key> keys = MakeKeys();
  SignatureVerifier verifier;  // defaults: what the store uses
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> accepted{0}, total{0};
  std::mutex mu;
  std::vector<std::string> mismatches;
  auto worker = [&] {
    std::vector<uint8_t> ok(kChunkCases);
    for (size_t chunk = next++; chunk < kChunks; chunk = next++) {
      std::vector<Case> cases = MakeChunk(keys, chunk);
      std::vector<SignatureVerifier::Item> items(cases.size());
      for (size_t i = 0; i < cases.size(); ++i) {
        items[i] = {cases[i].pk.data(), "", cases[i].msg, cases[i].sig.data()};
      }
      verifier.Verify(items, ok);
      uint64_t yes = 0;
      for (size_t i = 0; i < cases.size(); ++i) {
        const bool want = SignatureVerifier::VerifyWithSodium(items[i]);
        yes += want ? 1 : 0;
        if ((ok[i] != 0) != want) {
          std::lock_guard<std::mutex> l(mu);
          mismatches.push_back(
              "chunk " + std::to_string(chunk) + " case " + std::to_string(i) +
              " (kind " + std::to_string(i % kPerSignature) + "): libsodium " +
              (want ? "accepts" : "refuses"));
        }
      }
      accepted += yes;
      total += cases.size();
    }
  };
  std::vector<std::thread> threads;
  const unsigned n = std::max(2u, std::thread::hardware_concurrency());
  for (unsigned t = 0; t < n; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  EXPECT_EQ(total.load(), kChunks * kChunkCases);
  EXPECT_GE(total.load(), 1000000u);
  for (size_t i = 0; i < std::min<size_t>(mismatches.size(), 20); ++i) {
    ADD_FAILURE() << "seed " << kSeed << ": " << mismatches[i];
  }
  EXPECT_TRUE(mismatches.empty()) << mismatches.size() << " disagreements";
  // Valid signatures are one case in eight, less the torsion ones that fail.
  EXPECT_GT(accepted.load(), total.load() / 10);
  EXPECT_LT(accepted.load(), total.load() / 7);
  if (verifier.fast_path_enabled()) {
    // Nearly everything went through the tables (only the first few
    // signatures of each key go to libsodium).
    EXPECT_GT(verifier.fast_checks(), total.load() * 9 / 10);
  }
  std::printf("seed %llu: %llu cases, %llu accepted, %llu by the fast path\n",
              static_cast<unsigned long long>(kSeed),
              static_cast<unsigned long long>(total.load()),
              static_cast<unsigned long long>(accepted.load()),
              static_cast<unsigned long long>(verifier.fast_checks()));
}

}  // namespace
}  // namespace plumlog::crypto
