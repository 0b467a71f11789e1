// Running a daemon: `plumlog stop`, the pid file, the log file and levels,
// SIGHUP; peers remove, sync to a wrong address, host names; the errors a
// user meets first (bad addresses, missing or unreadable home); progress
// bars on a terminal. Real processes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/cli/daemon_util.h"
#include "tests/cli/http_client.h"
#include "tests/cli/subprocess.h"
#include "tests/net/log_line.h"

namespace plumlog::testing {
namespace {

using json = nlohmann::json;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A peer address nobody listens at.
const char* const kSomePeer =
    "net:127.0.0.1:9~shs:dUNwAdvu3QTzA/5Ud5G3P3ssyQ9RuPZLXz8onYsHm9s=";

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

class OpsTest : public ::testing::Test {
 protected:
  // A fresh store; returns its home.
  std::string NewHome(const std::string& name) {
    const std::string home = dir_.Sub(name);
    RunResult r = RunWithHome(home, {"init"});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    return home;
  }

  std::unique_ptr<Daemon> Serve(const std::string& home,
                                std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"--preset", "test"});
    auto d = std::make_unique<Daemon>(home, args);
    EXPECT_TRUE(d->started()) << d->log();
    return d;
  }

  static json Status(const std::string& home) {
    RunResult r = RunWithHome(home, {"status", "--json"});
    if (r.exit_code != 0) return json();
    return json::parse(r.out);
  }

  // True when `home`'s daemon has an open replication connection to `id`.
  static bool Replicating(const std::string& home, const std::string& id) {
    json s = Status(home);
    if (!s.is_object()) return false;
    for (const json& c : s["connections"]) {
      if (c["peer"] == id && c["replicating"] == true) return true;
    }
    return false;
  }
  static bool ConnectedTo(const std::string& home, const std::string& id) {
    json s = Status(home);
    for (const json& c : s["connections"])
      if (c["peer"] == id) return true;
    return false;
  }

  static std::string IdOf(const std::string& address) {
    std::string id = "@";
    id.append(address, address.find("~shs:") + 5);
    id.append(".ed25519");
    return id;
  }

  TempDir dir_;
};

// ---- stop and the pid file ----

