// The fast Ed25519 verification path: its arithmetic against libsodium's
// public point operations, and SignatureVerifier's decisions against
// crypto_sign_verify_detached on valid, mutated and crafted signatures.
#include "crypto/signature_verifier.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crypto/edwards_point.h"
#include "crypto/field25519.h"
#include "crypto/multiples_table.h"
#include "crypto/sodium_init.h"

namespace plumlog::crypto {
namespace {

using Bytes32 = std::array<uint8_t, 32>;

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  Bytes32 Bytes() {
    Bytes32 b;
    for (auto& x : b) x = static_cast<uint8_t>(gen_());
    return b;
  }
  // A uniformly random scalar mod L (libsodium's reduction of 64 random bytes).
  Bytes32 Scalar() {
    uint8_t wide[64];
    for (auto& x : wide) x = static_cast<uint8_t>(gen_());
    Bytes32 s;
    crypto_core_ed25519_scalar_reduce(s.data(), wide);
    return s;
  }
  uint32_t Next() { return static_cast<uint32_t>(gen_()); }

 private:
  std::mt19937_64 gen_;
};

Fe25519 Small(uint64_t v) { return Fe25519::FromLimbs(v, 0, 0, 0, 0); }

Bytes32 BaseMul(const Bytes32& n) {
  Bytes32 out{};
  EXPECT_EQ(crypto_scalarmult_ed25519_base_noclamp(out.data(), n.data()), 0);
  return out;
}

// n P with the table code: the same digits and passes as the verifier.
EdwardsPoint TableMul(const MultiplesTable& t, const Bytes32& n) {
  MultiplesTable::Digits d = t.Recode(n.data());
  EdwardsPoint acc = EdwardsPoint::Identity();
  if (t.passes() == 2) {
    acc = t.Accumulate(acc, d, 1);
    for (int i = 0; i < t.width(); ++i) acc = acc.Double();
  }
  return t.Accumulate(acc, d, 0);
}

class SignatureVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EnsureSodium();
    // These tests compare the fast path with libsodium; it only runs on a
    // libsodium with 1.0.18's rules (signature_vectors_test covers the rest).
    if (!SignatureVerifier::LinkedSodiumHasSameRules()) {
      GTEST_SKIP() << "libsodium " << sodium_version_string()
                   << " does not decide as 1.0.18: fast path off";
    }
  }
};

TEST_F(SignatureVerifierTest, FieldArithmeticIsConsistent) {
  Rng rng(1);
  for (int i = 0; i < 2000; ++i) {
    Bytes32 ab = rng.Bytes(), bb = rng.Bytes();
    Fe25519 a = Fe25519::FromBytes(ab.data()),
            b = Fe25519::FromBytes(bb.data());
    EXPECT_TRUE(a.Square().Equals(a * a));
    EXPECT_TRUE(((a + b) - b).Equals(a));
    EXPECT_TRUE((a * (b + Fe25519::One())).Equals(a * b + a));
    EXPECT_TRUE((-(-a)).Equals(a));
    if (!a.IsZero()) {
      EXPECT_TRUE((a * a.Invert()).Equals(Fe25519::One()));
    }
    // Canonical encodings round-trip.
    Bytes32 enc = a.ToBytes();
    EXPECT_EQ(enc[31] & 0x80, 0);
    EXPECT_EQ(Fe25519::FromBytes(enc.data()).ToBytes(), enc);
  }
  // p, p + 1 and 2^255 - 1 reduce to 0, 1 and 18.
  Bytes32 p{};
  p.fill(0xff);
  p[0] = 0xed;
  p[31] = 0x7f;
  EXPECT_TRUE(Fe25519::FromBytes(p.data()).IsZero());
  p[0] = 0xee;
  EXPECT_TRUE(Fe25519::FromBytes(p.data()).Equals(Fe25519::One()));
  p[0] = 0xff;
  EXPECT_TRUE(Fe25519::FromBytes(p.data()).Equals(Small(18)));
  // Bit 255 is ignored.
  Bytes32 one{};
  one[0] = 1;
  one[31] = 0x80;
  EXPECT_TRUE(Fe25519::FromBytes(one.data()).Equals(Fe25519::One()));
}

