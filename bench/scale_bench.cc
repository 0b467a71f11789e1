// Scale benchmark (issue 15): many feeds, real `plumlog serve` daemons in
// separate processes on loopback. Prints figures beside their goals and an
// in-run baseline; never passes or fails (bench/README.md).
//
//   scale_bench [--feeds N] [--entries N] [--daemons 2|3|both] [--quick]
//               [--idle-s S] [--latency-samples N] [--dir DIR] [--perf FILE]
//               [--sync-timeout-s S] [--seed S] [--keep]
//
// 1. Builds a seed store: N feeds (authors' keys generated here) of M entries
//    with 200-byte contents, signed on both cores and ingested in batches.
// 2. Baseline: Ed25519 verification of the same entries on 2 threads, with
//    libsodium and with the store's crypto::SignatureVerifier.
// 3. For 2 daemons (A = the seed store, B fresh) and 3 (A, B and C fresh):
//    first sync (entries/s, seconds, VmHWM and VmRSS, CPU seconds of each
//    daemon from /proc/<pid>/stat); idle CPU of every daemon for --idle-s
//    seconds; latency of one entry appended on A (control socket) until it
//    is in B's (and C's) write-ahead log (WalTail: this process reads the
//    log files, so nothing asks the daemons); reconnect: B stopped, A and B
//    each get 1 % more entries (on 1 % of the feeds, disjoint), B restarted:
//    seconds until all hold everything and bytes B exchanged (its `status`
//    counters).
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "cli/control_client.h"
#include "cli/control_protocol.h"
#include "crypto/keypair.h"
#include "crypto/parallel.h"
#include "crypto/signature_verifier.h"
#include "plumlog/store.h"
#include "format/entry_codec.h"
#include "storage/keys.h"
#include "core/msgpack_reader.h"

extern char** environ;

namespace plumlog::bench {
namespace {

namespace fs = std::filesystem;

struct Args {
  size_t feeds = 10000;
  size_t entries = 100;
  int daemons = 0;  // 0: both 2 and 3
  int idle_s = 60;
  int latency_samples = 500;
  int sync_timeout_s = 1800;
  std::string dir;
  std::string perf;
  uint64_t seed = 1;
  bool keep = false;
};
Args g;

// Daemons running now, stopped by Die so that none outlives the bench.
std::vector<pid_t> g_running;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "scale_bench: %s\n", what.c_str());
  for (pid_t pid : g_running) kill(pid, SIGTERM);
  for (pid_t pid : g_running) waitpid(pid, nullptr, 0);
  std::exit(1);
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

// "(load 3.42)" for the figure printed next to it.
std::string Load() {
  char b[32];
  std::snprintf(b, sizeof b, "(load %.2f)", LoadAverage1());
  return b;
}

const char* Verdict(bool pass) { return pass ? "PASS" : "MISS"; }

constexpr uint64_t kBaseTimestampMs = 1700000000000;

// ------------------------------------------------------------ authors, entries

crypto::KeyPair AuthorKey(size_t i) {
  std::array<uint8_t, 32> seed{};
  const char tag[] = "plumlog-scale-bench";
  std::memcpy(seed.data(), tag, sizeof tag - 1);
  for (int b = 0; b < 8; ++b)
    seed[24 + b] = static_cast<uint8_t>((i >> (8 * b)) & 0xff);
  seed[23] = static_cast<uint8_t>(g.seed);
  return crypto::KeyPair::FromSeed(seed);
}

// One author's state while the bench writes its feed.
struct Author {
  crypto::KeyPair key;
  uint64_t seq = 0;
  EntryId head;
};

// The next `n` entries of `a`'s feed, signed (deterministically).
std::vector<Entry> NextEntries(Author* a, size_t n,
                               const std::string& content) {
  std::vector<Entry> out;
  out.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    EntryCodec::Fields f;
    f.author = a->key.public_key();
    f.seq = a->seq + 1;
    if (a->seq > 0) f.previous = a->head;
    f.lamport = f.seq;
    f.timestamp_ms = kBaseTimestampMs + f.seq;
    f.content = content;
    Result<Entry> e = EntryCodec::Build(a->key, f);
    if (!e.ok()) Die("building an entry: " + e.status().ToString());
    a->seq = f.seq;
    a->head = e->id();
    out.push_back(std::move(e).value());
  }
  return out;
}

