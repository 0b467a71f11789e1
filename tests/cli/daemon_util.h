// Test helpers for `plumlog serve`: a daemon process whose stderr goes to a
// log file (so a chatty daemon never blocks on a full pipe), polling with a
// deadline, free ports and raw control-socket connections.
#ifndef PLUMLOG_TESTS_CLI_DAEMON_UTIL_H_
#define PLUMLOG_TESTS_CLI_DAEMON_UTIL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/cli/subprocess.h"

namespace plumlog::testing {

// A running `plumlog --home HOME serve ARGS...`.
class Daemon {
 public:
  // Starts the daemon and waits (up to 30 s) for the address it prints.
  // On failure address() is empty and log() says why.
  Daemon(const std::string& home, const std::vector<std::string>& args);
  // SIGKILLs the daemon if it still runs.
  ~Daemon();

  const std::string& address() const { return address_; }
  bool started() const { return !address_.empty(); }
  pid_t pid() const { return process_->pid(); }
  std::string log() const { return ReadFileBytes(log_path_); }

  // Sends `sig` and waits up to 30 s for the exit; the exit code (-1 if it
  // died by a signal, -100 on timeout).
  int Stop(int sig);
  // Waits for an exit without sending anything (a daemon that refused to
  // start).
  RunResult Wait();

 private:
  std::string log_path_;
  std::string address_;
  std::unique_ptr<Subprocess> process_;
};

// The head sequence of `feed` (its text id) in the store at `home`, read with
// `plumlog feeds --json` (0 if the store does not hold it).
uint64_t FeedHeadSeq(const std::string& home, const std::string& feed);

// Calls `done` every 50 ms until it returns true or `timeout` passes.
bool PollUntil(const std::function<bool()>& done, Millis timeout);

// A TCP port on 127.0.0.1 that was free a moment ago.
uint16_t FreePort();

// A connected unix socket to <home>/control.sock, or -1.
int ConnectControl(const std::string& home);

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_CLI_DAEMON_UTIL_H_
