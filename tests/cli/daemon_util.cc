#include "tests/cli/daemon_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

namespace plumlog::testing {
namespace {

std::atomic<int> g_daemon_count{0};

}  // namespace

Daemon::Daemon(const std::string& home, const std::vector<std::string>& args) {
  log_path_ = home + ".serve" + std::to_string(g_daemon_count++) + ".log";
  std::vector<std::string> argv = {
      "/bin/sh", "-c",        "exec \"$@\" 2>>\"$PLUMLOG_TEST_LOG\"",
      "sh",      PLUMLOG_BIN, "--home",
      home,      "serve"};
  argv.insert(argv.end(), args.begin(), args.end());
  // Test daemons append at once unless a test asks for the own-feed check
  // (docs/operations.md, "Restoring a node") with --own-feed-check.
  bool own_feed_flag = false;
  for (const std::string& a : args) {
    own_feed_flag = own_feed_flag || a == "--own-feed-check" || a == "--no-own-feed-check";
  }
  if (!own_feed_flag) argv.push_back("--no-own-feed-check");
  process_ = Subprocess::Start(argv, {{"PLUMLOG_TEST_LOG", log_path_}});
  std::optional<std::string> line = process_->ReadLine(Millis(30000));
  if (line) address_ = *line;
}

Daemon::~Daemon() = default;  // Subprocess's destructor SIGKILLs and reaps

int Daemon::Stop(int sig) {
  process_->Kill(sig);
  RunResult r;
  if (!process_->WaitExit(Millis(30000), &r)) return -100;
  return r.exit_code;
}

RunResult Daemon::Wait() { return process_->Finish(Millis(30000)); }

bool PollUntil(const std::function<bool()>& done, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis(50));
  }
}

uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int ConnectControl(const std::string& home) {
  const std::string path = home + "/control.sock";
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return -1;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) !=
      0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

uint64_t FeedHeadSeq(const std::string& home, const std::string& feed) {
  RunResult r = RunWithHome(home, {"feeds", "--json"});
  if (r.exit_code != 0) return 0;
  for (const std::string& line : Lines(r.out)) {
    nlohmann::json f = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (f.is_object() && f["author"] == feed) return f["seq"].get<uint64_t>();
  }
  return 0;
}

}  // namespace plumlog::testing
