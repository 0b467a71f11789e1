// The plumlog command: argument parsing and dispatch (docs/cli.md).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include "cli/append_command.h"
#include "cli/chat_command.h"
#include "cli/commands.h"
#include "cli/control_protocol.h"
#include "cli/daemon_commands.h"
#include "cli/export_command.h"
#include "cli/home.h"
#include "cli/import_command.h"
#include "cli/output.h"
#include "cli/read_command.h"
#include "cli/serve_command.h"
#include "cli/sync_command.h"

namespace plumlog::cli {
namespace {

constexpr const char* kFooter =
    "Store location: --home DIR, else $PLUMLOG_HOME, else ~/.plumlog.\n"
    "Exit codes: 0 ok, 1 the operation failed, 2 bad flags or arguments.\n"
    "Run `plumlog COMMAND --help` for each command's options; see docs/cli.md.";

int Main(int argc, char** argv) {
  // Writes to a closed pipe fail with EPIPE instead of killing the process.
  ::signal(SIGPIPE, SIG_IGN);

  CLI::App app(
      "plumlog: a replicated, append-only log store in the style of Secure "
      "Scuttlebutt.",
      "plumlog");
  app.footer(kFooter);
  app.set_version_flag("--version", std::string("plumlog ") + PLUMLOG_VERSION,
                       "Print the version and exit");
  app.require_subcommand(1);
  app.fallthrough();  // --home is accepted after the command name too
  std::string home_flag;
  app.add_option(
         "--home", home_flag,
         "Store directory (default: $PLUMLOG_HOME if set, else ~/.plumlog)")
      ->type_name("DIR");

  const CLI::Validator count_arg(
      [](std::string& s) -> std::string {
        uint64_t v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size() ||
            s[0] == '-' || v > kMaxClockValue) {
          return "not an integer from 0 to 2^63-1: " + s;
        }
        return "";
      },
      "", "count");
  const CLI::Validator feed_arg([](std::string& s) { return CheckFeedArg(s); },
                                "", "feed id");

  CLI::App* init = app.add_subcommand(
      "init",
      "Create a new store with a new identity and print its feed id.\n"
      "Fails if the home already holds a store.");

  bool whoami_address = false;
  CLI::App* whoami = app.add_subcommand(
      "whoami", "Print the local feed id (@<base64>.ed25519).");
  whoami->add_flag("--address", whoami_address,
                   "Print the running daemon's address "
                   "(net:HOST:PORT~shs:KEY) instead; fails without a daemon");

  AppendArgs append_args;
  CLI::App* append = app.add_subcommand(
      "append",
      "Append one entry to the local feed and print \"<seq>\\t<entry id>\".\n"
      "Content comes from exactly one source: TEXT (stored as a string), "
      "--json, --file,\n"
      "--json-file, or, when none is given, all of standard input as a string "
      "(bytes are\n"
      "kept as they are, trailing newline included). An entry is at most 64 "
      "KiB.");
  CLI::Option* text_opt = append->add_option(
      "TEXT", append_args.text, "Text to store as a msgpack string");
  text_opt->type_name("");
  CLI::Option* json_opt =
      append->add_option("--json", append_args.json,
                         "Store this JSON value (any type) as msgpack; - reads "
                         "the JSON from standard input. "
                         "{\"$bin\":\"<base64>\"} stores bytes");
  json_opt->type_name("JSON");
  CLI::Option* file_opt = append->add_option(
      "--file", append_args.file,
      "Store the file's contents as a string; - = standard input");
  file_opt->type_name("PATH");
  CLI::Option* json_file_opt = append->add_option(
      "--json-file", append_args.json_file,
      "Store the file's contents, parsed as JSON; - = standard input");
  json_file_opt->type_name("PATH");
  CLI::Option* binary_opt = append->add_flag(
      "--binary", append_args.binary,
      "Store standard input (or --file) as bytes (msgpack bin, shown as "
      "base64 in JSON); without it, input that is not UTF-8 text is refused");
  CLI::Option* lines_opt = append->add_flag(
      "--lines", append_args.lines,
      "One text entry per line of standard input (or --file), appended in "
      "batches; empty lines are skipped; prints \"<seq>\\t<id>\" per entry");
  CLI::Option* jsonl_opt = append->add_flag(
      "--jsonl", append_args.jsonl,
      "One entry per line of standard input (or --file), each line a JSON "
      "value (JSON Lines); blank lines are skipped");
  text_opt->excludes(json_opt)->excludes(file_opt)->excludes(json_file_opt);
  json_opt->excludes(file_opt)->excludes(json_file_opt);
  file_opt->excludes(json_file_opt);
  binary_opt->excludes(text_opt)->excludes(json_opt)->excludes(json_file_opt);
  lines_opt->excludes(jsonl_opt)->excludes(binary_opt)->excludes(text_opt);
  lines_opt->excludes(json_opt)->excludes(json_file_opt);
  jsonl_opt->excludes(binary_opt)->excludes(text_opt)->excludes(json_opt);
  jsonl_opt->excludes(json_file_opt);

