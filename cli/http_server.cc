#include "cli/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "plumlog/node.h"

namespace plumlog::cli {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// JSON string literal of `s` (quotes included); control characters escaped.
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// A parsed numeric address.
struct NumericAddress {
  int family = AF_INET;
  sockaddr_storage addr = {};
  socklen_t len = 0;
  bool loopback = false;
};

Result<NumericAddress> ParseNumeric(const std::string& host, uint16_t port) {
  NumericAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
    a.loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    return a;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    a.family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
    a.loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
    return a;
  }
  return Status::InvalidArgument("not a numeric IPv4 or [IPv6] address: " +
                                 host);
}

std::string FormatAddress(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
    std::string out = "[";  // built by appending: GCC 12 warns wrongly at -O3
    out.append(buf);
    out.append("]:");
    out.append(std::to_string(ntohs(v6->sin6_port)));
    return out;
  }
  return "?";
}

MHD_Result CollectValue(void* cls, MHD_ValueKind, const char* key,
                        const char* value) {
  auto* out =
      static_cast<std::vector<std::pair<std::string, std::string>>*>(cls);
  out->emplace_back(key != nullptr ? key : "", value != nullptr ? value : "");
  return MHD_YES;
}

}  // namespace

// ---- requests and responses ----

const std::string* HttpRequest::Query(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return &v;
  return nullptr;
}

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (EqualsIgnoreCase(k, name)) return &v;
  return nullptr;
}

HttpResponse HttpResponse::Text(int status, std::string body,
                                std::string content_type) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

HttpResponse HttpResponse::Json(std::string json, int status) {
  return Text(status, std::move(json), "application/json");
}

HttpResponse HttpResponse::Error(int status, std::string_view message) {
  return Json("{\"error\":" + JsonString(message) + "}\n", status);
}

