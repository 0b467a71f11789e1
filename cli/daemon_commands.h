// The commands that talk to a running daemon through its control socket:
// peers, status, follow, unfollow, block (docs/cli.md). Each Run* returns the
// process exit code and has printed any error itself.
#ifndef PLUMLOG_CLI_DAEMON_COMMANDS_H_
#define PLUMLOG_CLI_DAEMON_COMMANDS_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/control_client.h"
#include "plumlog/node.h"
#include "plumlog/status.h"

namespace plumlog::cli {

// `peers`: configured peers and connections.
int RunPeersList(const std::string& home, bool json);
int RunPeersAdd(const std::string& home, const std::string& address);
int RunPeersRemove(const std::string& home, const std::string& id);
// `status [--json]`.
int RunStatus(const std::string& home, bool json);
// `stop`: asks the daemon to stop and waits up to `timeout_s` for it to exit.
int RunStop(const std::string& home, uint64_t timeout_s);
// `follow|unfollow|block ID`; `method` is kFollow, kUnfollow or kBlock.
int RunFeedControl(const std::string& home, std::string_view method,
                   const std::string& id);

// Requests used by other commands (append, import, whoami, sync).
// Connects to the daemon or fails with kNoDaemonMessage.
Result<std::unique_ptr<ControlClient>> RequireDaemon(const std::string& home);
Result<NodeStatus> DaemonStatus(ControlClient* client);
// The daemon's id, address and (if `pid` is set) process id (hello).
Status DaemonHello(ControlClient* client, FeedId* id, std::string* address,
                   uint64_t* pid = nullptr);
// Appends `content` (one msgpack value); prints nothing.
Result<std::pair<uint64_t, EntryId>> DaemonAppend(ControlClient* client,
                                                  std::string_view content);

// Appends `contents` as consecutive entries (all or none).
Result<std::vector<std::pair<uint64_t, EntryId>>> DaemonAppendBatch(
    ControlClient* client, const std::vector<std::string>& contents);

// `status --json`'s object as text (also the web page's /api/status).
std::string StatusJsonText(const NodeStatus& status);

// Checks for CLI11 validators: a feed id (not "self").
std::string CheckFeedIdArg(const std::string& arg);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_DAEMON_COMMANDS_H_
