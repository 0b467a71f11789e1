#include "cli/sync_command.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "cli/control_protocol.h"
#include "cli/daemon_commands.h"
#include "cli/home.h"
#include "cli/output.h"
#include "cli/progress_bar.h"
#include "cli/serve_config.h"
#include "plumlog/node.h"
#include "storage/msgpack_reader.h"

namespace plumlog::cli {
namespace {

constexpr int kPollMs = 50;
// Through a daemon: how often to ask it again to connect while it is not
// connected to the peer.
constexpr int64_t kRedialMs = 2000;
// Without a daemon: how often to dial again after the connection dropped.
constexpr int kMaxReconnects = 3;

int64_t NowMs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

struct Progress {
  bool in_sync = false;
  bool connected = false;
  uint64_t start = 0, current = 0, target = 0;
};

// Draws sync's progress: entries received of those the peer offered.
void ShowProgress(ProgressBar* bar, const Progress& p) {
  const uint64_t done = p.current - std::min(p.current, p.start);
  const uint64_t total = std::max(done, p.target - std::min(p.target, p.start));
  bar->Update("sync", p.in_sync && total == 0 ? 1 : done,
              p.in_sync && total == 0 ? 1 : total,
              std::to_string(done) + "/" + std::to_string(total) + " entries" +
                  (p.connected ? "" : " (connecting)"),
              true);
}

Status Timeout(const PeerAddress& peer, const SyncArgs& args,
               const Progress& p) {
  return Status::Aborted(
      "not in sync with " + peer.ToString() + " after " +
      std::to_string(args.timeout_s) + " s (" +
      (p.connected
           ? "connected; " +
                 std::to_string(p.current - std::min(p.current, p.start)) +
                 " of " +
                 std::to_string(p.target - std::min(p.target, p.start)) +
                 " entries"
           : std::string("not connected")) +
      ")");
}

Status PollDaemon(ControlClient* client, const PeerAddress& peer, Progress* p) {
  std::string req = ControlRequest(kInSync, 1);
  storage::AppendMsgpackBin(&req, peer.id.view());
  uint32_t n = 0;
  std::string results;
  PLUMLOG_RETURN_IF_ERROR(client->Call(req, 30000, &n, &results));
  storage::MsgpackReader r(results);
  PLUMLOG_RETURN_IF_ERROR(r.ReadBool("in sync", &p->in_sync));
  PLUMLOG_RETURN_IF_ERROR(r.ReadBool("connected", &p->connected));
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("start", &p->start));
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("current", &p->current));
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("target", &p->target));
  return Status::OK();
}

Status ConnectViaDaemon(ControlClient* client, const PeerAddress& peer) {
  std::string req = ControlRequest(kConnect, 1);
  storage::AppendMsgpackStr(&req, peer.ToString());
  uint32_t n = 0;
  std::string results;
  return client->Call(req, 30000, &n, &results);
}

// After a sync through the daemon: if the connection it is in sync over is
// not one it dialled to `peer`'s address (it was connected to that key
// already, inbound or at another address), says so in *note.
Status CheckConnectionUsed(ControlClient* client, const PeerAddress& peer,
                           std::string* note) {
  PLUMLOG_ASSIGN_OR_RETURN(NodeStatus status, DaemonStatus(client));
  for (const ConnectionStatus& c : status.connections) {
    if (c.peer != peer.id || !c.replicating) continue;
    if (c.outbound && c.remote == peer.HostPort()) return Status::OK();
    *note = "over the daemon's connection " +
            std::string(c.outbound ? "to " : "from ") + c.remote +
            "; the address " + peer.HostPort() + " was not used";
    return Status::OK();
  }
  return Status::OK();
}

