#include "cli/daemon_commands.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/control_protocol.h"
#include "cli/output.h"
#include "storage/msgpack_reader.h"

namespace plumlog::cli {
namespace {

using json = nlohmann::json;
using storage::AppendMsgpackBin;
using storage::AppendMsgpackStr;
using storage::MsgpackReader;

// Control requests that only touch the node's state answer quickly.
constexpr int kQuickTimeoutMs = 30000;

int Print(const std::string& text) {
  Status st = WriteStdout(text);
  if (st.ok()) st = FlushStdout();
  return st.ok() ? kExitOk : Fail(st);
}

std::string Bytes(uint64_t n) {
  char buf[32];
  if (n < 1024) return std::to_string(n) + " B";
  if (n < (uint64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB",
                  static_cast<double>(n) / (1024.0 * 1024.0));
  }
  return buf;
}

std::string Seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

json ConnectionJson(const ConnectionStatus& c) {
  return json{{"peer", c.peer.ToString()},
              {"remote", c.remote},
              {"outbound", c.outbound},
              {"replicating", c.replicating},
              {"age_ms", c.age_ms},
              {"bytes_sent", c.bytes_sent},
              {"bytes_received", c.bytes_received},
              {"send_queue_bytes", c.send_queue_bytes}};
}

std::string ConnectionLine(const ConnectionStatus& c) {
  return "  " + c.peer.ToString() + "\t" + c.remote + "\t" +
         (c.outbound ? "out" : "in") + "\t" +
         (c.replicating ? "replicating" : "-") + "\tage " + Seconds(c.age_ms) +
         "\tsent " + Bytes(c.bytes_sent) + "\treceived " +
         Bytes(c.bytes_received) + "\tqueued " + Bytes(c.send_queue_bytes) +
         "\n";
}

json Ids(const std::vector<FeedId>& ids) {
  json a = json::array();
  for (const FeedId& id : ids) a.push_back(id.ToString());
  return a;
}

json StatusJson(const NodeStatus& s) {
  json j;
  j["id"] = s.id.ToString();
  j["address"] = s.address.ToString();
  j["uptime_ms"] = s.uptime_ms;
  j["connections"] = json::array();
  for (const ConnectionStatus& c : s.connections)
    j["connections"].push_back(ConnectionJson(c));
  j["configured_peers"] = json::array();
  for (const PeerAddress& p : s.configured_peers)
    j["configured_peers"].push_back(p.ToString());
  j["views"] = {{"active", Ids(s.active_view)},
                {"passive", Ids(s.passive_view)}};
  j["members_alive"] = s.members_alive;
  j["members"] = json::array();
  for (const auto& [id, state] : s.members)
    j["members"].push_back({{"id", id.ToString()}, {"state", state}});
  j["progress"] = {{"start", s.progress_start},
                   {"current", s.progress_current},
                   {"target", s.progress_target}};
  j["feeds"] = json::array();
  for (const FeedProgress& f : s.feeds) {
    j["feeds"].push_back({{"feed", f.feed.ToString()},
                          {"local", f.local},
                          {"remote", f.remote}});
  }
  json counters = json::object();
  for (const CounterField& f : CounterFields())
    counters[f.name] = s.counters.*f.field;
  j["counters"] = counters;
  j["peer_progress"] = json::array();
  for (const PeerProgress& p : s.peer_progress) {
    j["peer_progress"].push_back({{"peer", p.peer.ToString()},
                                  {"behind", p.behind},
                                  {"ahead", p.ahead}});
  }
  j["verify_rate"] = s.verify_rate;
  return j;
}

std::string StatusText(const NodeStatus& s) {
  std::string o;
  o += "id\t" + s.id.ToString() + "\n";
  o += "address\t" + s.address.ToString() + "\n";
  o += "uptime\t" + Seconds(s.uptime_ms) + "\n";
  o += "connections\t" + std::to_string(s.connections.size()) + "\n";
  for (const ConnectionStatus& c : s.connections) o += ConnectionLine(c);
  o += "configured peers\t" + std::to_string(s.configured_peers.size()) + "\n";
  for (const PeerAddress& p : s.configured_peers)
    o += "  " + p.ToString() + "\n";
  o += "active view\t" + std::to_string(s.active_view.size()) + "\n";
  for (const FeedId& id : s.active_view) o += "  " + id.ToString() + "\n";
  o += "passive view\t" + std::to_string(s.passive_view.size()) + "\n";
  for (const FeedId& id : s.passive_view) o += "  " + id.ToString() + "\n";
  o += "members\t" + std::to_string(s.members_alive) + " alive\n";
  for (const auto& [id, state] : s.members)
    o += "  " + id.ToString() + "\t" + state + "\n";
  o += "progress\t" +
       std::to_string(s.progress_current -
                      std::min(s.progress_current, s.progress_start)) +
       " of " +
       std::to_string(s.progress_target -
                      std::min(s.progress_target, s.progress_start)) +
       " entries\n";
  o += "peer progress\t" + std::to_string(s.peer_progress.size()) + "\n";
  for (const PeerProgress& p : s.peer_progress) {
    o += "  " + p.peer.ToString() + "\tbehind " + std::to_string(p.behind) +
         "\tahead " + std::to_string(p.ahead) + "\n";
  }
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f", s.verify_rate);
  o += "verify rate\t" + std::string(rate) + " entries/s\n";
  o += "feeds\t" + std::to_string(s.feeds.size()) + "\n";
  for (const FeedProgress& f : s.feeds) {
    o += "  " + f.feed.ToString() + "\tlocal " + std::to_string(f.local) +
         "\tremote " + std::to_string(f.remote) + "\n";
  }
  o += "counters\n";
  for (const CounterField& f : CounterFields())
    o += "  " + std::string(f.name) + "\t" +
         std::to_string(s.counters.*f.field) + "\n";
  return o;
}

// A request with one argument, a feed id.
std::string FeedRequest(std::string_view method, const FeedId& id) {
  std::string req = ControlRequest(method, 1);
  AppendMsgpackBin(&req, id.view());
  return req;
}

Status CallNoResults(ControlClient* client, const std::string& request) {
  uint32_t n = 0;
  std::string results;
  return client->Call(request, kQuickTimeoutMs, &n, &results);
}

}  // namespace

std::string StatusJsonText(const NodeStatus& status) {
  return StatusJson(status).dump();
}

std::string CheckFeedIdArg(const std::string& arg) {
  Result<FeedId> id = FeedId::Parse(arg);
  return id.ok() ? "" : "not a feed id (expected @<base64>.ed25519): " + arg;
}

Result<std::unique_ptr<ControlClient>> RequireDaemon(const std::string& home) {
  Result<std::unique_ptr<ControlClient>> c = ControlClient::Connect(home);
  if (!c.ok() && c.status().code() == Status::Code::kNotFound) {
    // No daemon because there is not even a store is worth saying.
    struct stat st;
    if (::stat((home + "/secret").c_str(), &st) != 0 && errno == ENOENT) {
      return Status::FailedPrecondition(
          "no plumlog store at " + home +
          " (run `plumlog init` first, or pass --home), so no daemon either");
    }
    return Status::FailedPrecondition(kNoDaemonMessage);
  }
  return c;
}

Result<NodeStatus> DaemonStatus(ControlClient* client) {
  uint32_t n = 0;
  std::string results;
  PLUMLOG_RETURN_IF_ERROR(
      client->Call(ControlRequest(kStatus, 0), kQuickTimeoutMs, &n, &results));
  NodeStatus status;
  Status st = DecodeStatus(results, &status);
  if (!st.ok()) return st.WithContext("the daemon sent a malformed status");
  return status;
}

Status DaemonHello(ControlClient* client, FeedId* id, std::string* address,
                   uint64_t* pid_out) {
  uint32_t n = 0;
  std::string results;
  PLUMLOG_RETURN_IF_ERROR(
      client->Call(ControlRequest(kHello, 0), kQuickTimeoutMs, &n, &results));
  MsgpackReader r(results);
  std::string_view raw, addr;
  uint64_t pid = 0;
  PLUMLOG_RETURN_IF_ERROR(r.ReadBinExact("id", FeedId::kSize, &raw));
  PLUMLOG_RETURN_IF_ERROR(r.ReadStr("address", kMaxAddressBytes, &addr));
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("pid", &pid));
  *id = *FeedId::FromBytes(raw);
  address->assign(addr);
  if (pid_out != nullptr) *pid_out = pid;
  return Status::OK();
}

