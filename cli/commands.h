// The simple subcommands: init, whoami, feeds, check (docs/cli.md), and
// helpers the other commands share.
// Each Run* returns the process exit code and has printed any error itself.
#ifndef PLUMLOG_CLI_COMMANDS_H_
#define PLUMLOG_CLI_COMMANDS_H_

#include <string>
#include <string_view>

#include "plumlog/status.h"
#include "plumlog/store.h"

namespace plumlog::cli {

// Inputs larger than this are not read to the end (any content near it is far
// over the entry limit anyway).
inline constexpr size_t kMaxInputBytes = size_t{16} << 20;

int RunInit(const std::string& home);
// With `address`: the running daemon's address instead of the feed id.
int RunWhoami(const std::string& home, bool address);
int RunFeeds(const std::string& home, bool json);
int RunCheck(const std::string& home);

// "self" or a feed id's text form; empty string if valid, else why not.
// (A CLI11 validator.)
std::string CheckFeedArg(const std::string& arg);
// The feed named by `arg` ("self" = the store's own feed).
Result<FeedId> ResolveFeedArg(std::string_view arg, const Store& store);

// Reads a whole file, or stdin for "-", up to kMaxInputBytes.
Result<std::string> ReadInput(const std::string& path);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_COMMANDS_H_
