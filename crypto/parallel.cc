#include "crypto/parallel.h"

#include <algorithm>

namespace plumlog::crypto {
namespace {
constexpr size_t kChunk = 8;  // indices taken per lock acquisition
}

WorkerPool::WorkerPool(int threads) {
  size_t n = static_cast<size_t>(std::max(0, threads));
  threads_.reserve(n);
  for (size_t i = 0; i < n; ++i)
    threads_.emplace_back([this] { WorkerLoop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::RunShare(std::unique_lock<std::mutex>& l) {
  while (next_ < n_) {
    size_t begin = next_;
    size_t end = std::min(n_, begin + kChunk);
    next_ = end;
    const auto* fn = fn_;
    l.unlock();
    for (size_t i = begin; i < end; ++i) (*fn)(i);
    l.lock();
  }
}

void WorkerPool::WorkerLoop() {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    work_cv_.wait(l, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    ++active_;
    RunShare(l);
    if (--active_ == 0) done_cv_.notify_all();
  }
}

void WorkerPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (threads_.empty() || n <= kChunk) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::lock_guard<std::mutex> run(run_mu_);
  std::unique_lock<std::mutex> l(mu_);
  fn_ = &fn;
  n_ = n;
  next_ = 0;
  ++generation_;
  work_cv_.notify_all();
  RunShare(l);
  done_cv_.wait(l, [&] { return active_ == 0 && next_ >= n_; });
  fn_ = nullptr;
  n_ = 0;
}

}  // namespace plumlog::crypto
