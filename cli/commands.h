// The simple subcommands: init, whoami, append, feeds, check (docs/cli.md).
// `append` goes through the daemon's control socket when a daemon runs.
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

// Where `plumlog append` takes the content from; exactly one source is set
// (main.cc rejects conflicting ones). None set: text from stdin.
struct AppendArgs {
  bool has_text = false;  // TEXT argument: a msgpack string
  std::string text;
  bool has_json = false;  // --json VALUE: JSON text; "-" = read it from stdin
  std::string json;
  bool has_file =
      false;  // --file PATH: the file's bytes as a string; "-" = stdin
  std::string file;
  bool has_json_file =
      false;  // --json-file PATH: the file as JSON; "-" = stdin
  std::string json_file;
};

int RunInit(const std::string& home);
// With `address`: the running daemon's address instead of the feed id.
int RunWhoami(const std::string& home, bool address);
int RunAppend(const std::string& home, const AppendArgs& args);
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
