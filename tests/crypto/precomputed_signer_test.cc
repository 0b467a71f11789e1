#include "crypto/precomputed_signer.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace plumlog::crypto {
namespace {

KeyPair Key(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return KeyPair::FromSeed(seed);
}

TEST(PrecomputedSigner, SignaturesVerifyWithStandardEd25519) {
  KeyPair kp = Key(1);
  PrecomputedSigner signer(kp, 256);
  std::string msg = "entry bytes";
  for (int i = 0; i < 2000; ++i) {
    msg.push_back(static_cast<char>(i));
    Signature sig = signer.Sign("prefix\n", msg);
    ASSERT_TRUE(KeyPair::Verify(kp.public_key(), "prefix\n", msg, sig)) << i;
  }
}

TEST(PrecomputedSigner, SignatureBindsKeyPrefixAndMessage) {
  KeyPair kp = Key(2);
  PrecomputedSigner signer(kp, 8);
  Signature sig = signer.Sign("p", "message");
  EXPECT_TRUE(KeyPair::Verify(kp.public_key(), "p", "message", sig));
  EXPECT_FALSE(KeyPair::Verify(kp.public_key(), "q", "message", sig));
  EXPECT_FALSE(KeyPair::Verify(kp.public_key(), "p", "messagf", sig));
  EXPECT_FALSE(KeyPair::Verify(Key(3).public_key(), "p", "message", sig));
  Signature flipped = sig;
  flipped[40] ^= 1;
  EXPECT_FALSE(KeyPair::Verify(kp.public_key(), "p", "message", flipped));
}

TEST(PrecomputedSigner, NoncesAreFreshEachTime) {
  KeyPair kp = Key(4);
  PrecomputedSigner signer(kp, 4);
  Signature a = signer.Sign("", "same message");
  Signature b = signer.Sign("", "same message");
  EXPECT_NE(a, b);  // different nonces, so different R
  EXPECT_TRUE(KeyPair::Verify(kp.public_key(), "", "same message", a));
  EXPECT_TRUE(KeyPair::Verify(kp.public_key(), "", "same message", b));
  // The deterministic RFC 8032 signature is a third, equally valid one.
  EXPECT_NE(kp.Sign("", "same message"), a);
}

TEST(PrecomputedSigner, ConcurrentSignersDrainingThePool) {
  KeyPair kp = Key(5);
  PrecomputedSigner signer(kp, 2);  // tiny pool: most nonces computed inline
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        std::string m = std::to_string(t) + ":" + std::to_string(i);
        if (!KeyPair::Verify(kp.public_key(), "x", m, signer.Sign("x", m))) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(PrecomputedSigner, FillsItsPoolInTheBackground) {
  PrecomputedSigner signer(Key(6), 16);
  for (int i = 0; i < 2000 && signer.ready() < 16; ++i) {
    std::this_thread::yield();
    if (i % 100 == 99) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(signer.ready(), 16u);
  (void)signer.Sign("", "m");
  EXPECT_LE(signer.ready(), 16u);
}

}  // namespace
}  // namespace plumlog::crypto
