// `plumlog read`: print entries of one feed or of all feeds, forwards or
// backwards, optionally following new ones as another process appends them;
// `plumlog get`: print one entry by id (docs/cli.md).
#ifndef PLUMLOG_CLI_READ_COMMAND_H_
#define PLUMLOG_CLI_READ_COMMAND_H_

#include <cstdint>
#include <optional>
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
  // Only the last N entries (after `since`), printed oldest first (newest
  // first with `reverse`); main.cc refuses it together with a limit.
  bool has_last = false;
  uint64_t last = 0;
  // Newest first. main.cc refuses it together with `follow`.
  bool reverse = false;
  // Only entries whose content is a map with "type": this string.
  std::optional<std::string> type;
  // Keep polling for new entries until SIGINT/SIGTERM or stdout closes.
  bool follow = false;
  bool json = false;
};

int RunRead(const std::string& home, const ReadArgs& args);

// `get ID`: the entry with this id (%<base64>.blake2b) as `read` prints it.
int RunGet(const std::string& home, const std::string& id, bool json);

// "" if `arg` is an entry id's text form, else why not (a CLI11 validator).
std::string CheckEntryIdArg(const std::string& arg);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_READ_COMMAND_H_
