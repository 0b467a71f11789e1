#include <string>

#include "plumlog/options.h"

namespace plumlog {

Status StoreOptions::Validate() const {
  if (crypto_threads < 0 || crypto_threads > 256) {
    return Status::InvalidArgument("StoreOptions.crypto_threads must be 0..256, got " +
                                   std::to_string(crypto_threads));
  }
  if (parallel_min_batch == 0) {
    return Status::InvalidArgument("StoreOptions.parallel_min_batch must be at least 1");
  }
  if (block_cache_bytes < (size_t{64} << 10)) {
    return Status::InvalidArgument("StoreOptions.block_cache_bytes must be at least 64 KiB");
  }
  if (memtable_budget_bytes != 0 && memtable_budget_bytes < write_buffer_bytes) {
    return Status::InvalidArgument(
        "StoreOptions.memtable_budget_bytes must be 0 or at least "
        "write_buffer_bytes");
  }
  if (write_buffer_bytes < (size_t{64} << 10)) {
    return Status::InvalidArgument("StoreOptions.write_buffer_bytes must be at least 64 KiB");
  }
  if (signing != SigningNonce::kHedged && signing != SigningNonce::kDeterministic) {
    return Status::InvalidArgument("StoreOptions.signing must be kHedged or kDeterministic");
  }
  if (create_if_missing && read_only) {
    return Status::InvalidArgument(
        "StoreOptions.create_if_missing and read_only cannot both be set");
  }
  return Status::OK();
}

}  // namespace plumlog
