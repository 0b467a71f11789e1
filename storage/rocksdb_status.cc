#include "storage/rocksdb_status.h"

#include <string>

namespace plumlog::storage {

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::OK();
  std::string msg(context);
  msg += ": ";
  msg += s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsNoSpace()) return Status::NoSpace(msg);
  if (s.IsIOError()) {
    const std::string text = s.ToString();
    if (text.find("No space left") != std::string::npos) return Status::NoSpace(msg);
    if (text.find("lock") != std::string::npos || text.find("LOCK") != std::string::npos) {
      return Status::Busy(msg);
    }
    return Status::IOError(msg);
  }
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return Status::Busy(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  if (s.IsNotSupported()) return Status::FailedPrecondition(msg);
  if (s.IsAborted() || s.IsShutdownInProgress()) return Status::Aborted(msg);
  return Status::IOError(msg);
}

}  // namespace plumlog::storage
