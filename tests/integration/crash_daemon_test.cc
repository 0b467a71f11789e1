// SIGKILL of a running daemon (`plumlog serve --preset test`) at random
// moments during (a) appends through it, (b) ingest — `plumlog import` through
// it, or a peer pushing it thousands of entries — and (c) RocksDB compaction.
// After every kill: `plumlog check` passes on the store as the kill left it,
// the daemon restarts on the same home and port, every acknowledged entry is
// there with its acknowledged id, and replication resumes both ways.
//
// Seeded: the seed is printed; PLUMLOG_CRASH_SEED=<seed> reruns one.
// PLUMLOG_CRASH_LONG=1 (scripts/soak) runs the long version: 5x the kills.
//
// How flushes and compactions are made to happen: entries of 60 000 random
// characters (incompressible) are imported in streams of 12 MB; the daemon's
// memtables (16 MiB per column family) flush to level-0 files, and the fourth
// level-0 file of a column family starts a compaction. Most compactions of
// the big column families are trivial moves (their keys — arrival order,
// author+seq — only grow, so new files never overlap old ones: RocksDB moves
// the file down a level without rewriting it); the ids column family (random
// keys) and partly filled levels give real ones. The test watches the CPU
// time and state of the daemon's "rocksdb:low" threads (RocksDB's compaction
// pool) and "rocksdb:high" threads (its flush pool) in /proc and kills the
// daemon a random 0-20 ms after it sees one working: odd rounds wait for a
// compaction thread, even rounds take a flush or a compaction.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "tests/integration/integration_test.h"
#include "tests/integration/reliability_util.h"