// Appends `per_author` entries to each author in [begin, end), signing on
// both cores, and hands them to `sink` in feed order, `authors_per_batch`
// feeds at a time.
void WriteFeeds(std::vector<Author>& authors, size_t begin, size_t end,
                size_t per_author,
                const std::function<void(std::vector<Entry>)>& sink) {
  const std::string content = Content200();
  crypto::WorkerPool pool(1);
  const size_t per_batch = std::max<size_t>(1, 1000 / per_author);
  for (size_t at = begin; at < end; at += per_batch) {
    const size_t n = std::min(per_batch, end - at);
    std::vector<std::vector<Entry>> parts(n);
    pool.ParallelFor(n, [&](size_t k) {
      parts[k] = NextEntries(&authors[at + k], per_author, content);
    });
    std::vector<Entry> batch;
    batch.reserve(n * per_author);
    for (auto& p : parts) {
      for (auto& e : p) batch.push_back(std::move(e));
    }
    sink(std::move(batch));
  }
}

std::unique_ptr<Store> OpenStore(const std::string& home) {
  StoreOptions o;
  o.create_if_missing = true;
  auto s = Store::Open(home, o);
  if (!s.ok()) Die("open " + home + ": " + s.status().ToString());
  return std::move(s).value();
}

void IngestAll(Store* store, std::vector<Entry> batch) {
  const size_t n = batch.size();
  IngestResult r = store->Ingest(std::move(batch));
  if (!r.ok() || r.stored != n) {
    Die("ingest: stored " + std::to_string(r.stored) + " of " +
        std::to_string(n) + ": " + r.failure.ToString());
  }
}

// ---------------------------------------------------------------- baselines

struct VerifyBaseline {
  double sodium_rate = 0;    // entries/s, libsodium, 2 threads
  double verifier_rate = 0;  // entries/s, crypto::SignatureVerifier, 2 threads
};

// Reads every entry of `store` in arrival order (the order A will send them
// in, feed by feed) and times their verification on 2 threads.
VerifyBaseline MeasureVerify(Store* store) {
  crypto::WorkerPool pool(1);
  crypto::SignatureVerifier verifier;
  double sodium_s = 0, verifier_s = 0;
  size_t total = 0;
  uint64_t after = 0;
  constexpr size_t kChunk = 64;  // as the store verifies ingested runs
  for (;;) {
    Result<ArrivalPage> page = store->ReadArrival(after, 20000);
    if (!page.ok()) Die("ReadArrival: " + page.status().ToString());
    if (page->entries.empty()) break;
    after = page->next;
    const auto& es = page->entries;
    std::vector<crypto::SignatureVerifier::Item> items;
    items.reserve(es.size());
    for (const Entry& e : es) items.push_back(EntryCodec::SignatureItem(e));
    std::atomic<bool> bad{false};
    auto t0 = SteadyClock::now();
    pool.ParallelFor(es.size(), [&](size_t i) {
      if (!crypto::SignatureVerifier::VerifyWithSodium(items[i])) bad = true;
    });
    auto t1 = SteadyClock::now();
    std::vector<uint8_t> ok(items.size(), 0);
    const size_t chunks = (items.size() + kChunk - 1) / kChunk;
    pool.ParallelFor(chunks, [&](size_t c) {
      const size_t b = c * kChunk, e = std::min(items.size(), b + kChunk);
      verifier.Verify(std::span<const crypto::SignatureVerifier::Item>(
                          items.data() + b, e - b),
                      std::span<uint8_t>(ok.data() + b, e - b));
    });
    auto t2 = SteadyClock::now();
    for (uint8_t v : ok) bad = bad || v != 1;
    if (bad) Die("a seed entry failed verification");
    sodium_s += Seconds(t0, t1);
    verifier_s += Seconds(t1, t2);
    total += es.size();
  }
  return {static_cast<double>(total) / sodium_s,
          static_cast<double>(total) / verifier_s};
}

// ------------------------------------------------------------------ daemons

// CPU seconds (user + system) of a process, from /proc/<pid>/stat.
double ProcCpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)),
                std::istreambuf_iterator<char>());
  const size_t close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct InSyncReply {
  bool in_sync = false;
  bool connected = false;
  uint64_t start = 0, current = 0, target = 0;
};

// One `plumlog serve` process and a control-socket client to it.
class Daemon {
 public:
  Daemon(std::string name, std::string home)
      : name_(std::move(name)), home_(std::move(home)) {}
  ~Daemon() { Stop(); }

  const std::string& name() const { return name_; }
  const std::string& home() const { return home_; }
  pid_t pid() const { return pid_; }
  const PeerAddress& address() const { return address_; }

