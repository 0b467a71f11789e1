#include "cli/serve_command.h"

#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/control_client.h"
#include "cli/control_events.h"
#include "cli/control_protocol.h"
#include "cli/daemon_commands.h"
#include "net/control_server.h"
#include "cli/home.h"
#include "cli/http_server.h"
#include "cli/metrics.h"
#include "cli/output.h"
#include "cli/repair_command.h"
#include "cli/web_chat.h"
#include "core/host_port.h"
#include "net/host_port.h"
#include "net/logger.h"
#include "plumlog/node.h"
#include "core/msgpack_reader.h"

namespace plumlog::cli {
namespace {

using core::AppendMsgpackArrayHeader;
using core::AppendMsgpackBin;
using core::AppendMsgpackBool;
using core::AppendMsgpackNil;
using core::AppendMsgpackStr;
using core::AppendMsgpackUint;
using core::MsgpackReader;

// Answers control requests with the store and the node (both on this loop).
class Daemon : public net::ControlHandler {
 public:
  // `stop` is called on the loop when a client asks the daemon to stop; it
  // must not stop at once (the response is still to be written). `events`
  // takes the clients that subscribe to events.
  Daemon(Store* store, Node* node, net::Logger* log, std::function<void()> stop,
         ControlEvents* events)
      : store_(store),
        node_(node),
        log_(log),
        stop_(std::move(stop)),
        events_(events) {}

  std::string Handle(std::string_view request,
                     net::ControlClientId client) override {
    Result<ParsedRequest> req = ParseRequest(request);
    if (!req.ok()) return ErrorResponse(req.status());
    if (req->method == kEvents) {
      events_->Subscribe(client);
      return OkResponse(0);
    }
    std::string response;
    Status st = Dispatch(*req, &response);
    if (!st.ok()) return ErrorResponse(st);
    return response;
  }
  void OnClientClosed(net::ControlClientId client) override {
    events_->Unsubscribe(client);
  }
  std::string Refuse(const Status& why) override { return ErrorResponse(why); }

 private:
  // Acts on a request ParseRequest validated.
  Status Dispatch(ParsedRequest& req, std::string* out) {
    const std::string& method = req.method;
    if (method == kHello) {
      *out = OkResponse(3);
      AppendMsgpackBin(out, store_->local_id().view());
      AppendMsgpackStr(out, node_->address().ToString());
      AppendMsgpackUint(out, static_cast<uint64_t>(::getpid()));
      return Status::OK();
    }
    if (method == kAppend) {
      Result<Entry> e = store_->Append(req.content);
      if (!e.ok()) return e.status().WithContext("cannot append");
      *out = OkResponse(2);
      AppendMsgpackUint(out, e->seq());
      AppendMsgpackBin(out, e->id().view());
      return Status::OK();
    }
    if (method == kAppendBatch) {
      if (req.contents.empty()) {
        return Status::InvalidArgument("append.batch: no contents");
      }
      Result<std::vector<Entry>> entries = store_->AppendBatch(req.contents);
      if (!entries.ok()) return entries.status().WithContext("cannot append");
      *out = OkResponse(2);
      AppendMsgpackUint(out, entries->front().seq());
      AppendMsgpackArrayHeader(out, static_cast<uint32_t>(entries->size()));
      for (const Entry& e : *entries) AppendMsgpackBin(out, e.id().view());
      return Status::OK();
    }
    if (method == kIngest) {
      const IngestResult result = store_->Ingest(std::move(req.entries));
      *out = OkResponse(5);
      AppendMsgpackUint(out, result.stored);
      AppendMsgpackUint(out, result.duplicates);
      if (result.failed_index) {
        AppendMsgpackUint(out, *result.failed_index);
      } else {
        AppendMsgpackNil(out);
      }
      AppendMsgpackUint(out, static_cast<uint64_t>(result.failure.code()));
      AppendMsgpackStr(out, result.failure.message());
      return Status::OK();
    }
    if (method == kStatus) {
      PLUMLOG_ASSIGN_OR_RETURN(NodeStatus status, node_->GetStatus());
      *out = OkResponse(kStatusResults);
      EncodeStatus(status, out);
      return Status::OK();
    }
    if (method == kPeersAdd) {
      PLUMLOG_RETURN_IF_ERROR(node_->AddPeer(req.address));
    } else if (method == kConnect) {
      PLUMLOG_RETURN_IF_ERROR(node_->Connect(req.address));
    } else if (method == kInSync) {
      return InSync(req.feed, out);
    } else if (method == kPeersRemove) {
      PLUMLOG_RETURN_IF_ERROR(node_->RemovePeer(req.feed));
    } else if (method == kFollow) {
      PLUMLOG_RETURN_IF_ERROR(node_->Follow(req.feed));
      Log("following " + req.feed.ToString());
    } else if (method == kUnfollow) {
      PLUMLOG_RETURN_IF_ERROR(node_->Unfollow(req.feed));
      Log("unfollowed " + req.feed.ToString());
    } else if (method == kBlock) {
      PLUMLOG_RETURN_IF_ERROR(node_->Block(req.feed));
      Log("blocked " + req.feed.ToString());
    } else if (method == kStop) {
      stop_();
    } else if (method == kPurge) {
      PLUMLOG_RETURN_IF_ERROR(node_->Purge(req.feed));
      Log("blocked " + req.feed.ToString() + " and deleted its entries");
    } else if (method == kUnblock) {
      PLUMLOG_RETURN_IF_ERROR(node_->Unblock(req.feed));
      Log("unblocked " + req.feed.ToString());
    } else if (method == kPolicy) {
      PLUMLOG_ASSIGN_OR_RETURN(ReplicationPolicyStatus policy, node_->Policy());
      *out = OkResponse(5);
      EncodePolicy(policy, out);
      return Status::OK();
    }
    *out = OkResponse(0);
    return Status::OK();
  }

