// `plumlog sync ADDR`: one-shot replication with one peer until in sync
// (docs/cli.md). Through the daemon when one runs, else with a temporary
// Node on the store (dial only, no membership).
#ifndef PLUMLOG_CLI_SYNC_COMMAND_H_
#define PLUMLOG_CLI_SYNC_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>

namespace plumlog::cli {

struct SyncArgs {
  std::string address;  // net:HOST:PORT~shs:KEY
  uint64_t timeout_s = 60;
  // Without a daemon only (a daemon uses its own settings).
  std::optional<std::string> network_key;
  std::string preset = "lan";
};

int RunSync(const std::string& home, const SyncArgs& args);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_SYNC_COMMAND_H_
