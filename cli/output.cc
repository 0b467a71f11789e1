#include "cli/output.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace plumlog::cli {
namespace {

Status StdoutError() {
  if (errno == EPIPE) return Status::Aborted("standard output was closed");
  return Status::IOError(std::string("cannot write to standard output: ") +
                         std::strerror(errno));
}

}  // namespace

int Fail(const Status& status) {
  std::string line = "plumlog: error: " + status.message() + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  return kExitFailed;
}

int UsageFail(std::string_view message) {
  std::string line = "plumlog: error: " + std::string(message) +
                     "\nRun with --help for more information.\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  return kExitUsage;
}

Status WriteStdout(std::string_view bytes) {
  errno = 0;
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size())
    return StdoutError();
  return Status::OK();
}

Status FlushStdout() {
  errno = 0;
  if (std::fflush(stdout) != 0) return StdoutError();
  return Status::OK();
}

}  // namespace plumlog::cli
