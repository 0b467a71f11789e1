#include "tests/integration/cluster.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <sstream>
#include <thread>

namespace plumlog::testing {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string Tail(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  const size_t cut = text.size() - max_bytes;
  const size_t nl = text.find('\n', cut);
  return "[... " + std::to_string(cut) + " bytes cut ...]\n" +
         text.substr(nl == std::string::npos ? cut : nl + 1);
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Runs the process's real, effective and saved group id as `gid` while it
// lives, so that children forked meanwhile run as that group.
class ScopedGid {
 public:
  explicit ScopedGid(std::optional<gid_t> gid) {
    if (!gid) return;
    ::getresgid(&r_, &e_, &s_);
    ok_ = ::setresgid(*gid, *gid, *gid) == 0;
    active_ = true;
  }
  ~ScopedGid() {
    if (active_ && ok_) (void)!::setresgid(r_, e_, s_);
  }
  bool ok() const { return !active_ || ok_; }

 private:
  bool active_ = false;
  bool ok_ = false;
  gid_t r_ = 0, e_ = 0, s_ = 0;
};

}  // namespace

bool PollEvery(Millis interval, Millis timeout,
               const std::function<bool()>& done) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (done()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(interval, deadline - now));
    if (Clock::now() >= deadline) return done();
  }
}

Peer::Peer(std::string name, std::string home)
    : name_(std::move(name)), home_(std::move(home)) {}

Peer::~Peer() = default;

bool Peer::Init() {
  RunResult r = RunWithHome(home_, {"init"});
  if (r.exit_code != 0) return false;
  id_ = Trim(r.out);
  return !id_.empty();
}

bool Peer::Start(const std::vector<std::string>& args, std::string* why,
                 std::optional<gid_t> gid) {
  if (daemon_) {
    *why = "a daemon already runs on " + home_;
    return false;
  }
  std::vector<std::string> full = {"--preset", "test"};
  full.insert(full.end(), args.begin(), args.end());
  {
    ScopedGid as(gid);
    if (!as.ok()) {
      *why = "cannot switch to group " + std::to_string(*gid);
      return false;
    }
    daemon_ = std::make_unique<Daemon>(home_, full);
  }
  if (!daemon_->started()) {
    RunResult r = daemon_->Wait();
    *why = name_ + ": serve printed no address (exit " +
           std::to_string(r.exit_code) + ", signal " +
           std::to_string(r.term_signal) + ")\n" + daemon_->log();
    past_.push_back(std::move(daemon_));
    return false;
  }
  address_ = daemon_->address();
  return true;
}

void Peer::Kill() {
  if (!daemon_) return;
  daemon_->Stop(SIGKILL);
  past_.push_back(std::move(daemon_));
}

int Peer::Stop() {
  if (!daemon_) return 0;
  const int code = daemon_->Stop(SIGTERM);
  past_.push_back(std::move(daemon_));
  return code;
}

uint16_t Peer::port() const {
  // net:HOST:PORT~shs:KEY
  const size_t tilde = address_.find('~');
  const size_t colon = address_.rfind(':', tilde);
  if (tilde == std::string::npos || colon == std::string::npos) return 0;
  return static_cast<uint16_t>(
      std::stoi(address_.substr(colon + 1, tilde - colon - 1)));
}

RunResult Peer::Run(const std::vector<std::string>& args) const {
  return RunWithHome(home_, args);
}

std::optional<Ack> Peer::Append(const std::string& text,
                                std::string* why) const {
  RunResult r = Run({"append", "--", text});
  if (r.exit_code == 0) {
    // <seq>\t<id>\n
    const size_t tab = r.out.find('\t');
    if (tab != std::string::npos) {
      Ack ack;
      ack.seq = std::stoull(r.out.substr(0, tab));
      ack.id = Trim(r.out.substr(tab + 1));
      return ack;
    }
  }
  if (why != nullptr) *why = name_ + ": append '" + text + "': " + Show(r);
  return std::nullopt;
}

