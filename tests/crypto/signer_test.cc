// crypto::Signer: its constant-time base-point multiplication against
// libsodium's, its deterministic signatures against crypto_sign_detached byte
// for byte, hedged signatures against the verifier, and the property it
// exists for: copies of a process (fork) never sign two different messages
// with one nonce, so the key cannot be recovered from their signatures.
#include "crypto/signer.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crypto/edwards_point.h"
#include "crypto/multiples_table.h"
#include "crypto/sodium_init.h"

namespace plumlog::crypto {
namespace {

using Bytes32 = std::array<uint8_t, 32>;

KeyPair Key(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return KeyPair::FromSeed(seed);
}

std::string RandomString(std::mt19937_64& gen, size_t max_len) {
  std::string s(gen() % (max_len + 1), '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

// RFC 8032's secret scalar a of a key (clamped, reduced), as a test oracle.
Bytes32 SecretScalar(const KeyPair& kp) {
  unsigned char h[64];
  crypto_hash_sha512(h, kp.seed().data(), 32);
  h[0] &= 248;
  h[31] &= 127;
  h[31] |= 64;
  unsigned char wide[64] = {0};
  std::memcpy(wide, h, 32);
  Bytes32 a;
  crypto_core_ed25519_scalar_reduce(a.data(), wide);
  return a;
}

// k = SHA-512(R || A || prefix || message) mod L.
Bytes32 Challenge(const Signature& sig, const FeedId& key,
                  std::string_view prefix, std::string_view message) {
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, sig.data(), 32);
  crypto_hash_sha512_update(&st, key.bytes().data(), 32);
  crypto_hash_sha512_update(
      &st, reinterpret_cast<const unsigned char*>(prefix.data()),
      prefix.size());
  crypto_hash_sha512_update(
      &st, reinterpret_cast<const unsigned char*>(message.data()),
      message.size());
  unsigned char h[64];
  crypto_hash_sha512_final(&st, h);
  Bytes32 k;
  crypto_core_ed25519_scalar_reduce(k.data(), h);
  return k;
}

// The nonce-reuse attack: a = (S1 - S2) / (k1 - k2) mod L, which is the
// secret scalar exactly when both signatures used the same r. Returns true
// when the candidate's public key is the signer's (the key is recovered).
bool RecoversKey(const FeedId& key, std::string_view prefix,
                 std::string_view m1, const Signature& s1, std::string_view m2,
                 const Signature& s2) {
  const Bytes32 k1 = Challenge(s1, key, prefix, m1);
  const Bytes32 k2 = Challenge(s2, key, prefix, m2);
  Bytes32 ds, dk, inv, a;
  crypto_core_ed25519_scalar_sub(ds.data(), s1.data() + 32, s2.data() + 32);
  crypto_core_ed25519_scalar_sub(dk.data(), k1.data(), k2.data());
  if (crypto_core_ed25519_scalar_invert(inv.data(), dk.data()) != 0) {
    return false;
  }
  crypto_core_ed25519_scalar_mul(a.data(), ds.data(), inv.data());
  Bytes32 pub{};
  if (crypto_scalarmult_ed25519_base_noclamp(pub.data(), a.data()) != 0) {
    return false;
  }
  return std::memcmp(pub.data(), key.bytes().data(), 32) == 0;
}

TEST(Signer, ConstantTimeTableMatchesLibsodiumBaseMultiplication) {
  EnsureSodium();
  const MultiplesTable& table = MultiplesTable::ForBase();
  std::mt19937_64 gen(1);
  std::vector<Bytes32> scalars;
  // Edge cases: 0, 1, L - 1, digits at their extremes (all 0x1f..., which
  // recodes to runs of -1 and carries), and random ones.
  Bytes32 s{};
  scalars.push_back(s);
  s[0] = 1;
  scalars.push_back(s);
  Bytes32 minus_one, one{};
  one[0] = 1;
  Bytes32 zero{};
  crypto_core_ed25519_scalar_sub(minus_one.data(), zero.data(), one.data());
  scalars.push_back(minus_one);
  for (uint8_t fill : {0x20, 0x1f, 0xff, 0x80, 0x7f}) {
    uint8_t wide[64] = {0};
    std::memset(wide, fill, 32);
    Bytes32 r;
    crypto_core_ed25519_scalar_reduce(r.data(), wide);
    scalars.push_back(r);
  }
  for (int i = 0; i < 3000; ++i) {
    uint8_t wide[64];
    for (auto& b : wide) b = static_cast<uint8_t>(gen());
    Bytes32 r;
    crypto_core_ed25519_scalar_reduce(r.data(), wide);
    scalars.push_back(r);
  }
  for (const Bytes32& r : scalars) {
    MultiplesTable::Digits d = table.Recode(r.data());
    const EdwardsPoint secret =
        table.AccumulateSecret(EdwardsPoint::Identity(), d, 0);
    const EdwardsPoint pub = table.Accumulate(EdwardsPoint::Identity(), d, 0);
    ASSERT_TRUE(secret.Equals(pub));
    Bytes32 want{};
    if (crypto_scalarmult_ed25519_base_noclamp(want.data(), r.data()) != 0) {
      ASSERT_TRUE(secret.IsIdentity());  // libsodium refuses 0
      continue;
    }
    ASSERT_EQ(secret.Compress(), want);
  }
}

TEST(Signer, DeterministicModeIsRfc8032ByteForByte) {
  std::mt19937_64 gen(2);
  for (int k = 0; k < 20; ++k) {
    std::array<uint8_t, 32> seed;
    for (auto& b : seed) b = static_cast<uint8_t>(gen());
    KeyPair kp = KeyPair::FromSeed(seed);
    Signer signer(kp, Signer::Nonce::kDeterministic);
    EXPECT_EQ(signer.public_key(), kp.public_key());
    for (int i = 0; i < 100; ++i) {
      const std::string prefix = i % 3 == 0 ? "" : RandomString(gen, 40);
      const std::string msg = RandomString(gen, i % 10 == 0 ? 70000 : 400);
      ASSERT_EQ(signer.Sign(prefix, msg), kp.Sign(prefix, msg))
          << "key " << k << " message " << i;
    }
  }
}

TEST(Signer, HedgedSignaturesVerifyAndDifferEachTime) {
  KeyPair kp = Key(3);
  Signer signer(kp);  // kHedged by default
  EXPECT_EQ(signer.nonce(), Signer::Nonce::kHedged);
  std::mt19937_64 gen(3);
  for (int i = 0; i < 1000; ++i) {
    const std::string msg = RandomString(gen, 300);
    const Signature a = signer.Sign("prefix\n", msg);
    const Signature b = signer.Sign("prefix\n", msg);
    ASSERT_TRUE(KeyPair::Verify(kp.public_key(), "prefix\n", msg, a)) << i;
    ASSERT_TRUE(KeyPair::Verify(kp.public_key(), "prefix\n", msg, b)) << i;
    // Fresh randomness: the same message gets another nonce.
    ASSERT_NE(std::memcmp(a.data(), b.data(), 32), 0) << i;
  }
}

TEST(Signer, SignatureBindsKeyPrefixAndMessage) {
  KeyPair kp = Key(4);
  Signer signer(kp);
  const Signature sig = signer.Sign("p\n", "message");
  EXPECT_TRUE(KeyPair::Verify(kp.public_key(), "p\n", "message", sig));
  EXPECT_FALSE(KeyPair::Verify(kp.public_key(), "q\n", "message", sig));
  EXPECT_FALSE(KeyPair::Verify(kp.public_key(), "p\n", "messagf", sig));
  EXPECT_FALSE(KeyPair::Verify(Key(5).public_key(), "p\n", "message", sig));
}

TEST(Signer, BatchEqualsOneByOne) {
  KeyPair kp = Key(6);
  Signer det(kp, Signer::Nonce::kDeterministic);
  Signer hedged(kp);
  std::mt19937_64 gen(6);
  for (size_t n : {0, 1, 2, 7, 64, 65}) {
    std::vector<std::string> msgs;
    for (size_t i = 0; i < n; ++i) msgs.push_back(RandomString(gen, 300));
    std::vector<std::string_view> views(msgs.begin(), msgs.end());
    std::vector<Signature> out(n);
    det.SignBatch("x\n", views, out);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], kp.Sign("x\n", msgs[i]));
    hedged.SignBatch("x\n", views, out);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(KeyPair::Verify(kp.public_key(), "x\n", msgs[i], out[i]));
    }
  }
  // A size mismatch is the caller's bug: nothing signed, output zeroed.
  std::vector<std::string_view> two = {"a", "b"};
  std::vector<Signature> one(1);
  one[0].fill(7);
  det.SignBatch("", two, one);
  EXPECT_EQ(one[0], Signature{});
}