Status SyncViaDaemon(ControlClient* client, const PeerAddress& peer,
                     const SyncArgs& args, std::string* note) {
  ProgressBar bar;
  const int64_t deadline =
      NowMs() + static_cast<int64_t>(args.timeout_s) * 1000;
  Progress p;
  PLUMLOG_RETURN_IF_ERROR(PollDaemon(client, peer, &p));
  int64_t last_dial = NowMs();
  if (!p.connected) PLUMLOG_RETURN_IF_ERROR(ConnectViaDaemon(client, peer));
  while (true) {
    PLUMLOG_RETURN_IF_ERROR(PollDaemon(client, peer, &p));
    ShowProgress(&bar, p);
    if (p.in_sync) return CheckConnectionUsed(client, peer, note);
    const int64_t now = NowMs();
    if (now >= deadline) {
      bar.Clear();
      return Timeout(peer, args, p);
    }
    if (!p.connected && now - last_dial >= kRedialMs) {
      last_dial = now;
      PLUMLOG_RETURN_IF_ERROR(ConnectViaDaemon(client, peer));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

Status SyncAlone(Store* store, const PeerAddress& peer, const SyncArgs& args,
                 std::string* summary) {
  PLUMLOG_ASSIGN_OR_RETURN(NodeOptions options, PresetOptions(args.preset));
  options.no_listen = true;
  options.membership = false;
  if (args.network_key) {
    PLUMLOG_ASSIGN_OR_RETURN(options.network_key,
                             ParseNetworkKey(*args.network_key));
  }
  PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<Node> node,
                           Node::Start(store, options));
  ProgressBar bar;
  const int64_t deadline =
      NowMs() + static_cast<int64_t>(args.timeout_s) * 1000;
  Status result;
  Status st = node->Connect(peer);
  bool ever_connected = false;
  int reconnects = 0;
  int64_t last_connect = NowMs();
  Progress p;
  NodeCounters counters;
  while (st.ok()) {
    Result<bool> in_sync = node->InSyncWith(peer.id);
    Result<NodeStatus> status = node->GetStatus();
    if (!in_sync.ok() || !status.ok()) {
      result = in_sync.ok() ? status.status() : in_sync.status();
      break;
    }
    counters = status->counters;
    p.in_sync = *in_sync;
    p.connected = false;
    // A connection still in its handshake is listed too; only an open one
    // (a replication neighbour) counts as connected.
    for (const ConnectionStatus& c : status->connections)
      p.connected = p.connected || (c.peer == peer.id && c.replicating);
    p.start = status->progress_start;
    p.current = status->progress_current;
    p.target = status->progress_target;
    ShowProgress(&bar, p);
    if (p.in_sync) break;
    ever_connected = ever_connected || p.connected;
    if (!p.connected) {
      // This node talks to nobody else, so any failure counted is ours.
      const NodeCounters& c = status->counters;
      std::string why;
      if (c.handshake_failures > 0)
        why = "the handshake failed (wrong network key or peer key?)";
      else if (c.handshake_timeouts > 0)
        why = "the handshake timed out";
      else if (c.dial_failures > 0)
        why = "cannot connect to " + peer.HostPort();
      if (!why.empty() && !ever_connected) {
        result =
            Status::IOError("sync with " + peer.ToString() + " failed: " + why);
        break;
      }
    }
    if (NowMs() >= deadline) {
      bar.Clear();
      result = Timeout(peer, args, p);
      break;
    }
    // The connection dropped before we were in sync: dial again, a few
    // times at most.
    if (ever_connected && !p.connected && reconnects < kMaxReconnects &&
        NowMs() - last_connect >= kRedialMs / 2) {
      ++reconnects;
      last_connect = NowMs();
      st = node->Connect(peer);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
  if (!st.ok()) result = st.WithContext("cannot connect to " + peer.ToString());
  bar.Clear();
  node->Stop();
  node.reset();
  *summary = "received " + std::to_string(counters.entries_stored) +
             " new entries, sent " + std::to_string(counters.entries_sent);
  return result;
}

}  // namespace

int RunSync(const std::string& home, const SyncArgs& args) {
  Result<PeerAddress> peer = PeerAddress::Parse(args.address);
  if (!peer.ok()) return UsageFail(peer.status().message());
  std::unique_ptr<ControlClient> client;
  Status st = ConnectIfRunning(home, &client);
  if (!st.ok()) return Fail(st);
  std::unique_ptr<Store> store;
  if (!client) {
    Result<std::unique_ptr<Store>> opened = OpenStore(home, Access::kWrite);
    if (!opened.ok() && opened.status().code() == Status::Code::kBusy) {
      // A daemon may have started meanwhile.
      st = ConnectIfRunning(home, &client);
      if (!st.ok()) return Fail(st);
      if (!client) return Fail(opened.status());
    } else if (!opened.ok()) {
      return Fail(opened.status());
    } else {
      store = std::move(*opened);
    }
  }
  std::string summary, note;
  if (client) {
    st = SyncViaDaemon(client.get(), *peer, args, &note);
  } else {
    st = SyncAlone(store.get(), *peer, args, &summary);
  }
  if (!st.ok()) return Fail(st);
  std::string line = "in sync with " + peer->id.ToString();
  if (!note.empty()) line += " (" + note + ")";
  if (!summary.empty()) line += ": " + summary;
  st = WriteStdout(line + "\n");
  if (st.ok()) st = FlushStdout();
  return st.ok() ? kExitOk : Fail(st);
}

}  // namespace plumlog::cli