TEST_F(SignatureVerifierTest, CurveConstants) {
  // d * 121666 = -121665 and sqrt(-1)^2 = -1.
  EXPECT_TRUE((EdwardsPoint::D() * Small(121666) + Small(121665)).IsZero());
  EXPECT_TRUE(
      (EdwardsPoint::D() + EdwardsPoint::D()).Equals(EdwardsPoint::D2()));
  EXPECT_TRUE((EdwardsPoint::SqrtM1().Square() + Fe25519::One()).IsZero());
  // RFC 8032: d =
  // 37095705934669439343138083508754565189542113879843219016388785533085940283555,
  // whose little-endian encoding starts a3 78 59 13 and ends ee 6c 03 52.
  Bytes32 d = EdwardsPoint::D().ToBytes();
  EXPECT_EQ(d[0], 0xa3);
  EXPECT_EQ(d[1], 0x78);
  EXPECT_EQ(d[2], 0x59);
  EXPECT_EQ(d[3], 0x13);
  EXPECT_EQ(d[28], 0xee);
  EXPECT_EQ(d[29], 0x6c);
  EXPECT_EQ(d[30], 0x03);
  EXPECT_EQ(d[31], 0x52);
  // The base point encodes as libsodium's 1 * B.
  Bytes32 one{};
  one[0] = 1;
  EXPECT_EQ(EdwardsPoint::Base().Compress(), BaseMul(one));
}

TEST_F(SignatureVerifierTest, PointArithmeticMatchesLibsodium) {
  Rng rng(2);
  const EdwardsPoint& b = EdwardsPoint::Base();
  for (int i = 0; i < 200; ++i) {
    Bytes32 m = rng.Scalar(), n = rng.Scalar();
    Bytes32 pm = BaseMul(m), pn = BaseMul(n);
    std::optional<EdwardsPoint> p = EdwardsPoint::Decompress(pm);
    std::optional<EdwardsPoint> q = EdwardsPoint::Decompress(pn);
    ASSERT_TRUE(p.has_value());
    ASSERT_TRUE(q.has_value());
    EXPECT_EQ(p->Compress(), pm);
    Bytes32 sum{}, diff{};
    ASSERT_EQ(crypto_core_ed25519_add(sum.data(), pm.data(), pn.data()), 0);
    ASSERT_EQ(crypto_core_ed25519_sub(diff.data(), pm.data(), pn.data()), 0);
    EXPECT_EQ((*p + *q).Compress(), sum);
    EXPECT_EQ((*p + -*q).Compress(), diff);
    EXPECT_EQ(p->Double().Compress(), (*p + *p).Compress());
    // Mixed additions through prepared points.
    NielsPoint nq[1];
    EdwardsPoint qs[1] = {*q};
    EdwardsPoint::ToNielsBatch(qs, nq);
    EXPECT_EQ(p->AddNiels(nq[0]).Compress(), sum);
    EXPECT_EQ(p->SubNiels(nq[0]).Compress(), diff);
    EXPECT_TRUE(p->AddNiels(nq[0]).Equals(*p + *q));
    EXPECT_FALSE(p->Equals(*q));
    EXPECT_TRUE((*p + -*p).IsIdentity());
    (void)b;
  }
}

TEST_F(SignatureVerifierTest, TableMultiplicationMatchesLibsodium) {
  Rng rng(3);
  // Edge scalars: 0 is the identity (libsodium refuses to encode it), 1, L - 1,
  // digits at the recentring boundary, and random ones.
  std::vector<Bytes32> scalars;
  Bytes32 one{};
  one[0] = 1;
  scalars.push_back(one);
  Bytes32 l_minus_1 = {0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                       0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                       0,    0,    0,    0,    0,    0,    0,    0,
                       0,    0,    0,    0,    0,    0,    0,    0x10};
  scalars.push_back(l_minus_1);
  for (uint8_t fill : {0x88, 0x77, 0xff, 0x84, 0x21}) {
    Bytes32 f;
    f.fill(fill);
    f[31] &= 0x0f;  // below 2^252
    scalars.push_back(f);
  }
  for (int i = 0; i < 60; ++i) scalars.push_back(rng.Scalar());
  Bytes32 zero{};
  // Every shape the verifier could use, for B and for another point.
  Bytes32 pe = BaseMul(rng.Scalar());
  EdwardsPoint other = *EdwardsPoint::Decompress(pe);
  for (int width = 4; width <= 8; ++width) {
    for (int passes = 1; passes <= 2; ++passes) {
      SCOPED_TRACE("width " + std::to_string(width) + " passes " +
                   std::to_string(passes));
      MultiplesTable base(EdwardsPoint::Base(), width, passes);
      MultiplesTable pt(other, width, passes);
      EXPECT_TRUE(TableMul(base, zero).IsIdentity());
      for (const Bytes32& n : scalars) {
        EXPECT_EQ(TableMul(base, n).Compress(), BaseMul(n));
        Bytes32 expect{};
        ASSERT_EQ(crypto_scalarmult_ed25519_noclamp(expect.data(), n.data(),
                                                    pe.data()),
                  0);
        EXPECT_EQ(TableMul(pt, n).Compress(), expect);
      }
    }
  }
}