  void Start(const std::vector<PeerAddress>& peers) {
    std::vector<std::string> args = {PLUMLOG_BIN, "--home",   home_,
                                     "serve",     "--listen", "127.0.0.1:0"};
    for (const PeerAddress& p : peers) {
      args.push_back("--peer");
      args.push_back(p.ToString());
    }
    const std::string out = home_ + ".addr", err = home_ + ".log";
    fs::remove(out);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, PLUMLOG_BIN, &fa, nullptr, argv.data(), environ) !=
        0) {
      Die("cannot start " + name_);
    }
    g_running.push_back(pid_);
    posix_spawn_file_actions_destroy(&fa);
    // The address is the first line on standard output.
    const auto deadline = SteadyClock::now() + std::chrono::seconds(120);
    std::string line;
    while (SteadyClock::now() < deadline) {
      std::ifstream f(out);
      if (std::getline(f, line) && !f.eof()) break;
      line.clear();
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        std::erase(g_running, pid_);
        pid_ = 0;
        Die(name_ + " exited at start; see " + err);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Result<PeerAddress> a = PeerAddress::Parse(line);
    if (!a.ok()) Die(name_ + " printed no address; see " + err);
    address_ = *a;
    Result<std::unique_ptr<cli::ControlClient>> c =
        cli::ControlClient::Connect(home_);
    if (!c.ok())
      Die("control socket of " + name_ + ": " + c.status().ToString());
    client_ = std::move(c).value();
  }

  void Stop() {
    client_.reset();
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    const auto deadline = SteadyClock::now() + std::chrono::seconds(60);
    int status;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (SteadyClock::now() > deadline) {
        std::fprintf(stderr,
                     "scale_bench: %s did not stop in 60 s; killing it\n",
                     name_.c_str());
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::erase(g_running, pid_);
    pid_ = 0;
  }

  double Cpu() const { return ProcCpuSeconds(pid_); }
  double PeakMb() const {
    return static_cast<double>(ProcStatusKb(pid_, "VmHWM")) / 1024.0;
  }
  double RssMb() const {
    return static_cast<double>(ProcStatusKb(pid_, "VmRSS")) / 1024.0;
  }

  std::string Call(const std::string& request, uint32_t* n = nullptr) {
    uint32_t count = 0;
    std::string results;
    Status st = client_->Call(request, 120000, &count, &results);
    if (!st.ok()) Die(name_ + ": control call: " + st.ToString());
    if (n) *n = count;
    return results;
  }

  InSyncReply InSync(const FeedId& peer) {
    std::string req = cli::ControlRequest(cli::kInSync, 1);
    core::AppendMsgpackBin(&req, peer.view());
    const std::string res = Call(req);
    core::MsgpackReader r(res);
    InSyncReply out;
    Status st = r.ReadBool("in sync", &out.in_sync);
    if (st.ok()) st = r.ReadBool("connected", &out.connected);
    if (st.ok()) st = r.ReadUint("start", &out.start);
    if (st.ok()) st = r.ReadUint("current", &out.current);
    if (st.ok()) st = r.ReadUint("target", &out.target);
    if (!st.ok()) Die(name_ + ": insync reply: " + st.ToString());
    return out;
  }

  uint64_t Append(const std::string& content) {
    std::string req = cli::ControlRequest(cli::kAppend, 1);
    core::AppendMsgpackBin(&req, content);
    const std::string res = Call(req);
    core::MsgpackReader r(res);
    uint64_t seq = 0;
    if (!r.ReadUint("seq", &seq).ok()) Die(name_ + ": append reply");
    return seq;
  }

  void Ingest(const std::vector<Entry>& entries) {
    for (size_t at = 0; at < entries.size(); at += 1000) {
      const size_t n = std::min<size_t>(1000, entries.size() - at);
      std::string req = cli::ControlRequest(cli::kIngest, 1);
      core::AppendMsgpackArrayHeader(&req, static_cast<uint32_t>(n));
      for (size_t i = at; i < at + n; ++i)
        core::AppendMsgpackBin(&req, entries[i].encoded());
      const std::string res = Call(req);
      core::MsgpackReader r(res);
      uint64_t stored = 0;
      if (!r.ReadUint("stored", &stored).ok() || stored != n) {
        Die(name_ + ": ingest stored " + std::to_string(stored) + " of " +
            std::to_string(n));
      }
    }
  }

  NodeStatus GetStatus() {
    const std::string res = Call(cli::ControlRequest(cli::kStatus, 0));
    NodeStatus s;
    Status st = cli::DecodeStatus(res, &s);
    if (!st.ok()) Die(name_ + ": status reply: " + st.ToString());
    return s;
  }

 private:
  const std::string name_;
  const std::string home_;
  pid_t pid_ = 0;
  PeerAddress address_;
  std::unique_ptr<cli::ControlClient> client_;
};

