// kill -9 during appends: every acknowledged entry survives and the store
// checks clean. The child (plumlog_crash_writer) prints "<seq>\t<id>" after
// each append returns; the parent kills it at a random moment.
//
// The seed is printed; rerun one with PLUMLOG_CRASH_SEED=<seed>.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <map>
#include <random>

#include "plumlog/store.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

constexpr int kIterations = 20;
// Each child appends for a random time in this range before it is killed.
constexpr int kMinDelayMs = 5;
constexpr int kMaxDelayMs = 100;

uint32_t Seed() {
  if (const char* s = std::getenv("PLUMLOG_CRASH_SEED")) {
    return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  }
  return std::random_device{}();
}

// Parses complete "<seq>\t<id>\n" lines of `text` into `acked`; each seq must
// be acknowledged once with one id.
void Collect(const std::string& text, bool complete_only,
             std::map<uint64_t, std::string>* acked) {
  std::string_view rest(text);
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos && complete_only) break;
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    const size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string_view::npos) << line;
    const uint64_t seq = std::stoull(std::string(line.substr(0, tab)));
    const std::string id(line.substr(tab + 1));
    auto [it, fresh] = acked->emplace(seq, id);
    ASSERT_TRUE(fresh || it->second == id)
        << "seq " << seq << " acknowledged as " << it->second
        << " and later as " << id
        << ": an acknowledged entry was lost and its seq reused";
  }
}

TEST(CrashTest, AcknowledgedAppendsSurviveKill9) {
  const uint32_t seed = Seed();
  std::printf("crash test seed: %u (rerun with PLUMLOG_CRASH_SEED=%u)\n", seed,
              seed);
  RecordProperty("seed", std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(kMinDelayMs, kMaxDelayMs);

  TempDir dir;
  const std::string home = dir.Sub("home");
  RunResult init = RunWithHome(home, {"init"});
  ASSERT_EQ(init.exit_code, 0) << Show(init);
  const std::string me = init.out.substr(0, init.out.size() - 1);

  std::map<uint64_t, std::string> acked;
  for (int iter = 0; iter < kIterations; ++iter) {
    const int threads = 1 + iter % 2;
    const int batch = iter % 3 == 2 ? 10 : 1;
    const int delay = delay_ms(rng);
    SCOPED_TRACE("iteration " + std::to_string(iter) + ", threads " +
                 std::to_string(threads) + ", batch " + std::to_string(batch) +
                 ", kill after " + std::to_string(delay) + " ms, seed " +
                 std::to_string(seed));
    if (HasFatalFailure()) return;
    const size_t acked_before = acked.size();
    auto child =
        Subprocess::Start({CRASH_WRITER_BIN, home, std::to_string(threads),
                           std::to_string(batch)});
    // Most iterations start the clock at the first acknowledgement, so the kill
    // lands while appends are in flight; every fifth counts from the spawn, so
    // the kill may also hit opening and WAL recovery.
    const bool from_spawn = iter % 5 == 4;
    if (!from_spawn) {
      std::optional<std::string> first = child->ReadLine(Millis(20000));
      ASSERT_TRUE(first.has_value())
          << "the writer never acknowledged an append";
      Collect(*first + "\n", true, &acked);
    }
    // Collect acknowledgements while the child runs, then kill it mid-flight.
    const auto deadline = std::chrono::steady_clock::now() + Millis(delay);
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<Millis>(
          deadline - std::chrono::steady_clock::now());
      std::optional<std::string> line = child->ReadLine(left);
      if (!line) break;
      Collect(*line + "\n", true, &acked);
    }
    child->Kill(SIGKILL);
    RunResult dead = child->Finish(Millis(20000));
    ASSERT_FALSE(dead.timed_out);
    ASSERT_EQ(dead.term_signal, SIGKILL) << Show(dead);
    // Lines already in the pipe were acknowledged before the kill.
    Collect(dead.out, true, &acked);
    if (HasFatalFailure()) return;
    std::printf("iteration %d: %zu new acknowledged entries (%zu in all)\n",
                iter, acked.size() - acked_before, acked.size());

    RunResult check = RunWithHome(home, {"check"});
    ASSERT_EQ(check.exit_code, 0) << Show(check);

    Result<std::unique_ptr<Store>> store = Store::Open(home, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (const auto& [seq, id] : acked) {
      Result<Entry> e = (*store)->Get((*store)->local_id(), seq);
      ASSERT_TRUE(e.ok()) << "acknowledged seq " << seq
                          << " is gone: " << e.status().ToString();
      ASSERT_EQ(e->id().ToString(), id)
          << "acknowledged seq " << seq << " changed";
    }
    if (!acked.empty()) {
      Result<FeedInfo> head = (*store)->Feed((*store)->local_id());
      ASSERT_TRUE(head.ok());
      EXPECT_GE(head->seq, acked.rbegin()->first);
    }
  }
  EXPECT_GT(acked.size(), 0u)
      << "no append was ever acknowledged; the test proved nothing";
}

}  // namespace
}  // namespace plumlog::testing