  Status InSync(const FeedId& peer, std::string* out) {
    PLUMLOG_ASSIGN_OR_RETURN(bool in_sync, node_->InSyncWith(peer));
    PLUMLOG_ASSIGN_OR_RETURN(NodeStatus status, node_->GetStatus());
    bool connected = false;
    // Connections in their handshake are listed too; only an open one (a
    // replication neighbour) counts.
    for (const ConnectionStatus& c : status.connections)
      connected = connected || (c.peer == peer && c.replicating);
    *out = OkResponse(5);
    AppendMsgpackBool(out, in_sync);
    AppendMsgpackBool(out, connected);
    AppendMsgpackUint(out, status.progress_start);
    AppendMsgpackUint(out, status.progress_current);
    AppendMsgpackUint(out, status.progress_target);
    return Status::OK();
  }

  void Log(const std::string& line) { log_->Log(LogLevel::kInfo, line); }

  Store* store_;
  Node* node_;
  net::Logger* log_;
  std::function<void()> stop_;
  ControlEvents* events_;
};

// Everything on the loop: the node, the control server, the signals.
struct Server {
  uv_loop_t loop;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uv_signal_t sighup;
  uv_timer_t stop_timer;  // `plumlog stop`: stops on the next loop turn
  net::Logger log;
  std::unique_ptr<Node> node;
  std::unique_ptr<net::ControlServer> control;
  std::unique_ptr<ControlEvents> events;  // `events` subscriptions
  std::unique_ptr<HttpServer> http;       // --http
  std::unique_ptr<WebChat> web;
  std::unique_ptr<HttpServer> metrics;  // --metrics
  bool stopping = false;
};

// Closes the servers and stops the node; completes as the loop runs.
void CloseServers(Server* s) {
  if (s->control) s->control->Close();
  if (s->events) {
    s->node->RemoveListener(s->events.get());
    s->events->Close();
  }
  if (s->web) s->web->Close();
  if (s->http) s->http->Close();
  if (s->metrics) s->metrics->Close();
  s->node->Stop();
}

void Shutdown(Server* s, const std::string& why) {
  if (s->stopping) return;
  s->stopping = true;
  s->log.Log(LogLevel::kInfo, why + ", shutting down");
  CloseServers(s);
  for (uv_signal_t* sig : {&s->sigint, &s->sigterm, &s->sighup})
    uv_close(reinterpret_cast<uv_handle_t*>(sig), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->stop_timer), nullptr);
}

void OnStopSignal(uv_signal_t* handle, int signum) {
  Shutdown(
      static_cast<Server*>(handle->data),
      std::string("received ") + (signum == SIGINT ? "SIGINT" : "SIGTERM"));
}

void OnStopTimer(uv_timer_t* timer) {
  Shutdown(static_cast<Server*>(timer->data), "`plumlog stop` asked to stop");
}

// SIGHUP: reopen the log file (logrotate moved it away).
void OnHangup(uv_signal_t* handle, int) {
  auto* s = static_cast<Server*>(handle->data);
  Status st = s->log.Reopen();
  if (st.ok()) {
    s->log.Log(LogLevel::kInfo, "received SIGHUP, log file reopened");
  } else {
    s->log.Log(LogLevel::kError,
               "received SIGHUP, cannot reopen the log file: " + st.message());
  }
}

void CloseAny(uv_handle_t* h, void*) {
  if (!uv_is_closing(h)) uv_close(h, nullptr);
}

// Once the loop has run out: frees what ran on it and closes the loop.
// False if handles were left open.
bool CloseLoop(Server* s) {
  s->web.reset();
  s->http.reset();
  s->metrics.reset();
  s->node.reset();
  // Anything still open (there should be nothing) is closed before the loop.
  uv_walk(&s->loop, &CloseAny, nullptr);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  s->control.reset();
  return uv_loop_close(&s->loop) == 0;
}

// A start that failed after the node started: stops what runs, as on a
// signal, and closes the loop.
void AbortStart(Server* s) {
  CloseServers(s);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  CloseLoop(s);
}

// Writes "<pid>\n" to `path` through a temporary file and a rename, so a
// reader never sees it half-written.
Status WritePidFile(const std::string& path) {
  const std::string tmp = path + ".tmp";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError("cannot write the pid file " + tmp + ": " +
                           std::strerror(errno));
  }
  const std::string text = std::to_string(::getpid()) + "\n";
  const bool written = ::write(fd, text.data(), text.size()) ==
                       static_cast<ssize_t>(text.size());
  int err = errno;
  ::close(fd);
  if (written && ::rename(tmp.c_str(), path.c_str()) == 0) return Status::OK();
  if (written) err = errno;
  ::unlink(tmp.c_str());
  return Status::IOError("cannot write the pid file " + path + ": " +
                         std::strerror(err));
}

