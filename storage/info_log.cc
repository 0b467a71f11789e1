#include "storage/info_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>

namespace plumlog::storage {

std::shared_ptr<rocksdb::Logger> InfoLog::Open(const std::string& dir,
                                               size_t max_bytes) {
  const std::string path = dir + "/LOG";
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 &&
      static_cast<size_t>(st.st_size) > max_bytes) {
    (void)::rename(path.c_str(), (dir + "/LOG.old").c_str());
  }
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return nullptr;
  return std::shared_ptr<rocksdb::Logger>(new InfoLog(fd));
}

InfoLog::~InfoLog() { (void)CloseImpl(); }

rocksdb::Status InfoLog::CloseImpl() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  return rocksdb::Status::OK();
}

void InfoLog::Logv(const char* format, va_list ap) {
  if (fd_ < 0) return;
  struct timeval now;
  ::gettimeofday(&now, nullptr);
  struct tm t;
  ::localtime_r(&now.tv_sec, &t);
  char head[64];
  const int h = std::snprintf(
      head, sizeof(head), "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %lx ",
      t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
      static_cast<long>(now.tv_usec),
      static_cast<unsigned long>(::syscall(SYS_gettid)));
  std::string line;
  if (h > 0) line.append(head, std::min(static_cast<size_t>(h), sizeof(head) - 1));
  char body[1024];
  va_list copy;
  va_copy(copy, ap);
  const int n = std::vsnprintf(body, sizeof(body), format, copy);
  va_end(copy);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof(body)) {
    line.append(body, static_cast<size_t>(n));
  } else {
    std::string big(static_cast<size_t>(n) + 1, '\0');
    va_copy(copy, ap);
    std::vsnprintf(big.data(), big.size(), format, copy);
    va_end(copy);
    line.append(big.data(), static_cast<size_t>(n));
  }
  if (line.empty() || line.back() != '\n') line.push_back('\n');
  // Errors (ENOSPC above all) are ignored: the info log is best effort.
  (void)!::write(fd_, line.data(), line.size());
}

}  // namespace plumlog::storage