TEST_F(SignatureVerifierTest, BatchCompressionMatchesSingle) {
  Rng rng(4);
  std::vector<EdwardsPoint> pts;
  for (int i = 0; i < 33; ++i)
    pts.push_back(*EdwardsPoint::Decompress(BaseMul(rng.Scalar())));
  pts.push_back(pts[0].Double() + pts[1]);  // Z != 1
  std::vector<Bytes32> enc(pts.size());
  EdwardsPoint::CompressBatch(pts, enc);
  for (size_t i = 0; i < pts.size(); ++i) EXPECT_EQ(enc[i], pts[i].Compress());
}

// ---- decisions against libsodium ----

struct Signed {
  Bytes32 pk;
  std::array<uint8_t, 64> sig;
  std::string msg;
};

const std::string kPrefix = "test-prefix:";

SignatureVerifier::Item ItemOf(const Signed& s) {
  SignatureVerifier::Item it;
  it.public_key = s.pk.data();
  it.prefix = kPrefix;
  it.message = s.msg;
  it.signature = s.sig.data();
  return it;
}

std::vector<Signed> SignMany(uint64_t seed, int keys, int per_key) {
  Rng rng(seed);
  std::vector<Signed> out;
  for (int k = 0; k < keys; ++k) {
    unsigned char pk[32], sk[64];
    Bytes32 kseed = rng.Bytes();
    crypto_sign_seed_keypair(pk, sk, kseed.data());
    for (int i = 0; i < per_key; ++i) {
      Signed s;
      std::memcpy(s.pk.data(), pk, 32);
      s.msg = "message " + std::to_string(k) + "/" + std::to_string(i) + " " +
              std::string(rng.Next() % 300, 'x');
      std::string full = kPrefix + s.msg;
      crypto_sign_detached(s.sig.data(), nullptr,
                           reinterpret_cast<const unsigned char*>(full.data()),
                           full.size(), sk);
      out.push_back(s);
    }
  }
  return out;
}

// Runs the verifier over the whole set (as a batch, and one by one through a
// second verifier) and expects libsodium's answer for every signature.
void ExpectSameDecisions(const std::vector<Signed>& set,
                         int* accepted = nullptr) {
  SignatureVerifier batch(
      SignatureVerifier::Options{.max_keys = 64, .build_after = 1});
  std::vector<SignatureVerifier::Item> items;
  for (const Signed& s : set) items.push_back(ItemOf(s));
  std::vector<uint8_t> ok(items.size());
  batch.Verify(items, ok);
  SignatureVerifier single(
      SignatureVerifier::Options{.max_keys = 64, .build_after = 1});
  int yes = 0;
  for (size_t i = 0; i < set.size(); ++i) {
    bool want = SignatureVerifier::VerifyWithSodium(items[i]);
    EXPECT_EQ(ok[i] != 0, want) << "item " << i;
    EXPECT_EQ(single.Verify(items[i]), want) << "item " << i;
    yes += want ? 1 : 0;
  }
  EXPECT_GT(batch.fast_checks() + single.fast_checks(), 0u);
  if (accepted != nullptr) *accepted = yes;
}

TEST_F(SignatureVerifierTest, AcceptsValidSignatures) {
  std::vector<Signed> set = SignMany(10, 5, 60);
  SignatureVerifier v;
  std::vector<SignatureVerifier::Item> items;
  for (const Signed& s : set) items.push_back(ItemOf(s));
  std::vector<uint8_t> ok(items.size());
  v.Verify(items, ok);
  for (size_t i = 0; i < ok.size(); ++i) EXPECT_EQ(ok[i], 1) << i;
  EXPECT_EQ(v.tables_built(), 5u);
  EXPECT_EQ(v.fast_checks(), set.size());
  int accepted = 0;
  ExpectSameDecisions(set, &accepted);
  EXPECT_EQ(accepted, static_cast<int>(set.size()));
}

