// `plumlog import`: verify a whole export stream, then ingest it.
#ifndef PLUMLOG_CLI_IMPORT_COMMAND_H_
#define PLUMLOG_CLI_IMPORT_COMMAND_H_

#include <string>

namespace plumlog::cli {

struct ImportArgs {
  // Empty or "-": stdin, spooled to a temporary file first.
  std::string input;
};

int RunImport(const std::string& home, const ImportArgs& args);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_IMPORT_COMMAND_H_
