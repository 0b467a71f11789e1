// RocksDB's info log (<db>/LOG) for a store opened for writing, written with
// plain write(2) and every error ignored.
//
// Why not RocksDB's own: in RocksDB 7.x its file logger (EnvLogger) writes
// through a WritableFileWriter, and once one write failed (ENOSPC: the disk is
// full) the next one hits assert(sync_without_flush_called_) in
// WritableFileWriter::AssertFalseAndGetStatusForPrevError(). Builds of RocksDB
// with assertions on (Debian's librocksdb) then abort the process on the first
// log line after the disk filled up — a daemon dies instead of reporting "no
// space" and going on once space is freed (docs/reliability.md).
#ifndef PLUMLOG_STORAGE_INFO_LOG_H_
#define PLUMLOG_STORAGE_INFO_LOG_H_

#include <rocksdb/env.h>

#include <cstdarg>
#include <memory>
#include <string>

namespace plumlog::storage {

class InfoLog : public rocksdb::Logger {
 public:
  // Opens <dir>/LOG for appending (creating it), after renaming it to
  // LOG.old when it has grown past `max_bytes`. nullptr if it cannot be
  // opened (the caller then keeps RocksDB's default logger).
  static std::shared_ptr<rocksdb::Logger> Open(const std::string& dir,
                                               size_t max_bytes);
  ~InfoLog() override;

  using rocksdb::Logger::Logv;
  // One line: "YYYY/MM/DD-HH:MM:SS.uuuuuu TID MESSAGE\n", in one write(2);
  // a failed or short write is dropped.
  void Logv(const char* format, va_list ap) override;

 private:
  explicit InfoLog(int fd)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), fd_(fd) {}
  rocksdb::Status CloseImpl() override;
  int fd_;
};

}  // namespace plumlog::storage

#endif  // PLUMLOG_STORAGE_INFO_LOG_H_