Result<std::pair<uint64_t, EntryId>> DaemonAppend(ControlClient* client,
                                                  std::string_view content) {
  std::string req = ControlRequest(kAppend, 1);
  storage::AppendMsgpackBin(&req, content);
  uint32_t n = 0;
  std::string results;
  // An append may wait for the disk; be patient.
  PLUMLOG_RETURN_IF_ERROR(client->Call(req, 120000, &n, &results));
  MsgpackReader r(results);
  uint64_t seq = 0;
  std::string_view raw;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("seq", &seq));
  PLUMLOG_RETURN_IF_ERROR(r.ReadBinExact("id", EntryId::kSize, &raw));
  return std::make_pair(seq, *EntryId::FromBytes(raw));
}

Result<std::vector<std::pair<uint64_t, EntryId>>> DaemonAppendBatch(
    ControlClient* client, const std::vector<std::string>& contents) {
  std::string req = ControlRequest(kAppendBatch, 1);
  storage::AppendMsgpackArrayHeader(&req,
                                    static_cast<uint32_t>(contents.size()));
  for (const std::string& c : contents) storage::AppendMsgpackBin(&req, c);
  uint32_t n = 0;
  std::string results;
  PLUMLOG_RETURN_IF_ERROR(client->Call(req, 120000, &n, &results));
  MsgpackReader r(results);
  uint64_t seq = 0;
  uint32_t count = 0;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("first seq", &seq));
  PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("ids", &count));
  if (count != contents.size()) {
    return Status::Corruption("the daemon appended " + std::to_string(count) +
                              " entries of " + std::to_string(contents.size()));
  }
  std::vector<std::pair<uint64_t, EntryId>> out;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view raw;
    PLUMLOG_RETURN_IF_ERROR(r.ReadBinExact("id", EntryId::kSize, &raw));
    out.emplace_back(seq + i, *EntryId::FromBytes(raw));
  }
  return out;
}