  ReadArgs read_args;
  CLI::App* read =
      app.add_subcommand("read",
                         "Print entries. With FEED (self or @<id>.ed25519): "
                         "that feed in sequence order.\n"
                         "Without: every entry in the order this store "
                         "received it (arrival order).\n"
                         "Text output: \"<seq>\\t@<author short>\\t<UTC "
                         "time>\\t<content>\" per line;\n"
                         "--json: one JSON object per line.");
  read->add_option("FEED", read_args.feed,
                   "self or a feed id; omitted = all feeds")
      ->type_name("")
      ->check(feed_arg);
  read->add_option("--since", read_args.since,
                   "Only entries after N: seq > N with FEED, arrival position "
                   "> N without")
      ->type_name("N")
      ->check(count_arg);
  CLI::Option* limit_opt =
      read->add_option("--limit", read_args.limit,
                       "Print at most N entries (following included)")
          ->type_name("N")
          ->check(count_arg);
  CLI::Option* last_opt =
      read->add_option("--last", read_args.last,
                       "Only the last N entries (after --since), oldest first; "
                       "with --follow, then the new ones")
          ->type_name("N")
          ->check(count_arg)
          ->excludes(limit_opt);
  CLI::Option* reverse_opt =
      read->add_flag("--reverse", read_args.reverse,
                     "Newest first (with --limit N: the N newest)");
  std::string read_type;
  CLI::Option* type_opt =
      read->add_option("--type", read_type,
                       "Only entries whose content is a map with \"type\": "
                       "TYPE (e.g. post); --limit and --last count these only")
          ->type_name("TYPE");
  CLI::Option* follow_opt = read->add_flag(
      "-f,--follow", read_args.follow,
      "After the stored entries, wait for new ones and print them "
      "as they arrive; "
      "stops on SIGINT/SIGTERM or when standard output is closed");
  read->add_flag(
      "--json", read_args.json,
      "JSON lines: author, seq, id, previous, lamport, timestamp (ms), "
      "[position,] content");
  reverse_opt->excludes(follow_opt);

  std::string get_id;
  bool get_json = false;
  CLI::App* get = app.add_subcommand(
      "get",
      "Print the entry with this id (%<base64>.blake2b, as append and read "
      "--json print it),\nas `read` prints entries.");
  get->add_option("ID", get_id, "%<base64>.blake2b")
      ->required()
      ->type_name("")
      ->check(CLI::Validator([](std::string& s) { return CheckEntryIdArg(s); },
                             "", "entry id"));
  get->add_flag("--json", get_json,
                "A JSON object: author, seq, id, previous, lamport, "
                "timestamp (ms), content");

  bool feeds_json = false;
  CLI::App* feeds =
      app.add_subcommand("feeds",
                         "List the stored feeds: \"<author>\\t<head "
                         "seq>\\t<head id>\\t<forked|->\".");
  feeds->add_flag("--json", feeds_json,
                  "JSON lines: author, seq, head, lamport, forked");

  CLI::App* check =
      app.add_subcommand("check",
                         "Re-verify the whole store (signatures, chains, "
                         "indexes). Prints a summary and each\n"
                         "problem; exits 0 only if there is none.");