TEST_F(OpsTest, StopEndsTheDaemonCleanlyAndRemovesItsPidFile) {
  const std::string home = NewHome("a");
  auto d = Serve(home);
  const std::string pid_file = home + "/plumlog.pid";
  ASSERT_TRUE(FileExists(pid_file));
  EXPECT_EQ(ReadFileBytes(pid_file), std::to_string(d->pid()) + "\n");
  RunResult r = RunWithHome(home, {"stop"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out,
            "stopped the daemon (pid " + std::to_string(d->pid()) + ")\n");
  // stop returned after the exit: the daemon is gone, its exit code 0.
  RunResult exit = d->Wait();
  EXPECT_EQ(exit.exit_code, 0) << Show(exit) << d->log();
  EXPECT_FALSE(FileExists(pid_file));
  EXPECT_FALSE(FileExists(home + "/control.sock"));
  EXPECT_THAT(d->log(),
              HasSubstr("`plumlog stop` asked to stop, shutting down"));
  EXPECT_EQ(RunWithHome(home, {"check"}).exit_code, 0);
  // Nothing left to stop.
  RunResult again = RunWithHome(home, {"stop"});
  EXPECT_EQ(again.exit_code, 1) << Show(again);
  EXPECT_THAT(again.err, HasSubstr("no daemon running"));
}

TEST_F(OpsTest, PidFileOptionAndAStalePidFileIsReplaced) {
  const std::string home = NewHome("a");
  const std::string pid_file = dir_.Sub("run.pid");
  WriteFileBytes(pid_file, "999999\n");  // left by a daemon that was killed
  auto d = Serve(home, {"--pid-file", pid_file});
  EXPECT_EQ(ReadFileBytes(pid_file), std::to_string(d->pid()) + "\n");
  EXPECT_FALSE(FileExists(home + "/plumlog.pid"));
  EXPECT_EQ(d->Stop(SIGTERM), 0);
  EXPECT_FALSE(FileExists(pid_file));
  // A pid file that cannot be written stops serve at once.
  RunResult bad = RunWithHome(home, {"serve", "--preset", "test", "--pid-file",
                                     dir_.Sub("no/such/dir/x.pid")});
  EXPECT_EQ(bad.exit_code, 1) << Show(bad);
  EXPECT_THAT(bad.err, HasSubstr("cannot write the pid file"));
}

// ---- logs ----

TEST_F(OpsTest, LogFileLinesAllHaveTimeAndLevel) {
  const std::string a = NewHome("a"), b = NewHome("b");
  auto da = Serve(a);
  const std::string log = dir_.Sub("b.log");
  auto db = Serve(b, {"--log-file", log, "--peer", da->address()});
  ASSERT_TRUE(PollUntil([&] { return Replicating(b, IdOf(da->address())); },
                        Millis(30000)));
  ASSERT_EQ(db->Stop(SIGTERM), 0);
  // Nothing went to stderr: it all went to the file.
  EXPECT_EQ(db->log(), "");
  const std::vector<std::string> lines = Lines(ReadFileBytes(log));
  ASSERT_GE(lines.size(), 5u) << ReadFileBytes(log);
  for (const std::string& line : lines) EXPECT_TRUE(IsLogLine(line)) << line;
  const std::string text = ReadFileBytes(log);
  EXPECT_THAT(text, HasSubstr(" INFO listening on 127.0.0.1:"));
  EXPECT_THAT(text,
              HasSubstr(" INFO control socket " + b + "/control.sock, pid "));
  EXPECT_THAT(text, HasSubstr(" INFO peer added " + da->address()));
  EXPECT_THAT(text, HasSubstr(" INFO connected to " + IdOf(da->address())));
  EXPECT_THAT(text, HasSubstr(" INFO received SIGTERM, shutting down"));
  EXPECT_THAT(lines.back(), HasSubstr(" INFO stopped"));
  // Without --log-file the same lines go to stderr.
  ASSERT_EQ(da->Stop(SIGINT), 0);
  for (const std::string& line : Lines(da->log()))
    EXPECT_TRUE(IsLogLine(line)) << line;
  EXPECT_THAT(da->log(), HasSubstr(" INFO received SIGINT, shutting down"));
}

TEST_F(OpsTest, LogLevelWarnKeepsOnlyWarningsAndErrors) {
  const std::string a = NewHome("a"), c = NewHome("c");
  auto d = Serve(a, {"--log-level", "warn"});
  // A peer with another network key: the daemon warns about the handshake.
  RunResult r =
      RunWithHome(c, {"sync", d->address(), "--preset", "test", "--timeout",
                      "20", "--network-key", std::string(64, 'a')});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  ASSERT_TRUE(PollUntil(
      [&] { return d->log().find("handshake failed") != std::string::npos; },
      Millis(30000)))
      << d->log();
  ASSERT_EQ(d->Stop(SIGTERM), 0);
  const std::vector<std::string> lines = Lines(d->log());
  ASSERT_FALSE(lines.empty());
  for (const std::string& line : lines) {
    EXPECT_TRUE(IsLogLine(line)) << line;
    EXPECT_THAT(line, Not(HasSubstr(" INFO "))) << line;
  }
  EXPECT_THAT(d->log(), HasSubstr(" WARN connection from 127.0.0.1:"));
  // A bad level is a usage error; in the config file an error naming the line.
  RunResult bad = RunWithHome(a, {"serve", "--log-level", "loud"});
  EXPECT_EQ(bad.exit_code, 2) << Show(bad);
  EXPECT_THAT(
      bad.err,
      HasSubstr("unknown log level 'loud' (levels: error, warn, info, debug)"));
  WriteFileBytes(dir_.Sub("s.conf"), "log-level = loud\n");
  RunResult conf = RunWithHome(a, {"serve", "--config", dir_.Sub("s.conf")});
  EXPECT_EQ(conf.exit_code, 1) << Show(conf);
  EXPECT_THAT(conf.err,
              HasSubstr("s.conf:1: log-level: unknown log level 'loud'"));
}

TEST_F(OpsTest, SighupReopensTheLogFileForLogrotate) {
  const std::string a = NewHome("a");
  const std::string log = dir_.Sub("a.log");
  WriteFileBytes(dir_.Sub("s.conf"), "log-file = " + log + "\n");
  auto d = Serve(a, {"--config", dir_.Sub("s.conf")});
  ASSERT_TRUE(PollUntil(
      [&] {
        return ReadFileBytes(log).find("control socket") != std::string::npos;
      },
      Millis(30000)));
  ASSERT_EQ(::rename(log.c_str(), (log + ".1").c_str()), 0);
  ASSERT_EQ(::kill(d->pid(), SIGHUP), 0);
  ASSERT_TRUE(PollUntil([&] { return FileExists(log); }, Millis(30000)));
  ASSERT_TRUE(PollUntil(
      [&] {
        return ReadFileBytes(log).find("received SIGHUP, log file reopened") !=
               std::string::npos;
      },
      Millis(30000)));
  // New lines go to the new file only.
  RunResult peer = RunWithHome(a, {"peers", "add", kSomePeer});
  ASSERT_EQ(peer.exit_code, 0) << Show(peer);
  ASSERT_TRUE(PollUntil(
      [&] {
        return ReadFileBytes(log).find("peer added net:127.0.0.1:9") !=
               std::string::npos;
      },
      Millis(30000)));
  EXPECT_THAT(ReadFileBytes(log + ".1"), Not(HasSubstr("peer added")));
  EXPECT_THAT(ReadFileBytes(log + ".1"), HasSubstr("listening on"));
  EXPECT_EQ(d->Stop(SIGTERM), 0);
}

// ---- peers remove, sync, host names ----

TEST_F(OpsTest, PeersRemoveDropsTheConnection) {
  const std::string a = NewHome("a"), b = NewHome("b");
  auto da = Serve(a, {"--no-membership"});
  auto db = Serve(b, {"--no-membership", "--peer", da->address()});
  const std::string ida = IdOf(da->address()), idb = IdOf(db->address());
  ASSERT_TRUE(PollUntil([&] { return Replicating(b, ida); }, Millis(30000)));
  RunResult r = RunWithHome(b, {"peers", "remove", ida});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "removed peer " + ida + "\n");
  EXPECT_TRUE(
      PollUntil([&] { return !ConnectedTo(b, ida) && !ConnectedTo(a, idb); },
                Millis(30000)))
      << Status(b).dump();
  EXPECT_EQ(Status(b)["configured_peers"].size(), 0u);
}

