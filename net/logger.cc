#include "net/logger.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace plumlog {

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "?";
}

Result<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel l :
       {LogLevel::kError, LogLevel::kWarn, LogLevel::kInfo, LogLevel::kDebug}) {
    if (name == LogLevelName(l)) return l;
  }
  return Status::InvalidArgument("unknown log level '" + std::string(name) +
                                 "' (levels: error, warn, info, debug)");
}

namespace net {
namespace {

// Upper-case names, as printed in each line.
const char* LineLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kDebug:
      return "DEBUG";
  }
  return "?";
}

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

Result<int> OpenForAppend(const std::string& path) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    const int err = errno;
    std::string msg =
        "cannot open log file " + path + ": " + std::strerror(err);
    if (err == EACCES || err == EPERM) return Status::PermissionDenied(msg);
    return Status::IOError(msg);
  }
  return fd;
}

void VLogTo(LogSink* sink, LogLevel level, const char* fmt, va_list ap) {
  char msg[4096];
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  sink->Log(level, msg);
}

}  // namespace

std::string FormatUtcMillis(uint64_t ms) {
  // 253402300799999 ms = 9999-12-31T23:59:59.999Z.
  constexpr uint64_t kMaxIsoMs = 253402300799999;
  if (ms > kMaxIsoMs) return std::to_string(ms);
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  if (::gmtime_r(&secs, &tm) == nullptr) return std::to_string(ms);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03uZ",
                static_cast<unsigned>(ms % 1000));
  return buf;
}

Logger::Logger(LogLevel level)
    : level_(static_cast<uint8_t>(level)), fd_(STDERR_FILENO) {}

Logger::~Logger() {
  if (fd_ != STDERR_FILENO) ::close(fd_);
}

Status Logger::OpenFile(const std::string& path) {
  PLUMLOG_ASSIGN_OR_RETURN(const int fd, OpenForAppend(path));
  std::lock_guard<std::mutex> l(mu_);
  if (fd_ != STDERR_FILENO) ::close(fd_);
  fd_ = fd;
  path_ = path;
  return Status::OK();
}

Status Logger::Reopen() {
  std::string path;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (path_.empty()) return Status::OK();
    path = path_;
  }
  PLUMLOG_ASSIGN_OR_RETURN(const int fd, OpenForAppend(path));
  std::lock_guard<std::mutex> l(mu_);
  if (fd_ != STDERR_FILENO) ::close(fd_);
  fd_ = fd;
  return Status::OK();
}

std::string Logger::path() const {
  std::lock_guard<std::mutex> l(mu_);
  return path_;
}

void Logger::Log(LogLevel level, std::string_view message) {
  if (!Enabled(level)) return;
  std::string line = FormatUtcMillis(NowMs());
  line += ' ';
  line += LineLevel(level);
  line += ' ';
  // One line per call: a newline inside the message would start a line
  // without a timestamp.
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  std::lock_guard<std::mutex> l(mu_);
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report a failing log; drop the line
    off += static_cast<size_t>(n);
  }
}

void Logger::Logf(LogLevel level, const char* fmt, ...) {
  if (!Enabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  VLogTo(this, level, fmt, ap);
  va_end(ap);
}

Logger* StderrLogger() {
  static Logger* const logger = new Logger(LogLevel::kInfo);
  return logger;
}

}  // namespace net
}  // namespace plumlog
