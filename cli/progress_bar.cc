#include "cli/progress_bar.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace plumlog::cli {
namespace {

constexpr int kWidth = 30;
constexpr int64_t kRedrawMs = 100;
// Carriage return, then erase to the end of the line (ECMA-48 EL).
constexpr std::string_view kEraseLine = "\r\x1b[K";

int64_t NowMs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

void WriteStderr(std::string_view s) {
  std::fwrite(s.data(), 1, s.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

ProgressBar::ProgressBar() : enabled_(::isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() { Clear(); }

void ProgressBar::Update(std::string_view label, uint64_t done, uint64_t total,
                         std::string_view text, bool force) {
  if (!enabled_) return;
  const int64_t now = NowMs();
  if (drawn_ && !force && now - last_draw_ms_ < kRedrawMs) return;
  last_draw_ms_ = now;
  const int filled =
      total == 0 ? 0
                 : static_cast<int>(kWidth *
                                    static_cast<double>(std::min(done, total)) /
                                    static_cast<double>(total));
  std::string line(kEraseLine);
  line += label;
  line += " [";
  line.append(static_cast<size_t>(filled), '#');
  line.append(static_cast<size_t>(kWidth - filled), '.');
  line += "] ";
  line += text;
  WriteStderr(line);
  drawn_ = true;
}

void ProgressBar::Clear() {
  if (!drawn_) return;
  WriteStderr(kEraseLine);
  drawn_ = false;
}

}  // namespace plumlog::cli