// Options of an HTTP server (--http, --metrics) listening on `listen`
// (HOST:PORT; a host name is resolved as every address is). `exposes` says
// what a non-loopback address would show to the network without
// authentication (empty: the server's own refusal message applies).
Result<HttpServerOptions> HttpOptions(const std::string& flag,
                                      const std::string& listen,
                                      bool allow_remote,
                                      const std::string& exposes = "") {
  std::string host;
  uint16_t port = 0;
  Status st = ParseHostPort(listen, &host, &port);
  Result<std::string> ip =
      st.ok() ? net::ResolveHostName(host) : Result<std::string>(st);
  if (!ip.ok()) return ip.status().WithContext(flag);
  const bool loopback = ip->starts_with("127.") || *ip == "::1";
  if (!loopback && !allow_remote && !exposes.empty()) {
    return Status::InvalidArgument(
        flag + ": " + listen + " is not a loopback address: " + exposes +
        " to anyone who reaches it, without authentication; use "
        "127.0.0.1:PORT, or allow it explicitly with " +
        flag + "-allow-remote");
  }
  HttpServerOptions o;
  o.listen = core::JoinHostPort(*ip, port);
  o.allow_remote = allow_remote;
  o.allow_remote_hint = flag + "-allow-remote";
  st = o.Validate();
  if (!st.ok()) return st.WithContext(flag);
  return o;
}

