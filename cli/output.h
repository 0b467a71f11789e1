// Exit codes, error reporting and checked writes to stdout.
#ifndef PLUMLOG_CLI_OUTPUT_H_
#define PLUMLOG_CLI_OUTPUT_H_

#include <string_view>

#include "plumlog/status.h"

namespace plumlog::cli {

// Process exit codes (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the operation failed
inline constexpr int kExitUsage = 2;   // bad flags or arguments

// Prints "plumlog: error: <message>" to stderr and returns kExitFailed.
int Fail(const Status& status);
// Prints "plumlog: error: <message>" and a --help hint; returns kExitUsage.
int UsageFail(std::string_view message);

// Buffered writes to stdout. Aborted when the reader has gone away (EPIPE;
// SIGPIPE is ignored), IOError on any other failure.
Status WriteStdout(std::string_view bytes);
Status FlushStdout();

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_OUTPUT_H_
