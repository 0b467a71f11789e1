// Where the store lives and how each command opens it.
#ifndef PLUMLOG_CLI_HOME_H_
#define PLUMLOG_CLI_HOME_H_

#include <memory>
#include <string>

#include "plumlog/status.h"
#include "plumlog/store.h"

namespace plumlog::cli {

// The store's home directory: `flag` (from --home) if not empty, else
// $PLUMLOG_HOME if set and not empty, else $HOME/.plumlog (the password
// database's home directory when $HOME is unset).
Result<std::string> ResolveHome(const std::string& flag);

enum class Access {
  // Opened as a RocksDB secondary: works while another process writes.
  kReadOnly,
  // Takes the writer lock; another writer gets a "store is in use" error.
  kWrite,
};

// Opens the store at `home`. `crypto_threads` as in StoreOptions (0 = all
// cores; 1 = no worker threads, cheapest for single appends). `bulk`: many
// appends follow, worth a thread precomputing signing nonces.
Result<std::unique_ptr<Store>> OpenStore(const std::string& home, Access access,
                                         int crypto_threads = 0,
                                         bool bulk = false);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_HOME_H_
