// Attacks on a running `plumlog serve` from outside (issue 14): a stranger
// holding silent connections, strangers holding incomplete frames, and the
// log and error messages around them. Each test runs the attack from this
// process against real daemons on loopback, shows that an honest peer still
// connects and syncs within a stated time while the attack runs, and that
// the target's memory stays under a stated bound. docs/reliability.md has
// the table of attacks, bounds and measured figures ("[measure]" lines).
//
// Attackers bind source addresses in other /24s than the honest daemons
// (127.0.1.1, 127.0.2.1, ...: all of 127/8 is local), as attackers on the
// internet are on other networks than a node's peers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "crypto/keypair.h"
#include "net/frame_decoder.h"
#include "plumlog/node.h"
#include "replication/message.h"
#include "replication/note.h"
#include "tests/integration/integration_test.h"
#include "tests/net/raw_peer.h"

namespace plumlog::testing {
namespace {

using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr Millis kPoll(100);

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t)
      .count();
}

// VmRSS of a process in KiB (0 if it is gone).
long RssKiB(pid_t pid) { return RssKiBOf(std::to_string(pid)); }

crypto::NetworkKey Net() { return DefaultNet(); }

crypto::KeyPair FreshKey(uint64_t n) {
  std::array<uint8_t, 32> seed{};
  for (int i = 0; i < 8; ++i) seed[i] = static_cast<uint8_t>(n >> (8 * i));
  seed[31] = 0xa7;
  return crypto::KeyPair::FromSeed(seed);
}

uint64_t Counter(const Peer& p, const char* name) {
  std::optional<nlohmann::json> s = p.Status();
  if (!s || !s->contains("counters")) return 0;
  return (*s)["counters"].value(name, uint64_t{0});
}

size_t CountLines(const std::string& log, const std::string& needle) {
  size_t n = 0;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    n += line.find(needle) != std::string::npos;
  return n;
}