TEST_F(SignatureVerifierTest, FewSignaturesUseLibsodiumUntilTheKeyRecurs) {
  std::vector<Signed> set = SignMany(11, 1, 10);
  SignatureVerifier v(
      SignatureVerifier::Options{.max_keys = 4, .build_after = 4});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(v.Verify(ItemOf(set[i])));
  EXPECT_EQ(v.tables_built(), 0u);
  EXPECT_EQ(v.fast_checks(), 0u);
  for (int i = 3; i < 10; ++i) EXPECT_TRUE(v.Verify(ItemOf(set[i])));
  EXPECT_EQ(v.tables_built(), 1u);
  EXPECT_EQ(v.fast_checks(), 7u);
  // A wrong message under the cached key is refused on the fast path too.
  Signed bad = set[0];
  bad.msg += "!";
  EXPECT_FALSE(v.Verify(ItemOf(bad)));
  EXPECT_EQ(v.fast_checks(), 8u);
}

TEST_F(SignatureVerifierTest, EvictsLeastRecentlyUsedKeys) {
  std::vector<Signed> set = SignMany(12, 6, 2);
  SignatureVerifier v(
      SignatureVerifier::Options{.max_keys = 2, .build_after = 1});
  for (const Signed& s : set) EXPECT_TRUE(v.Verify(ItemOf(s)));
  EXPECT_EQ(v.tables_built(), 6u);  // each key built once, evicted after
  for (int i = 10; i < 12; ++i) EXPECT_TRUE(v.Verify(ItemOf(set[i])));
  EXPECT_EQ(v.tables_built(), 6u);  // the last key is still cached
  EXPECT_TRUE(v.Verify(ItemOf(set[0])));
  EXPECT_EQ(v.tables_built(), 7u);  // the first was evicted and rebuilt
}

TEST_F(SignatureVerifierTest, InterleavedKeysKeepTheirPlaces) {
  // A, B, A, B, ... with every third signature spoiled: each answer must land
  // on its own item after the verifier groups by key.
  std::vector<Signed> a = SignMany(20, 1, 12), b = SignMany(21, 1, 12);
  std::vector<Signed> set;
  for (int i = 0; i < 12; ++i) {
    set.push_back(a[i]);
    set.push_back(b[i]);
  }
  for (size_t i = 0; i < set.size(); i += 3) set[i].sig[40] ^= 1;
  SignatureVerifier v(
      SignatureVerifier::Options{.max_keys = 8, .build_after = 1});
  std::vector<SignatureVerifier::Item> items;
  for (const Signed& s : set) items.push_back(ItemOf(s));
  std::vector<uint8_t> ok(items.size(), 7);
  v.Verify(items, ok);
  for (size_t i = 0; i < set.size(); ++i)
    EXPECT_EQ(ok[i], i % 3 == 0 ? 0 : 1) << i;
  EXPECT_EQ(v.tables_built(), 2u);
}

TEST_F(SignatureVerifierTest, EdgeOptionsAndSizes) {
  std::vector<Signed> set = SignMany(22, 1, 3);
  std::vector<SignatureVerifier::Item> items;
  for (const Signed& s : set) items.push_back(ItemOf(s));
  // No cache at all: everything goes to libsodium, answers unchanged.
  SignatureVerifier none(
      SignatureVerifier::Options{.max_keys = 0, .build_after = 0});
  std::vector<uint8_t> ok(items.size());
  none.Verify(items, ok);
  EXPECT_EQ(ok, std::vector<uint8_t>(items.size(), 1));
  EXPECT_EQ(none.tables_built(), 0u);
  // build_after = 0 builds at the first sight.
  SignatureVerifier eager(
      SignatureVerifier::Options{.max_keys = 4, .build_after = 0});
  EXPECT_TRUE(eager.Verify(items[0]));
  EXPECT_EQ(eager.fast_checks(), 1u);
  // An empty batch, and a size mismatch (fails closed).
  eager.Verify(std::span<const SignatureVerifier::Item>(),
               std::span<uint8_t>());
  std::vector<uint8_t> short_ok(items.size() - 1, 9);
  eager.Verify(items, short_ok);
  EXPECT_EQ(short_ok, std::vector<uint8_t>(items.size() - 1, 0));
}

