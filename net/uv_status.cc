#include "net/uv_status.h"

#include <uv.h>

#include <string>

namespace plumlog::net {

Status UvStatus(int err, std::string_view what) {
  if (err == 0) return Status::OK();
  std::string msg(what);
  msg += ": ";
  msg += uv_strerror(err);
  msg += " (";
  msg += uv_err_name(err);
  msg += ")";
  switch (err) {
    case UV_EADDRINUSE:
    case UV_EEXIST:
      return Status::AlreadyExists(msg);
    case UV_EACCES:
    case UV_EPERM:
      return Status::PermissionDenied(msg);
    case UV_EINVAL:
    case UV_EAI_NONAME:
    case UV_EADDRNOTAVAIL:
      return Status::InvalidArgument(msg);
    case UV_ENOENT:
      return Status::NotFound(msg);
    case UV_ENOSPC:
      return Status::NoSpace(msg);
    default:
      return Status::IOError(msg);
  }
}

}  // namespace plumlog::net