// GET /metrics: the node's status and the store's figures as OpenMetrics.
Status ServeMetrics(HttpServer* http, Store* store, Node* node,
                    const std::string& home) {
  return http->Handle("GET", "/metrics", [=](const HttpRequest&) {
    Result<NodeStatus> status = node->GetStatus();
    Result<StoreFigures> figures = GatherStoreFigures(*store, home + "/db");
    if (!status.ok() || !figures.ok()) {
      return HttpResponse::Text(
          500,
          (status.ok() ? figures.status() : status.status()).message() + "\n");
    }
    HttpResponse r = HttpResponse::Text(
        200, RenderMetrics(*status, *figures, PLUMLOG_VERSION),
        std::string(kOpenMetricsContentType));
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });
}

// Where the daemon writes its pid unless `pid-file` says otherwise.
std::string PidFilePath(const std::string& home) {
  return home + "/plumlog.pid";
}

// Removes the pid file if it still names this process.
void RemovePidFile(const std::string& path) {
  Result<std::string> text = ReadInput(path);
  if (text.ok() && *text == std::to_string(::getpid()) + "\n")
    ::unlink(path.c_str());
}

// Refuses when a daemon already answers on the control socket.
Status CheckNoDaemon(const std::string& home) {
  std::unique_ptr<ControlClient> client;
  Status st = ConnectIfRunning(home, &client);
  if (!st.ok()) return st;
  if (client) {
    std::string pid;
    FeedId id;
    std::string address;
    uint64_t p = 0;
    if (DaemonHello(client.get(), &id, &address, &p).ok())
      pid = " (pid " + std::to_string(p) + ")";
    return Status::Busy("a daemon is already running on " + home + pid +
                        "; it answers on " + ControlSocketPath(home));
  }
  return Status::OK();
}

}  // namespace