TEST_F(SignatureVerifierTest, ConcurrentCallersShareTablesAndAgree) {
  // Several threads verify interleaved batches of 6 keys through one verifier
  // whose cache holds 2 tables, so tables are built, evicted and rebuilt while
  // other threads use them (tsan runs this too).
  std::vector<Signed> set = SignMany(23, 6, 20);
  for (size_t i = 0; i < set.size(); i += 7)
    set[i].msg += "x";  // some bad ones
  std::vector<uint8_t> want(set.size());
  std::vector<SignatureVerifier::Item> items;
  for (size_t i = 0; i < set.size(); ++i) {
    items.push_back(ItemOf(set[i]));
    want[i] = SignatureVerifier::VerifyWithSodium(items[i]) ? 1 : 0;
  }
  SignatureVerifier v(
      SignatureVerifier::Options{.max_keys = 2, .build_after = 1});
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (size_t start = (t * 13 + round * 7) % 16; start < items.size();
             start += 16) {
          const size_t n = std::min<size_t>(16, items.size() - start);
          std::vector<uint8_t> ok(n);
          v.Verify(std::span(items.data() + start, n), ok);
          for (size_t k = 0; k < n; ++k) mismatches += ok[k] != want[start + k];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GT(v.fast_checks(), 0u);
}

TEST_F(SignatureVerifierTest, MutatedSignaturesDecideLikeLibsodium) {
  std::vector<Signed> base = SignMany(13, 3, 40);
  Rng rng(14);
  std::vector<Signed> set;
  for (const Signed& s : base) {
    // One flipped bit in R, in s, in the message, and in the key.
    Signed r = s;
    r.sig[rng.Next() % 32] ^= static_cast<uint8_t>(1u << (rng.Next() % 8));
    set.push_back(r);
    Signed sc = s;
    sc.sig[32 + rng.Next() % 32] ^=
        static_cast<uint8_t>(1u << (rng.Next() % 8));
    set.push_back(sc);
    Signed m = s;
    m.msg[rng.Next() % m.msg.size()] ^= 1;
    set.push_back(m);
    Signed k = s;
    k.pk[rng.Next() % 32] ^= static_cast<uint8_t>(1u << (rng.Next() % 8));
    set.push_back(k);
    set.push_back(s);
  }
  int accepted = 0;
  ExpectSameDecisions(set, &accepted);
  EXPECT_EQ(accepted, static_cast<int>(base.size()));  // only the originals
}

TEST_F(SignatureVerifierTest, NonCanonicalScalarIsRefused) {
  std::vector<Signed> base = SignMany(15, 1, 30);
  std::vector<Signed> set;
  for (const Signed& s : base) {
    // s + L encodes the same residue but is not canonical: both refuse.
    Signed t = s;
    unsigned carry = 0;
    const uint8_t l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                           0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                           0,    0,    0,    0,    0,    0,    0,    0,
                           0,    0,    0,    0,    0,    0,    0,    0x10};
    for (int i = 0; i < 32; ++i) {
      unsigned v = t.sig[32 + i] + l[i] + carry;
      t.sig[32 + i] = static_cast<uint8_t>(v);
      carry = v >> 8;
    }
    set.push_back(t);
    set.push_back(s);
  }
  int accepted = 0;
  ExpectSameDecisions(set, &accepted);
  EXPECT_EQ(accepted, static_cast<int>(base.size()));
}

// Encodings whose y is that of a small-order point: 0, 1, p - 1, p, p + 1
// and the two order-8 values, each with and without the sign bit.
std::vector<Bytes32> SmallOrderEncodings() {
  std::vector<Bytes32> out;
  auto add = [&](Bytes32 b) {
    out.push_back(b);
    b[31] |= 0x80;
    out.push_back(b);
  };
  Bytes32 v{};
  add(v);  // 0
  v[0] = 1;
  add(v);  // 1
  Bytes32 p;
  p.fill(0xff);
  p[31] = 0x7f;
  for (uint8_t low : {0xec, 0xed, 0xee}) {  // p - 1, p, p + 1
    p[0] = low;
    add(p);
  }
  // Order 8:
  // 2707385501144840649318225287225658788936804267575313519463743609750303402022
  // and p minus it.
  Bytes32 y8 = {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0,
                0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
                0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
                0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05};
  add(y8);
  add((-Fe25519::FromBytes(y8.data())).ToBytes());
  return out;
}

TEST_F(SignatureVerifierTest, SmallOrderEncodingsAreWhatTheyClaim) {
  for (const Bytes32& e : SmallOrderEncodings()) {
    std::optional<EdwardsPoint> p = EdwardsPoint::Decompress(e);
    ASSERT_TRUE(p.has_value());
    EXPECT_TRUE(p->Double().Double().Double().IsIdentity());
  }
  // The order-8 ones are not of order 4.
  std::vector<Bytes32> all = SmallOrderEncodings();
  std::optional<EdwardsPoint> t = EdwardsPoint::Decompress(all[all.size() - 1]);
  EXPECT_FALSE(t->Double().Double().IsIdentity());
}