// Follows a daemon's RocksDB write-ahead log to see the moment a write
// holding some key reaches it, without asking the daemon anything (a RocksDB
// secondary instance takes milliseconds per catch-up). RocksDB's log format
// (db/log_format.h in RocksDB): 32 KiB blocks of physical records, each a
// header -- checksum (4), length (2, little-endian), type (1), plus the log
// number (4) for the recyclable types 5..8 -- and `length` payload bytes; a
// block's last < header bytes are padding. The payloads, concatenated, are
// the write batches, which hold every key in clear.
class WalTail {
 public:
  explicit WalTail(std::string db_dir) : dir_(std::move(db_dir)) { Refresh(); }
  ~WalTail() {
    if (fd_ >= 0) close(fd_);
  }

  // True once a write holding `key` was logged since the last Reset().
  bool Saw(std::string_view key) {
    Poll();
    return stream_.find(key) != std::string::npos;
  }
  // Forgets what was seen (keeps a tail so a key split across polls is found).
  void Reset() {
    Poll();
    if (stream_.size() > 64) stream_.erase(0, stream_.size() - 64);
  }

 private:
  static constexpr size_t kBlock = 32768;

  // Opens the newest log file if there is a newer one than the current.
  void Refresh() {
    uint64_t newest = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string n = e.path().filename().string();
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".log") == 0 &&
          n.find_first_not_of("0123456789") == n.size() - 4) {
        newest =
            std::max<uint64_t>(newest, std::stoull(n.substr(0, n.size() - 4)));
      }
    }
    if (newest == 0 || newest == number_) return;
    if (fd_ >= 0) {
      Poll();  // the rest of the old file first
      close(fd_);
    }
    char name[32];
    std::snprintf(name, sizeof name, "/%06" PRIu64 ".log", newest);
    fd_ = open((dir_ + name).c_str(), O_RDONLY);
    if (fd_ < 0) Die("cannot open " + dir_ + name);
    number_ = newest;
    raw_.clear();
    raw_off_ = 0;
  }

  void Poll() {
    if (++polls_ % 64 == 0) Refresh();
    char buf[65536];
    for (;;) {
      const ssize_t n = pread(fd_, buf, sizeof buf,
                              static_cast<off_t>(raw_off_ + raw_.size()));
      if (n <= 0) break;
      raw_.append(buf, static_cast<size_t>(n));
    }
    // raw_ starts at file offset raw_off_, always a record boundary.
    size_t at = 0;
    for (;;) {
      const size_t off = raw_off_ + at;
      const size_t left_in_block = kBlock - off % kBlock;
      if (left_in_block < 7) {
        if (raw_.size() - at < left_in_block) break;
        at += left_in_block;
        continue;
      }
      if (raw_.size() - at < 7) break;
      const auto* h = reinterpret_cast<const uint8_t*>(raw_.data() + at);
      const uint8_t type = h[6];
      if (type == 0) break;  // preallocated zeros: nothing written here yet
      const size_t header = type >= 5 ? 11 : 7;
      const size_t len = h[4] | (size_t{h[5]} << 8);
      if (raw_.size() - at < header + len) break;
      stream_.append(raw_.data() + at + header, len);
      at += header + len;
    }
    raw_.erase(0, at);
    raw_off_ += at;
  }

  const std::string dir_;
  int fd_ = -1;
  uint64_t number_ = 0;
  uint64_t polls_ = 0;
  std::string raw_;  // unparsed bytes of the log file, from raw_off_
  size_t raw_off_ = 0;
  std::string stream_;  // payloads parsed so far
};

// Waits until every daemon's progress `current` (its sum of sequences) is
// `total`; false after `timeout_s`.
bool WaitAllHold(const std::vector<Daemon*>& ds, const FeedId& any_peer,
                 uint64_t total, double timeout_s,
                 std::vector<double>* done_s = nullptr,
                 SteadyClock::time_point t0 = SteadyClock::now()) {
  const auto deadline =
      t0 + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  std::vector<bool> done(ds.size(), false);
  if (done_s) done_s->assign(ds.size(), 0);
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < ds.size(); ++i) {
      if (done[i]) continue;
      const FeedId& peer = ds[i]->address().id == any_peer
                               ? ds[(i + 1) % ds.size()]->address().id
                               : any_peer;
      if (ds[i]->InSync(peer).current >= total) {
        done[i] = true;
        if (done_s) (*done_s)[i] = Seconds(t0, SteadyClock::now());
      } else {
        all = false;
      }
    }
    if (all) return true;
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// ------------------------------------------------------------------- phases

