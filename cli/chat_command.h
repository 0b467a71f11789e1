// `plumlog chat --room NAME`: an interactive, line-based chat room on top of
// the daemon, or of an embedded node when no daemon runs (docs/chat.md,
// docs/cli.md). Reads lines from standard input, prints the room on standard
// output; works the same on a terminal and through pipes.
#ifndef PLUMLOG_CLI_CHAT_COMMAND_H_
#define PLUMLOG_CLI_CHAT_COMMAND_H_

#include <string>

#include "cli/serve_config.h"

namespace plumlog::cli {

struct ChatArgs {
  std::string room;  // --room NAME (required)
  std::string nick;  // --nick NAME; empty = keep the current nickname
  // Settings of the embedded node (used only when no daemon runs): listen,
  // advertise, peers, network_key, no_membership, preset.
  ServeSettings node;
};

int RunChat(const std::string& home, const ChatArgs& args);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_CHAT_COMMAND_H_