TEST_F(OpsTest, SyncOverAnExistingConnectionSaysTheAddressWasNotUsed) {
  const std::string a = NewHome("a"), b = NewHome("b");
  auto da = Serve(a, {"--no-membership"});
  auto db = Serve(b, {"--no-membership", "--peer", da->address()});
  const std::string ida = IdOf(da->address());
  ASSERT_TRUE(PollUntil([&] { return Replicating(b, ida); }, Millis(30000)));
  // Right key, wrong port: the daemon is connected to that key elsewhere.
  const std::string wrong = "net:127.0.0.1:1~shs:" + ida.substr(1, 44);
  RunResult r = RunWithHome(b, {"sync", wrong, "--timeout", "20"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "in sync with " + ida +
                       " (over the daemon's connection to " +
                       da->address().substr(4, da->address().find('~') - 4) +
                       "; the address 127.0.0.1:1 was not used)\n");
  // The right address: no remark.
  RunResult right = RunWithHome(b, {"sync", da->address(), "--timeout", "20"});
  EXPECT_EQ(right.exit_code, 0) << Show(right);
  EXPECT_EQ(right.out, "in sync with " + ida + "\n");
}

TEST_F(OpsTest, HostNamesAreResolvedForListenPeerAndSyncAlike) {
  const std::string a = NewHome("a"), b = NewHome("b"), c = NewHome("c");
  auto da = Serve(a, {"--listen", "localhost:0"});
  // Listening on a name binds the address it resolves to (IPv4 first) and
  // advertises that address.
  ASSERT_THAT(da->address(), StartsWith("net:127.0.0.1:"));
  const std::string port =
      da->address().substr(14, da->address().find('~') - 14);
  const std::string by_name =
      "net:localhost:" + port + "~shs:" + IdOf(da->address()).substr(1, 44);
  ASSERT_EQ(RunWithHome(a, {"append", "over a name"}).exit_code, 0);
  auto db = Serve(b, {"--no-membership", "--peer", by_name});
  ASSERT_TRUE(PollUntil(
      [&] {
        return RunWithHome(b, {"read", IdOf(da->address())})
                   .out.find("over a name") != std::string::npos;
      },
      Millis(30000)));
  // sync without a daemon dials by name too.
  RunResult s =
      RunWithHome(c, {"sync", by_name, "--preset", "test", "--timeout", "30"});
  EXPECT_EQ(s.exit_code, 0) << Show(s);
  EXPECT_THAT(RunWithHome(c, {"read"}).out, HasSubstr("over a name"));
  // A name that does not resolve fails listen (exit 1) with the reason.
  RunResult bad = RunWithHome(
      c, {"serve", "--preset", "test", "--listen", "no-such-host.invalid:0"});
  EXPECT_EQ(bad.exit_code, 1) << Show(bad);
  EXPECT_THAT(
      bad.err,
      HasSubstr("listen: host 'no-such-host.invalid' does not resolve"));
}

// ---- errors ----

TEST_F(OpsTest, MalformedAddressesAreUsageErrorsEverywhereOnTheCommandLine) {
  const std::string a = NewHome("a");
  const std::string key = "Ff8S3bCCSy0cbmUtSh1C/GLGYzKZbj7A+Vi1WCtA8Cg=";
  const std::string bare = "127.0.0.1:8640";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"serve", "--listen", "127.0.0.1"},
        {"serve", "--advertise", "nohost:99999"},
        {"serve", "--peer", bare},
        {"serve", "--metrics", "localhost"},
        {"peers", "add", bare},
        {"peers", "add", "net:127.0.0.1:8640~shs:short"},
        {"sync", bare},
        {"sync", "net:127.0.0.1:0~shs:" + key},
        {"chat", "--room", "r", "--peer", bare},
        {"chat", "--room", "r", "--listen", "[::1"}}) {
    RunResult r = RunWithHome(a, args);
    EXPECT_EQ(r.exit_code, 2) << Show(r);
    EXPECT_THAT(r.err, StartsWith("plumlog: error: "));
    EXPECT_EQ(r.out, "");
  }
  // The hint for a bare address names the command that prints a whole one.
  RunResult hint = RunWithHome(a, {"peers", "add", bare});
  EXPECT_THAT(hint.err, HasSubstr("`plumlog whoami --address` on the peer"));
  // In a config file a malformed address stops serve with exit 1.
  WriteFileBytes(dir_.Sub("s.conf"), "peer = " + bare + "\n");
  RunResult conf = RunWithHome(a, {"serve", "--config", dir_.Sub("s.conf")});
  EXPECT_EQ(conf.exit_code, 1) << Show(conf);
  EXPECT_THAT(conf.err, HasSubstr("s.conf:1: peer: "));
}