struct World {
  std::vector<Author> authors;
  std::string seed_home;
  uint64_t total = 0;      // sum of sequences every daemon should hold
  size_t entry_bytes = 0;  // encoded size of one entry
};

void PrintDaemonLine(const Daemon& d, double cpu0) {
  std::printf("    %-2s cpu %7.2f s   VmHWM %7.1f MB   VmRSS %7.1f MB\n",
              d.name().c_str(), d.Cpu() - cpu0, d.PeakMb(), d.RssMb());
}

void RunConfig(World& w, int daemons, const VerifyBaseline& base) {
  const size_t n_entries = g.feeds * g.entries;
  std::printf("\n== %d daemons: A holds %zu feeds x %zu entries; %s fresh ==\n",
              daemons, g.feeds, g.entries, daemons == 2 ? "B" : "B and C");
  const std::string root = g.dir + "/d" + std::to_string(daemons);
  fs::remove_all(root);
  fs::create_directories(root);
  // Removes the homes last, after the daemons below have stopped.
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      if (!g.keep) fs::remove_all(dir);
    }
  } cleanup{root};
  // A's home is a copy of the seed store, so every configuration starts alike.
  fs::copy(w.seed_home, root + "/a", fs::copy_options::recursive);
  Daemon a("A", root + "/a");
  Daemon b("B", root + "/b");
  std::unique_ptr<Daemon> c;
  if (daemons == 3) c = std::make_unique<Daemon>("C", root + "/c");
  for (Daemon* d : {&b, c.get()}) {
    if (d) OpenStore(d->home()).reset();  // init: key and empty database
  }
  uint64_t total = w.total;
  a.Start({});
  const double a_cpu0 = a.Cpu();

  // ---- first sync
  std::printf("  first sync %s\n", Load().c_str());
  const auto t0 = SteadyClock::now();
  b.Start({a.address()});
  if (c) c->Start({a.address(), b.address()});
  pid_t perf_pid = 0;
  if (!g.perf.empty()) {
    std::string pids = std::to_string(a.pid()) + "," + std::to_string(b.pid());
    if (c) pids += "," + std::to_string(c->pid());
    std::string out = g.perf + "." + std::to_string(daemons);
    const char* argv[] = {"perf", "record",    "-F", "499",        "-g",
                          "-o",   out.c_str(), "-p", pids.c_str(), nullptr};
    if (posix_spawnp(&perf_pid, "perf", nullptr, nullptr,
                     const_cast<char**>(argv), environ) != 0) {
      std::printf("  (perf could not be started)\n");
      perf_pid = 0;
    }
  }
  std::vector<Daemon*> fresh = {&b};
  if (c) fresh.push_back(c.get());
  std::vector<double> done_s;
  const bool synced =
      WaitAllHold(fresh, a.address().id, total, g.sync_timeout_s, &done_s, t0);
  if (perf_pid > 0) {
    kill(perf_pid, SIGINT);
    int status;
    waitpid(perf_pid, &status, 0);
  }
  if (!synced) {
    // Say how far it got, and skip the phases that need a synced network.
    const double secs = Seconds(t0, SteadyClock::now());
    std::printf("    first sync NOT finished after %.0f s:\n", secs);
    uint64_t least = UINT64_MAX;
    for (Daemon* d : fresh) {
      const NodeStatus st = d->GetStatus();
      least = std::min(least, st.progress_current);
      std::printf("    %s holds %" PRIu64
                  " of %zu entries (%.0f entries/s); received %.1f MB "
                  "in %" PRIu64 " frames\n",
                  d->name().c_str(), st.progress_current, n_entries,
                  static_cast<double>(st.progress_current) / secs,
                  static_cast<double>(st.counters.bytes_received) / 1e6,
                  st.counters.frames_received);
    }
    const NodeStatus as = a.GetStatus();
    std::printf("    A: %" PRIu64 " slow-peer disconnects, %" PRIu64
                " handshake timeouts; sent %.1f MB\n",
                as.counters.slow_peer_disconnects,
                as.counters.handshake_timeouts,
                static_cast<double>(as.counters.bytes_sent) / 1e6);
    PrintDaemonLine(a, a_cpu0);
    for (Daemon* d : fresh) PrintDaemonLine(*d, 0);
    std::printf(
        "    first sync %.0f entries/s  [goal >= 0.9 x %.0f/s] MISS %s\n",
        static_cast<double>(least) / secs, base.sodium_rate, Load().c_str());
    return;
  }
  const double secs = *std::max_element(done_s.begin(), done_s.end());
  const double rate = static_cast<double>(n_entries) / secs;
  for (size_t i = 0; i < fresh.size(); ++i) {
    std::printf("    %s holds all %zu entries after %.2f s (%.0f entries/s)\n",
                fresh[i]->name().c_str(), n_entries, done_s[i],
                static_cast<double>(n_entries) / done_s[i]);
  }
  PrintDaemonLine(a, a_cpu0);
  for (Daemon* d : fresh) PrintDaemonLine(*d, 0);
  std::printf(
      "    first sync %.0f entries/s = %.2f x libsodium verify 2 thr (%.0f/s), "
      "%.2f x "
      "SignatureVerifier 2 thr (%.0f/s)  [goal >= 0.9 x] %s %s\n",
      rate, rate / base.sodium_rate, base.sodium_rate,
      rate / base.verifier_rate, base.verifier_rate,
      Verdict(rate >= 0.9 * base.sodium_rate), Load().c_str());
  double peak = 0;
  for (Daemon* d : {&a, &b, c.get()}) {
    if (d) peak = std::max(peak, d->PeakMb());
  }
  std::printf("    peak VmHWM of any daemon %.1f MB  [goal < 300 MB] %s\n",
              peak, Verdict(peak < 300));

  // ---- idle
  {
    std::vector<Daemon*> all = {&a, &b};
    if (c) all.push_back(c.get());
    std::vector<double> cpu0;
    for (Daemon* d : all) cpu0.push_back(d->Cpu());
    const auto i0 = SteadyClock::now();
    std::printf("  idle for %d s %s\n", g.idle_s, Load().c_str());
    std::this_thread::sleep_for(std::chrono::seconds(g.idle_s));
    const double wall = Seconds(i0, SteadyClock::now());
    double worst = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      const double pct = 100.0 * (all[i]->Cpu() - cpu0[i]) / wall;
      worst = std::max(worst, pct);
      std::printf("    %-2s idle CPU %6.2f %%   VmRSS %7.1f MB\n",
                  all[i]->name().c_str(), pct, all[i]->RssMb());
    }
    std::printf(
        "    idle CPU of the busiest daemon %.2f %%  [goal < 1 %%] %s %s\n",
        worst, Verdict(worst < 1.0), Load().c_str());
  }

  // ---- latency: append on A -> stored on B (and C)
  {
    std::printf("  latency of one entry, %d samples %s\n", g.latency_samples,
                Load().c_str());
    WalTail tail_a(a.home() + "/db");
    WalTail tail_b(b.home() + "/db");
    std::unique_ptr<WalTail> tail_c;
    if (c) tail_c = std::make_unique<WalTail>(c->home() + "/db");
    const std::string content = Content200();
    const FeedId& fa = a.address().id;
    std::vector<double> local, to_b, to_c;
    std::mt19937_64 rng(g.seed);
    std::uniform_int_distribution<int> gap_us(2000, 6000);
    for (int i = 0; i < g.latency_samples; ++i) {
      // The key of A's next entry in the `feeds` column family.
      const std::string key =
          storage::FeedKey(fa, static_cast<uint64_t>(i) + 1);
      for (WalTail* t : {&tail_a, &tail_b, tail_c.get()}) {
        if (t) t->Reset();
      }
      const int64_t before = NowNs();
      const uint64_t seq = a.Append(content);
      if (seq != static_cast<uint64_t>(i) + 1)
        Die("A's own feed is not at the expected sequence");
      bool at_a = false, at_b = false, at_c = !c;
      const int64_t deadline = before + int64_t{10} * 1000 * 1000 * 1000;
      while (!(at_a && at_b && at_c)) {
        const int64_t now = NowNs();
        if (now > deadline)
          Die("entry " + std::to_string(seq) +
              " of A not everywhere after 10 s");
        if (!at_a && tail_a.Saw(key)) {
          at_a = true;
          local.push_back(static_cast<double>(NowNs() - before) / 1e3);
        }
        if (!at_b && tail_b.Saw(key)) {
          at_b = true;
          to_b.push_back(static_cast<double>(NowNs() - before) / 1e3);
        }
        if (!at_c && tail_c->Saw(key)) {
          at_c = true;
          to_c.push_back(static_cast<double>(NowNs() - before) / 1e3);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(gap_us(rng)));
    }
    total += static_cast<uint64_t>(g.latency_samples);
    std::printf("    %-40s p50 %8.1f us  p99 %8.1f us\n",
                "baseline: append -> in A's own log", Percentile(local, 50),
                Percentile(local, 99));
    double worst99 = 0;
    for (auto* v : {&to_b, &to_c}) {
      if (v->empty()) continue;
      const char* who = v == &to_b ? "append on A -> in B's log"
                                   : "append on A -> in C's log";
      std::printf("    %-40s p50 %8.1f us  p99 %8.1f us  max %8.1f us\n", who,
                  Percentile(*v, 50), Percentile(*v, 99),
                  *std::max_element(v->begin(), v->end()));
      worst99 = std::max(worst99, Percentile(*v, 99));
    }
    std::printf("    1-entry latency p99 %.2f ms  [goal <= 5 ms] %s %s\n",
                worst99 / 1e3, Verdict(worst99 <= 5000), Load().c_str());
  }

  // ---- reconnect after 1 % more on each side
  {
    const size_t k =
        std::max<size_t>(1, g.feeds / 100);  // feeds changed on each side
    const size_t per_feed = g.entries;       // 1 % of the entries in all
    std::printf(
        "  reconnect: B stopped; A and B each get %zu entries (%zu feeds x "
        "%zu, "
        "disjoint feeds); B restarted %s\n",
        k * per_feed, k, per_feed, Load().c_str());
    b.Stop();
    // Authors 0..k-1 change on A, k..2k-1 on B.
    std::vector<Entry> on_a, on_b;
    WriteFeeds(w.authors, 0, k, per_feed, [&](std::vector<Entry> batch) {
      for (auto& e : batch) on_a.push_back(std::move(e));
    });
    WriteFeeds(w.authors, k, 2 * k, per_feed, [&](std::vector<Entry> batch) {
      for (auto& e : batch) on_b.push_back(std::move(e));
    });
    a.Ingest(on_a);
    {
      std::unique_ptr<Store> sb = OpenStore(b.home());
      for (size_t at = 0; at < on_b.size(); at += 1000) {
        IngestAll(sb.get(), std::vector<Entry>(
                                on_b.begin() + static_cast<ptrdiff_t>(at),
                                on_b.begin() + static_cast<ptrdiff_t>(std::min(
                                                   on_b.size(), at + 1000))));
      }
    }
    total += on_a.size() + on_b.size();
    const NodeCounters a_before = a.GetStatus().counters;
    const double a_cpu = a.Cpu();
    const auto r0 = SteadyClock::now();
    std::vector<PeerAddress> peers = {a.address()};
    if (c) peers.push_back(c->address());
    b.Start(peers);
    std::vector<Daemon*> all = {&a, &b};
    if (c) all.push_back(c.get());
    std::vector<double> held_s;
    if (!WaitAllHold(all, b.address().id, total, 600, &held_s, r0))
      Die("reconnect did not converge in 600 s");
    const double rsecs = *std::max_element(held_s.begin(), held_s.end());
    const NodeCounters bc = b.GetStatus().counters;
    const NodeCounters ac = a.GetStatus().counters;
    const uint64_t b_bytes = bc.bytes_sent + bc.bytes_received;
    const uint64_t a_bytes = (ac.bytes_sent - a_before.bytes_sent) +
                             (ac.bytes_received - a_before.bytes_received);
    const size_t moved = on_a.size() + on_b.size();
    const uint64_t payload = static_cast<uint64_t>(moved) * (w.entry_bytes + 3);
    std::printf(
        "    all hold everything %.2f s after B's start (A %.2f s, B %.2f "
        "s%s)\n",
        rsecs, held_s[0], held_s[1],
        c ? (", C " + std::to_string(held_s[2]).substr(0, 5) + " s").c_str()
          : "");
    std::printf("    B exchanged %.1f KB (sent %.1f, received %.1f; %" PRIu64
                " entries sent, %" PRIu64
                " received); A %.1f KB; A cpu %.2f s\n",
                static_cast<double>(b_bytes) / 1e3,
                static_cast<double>(bc.bytes_sent) / 1e3,
                static_cast<double>(bc.bytes_received) / 1e3, bc.entries_sent,
                bc.entries_received, static_cast<double>(a_bytes) / 1e3,
                a.Cpu() - a_cpu);
    const double overhead =
        static_cast<double>(b_bytes) - static_cast<double>(payload);
    std::printf(
        "    payload of the %zu changed entries %.1f KB; B's other bytes %.1f "
        "KB = %.1f B per "
        "changed feed, %.2f B per feed  [goal O(changes)] %s\n",
        moved, static_cast<double>(payload) / 1e3, overhead / 1e3,
        overhead / static_cast<double>(2 * k),
        overhead / static_cast<double>(g.feeds), Load().c_str());
  }
}

