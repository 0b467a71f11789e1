// `plumlog serve` on one store: start-up, the control socket, the commands
// that go through it, configuration, shutdown and recovery. Real processes.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "tests/cli/daemon_util.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kNoDaemon =
    "no daemon running (start one with `plumlog serve`)";

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = dir_.Sub("home");
    RunResult r = RunWithHome(home_, {"init"});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    id_ = r.out.substr(0, r.out.size() - 1);
  }

  RunResult Run(const std::vector<std::string>& args,
                std::string_view in = "") {
    return RunWithHome(home_, args, in);
  }

  std::unique_ptr<Daemon> Serve(std::vector<std::string> args = {}) {
    if (args.empty()) args = {"--preset", "test"};
    auto d = std::make_unique<Daemon>(home_, args);
    EXPECT_TRUE(d->started()) << d->log();
    return d;
  }

  std::string SocketPath() const { return home_ + "/control.sock"; }

  // The feed id of a fresh store (some other identity).
  std::string OtherId() {
    const std::string other = dir_.Sub("other" + std::to_string(others_++));
    RunResult r = RunWithHome(other, {"init"});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    return r.out.substr(0, r.out.size() - 1);
  }
  // net:127.0.0.1:PORT~shs:KEY for a feed id.
  static std::string AddressOf(const std::string& id, uint16_t port) {
    return "net:127.0.0.1:" + std::to_string(port) + "~shs:" + id.substr(1, 44);
  }

  std::vector<json> ReadJson(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"read", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    std::vector<json> out;
    for (const std::string& line : Lines(r.out))
      out.push_back(json::parse(line));
    return out;
  }

  TempDir dir_;
  std::string home_;
  std::string id_;
  int others_ = 0;
};

