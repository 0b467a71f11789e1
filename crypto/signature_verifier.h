// SignatureVerifier: Ed25519 signature checks for replicated entries, faster
// than one libsodium call per signature and deciding exactly as libsodium
// 1.0.18's crypto_sign_verify_detached does.
//
// Verification computes R' = s B - h A and accepts when R' encodes to the
// signature's R. libsodium spends most of a verification in a generic double
// scalar multiplication and two field inversions. Entries arrive in runs by
// the same author, so this verifier keeps, per public key, a table of
// multiples of -A (crypto/multiples_table.h, 49 KiB), and one of B. With both
// tables, s B - h A costs about 90 mixed additions and 5 doublings and no
// per-key decompression; the final encodings of a batch share one field
// inversion.
//
// The decision is libsodium's, step by step:
//   - s must be canonical (s < L) when its top nibble is set;
//   - R and A must not encode a point of small order (the y coordinate, sign
//     bit ignored, is not one of those of the eight small-order points);
//   - A must be canonical (y < p) and decode to a curve point;
//   - the encoding of s B - h A, h = SHA-512(R || A || M) mod L, equals R
//     byte for byte (so a non-canonical R never verifies).
// The verifier's tests compare its decisions with libsodium's on valid,
// mutated and crafted signatures, and a fuzz target does the same.
//
// Keys seen fewer than `build_after` times are checked by libsodium directly
// (a table costs about as much as six verifications to build). At most
// `max_keys` tables are kept, least recently used first out. All methods are
// thread-safe.
//
// The fast path reproduces 1.0.18's rules, so it only runs when the libsodium
// linked at run time decides as 1.0.18 does: its sodium_version_string() is
// "1.0.18" and it gives the expected verdicts on the twelve edge cases of
// "Taming the many EdDSAs" (checked once per process, when the first table
// is about to be built). Otherwise, or with Options::fast_path false, every
// signature goes to the linked libsodium, so a verdict never depends on
// which path a key took.
#ifndef PLUMLOG_CRYPTO_SIGNATURE_VERIFIER_H_
#define PLUMLOG_CRYPTO_SIGNATURE_VERIFIER_H_

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <unordered_map>

namespace plumlog::crypto {

class MultiplesTable;

class SignatureVerifier {
 public:
  struct Options {
    // Tables kept, least recently used first out (49 KiB each). Default: 64.
    size_t max_keys = 64;
    // Signatures seen under a key before its table is built (a table costs
    // about six verifications). Default: 8.
    uint32_t build_after = 8;
    // Use per-key tables at all. false: every signature is checked by one
    // libsodium call. Default: true.
    bool fast_path = true;
  };

  // One signature to check: Ed25519 over prefix || message.
  struct Item {
    const uint8_t* public_key = nullptr;  // 32 bytes
    std::string_view prefix;
    std::string_view message;
    const uint8_t* signature = nullptr;  // 64 bytes
  };

  SignatureVerifier();
  explicit SignatureVerifier(const Options& options);
  ~SignatureVerifier();
  SignatureVerifier(const SignatureVerifier&) = delete;
  SignatureVerifier& operator=(const SignatureVerifier&) = delete;

  // ok[i] = 1 when items[i] verifies, else 0. ok.size() must equal
  // items.size() (otherwise every ok[i] is 0).
  void Verify(std::span<const Item> items, std::span<uint8_t> ok);
  bool Verify(const Item& item);

  // libsodium's own answer, one call (the reference the fast path must match).
  static bool VerifyWithSodium(const Item& item);

  // The libsodium release whose rules the fast path reproduces.
  static constexpr const char* kRulesVersion = "1.0.18";
  // The linked libsodium is kRulesVersion and decides the edge cases as it
  // does (computed once per process).
  static bool LinkedSodiumHasSameRules();
  // options.fast_path && LinkedSodiumHasSameRules().
  bool fast_path_enabled() const;

  // Tables built so far, and signatures decided with a key's table rather
  // than by libsodium (tests, stats).
  size_t tables_built() const;
  uint64_t fast_checks() const;

 private:
  struct KeyState;
  using Key = std::array<uint8_t, 32>;
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };

  // The key's state, counting `uses` more signatures; its table is built
  // (outside the lock) once the count reaches build_after. nullptr: decide
  // with libsodium.
  std::shared_ptr<const KeyState> StateFor(const uint8_t* public_key,
                                           uint32_t uses);
  static std::shared_ptr<const KeyState> BuildState(const uint8_t* public_key);
  // ok[i] for every i in idx, all items signed by the state's key.
  static void DecideWithTable(const KeyState& state,
                              std::span<const Item> items,
                              std::span<const size_t> idx,
                              std::span<uint8_t> ok);

  const Options options_;
  mutable std::mutex mu_;
  struct Slot {
    Key key;
    uint32_t seen = 0;
    std::shared_ptr<const KeyState> state;  // null until built
  };
  std::list<Slot> lru_;  // front = most recently used
  std::unordered_map<Key, std::list<Slot>::iterator, KeyHash> index_;
  size_t tables_built_ = 0;
  uint64_t fast_checks_ = 0;
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_SIGNATURE_VERIFIER_H_