std::optional<Heads> Peer::GetHeads() const {
  RunResult r = Run({"feeds", "--json"});
  if (r.exit_code != 0) return std::nullopt;
  Heads heads;
  try {
    for (const std::string& line : Lines(r.out)) {
      json f = json::parse(line);
      heads[f["author"].get<std::string>()] =
          FeedHead{f["seq"].get<uint64_t>(), f["head"].get<std::string>()};
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return heads;
}

uint64_t Peer::Head(const std::string& feed) const {
  std::optional<Heads> heads = GetHeads();
  if (!heads) return 0;
  auto it = heads->find(feed);
  return it == heads->end() ? 0 : it->second.seq;
}

std::optional<json> Peer::Status() const {
  RunResult r = Run({"status", "--json"});
  if (r.exit_code != 0) return std::nullopt;
  try {
    return json::parse(r.out);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::map<uint64_t, std::string>> Peer::ReadFeed(
    const std::string& feed) const {
  RunResult r = Run({"read", feed, "--json"});
  if (r.exit_code != 0) return std::nullopt;
  std::map<uint64_t, std::string> entries;
  try {
    for (const std::string& line : Lines(r.out)) {
      json e = json::parse(line);
      entries[e["seq"].get<uint64_t>()] = e["id"].get<std::string>();
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return entries;
}

std::string Peer::Logs(size_t tail_bytes) const {
  std::string out;
  int run = 0;
  auto add = [&](const Daemon& d, const char* what) {
    out += "===== " + name_ + " (" + home_ + ") daemon run " +
           std::to_string(++run) + " " + what + " stderr:\n" +
           Tail(d.log(), tail_bytes) + "\n";
  };
  for (const auto& d : past_) add(*d, "(exited)");
  if (daemon_) add(*daemon_, "(running)");
  return out;
}

std::string Peer::Diagnose() const {
  if (!daemon_) return name_ + ": no daemon running\n";
  const std::string pid = std::to_string(daemon_->pid());
  std::string out = name_ + " (pid " + pid + "): ";
  const auto start = Clock::now();
  RunResult r = RunPlumlog({"--home", home_, "status"}, "", {}, Millis(5000));
  const auto ms =
      std::chrono::duration_cast<Millis>(Clock::now() - start).count();
  const bool answers = r.exit_code == 0;
  out += answers ? "answers `status` in " + std::to_string(ms) + " ms"
                 : "DOES NOT ANSWER `status` (" + Show(r) + ")";
  const std::string stat = ReadFileBytes("/proc/" + pid + "/stat");
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos && paren + 2 < stat.size()) {
    out += "; process state " + stat.substr(paren + 2, 1);
  }
  out += "\n";
  if (!answers) {
    const char* gdbs[] = {"/usr/bin/gdb", "/usr/local/bin/gdb"};
    for (const char* gdb : gdbs) {
      if (::access(gdb, X_OK) != 0) continue;
      std::unique_ptr<Subprocess> g = Subprocess::Start(
          {gdb, "-p", pid, "-batch", "-ex", "thread apply all bt"});
      RunResult bt = g->Finish(Millis(60000));
      for (const std::string& line : Lines(bt.out)) {
        if (line.rfind("#", 0) == 0 || line.rfind("Thread", 0) == 0)
          out += "  " + line + "\n";
      }
      break;
    }
  }
  return out;
}

Peer* Cluster::Add(const std::string& name) {
  auto peer = std::make_unique<Peer>(name, dir_.Sub(name));
  if (!peer->Init()) return nullptr;
  peers_.push_back(std::move(peer));
  return peers_.back().get();
}

bool Cluster::HaveAll(const std::map<std::string, uint64_t>& want,
                      std::string* why,
                      const std::vector<Peer*>& which) const {
  std::vector<Peer*> peers = which;
  if (peers.empty()) {
    for (const auto& p : peers_) peers.push_back(p.get());
  }
  std::ostringstream missing;
  bool all = true;
  for (Peer* p : peers) {
    std::optional<Heads> heads = p->GetHeads();
    if (!heads) {
      missing << p->name() << ": feeds failed; ";
      all = false;
      continue;
    }
    for (const auto& [feed, seq] : want) {
      auto it = heads->find(feed);
      const uint64_t have = it == heads->end() ? 0 : it->second.seq;
      if (have != seq) {
        all = false;
        missing << p->name() << " has " << have << "/" << seq << " of "
                << feed.substr(0, 9) << "; ";
      }
    }
  }
  if (why != nullptr) *why = all ? "" : missing.str();
  return all;
}

std::string Cluster::Logs() const {
  std::string out;
  for (const auto& p : peers_) out += p->Diagnose();
  for (const auto& p : peers_) out += p->Logs();
  return out;
}

std::vector<Ack> AppendMany(const Peer& peer, const std::string& prefix,
                            int count, std::vector<std::string>* errors) {
  std::vector<Ack> acks;
  for (int i = 1; i <= count; ++i) {
    std::string why;
    std::optional<Ack> ack = peer.Append(prefix + " " + std::to_string(i), &why);
    if (!ack) {
      errors->push_back(why);
      if (errors->size() > 5) break;  // something is badly wrong; say so early
      continue;
    }
    acks.push_back(*ack);
  }
  return acks;
}

std::vector<std::string> AppendOnAll(const std::vector<Peer*>& peers,
                                     int count) {
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (Peer* p : peers) {
    threads.emplace_back([&, p] {
      std::vector<std::string> mine;
      std::vector<Ack> acks = AppendMany(*p, p->name(), count, &mine);
      if (acks.size() != static_cast<size_t>(count)) {
        mine.push_back(p->name() + ": " + std::to_string(acks.size()) +
                       " of " + std::to_string(count) + " appends acknowledged");
      }
      std::lock_guard<std::mutex> lock(mu);
      errors.insert(errors.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& t : threads) t.join();
  return errors;
}

}  // namespace plumlog::testing