std::string SseEvent(std::string_view name, std::string_view data) {
  std::string out;
  if (!name.empty()) {
    out += "event: ";
    out += name;
    out += '\n';
  }
  size_t start = 0;
  while (true) {
    const size_t nl = data.find('\n', start);
    std::string_view line =
        data.substr(start, nl == std::string_view::npos ? std::string_view::npos
                                                        : nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += "data: ";
    out += line;
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  out += '\n';
  return out;
}

Status HttpServerOptions::Validate() const {
  std::string host;
  uint16_t port = 0;
  if (Status st = ParseHostPort(listen, &host, &port); !st.ok())
    return st.WithContext("listen address " + listen);
  Result<NumericAddress> addr = ParseNumeric(host, port);
  if (!addr.ok()) return addr.status();
  if (!addr->loopback && !allow_remote) {
    return Status::InvalidArgument(
        listen +
        " is not a loopback address: the web page has no authentication, so "
        "anyone who can reach it could read the store and post to your feed; "
        "use 127.0.0.1:PORT (ssh -L or a reverse proxy with authentication "
        "reaches it from elsewhere), or allow it explicitly" +
        (allow_remote_hint.empty() ? "" : " with " + allow_remote_hint));
  }
  if (max_connections == 0 || max_connections > 10000)
    return Status::InvalidArgument("max_connections must be 1..10000");
  if (max_body_bytes == 0 || max_body_bytes > (size_t{64} << 20))
    return Status::InvalidArgument("max_body_bytes must be 1..64 MiB");
  if (idle_timeout_s == 0)
    return Status::InvalidArgument("idle_timeout_s must be at least 1");
  if (max_stream_queue_bytes < 1024)
    return Status::InvalidArgument("max_stream_queue_bytes must be >= 1 KiB");
  if (keepalive_ms < 100 || keepalive_ms >= int64_t{idle_timeout_s} * 1000) {
    return Status::InvalidArgument(
        "keepalive_ms must be at least 100 and below the idle timeout");
  }
  return Status::OK();
}

// ---- server state ----

// One request while it is received (libmicrohttpd's per-request pointer).
struct HttpServer::Request {
  HttpRequest http;
  bool too_large = false;
};

// One event-stream client. Owned by libmicrohttpd's response (freed in
// StreamFree when the connection is done with it).
struct HttpServer::StreamClient {
  HttpServer* server = nullptr;
  StreamClientId id = 0;
  MHD_Connection* conn = nullptr;
  std::string path;
  std::string queue;  // bytes not yet handed to libmicrohttpd
  size_t sent = 0;    // of queue
  bool suspended = false;
  bool closing = false;  // end the stream once the queue is out
  bool drop = false;     // end it at once, with an error (slow client)
};

// The C callbacks, with access to the server's privates.
struct HttpServerCallbacks {
  static MHD_Result OnAccess(void* cls, MHD_Connection* conn, const char* url,
                             const char* method, const char* /*version*/,
                             const char* upload_data, size_t* upload_data_size,
                             void** con_cls) {
    auto* self = static_cast<HttpServer*>(cls);
    auto* req = static_cast<HttpServer::Request*>(*con_cls);
    if (req == nullptr) {
      req = new HttpServer::Request();
      *con_cls = req;
      req->http.method = method != nullptr ? method : "";
      req->http.path = url != nullptr ? url : "";
      MHD_get_connection_values(conn, MHD_HEADER_KIND, &CollectValue,
                                &req->http.headers);
      MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, &CollectValue,
                                &req->http.query);
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
      if (info != nullptr && info->client_addr != nullptr)
        req->http.remote = FormatAddress(info->client_addr);
      // A body announced as too big is refused before it is read.
      if (const std::string* cl = req->http.Header("Content-Length")) {
        char* end = nullptr;
        const unsigned long long n = std::strtoull(cl->c_str(), &end, 10);
        if (end != cl->c_str() && n > self->options_.max_body_bytes) {
          return self->Respond(conn, TooLarge(self)) ? MHD_YES : MHD_NO;
        }
      }
      return MHD_YES;
    }
    if (*upload_data_size > 0) {
      if (req->http.body.size() + *upload_data_size >
          self->options_.max_body_bytes) {
        req->too_large = true;
      } else if (!req->too_large) {
        req->http.body.append(upload_data, *upload_data_size);
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    return self->Dispatch(conn, req) ? MHD_YES : MHD_NO;
  }

  static HttpResponse TooLarge(const HttpServer* self) {
    return HttpResponse::Error(
        413, "request body over " +
                 std::to_string(self->options_.max_body_bytes) + " bytes");
  }

  static void OnCompleted(void*, MHD_Connection*, void** con_cls,
                          MHD_RequestTerminationCode) {
    delete static_cast<HttpServer::Request*>(*con_cls);
    *con_cls = nullptr;
  }

  static ssize_t StreamRead(void* cls, uint64_t, char* buf, size_t max) {
    auto* c = static_cast<HttpServer::StreamClient*>(cls);
    if (c->drop) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (c->sent == c->queue.size()) {
      c->queue.clear();
      c->sent = 0;
      if (c->closing) return MHD_CONTENT_READER_END_OF_STREAM;
      // Nothing to send: park the connection until Queue() wakes it.
      MHD_suspend_connection(c->conn);
      c->suspended = true;
      return 0;
    }
    const size_t n = std::min(max, c->queue.size() - c->sent);
    std::memcpy(buf, c->queue.data() + c->sent, n);
    c->sent += n;
    return static_cast<ssize_t>(n);
  }

  static void StreamFree(void* cls) {
    auto* c = static_cast<HttpServer::StreamClient*>(cls);
    c->server->clients_.erase(c->id);
    delete c;
  }

  static void OnMhdLog(void* cls, const char* fmt, va_list ap) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    std::string line = buf;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
      line.pop_back();
    static_cast<HttpServer*>(cls)->Log("http: " + line);
  }

  static void OnPoll(uv_poll_t* handle, int, int) {
    static_cast<HttpServer*>(handle->data)->Run();
  }
  static void OnTimer(uv_timer_t* handle) {
    static_cast<HttpServer*>(handle->data)->Run();
  }
  static void OnKeepalive(uv_timer_t* handle) {
    auto* self = static_cast<HttpServer*>(handle->data);
    std::vector<HttpServer::StreamClient*> all;
    for (const auto& [id, c] : self->clients_) all.push_back(c);
    for (HttpServer::StreamClient* c : all) self->Queue(c, ":\n\n");
  }
  static void OnHandleClosed(uv_handle_t* handle) {
    static_cast<HttpServer*>(handle->data)->open_handles_--;
  }
};

HttpServer::HttpServer(uv_loop_t* loop, HttpServerOptions options)
    : loop_(loop), options_(std::move(options)) {}

HttpServer::~HttpServer() {
  // Only a server whose Start failed gets here with these still set.
  if (mhd_ != nullptr) MHD_stop_daemon(mhd_);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

Status HttpServer::Bind() {
  PLUMLOG_RETURN_IF_ERROR(ParseHostPort(options_.listen, &host_, &port_));
  Result<NumericAddress> addr = ParseNumeric(host_, port_);
  if (!addr.ok()) return addr.status();
  loopback_ = addr->loopback;  // Validate() refused others unless allowed
  const int fd = ::socket(addr->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Status::IOError(std::string("cannot create a socket: ") +
                           std::strerror(errno));
  }
  listen_fd_ = fd;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr->family == AF_INET6)
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr->addr), addr->len) !=
          0 ||
      ::listen(fd, 64) != 0) {
    return Status::IOError("cannot listen on " + options_.listen + ": " +
                           std::strerror(errno));
  }
  sockaddr_storage bound = {};
  socklen_t len = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return Status::IOError(std::string("getsockname: ") + std::strerror(errno));
  }
  address_ = FormatAddress(reinterpret_cast<const sockaddr*>(&bound));
  port_ = ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  return Status::OK();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(
    uv_loop_t* loop, const HttpServerOptions& options) {
  PLUMLOG_RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<HttpServer> s(new HttpServer(loop, options));
  PLUMLOG_RETURN_IF_ERROR(s->Bind());
  using CB = HttpServerCallbacks;
  const unsigned int flags =
      MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  s->mhd_ = MHD_start_daemon(
      flags, s->port_, nullptr, nullptr, &CB::OnAccess, s.get(),
      // The logger first, so that it gets the messages about the others.
      MHD_OPTION_EXTERNAL_LOGGER, &CB::OnMhdLog, s.get(),
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(s->listen_fd_),
      MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned int>(options.max_connections),
      MHD_OPTION_CONNECTION_TIMEOUT, options.idle_timeout_s,
      MHD_OPTION_NOTIFY_COMPLETED, &CB::OnCompleted, nullptr, MHD_OPTION_END);
  if (s->mhd_ == nullptr) {
    return Status::IOError("cannot start the HTTP server on " + s->address_);
  }
  s->listen_fd_ = -1;  // libmicrohttpd closes it when stopped
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(s->mhd_, MHD_DAEMON_INFO_EPOLL_FD);
  if (info == nullptr || info->epoll_fd < 0)
    return Status::IOError("libmicrohttpd gave no epoll descriptor");
  uv_poll_init(loop, &s->poll_, info->epoll_fd);
  uv_timer_init(loop, &s->timer_);
  uv_timer_init(loop, &s->keepalive_);
  s->poll_.data = s.get();
  s->timer_.data = s.get();
  s->keepalive_.data = s.get();
  s->open_handles_ = 3;
  uv_poll_start(&s->poll_, UV_READABLE, &CB::OnPoll);
  const uint64_t ka = static_cast<uint64_t>(options.keepalive_ms);
  uv_timer_start(&s->keepalive_, &CB::OnKeepalive, ka, ka);
  s->Run();
  return s;
}

