#include "cli/serve_config.h"

#include <charconv>
#include <set>

namespace plumlog::cli {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Status ParseBool(std::string_view v, bool* out) {
  if (v == "true" || v == "yes" || v == "1" || v == "on") {
    *out = true;
    return Status::OK();
  }
  if (v == "false" || v == "no" || v == "0" || v == "off") {
    *out = false;
    return Status::OK();
  }
  return Status::InvalidArgument("expected true or false, got '" +
                                 std::string(v) + "'");
}

Status ParseCount(std::string_view v, uint64_t* out) {
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() ||
      *out == 0 || *out > 1000000) {
    return Status::InvalidArgument(
        "expected an integer from 1 to 1000000, got '" + std::string(v) + "'");
  }
  return Status::OK();
}

Status AsStatus(const std::string& problem) {
  return problem.empty() ? Status::OK() : Status::InvalidArgument(problem);
}

}  // namespace

std::string CheckHostPortArg(const std::string& arg) {
  std::string host;
  uint16_t port = 0;
  Status st = ParseHostPort(arg, &host, &port);
  return st.ok() ? "" : "not HOST:PORT: " + arg + " (" + st.message() + ")";
}

std::string CheckPeerAddressArg(const std::string& arg) {
  Result<PeerAddress> a = PeerAddress::Parse(arg);
  return a.ok()
             ? ""
             : "not a peer address (expected net:HOST:PORT~shs:KEY): " + arg +
                   " (" + a.status().message() + ")";
}

std::string CheckNetworkKeyArg(const std::string& arg) {
  Result<NetworkKey> k = ParseNetworkKey(arg);
  return k.ok() ? ""
                : "not a network key (32 bytes as 64 hex digits or base64): " +
                      k.status().message();
}

std::string CheckPresetArg(const std::string& arg) {
  return PresetOptions(arg).ok()
             ? ""
             : "unknown preset '" + arg + "' (expected lan, wan or test)";
}

std::string CheckLogLevelArg(const std::string& arg) {
  Result<LogLevel> level = ParseLogLevel(arg);
  return level.ok() ? "" : level.status().message();
}

Result<NodeOptions> PresetOptions(std::string_view name) {
  if (name == "lan") return NodeOptions::Lan();
  if (name == "wan") return NodeOptions::Wan();
  if (name == "test") return NodeOptions::Test();
  return Status::InvalidArgument("unknown preset '" + std::string(name) +
                                 "' (expected lan, wan or test)");
}

Status ParseServeConfig(std::string_view text, const std::string& name,
                        ServeSettings* out) {
  std::set<std::string> seen;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text =
        nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = name + ":" + std::to_string(line_no) + ": ";
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument(where + "expected `key = value`, got '" +
                                     std::string(line) + "'");
    }
    const std::string key(Trim(line.substr(0, eq)));
    const std::string value(Trim(line.substr(eq + 1)));
    if (key.empty())
      return Status::InvalidArgument(where + "missing key before '='");
    if (key != "peer" && !seen.insert(key).second) {
      return Status::InvalidArgument(where + "key '" + key +
                                     "' is given twice");
    }
    Status st;
    if (key == "listen") {
      st = AsStatus(CheckHostPortArg(value));
      out->listen = value;
    } else if (key == "advertise") {
      st = AsStatus(CheckHostPortArg(value));
      out->advertise = value;
    } else if (key == "peer") {
      st = AsStatus(CheckPeerAddressArg(value));
      if (!out->peers) out->peers.emplace();
      out->peers->push_back(value);
    } else if (key == "network-key") {
      st = AsStatus(CheckNetworkKeyArg(value));
      out->network_key = value;
    } else if (key == "no-membership") {
      bool b = false;
      st = ParseBool(value, &b);
      out->no_membership = b;
    } else if (key == "preset") {
      st = AsStatus(CheckPresetArg(value));
      out->preset = value;
    } else if (key == "max-connections") {
      uint64_t n = 0;
      st = ParseCount(value, &n);
      out->max_connections = n;
    } else if (key == "log-level") {
      st = AsStatus(CheckLogLevelArg(value));
      out->log_level = value;
    } else if (key == "log-file" || key == "pid-file") {
      if (value.empty()) st = Status::InvalidArgument("expected a path");
      (key == "log-file" ? out->log_file : out->pid_file) = value;
    } else if (key == "metrics") {
      st = AsStatus(CheckHostPortArg(value));
      out->metrics = value;
    } else if (key == "http") {
      st = AsStatus(CheckHostPortArg(value));
      out->http = value;
    } else if (key == "http-allow-remote" || key == "metrics-allow-remote") {
      bool b = false;
      st = ParseBool(value, &b);
      (key == "http-allow-remote" ? out->http_allow_remote
                                  : out->metrics_allow_remote) = b;
    } else {
      return Status::InvalidArgument(
          where + "unknown key '" + key +
          "' (keys: listen, advertise, peer, network-key, no-membership, "
          "preset, max-connections, log-level, log-file, pid-file, metrics, "
          "metrics-allow-remote, http, http-allow-remote)");
    }
    if (!st.ok())
      return Status::InvalidArgument(where + key + ": " + st.message());
  }
  return Status::OK();
}

ServeSettings OverlaySettings(const ServeSettings& base,
                              const ServeSettings& top) {
  ServeSettings s = base;
  if (top.listen) s.listen = top.listen;
  if (top.advertise) s.advertise = top.advertise;
  if (top.peers) s.peers = top.peers;
  if (top.network_key) s.network_key = top.network_key;
  if (top.no_membership) s.no_membership = top.no_membership;
  if (top.preset) s.preset = top.preset;
  if (top.max_connections) s.max_connections = top.max_connections;
  if (top.log_level) s.log_level = top.log_level;
  if (top.log_file) s.log_file = top.log_file;
  if (top.pid_file) s.pid_file = top.pid_file;
  if (top.metrics) s.metrics = top.metrics;
  if (top.metrics_allow_remote)
    s.metrics_allow_remote = top.metrics_allow_remote;
  if (top.http) s.http = top.http;
  if (top.http_allow_remote) s.http_allow_remote = top.http_allow_remote;
  return s;
}

Result<NodeOptions> BuildNodeOptions(const ServeSettings& s) {
  PLUMLOG_ASSIGN_OR_RETURN(NodeOptions o,
                           PresetOptions(s.preset.value_or("lan")));
  if (s.listen) o.listen = *s.listen;
  if (s.advertise) o.advertise = *s.advertise;
  if (s.peers) {
    for (const std::string& text : *s.peers) {
      Result<PeerAddress> a = PeerAddress::Parse(text);
      if (!a.ok()) return a.status().WithContext("peer " + text);
      o.peers.push_back(*a);
    }
  }
  if (s.network_key) {
    Result<NetworkKey> k = ParseNetworkKey(*s.network_key);
    if (!k.ok()) return k.status().WithContext("network key");
    o.network_key = *k;
  }
  if (s.no_membership) o.membership = !*s.no_membership;
  if (s.max_connections)
    o.max_connections = static_cast<size_t>(*s.max_connections);
  o.log_to_stderr = true;
  Status st = o.Validate();
  if (!st.ok()) return st.WithContext("invalid settings");
  return o;
}

}  // namespace plumlog::cli
