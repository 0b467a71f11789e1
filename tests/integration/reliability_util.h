// Helpers shared by the reliability tests (crash_daemon_test.cc,
// disk_full_test.cc, churn_soak_test.cc): seeds and run lengths from the
// environment, an appender thread that records acknowledgments, a source feed
// that produces export streams of fresh entries, and /proc probes (RSS, the
// CPU time of RocksDB's background threads).
#ifndef PLUMLOG_TESTS_INTEGRATION_RELIABILITY_UTIL_H_
#define PLUMLOG_TESTS_INTEGRATION_RELIABILITY_UTIL_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "plumlog/store.h"
#include "tests/integration/cluster.h"

namespace plumlog::testing {

// The seed in the environment variable `env` (decimal), else a random one.
// Prints "<what> seed: N (rerun with ENV=N)".
uint32_t SeedFromEnv(const char* env, const char* what);

// The integer in the environment variable `env`, or `fallback` when unset or
// not a number.
long EnvInt(const char* env, long fallback);

// Appends "PREFIX 1", "PREFIX 2", ... with `plumlog append` from `threads`
// threads until stopped, recording every acknowledgment and every failure.
// `pause_ms` (each thread) sleeps that long between appends.
class Appender {
 public:
  Appender(const Peer& peer, std::string prefix, int threads = 1,
           int pause_ms = 0);
  ~Appender();
  void Stop();
  size_t acked() const { return count_.load(); }
  std::vector<Ack> acks() const;
  std::vector<std::string> errors() const;

 private:
  void Run(int thread);
  const Peer& peer_;
  const std::string prefix_;
  const int pause_ms_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> count_{0};
  std::atomic<uint64_t> next_{1};
  mutable std::mutex mu_;
  std::vector<Ack> acks_;
  std::vector<std::string> errors_;
  std::vector<std::thread> threads_;
};

// A feed written in this process (a store opened directly on `home`, which
// must hold an initialised store no daemon serves): each Next() appends
// `count` entries of `content_bytes` random text and writes them, alone, as an
// export stream to a file under `dir`.
class SourceFeed {
 public:
  static std::unique_ptr<SourceFeed> Open(const std::string& home,
                                          std::string dir, uint32_t seed,
                                          std::string* why);
  // The path of the stream, or "" (and `why`).
  std::string Next(int count, size_t content_bytes, std::string* why);
  const std::string& id() const { return id_; }
  uint64_t head() const { return head_; }
  // seq -> entry id of every entry appended so far.
  const std::map<uint64_t, std::string>& ids() const { return ids_; }

 private:
  std::unique_ptr<Store> store_;
  std::string dir_;
  std::string id_;
  uint64_t head_ = 0;
  int files_ = 0;
  std::mt19937 rng_;
  std::map<uint64_t, std::string> ids_;
};

// VmRSS of `pid` in KiB, 0 if unknown.
uint64_t RssKib(pid_t pid);

// Summed user+system CPU ticks of the threads of `pid` named `name` (e.g.
// "rocksdb:low", RocksDB's compaction pool; "rocksdb:high", its flush pool),
// and how many of them are running (state R) right now.
struct ThreadCpu {
  uint64_t ticks = 0;
  int running = 0;
};
ThreadCpu ThreadsCpu(pid_t pid, const std::string& name);

// `plumlog read FEED --json` checked line by line: the seqs are exactly
// 1..n in order (no gap, no duplicate). seq -> id; nullopt (and `why`) if not.
std::optional<std::map<uint64_t, std::string>> ReadContiguous(
    const Peer& peer, const std::string& feed, std::string* why);

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_INTEGRATION_RELIABILITY_UTIL_H_
