// `plumlog serve`: the daemon. Opens the store for writing, runs a Node and
// the control socket (net/control_server.h) on one libuv loop until SIGINT or
// SIGTERM (docs/cli.md).
#ifndef PLUMLOG_CLI_SERVE_COMMAND_H_
#define PLUMLOG_CLI_SERVE_COMMAND_H_

#include <string>

#include "cli/serve_config.h"

namespace plumlog::cli {

struct ServeArgs {
  // --config FILE; empty = none.
  std::string config;
  // Settings given as flags (override the file's).
  ServeSettings flags;
};

int RunServe(const std::string& home, const ServeArgs& args);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_SERVE_COMMAND_H_
