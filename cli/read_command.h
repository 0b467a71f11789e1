// `plumlog read`: print entries of one feed or of all feeds, optionally
// following new ones as another process appends them (docs/cli.md).
#ifndef PLUMLOG_CLI_READ_COMMAND_H_
#define PLUMLOG_CLI_READ_COMMAND_H_

#include <cstdint>
#include <string>

namespace plumlog::cli {

struct ReadArgs {
  // Empty: every entry in local arrival order; else "self" or a feed id.
  std::string feed;
  // Feed: only seq > since; arrival order: only positions > since.
  uint64_t since = 0;
  // At most this many entries in all (following included); 0 = no limit.
  bool has_limit = false;
  uint64_t limit = 0;
  // Keep polling for new entries until SIGINT/SIGTERM or stdout closes.
  bool follow = false;
  bool json = false;
};

int RunRead(const std::string& home, const ReadArgs& args);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_READ_COMMAND_H_