  ExportArgs export_args;
  CLI::App* exp =
      app.add_subcommand("export",
                         "Write feeds as an export stream (all feeds, or the "
                         "FEEDs given), each in sequence\n"
                         "order, to standard output or to -o FILE (written to "
                         "a temporary file and renamed\n"
                         "into place only when complete).");
  exp->add_option("FEED", export_args.feeds,
                  "self or feed ids; omitted = all feeds")
      ->type_name("")
      ->check(feed_arg);
  exp->add_option("-o,--output", export_args.output,
                  "Write to FILE instead of standard output")
      ->type_name("FILE");

  ImportArgs import_args;
  CLI::App* imp =
      app.add_subcommand("import",
                         "Verify an export stream completely (framing, count, "
                         "digest, every signature and\n"
                         "chain link, fit with the stored feeds), then store "
                         "its entries. If verification\n"
                         "fails nothing is written. Prints \"imported N "
                         "entries: S stored, D duplicates\".");
  imp->add_option("FILE", import_args.input,
                  "Export stream file; omitted or - = standard input")
      ->type_name("");

  // ---- the daemon and the commands that talk to it ----
  const CLI::Validator host_port_arg(
      [](std::string& s) { return CheckHostPortArg(s); }, "", "host:port");
  const CLI::Validator peer_arg(
      [](std::string& s) { return CheckPeerAddressArg(s); }, "", "address");
  const CLI::Validator key_arg(
      [](std::string& s) { return CheckNetworkKeyArg(s); }, "", "key");
  const CLI::Validator preset_arg(
      [](std::string& s) { return CheckPresetArg(s); }, "", "preset");
  const CLI::Validator feed_id_arg(
      [](std::string& s) { return CheckFeedIdArg(s); }, "", "feed id");

