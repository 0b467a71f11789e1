#ifndef PLUMLOG_CRYPTO_HASH_H_
#define PLUMLOG_CRYPTO_HASH_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace plumlog::crypto {

// BLAKE2b with a 32-byte digest and no key.
std::array<uint8_t, 32> Blake2b256(std::string_view data);

// Keyed BLAKE2b-128 (RFC 7693's keyed mode) of `data` under a 16-byte key.
std::array<uint8_t, 16> Blake2b128Keyed(const std::array<uint8_t, 16>& key,
                                        std::string_view data);

// Incremental BLAKE2b-256, for streams.
class Blake2b256Hasher {
 public:
  Blake2b256Hasher();
  void Update(std::string_view data);
  std::array<uint8_t, 32> Final();

 private:
  alignas(64) unsigned char state_[384];
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_HASH_H_
