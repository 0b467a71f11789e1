#include "node/log_limiter.h"

namespace plumlog::node {

void LogLimiter::Roll(int64_t now) {
  if (window_start_ != INT64_MIN && now - window_start_ < window_ms_) return;
  suppressed_done_ += suppressed_;
  suppressed_ = 0;
  logged_ = 0;
  window_start_ = now;
}

bool LogLimiter::Allow(int64_t now) {
  Roll(now);
  if (logged_ < burst_) {
    ++logged_;
    return true;
  }
  ++suppressed_;
  return false;
}

uint64_t LogLimiter::TakeSuppressed(int64_t now) {
  Roll(now);
  const uint64_t n = suppressed_done_;
  suppressed_done_ = 0;
  return n;
}

}  // namespace plumlog::node
