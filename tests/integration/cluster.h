// Integration-test helpers: a set of `plumlog serve` daemons on temporary
// homes (real processes, real sockets), driven through the CLI, with the
// daemons' logs kept across restarts for failure messages.
//
// Built on tests/cli/daemon_util.h (Daemon, which SIGKILLs on destruction) and
// tests/cli/subprocess.h; everything here only adds bookkeeping on top.
#ifndef PLUMLOG_TESTS_INTEGRATION_CLUSTER_H_
#define PLUMLOG_TESTS_INTEGRATION_CLUSTER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/cli/daemon_util.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {

// A feed's head as `plumlog feeds --json` shows it.
struct FeedHead {
  uint64_t seq = 0;
  std::string id;  // %...blake2b
  bool operator==(const FeedHead&) const = default;
};
// author (@...ed25519) -> head.
using Heads = std::map<std::string, FeedHead>;

// One acknowledged append: what `plumlog append` printed.
struct Ack {
  uint64_t seq = 0;
  std::string id;
};

// Calls `done` every `interval` until it returns true or `timeout` passes
// (it is called once more at the deadline).
bool PollEvery(Millis interval, Millis timeout,
               const std::function<bool()>& done);

// One store (home) and the daemon serving it, across restarts.
class Peer {
 public:
  Peer(std::string name, std::string home);
  ~Peer();  // SIGKILLs a daemon still running (Daemon's destructor)
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  // `plumlog init`; remembers the feed id.
  bool Init();
  // `plumlog serve --preset test ARGS...`; false (and the log in `why`) if
  // it printed no address. `gid`, when set, is the group the daemon runs as
  // (the netns tests use it to tell its sockets apart in firewall rules).
  bool Start(const std::vector<std::string>& args, std::string* why,
             std::optional<gid_t> gid = std::nullopt);
  // SIGKILL, and waits for the exit.
  void Kill();
  // SIGTERM; the exit code (0 for a clean shutdown, -100 on timeout).
  int Stop();
  bool running() const { return daemon_ != nullptr; }
  // The running daemon's process id; -1 when none runs.
  pid_t daemon_pid() const { return daemon_ ? daemon_->pid() : -1; }

  const std::string& name() const { return name_; }
  const std::string& home() const { return home_; }
  const std::string& id() const { return id_; }
  // The address the current (or last) daemon printed.
  const std::string& address() const { return address_; }
  // The port of address().
  uint16_t port() const;

  // `plumlog --home HOME ARGS...`.
  RunResult Run(const std::vector<std::string>& args) const;
  // `plumlog append TEXT`: the acknowledgment, or nullopt (and the output
  // in `why`).
  std::optional<Ack> Append(const std::string& text,
                            std::string* why = nullptr) const;
  // `plumlog feeds --json`; nullopt if the command failed.
  std::optional<Heads> GetHeads() const;
  // The head sequence of `feed` (0 if absent or on error).
  uint64_t Head(const std::string& feed) const;
  // `plumlog status --json`; nullopt if it failed.
  std::optional<nlohmann::json> Status() const;
  // `plumlog read FEED --json`: seq -> entry id, in order; nullopt on error.
  std::optional<std::map<uint64_t, std::string>> ReadFeed(
      const std::string& feed) const;

  // The stderr of every daemon run on this home so far, each cut to its
  // last `tail_bytes`.
  std::string Logs(size_t tail_bytes = 24000) const;
  // For failure messages: whether the running daemon still answers on its
  // control socket, its process state, and when it does not answer, the
  // stacks of its threads (with gdb, when there is one).
  std::string Diagnose() const;

 private:
  std::string name_;
  std::string home_;
  std::string id_;
  std::string address_;
  std::unique_ptr<Daemon> daemon_;
  std::vector<std::unique_ptr<Daemon>> past_;  // exited, kept for their logs
};

// Peers on homes under one temporary directory. Destroying it SIGKILLs
// every daemon still running, then removes the directory.
class Cluster {
 public:
  Cluster() = default;
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // A new initialised store named `name`; nullptr if `plumlog init` failed.
  Peer* Add(const std::string& name);
  Peer& operator[](size_t i) { return *peers_[i]; }
  size_t size() const { return peers_.size(); }
  const std::string& dir() const { return dir_.path(); }

  // True when every peer in `which` (all if empty) stores every feed of
  // `want` at exactly that sequence. `why` gets what is still missing.
  bool HaveAll(const std::map<std::string, uint64_t>& want,
               std::string* why,
               const std::vector<Peer*>& which = {}) const;

  // The logs of every peer, for failure messages.
  std::string Logs() const;

 private:
  TempDir dir_;
  std::vector<std::unique_ptr<Peer>> peers_;  // destroyed before dir_
};

// Appends `count` entries "PREFIX 1" .. "PREFIX count" with `plumlog
// append` (through the daemon when one runs). Returns the acknowledgments;
// failures go to `errors`.
std::vector<Ack> AppendMany(const Peer& peer, const std::string& prefix,
                            int count, std::vector<std::string>* errors);

// Runs AppendMany on several peers at once (one thread each), `count`
// entries "NAME i" on each. Returns the errors of all.
std::vector<std::string> AppendOnAll(const std::vector<Peer*>& peers,
                                     int count);

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_INTEGRATION_CLUSTER_H_