// Runs `body(stop)` on a thread until the attack is stopped.
class Attack {
 public:
  explicit Attack(std::function<void(const std::atomic<bool>&)> body)
      : thread_([this, body = std::move(body)] { body(stop_); }) {}
  ~Attack() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Resets every connection in `conns` that the other side closed.
void DropClosed(std::vector<std::unique_ptr<RawPeer>>* conns, int timeout_ms) {
  std::vector<pollfd> fds;
  std::vector<size_t> index;
  for (size_t i = 0; i < conns->size(); ++i) {
    if ((*conns)[i]) {
      fds.push_back({(*conns)[i]->fd(), POLLIN, 0});
      index.push_back(i);
    }
  }
  if (fds.empty() || ::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
  for (size_t k = 0; k < fds.size(); ++k) {
    if (fds[k].revents == 0) continue;
    char buf[4096];
    if (::recv(fds[k].fd, buf, sizeof buf, MSG_DONTWAIT) <= 0)
      (*conns)[index[k]].reset();
  }
}

// Keeps up to `per_source` silent connections open from each source
// address, reopening whatever the target closes.
void SilentFlood(uint16_t port, const std::vector<std::string>& sources,
                 size_t per_source, const std::atomic<bool>& stop,
                 std::atomic<uint64_t>* opened) {
  std::vector<std::vector<std::unique_ptr<RawPeer>>> conns(sources.size());
  while (!stop) {
    for (size_t s = 0; s < sources.size(); ++s) {
      DropClosed(&conns[s], 0);
      std::erase(conns[s], nullptr);
      while (conns[s].size() < per_source && !stop) {
        auto c = RawPeer::Connect(port, sources[s].c_str());
        if (!c) break;
        conns[s].push_back(std::move(c));
        ++*opened;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

class AttackTest : public IntegrationTest {
 protected:
  // The target and an honest daemon configured with it, synced.
  void StartPair(const std::vector<std::string>& target_args = {}) {
    target_ = &Add("target");
    honest_ = &Add("honest");
    ASSERT_TRUE(Start(*target_, target_args));
    ASSERT_TRUE(Start(*honest_, {"--peer", target_->address()}));
    ASSERT_TRUE(honest_->Append("before the attack").has_value());
    ASSERT_TRUE(PollEvery(kPoll, Millis(30000), [&] {
      return target_->Head(honest_->id()) == 1;
    })) << "the honest daemon did not sync before the attack";
  }

  // Appends on the honest daemon and returns how long the target took to
  // store it (-1: not within `limit`).
  int64_t HonestEntryArrives(const std::string& text, Millis limit) {
    const uint64_t want = honest_->Head(honest_->id()) + 1;
    const auto start = Clock::now();
    if (!honest_->Append(text).has_value()) return -1;
    if (!PollEvery(Millis(20), limit,
                   [&] { return target_->Head(honest_->id()) == want; })) {
      return -1;
    }
    return MsSince(start);
  }

  Peer* target_ = nullptr;
  Peer* honest_ = nullptr;
};

// Issue 14, point 1: ~140 silent connections, reopened as they time out,
// used to keep every new peer out for as long as the attack lasted. Here 160
// from 8 addresses in two /24s: a restarted honest daemon reconnects, a
// fresh `plumlog sync` completes, each within 10 s, and the target's log
// gets a bounded number of lines about it.
TEST_F(AttackTest, SilentConnectionsDoNotKeepHonestPeersOut) {
  StartPair();
  const pid_t target_pid = target_->daemon_pid();
  const long rss_before = RssKiB(target_pid);
  std::atomic<uint64_t> opened{0};
  const auto attack_start = Clock::now();
  const std::vector<std::string> sources = {
      "127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4",
      "127.0.2.1", "127.0.2.2", "127.0.2.3", "127.0.2.4"};
  Attack attack([&](const std::atomic<bool>& stop) {
    SilentFlood(target_->port(), sources, 20, stop, &opened);
  });
  ASSERT_TRUE(PollEvery(kPoll, Millis(30000),
                        [&] {
                          return Counter(*target_, "connections_refused") +
                                     Counter(*target_, "connections_evicted") >=
                                 200;
                        }))
      << "the flood did not get going: " << opened.load() << " opened";

  // A restarted honest daemon gets back in.
  honest_->Kill();
  ASSERT_TRUE(honest_->Append("while it was down").has_value());
  const auto restart = Clock::now();
  ASSERT_TRUE(Start(*honest_, {"--peer", target_->address()}));
  const bool reconnected = PollEvery(Millis(20), Millis(10000), [&] {
    return target_->Head(honest_->id()) == 2;
  });
  const int64_t reconnect_ms = MsSince(restart);
  EXPECT_TRUE(reconnected)
      << "the restarted honest daemon did not sync within 10 s";

  // A fresh node syncs once with `plumlog sync`.
  Peer& fresh = Add("fresh");
  ASSERT_TRUE(fresh.Append("fresh entry").has_value());
  const auto sync_start = Clock::now();
  RunResult sync = fresh.Run({"sync", target_->address(), "--timeout", "10"});
  const int64_t sync_ms = MsSince(sync_start);
  EXPECT_EQ(sync.exit_code, 0) << Show(sync);
  EXPECT_EQ(target_->Head(fresh.id()), 1u);

  // Live entries keep flowing.
  const int64_t live_ms =
      HonestEntryArrives("during the attack", Millis(10000));
  EXPECT_GE(live_ms, 0) << "a live entry did not arrive within 10 s";

  // The flood goes on past the end of a log window: the refusals not
  // logged one by one are summed up.
  EXPECT_TRUE(PollEvery(kPoll, Millis(30000), [&] {
    return target_->Logs(1 << 22).find("more connections refused or evicted") !=
           std::string::npos;
  }));
  const long rss_during = RssKiB(target_pid);
  const double attack_s = static_cast<double>(MsSince(attack_start)) / 1000.0;
  attack.Stop();
  const std::string log = target_->Logs(1 << 22);
  const size_t refusal_lines = CountLines(log, "refusing connection") +
                               CountLines(log, "closing connection");
  const uint64_t refused = Counter(*target_, "connections_refused");
  const uint64_t evicted = Counter(*target_, "connections_evicted");
  std::printf(
      "[measure] silent flood, %zu addresses x 20 (%llu connections opened in "
      "%.1f s; %llu "
      "refused, %llu evicted): restarted honest daemon synced in %lld ms, "
      "fresh `plumlog sync` "
      "took %lld ms, a live entry %lld ms; target VmRSS %ld -> %ld KiB; %zu "
      "log lines about "
      "refusals\n",
      sources.size(), static_cast<unsigned long long>(opened.load()), attack_s,
      static_cast<unsigned long long>(refused),
      static_cast<unsigned long long>(evicted),
      static_cast<long long>(reconnect_ms), static_cast<long long>(sync_ms),
      static_cast<long long>(live_ms), rss_before, rss_during, refusal_lines);
  EXPECT_LE(sync_ms, 10000);
  // Bounded memory. The flood opens 2,000-26,000 connections a second
  // (depending on the load). libuv's listener callback accepts until the
  // backlog is empty, and used to stay in it while the flood refilled the
  // backlog: the refused connections (64 KiB of read buffer each) were only
  // freed when the flood ended, and VmRSS grew by 130 MB a second on an idle
  // machine (+360 MiB in this test, 1.8 GB in 15 s from a local script).
  // Since the accepts of one loop turn are capped (net/node_impl.h,
  // accept_turn_), VmRSS stays within a few hundred KiB of where it was.
  // ASan keeps freed blocks in its quarantine (256 MiB by default), so
  // under the sanitizers churn alone raises VmRSS (+50 MiB for 2,179
  // connections): the tight bound is checked on a plain build.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  EXPECT_LT(rss_during, rss_before + 384 * 1024);
#else
  EXPECT_LT(rss_during, rss_before + 32 * 1024);
#endif
  // Rate-limited log: at most 10 lines per 10 s window (plus one window of
  // slack for where the windows fall), and the rest summed up.
  EXPECT_LE(refusal_lines, static_cast<size_t>(10 * (attack_s / 10 + 2)));
}

// Issue 14, point 3: every connection may hold up to a frame (1 MiB) while
// it arrives. 200 strangers from 25 /24s (8 each, the per-prefix limit) each
// start a 1 MiB frame and stall, reconnecting whenever closed, against a
// target allowing 1,000 connections. The node's receive budget (64 MiB)
// holds; an honest peer keeps syncing.
TEST_F(AttackTest, IncompleteFramesStayWithinTheNodesBudget) {
  StartPair({"--max-connections", "1000"});
  const pid_t target_pid = target_->daemon_pid();
  const long rss_before = RssKiB(target_pid);
  const FeedId target_id = *FeedId::Parse(target_->id());
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> frames_started{0};
  Attack attack([&](const std::atomic<bool>& stop) {
    std::string header;
    net::AppendFrame(std::string(net::kMaxAppFrameBytes, 'x'), &header);
    header.resize(net::kMaxAppFrameBytes - 64);  // all but the last 68 bytes
    std::vector<std::unique_ptr<RawPeer>> conns(200);
    uint64_t key = 0;
    while (!stop) {
      DropClosed(&conns, 0);
      for (size_t i = 0; i < conns.size() && !stop; ++i) {
        if (conns[i]) continue;
        const std::string source = "127.0." + std::to_string(3 + i / 8) + ".1";
        conns[i] = RawPeer::Connect(target_->port(), source.c_str());
        if (!conns[i]) continue;
        ++opened;
        if (!conns[i]->Handshake(FreshKey(++key), Net(), target_id).ok() ||
            !conns[i]->SendBoxed(header)) {
          conns[i].reset();
          continue;
        }
        ++frames_started;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  long rss_peak = rss_before;
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      rss_peak = std::max(rss_peak, RssKiB(target_pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  ASSERT_TRUE(PollEvery(
      kPoll, Millis(60000),
      [&] { return Counter(*target_, "receive_budget_closes") >= 50; }))
      << frames_started.load() << " frames started";
  int64_t worst_ms = 0;
  for (int i = 0; i < 5; ++i) {
    const int64_t ms = HonestEntryArrives(
        "during the attack " + std::to_string(i), Millis(10000));
    ASSERT_GE(ms, 0) << "entry " << i << " did not arrive within 10 s";
    worst_ms = std::max(worst_ms, ms);
  }
  attack.Stop();
  sampling = false;
  sampler.join();
  const uint64_t closes = Counter(*target_, "receive_budget_closes");
  std::printf(
      "[measure] incomplete frames: %llu strangers started %llu frames of 1 "
      "MiB (max-connections "
      "1000); %llu closed by the 64 MiB receive budget; target VmRSS %ld KiB "
      "before, peak %ld "
      "KiB (+%ld); honest entries arrived within %lld ms\n",
      static_cast<unsigned long long>(opened.load()),
      static_cast<unsigned long long>(frames_started.load()),
      static_cast<unsigned long long>(closes), rss_before, rss_peak,
      rss_peak - rss_before, static_cast<long long>(worst_ms));
  // 64 MiB of frames plus what the connections and a frame in flight cost.
  // Sanitizers multiply what memory costs (ASan's redzones and quarantine,
  // TSan's shadow): the bound is checked on a plain build.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  EXPECT_LT(rss_peak - rss_before, 8 * 112 * 1024);
#else
  EXPECT_LT(rss_peak - rss_before, 112 * 1024);
#endif
  EXPECT_GE(frames_started.load(), 100u);
}

// Issue 14, point 2: notes naming ~100,000 random feed ids used to cost
// ~130 MB, spread to peers that reconnected, slow a sync tenfold, make
// `plumlog sync` of a fresh node never finish, and grow the store with saved
// peer clocks of fake feeds. Now they are the claimer's claims: bounded per
// peer, asked of it alone, never announced or saved.
TEST_F(AttackTest, NotesAboutMadeUpFeedsStayTheClaimersOwn) {
  StartPair();
  const pid_t target_pid = target_->daemon_pid();
  const FeedId target_id = *FeedId::Parse(target_->id());
  const long rss_before = RssKiB(target_pid);
  auto claimer = RawPeer::Connect(target_->port(), "127.0.8.1");
  ASSERT_TRUE(claimer);
  ASSERT_TRUE(claimer->Handshake(FreshKey(4242), Net(), target_id).ok());
  constexpr int kFeeds = 100000;
  std::string plain;
  replication::NotesMessage m;
  for (int i = 0; i < kFeeds; ++i) {
    m.notes.push_back({FreshKey(1000000 + i).public_key(),
                       replication::MakeNote(1000 + (i % 5000), true), 1});
    if (m.notes.size() == replication::kMaxNotesPerMessage || i + 1 == kFeeds) {
      net::AppendFrame(replication::EncodeMessage(m), &plain);
      m.notes.clear();
    }
  }
  const auto sent = Clock::now();
  ASSERT_TRUE(claimer->SendBoxed(plain));
  ASSERT_TRUE(PollEvery(kPoll, Millis(60000), [&] {
    return Counter(*target_, "claims_refused") >= kFeeds - 20000;
  })) << "the claims were not all read";
  const int64_t read_ms = MsSince(sent);
  const long rss_after = RssKiB(target_pid);

  // A fresh node syncs at once and gets only real feeds.
  Peer& fresh = Add("fresh");
  ASSERT_TRUE(fresh.Append("fresh entry").has_value());
  const auto sync_start = Clock::now();
  RunResult sync = fresh.Run({"sync", target_->address(), "--timeout", "10"});
  const int64_t sync_ms = MsSince(sync_start);
  EXPECT_EQ(sync.exit_code, 0) << Show(sync);
  std::optional<Heads> heads = fresh.GetHeads();
  ASSERT_TRUE(heads.has_value());
  EXPECT_EQ(heads->size(), 2u);  // its own and the honest daemon's (the target's is empty)
  // The target tracks no feed without entries, and the honest peer's
  // reconnect does not carry any to it.
  std::optional<nlohmann::json> status = target_->Status();
  ASSERT_TRUE(status.has_value());
  size_t empty_feeds = 0;
  for (const auto& f : (*status)["feeds"]) empty_feeds += f.value("local", uint64_t{0}) == 0;
  EXPECT_EQ(empty_feeds, 0u) << status->dump();
  honest_->Kill();
  ASSERT_TRUE(Start(*honest_, {"--peer", target_->address()}));
  const int64_t live_ms = HonestEntryArrives("after the claims", Millis(10000));
  EXPECT_GE(live_ms, 0);
  std::optional<nlohmann::json> hs = honest_->Status();
  ASSERT_TRUE(hs.has_value());
  for (const auto& f : (*hs)["feeds"]) EXPECT_GT(f.value("local", uint64_t{0}), 0u) << f.dump();
  claimer.reset();
  std::printf(
      "[measure] %d notes about made-up feeds: read in %lld ms, %llu refused beyond the claims "
      "window; target VmRSS %ld -> %ld KiB (%+.0f bytes per note); a fresh `plumlog sync` took "
      "%lld ms; a live entry after the honest peer's reconnect %lld ms\n",
      kFeeds, static_cast<long long>(read_ms),
      static_cast<unsigned long long>(Counter(*target_, "claims_refused")), rss_before, rss_after,
      1024.0 * static_cast<double>(rss_after - rss_before) / kFeeds,
      static_cast<long long>(sync_ms), static_cast<long long>(live_ms));
  EXPECT_LE(sync_ms, 10000);
  // 20,000 claims of ~100 bytes, and the frames: well under 32 MiB (more
  // under sanitizers, whose memory costs are theirs).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  EXPECT_LT(rss_after - rss_before, 8 * 32 * 1024);
#else
  EXPECT_LT(rss_after - rss_before, 32 * 1024);
#endif
}

// Issue 14, point 4: what the logs say.
TEST_F(AttackTest, LogsSayWhatHappenedOnceAndClearly) {
  StartPair();
  const FeedId target_id = *FeedId::Parse(target_->id());

  // A key that is not a valid Ed25519 point is refused when read.
  Peer& bad = Add("bad-key");
  RunResult r = bad.Run(
      {"serve", "--preset", "test", "--peer",
       "net:127.0.0.1:1~shs:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="});
  EXPECT_NE(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("not a valid Ed25519 public key")) << Show(r);

  // Dialling with another network key, and dialling the target's address
  // expecting another key, say which it likely is.
  Peer& other_net = Add("other-net");
  ASSERT_TRUE(Start(other_net, {"--network-key", std::string(64, '7'), "--peer",
                                target_->address()}));
  EXPECT_TRUE(PollEvery(kPoll, Millis(15000), [&] {
    return other_net.Logs().find("its network key differs") !=
           std::string::npos;
  })) << other_net.Logs();
  Peer& wrong_key = Add("wrong-key");
  std::string address = target_->address();
  address = address.substr(0, address.find("~shs:") + 5) +
            honest_->id().substr(
                1, honest_->id().size() - 9);  // honest's key at target's port
  ASSERT_TRUE(Start(wrong_key, {"--peer", address}));
  EXPECT_TRUE(PollEvery(kPoll, Millis(15000), [&] {
    return wrong_key.Logs().find("does not hold the key we dialled") !=
           std::string::npos;
  })) << wrong_key.Logs();

  // A malformed frame is logged with its reason once, not twice.
  {
    auto p = RawPeer::Connect(target_->port(), "127.0.5.1");
    ASSERT_TRUE(p);
    ASSERT_TRUE(p->Handshake(FreshKey(77), Net(), target_id).ok());
    ASSERT_TRUE(
        p->SendFrame(std::string("\x91\x01", 2)));  // Notes without its field
    EXPECT_TRUE(p->WaitClosed(10000));
  }
  EXPECT_TRUE(PollEvery(kPoll, Millis(10000), [&] {
    return CountLines(target_->Logs(), "malformed") > 0;
  }));
  std::istringstream lines(target_->Logs());
  for (std::string line; std::getline(lines, line);) {
    const size_t first = line.find("malformed");
    if (first == std::string::npos) continue;
    EXPECT_EQ(line.find("malformed", first + 1), std::string::npos) << line;
  }

  // The same identity connecting again over a connection the target still
  // holds: the replaced one is logged.
  const crypto::KeyPair twice = FreshKey(99);
  auto first = RawPeer::Connect(target_->port(), "127.0.6.1");
  ASSERT_TRUE(first && first->Handshake(twice, Net(), target_id).ok());
  auto second = RawPeer::Connect(target_->port(), "127.0.6.2");
  ASSERT_TRUE(second && second->Handshake(twice, Net(), target_id).ok());
  EXPECT_TRUE(PollEvery(kPoll, Millis(10000), [&] {
    return target_->Logs().find("replacing the stale connection") != std::string::npos;
  })) << target_->Logs();
}

}  // namespace
}  // namespace plumlog::testing
