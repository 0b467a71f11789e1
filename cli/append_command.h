// `plumlog append`: one entry from an argument, a file or standard input, or
// many entries, one per line (--lines, --jsonl), appended in batches
// (docs/cli.md). Goes through the daemon's control socket when a daemon runs.
#ifndef PLUMLOG_CLI_APPEND_COMMAND_H_
#define PLUMLOG_CLI_APPEND_COMMAND_H_

#include <cstddef>
#include <string>

namespace plumlog::cli {

// Where `plumlog append` takes the content from; main.cc rejects conflicting
// sources. None set: text from stdin.
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
  // --binary: the input's bytes (stdin or --file) as a msgpack bin. Without
  // it, input that is not UTF-8 text is refused.
  bool binary = false;
  // --lines: one text entry per line of the input (stdin or --file).
  bool lines = false;
  // --jsonl: one JSON value per line of the input (stdin or --file).
  bool jsonl = false;
};

// Lines appended per AppendBatch (or per append.batch request to the
// daemon): each batch is one atomic write, signed on all cores.
inline constexpr size_t kAppendBatchLines = 1000;
// ...and at most this many content bytes per batch.
inline constexpr size_t kAppendBatchBytes = size_t{4} << 20;

int RunAppend(const std::string& home, const AppendArgs& args);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_APPEND_COMMAND_H_
