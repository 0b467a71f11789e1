// Where `plumlog chat` reads, writes and learns what happens: a running
// daemon (through its control socket and a read-only view of the store,
// reconnecting when the daemon comes back), or a node of the chat's own
// when no daemon runs (docs/chat.md, "Where it runs").
#ifndef PLUMLOG_CLI_CHAT_BACKEND_H_
#define PLUMLOG_CLI_CHAT_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli/serve_config.h"
#include "plumlog/node.h"
#include "plumlog/status.h"
#include "plumlog/store.h"

namespace plumlog::cli {

struct ChatEvent {
  enum class Kind {
    kStored,  // entries were stored: read the store
    kMember,  // a membership event (member)
    kLost,    // the daemon went away (text: why)
    kBack,    // the daemon answers again (text: its address)
  };
  Kind kind = Kind::kStored;
  MemberEvent member;
  std::string text;
};

class ChatBackend {
 public:
  // First wait before reconnecting to a daemon that went away, and the
  // longest (the wait doubles per failed attempt).
  static constexpr int64_t kReconnectMinMs = 250;
  static constexpr int64_t kReconnectMaxMs = 2000;

  virtual ~ChatBackend() = default;

  // Opens the daemon's backend if one answers on `home`, else the store and
  // a node configured by `node` (ServeSettings as `plumlog serve`'s).
  // `hello` gets the line to show first ("* using the daemon at ...").
  static Result<std::unique_ptr<ChatBackend>> Open(const std::string& home,
                                                   const ServeSettings& node,
                                                   std::string* hello);

  virtual bool daemon() const = 0;
  // Entries are read from here (ReadArrival from a cursor of one's own).
  virtual Store* store() = 0;
  // Makes what was stored since the last call readable through store().
  virtual Status Refresh() = 0;
  // A descriptor that becomes readable when Poll has something; -1 when
  // there is none now (offline: Poll is called on a timer anyway).
  virtual int fd() const = 0;
  // Collects what happened since the last call, without blocking for long:
  // events of the daemon or the node, a lost daemon, a reconnection when
  // one is due (every kReconnectMinMs..kReconnectMaxMs while offline).
  virtual void Poll(int64_t now_ms, std::vector<ChatEvent>* events) = 0;
  // The daemon answers (always true for a node of our own).
  virtual bool online() const = 0;
  // Appends one entry (chat content). When it fails because the daemon went
  // away, online() is false afterwards.
  virtual Status Append(const std::string& content) = 0;
  virtual Result<NodeStatus> GetStatus() = 0;
  virtual void Stop() {}
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_CHAT_BACKEND_H_