Status HttpServer::Handle(std::string_view method, std::string path,
                          HttpHandler handler) {
  if (path.empty() || path[0] != '/')
    return Status::InvalidArgument("path must start with '/': " + path);
  if (method.empty() || method == "HEAD")
    return Status::InvalidArgument("method must be GET, POST, ...");
  Route& r = routes_[path];
  if (r.methods.count(method) > 0 || (method == "GET" && r.stream)) {
    return Status::AlreadyExists(std::string(method) + " " + path +
                                 " is already served");
  }
  r.methods.emplace(std::string(method), std::move(handler));
  return Status::OK();
}

Status HttpServer::HandleStream(std::string path, StreamOpenHandler on_open) {
  if (path.empty() || path[0] != '/')
    return Status::InvalidArgument("path must start with '/': " + path);
  Route& r = routes_[path];
  if (r.stream || r.methods.count("GET") > 0)
    return Status::AlreadyExists("GET " + path + " is already served");
  r.stream = std::move(on_open);
  return Status::OK();
}

void HttpServer::Run() {
  if (mhd_ == nullptr || in_run_) return;
  in_run_ = true;
  resume_pending_ = false;
  MHD_run(mhd_);
  in_run_ = false;
  if (closed_) return;
  MHD_UNSIGNED_LONG_LONG timeout = 0;
  if (resume_pending_) {
    // A connection resumed meanwhile: only MHD_run takes it up (with
    // external polling nothing wakes the epoll descriptor for it).
    uv_timer_start(&timer_, &HttpServerCallbacks::OnTimer, 0, 0);
  } else if (MHD_get_timeout(mhd_, &timeout) == MHD_YES) {
    uv_timer_start(&timer_, &HttpServerCallbacks::OnTimer, timeout, 0);
  } else {
    uv_timer_stop(&timer_);
  }
}

