#ifndef PLUMLOG_CRYPTO_PARALLEL_H_
#define PLUMLOG_CRYPTO_PARALLEL_H_

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace plumlog::crypto {

// A fixed set of worker threads that run index ranges of CPU-bound work (batch
// signing and verification). The calling thread works too, so a pool of N
// threads uses N+1 cores at most; size it to cores-1.
class WorkerPool {
 public:
  // `threads` workers besides the caller; 0 runs everything on the caller.
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Calls fn(i) for every i in [0, n), spread over the workers and the caller;
  // returns when all calls have returned. Calls from several threads at once
  // are serialised.
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

  size_t workers() const { return threads_.size(); }

 private:
  void WorkerLoop();
  void RunShare(
      std::unique_lock<std::mutex>& l);  // runs chunks; l held on entry/exit

  std::mutex run_mu_;  // one ParallelFor at a time
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::vector<std::thread> threads_;
  bool stop_ = false;
  uint64_t generation_ = 0;
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t n_ = 0;
  size_t next_ = 0;    // next index to hand out (guarded by mu_)
  size_t active_ = 0;  // workers inside the current job
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_PARALLEL_H_