void Usage() {
  std::fprintf(stderr,
               "usage: scale_bench [--feeds N] [--entries N] [--daemons "
               "2|3|both] [--quick]\n"
               "                   [--idle-s S] [--latency-samples N] [--dir "
               "DIR] [--perf FILE]\n"
               "                   [--sync-timeout-s S] [--seed S] [--keep]\n");
  std::exit(2);
}

int Main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (a == "--feeds") {
      g.feeds = std::stoul(next());
    } else if (a == "--entries") {
      g.entries = std::stoul(next());
    } else if (a == "--daemons") {
      std::string v = next();
      g.daemons = v == "both" ? 0 : std::stoi(v);
      if (g.daemons != 0 && g.daemons != 2 && g.daemons != 3) Usage();
    } else if (a == "--quick") {
      g.feeds = 200;
      g.entries = 20;
      g.idle_s = 5;
      g.latency_samples = 100;
    } else if (a == "--idle-s") {
      g.idle_s = std::stoi(next());
    } else if (a == "--sync-timeout-s") {
      g.sync_timeout_s = std::stoi(next());
    } else if (a == "--latency-samples") {
      g.latency_samples = std::stoi(next());
    } else if (a == "--dir") {
      g.dir = next();
    } else if (a == "--perf") {
      g.perf = next();
    } else if (a == "--seed") {
      g.seed = std::stoull(next());
    } else if (a == "--keep") {
      g.keep = true;
    } else {
      Usage();
    }
  }
  if (g.feeds < 2 || g.entries < 1 || g.latency_samples < 1) Usage();
  if (sodium_init() < 0) Die("sodium_init");
  signal(SIGPIPE, SIG_IGN);
  if (g.dir.empty()) {
    char tmpl[] = "/tmp/plumlog-scale-XXXXXX";
    if (!mkdtemp(tmpl)) Die("mkdtemp");
    g.dir = tmpl;
  }
  fs::create_directories(g.dir);
  std::printf(
      "scale_bench: %zu feeds x %zu entries (%zu entries, 200-byte contents), "
      "dir %s\n",
      g.feeds, g.entries, g.feeds * g.entries, g.dir.c_str());
  std::printf("machine: %u cores %s\n", std::thread::hardware_concurrency(),
              Load().c_str());

  World w;
  w.seed_home = g.dir + "/seed";
  fs::remove_all(w.seed_home);
  w.authors.reserve(g.feeds);
  auto t0 = SteadyClock::now();
  for (size_t i = 0; i < g.feeds; ++i)
    w.authors.push_back(Author{AuthorKey(i), 0, EntryId()});
  VerifyBaseline base;
  {
    std::unique_ptr<Store> seed = OpenStore(w.seed_home);
    WriteFeeds(w.authors, 0, g.feeds, g.entries, [&](std::vector<Entry> batch) {
      IngestAll(seed.get(), std::move(batch));
    });
    w.entry_bytes =
        seed->Get(w.authors[0].key.public_key(), 1)->encoded().size();
    std::printf(
        "seed store built in %.1f s (keys, signing on 2 threads, ingest) %s\n",
        Seconds(t0, SteadyClock::now()), Load().c_str());
    t0 = SteadyClock::now();
    base = MeasureVerify(seed.get());
    std::printf(
        "baseline: verify the same %zu entries on 2 threads: libsodium %.0f "
        "/s, "
        "SignatureVerifier %.0f /s %s\n",
        g.feeds * g.entries, base.sodium_rate, base.verifier_rate,
        Load().c_str());
  }
  w.total = g.feeds * g.entries;
  std::printf(
      "goals: first sync >= 0.9 x in-run 2-thread verify; idle CPU < 1 %%; "
      "reconnect after a "
      "1 %% change sends O(changes) bytes; peak RSS < 300 MB; 1-entry latency "
      "p99 <= 5 ms\n");
  std::fflush(stdout);
  if (g.daemons == 0 || g.daemons == 2) RunConfig(w, 2, base);
  std::fflush(stdout);
  if (g.daemons == 0 || g.daemons == 3) {
    // The reconnect phase of the 2-daemon run moved the authors' heads on;
    // a fresh seed copy holds the heads as built, so rewind them.
    if (g.daemons == 0) {
      std::unique_ptr<Store> seed = OpenStore(w.seed_home);
      for (Author& au : w.authors) {
        Result<FeedInfo> f = seed->Feed(au.key.public_key());
        if (!f.ok()) Die("seed head: " + f.status().ToString());
        au.seq = f->seq;
        au.head = f->head;
      }
    }
    RunConfig(w, 3, base);
  }
  if (!g.keep) fs::remove_all(g.dir);
  return 0;
}

}  // namespace
}  // namespace plumlog::bench

int main(int argc, char** argv) { return plumlog::bench::Main(argc, argv); }
