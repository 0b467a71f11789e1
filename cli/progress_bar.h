// A one-line progress bar on standard error, drawn only when standard error
// is a terminal, and erased (not left behind) when the work ends:
//
//   storing [##########..........] 25000/50000 entries
#ifndef PLUMLOG_CLI_PROGRESS_BAR_H_
#define PLUMLOG_CLI_PROGRESS_BAR_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace plumlog::cli {

class ProgressBar {
 public:
  ProgressBar();
  // Erases the bar.
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool enabled() const { return enabled_; }

  // Redraws the bar (at most every 100 ms unless `force`): `label`, a bar
  // filled done/total (empty for total 0), then `text`.
  void Update(std::string_view label, uint64_t done, uint64_t total,
              std::string_view text, bool force = false);
  // Erases the bar's line, so what is printed next starts on a clean line.
  void Clear();

 private:
  bool enabled_;
  bool drawn_ = false;
  int64_t last_draw_ms_ = 0;
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_PROGRESS_BAR_H_
