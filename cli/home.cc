#include "cli/home.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace plumlog::cli {

Result<std::string> ResolveHome(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("PLUMLOG_HOME");
      env != nullptr && *env != '\0') {
    return std::string(env);
  }
  const char* user_home = std::getenv("HOME");
  if (user_home == nullptr || *user_home == '\0') {
    const struct passwd* pw = ::getpwuid(::getuid());
    if (pw != nullptr) user_home = pw->pw_dir;
  }
  if (user_home == nullptr || *user_home == '\0') {
    return Status::FailedPrecondition(
        "cannot find a home directory for the store; pass --home DIR or set "
        "PLUMLOG_HOME");
  }
  return std::string(user_home) + "/.plumlog";
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& home, Access access,
                                         int crypto_threads, bool bulk) {
  StoreOptions options;
  options.read_only = access == Access::kReadOnly;
  options.crypto_threads = crypto_threads;
  // One command, a few entries: a nonce-precomputing thread would only cost
  // start-up time. Sign deterministically instead.
  if (!bulk) options.precomputed_nonces = 0;
  Result<std::unique_ptr<Store>> store = Store::Open(home, options);
  if (!store.ok() && store.status().code() == Status::Code::kBusy) {
    return Status::Busy("store is in use by another process (" + home +
                        "); wait for it to finish, or stop it, and try again");
  }
  return store;
}

}  // namespace plumlog::cli
