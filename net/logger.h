// The log facility of the daemon and of nodes that log to stderr: a LogSink
// (include/plumlog/log.h) writing timestamped lines to stderr or to a file.
//
//   2026-01-31T10:00:02.120Z INFO connected to @oW2Aps8v... (127.0.0.1:8640)
//
// Every line starts with the UTC time (ms) and the level. A line is one
// write(2) on a descriptor opened with O_APPEND, so lines written by several
// threads (or processes sharing the file) never interleave within a line.
#ifndef PLUMLOG_NET_LOGGER_H_
#define PLUMLOG_NET_LOGGER_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "plumlog/log.h"
#include "plumlog/status.h"

namespace plumlog::net {

// "2026-01-31T10:00:02.120Z" for `ms` since the Unix epoch (UTC), or the
// plain number of milliseconds beyond 9999-12-31T23:59:59.999Z.
std::string FormatUtcMillis(uint64_t ms);

// Thread-safe. Writes to stderr until OpenFile() succeeds.
class Logger final : public LogSink {
 public:
  explicit Logger(LogLevel level = LogLevel::kInfo);
  ~Logger() override;
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Sends lines to `path` from now on: appended, the file created with mode
  // 0640 when missing. On failure the current destination stays.
  Status OpenFile(const std::string& path);
  // Opens the file again by its name, e.g. after logrotate renamed it (the
  // daemon does this on SIGHUP). Nothing to do when logging to stderr. On
  // failure the old file stays in use.
  Status Reopen();
  // The file lines go to; empty for stderr.
  std::string path() const;

  void set_level(LogLevel level) {
    level_.store(static_cast<uint8_t>(level), std::memory_order_relaxed);
  }
  LogLevel level() const {
    return static_cast<LogLevel>(level_.load(std::memory_order_relaxed));
  }

  // LogSink.
  void Log(LogLevel level, std::string_view message) override;
  bool Enabled(LogLevel level) const override {
    return static_cast<uint8_t>(level) <=
           level_.load(std::memory_order_relaxed);
  }

  // Log() with printf formatting (lines longer than 4 KiB are cut).
  void Logf(LogLevel level, const char* fmt, ...)
      __attribute__((format(printf, 3, 4)));

 private:
  std::atomic<uint8_t> level_;
  mutable std::mutex mu_;
  int fd_;  // 2 (stderr) or a file this logger owns
  std::string path_;
};

// The sink of nodes with NodeOptions::log_to_stderr and no log_sink: stderr,
// info and above. Lives as long as the process.
Logger* StderrLogger();

}  // namespace plumlog::net

#endif  // PLUMLOG_NET_LOGGER_H_
