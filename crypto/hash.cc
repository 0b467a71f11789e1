#include "crypto/hash.h"

#include <sodium.h>

#include "crypto/sodium_init.h"

namespace plumlog::crypto {

static_assert(sizeof(crypto_generichash_state) <= 384);

std::array<uint8_t, 32> Blake2b256(std::string_view data) {
  std::array<uint8_t, 32> out;
  crypto_generichash(out.data(), out.size(),
                     reinterpret_cast<const unsigned char*>(data.data()),
                     data.size(), nullptr, 0);
  return out;
}

std::array<uint8_t, 16> Blake2b128Keyed(const std::array<uint8_t, 16>& key,
                                        std::string_view data) {
  std::array<uint8_t, 16> out;
  crypto_generichash(out.data(), out.size(),
                     reinterpret_cast<const unsigned char*>(data.data()),
                     data.size(), key.data(), key.size());
  return out;
}

Blake2b256Hasher::Blake2b256Hasher() {
  EnsureSodium();
  crypto_generichash_init(reinterpret_cast<crypto_generichash_state*>(state_),
                          nullptr, 0, 32);
}

void Blake2b256Hasher::Update(std::string_view data) {
  crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_),
                            reinterpret_cast<const unsigned char*>(data.data()),
                            data.size());
}

std::array<uint8_t, 32> Blake2b256Hasher::Final() {
  std::array<uint8_t, 32> out;
  crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_),
                           out.data(), out.size());
  return out;
}

}  // namespace plumlog::crypto