std::string HttpServer::CheckOrigin(const Request& req) const {
  if (!loopback_ || options_.allow_remote) return "";
  const std::string* host = req.http.Header("Host");
  if (host == nullptr) return "no Host header";
  std::string name;
  uint16_t port = 80;
  if (!ParseHostPort(*host, &name, &port).ok()) {
    name = *host;  // a bare name: port 80
    port = 80;
  }
  Result<NumericAddress> numeric = ParseNumeric(name, port);
  const bool local = EqualsIgnoreCase(name, "localhost") ||
                     (numeric.ok() && numeric->loopback);
  if (!local || port != port_) {
    return "Host " + *host +
           " is not this server's loopback address (DNS rebinding?)";
  }
  if (req.http.method != "GET" && req.http.method != "HEAD") {
    const std::string* origin = req.http.Header("Origin");
    if (origin != nullptr && *origin != "http://" + *host) {
      return "Origin " + *origin + " is not this server's (http://" + *host +
             ")";
    }
  }
  return "";
}

bool HttpServer::Dispatch(MHD_Connection* conn, Request* req) {
  const HttpRequest& http = req->http;
  if (std::string why = CheckOrigin(*req); !why.empty())
    return Respond(conn, HttpResponse::Error(403, why));
  auto it = routes_.find(http.path);
  if (it == routes_.end())
    return Respond(conn,
                   HttpResponse::Error(404, "no such page: " + http.path));
  const Route& route = it->second;
  const std::string method = http.method == "HEAD" ? "GET" : http.method;
  if (route.stream && method == "GET") return OpenStream(conn, req, route);
  auto h = route.methods.find(method);
  if (h == route.methods.end()) {
    std::string allow;
    for (const auto& [m, unused] : route.methods)
      allow += (allow.empty() ? "" : ", ") + m + (m == "GET" ? ", HEAD" : "");
    if (route.stream) allow += allow.empty() ? "GET, HEAD" : ", GET, HEAD";
    HttpResponse r =
        HttpResponse::Error(405, http.method + " not allowed on " + http.path);
    r.headers.emplace_back("Allow", allow);
    return Respond(conn, r);
  }
  if (req->too_large) return Respond(conn, HttpServerCallbacks::TooLarge(this));
  HttpResponse response;
  try {
    response = h->second(http);
  } catch (const std::exception& e) {
    Log(std::string("http: handler of ") + http.path + " failed: " + e.what());
    response = HttpResponse::Error(500, "internal error");
  } catch (...) {
    Log("http: handler of " + http.path + " failed");
    response = HttpResponse::Error(500, "internal error");
  }
  return Respond(conn, response);
}

