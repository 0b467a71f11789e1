// Public Ed25519 test vectors (tests/crypto/vectors/README.md) through three
// deciders that must agree: the linked libsodium, SignatureVerifier with its
// fast path forced on every signature, and SignatureVerifier with the fast
// path switched off. Also the run-time libsodium check that decides whether
// the fast path runs at all.
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/signature_verifier.h"
#include "crypto/sodium_init.h"

namespace plumlog::crypto {
namespace {

std::string VectorFile(const std::string& name) {
  std::ifstream in(std::string(PLUMLOG_SOURCE_DIR) + "/tests/crypto/vectors/" +
                   name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Hex(const std::string& hex) {
  std::string out(hex.size() / 2, '\0');
  size_t len = 0;
  EXPECT_EQ(
      sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     hex.data(), hex.size(), nullptr, &len, nullptr),
      0)
      << hex;
  out.resize(len);
  return out;
}

struct Vector {
  std::string name;
  std::string pk, msg, sig;  // raw bytes
};

// The three deciders. A signature that is not 64 bytes, or a key that is
// not 32, is refused before any of them (the entry format fixes both).
struct Verdicts {
  bool sodium = false;
  bool fast = false;
  bool slow = false;
};

Verdicts Decide(const Vector& v) {
  Verdicts d;
  if (v.sig.size() != 64 || v.pk.size() != 32) return d;
  SignatureVerifier::Item item{reinterpret_cast<const uint8_t*>(v.pk.data()),
                               "", v.msg,
                               reinterpret_cast<const uint8_t*>(v.sig.data())};
  d.sodium = SignatureVerifier::VerifyWithSodium(item);
  SignatureVerifier fast(SignatureVerifier::Options{
      .max_keys = 4, .build_after = 0, .fast_path = true});
  d.fast = fast.Verify(item);
  if (fast.fast_path_enabled()) {
    EXPECT_EQ(fast.fast_checks(), 1u) << v.name;  // really the table path
  }
  SignatureVerifier slow(SignatureVerifier::Options{
      .max_keys = 4, .build_after = 0, .fast_path = false});
  d.slow = slow.Verify(item);
  EXPECT_EQ(slow.fast_checks(), 0u) << v.name;
  EXPECT_EQ(slow.tables_built(), 0u) << v.name;
  return d;
}

TEST(SignatureVectors, RunTimeVersionCheck) {
  EnsureSodium();
  const bool is_1018 = std::strcmp(sodium_version_string(),
                                   SignatureVerifier::kRulesVersion) == 0;
  // On 1.0.18 the edge-case self-check must pass too (it compares the fast
  // path with this very library); on any other version the fast path is off.
  EXPECT_EQ(SignatureVerifier::LinkedSodiumHasSameRules(), is_1018)
      << "linked libsodium " << sodium_version_string();
  SignatureVerifier on;
  EXPECT_EQ(on.fast_path_enabled(), is_1018);
  SignatureVerifier off(SignatureVerifier::Options{.fast_path = false});
  EXPECT_FALSE(off.fast_path_enabled());
}

// "Taming the many EdDSAs": libsodium 1.0.18 accepts only case 3 (mixed-order
// A and R, cofactorless equation holds); the speccheck results table.
TEST(SignatureVectors, Speccheck) {
  nlohmann::json cases =
      nlohmann::json::parse(VectorFile("ed25519_speccheck_cases.json"));
  ASSERT_EQ(cases.size(), 12u);
  const bool is_1018 = SignatureVerifier::LinkedSodiumHasSameRules();
  for (size_t i = 0; i < cases.size(); ++i) {
    Vector v{"speccheck " + std::to_string(i),
             Hex(cases[i]["pub_key"].get<std::string>()),
             Hex(cases[i]["message"].get<std::string>()),
             Hex(cases[i]["signature"].get<std::string>())};
    Verdicts d = Decide(v);
    EXPECT_EQ(d.fast, d.sodium) << v.name;
    EXPECT_EQ(d.slow, d.sodium) << v.name;
    if (is_1018) {
      EXPECT_EQ(d.sodium, i == 3) << v.name;
    }
  }
}

TEST(SignatureVectors, Wycheproof) {
  nlohmann::json file =
      nlohmann::json::parse(VectorFile("wycheproof_ed25519_test.json"));
  size_t total = 0, valid = 0;
  for (const auto& group : file["testGroups"]) {
    const std::string pk = Hex(group["publicKey"]["pk"].get<std::string>());
    for (const auto& t : group["tests"]) {
      Vector v{"wycheproof tcId " + std::to_string(t["tcId"].get<int>()), pk,
               Hex(t["msg"].get<std::string>()),
               Hex(t["sig"].get<std::string>())};
      const bool want = t["result"].get<std::string>() == "valid";
      Verdicts d = Decide(v);
      EXPECT_EQ(d.sodium, want) << v.name;
      EXPECT_EQ(d.fast, want) << v.name;
      EXPECT_EQ(d.slow, want) << v.name;
      ++total;
      valid += want ? 1 : 0;
    }
  }
  EXPECT_EQ(total, file["numberOfTests"].get<size_t>());
  EXPECT_EQ(total, 151u);
  EXPECT_EQ(valid, 88u);
}

}  // namespace
}  // namespace plumlog::crypto
