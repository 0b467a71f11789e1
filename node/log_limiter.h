// LogLimiter: at most `burst` lines of one kind per window; the rest are
// counted and summed up in one line when the window ends, so a flood of
// refused connections costs a few lines a minute, not thousands a second,
// and still never goes unmentioned. Sans-IO: the caller passes `now`.
#ifndef PLUMLOG_NODE_LOG_LIMITER_H_
#define PLUMLOG_NODE_LOG_LIMITER_H_

#include <cstdint>

namespace plumlog::node {

class LogLimiter {
 public:
  LogLimiter(uint32_t burst, int64_t window_ms)
      : burst_(burst), window_ms_(window_ms) {}

  // True: log this line. False: it is counted as suppressed.
  bool Allow(int64_t now);
  // Once the window of suppressed lines has ended: how many were suppressed
  // in it (then 0 until more are); else 0. Call periodically.
  uint64_t TakeSuppressed(int64_t now);
  int64_t window_ms() const { return window_ms_; }

 private:
  void Roll(int64_t now);

  const uint32_t burst_;
  const int64_t window_ms_;
  int64_t window_start_ = INT64_MIN;
  uint32_t logged_ = 0;
  uint64_t suppressed_ = 0;       // in the current window
  uint64_t suppressed_done_ = 0;  // in windows that ended, not yet taken
};

}  // namespace plumlog::node

#endif  // PLUMLOG_NODE_LOG_LIMITER_H_