TEST_F(OpsTest, DaemonCommandsOnAMissingHomeSayThereIsNoStore) {
  const std::string missing = dir_.Sub("nothing-here");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"status"},
        {"peers"},
        {"stop"},
        {"whoami", "--address"},
        {"follow", "@Ff8S3bCCSy0cbmUtSh1C/GLGYzKZbj7A+Vi1WCtA8Cg=.ed25519"}}) {
    RunResult r = RunWithHome(missing, args);
    EXPECT_EQ(r.exit_code, 1) << Show(r);
    EXPECT_THAT(r.err,
                HasSubstr("no plumlog store at " + missing +
                          " (run `plumlog init` first, or pass --home)"));
  }
  // A store without a daemon: the daemon is what is missing.
  RunResult r = RunWithHome(NewHome("a"), {"status"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err,
              HasSubstr("no daemon running (start one with `plumlog serve`)"));
}

TEST_F(OpsTest, AnUnreadableHomeIsPermissionDeniedNotNoStore) {
  const std::string home = NewHome("a");
  ASSERT_EQ(RunWithHome(home, {"append", "x"}).exit_code, 0);
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(home.c_str(), 0700), 0);
  // Root reads everything: run the commands as nobody then.
  std::vector<std::string> prefix;
  if (::geteuid() == 0) {
    prefix = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
              "--clear-groups"};
    RunResult probe = [&] {
      std::vector<std::string> argv = prefix;
      argv.push_back(PLUMLOG_BIN);
      argv.push_back("--version");
      return Subprocess::Start(argv)->Finish();
    }();
    if (probe.exit_code != 0)
      GTEST_SKIP() << "cannot run plumlog as nobody: " << Show(probe);
  } else {
    ASSERT_EQ(::chmod(home.c_str(), 0), 0);
  }
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"read"},
        {"whoami"},
        {"append", "y"},
        {"status"},
        {"feeds"},
        {"export", "-o", "/tmp/never-written"}}) {
    std::vector<std::string> argv = prefix;
    argv.push_back(PLUMLOG_BIN);
    argv.push_back("--home");
    argv.push_back(home);
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = Subprocess::Start(argv)->Finish();
    EXPECT_EQ(r.exit_code, 1) << Show(r);
    EXPECT_THAT(r.err, HasSubstr("permission denied")) << args[0];
    EXPECT_THAT(r.err, Not(HasSubstr("no plumlog store"))) << args[0];
  }
  ::chmod(home.c_str(), 0700);
}

