// The daemon's `events` subscriptions on the control socket
// (cli/control_protocol.h): clients that asked for events get a frame for
// every membership event and a coalesced "stored" frame when entries became
// durable (`plumlog chat` follows the daemon this way).
#ifndef PLUMLOG_CLI_CONTROL_EVENTS_H_
#define PLUMLOG_CLI_CONTROL_EVENTS_H_

#include <uv.h>

#include <set>

#include "net/control_server.h"
#include "plumlog/node.h"

namespace plumlog::cli {

class ControlEvents : public NodeListener {
 public:
  // How long "stored" frames are held back to carry a burst in one frame.
  static constexpr uint64_t kStoredDelayMs = 20;

  // Runs on `loop` (the node's and the control server's).
  explicit ControlEvents(uv_loop_t* loop);
  // Close() must have completed (closed()).
  ~ControlEvents() override;
  ControlEvents(const ControlEvents&) = delete;
  ControlEvents& operator=(const ControlEvents&) = delete;

  // The server that carries the frames; set before the first Subscribe.
  void set_server(net::ControlServer* server) { server_ = server; }
  void Subscribe(net::ControlClientId client) { subscribers_.insert(client); }
  void Unsubscribe(net::ControlClientId client) { subscribers_.erase(client); }
  size_t subscribers() const { return subscribers_.size(); }

  // NodeListener (on the loop).
  void OnEntry(const Entry& entry) override;
  void OnMemberEvent(const MemberEvent& event) override;

  // Stops the timer; completes as the loop runs.
  void Close();
  bool closed() const { return closed_ && timer_closed_; }

 private:
  static void OnTimer(uv_timer_t* timer);
  void Broadcast(const std::string& payload);

  uv_timer_t timer_;
  net::ControlServer* server_ = nullptr;
  std::set<net::ControlClientId> subscribers_;
  bool stored_pending_ = false;
  bool closed_ = false;
  bool timer_closed_ = false;
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_CONTROL_EVENTS_H_