TEST_F(SignatureVerifierTest, SmallOrderRAndKeysAreRefused) {
  std::vector<Signed> base = SignMany(16, 1, 4);
  std::vector<Signed> set;
  for (const Bytes32& e : SmallOrderEncodings()) {
    for (const Signed& s : base) {
      Signed r = s;
      std::memcpy(r.sig.data(), e.data(), 32);
      set.push_back(r);
      Signed k = s;
      k.pk = e;
      set.push_back(k);
    }
  }
  // A non-canonical key (y >= p that is not small order) and one off the curve.
  Signed nc = base[0];
  nc.pk.fill(0xff);
  nc.pk[0] = 0xf0;
  nc.pk[31] = 0x7f;
  set.push_back(nc);
  // R encodings from p + 2 to 2^255 - 1 (y >= p, not of small order): never
  // equal to a canonical encoding, so refused by both.
  for (int low = 0xef; low <= 0xff; ++low) {
    Signed r = base[low % base.size()];
    std::memset(r.sig.data(), 0xff, 32);
    r.sig[0] = static_cast<uint8_t>(low);
    r.sig[31] = 0x7f;
    set.push_back(r);
  }
  int accepted = 0;
  ExpectSameDecisions(set, &accepted);
  EXPECT_EQ(accepted, 0);
}

// A key with a torsion component, A = a B + T with T of order 8: libsodium
// accepts A as a key, and s B - h A = R - h T, so an honestly formed
// signature verifies exactly when h = 0 mod 8. The fast path must agree on
// every one of them (a cofactored check would accept all).
TEST_F(SignatureVerifierTest, KeysWithTorsionDecideLikeLibsodium) {
  Rng rng(17);
  std::vector<Bytes32> small = SmallOrderEncodings();
  EdwardsPoint t = *EdwardsPoint::Decompress(small[small.size() - 2]);
  Bytes32 a = rng.Scalar();
  EdwardsPoint big_a = *EdwardsPoint::Decompress(BaseMul(a)) + t;
  Bytes32 pk = big_a.Compress();
  std::vector<Signed> set;
  for (int i = 0; i < 400; ++i) {
    Signed s;
    s.pk = pk;
    s.msg = "torsion " + std::to_string(i);
    Bytes32 r = rng.Scalar();
    Bytes32 big_r = BaseMul(r);
    crypto_hash_sha512_state hs;
    crypto_hash_sha512_init(&hs);
    crypto_hash_sha512_update(&hs, big_r.data(), 32);
    crypto_hash_sha512_update(&hs, pk.data(), 32);
    crypto_hash_sha512_update(
        &hs, reinterpret_cast<const unsigned char*>(kPrefix.data()),
        kPrefix.size());
    crypto_hash_sha512_update(
        &hs, reinterpret_cast<const unsigned char*>(s.msg.data()),
        s.msg.size());
    unsigned char h64[64];
    crypto_hash_sha512_final(&hs, h64);
    Bytes32 h, ha, sc;
    crypto_core_ed25519_scalar_reduce(h.data(), h64);
    crypto_core_ed25519_scalar_mul(ha.data(), h.data(), a.data());
    crypto_core_ed25519_scalar_add(sc.data(), r.data(), ha.data());
    std::memcpy(s.sig.data(), big_r.data(), 32);
    std::memcpy(s.sig.data() + 32, sc.data(), 32);
    set.push_back(s);
  }
  int accepted = 0;
  ExpectSameDecisions(set, &accepted);
  // About one in eight verifies; both sides agreed on which.
  EXPECT_GT(accepted, 20);
  EXPECT_LT(accepted, 90);
}

TEST_F(SignatureVerifierTest, RandomBytesDecideLikeLibsodium) {
  Rng rng(18);
  std::vector<Signed> set;
  for (int i = 0; i < 300; ++i) {
    Signed s;
    s.pk = BaseMul(rng.Scalar());  // a valid key, so the fast path runs
    Bytes32 r = rng.Bytes(), sc = rng.Bytes();
    if (i % 2 == 0) sc[31] &= 0x0f;
    std::memcpy(s.sig.data(), r.data(), 32);
    std::memcpy(s.sig.data() + 32, sc.data(), 32);
    s.msg = std::to_string(i);
    set.push_back(s);
  }
  ExpectSameDecisions(set);
}

}  // namespace
}  // namespace plumlog::crypto
