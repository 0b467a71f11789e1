// `plumlog serve` settings: from flags and from a `key = value` config file
// (docs/cli.md, "Config file"), merged into NodeOptions.
#ifndef PLUMLOG_CLI_SERVE_CONFIG_H_
#define PLUMLOG_CLI_SERVE_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plumlog/node.h"
#include "plumlog/status.h"

namespace plumlog::cli {

// Every setting is optional: unset ones come from the config file, then from
// the preset's defaults.
struct ServeSettings {
  std::optional<std::string> listen;              // listen = HOST:PORT
  std::optional<std::string> advertise;           // advertise = HOST:PORT
  std::optional<std::vector<std::string>> peers;  // peer = ADDR (repeatable)
  std::optional<std::string> network_key;         // network-key = HEX|BASE64
  std::optional<bool> no_membership;              // no-membership = true|false
  std::optional<std::string> preset;              // preset = lan|wan|test
  std::optional<uint64_t> max_connections;        // max-connections = N
  std::optional<std::string> log_level;  // log-level = error|warn|info|debug
  std::optional<std::string> log_file;   // log-file = PATH
  std::optional<std::string> pid_file;   // pid-file = PATH
  std::optional<std::string> metrics;    // metrics = HOST:PORT
  std::optional<bool> metrics_allow_remote;  // metrics-allow-remote = BOOL
  std::optional<std::string> http;           // http = HOST:PORT
  std::optional<bool> http_allow_remote;     // http-allow-remote = BOOL
};

// Parses a config file's text; `name` is used in error messages
// ("NAME:LINE: ..."). Unknown keys, malformed lines, bad values and repeated
// keys (other than `peer`) are errors.
Status ParseServeConfig(std::string_view text, const std::string& name,
                        ServeSettings* out);

// `base` with every setting that `top` has replaced by top's.
ServeSettings OverlaySettings(const ServeSettings& base,
                              const ServeSettings& top);

// NodeOptions for the daemon (log_to_stderr on), validated.
Result<NodeOptions> BuildNodeOptions(const ServeSettings& settings);

// Checks for CLI11 validators: "" if valid, else why not.
std::string CheckHostPortArg(const std::string& arg);
std::string CheckPeerAddressArg(const std::string& arg);
std::string CheckNetworkKeyArg(const std::string& arg);
std::string CheckPresetArg(const std::string& arg);
std::string CheckLogLevelArg(const std::string& arg);

// The NodeOptions preset by name ("lan", "wan", "test").
Result<NodeOptions> PresetOptions(std::string_view name);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_SERVE_CONFIG_H_
