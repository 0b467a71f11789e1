// The client side of the daemon's control socket (cli/control_protocol.h):
// a blocking unix-socket connection used by the commands that talk to a
// running `plumlog serve`.
#ifndef PLUMLOG_CLI_CONTROL_CLIENT_H_
#define PLUMLOG_CLI_CONTROL_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plumlog/status.h"

namespace plumlog::cli {

// <home>/control.sock.
std::string ControlSocketPath(const std::string& home);

// The message of the error a command that needs a daemon reports when none
// answers.
inline constexpr std::string_view kNoDaemonMessage =
    "no daemon running (start one with `plumlog serve`)";

// Starts a request: the array header for `args` arguments and the method.
std::string ControlRequest(std::string_view method, uint32_t args);

class ControlClient {
 public:
  // Connects to the daemon of `home`. NotFound (kNoDaemonMessage) when no
  // daemon answers: no socket file, or a stale one nobody listens on.
  static Result<std::unique_ptr<ControlClient>> Connect(
      const std::string& home);
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends `request` (an encoded msgpack array) and waits up to `timeout_ms`
  // for the response. On success `results` holds the response's result
  // values (`count` of them, msgpack); an error response is returned as its
  // Status.
  Status Call(std::string_view request, int timeout_ms, uint32_t* count,
              std::string* results);

  // After an `events` request: the socket to poll for readability, and the
  // event frames that arrived. ReadFrames reads what is readable now
  // without waiting and appends each complete frame's payload to `frames`;
  // IOError once the daemon closed the connection (frames read before it
  // are kept), Corruption for a malformed frame length.
  int fd() const { return fd_; }
  Status ReadFrames(std::vector<std::string>* frames);

 private:
  explicit ControlClient(int fd) : fd_(fd) {}
  Status SendAll(std::string_view bytes, int64_t deadline_ms);
  Status ReadExact(size_t n, std::string* out, int64_t deadline_ms);
  int fd_;
  std::string in_;  // ReadFrames: bytes of frames not yet complete
};

// Connects to the daemon if one answers: *client set and OK; no daemon:
// *client null and OK; any other failure (e.g. permission denied): error.
Status ConnectIfRunning(const std::string& home,
                        std::unique_ptr<ControlClient>* client);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_CONTROL_CLIENT_H_
