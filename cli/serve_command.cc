#include "cli/serve_command.h"

#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/control_client.h"
#include "cli/control_protocol.h"
#include "net/control_server.h"
#include "cli/home.h"
#include "cli/output.h"
#include "plumlog/node.h"
#include "core/msgpack_reader.h"

namespace plumlog::cli {
namespace {

using core::AppendMsgpackBin;
using core::AppendMsgpackBool;
using core::AppendMsgpackNil;
using core::AppendMsgpackStr;
using core::AppendMsgpackUint;
using core::MsgpackReader;

void Log(const std::string& line) {
  const std::string out = "plumlog serve: " + line + "\n";
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

// Answers control requests with the store and the node (both on this loop).
class Daemon : public net::ControlHandler {
 public:
  Daemon(Store* store, Node* node) : store_(store), node_(node) {}

  std::string Handle(std::string_view request) override {
    Result<ParsedRequest> req = ParseRequest(request);
    if (!req.ok()) return ErrorResponse(req.status());
    std::string response;
    Status st = Dispatch(*req, &response);
    if (!st.ok()) return ErrorResponse(st);
    return response;
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
      Log("peer added " + req.address.ToString());
    } else if (method == kConnect) {
      PLUMLOG_RETURN_IF_ERROR(node_->Connect(req.address));
      Log("connecting once to " + req.address.ToString());
    } else if (method == kInSync) {
      return InSync(req.feed, out);
    } else if (method == kPeersRemove) {
      PLUMLOG_RETURN_IF_ERROR(node_->RemovePeer(req.feed));
      Log("peer removed " + req.feed.ToString());
    } else if (method == kFollow) {
      PLUMLOG_RETURN_IF_ERROR(node_->Follow(req.feed));
      Log("following " + req.feed.ToString());
    } else if (method == kUnfollow) {
      PLUMLOG_RETURN_IF_ERROR(node_->Unfollow(req.feed));
      Log("unfollowed " + req.feed.ToString());
    } else if (method == kBlock) {
      PLUMLOG_RETURN_IF_ERROR(node_->Block(req.feed));
      Log("blocked " + req.feed.ToString());
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

  Store* store_;
  Node* node_;
};

// Everything on the loop: the node, the control server, the signals.
struct Server {
  uv_loop_t loop;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  std::unique_ptr<Node> node;
  std::unique_ptr<net::ControlServer> control;
  bool stopping = false;
  int signal_handles = 0;
};

void OnSignalClosed(uv_handle_t* h) {
  static_cast<Server*>(h->data)->signal_handles--;
}

void OnStopSignal(uv_signal_t* handle, int signum) {
  auto* s = static_cast<Server*>(handle->data);
  if (s->stopping) return;
  s->stopping = true;
  Log(std::string("received ") + (signum == SIGINT ? "SIGINT" : "SIGTERM") +
      ", shutting down");
  s->control->Close();
  s->node->Stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&s->sigint), &OnSignalClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->sigterm), &OnSignalClosed);
}

void CloseAny(uv_handle_t* h, void*) {
  if (!uv_is_closing(h)) uv_close(h, nullptr);
}

// Refuses when a daemon already answers on the control socket.
Status CheckNoDaemon(const std::string& home) {
  std::unique_ptr<ControlClient> client;
  Status st = ConnectIfRunning(home, &client);
  if (!st.ok()) return st;
  if (client) {
    std::string pid;
    uint32_t n = 0;
    std::string results;
    if (client->Call(ControlRequest(kHello, 0), 5000, &n, &results).ok()) {
      MsgpackReader r(results);
      std::string_view raw, addr;
      uint64_t p = 0;
      if (r.ReadBin("id", 32, &raw).ok() && r.ReadStr("a", 4096, &addr).ok() &&
          r.ReadUint("pid", &p).ok()) {
        pid = " (pid " + std::to_string(p) + ")";
      }
    }
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

  Status st = CheckNoDaemon(home);
  if (!st.ok()) return Fail(st);
  Result<std::unique_ptr<Store>> store = OpenStore(home, Access::kWrite);
  if (!store.ok()) {
    // Maybe a daemon started meanwhile: say so if it answers.
    Status daemon = CheckNoDaemon(home);
    return Fail(daemon.ok() ? store.status() : daemon);
  }

  auto server = std::make_unique<Server>();
  uv_loop_init(&server->loop);
  Result<std::unique_ptr<Node>> node =
      Node::Attach(store->get(), *options, &server->loop);
  if (!node.ok()) {
    uv_loop_close(&server->loop);
    return Fail(node.status().WithContext("cannot start the node"));
  }
  server->node = std::move(*node);
  Daemon daemon(store->get(), server->node.get());
  Result<std::unique_ptr<net::ControlServer>> control = net::ControlServer::Start(
      &server->loop, ControlSocketPath(home), kMaxControlFrameBytes, &daemon);
  if (!control.ok()) {
    server->node->Stop();
    uv_run(&server->loop, UV_RUN_DEFAULT);
    server->node.reset();
    uv_walk(&server->loop, &CloseAny, nullptr);
    uv_run(&server->loop, UV_RUN_DEFAULT);
    uv_loop_close(&server->loop);
    return Fail(control.status());
  }
  server->control = std::move(*control);

  for (uv_signal_t* sig : {&server->sigint, &server->sigterm}) {
    uv_signal_init(&server->loop, sig);
    sig->data = server.get();
    server->signal_handles++;
  }
  uv_signal_start(&server->sigint, &OnStopSignal, SIGINT);
  uv_signal_start(&server->sigterm, &OnStopSignal, SIGTERM);

  const PeerAddress address = server->node->address();
  Log("listening on " + address.HostPort() + " as " +
      server->node->id().ToString());
  Log("control socket " + ControlSocketPath(home));
  for (const PeerAddress& p : options->peers) Log("peer added " + p.ToString());
  // The address on stdout, so that another daemon can --peer it.
  st = WriteStdout(address.ToString() + "\n");
  if (st.ok()) st = FlushStdout();
  if (!st.ok()) Log("cannot print the address: " + st.message());

  uv_run(&server->loop, UV_RUN_DEFAULT);
  if (!server->node->stopped()) Log("warning: the node did not stop cleanly");
  server->node.reset();
  // Anything still open (there should be nothing) is closed before the loop.
  uv_walk(&server->loop, &CloseAny, nullptr);
  uv_run(&server->loop, UV_RUN_DEFAULT);
  server->control.reset();
  if (uv_loop_close(&server->loop) != 0)
    Log("warning: handles left open at exit");
  store->reset();
  Log("stopped");
  return kExitOk;
}

}  // namespace plumlog::cli