int RunPeersList(const std::string& home, bool as_json) {
  Result<std::unique_ptr<ControlClient>> client = RequireDaemon(home);
  if (!client.ok()) return Fail(client.status());
  Result<NodeStatus> s = DaemonStatus(client->get());
  if (!s.ok()) return Fail(s.status());
  if (as_json) {
    json j = StatusJson(*s);
    json out = {{"configured_peers", j["configured_peers"]},
                {"connections", j["connections"]}};
    return Print(out.dump() + "\n");
  }
  std::string o;
  o += "configured peers\t" + std::to_string(s->configured_peers.size()) + "\n";
  for (const PeerAddress& p : s->configured_peers) {
    bool connected = false;
    for (const ConnectionStatus& c : s->connections)
      connected = connected || c.peer == p.id;
    o += "  " + p.ToString() + "\t" +
         (connected ? "connected" : "not connected") + "\n";
  }
  o += "connections\t" + std::to_string(s->connections.size()) + "\n";
  for (const ConnectionStatus& c : s->connections) o += ConnectionLine(c);
  return Print(o);
}

int RunPeersAdd(const std::string& home, const std::string& address) {
  Result<PeerAddress> peer = PeerAddress::Parse(address);
  if (!peer.ok()) return UsageFail(peer.status().message());
  Result<std::unique_ptr<ControlClient>> client = RequireDaemon(home);
  if (!client.ok()) return Fail(client.status());
  std::string req = ControlRequest(kPeersAdd, 1);
  AppendMsgpackStr(&req, peer->ToString());
  Status st = CallNoResults(client->get(), req);
  if (!st.ok()) return Fail(st.WithContext("cannot add peer"));
  return Print("added peer " + peer->ToString() + "\n");
}

int RunPeersRemove(const std::string& home, const std::string& id_text) {
  Result<FeedId> id = FeedId::Parse(id_text);
  if (!id.ok()) return UsageFail(id.status().message());
  Result<std::unique_ptr<ControlClient>> client = RequireDaemon(home);
  if (!client.ok()) return Fail(client.status());
  Status st = CallNoResults(client->get(), FeedRequest(kPeersRemove, *id));
  if (!st.ok()) return Fail(st.WithContext("cannot remove peer"));
  return Print("removed peer " + id->ToString() + "\n");
}

int RunStatus(const std::string& home, bool as_json) {
  Result<std::unique_ptr<ControlClient>> client = RequireDaemon(home);
  if (!client.ok()) return Fail(client.status());
  Result<NodeStatus> s = DaemonStatus(client->get());
  if (!s.ok()) return Fail(s.status());
  return Print(as_json ? StatusJson(*s).dump() + "\n" : StatusText(*s));
}

namespace {

// True once process `pid` has exited: gone, or a zombie its parent has not
// reaped yet (/proc/PID/stat's state field is Z).
bool ProcessExited(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)),
                   std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() &&
         text[paren + 2] == 'Z';
}

}  // namespace

int RunStop(const std::string& home, uint64_t timeout_s) {
  Result<std::unique_ptr<ControlClient>> client = RequireDaemon(home);
  if (!client.ok()) return Fail(client.status());
  FeedId id;
  std::string address;
  uint64_t pid = 0;
  Status st = DaemonHello(client->get(), &id, &address, &pid);
  if (st.ok()) st = CallNoResults(client->get(), ControlRequest(kStop, 0));
  if (!st.ok()) return Fail(st.WithContext("cannot stop the daemon"));
  client->reset();
  // The daemon leaves the membership, says goodbye to its peers and closes
  // the store before it exits: wait for that.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (!ProcessExited(static_cast<pid_t>(pid))) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Fail(Status::Aborted("the daemon (pid " + std::to_string(pid) +
                                  ") is stopping but has not exited after " +
                                  std::to_string(timeout_s) + " s"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Print("stopped the daemon (pid " + std::to_string(pid) + ")\n");
}

int RunFeedControl(const std::string& home, std::string_view method,
                   const std::string& id_text) {
  Result<FeedId> id = FeedId::Parse(id_text);
  if (!id.ok()) return UsageFail(id.status().message());
  Result<std::unique_ptr<ControlClient>> client = RequireDaemon(home);
  if (!client.ok()) return Fail(client.status());
  Status st = CallNoResults(client->get(), FeedRequest(method, *id));
  if (!st.ok()) return Fail(st.WithContext("cannot " + std::string(method)));
  const char* done = method == kFollow     ? "following "
                     : method == kUnfollow ? "no longer following "
                                           : "blocked ";
  return Print(done + id->ToString() + "\n");
}

}  // namespace plumlog::cli
