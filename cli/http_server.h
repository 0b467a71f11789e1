// A small HTTP/1.1 server for the daemon (`plumlog serve --http`, docs/cli.md):
// libmicrohttpd driven by the daemon's libuv loop, so every handler runs on
// the loop thread like the control socket's, and an open event stream costs a
// buffer, not a thread.
//
// Handlers are registered by method and exact path. A handler returns the
// whole response; an event stream (server-sent events, the browser's
// EventSource) is registered by path and fed with Publish()/Send().
//
//   HttpServerOptions o;
//   o.listen = "127.0.0.1:8080";
//   auto server = HttpServer::Start(loop, o);          // on the loop thread
//   (*server)->Handle("GET", "/metrics", [&](const HttpRequest&) {
//     return HttpResponse::Text(200, RenderMetrics(), "text/plain;
//     version=0.0.4");
//   });
//   ...
//   (*server)->Close();   // then run the loop until closed(), then destroy
//
// Safety by default: only loopback addresses may be bound unless
// allow_remote is set; on a loopback address a request whose Host header
// names another host is refused (DNS rebinding), and a request other than
// GET/HEAD whose Origin header is not this server's is refused (another web
// site's page posting through the user's browser).
#ifndef PLUMLOG_CLI_HTTP_SERVER_H_
#define PLUMLOG_CLI_HTTP_SERVER_H_

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plumlog/status.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace plumlog::cli {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", "POST", ...
  std::string path;    // the URL's path, percent-decoded, without the query
  // Query arguments (percent-decoded) and request headers, in the order sent.
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;    // at most HttpServerOptions::max_body_bytes
  std::string remote;  // the client's HOST:PORT

  // The first value of a query argument (exact name) / header (any case);
  // nullptr when absent.
  const std::string* Query(std::string_view name) const;
  const std::string* Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra headers (Cache-Control, Allow, ...).
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Text(
      int status, std::string body,
      std::string content_type = "text/plain; charset=utf-8");
  static HttpResponse Json(std::string json, int status = 200);
  // {"error": MESSAGE} with `status`.
  static HttpResponse Error(int status, std::string_view message);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// One client of an event stream, unique per server for its lifetime.
using StreamClientId = uint64_t;
// Called when a client opens an event stream, before anything is sent to
// it; returns the events it gets first (SseEvent()s, may be empty).
using StreamOpenHandler =
    std::function<std::string(const HttpRequest&, StreamClientId)>;

// One server-sent event: "event: NAME\ndata: LINE\n...\n\n" (a data with
// newlines becomes several data lines, as the format requires). An empty
// `name` leaves out the event line (the browser's "message" event).
std::string SseEvent(std::string_view name, std::string_view data);

// Options of an HttpServer. Every field has a documented default.
struct HttpServerOptions {
  // HOST:PORT to listen on; numeric IPv4 or [IPv6]. Port 0 picks a free port
  // (see HttpServer::address()). Default: "127.0.0.1:0".
  std::string listen = "127.0.0.1:0";
  // Allow a listen address that is not loopback (127.0.0.0/8, ::1);
  // Validate() refuses one otherwise, saying why. The server has no
  // authentication: whoever reaches it gets what its handlers give. With it
  // set, Host and Origin are not checked (names the server cannot know are
  // used to reach it). Default: false.
  bool allow_remote = false;
  // How a user sets allow_remote, named in the refusal of a non-loopback
  // address (e.g. "--http-allow-remote"). Default: "".
  std::string allow_remote_hint;
  // Most connections at once (event streams included); further ones wait in
  // the listen queue until one closes. Default: 64.
  size_t max_connections = 64;
  // Largest request body; a bigger one is answered 413. Default: 64 KiB.
  size_t max_body_bytes = 64 * 1024;
  // A connection idle this long (no request, no response progress) is
  // closed. Event streams are kept busy by keepalives. Default: 30 s.
  unsigned int idle_timeout_s = 30;
  // Bytes queued for one event-stream client above which it is disconnected
  // (it does not read; its browser reconnects and starts afresh).
  // Default: 1 MiB.
  size_t max_stream_queue_bytes = size_t{1} << 20;
  // Every stream client gets a comment line this often, so that proxies and
  // the idle timeout keep it open and a vanished client is noticed.
  // Default: 15000 ms.
  int64_t keepalive_ms = 15000;
  // Where the server's own problems go (refused binds are returned, not
  // logged; this is for accept failures, libmicrohttpd's messages, slow
  // stream clients dropped). Default: none (silent).
  std::function<void(const std::string&)> log;

  Status Validate() const;
};

class HttpServer {
 public:
  // Binds options.listen and serves on `loop` (call on the loop's thread).
  // InvalidArgument for bad options or a non-loopback address without
  // allow_remote (the message says why); IOError when the bind fails.
  static Result<std::unique_ptr<HttpServer>> Start(
      uv_loop_t* loop, const HttpServerOptions& options);
  // Close() must have completed (closed()) unless Start failed.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves `method` (GET also answers HEAD) on exactly `path` (starting with
  // '/'). AlreadyExists if the pair is taken. Other methods on a registered
  // path get 405 with Allow; unregistered paths 404.
  Status Handle(std::string_view method, std::string path, HttpHandler handler);
  // Serves a server-sent event stream on GET `path`.
  Status HandleStream(std::string path, StreamOpenHandler on_open);

  // Queues `events` (SseEvent()s) for every client of the stream at `path` /
  // for one client (ignored if it is gone). Returns how many got it.
  size_t Publish(std::string_view path, std::string_view events);
  bool Send(StreamClientId client, std::string_view events);
  size_t stream_clients(std::string_view path) const;

  // HOST:PORT actually bound ([v6]:PORT), port 0 resolved.
  const std::string& address() const { return address_; }

  // Ends every stream, closes every connection and stops listening;
  // completes as the loop runs.
  void Close();
  bool closed() const { return closed_ && open_handles_ == 0; }

 private:
  struct Request;
  struct StreamClient;
  struct Route {
    std::map<std::string, HttpHandler, std::less<>> methods;
    StreamOpenHandler stream;
  };

  HttpServer(uv_loop_t* loop, HttpServerOptions options);
  Status Bind();

  // The libmicrohttpd and libuv callbacks (http_server.cc).
  friend struct HttpServerCallbacks;

  // Runs libmicrohttpd's pending work and rearms the timer.
  void Run();
  // Answers a fully received request: true when a response was queued.
  bool Dispatch(MHD_Connection* conn, Request* req);
  bool Respond(MHD_Connection* conn, const HttpResponse& response);
  bool OpenStream(MHD_Connection* conn, Request* req, const Route& route);
  // Refusal reason for a request's Host/Origin, "" when acceptable.
  std::string CheckOrigin(const Request& req) const;
  void Queue(StreamClient* client, std::string_view events);
  void Wake(StreamClient* client);
  void Log(const std::string& line) const;

  uv_loop_t* loop_;
  HttpServerOptions options_;
  std::string host_;  // bound host (no brackets)
  uint16_t port_ = 0;
  std::string address_;
  bool loopback_ = true;
  int listen_fd_ = -1;
  MHD_Daemon* mhd_ = nullptr;
  uv_poll_t poll_;
  uv_timer_t timer_;
  uv_timer_t keepalive_;
  bool closed_ = false;
  size_t open_handles_ = 0;
  bool in_run_ = false;
  bool resume_pending_ = false;  // a connection was resumed since MHD_run
  std::map<std::string, Route, std::less<>> routes_;
  StreamClientId next_client_ = 1;
  std::map<StreamClientId, StreamClient*> clients_;
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_HTTP_SERVER_H_