// ---- progress bars ----

TEST_F(OpsTest, ImportDrawsAProgressBarOnATerminalAndErasesIt) {
  const std::string a = NewHome("a"), b = NewHome("b");
  std::string lines;
  for (int i = 0; i < 5000; ++i) lines += "entry " + std::to_string(i) + "\n";
  ASSERT_EQ(RunWithHome(a, {"append", "--lines"}, lines).exit_code, 0);
  ASSERT_EQ(RunWithHome(a, {"export", "-o", dir_.Sub("a.plumlog")}).exit_code,
            0);
  RunResult r =
      RunPlumlogOnTerminal({"--home", b, "import", dir_.Sub("a.plumlog")});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "imported 5000 entries: 5000 stored, 0 duplicates\n");
  EXPECT_THAT(r.err, HasSubstr("verifying ["));
  EXPECT_THAT(r.err, HasSubstr("storing ["));
  // The bar's line is erased at the end, and it never printed a newline.
  EXPECT_THAT(r.err, EndsWith("\r\x1b[K"));
  EXPECT_EQ(r.err.find('\n'), std::string::npos) << r.err;
  // On a pipe there is no bar at all.
  RunResult piped =
      RunWithHome(NewHome("c"), {"import", dir_.Sub("a.plumlog")});
  EXPECT_EQ(piped.exit_code, 0) << Show(piped);
  EXPECT_EQ(piped.err, "");
}