TEST(Signer, ConcurrentSigners) {
  KeyPair kp = Key(7);
  Signer signer(kp);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const std::string msg = std::to_string(t) + "/" + std::to_string(i);
        Signature sig = signer.Sign("", msg);
        if (!KeyPair::Verify(kp.public_key(), "", msg, sig)) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// The oracle above really does recover a key from a reused nonce: sign two
// messages with one r by hand.
TEST(Signer, KeyRecoveryOracleWorksOnAReusedNonce) {
  EnsureSodium();
  KeyPair kp = Key(8);
  const Bytes32 a = SecretScalar(kp);
  Bytes32 r;
  crypto_core_ed25519_scalar_random(r.data());
  auto sign_with_r = [&](std::string_view m) {
    Signature sig;
    EXPECT_EQ(crypto_scalarmult_ed25519_base_noclamp(sig.data(), r.data()), 0);
    const Bytes32 k = Challenge(sig, kp.public_key(), "p", m);
    Bytes32 ka;
    crypto_core_ed25519_scalar_mul(ka.data(), k.data(), a.data());
    crypto_core_ed25519_scalar_add(sig.data() + 32, r.data(), ka.data());
    return sig;
  };
  const Signature s1 = sign_with_r("one"), s2 = sign_with_r("two");
  ASSERT_TRUE(KeyPair::Verify(kp.public_key(), "p", "one", s1));
  ASSERT_TRUE(KeyPair::Verify(kp.public_key(), "p", "two", s2));
  EXPECT_TRUE(RecoversKey(kp.public_key(), "p", "one", s1, "two", s2));
}

// What issue 12 reproduced: a process holding the store's signer (used, so
// any pool it kept would be filled) forks; parent and child each sign a
// different entry. Their nonces must differ and the reuse attack must fail.
// Run for both nonce modes; kHedged is the store's default.
void ForkAndSign(Signer::Nonce mode) {
  KeyPair kp = Key(9);
  Signer signer(kp, mode);
  for (int i = 0; i < 100; ++i) (void)signer.Sign("warm", std::to_string(i));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string parent_msg = "entry 42 written by the parent";
  const std::string child_msg = "entry 42 written by the child";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    const Signature sig = signer.Sign("plumlog-entry-v1\n", child_msg);
    const bool ok = ::write(fds[1], sig.data(), sig.size()) ==
                    static_cast<ssize_t>(sig.size());
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  const Signature mine = signer.Sign("plumlog-entry-v1\n", parent_msg);
  Signature theirs{};
  size_t got = 0;
  while (got < theirs.size()) {
    ssize_t n = ::read(fds[0], theirs.data() + got, theirs.size() - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, theirs.size());
  ASSERT_TRUE(
      KeyPair::Verify(kp.public_key(), "plumlog-entry-v1\n", parent_msg, mine));
  ASSERT_TRUE(KeyPair::Verify(kp.public_key(), "plumlog-entry-v1\n", child_msg,
                              theirs));
  EXPECT_NE(std::memcmp(mine.data(), theirs.data(), 32), 0)
      << "parent and child used the same R";
  EXPECT_FALSE(RecoversKey(kp.public_key(), "plumlog-entry-v1\n", parent_msg,
                           mine, child_msg, theirs));
}

TEST(Signer, ForkedCopiesNeverShareANonce) {
  ForkAndSign(Signer::Nonce::kHedged);
  ForkAndSign(Signer::Nonce::kDeterministic);
}

}  // namespace
}  // namespace plumlog::crypto
