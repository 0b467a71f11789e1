// The one place libuv error codes become Status (design: foreign error codes
// are converted in one file per dependency).
#ifndef PLUMLOG_NET_UV_STATUS_H_
#define PLUMLOG_NET_UV_STATUS_H_

#include <string_view>

#include "plumlog/status.h"

namespace plumlog::net {

// `err` is a negative libuv error code (0 is OK). `what` names the operation.
Status UvStatus(int err, std::string_view what);

}  // namespace plumlog::net

#endif  // PLUMLOG_NET_UV_STATUS_H_
