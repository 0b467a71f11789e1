// Store benchmarks (issue: foundation). Every figure is the median of several
// runs and is printed next to a baseline measured in the same process:
//   raw libsodium Ed25519 sign / verify rate on one core, raw RocksDB put rate.
//
//   store_bench [--runs N] [--quick] [--dir DIR]
//
// Content is 200 bytes of msgpack (a str8 of 198 characters).
#include <fcntl.h>
#include <rocksdb/db.h>
#include <sodium.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "crypto/keypair.h"
#include "crypto/signature_verifier.h"
#include "crypto/signer.h"
#include "plumlog/store.h"
#include "format/entry_codec.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using plumlog::bench::Content200;
using plumlog::bench::Median;
using plumlog::bench::Seconds;

namespace {

int g_runs = 5;
bool g_quick = false;
std::string g_dir;
std::string g_only;  // run only figures whose key contains this

bool Want(const char* key) { return g_only.empty() || std::strstr(key, g_only.c_str()); }

// Median over g_runs of ops/s, each run timed by `run` returning (ops, seconds).
double MedianRate(const std::function<std::pair<double, double>()>& run) {
  std::vector<double> rates;
  for (int i = 0; i < g_runs; ++i) {
    auto [ops, secs] = run();
    rates.push_back(ops / secs);
  }
  return Median(rates);
}

std::string FreshDir(const std::string& name) {
  std::string d = g_dir + "/" + name;
  fs::remove_all(d);
  return d;
}

std::unique_ptr<plumlog::Store> OpenStore(const std::string& home,
                                          plumlog::StoreOptions o = plumlog::StoreOptions()) {
  o.create_if_missing = true;
  auto s = plumlog::Store::Open(home, o);
  if (!s.ok()) {
    std::fprintf(stderr, "open %s: %s\n", home.c_str(), s.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(s).value();
}

// A representative signed message: the signed bytes of an entry with 200-byte content.
std::string SampleSignedBytes(const plumlog::crypto::KeyPair& kp, const std::string& content) {
  plumlog::EntryCodec::Fields f;
  f.author = kp.public_key();
  f.seq = 12345;
  f.previous = plumlog::EntryId();
  f.lamport = 99999;
  f.timestamp_ms = 1700000000000;
  f.content = content;
  return plumlog::EntryCodec::EncodeSigned(f).value();
}

// The figure and its ratio to a baseline measured right before it in the same
// run: the machine's speed drifts (shared VM), so each run's ratio uses its own
// baseline, and the medians are reported.
struct Figure {
  double rate = 0;
  double ratio = 0;
  double baseline = 0;
};

Figure MeasureAgainst(const std::function<double()>& baseline,
                      const std::function<std::pair<double, double>()>& run) {
  std::vector<double> rates, ratios, bases;
  for (int i = 0; i < g_runs; ++i) {
    const double b = baseline();
    auto [ops, secs] = run();
    rates.push_back(ops / secs);
    ratios.push_back(ops / secs / b);
    bases.push_back(b);
  }
  return {Median(rates), Median(ratios), Median(bases)};
}

void Row(const char* what, const Figure& f, const char* base_name) {
  std::printf("  %-44s %12.0f /s   %5.2f x %s (%.0f /s)\n", what, f.rate, f.ratio, base_name,
              f.baseline);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) g_runs = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick")) g_quick = true;
    else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) g_dir = argv[++i];
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) g_only = argv[++i];
    else {
      std::fprintf(stderr, "usage: store_bench [--runs N] [--quick] [--dir DIR] [--only append|sign|sync|batch|ingest|scan|cli|lines]\n");
      return 2;
    }
  }
  if (g_runs < 1) g_runs = 1;
  bool own_dir = g_dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/plumlog-bench-XXXXXX";
    g_dir = mkdtemp(tmpl);
  }
  if (sodium_init() < 0) return 1;
  const size_t kSignN = g_quick ? 2000 : 10000;
  const size_t kAppendN = g_quick ? 2000 : 10000;
  const size_t kBatches = g_quick ? 5 : 20;
  const size_t kIngestN = g_quick ? 20000 : 100000;
  const std::string content = Content200();
  auto kp = plumlog::crypto::KeyPair::Generate();
  const std::string msg = SampleSignedBytes(kp, content);
  const std::string_view prefix = plumlog::EntryCodec::kSignaturePrefix;

  std::printf("plumlog store_bench: %d runs per figure (median), %u hardware threads\n",
              g_runs, std::thread::hardware_concurrency());
  std::printf("signed message %zu bytes (200-byte content)\n\n", msg.size());

  // ---- baselines ----
  std::vector<plumlog::crypto::Signature> sigs(kSignN);
  const double sign_rate = MedianRate([&] {
    auto t0 = Clock::now();
    for (size_t i = 0; i < kSignN; ++i) sigs[i] = kp.Sign(prefix, msg);
    return std::make_pair(double(kSignN), Seconds(t0, Clock::now()));
  });
  const double verify_rate = MedianRate([&] {
    auto t0 = Clock::now();
    size_t ok = 0;
    for (size_t i = 0; i < kSignN; ++i) {
      ok += plumlog::crypto::KeyPair::Verify(kp.public_key(), prefix, msg, sigs[i]);
    }
    if (ok != kSignN) std::abort();
    return std::make_pair(double(kSignN), Seconds(t0, Clock::now()));
  });
  // The same signatures through SignatureVerifier (a table per key, batches
  // of 64 sharing one inversion), on one core.
  plumlog::crypto::SignatureVerifier fast_verifier;
  std::vector<plumlog::crypto::SignatureVerifier::Item> fast_items(kSignN);
  for (size_t i = 0; i < kSignN; ++i) {
    fast_items[i] = {kp.public_key().bytes().data(), prefix, msg, sigs[i].data()};
  }
  const double fast_verify_rate = MedianRate([&] {
    auto t0 = Clock::now();
    std::vector<uint8_t> ok(64);
    for (size_t i = 0; i < kSignN; i += 64) {
      size_t n = std::min<size_t>(64, kSignN - i);
      fast_verifier.Verify(std::span(fast_items.data() + i, n), std::span(ok.data(), n));
      for (size_t k = 0; k < n; ++k) {
        if (ok[k] != 1) std::abort();
      }
    }
    return std::make_pair(double(kSignN), Seconds(t0, Clock::now()));
  });
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const double verify_all_rate = MedianRate([&] {
    auto t0 = Clock::now();
    std::vector<std::thread> ts;
    for (unsigned c = 0; c < cores; ++c) {
      ts.emplace_back([&, c] {
        for (size_t i = c; i < kSignN; i += cores) {
          if (!plumlog::crypto::KeyPair::Verify(kp.public_key(), prefix, msg, sigs[i])) std::abort();
        }
      });
    }
    for (auto& t : ts) t.join();
    return std::make_pair(double(kSignN), Seconds(t0, Clock::now()));
  });
  double rocks_rate;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    std::string path = FreshDir("raw-rocksdb");
    if (!rocksdb::DB::Open(o, path, &raw).ok()) return 1;
    std::unique_ptr<rocksdb::DB> db(raw);
    uint64_t k = 0;
    std::string value(msg.size() + 66 + 32, 'v');
    rocks_rate = MedianRate([&] {
      auto t0 = Clock::now();
      for (size_t i = 0; i < kAppendN; ++i) {
        char key[8];
        uint64_t x = ++k;
        for (int b = 7; b >= 0; --b) key[b] = static_cast<char>(x & 0xff), x >>= 8;
        db->Put(rocksdb::WriteOptions(), rocksdb::Slice(key, 8), value);
      }
      return std::make_pair(double(kAppendN), Seconds(t0, Clock::now()));
    });
  }
  std::printf("baselines\n");
  std::printf("  %-44s %12.0f /s\n", "libsodium Ed25519 sign, 1 core", sign_rate);
  std::printf("  %-44s %12.0f /s\n", "libsodium Ed25519 verify, 1 core", verify_rate);
  std::printf("  %-44s %12.0f /s   (%u threads)\n", "libsodium Ed25519 verify, all cores",
              verify_all_rate, cores);
  std::printf("  %-44s %12.0f /s   %5.2f x libsodium verify, 1 core\n",
              "SignatureVerifier, 1 core, batches of 64", fast_verify_rate,
              fast_verify_rate / verify_rate);
  std::printf("  %-44s %12.0f /s\n", "RocksDB Put, WAL on, 1 key", rocks_rate);
  std::printf("\nplumlog (goal in brackets; ratio = median over runs of figure / baseline\n"
              "measured just before it)\n");
  auto sign_1core = [&] {
    const size_t n = 2000;
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; ++i) sigs[i] = kp.Sign(prefix, msg);
    return n / Seconds(t0, Clock::now());
  };
  auto verify_1core = [&] {
    const size_t n = 1000;
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; ++i) {
      if (!plumlog::crypto::KeyPair::Verify(kp.public_key(), prefix, msg, sigs[i])) std::abort();
    }
    return n / Seconds(t0, Clock::now());
  };

  // ---- the signer on its own ----
  if (Want("append") || Want("sign")) {
    plumlog::crypto::Signer hedged(kp);
    plumlog::crypto::Signer det(kp, plumlog::crypto::Signer::Nonce::kDeterministic);
    auto sign_with = [&](const plumlog::crypto::Signer& s) {
      return [&] {
        const size_t n = 2000;
        auto t0 = Clock::now();
        for (size_t i = 0; i < n; ++i) sigs[i] = s.Sign(prefix, msg);
        return std::make_pair(double(n), Seconds(t0, Clock::now()));
      };
    };
    Row("Signer::Sign, hedged, 1 core", MeasureAgainst(sign_1core, sign_with(hedged)),
        "sign/1 core");
    Row("Signer::Sign, deterministic, 1 core", MeasureAgainst(sign_1core, sign_with(det)),
        "sign/1 core");
    std::vector<std::string_view> msgs(32, msg);
    std::vector<plumlog::crypto::Signature> out(32);
    Figure f = MeasureAgainst(sign_1core, [&] {
      const size_t n = 64;
      auto t0 = Clock::now();
      for (size_t i = 0; i < n; ++i) hedged.SignBatch(prefix, msgs, out);
      return std::make_pair(double(n * 32), Seconds(t0, Clock::now()));
    });
    Row("Signer::SignBatch(32), hedged, 1 core", f, "sign/1 core");
  }
  // ---- sequential Append ----
  // The store's default (hedged nonces, StoreOptions::signing), then RFC 8032
  // deterministic signing through the same signer.
  if (Want("append")) {
    for (plumlog::SigningNonce mode :
         {plumlog::SigningNonce::kHedged, plumlog::SigningNonce::kDeterministic}) {
      plumlog::StoreOptions o;
      o.signing = mode;
      auto store = OpenStore(FreshDir("append"), o);
      Figure f = MeasureAgainst(sign_1core, [&] {
        auto t0 = Clock::now();
        for (size_t i = 0; i < kAppendN; ++i) {
          if (!store->Append(content).ok()) std::abort();
        }
        return std::make_pair(double(kAppendN), Seconds(t0, Clock::now()));
      });
      Row(mode == plumlog::SigningNonce::kHedged ? "Append, sequential, WAL on      [>=1.0]"
                                                 : "Append, sequential, deterministic",
          f, "sign/1 core");
    }
  }
  // ---- sequential Append, sync ----
  if (Want("sync")) {
    auto store = OpenStore(FreshDir("append-sync"), plumlog::StoreOptions::Durable());
    const size_t n = g_quick ? 200 : 1000;
    double r = MedianRate([&] {
      auto t0 = Clock::now();
      for (size_t i = 0; i < n; ++i) {
        if (!store->Append(content).ok()) std::abort();
      }
      return std::make_pair(double(n), Seconds(t0, Clock::now()));
    });
    // Group commit: 8 threads appending concurrently share fsyncs.
    double rg = MedianRate([&] {
      auto t0 = Clock::now();
      std::vector<std::thread> ts;
      for (int t = 0; t < 8; ++t) {
        ts.emplace_back([&] {
          for (size_t i = 0; i < n / 8; ++i) {
            if (!store->Append(content).ok()) std::abort();
          }
        });
      }
      for (auto& t : ts) t.join();
      return std::make_pair(double(n / 8 * 8), Seconds(t0, Clock::now()));
    });
    std::printf("  %-44s %12.0f /s\n", "Append, sync (fsync each), 1 thread", r);
    std::printf("  %-44s %12.0f /s   %5.2f x 1 thread (group commit)\n",
                "Append, sync, 8 threads", rg, rg / r);
  }
  // ---- AppendBatch of 1000 ----
  if (Want("batch")) {
    auto store = OpenStore(FreshDir("batch"));
    std::vector<std::string> batch(1000, content);
    Figure f = MeasureAgainst(sign_1core, [&] {
      auto t0 = Clock::now();
      for (size_t b = 0; b < kBatches; ++b) {
        if (!store->AppendBatch(batch).ok()) std::abort();
      }
      return std::make_pair(double(kBatches * 1000), Seconds(t0, Clock::now()));
    });
    Row("AppendBatch(1000)               [>=1.5]", f, "sign/1 core");
  }
  // ---- Ingest 100k of another author ----
  std::vector<plumlog::Entry> feed;
  if (Want("ingest") || Want("scan")) {
    auto src = OpenStore(FreshDir("ingest-src"));
    std::vector<std::string> batch(1000, content);
    for (size_t b = 0; b < kIngestN / 1000; ++b) {
      if (!src->AppendBatch(batch).ok()) std::abort();
    }
    feed = src->ReadFeed(src->local_id(), 1, kIngestN).value();
  }
  if (!feed.empty()) {
    int run = 0;
    Figure f = MeasureAgainst(verify_1core, [&] {
      auto dst = OpenStore(FreshDir("ingest-dst-" + std::to_string(run++)));
      // Ingest takes its entries by value: build the batches before timing.
      std::vector<std::vector<plumlog::Entry>> chunks;
      for (size_t i = 0; i < feed.size(); i += 1000) {
        chunks.emplace_back(feed.begin() + i, feed.begin() + std::min(feed.size(), i + 1000));
      }
      auto t0 = Clock::now();
      for (auto& chunk : chunks) {
        auto res = dst->Ingest(std::move(chunk));
        if (!res.ok()) std::abort();
      }
      return std::make_pair(double(feed.size()), Seconds(t0, Clock::now()));
    });
    char what[80];
    std::snprintf(what, sizeof what, "Ingest %zuk (batches of 1000)   [>=1.5]", feed.size() / 1000);
    Row(what, f, "verify/1 core");
  }
  // ---- Ingest 100k of 1000 authors, one entry of each per batch: every
  // entry moves a feed head (the worst case for the feed summaries) ----
  if (Want("ingest-many")) {
    std::vector<plumlog::crypto::KeyPair> keys;
    for (uint32_t a = 0; a < 1000; ++a) {
      std::array<uint8_t, 32> seed{};
      std::memcpy(seed.data(), &a, sizeof a);
      seed[31] = 0x11;
      keys.push_back(plumlog::crypto::KeyPair::FromSeed(seed));
    }
    const size_t per_author = kIngestN / keys.size();
    std::vector<std::vector<plumlog::Entry>> rounds(per_author);
    std::vector<std::optional<plumlog::EntryId>> heads(keys.size());
    for (size_t seq = 1; seq <= per_author; ++seq) {
      for (size_t a = 0; a < keys.size(); ++a) {
        plumlog::EntryCodec::Fields f;
        f.author = keys[a].public_key();
        f.seq = seq;
        f.previous = heads[a];
        f.lamport = seq;
        f.timestamp_ms = 1700000000000 + seq;
        f.content = content;
        rounds[seq - 1].push_back(
            plumlog::EntryCodec::Build(keys[a], f).value());
        heads[a] = rounds[seq - 1].back().id();
      }
    }
    int run = 0;
    Figure f = MeasureAgainst(verify_1core, [&] {
      auto dst = OpenStore(FreshDir("ingest-many-" + std::to_string(run++)));
      std::vector<std::vector<plumlog::Entry>> chunks =
          rounds;  // Ingest takes them by value
      auto t0 = Clock::now();
      for (auto& chunk : chunks) {
        if (!dst->Ingest(std::move(chunk)).ok()) std::abort();
      }
      return std::make_pair(double(kIngestN), Seconds(t0, Clock::now()));
    });
    Row("Ingest, 1000 feeds per batch of 1000", f, "verify/1 core");
  }
  // ---- full scan in arrival order ----
  if (Want("scan")) {
    auto s = OpenStore(g_dir + "/ingest-dst-0");
    double r = MedianRate([&] {
      auto t0 = Clock::now();
      uint64_t after = 0;
      size_t n = 0;
      for (;;) {
        auto page = s->ReadArrival(after, 10000);
        if (!page.ok()) std::abort();
        if (page->entries.empty()) break;
        n += page->entries.size();
        after = page->next;
      }
      return std::make_pair(double(n), Seconds(t0, Clock::now()));
    });
    std::printf("  %-44s %12.0f /s   %5.2f x goal 1,000,000/s\n",
                "full scan, arrival order       [>=1M/s]", r, r / 1e6);
  }
  // ---- plumlog append as a process ----
  if (Want("cli")) {
    std::string home = FreshDir("cli");
    {
      auto s = OpenStore(home);
    }
    std::vector<double> times;
    const int n = g_quick ? 10 : 30;
    std::string text(198, 'x');
    for (int i = 0; i < n; ++i) {
      const char* args[] = {PLUMLOG_BIN, "--home", home.c_str(), "append", text.c_str(), nullptr};
      auto t0 = Clock::now();
      pid_t pid;
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
      if (posix_spawn(&pid, PLUMLOG_BIN, &fa, nullptr, const_cast<char**>(args), environ) != 0) {
        std::fprintf(stderr, "cannot run %s\n", PLUMLOG_BIN);
        break;
      }
      posix_spawn_file_actions_destroy(&fa);
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "plumlog append failed\n");
        break;
      }
      times.push_back(Seconds(t0, Clock::now()) * 1000);
    }
    if (!times.empty()) {
      std::printf("  %-44s %12.2f ms (median of %zu, max %.2f ms)\n",
                  "`plumlog append` process wall time", Median(times), times.size(),
                  *std::max_element(times.begin(), times.end()));
    }
  }
  // ---- `plumlog append --lines` against AppendBatch in the same run ----
  if (Want("lines")) {
    const size_t n = g_quick ? 5000 : 20000;
    const std::string input = g_dir + "/lines.txt";
    {
      std::ofstream f(input);
      const std::string text(198, 'x');
      for (size_t i = 0; i < n; ++i) f << text << '\n';
    }
    std::vector<std::string> batch(1000, content);
    Figure f = MeasureAgainst(
        [&] {
          auto store = OpenStore(FreshDir("lines-batch"));
          auto t0 = Clock::now();
          for (size_t b = 0; b < n / 1000; ++b) {
            if (!store->AppendBatch(batch).ok()) std::abort();
          }
          return double(n) / Seconds(t0, Clock::now());
        },
        [&] {
          const std::string home = FreshDir("lines-cli");
          { auto s = OpenStore(home); }
          const char* args[] = {PLUMLOG_BIN, "--home", home.c_str(), "append", "--lines",
                                nullptr};
          auto t0 = Clock::now();
          pid_t pid;
          posix_spawn_file_actions_t fa;
          posix_spawn_file_actions_init(&fa);
          posix_spawn_file_actions_addopen(&fa, 0, input.c_str(), O_RDONLY, 0);
          posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
          if (posix_spawn(&pid, PLUMLOG_BIN, &fa, nullptr, const_cast<char**>(args), environ) !=
              0) {
            std::fprintf(stderr, "cannot run %s\n", PLUMLOG_BIN);
            std::exit(1);
          }
          posix_spawn_file_actions_destroy(&fa);
          int status = 0;
          waitpid(pid, &status, 0);
          if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            std::fprintf(stderr, "plumlog append --lines failed\n");
            std::exit(1);
          }
          return std::make_pair(double(n), Seconds(t0, Clock::now()));
        });
    Row("`plumlog append --lines` (20k)  [>=0.5]", f, "AppendBatch");
  }
  if (own_dir) fs::remove_all(g_dir);
  return 0;
}
