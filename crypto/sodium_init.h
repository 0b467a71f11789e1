#ifndef PLUMLOG_CRYPTO_SODIUM_INIT_H_
#define PLUMLOG_CRYPTO_SODIUM_INIT_H_

namespace plumlog::crypto {

// Initialises libsodium once per process; safe to call from any thread, any
// number of times. Aborts the process if libsodium cannot initialise (no
// usable randomness), because nothing in plumlog can work without it.
void EnsureSodium();

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_SODIUM_INIT_H_
