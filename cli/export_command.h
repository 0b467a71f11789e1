// `plumlog export`: write feeds as an export stream (storage/export_stream.h).
#ifndef PLUMLOG_CLI_EXPORT_COMMAND_H_
#define PLUMLOG_CLI_EXPORT_COMMAND_H_

#include <string>
#include <vector>

namespace plumlog::cli {

struct ExportArgs {
  // "self" or feed ids; empty = every feed in the store.
  std::vector<std::string> feeds;
  // Empty or "-": stdout. Else written to a temporary file beside it, fsynced
  // and renamed into place only when the stream is complete.
  std::string output;
};

int RunExport(const std::string& home, const ExportArgs& args);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_EXPORT_COMMAND_H_
