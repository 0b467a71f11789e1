#ifndef PLUMLOG_CRYPTO_KEYPAIR_H_
#define PLUMLOG_CRYPTO_KEYPAIR_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog::crypto {

using Signature = std::array<uint8_t, 64>;

// An Ed25519 identity. The public key is the feed id.
class KeyPair {
 public:
  static constexpr size_t kSeedSize = 32;

  // A fresh random identity.
  static KeyPair Generate();
  // Deterministic identity from a 32-byte seed (tests, golden vectors).
  static KeyPair FromSeed(std::span<const uint8_t, kSeedSize> seed);

  const FeedId& public_key() const { return public_key_; }
  std::span<const uint8_t, kSeedSize> seed() const {
    return std::span<const uint8_t, kSeedSize>(secret_.data(), kSeedSize);
  }

  // Ed25519 signature of prefix || message (prefix may be empty).
  Signature Sign(std::string_view prefix, std::string_view message) const;
  static bool Verify(const FeedId& key, std::string_view prefix,
                     std::string_view message,
                     std::span<const uint8_t, 64> signature);

  // Secret key file (docs/format.md section 3), format v2: one line
  //   "plumlog-secret-v2 " <base64 of the 32-byte seed> " " <feed id> "\n"
  // The feed id (@<base64 public key>.ed25519) is that of the seed's public
  // key, so a damaged or edited seed is detected on load.
  // Save creates the file with mode 0600 (AlreadyExists if present) via a temp
  // file and a link, so a crash never leaves a partial key.
  Status Save(const std::string& path) const;
  // Refuses (PermissionDenied) a file readable or writable by group/others,
  // and (Corruption) anything that is not exactly format v2 or v1 (one line
  // "plumlog-secret-v1 " <base64 seed> "\n", which carries no public key and
  // is still accepted), and a v2 file whose feed id is not its seed's.
  // *version (if given) = 1 or 2.
  static Result<KeyPair> Load(const std::string& path, int* version = nullptr);

  ~KeyPair();
  KeyPair(const KeyPair&) = default;
  KeyPair& operator=(const KeyPair&) = default;

 private:
  KeyPair() = default;
  // The text Save writes (format v2); the caller wipes it.
  std::string FileText() const;
  std::array<uint8_t, 64> secret_{};  // libsodium form: seed || public key
  FeedId public_key_;
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_KEYPAIR_H_