TEST_F(ServeTest, StartsPrintsItsAddressAndOpensAPrivateControlSocket) {
  auto d = Serve();
  EXPECT_THAT(d->address(), StartsWith("net:127.0.0.1:"));
  EXPECT_THAT(d->address(), HasSubstr("~shs:" + id_.substr(1, 44)));
  struct stat st;
  ASSERT_EQ(::lstat(SocketPath().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THAT(d->log(), HasSubstr("listening on 127.0.0.1:"));
  EXPECT_THAT(d->log(), HasSubstr("as " + id_));
  RunResult r = Run({"whoami", "--address"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, d->address() + "\n");
  r = Run({"whoami"});
  EXPECT_EQ(r.out, id_ + "\n");
  EXPECT_EQ(d->Stop(SIGTERM), 0) << d->log();
}

TEST_F(ServeTest, SecondServeOnTheSameHomeFailsClearly) {
  auto d = Serve();
  Daemon second(home_, {"--preset", "test"});
  EXPECT_FALSE(second.started());
  RunResult r = second.Wait();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(second.log(),
              HasSubstr("a daemon is already running on " + home_));
  // The first one is unharmed.
  r = Run({"status"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(d->Stop(SIGTERM), 0) << d->log();
}

TEST_F(ServeTest, AppendGoesThroughTheDaemonInEveryInputForm) {
  auto d = Serve();
  RunResult r = Run({"append", "text arg"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, StartsWith("1\t%"));
  r = Run({"append", "--json", R"({"a":[1,2]})"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, StartsWith("2\t%"));
  r = Run({"append"}, "from stdin\n");
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  r = Run({"append", "--json", "-"}, "[true, null]");
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const std::string file = dir_.Sub("content.txt");
  WriteFileBytes(file, "file bytes");
  r = Run({"append", "--file", file});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  WriteFileBytes(file, R"({"k":"v"})");
  r = Run({"append", "--json-file", file});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  // Errors still come back as errors.
  r = Run({"append", "--json", "{bad"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  r = Run({"append", std::string(70000, 'x')});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("cannot append"));

  std::vector<json> entries = ReadJson({"self"});
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[0]["content"], "text arg");
  EXPECT_EQ(entries[1]["content"], json::parse(R"({"a":[1,2]})"));
  EXPECT_EQ(entries[2]["content"], "from stdin\n");
  EXPECT_EQ(entries[3]["content"], json::parse("[true,null]"));
  EXPECT_EQ(entries[4]["content"], "file bytes");
  EXPECT_EQ(entries[5]["content"], json::parse(R"({"k":"v"})"));
  EXPECT_EQ(d->Stop(SIGTERM), 0) << d->log();
}

TEST_F(ServeTest, ReadersWorkWhileServingIncludingFollow) {
  ASSERT_EQ(Run({"append", "before"}).exit_code, 0);
  auto d = Serve();
  auto follow = Subprocess::Start(
      {PLUMLOG_BIN, "--home", home_, "read", "--follow", "self"});
  std::optional<std::string> line = follow->ReadLine(Millis(15000));
  ASSERT_TRUE(line.has_value());
  EXPECT_THAT(*line, HasSubstr("\tbefore"));
  ASSERT_EQ(Run({"append", "during"}).exit_code, 0);
  line = follow->ReadLine(Millis(15000));
  ASSERT_TRUE(line.has_value());
  EXPECT_THAT(*line, HasSubstr("\tduring"));
  follow->Kill(SIGTERM);
  RunResult fr;
  ASSERT_TRUE(follow->WaitExit(Millis(10000), &fr));
  EXPECT_EQ(fr.exit_code, 0);

  RunResult r = Run({"feeds"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, StartsWith(id_ + "\t2\t"));
  r = Run({"check"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("2 entries"));
  const std::string exported = dir_.Sub("x.plumlog");
  r = Run({"export", "-o", exported});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(d->Stop(SIGTERM), 0) << d->log();
}

TEST_F(ServeTest, ImportGoesThroughTheDaemon) {
  const std::string other = dir_.Sub("alice");
  ASSERT_EQ(RunWithHome(other, {"init"}).exit_code, 0);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(RunWithHome(
                  other, {"append", std::string("a").append(std::to_string(i))})
                  .exit_code,
              0);
  const std::string stream = dir_.Sub("alice.plumlog");
  ASSERT_EQ(RunWithHome(other, {"export", "-o", stream}).exit_code, 0);
  const std::string alice = RunWithHome(other, {"whoami"}).out.substr(0, 53);

  auto d = Serve();
  RunResult r = Run({"import", stream});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "imported 5 entries: 5 stored, 0 duplicates\n");
  r = Run({"import"}, ReadFileBytes(stream));
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "imported 5 entries: 0 stored, 5 duplicates\n");
  std::vector<json> entries = ReadJson({alice});
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[4]["content"], "a4");
  // A damaged stream is still refused before anything is sent.
  std::string bad = ReadFileBytes(stream);
  bad[bad.size() / 2] ^= 0x55;
  WriteFileBytes(stream, bad);
  r = Run({"import", stream});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("import refused, nothing was written"));
  EXPECT_EQ(d->Stop(SIGTERM), 0) << d->log();
}

TEST_F(ServeTest, StatusJsonHasTheFields) {
  ASSERT_EQ(Run({"append", "x"}).exit_code, 0);
  auto d = Serve();
  RunResult r = Run({"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  json s = json::parse(r.out);
  EXPECT_EQ(s["id"], id_);
  EXPECT_EQ(s["address"], d->address());
  for (const char* key :
       {"uptime_ms", "connections", "configured_peers", "views",
        "members_alive", "members", "progress", "feeds", "counters"}) {
    EXPECT_TRUE(s.contains(key)) << key << " missing in " << r.out;
  }
  EXPECT_TRUE(s["connections"].is_array());
  EXPECT_TRUE(s["views"]["active"].is_array());
  EXPECT_TRUE(s["views"]["passive"].is_array());
  EXPECT_TRUE(s["counters"].contains("handshake_failures"));
  EXPECT_TRUE(s["counters"].contains("entries_stored"));
  bool found = false;
  for (const json& f : s["feeds"]) {
    if (f["feed"] == id_) {
      found = true;
      EXPECT_EQ(f["local"], 1);
    }
  }
  EXPECT_TRUE(found) << r.out;
  r = Run({"status"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, StartsWith("id\t" + id_ + "\n"));
  EXPECT_THAT(r.out, HasSubstr("counters\n"));
  EXPECT_EQ(d->Stop(SIGTERM), 0) << d->log();
}

TEST_F(ServeTest, PeersAddListRemove) {
  auto d = Serve({"--preset", "test", "--no-membership"});
  const std::string other = OtherId();
  // Nobody listens there: the peer stays configured, not connected.
  const std::string addr = AddressOf(other, FreePort());
  RunResult r = Run({"peers", "add", addr});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "added peer " + addr + "\n");
  r = Run({"peers"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, HasSubstr(addr));
  r = Run({"peers", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  json j = json::parse(r.out);
  ASSERT_EQ(j["configured_peers"].size(), 1u) << r.out;
  EXPECT_EQ(j["configured_peers"][0], addr);
  r = Run({"peers", "remove", other});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "removed peer " + other + "\n");
  r = Run({"peers", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_TRUE(json::parse(r.out)["configured_peers"].empty()) << r.out;
  // Malformed arguments are usage errors.
  EXPECT_EQ(Run({"peers", "add", "localhost:1"}).exit_code, 2);
  EXPECT_EQ(Run({"peers", "remove", "nobody"}).exit_code, 2);
  EXPECT_THAT(d->log(), HasSubstr("peer added " + addr));
  EXPECT_EQ(d->Stop(SIGTERM), 0) << d->log();
}

TEST_F(ServeTest, FollowUnfollowBlock) {
  auto d = Serve();
  const std::string other = OtherId();
  RunResult r = Run({"follow", other});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "following " + other + "\n");
  r = Run({"unfollow", other});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "no longer following " + other + "\n");
  r = Run({"block", other});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "blocked " + other + "\n");
  EXPECT_EQ(Run({"follow", "self"}).exit_code, 2);
  EXPECT_EQ(Run({"block"}).exit_code, 2);
  EXPECT_EQ(d->Stop(SIGTERM), 0) << d->log();
}

TEST_F(ServeTest, CommandsThatNeedADaemonSaySoWithoutOne) {
  const std::string other = OtherId();
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"status"},
           {"status", "--json"},
           {"peers"},
           {"peers", "add", AddressOf(other, 1)},
           {"peers", "remove", other},
           {"follow", other},
           {"unfollow", other},
           {"block", other},
           {"whoami", "--address"}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << "\n" << Show(r);
    EXPECT_EQ(r.err, std::string("plumlog: error: ") + kNoDaemon + "\n")
        << args[0];
  }
  // Writers open the store themselves.
  EXPECT_EQ(Run({"append", "alone"}).exit_code, 0);
}

TEST_F(ServeTest, ConfigFileErrorsNameLineAndKey) {
  const std::string cfg = dir_.Sub("serve.conf");
  struct Case {
    std::string text;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"# comment\n\nlisten = 127.0.0.1:0\nlisen = 1.2.3.4:5\n",
            cfg + ":4: unknown key 'lisen'"},
           {"listen 127.0.0.1:0\n", cfg + ":1: expected `key = value`"},
           {"preset = fast\n", cfg + ":1: preset: unknown preset 'fast'"},
           {"max-connections = lots\n", cfg + ":1: max-connections: "},
           {"no-membership = maybe\n", cfg + ":1: no-membership: "},
           {"listen = 1:2\nlisten = 1:3\n",
            cfg + ":2: key 'listen' is given twice"},
           {"peer = nowhere\n", cfg + ":1: peer: not a peer address"},
           {"network-key = abc\n", cfg + ":1: network-key: not a network key"},
       }) {
    WriteFileBytes(cfg, c.text);
    Daemon d(home_, {"--config", cfg});
    EXPECT_FALSE(d.started()) << c.text;
    RunResult r = d.Wait();
    EXPECT_EQ(r.exit_code, 1) << c.text;
    EXPECT_THAT(d.log(), HasSubstr("plumlog: error: " + c.error)) << c.text;
  }
  Daemon missing(home_, {"--config", dir_.Sub("nope.conf")});
  EXPECT_FALSE(missing.started());
  EXPECT_EQ(missing.Wait().exit_code, 1);
  EXPECT_THAT(missing.log(), HasSubstr("nope.conf"));
  // Bad flags are usage errors.
  Daemon bad_flag(home_, {"--listen", "nohost"});
  EXPECT_EQ(bad_flag.Wait().exit_code, 2);
  Daemon bad_preset(home_, {"--preset", "fast"});
  EXPECT_EQ(bad_preset.Wait().exit_code, 2);
}

TEST_F(ServeTest, ConfigFileSettingsApplyAndFlagsOverrideThem) {
  const std::string cfg = dir_.Sub("serve.conf");
  const uint16_t file_port = FreePort();
  WriteFileBytes(cfg, "# test daemon\npreset = test\nlisten = 127.0.0.1:" +
                          std::to_string(file_port) +
                          "\nno-membership = true\nmax-connections = 8\n");
  {
    Daemon d(home_, {"--config", cfg});
    ASSERT_TRUE(d.started()) << d.log();
    EXPECT_THAT(d.address(),
                StartsWith("net:127.0.0.1:" + std::to_string(file_port) + "~"));
    EXPECT_EQ(d.Stop(SIGTERM), 0) << d.log();
  }
  const uint16_t flag_port = FreePort();
  Daemon d(home_, {"--config", cfg, "--listen",
                   "127.0.0.1:" + std::to_string(flag_port)});
  ASSERT_TRUE(d.started()) << d.log();
  EXPECT_THAT(d.address(),
              StartsWith("net:127.0.0.1:" + std::to_string(flag_port) + "~"));
  EXPECT_EQ(d.Stop(SIGTERM), 0) << d.log();
}

TEST_F(ServeTest, SigtermAndSigintExitZeroAndLeaveAGoodStore) {
  for (int sig : {SIGTERM, SIGINT}) {
    auto d = Serve();
    for (int i = 0; i < 3; ++i) ASSERT_EQ(Run({"append", "e"}).exit_code, 0);
    EXPECT_EQ(d->Stop(sig), 0) << d->log();
    EXPECT_THAT(d->log(), HasSubstr("shutting down"));
    struct stat st;
    EXPECT_NE(::lstat(SocketPath().c_str(), &st), 0) << "socket left behind";
  }
  RunResult r = Run({"check"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("6 entries"));
  // The store is free again for a plain writer.
  EXPECT_EQ(Run({"append", "after"}).exit_code, 0);
}

TEST_F(ServeTest, StaleSocketAfterSigkillIsHandled) {
  {
    auto d = Serve();
    ASSERT_EQ(Run({"append", "one"}).exit_code, 0);
    EXPECT_EQ(d->Stop(SIGKILL), -1);
  }
  struct stat st;
  ASSERT_EQ(::lstat(SocketPath().c_str(), &st), 0) << "expected a stale socket";
  // Nobody answers: commands behave as without a daemon.
  RunResult r = Run({"status"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(kNoDaemon));
  EXPECT_EQ(Run({"append", "two"}).exit_code, 0);
  // The next daemon replaces the stale socket.
  auto d = Serve();
  r = Run({"append", "three"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, StartsWith("3\t"));
  EXPECT_EQ(d->Stop(SIGTERM), 0) << d->log();
  EXPECT_EQ(Run({"check"}).exit_code, 0);
}

// Writes `bytes` to a fresh control connection and reads whatever comes back
// until the daemon closes or 2 s pass.
std::string Poke(const std::string& home, std::string_view bytes,
                 bool half_close = true) {
  const int fd = ConnectControl(home);
  if (fd < 0) return "<connect failed>";
  (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (half_close) ::shutdown(fd, SHUT_WR);
  struct timeval tv = {2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string FrameOf(std::string_view payload) {
  std::string f(4, '\0');
  const uint32_t n = static_cast<uint32_t>(payload.size());
  f[0] = static_cast<char>(n >> 24);
  f[1] = static_cast<char>(n >> 16);
  f[2] = static_cast<char>(n >> 8);
  f[3] = static_cast<char>(n);
  return f + std::string(payload);
}

// An error response: a frame holding [code != 0, message].
bool IsErrorResponse(const std::string& reply) {
  if (reply.size() < 6) return false;
  const unsigned char array = static_cast<unsigned char>(reply[4]);
  const unsigned char code = static_cast<unsigned char>(reply[5]);
  return array == 0x92 && code != 0;
}

TEST_F(ServeTest, GarbageOnTheControlSocketDoesNotHurtTheDaemon) {
  auto d = Serve();
  // Oversized and empty frames: an error reply, then a disconnect.
  EXPECT_TRUE(IsErrorResponse(Poke(home_, "\xff\xff\xff\xff")));
  EXPECT_TRUE(IsErrorResponse(Poke(home_, std::string(4, '\0'))));
  // Well-framed nonsense: error replies.
  EXPECT_TRUE(IsErrorResponse(Poke(home_, FrameOf("garbage"))));
  EXPECT_TRUE(IsErrorResponse(Poke(home_, FrameOf("\x90"))));  // []
  EXPECT_TRUE(
      IsErrorResponse(Poke(home_, FrameOf("\x91\xa4nope"))));  // ["nope"]
  EXPECT_TRUE(IsErrorResponse(Poke(home_, FrameOf("\x91\xa6"
                                                  "append"))));  // no arg
  EXPECT_TRUE(IsErrorResponse(Poke(home_, FrameOf("\x92\xa6"
                                                  "follow"
                                                  "\xc4\x03"
                                                  "abc"))));  // short id
  EXPECT_TRUE(
      IsErrorResponse(Poke(home_, FrameOf("\x92\xa6"
                                          "append"
                                          "\xc4\x01\xc1"))));  // bad msgpack
  EXPECT_TRUE(
      IsErrorResponse(Poke(home_, FrameOf("\x92\xa6"
                                          "ingest"
                                          "\x91\xc4\x02xx"))));  // bad entry
  EXPECT_TRUE(IsErrorResponse(
      Poke(home_, FrameOf("\x92\xa9peers.add\xa5hello"))));  // bad address
  EXPECT_TRUE(IsErrorResponse(
      Poke(home_, FrameOf(std::string("\x91\xa6status") + "trailing"))));
  // Truncated frames and random bytes; the client goes away.
  Poke(home_, std::string("\x00\x00\x10\x00partial", 11));
  std::string noise;
  for (int i = 0; i < 100000; ++i)
    noise.push_back(static_cast<char>((i * 7919) ^ (i >> 3)));
  Poke(home_, noise);
  // Many clients at once that never send anything.
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) idle.push_back(ConnectControl(home_));
  for (int fd : idle)
    if (fd >= 0) ::close(fd);
  // Still alive and well.
  RunResult r = Run({"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r) << d->log();
  r = Run({"append", "still here"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(d->Stop(SIGTERM), 0) << d->log();
}

TEST_F(ServeTest, SyncWithoutAnyPeerFailsClearly) {
  const std::string other = OtherId();
  const uint16_t port = FreePort();
  const auto start = std::chrono::steady_clock::now();
  RunResult r = RunWithHome(home_, {"sync", AddressOf(other, port), "--timeout",
                                    "20", "--preset", "test"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err,
              HasSubstr("plumlog: error: sync with " + AddressOf(other, port) +
                        " failed: cannot connect to 127.0.0.1:" +
                        std::to_string(port)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, Millis(15000));
  EXPECT_EQ(Run({"sync", "nowhere"}).exit_code, 2);
  EXPECT_EQ(Run({"sync", AddressOf(other, port), "--timeout", "0"}).exit_code,
            2);
}

TEST_F(ServeTest, SyncGivesUpAfterItsTimeout) {
  // A peer that accepts connections (the kernel's backlog) but never answers
  // the handshake.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr),
            0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len);
  const std::string peer = AddressOf(OtherId(), ntohs(addr.sin_port));
  RunResult r = Run({"sync", peer, "--timeout", "1", "--preset", "test"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_EQ(r.err, "plumlog: error: not in sync with " + peer +
                       " after 1 s (not connected)\n");
  // Given longer, the handshake timeout says what went wrong.
  r = Run({"sync", peer, "--timeout", "30", "--preset", "test"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("the handshake timed out"));
  ::close(fd);
}

TEST_F(ServeTest, HelpExplainsTheNewCommands) {
  for (const char* cmd :
       {"serve", "peers", "status", "follow", "unfollow", "block", "sync"}) {
    RunResult r = RunPlumlog({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_THAT(r.out, HasSubstr(cmd)) << cmd;
  }
  RunResult r = RunPlumlog({"serve", "--help"});
  for (const char* flag :
       {"--listen", "--advertise", "--peer", "--network-key", "--no-membership",
        "--preset", "--config", "--max-connections"}) {
    EXPECT_THAT(r.out, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace plumlog::testing