int RunServe(const std::string& home, const ServeArgs& args) {
  ServeSettings settings;
  if (!args.config.empty()) {
    Result<std::string> text = ReadInput(args.config);
    if (!text.ok()) return Fail(text.status());
    Status st = ParseServeConfig(*text, args.config, &settings);
    if (!st.ok()) return Fail(st);
  }
  settings = OverlaySettings(settings, args.flags);
  Result<NodeOptions> options = BuildNodeOptions(settings);
  if (!options.ok()) return Fail(options.status());
  const std::string pid_path = settings.pid_file.value_or(PidFilePath(home));

  // The HTTP servers' settings are checked before the store is opened.
  std::optional<HttpServerOptions> http_options, metrics_options;
  if (settings.http) {
    Result<HttpServerOptions> o = HttpOptions(
        "--http", *settings.http, settings.http_allow_remote.value_or(false));
    if (!o.ok()) return Fail(o.status());
    http_options = *o;
  }
  if (settings.metrics) {
    Result<HttpServerOptions> o = HttpOptions(
        "--metrics", *settings.metrics,
        settings.metrics_allow_remote.value_or(false),
        "the metrics name this node's peers and members and their addresses");
    if (!o.ok()) return Fail(o.status());
    metrics_options = *o;
  }

  Status st = CheckNoDaemon(home);
  if (!st.ok()) return Fail(st);
  // Appends wait until a peer has said how much of the own feed it holds
  // (docs/operations.md, "Restoring a node"), unless told otherwise.
  const bool own_feed_check = !settings.no_own_feed_check.value_or(false);
  Result<std::unique_ptr<Store>> store =
      OpenStore(home, Access::kWrite, 0, own_feed_check);
  if (!store.ok()) {
    // Maybe a daemon started meanwhile: say so if it answers.
    Status daemon = CheckNoDaemon(home);
    return Fail(daemon.ok() ? store.status() : daemon);
  }

  auto server = std::make_unique<Server>();
  if (settings.log_level)
    server->log.set_level(*ParseLogLevel(*settings.log_level));
  if (settings.log_file) {
    st = server->log.OpenFile(*settings.log_file);
    if (!st.ok()) return Fail(st);
  }
  // The store's writer lock is ours: no other daemon runs on this home, so a
  // pid file left by a killed one is replaced.
  st = WritePidFile(pid_path);
  if (!st.ok()) return Fail(st);
  options->log_sink = &server->log;
  net::Logger& log = server->log;

  uv_loop_init(&server->loop);
  Result<std::unique_ptr<Node>> node =
      Node::Attach(store->get(), *options, &server->loop);
  if (!node.ok()) {
    // The failed node frees itself as the loop closes its handles.
    uv_run(&server->loop, UV_RUN_DEFAULT);
    uv_loop_close(&server->loop);
    RemovePidFile(pid_path);
    return Fail(node.status().WithContext("cannot start the node"));
  }
  server->node = std::move(*node);
  uv_timer_init(&server->loop, &server->stop_timer);
  server->stop_timer.data = server.get();
  server->events = std::make_unique<ControlEvents>(&server->loop);
  Daemon daemon(
      store->get(), server->node.get(), &log,
      [s = server.get()] { uv_timer_start(&s->stop_timer, &OnStopTimer, 0, 0); },
      server->events.get());
  Result<std::unique_ptr<net::ControlServer>> control = net::ControlServer::Start(
      &server->loop, ControlSocketPath(home), kMaxControlFrameBytes, &daemon);
  if (!control.ok()) {
    AbortStart(server.get());
    RemovePidFile(pid_path);
    return Fail(control.status());
  }
  server->control = std::move(*control);
  server->events->set_server(server->control.get());
  server->node->AddListener(server->events.get());
  // The HTTP servers' own problems go to the log.
  auto http_log = [s = server.get()](const std::string& line) {
    s->log.Log(LogLevel::kWarn, line);
  };
  st = Status::OK();
  if (http_options) {
    http_options->log = http_log;
    Result<std::unique_ptr<HttpServer>> http =
        HttpServer::Start(&server->loop, *http_options);
    if (http.ok()) {
      server->http = std::move(*http);
      server->web = std::make_unique<WebChat>(
          store->get(), server->node.get(), server->http.get(), &server->loop);
      st = server->web->Register();
    } else {
      st = http.status().WithContext("--http");
    }
  }
  if (st.ok() && metrics_options) {
    metrics_options->log = http_log;
    Result<std::unique_ptr<HttpServer>> metrics =
        HttpServer::Start(&server->loop, *metrics_options);
    if (metrics.ok()) {
      server->metrics = std::move(*metrics);
      st = ServeMetrics(server->metrics.get(), store->get(), server->node.get(),
                        home);
    } else {
      st = metrics.status().WithContext("--metrics");
    }
  }
  if (!st.ok()) {
    AbortStart(server.get());
    RemovePidFile(pid_path);
    return Fail(st);
  }

  for (uv_signal_t* sig :
       {&server->sigint, &server->sigterm, &server->sighup}) {
    uv_signal_init(&server->loop, sig);
    sig->data = server.get();
  }
  uv_signal_start(&server->sigint, &OnStopSignal, SIGINT);
  uv_signal_start(&server->sigterm, &OnStopSignal, SIGTERM);
  uv_signal_start(&server->sighup, &OnHangup, SIGHUP);

  const PeerAddress address = server->node->address();
  log.Log(LogLevel::kInfo, "control socket " + ControlSocketPath(home) +
                               ", pid " + std::to_string(::getpid()) + " in " +
                               pid_path);
  if (server->http)
    log.Log(LogLevel::kInfo,
            "web page http://" + server->http->address() + "/");
  if (server->metrics) {
    log.Log(LogLevel::kInfo,
            "metrics http://" + server->metrics->address() + "/metrics");
  }
  if (std::optional<std::string> note = OldKeyFileNote(home))
    log.Log(LogLevel::kWarn, *note);
  for (const PeerAddress& p : options->peers)
    log.Log(LogLevel::kInfo, "peer added " + p.ToString());
  // The address on stdout, so that another daemon can --peer it.
  st = WriteStdout(address.ToString() + "\n");
  if (st.ok()) st = FlushStdout();
  if (!st.ok())
    log.Log(LogLevel::kWarn, "cannot print the address: " + st.message());

  uv_run(&server->loop, UV_RUN_DEFAULT);
  if (!server->node->stopped())
    log.Log(LogLevel::kWarn, "the node did not stop cleanly");
  if (!CloseLoop(server.get()))
    log.Log(LogLevel::kWarn, "handles left open at exit");
  store->reset();
  RemovePidFile(pid_path);
  log.Log(LogLevel::kInfo, "stopped");
  return kExitOk;
}

}  // namespace plumlog::cli