  ServeArgs serve_args;
  std::string serve_listen, serve_advertise, serve_key, serve_preset;
  std::vector<std::string> serve_peers;
  bool serve_no_membership = false;
  uint64_t serve_max_connections = 0;
  std::string serve_http;
  bool serve_http_allow_remote = false;
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run the daemon: replicate with peers over TCP until SIGINT or SIGTERM.\n"
      "Prints its address (net:HOST:PORT~shs:KEY) on standard output, logs to "
      "standard error.\n"
      "While it runs it owns the store; append, import, peers, status, "
      "follow, unfollow,\n"
      "block and sync talk to it through <home>/control.sock.");
  CLI::Option* listen_opt =
      serve
          ->add_option("--listen", serve_listen,
                       "Listen for peers on HOST:PORT (default 0.0.0.0:8640; "
                       "with --preset test 127.0.0.1:0, a free port)")
          ->type_name("HOST:PORT")
          ->check(host_port_arg);
  CLI::Option* advertise_opt =
      serve
          ->add_option("--advertise", serve_advertise,
                       "HOST:PORT announced to other members (default: the "
                       "listen address)")
          ->type_name("HOST:PORT")
          ->check(host_port_arg);
  CLI::Option* peer_opt =
      serve
          ->add_option("--peer", serve_peers,
                       "Dial this peer and keep it connected (repeatable); "
                       "replaces the config file's peers")
          ->type_name("ADDR")
          ->check(peer_arg);
  CLI::Option* key_opt =
      serve
          ->add_option("--network-key", serve_key,
                       "The network's 32-byte secret as 64 hex digits or "
                       "base64 (default: plumlog's own key)")
          ->type_name("KEY")
          ->check(key_arg);
  CLI::Option* no_membership_opt = serve->add_flag(
      "--no-membership", serve_no_membership,
      "No membership protocol: replicate only with --peer peers and peers "
      "that dial in");
  CLI::Option* preset_opt =
      serve
          ->add_option("--preset", serve_preset,
                       "Timers and limits: lan (default), wan (slow links) or "
                       "test (loopback, fast timers)")
          ->type_name("NAME")
          ->check(preset_arg);
  CLI::Option* config_opt =
      serve
          ->add_option("--config", serve_args.config,
                       "Read settings from FILE (`key = value` lines with the "
                       "flags' names; flags override)")
          ->type_name("FILE");
  (void)config_opt;
  CLI::Option* max_conn_opt =
      serve
          ->add_option("--max-connections", serve_max_connections,
                       "Most open peer connections (default 128)")
          ->type_name("N")
          ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}));
  CLI::Option* http_opt =
      serve
          ->add_option("--http", serve_http,
                       "Serve the web chat and node status on HOST:PORT "
                       "(off by default; loopback only unless "
                       "--http-allow-remote; see docs/chat.md)")
          ->type_name("HOST:PORT")
          ->check(host_port_arg);
  CLI::Option* http_remote_opt = serve->add_flag(
      "--http-allow-remote", serve_http_allow_remote,
      "Allow --http on an address that is not loopback (the page has no "
      "authentication: anyone who reaches it can read the store and post as "
      "you)");

  std::string serve_log_level, serve_log_file, serve_pid_file, serve_metrics;
  CLI::Option* log_level_opt =
      serve
          ->add_option("--log-level", serve_log_level,
                       "Log lines of this level and above: error, warn, info "
                       "(default) or debug")
          ->type_name("LEVEL")
          ->check(CLI::Validator(
              [](std::string& s) { return CheckLogLevelArg(s); }, "", "level"));
  CLI::Option* log_file_opt =
      serve
          ->add_option("--log-file", serve_log_file,
                       "Append log lines to FILE instead of standard error; "
                       "SIGHUP reopens it (logrotate)")
          ->type_name("FILE");
  CLI::Option* pid_file_opt =
      serve
          ->add_option("--pid-file", serve_pid_file,
                       "Write the daemon's pid to FILE (default "
                       "<home>/plumlog.pid); removed when it stops")
          ->type_name("FILE");
  CLI::Option* metrics_opt =
      serve
          ->add_option("--metrics", serve_metrics,
                       "Serve Prometheus/OpenMetrics metrics on "
                       "http://HOST:PORT/metrics (off by default; loopback "
                       "only unless --metrics-allow-remote)")
          ->type_name("HOST:PORT")
          ->check(host_port_arg);
  bool serve_metrics_allow_remote = false;
  CLI::Option* metrics_remote_opt = serve->add_flag(
      "--metrics-allow-remote", serve_metrics_allow_remote,
      "Allow --metrics on an address that is not loopback (the metrics name "
      "this node's peers and their addresses; there is no authentication)");

  uint64_t stop_timeout_s = 30;
  CLI::App* stop = app.add_subcommand(
      "stop",
      "Stop the running daemon (as SIGTERM does: it leaves the membership, "
      "says goodbye\nto its peers, closes the store) and wait until it has "
      "exited.");
  stop->add_option("--timeout", stop_timeout_s,
                   "Give up (exit 1) after this many seconds (default 30)")
      ->type_name("SECONDS")
      ->check(CLI::Range(uint64_t{1}, uint64_t{3600}));

  bool peers_json = false;
  CLI::App* peers = app.add_subcommand(
      "peers",
      "List the daemon's configured peers and its connections; `peers add "
      "ADDR` and\n`peers remove ID` change the configured peers.");
  peers->add_flag("--json", peers_json,
                  "One JSON object: configured_peers, connections");
  std::string peer_add_addr, peer_remove_id;
  CLI::App* peers_add = peers->add_subcommand(
      "add", "Dial ADDR (net:HOST:PORT~shs:KEY) and keep it connected.");
  peers_add->add_option("ADDR", peer_add_addr, "net:HOST:PORT~shs:KEY")
      ->required()
      ->type_name("")
      ->check(peer_arg);
  CLI::App* peers_remove = peers->add_subcommand(
      "remove", "Stop keeping a connection to the peer with this feed id.");
  peers_remove->add_option("ID", peer_remove_id, "@<base64>.ed25519")
      ->required()
      ->type_name("")
      ->check(feed_id_arg);
  peers->require_subcommand(0, 1);

  bool status_json = false;
  CLI::App* status = app.add_subcommand(
      "status",
      "Show the daemon's state: connections, configured peers, membership "
      "views and\nmembers, per-feed progress and counters.");
  status->add_flag("--json", status_json, "One JSON object");

  std::string follow_id, unfollow_id, block_id;
  CLI::App* follow = app.add_subcommand(
      "follow",
      "Replicate feed ID (matters when the daemon does not replicate every "
      "feed).");
  follow->add_option("ID", follow_id, "@<base64>.ed25519")
      ->required()
      ->type_name("")
      ->check(feed_id_arg);
  CLI::App* unfollow =
      app.add_subcommand("unfollow", "Stop following feed ID.");
  unfollow->add_option("ID", unfollow_id, "@<base64>.ed25519")
      ->required()
      ->type_name("")
      ->check(feed_id_arg);
  CLI::App* block = app.add_subcommand(
      "block",
      "Never replicate feed ID with anyone (entries already stored stay).");
  block->add_option("ID", block_id, "@<base64>.ed25519")
      ->required()
      ->type_name("")
      ->check(feed_id_arg);

  SyncArgs sync_args;
  CLI::App* sync = app.add_subcommand(
      "sync",
      "Replicate once with the peer at ADDR until both sides hold the same "
      "entries, then\nexit 0. Uses the daemon when one runs, else opens the "
      "store itself (dials only).\nA progress bar is drawn on standard error "
      "when it is a terminal.");
  sync->add_option("ADDR", sync_args.address, "net:HOST:PORT~shs:KEY")
      ->required()
      ->type_name("")
      ->check(peer_arg);
  sync->add_option("--timeout", sync_args.timeout_s,
                   "Give up (exit 1) after this many seconds (default 60)")
      ->type_name("SECONDS")
      ->check(CLI::Range(uint64_t{1}, uint64_t{86400}));
  CLI::Option* sync_key_opt =
      sync->add_option("--network-key", sync_args.network_key,
                       "Network key (without a daemon; default plumlog's)")
          ->type_name("KEY")
          ->check(key_arg);
  (void)sync_key_opt;
  sync->add_option("--preset", sync_args.preset,
                   "Timers (without a daemon): lan (default), wan or test")
      ->type_name("NAME")
      ->check(preset_arg);

  ChatArgs chat_args;
  std::string chat_listen, chat_advertise, chat_key, chat_preset;
  std::vector<std::string> chat_peers;
  bool chat_no_membership = false;
  CLI::App* chat = app.add_subcommand(
      "chat",
      "Chat in a room: print its history in causal order, then new messages "
      "as they\narrive (\"<nick> text\"); each line typed is sent to the "
      "room. /help lists the\ncommands (/nick, /who, /peers, /quit). Uses "
      "the daemon when one runs, else runs\na node of its own (--listen, "
      "--peer, ... apply then). See docs/chat.md.");
  chat->add_option("--room", chat_args.room,
                   "The room: 1-64 characters of A-Z a-z 0-9 . _ -")
      ->required()
      ->type_name("NAME");
  chat->add_option("--nick", chat_args.nick,
                   "Set this nickname (an entry in your feed) unless it is "
                   "already yours")
      ->type_name("NAME");
  CLI::Option* chat_listen_opt =
      chat->add_option("--listen", chat_listen,
                       "Without a daemon: listen for peers on HOST:PORT "
                       "(default 0.0.0.0:8640; port 0 = a free port)")
          ->type_name("HOST:PORT")
          ->check(host_port_arg);
  CLI::Option* chat_advertise_opt =
      chat->add_option("--advertise", chat_advertise,
                       "Without a daemon: HOST:PORT announced to other members")
          ->type_name("HOST:PORT")
          ->check(host_port_arg);
  CLI::Option* chat_peer_opt =
      chat->add_option("--peer", chat_peers,
                       "Without a daemon: dial this peer and keep it connected "
                       "(repeatable)")
          ->type_name("ADDR")
          ->check(peer_arg);
  CLI::Option* chat_key_opt =
      chat->add_option("--network-key", chat_key,
                       "Without a daemon: the network key (default plumlog's)")
          ->type_name("KEY")
          ->check(key_arg);
  CLI::Option* chat_no_membership_opt = chat->add_flag(
      "--no-membership", chat_no_membership,
      "Without a daemon: no membership protocol (only --peer peers and peers "
      "that dial in)");
  CLI::Option* chat_preset_opt =
      chat->add_option("--preset", chat_preset,
                       "Without a daemon: lan (default), wan or test")
          ->type_name("NAME")
          ->check(preset_arg);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
      return app.exit(e);
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
        app.get_subcommands().empty()) {
      // CLI11 reports "A subcommand is required" even for a misspelt one.
      for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--home") {
          ++i;
        } else if (!arg.starts_with("-")) {
          return UsageFail(
              "unknown command: " + arg +
              " (commands: init, whoami, append, read, get, feeds, check, "
              "export, import, serve, stop, peers, status, follow, unfollow, "
              "block, sync, chat)");
        }
      }
    }
    return UsageFail(e.what());
  }

  append_args.has_text = text_opt->count() > 0;
  append_args.has_json = json_opt->count() > 0;
  append_args.has_file = file_opt->count() > 0;
  append_args.has_json_file = json_file_opt->count() > 0;
  read_args.has_limit = limit_opt->count() > 0;
  read_args.has_last = last_opt->count() > 0;
  if (type_opt->count() > 0) read_args.type = read_type;
  if (listen_opt->count() > 0) serve_args.flags.listen = serve_listen;
  if (advertise_opt->count() > 0) serve_args.flags.advertise = serve_advertise;
  if (peer_opt->count() > 0) serve_args.flags.peers = serve_peers;
  if (key_opt->count() > 0) serve_args.flags.network_key = serve_key;
  if (no_membership_opt->count() > 0)
    serve_args.flags.no_membership = serve_no_membership;
  if (preset_opt->count() > 0) serve_args.flags.preset = serve_preset;
  if (max_conn_opt->count() > 0)
    serve_args.flags.max_connections = serve_max_connections;
  if (log_level_opt->count() > 0) serve_args.flags.log_level = serve_log_level;
  if (log_file_opt->count() > 0) serve_args.flags.log_file = serve_log_file;
  if (pid_file_opt->count() > 0) serve_args.flags.pid_file = serve_pid_file;
  if (metrics_opt->count() > 0) serve_args.flags.metrics = serve_metrics;
  if (metrics_remote_opt->count() > 0)
    serve_args.flags.metrics_allow_remote = serve_metrics_allow_remote;
  if (http_opt->count() > 0) serve_args.flags.http = serve_http;
  if (http_remote_opt->count() > 0)
    serve_args.flags.http_allow_remote = serve_http_allow_remote;

  if (chat_listen_opt->count() > 0) chat_args.node.listen = chat_listen;
  if (chat_advertise_opt->count() > 0)
    chat_args.node.advertise = chat_advertise;
  if (chat_peer_opt->count() > 0) chat_args.node.peers = chat_peers;
  if (chat_key_opt->count() > 0) chat_args.node.network_key = chat_key;
  if (chat_no_membership_opt->count() > 0)
    chat_args.node.no_membership = chat_no_membership;
  if (chat_preset_opt->count() > 0) chat_args.node.preset = chat_preset;

  Result<std::string> home = ResolveHome(home_flag);
  if (!home.ok()) return Fail(home.status());
  if (*init) return RunInit(*home);
  if (*whoami) return RunWhoami(*home, whoami_address);
  if (*append) return RunAppend(*home, append_args);
  if (*read) return RunRead(*home, read_args);
  if (*get) return RunGet(*home, get_id, get_json);
  if (*feeds) return RunFeeds(*home, feeds_json);
  if (*check) return RunCheck(*home);
  if (*exp) return RunExport(*home, export_args);
  if (*imp) return RunImport(*home, import_args);
  if (*serve) return RunServe(*home, serve_args);
  if (*stop) return RunStop(*home, stop_timeout_s);
  if (*peers_add) return RunPeersAdd(*home, peer_add_addr);
  if (*peers_remove) return RunPeersRemove(*home, peer_remove_id);
  if (*peers) return RunPeersList(*home, peers_json);
  if (*status) return RunStatus(*home, status_json);
  if (*follow) return RunFeedControl(*home, kFollow, follow_id);
  if (*unfollow) return RunFeedControl(*home, kUnfollow, unfollow_id);
  if (*block) return RunFeedControl(*home, kBlock, block_id);
  if (*sync) return RunSync(*home, sync_args);
  if (*chat) return RunChat(*home, chat_args);
  return UsageFail("no command given");
}

}  // namespace
}  // namespace plumlog::cli

int main(int argc, char** argv) {
  try {
    return plumlog::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plumlog: error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "plumlog: error: unexpected internal error\n");
  }
  return plumlog::cli::kExitFailed;
}
