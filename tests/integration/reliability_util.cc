#include "tests/integration/reliability_util.h"

#include <dirent.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "storage/export_stream.h"

namespace plumlog::testing {

uint32_t SeedFromEnv(const char* env, const char* what) {
  uint32_t seed = 0;
  if (const char* s = std::getenv(env); s != nullptr && *s != '\0') {
    seed = static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  } else {
    seed = std::random_device{}();
  }
  std::cout << what << " seed: " << seed << " (rerun with " << env << "="
            << seed << ")" << std::endl;
  return seed;
}

long EnvInt(const char* env, long fallback) {
  const char* s = std::getenv(env);
  if (s == nullptr || *s == '\0') return fallback;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  return (end != nullptr && *end == '\0') ? v : fallback;
}

// ---- Appender ----

Appender::Appender(const Peer& peer, std::string prefix, int threads,
                   int pause_ms)
    : peer_(peer), prefix_(std::move(prefix)), pause_ms_(pause_ms) {
  for (int t = 0; t < threads; ++t)
    threads_.emplace_back([this, t] { Run(t); });
}

Appender::~Appender() { Stop(); }

void Appender::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::vector<Ack> Appender::acks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return acks_;
}

std::vector<std::string> Appender::errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return errors_;
}

void Appender::Run(int) {
  while (!stop_) {
    const uint64_t i = next_++;
    std::string why;
    std::optional<Ack> ack =
        peer_.Append(prefix_ + " " + std::to_string(i), &why);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ack) {
        acks_.push_back(*ack);
        count_ = acks_.size();
      } else {
        errors_.push_back(why);
      }
    }
    if (pause_ms_ > 0) std::this_thread::sleep_for(Millis(pause_ms_));
  }
}

// ---- SourceFeed ----

std::unique_ptr<SourceFeed> SourceFeed::Open(const std::string& home,
                                             std::string dir, uint32_t seed,
                                             std::string* why) {
  Result<std::unique_ptr<Store>> store = Store::Open(home, StoreOptions());
  if (!store.ok()) {
    *why = "cannot open the source store " + home + ": " +
           store.status().ToString();
    return nullptr;
  }
  auto s = std::unique_ptr<SourceFeed>(new SourceFeed());
  s->store_ = std::move(*store);
  s->dir_ = std::move(dir);
  s->id_ = s->store_->local_id().ToString();
  s->rng_.seed(seed);
  Result<FeedInfo> head = s->store_->Feed(s->store_->local_id());
  s->head_ = head.ok() ? head->seq : 0;
  return s;
}

std::string SourceFeed::Next(int count, size_t content_bytes,
                             std::string* why) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
  const std::string path = dir_ + "/stream-" + std::to_string(++files_);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  storage::ExportWriter writer(&out);
  int left = count;
  while (left > 0) {
    const int n = std::min(left, 100);
    std::vector<std::string> contents;
    for (int i = 0; i < n; ++i) {
      // Random text: RocksDB's block compression cannot shrink it, so the
      // bytes reach the memtables, the table files and compaction in full.
      std::string text(content_bytes, 'x');
      for (char& c : text) c = kAlphabet[rng_() & 63];
      contents.push_back(TextContent(text));
    }
    Result<std::vector<Entry>> entries = store_->AppendBatch(contents);
    if (!entries.ok()) {
      *why = "source AppendBatch: " + entries.status().ToString();
      return "";
    }
    for (const Entry& e : *entries) {
      Status st = writer.Write(e);
      if (!st.ok()) {
        *why = "export write: " + st.ToString();
        return "";
      }
      ids_[e.seq()] = e.id().ToString();
      head_ = e.seq();
    }
    left -= n;
  }
  Status st = writer.Finish();
  out.close();
  if (!st.ok() || !out) {
    *why = "export finish: " + st.ToString();
    return "";
  }
  return path;
}

// ---- /proc ----

uint64_t RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtoull(line.c_str() + 6, nullptr, 10);
    }
  }
  return 0;
}

ThreadCpu ThreadsCpu(pid_t pid, const std::string& name) {
  ThreadCpu out;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(task.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const std::string base = task + "/" + e->d_name;
    std::string comm = ReadFileBytes(base + "/comm");
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    if (comm != name) continue;
    const std::string stat = ReadFileBytes(base + "/stat");
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 2));
    std::string f;
    std::vector<std::string> v;
    while (fields >> f) v.push_back(f);
    // After the comm: state(3) ... utime(14) stime(15) -> v[0], v[11], v[12].
    if (v.size() < 13) continue;
    if (v[0] == "R") ++out.running;
    out.ticks += std::strtoull(v[11].c_str(), nullptr, 10) +
                 std::strtoull(v[12].c_str(), nullptr, 10);
  }
  ::closedir(d);
  return out;
}

std::optional<std::map<uint64_t, std::string>> ReadContiguous(
    const Peer& peer, const std::string& feed, std::string* why) {
  RunResult r = peer.Run({"read", feed, "--json"});
  if (r.exit_code != 0) {
    *why = peer.name() + ": read " + feed + ": " + Show(r);
    return std::nullopt;
  }
  std::map<uint64_t, std::string> entries;
  uint64_t expect = 1;
  try {
    for (const std::string& line : Lines(r.out)) {
      nlohmann::json e = nlohmann::json::parse(line);
      const uint64_t seq = e["seq"].get<uint64_t>();
      if (seq != expect) {
        *why = peer.name() + ": feed " + feed.substr(0, 9) + " has seq " +
               std::to_string(seq) + " where " + std::to_string(expect) +
               " belongs (gap, duplicate or disorder)";
        return std::nullopt;
      }
      entries[seq] = e["id"].get<std::string>();
      ++expect;
    }
  } catch (const std::exception& ex) {
    *why = peer.name() + ": bad read --json output: " + ex.what();
    return std::nullopt;
  }
  return entries;
}

}  // namespace plumlog::testing