TEST_F(OpsTest, SyncProgressBarIsErasedWhenDone) {
  const std::string a = NewHome("a"), c = NewHome("c");
  ASSERT_EQ(RunWithHome(a, {"append", "--lines"}, "1\n2\n3\n").exit_code, 0);
  auto da = Serve(a);
  RunResult r = RunPlumlogOnTerminal({"--home", c, "sync", da->address(),
                                      "--preset", "test", "--timeout", "30"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, StartsWith("in sync with " + IdOf(da->address())));
  EXPECT_THAT(r.err, HasSubstr("sync ["));
  EXPECT_THAT(r.err, EndsWith("\r\x1b[K"));
  EXPECT_EQ(r.err.find('\n'), std::string::npos) << r.err;
}

// ---- status ----

TEST_F(OpsTest, StatusShowsPerPeerProgressAndVerifiedEntries) {
  const std::string a = NewHome("a"), b = NewHome("b");
  std::string lines;
  for (int i = 0; i < 300; ++i) lines += std::to_string(i) + "\n";
  ASSERT_EQ(RunWithHome(a, {"append", "--lines"}, lines).exit_code, 0);
  auto da = Serve(a, {"--no-membership"});
  auto db = Serve(b, {"--no-membership", "--peer", da->address()});
  const std::string ida = IdOf(da->address());
  ASSERT_TRUE(PollUntil(
      [&] {
        json s = Status(b);
        return s.is_object() && s["counters"]["entries_stored"] == 300 &&
               !s["peer_progress"].empty() &&
               s["peer_progress"][0]["behind"] == 0;
      },
      Millis(60000)))
      << Status(b).dump();
  json s = Status(b);
  ASSERT_EQ(s["peer_progress"].size(), 1u);
  EXPECT_EQ(s["peer_progress"][0]["peer"], ida);
  EXPECT_EQ(s["peer_progress"][0]["ahead"], 0);
  EXPECT_EQ(s["counters"]["entries_verified"], 300);
  EXPECT_TRUE(s["verify_rate"].is_number());
  // A's side: B lacked nothing of A's feed once in sync.
  ASSERT_TRUE(PollUntil(
      [&] {
        json sa = Status(a);
        return sa.is_object() && sa["peer_progress"].size() == 1 &&
               sa["peer_progress"][0]["ahead"] == 0;
      },
      Millis(30000)))
      << Status(a).dump();
  RunResult text = RunWithHome(b, {"status"});
  EXPECT_THAT(text.out, HasSubstr("peer progress\t1\n  " + ida +
                                  "\tbehind 0\tahead 0\n"));
  EXPECT_THAT(text.out, HasSubstr("verify rate\t"));
}

// ---- metrics ----

// The HOST:PORT of the daemon's metrics endpoint, from its log.
std::string MetricsAddress(const Daemon& d) {
  const std::string log = d.log();
  const std::string marker = "metrics http://";
  const size_t at = log.find(marker);
  if (at == std::string::npos) return "";
  const size_t begin = at + marker.size();
  return log.substr(begin, log.find("/metrics", begin) - begin);
}

// The value of the sample `name` (with its labels, as printed), or -1.
double Sample(const std::string& text, const std::string& name) {
  const std::string key = "\n" + name + " ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + key.size()));
}

TEST_F(OpsTest, MetricsEndpointServesOpenMetricsWithStoreAndPeerFigures) {
  const std::string a = NewHome("a"), b = NewHome("b");
  std::string lines;
  for (int i = 0; i < 200; ++i) lines += std::to_string(i) + "\n";
  ASSERT_EQ(RunWithHome(a, {"append", "--lines"}, lines).exit_code, 0);
  auto da = Serve(a, {"--no-membership"});
  auto db = Serve(b, {"--no-membership", "--peer", da->address(), "--metrics",
                      "localhost:0"});
  const std::string metrics = MetricsAddress(*db);
  ASSERT_THAT(metrics, StartsWith("127.0.0.1:")) << db->log();
  const std::string ida = IdOf(da->address());
  HttpResult r;
  ASSERT_TRUE(PollUntil(
      [&] {
        r = HttpGet(metrics, "/metrics");
        return r.status == 200 &&
               Sample(r.body, "plumlog_store_entries") == 200 &&
               Sample(r.body,
                      "plumlog_peer_behind_entries{peer=\"" + ida + "\"}") == 0;
      },
      Millis(60000)))
      << r.status << " " << r.error << "\n"
      << r.body;
  EXPECT_EQ(r.headers["content-type"],
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_THAT(r.body, EndsWith("# EOF\n"));
  EXPECT_EQ(Sample(r.body, "plumlog_store_feeds"), 1);
  EXPECT_GT(Sample(r.body, "plumlog_store_size_bytes"), 0);
  EXPECT_EQ(Sample(r.body, "plumlog_peers"), 1);
  EXPECT_EQ(Sample(r.body, "plumlog_entries_stored_total"), 200);
  EXPECT_EQ(Sample(r.body, "plumlog_entries_verified_total"), 200);
  EXPECT_EQ(Sample(r.body, "plumlog_store_fork_proofs"), 0);
  EXPECT_GE(Sample(r.body, "plumlog_verify_rate"), 0);
  EXPECT_THAT(r.body, HasSubstr("plumlog_node_info{id=\"" +
                                IdOf(db->address()) + "\""));
  // Only GET /metrics is there.
  EXPECT_EQ(HttpGet(metrics, "/").status, 404);
  EXPECT_EQ(HttpCall(metrics, "POST", "/metrics").status, 405);
  // A non-loopback address needs --metrics-allow-remote.
  RunResult remote = RunWithHome(NewHome("c"), {"serve", "--preset", "test",
                                                "--metrics", "192.0.2.1:9100"});
  EXPECT_EQ(remote.exit_code, 1) << Show(remote);
  EXPECT_THAT(remote.err,
              HasSubstr("--metrics: 192.0.2.1:9100 is not a loopback address"));
  EXPECT_THAT(remote.err, HasSubstr("--metrics-allow-remote"));
  // It stops with the daemon.
  EXPECT_EQ(db->Stop(SIGTERM), 0);
  EXPECT_EQ(HttpGet(metrics, "/metrics").status, 0);
}

}  // namespace
}  // namespace plumlog::testing