bool HttpServer::Respond(MHD_Connection* conn, const HttpResponse& r) {
  MHD_Response* resp = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (resp == nullptr) return false;
  MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  for (const auto& [k, v] : r.headers)
    MHD_add_response_header(resp, k.c_str(), v.c_str());
  const MHD_Result ok =
      MHD_queue_response(conn, static_cast<unsigned int>(r.status), resp);
  MHD_destroy_response(resp);
  return ok == MHD_YES;
}

bool HttpServer::OpenStream(MHD_Connection* conn, Request* req,
                            const Route& route) {
  auto* c = new StreamClient();
  c->server = this;
  c->id = next_client_++;
  c->conn = conn;
  c->path = req->http.path;
  clients_[c->id] = c;
  std::string first;
  try {
    first = route.stream(req->http, c->id);
  } catch (...) {
    Log("http: stream handler of " + c->path + " failed");
  }
  c->queue = first + c->queue;  // what it Send()s meanwhile comes after
  MHD_Response* resp = MHD_create_response_from_callback(
      MHD_SIZE_UNKNOWN, 16 * 1024, &HttpServerCallbacks::StreamRead, c,
      &HttpServerCallbacks::StreamFree);
  if (resp == nullptr) {
    clients_.erase(c->id);
    delete c;
    return false;
  }
  MHD_add_response_header(resp, "Content-Type", "text/event-stream");
  MHD_add_response_header(resp, "Cache-Control", "no-cache");
  MHD_add_response_header(resp, "X-Accel-Buffering", "no");
  const MHD_Result ok = MHD_queue_response(conn, 200, resp);
  MHD_destroy_response(resp);  // frees `c` now if it was not queued
  return ok == MHD_YES;
}

void HttpServer::Queue(StreamClient* c, std::string_view events) {
  if (c->closing || c->drop || events.empty()) return;
  if (c->queue.size() - c->sent + events.size() >
      options_.max_stream_queue_bytes) {
    Log("http: event stream client " + std::to_string(c->id) + " of " +
        c->path + " does not read; disconnecting it");
    c->drop = true;
  } else {
    c->queue.append(events);
  }
  Wake(c);
}

void HttpServer::Wake(StreamClient* c) {
  if (!c->suspended) return;
  c->suspended = false;
  MHD_resume_connection(c->conn);
  resume_pending_ = true;
  if (!in_run_ && !closed_)
    uv_timer_start(&timer_, &HttpServerCallbacks::OnTimer, 0, 0);
}

size_t HttpServer::Publish(std::string_view path, std::string_view events) {
  size_t n = 0;
  std::vector<StreamClient*> all;
  for (const auto& [id, c] : clients_)
    if (c->path == path) all.push_back(c);
  for (StreamClient* c : all) {
    Queue(c, events);
    if (!c->drop) ++n;
  }
  return n;
}

bool HttpServer::Send(StreamClientId client, std::string_view events) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return false;
  Queue(it->second, events);
  return !it->second->drop;
}

size_t HttpServer::stream_clients(std::string_view path) const {
  size_t n = 0;
  for (const auto& [id, c] : clients_)
    if (c->path == path && !c->closing && !c->drop) ++n;
  return n;
}

void HttpServer::Close() {
  if (closed_) return;
  closed_ = true;
  if (mhd_ == nullptr) return;
  // Every stream ends; a parked connection must be resumed (and taken off
  // libmicrohttpd's suspended list by MHD_run) before MHD_stop_daemon.
  for (const auto& [id, c] : clients_) {
    c->closing = true;
    Wake(c);
  }
  MHD_run(mhd_);
  // The poll handle stops watching the epoll descriptor now, before
  // libmicrohttpd closes it.
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&poll_),
                         reinterpret_cast<uv_handle_t*>(&timer_),
                         reinterpret_cast<uv_handle_t*>(&keepalive_)}) {
    uv_close(h, &HttpServerCallbacks::OnHandleClosed);
  }
  MHD_stop_daemon(mhd_);  // closes the connections and the listening socket
  mhd_ = nullptr;
}

void HttpServer::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

}  // namespace plumlog::cli
