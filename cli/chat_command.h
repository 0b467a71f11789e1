// `plumlog chat --room NAME`: an interactive chat room on top of the daemon,
// or of an embedded node when no daemon runs (docs/chat.md, docs/cli.md). On
// a terminal a full-screen UI (cli/chat_screen.h); through pipes (or with
// --plain) lines in and lines out.
#ifndef PLUMLOG_CLI_CHAT_COMMAND_H_
#define PLUMLOG_CLI_CHAT_COMMAND_H_

#include <string>

#include "cli/serve_config.h"

namespace plumlog::cli {

struct ChatArgs {
  std::string room;  // --room NAME (required)
  std::string nick;  // --nick NAME; empty = keep the current nickname
  bool plain = false;  // --plain: lines in and out even on a terminal
  // Settings of the embedded node (used only when no daemon runs): listen,
  // advertise, peers, network_key, no_membership, preset.
  ServeSettings node;
};

int RunChat(const std::string& home, const ChatArgs& args);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_CHAT_COMMAND_H_
