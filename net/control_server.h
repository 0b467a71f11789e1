// The daemon's side of the control socket: a unix socket server on a libuv
// loop that reads length-prefixed request frames (a 4-byte big-endian length,
// then the payload; cli/control_protocol.h defines the payloads), hands each
// to a ControlHandler and writes back its response. A client that sends a
// frame over the limit or an empty frame gets the handler's refusal and is
// disconnected; the handler validates every request's contents.
#ifndef PLUMLOG_NET_CONTROL_SERVER_H_
#define PLUMLOG_NET_CONTROL_SERVER_H_

#include <uv.h>

#include <cstddef>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "plumlog/status.h"

namespace plumlog::net {

// Identifies one connected client for the server's lifetime.
using ControlClientId = uint64_t;

class ControlHandler {
 public:
  virtual ~ControlHandler() = default;
  // Returns the response payload for one request payload of `client`. Runs
  // on the loop.
  virtual std::string Handle(std::string_view request,
                             ControlClientId client) = 0;
  // The response payload sent before a client whose frame length is 0 or
  // over the limit is disconnected.
  virtual std::string Refuse(const Status& why) = 0;
  // `client` disconnected (or was disconnected). Runs on the loop.
  virtual void OnClientClosed(ControlClientId client) { (void)client; }
};

class ControlServer {
 public:
  // Most clients connected at once; more are disconnected at once.
  static constexpr size_t kMaxClients = 64;
  // Responses queued to one client above which it is disconnected (it does
  // not read its answers).
  static constexpr size_t kMaxQueuedBytes = size_t{64} << 20;

  // Binds `path` (mode 0600; an existing file there is replaced, so check
  // that no daemon answers on it first) and listens on `loop`. `handler` is
  // not owned and must outlive the server.
  static Result<std::unique_ptr<ControlServer>> Start(uv_loop_t* loop,
                                                      const std::string& path,
                                                      size_t max_frame_bytes,
                                                      ControlHandler* handler);
  // The server must have been closed and its handles' close callbacks run
  // (the loop run after Close()).
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Sends one more frame to `client` (an event of a subscription, after its
  // request was answered). False if the client is gone; a client that does
  // not read (kMaxQueuedBytes queued) is disconnected.
  bool Push(ControlClientId client, std::string_view payload);

  // Stops listening, disconnects every client and removes the socket file.
  // Completes as the loop runs.
  void Close();
  bool closed() const { return closed_ && open_handles_ == 0; }

 private:
  struct Client;
  struct WriteRequest;

  ControlServer(uv_loop_t* loop, std::string path, size_t max_frame_bytes,
                ControlHandler* handler);
  static void OnConnection(uv_stream_t* server, int status);
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnClientClosed(uv_handle_t* handle);
  static void OnListenerClosed(uv_handle_t* handle);

  void HandleInput(Client* client);
  void Send(Client* client, std::string_view payload);
  void CloseClient(Client* client);

  uv_loop_t* loop_;
  std::string path_;
  const size_t max_frame_bytes_;
  ControlHandler* handler_;
  uv_pipe_t listener_;
  bool closed_ = false;
  size_t open_handles_ = 0;
  std::set<Client*> clients_;
  std::map<ControlClientId, Client*> by_id_;
  ControlClientId next_id_ = 1;
};

}  // namespace plumlog::net

#endif  // PLUMLOG_NET_CONTROL_SERVER_H_
