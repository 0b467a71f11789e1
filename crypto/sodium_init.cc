#include "crypto/sodium_init.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace plumlog::crypto {

void EnsureSodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) {
      std::fprintf(stderr, "plumlog: libsodium failed to initialise\n");
      std::abort();
    }
    return true;
  }();
  (void)ready;
}

}  // namespace plumlog::crypto