namespace plumlog::testing {
namespace {

using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr Millis kConverge(60000);
constexpr Millis kPoll(100);

// True once `pid` is a zombie (or gone).
bool Exited(pid_t pid) {
  const std::string stat =
      ReadFileBytes("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() ||
         stat[paren + 2] == 'Z';
}

int Scale() { return EnvInt("PLUMLOG_CRASH_LONG", 0) > 0 ? 5 : 1; }

long MsSince(Clock::time_point t) {
  return static_cast<long>(
      std::chrono::duration_cast<Millis>(Clock::now() - t).count());
}

class CrashDaemonTest : public IntegrationTest {
 protected:
  void SetUp() override {
    seed_ = SeedFromEnv("PLUMLOG_CRASH_SEED", "crash");
    rng_.seed(seed_);
    RecordProperty("seed", std::to_string(seed_));
  }

  // T: the daemon that gets killed; P: its peer (dials T, stays up).
  void StartPair() {
    t_ = &Add("t");
    p_ = &Add("p");
    ASSERT_TRUE(Start(*t_, {}));
    t_listen_ = "127.0.0.1:" + std::to_string(t_->port());
    ASSERT_TRUE(Start(*p_, {"--peer", t_->address()}));
  }

  int Rand(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }

  // Everything after a kill: check on the store as the kill left it,
  // restart on the same home and port, acknowledged entries present.
  void AfterKill(const std::string& what) {
    ++kills_;
    RunResult check = t_->Run({"check"});
    ASSERT_EQ(check.exit_code, 0)
        << what << ": check after the kill: " << Show(check);
    const auto restart = Clock::now();
    ASSERT_TRUE(Start(*t_, {"--listen", t_listen_})) << what;
    restart_ms_max_ = std::max(restart_ms_max_, MsSince(restart));
    std::string why;
    auto mine = ReadContiguous(*t_, t_->id(), &why);
    ASSERT_TRUE(mine.has_value()) << what << ": " << why;
    for (const Ack& ack : t_acks_) {
      auto it = mine->find(ack.seq);
      ASSERT_TRUE(it != mine->end())
          << what << ": acknowledged seq " << ack.seq << " lost";
      ASSERT_EQ(it->second, ack.id) << what << ": acknowledged seq " << ack.seq;
    }
  }

  // Replication resumes: T gets P's feed up to `p_target` and P gets T's
  // feed up to T's head (and `extra` feeds at their seqs, both ways).
  void ExpectResumes(const std::string& what, uint64_t p_target,
                     std::map<std::string, uint64_t> extra = {}) {
    const auto start = Clock::now();
    std::map<std::string, uint64_t> want = std::move(extra);
    want[t_->id()] = t_->Head(t_->id());
    std::string missing;
    ASSERT_TRUE(PollEvery(kPoll, kConverge,
                          [&] {
                            if (t_->Head(p_->id()) < p_target) {
                              missing = "t has " +
                                        std::to_string(t_->Head(p_->id())) +
                                        "/" + std::to_string(p_target) +
                                        " of p";
                              return false;
                            }
                            return cluster_.HaveAll(want, &missing, {t_, p_});
                          }))
        << what << ": replication did not resume: " << missing;
    resume_ms_max_ = std::max(resume_ms_max_, MsSince(start));
  }

  // T holds the source feed exactly up to `seq`: the head seq and the head id
  // match. (`check` has verified every chain link, and each entry names the
  // id of the one before, so an equal head id means an equal feed.)
  ::testing::AssertionResult HasSourceUpTo(const SourceFeed& source,
                                           uint64_t seq) {
    std::optional<Heads> heads = t_->GetHeads();
    if (!heads) return ::testing::AssertionFailure() << "feeds failed";
    const FeedHead have = (*heads)[source.id()];
    const std::string want = seq == 0 ? "" : source.ids().at(seq);
    if (have.seq == seq && have.id == want)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "T has the source feed at " << have.seq << " " << have.id
           << ", want " << seq << " " << want;
  }

  void Report(const char* mode) {
    std::printf(
        "crash figures (%s): %d kills, 0 acknowledged entries lost, restart "
        "max %ld ms, replication resumed within %ld ms (max)\n",
        mode, kills_, restart_ms_max_, resume_ms_max_);
    RecordProperty("kills", kills_);
  }

  uint32_t seed_ = 0;
  std::mt19937 rng_;
  Peer* t_ = nullptr;
  Peer* p_ = nullptr;
  std::string t_listen_;
  std::vector<Ack> t_acks_;
  int kills_ = 0;
  long restart_ms_max_ = 0;
  long resume_ms_max_ = 0;
};

// (a) Kills while `plumlog append` runs through T from two threads (group
// commit), and P keeps appending and replicating to T.
TEST_F(CrashDaemonTest, KillDuringAppends) {
  ASSERT_NO_FATAL_FAILURE(StartPair());
  Appender on_p(*p_, "p", 1, 20);
  const int rounds = 12 * Scale();
  for (int round = 1; round <= rounds; ++round) {
    const int delay = Rand(5, 400);
    const std::string what = "append round " + std::to_string(round) +
                             " (kill " + std::to_string(delay) +
                             " ms after the first ack), seed " +
                             std::to_string(seed_);
    SCOPED_TRACE(what);
    {
      Appender on_t(*t_, std::string("t") + std::to_string(round), 2);
      ASSERT_TRUE(
          PollEvery(Millis(2), Millis(30000), [&] { return on_t.acked() > 0; }))
          << "no append acknowledged: "
          << ::testing::PrintToString(on_t.errors());
      std::this_thread::sleep_for(Millis(delay));
      t_->Kill();
      on_t.Stop();  // the append under way may fail or go to the store directly
      for (const Ack& a : on_t.acks()) t_acks_.push_back(a);
    }
    ASSERT_NO_FATAL_FAILURE(AfterKill(what));
    ASSERT_NO_FATAL_FAILURE(ExpectResumes(what, on_p.acked()));
  }
  on_p.Stop();
  EXPECT_TRUE(on_p.errors().empty()) << ::testing::PrintToString(on_p.errors());
  // The last of P's entries may still be on their way (T stores what it
  // receives on its store thread): wait for them, then compare.
  ASSERT_NO_FATAL_FAILURE(ExpectResumes("after the last round", on_p.acked()));
  // P's acknowledged entries reached T intact.
  std::string why;
  auto feed_p = ReadContiguous(*t_, p_->id(), &why);
  ASSERT_TRUE(feed_p.has_value()) << why;
  for (const Ack& a : on_p.acks()) EXPECT_EQ((*feed_p)[a.seq], a.id);
  Report("appends");
}

// (b) Kills during ingest: odd rounds `plumlog import` a stream of 2000
// entries (4 KB each) through T; even rounds import it into P, which pushes
// it to T by replication. An import that exited 0 acknowledged all of its
// entries; one the kill broke is run again after the restart and must then
// succeed (whatever was stored counts as duplicates).
TEST_F(CrashDaemonTest, KillDuringIngest) {
  ASSERT_NO_FATAL_FAILURE(StartPair());
  Peer& s = Add("s");
  std::string why;
  auto source = SourceFeed::Open(s.home(), cluster_.dir(), seed_, &why);
  ASSERT_TRUE(source) << why;
  const int rounds = 6 * Scale();
  int broken_imports = 0, mid_push = 0;
  for (int round = 1; round <= rounds; ++round) {
    const bool push = round % 2 == 0;
    const std::string stream = source->Next(2000, 500, &why);
    ASSERT_FALSE(stream.empty()) << why;
    const uint64_t before = source->head() - 2000;
    const int delay = push ? Rand(0, 60) : Rand(10, 400);
    const std::string what = std::string(push ? "push" : "import") + " round " +
                             std::to_string(round) + " (kill " +
                             std::to_string(delay) + " ms in), seed " +
                             std::to_string(seed_);
    SCOPED_TRACE(what);
    Peer& into = push ? *p_ : *t_;
    auto import = Subprocess::Start(
        {PLUMLOG_BIN, "--home", into.home(), "import", stream});
    if (push) {
      // P stores the stream and pushes it on to T as it goes; kill T a
      // random 0-60 ms after the first pushed entries reached it.
      ASSERT_TRUE(PollEvery(Millis(1), Millis(30000), [&] {
        return t_->Head(source->id()) > before;
      })) << "T never started receiving the pushed entries";
      std::this_thread::sleep_for(Millis(delay));
      t_->Kill();
      const uint64_t had = t_->Head(source->id());
      RunResult r = import->Finish(Millis(60000));
      ASSERT_EQ(r.exit_code, 0) << Show(r);
      if (had < source->head()) ++mid_push;
      std::printf("%s: T had %llu of %llu when killed\n", what.c_str(),
                  static_cast<unsigned long long>(had),
                  static_cast<unsigned long long>(source->head()));
      ASSERT_NO_FATAL_FAILURE(AfterKill(what));
    } else {
      std::this_thread::sleep_for(Millis(delay));
      t_->Kill();
      RunResult r = import->Finish(Millis(60000));
      ASSERT_FALSE(r.timed_out);
      if (r.exit_code == 0) {
        std::printf("%s: the import finished before the kill: %s", what.c_str(),
                    r.out.c_str());
      } else {
        ++broken_imports;
        std::printf("%s: the kill broke the import (exit %d): %s", what.c_str(),
                    r.exit_code, r.err.c_str());
      }
      ASSERT_NO_FATAL_FAILURE(AfterKill(what));
      // An acknowledged import is complete; a broken one is whole after a
      // retry.
      if (r.exit_code == 0) {
        ASSERT_TRUE(HasSourceUpTo(*source, source->head()))
            << "an acknowledged import lost entries";
      } else {
        RunResult again = t_->Run({"import", stream});
        ASSERT_EQ(again.exit_code, 0) << Show(again);
        EXPECT_THAT(again.out, HasSubstr("imported 2000 entries"));
      }
    }
    // Every entry of the source, with its id, on T (and, by replication, P).
    ASSERT_NO_FATAL_FAILURE(ExpectResumes(what, p_->Head(p_->id()),
                                          {{source->id(), source->head()}}));
    ASSERT_TRUE(HasSourceUpTo(*source, source->head()));
  }
  // Once, in full: the source feed on T is 1..n with every id.
  auto feed = ReadContiguous(*t_, source->id(), &why);
  ASSERT_TRUE(feed.has_value()) << why;
  ASSERT_EQ(*feed, source->ids());
  std::printf("ingest: %d imports broken by the kill, %d kills mid-push\n",
              broken_imports, mid_push);
  Report("ingest");
}

// (c) Kills while RocksDB flushes or compacts in the background (see the
// top of the file).
TEST_F(CrashDaemonTest, KillDuringFlushOrCompaction) {
  ASSERT_NO_FATAL_FAILURE(StartPair());
  Peer& s = Add("s");
  std::string why;
  auto source = SourceFeed::Open(s.home(), cluster_.dir(), seed_, &why);
  ASSERT_TRUE(source) << why;
  const int rounds = 2 * Scale();
  int during = 0, during_flush = 0;
  for (int round = 1; round <= rounds; ++round) {
    const int delay = Rand(0, 20);
    const std::string what = "compaction round " + std::to_string(round) +
                             ", seed " + std::to_string(seed_);
    SCOPED_TRACE(what);
    const pid_t pid = t_->daemon_pid();
    const auto start = Clock::now();
    // Import streams of 200 entries (12 MB) one after the other, watching
    // RocksDB's background threads, until one works (or 12 streams brought
    // none: then the kill lands at the end of the last import instead).
    // Flushes come first and are far more frequent: odd rounds wait for a
    // compaction thread, even rounds take whichever works first.
    const bool compaction_only = round % 2 == 1;
    bool seen = false;
    std::string pool;
    std::string stream;
    RunResult r;
    ThreadCpu low = ThreadsCpu(pid, "rocksdb:low");
    ThreadCpu high = ThreadsCpu(pid, "rocksdb:high");
    for (int chunk = 0; chunk < 12 && !seen; ++chunk) {
      stream = source->Next(200, 60000, &why);
      ASSERT_FALSE(stream.empty()) << why;
      auto import = Subprocess::Start(
          {PLUMLOG_BIN, "--home", t_->home(), "import", stream});
      while (!seen && !Exited(import->pid())) {
        const ThreadCpu l = ThreadsCpu(pid, "rocksdb:low");
        const ThreadCpu h = ThreadsCpu(pid, "rocksdb:high");
        if (l.running > 0 || l.ticks > low.ticks) {
          seen = true;
          pool = "compaction";
          ++during;
        } else if (!compaction_only &&
                   (h.running > 0 || h.ticks > high.ticks)) {
          seen = true;
          pool = "flush";
          ++during_flush;
        }
        std::this_thread::sleep_for(Millis(1));
      }
      if (seen || chunk == 11) {
        std::this_thread::sleep_for(Millis(delay));
        t_->Kill();
      }
      r = import->Finish(Millis(60000));
      if (t_->running()) {
        ASSERT_EQ(r.exit_code, 0) << Show(r);
        low = ThreadsCpu(pid, "rocksdb:low");
        high = ThreadsCpu(pid, "rocksdb:high");
      }
    }
    if (t_->running()) t_->Kill();
    std::printf(
        "%s: %s, killed %ld ms after the first import started (last import "
        "exit %d)\n",
        what.c_str(),
        seen ? (pool + " thread working").c_str() : "NO background work seen",
        MsSince(start), r.exit_code);
    ASSERT_NO_FATAL_FAILURE(AfterKill(what));
    if (r.exit_code == 0) {
      ASSERT_TRUE(HasSourceUpTo(*source, source->head()))
          << "an acknowledged import lost entries";
    } else {
      // Everything before the broken import was acknowledged.
      std::optional<Heads> heads = t_->GetHeads();
      ASSERT_TRUE(heads.has_value());
      ASSERT_GE((*heads)[source->id()].seq, source->head() - 300);
      RunResult again = t_->Run({"import", stream});
      ASSERT_EQ(again.exit_code, 0) << Show(again);
    }
    ASSERT_NO_FATAL_FAILURE(ExpectResumes(what, p_->Head(p_->id()),
                                          {{source->id(), source->head()}}));
    ASSERT_TRUE(HasSourceUpTo(*source, source->head()));
  }
  std::printf(
      "compaction: of %d kills, %d while a compaction thread worked, "
      "%d while a flush thread worked\n",
      rounds, during, during_flush);
  // What RocksDB did, from its info logs (complete after a clean stop).
  EXPECT_EQ(t_->Stop(), 0);
  int flushes = 0, compactions = 0, trivial = 0;
  for (const auto& f :
       std::filesystem::directory_iterator(t_->home() + "/db")) {
    if (f.path().filename().string().rfind("LOG", 0) != 0) continue;
    for (const std::string& line : Lines(ReadFileBytes(f.path().string()))) {
      flushes += line.find("\"event\": \"flush_started\"") != std::string::npos;
      compactions +=
          line.find("\"event\": \"compaction_started\"") != std::string::npos;
      trivial += line.find("\"event\": \"trivial_move\"") != std::string::npos;
    }
  }
  std::printf(
      "rocksdb info logs of T: %d flushes, %d compactions, %d trivial moves\n",
      flushes, compactions, trivial);
  EXPECT_GT(during + during_flush, 0)
      << "no kill landed during background work";
  Report("compaction");
}

}  // namespace
}  // namespace plumlog::testing
