// WorkerPool: ParallelFor runs every index exactly once, from any thread.
#include "crypto/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace plumlog::crypto {
namespace {

void ExpectEachIndexOnce(WorkerPool& pool, size_t n) {
  std::vector<std::atomic<int>> hits(n);
  pool.ParallelFor(
      n, [&](size_t i) { hits[i].fetch_add(1, std::memory_order_relaxed); });
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
}

TEST(WorkerPool, CoversEveryIndexExactlyOnce) {
  for (int workers : {0, 1, 3, 7}) {
    WorkerPool pool(workers);
    EXPECT_EQ(pool.workers(), static_cast<size_t>(workers));
    for (size_t n :
         {0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 1000, 4097}) {
      ExpectEachIndexOnce(pool, n);
    }
  }
}

TEST(WorkerPool, ZeroWorkersRunsOnTheCaller) {
  WorkerPool pool(0);
  const auto me = std::this_thread::get_id();
  std::atomic<int> elsewhere{0};
  pool.ParallelFor(1000, [&](size_t) {
    if (std::this_thread::get_id() != me) elsewhere++;
  });
  EXPECT_EQ(elsewhere.load(), 0);
}

TEST(WorkerPool, NegativeThreadCountMeansNone) {
  WorkerPool pool(-3);
  EXPECT_EQ(pool.workers(), 0u);
  ExpectEachIndexOnce(pool, 100);
}

TEST(WorkerPool, WorkersShareTheLoad) {
  WorkerPool pool(3);
  std::mutex mu;
  std::set<std::thread::id> threads;
  // Slow calls so that the workers surely wake while work remains.
  pool.ParallelFor(400, [&](size_t) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    std::lock_guard<std::mutex> l(mu);
    threads.insert(std::this_thread::get_id());
  });
  EXPECT_GE(threads.size(), 2u);
}

TEST(WorkerPool, ReturnsOnlyAfterAllCallsReturned) {
  WorkerPool pool(3);
  for (int round = 0; round < 50; ++round) {
    std::atomic<size_t> done{0};
    pool.ParallelFor(200, [&](size_t i) {
      if (i % 17 == 0) std::this_thread::yield();
      done.fetch_add(1);
    });
    ASSERT_EQ(done.load(), 200u);
  }
}

TEST(WorkerPool, ConcurrentCallersFromSeveralThreads) {
  WorkerPool pool(2);
  constexpr int kCallers = 6;
  constexpr int kRounds = 40;
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int r = 0; r < kRounds; ++r) {
        const size_t n = 1 + static_cast<size_t>((c * 131 + r * 17) % 300);
        std::vector<std::atomic<int>> hits(n);
        pool.ParallelFor(n, [&](size_t i) { hits[i].fetch_add(1); });
        for (size_t i = 0; i < n; ++i) {
          if (hits[i].load() != 1) failures++;
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(WorkerPool, DestroyWhileIdle) {
  for (int i = 0; i < 20; ++i) {
    WorkerPool pool(4);
    if (i % 2) ExpectEachIndexOnce(pool, 50);
  }
}

}  // namespace
}  // namespace plumlog::crypto
