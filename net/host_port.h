// Host names: which resolved address plumlog uses, and blocking resolution
// for the addresses given at start. HOST:PORT text is core/host_port.h.
#ifndef PLUMLOG_NET_HOST_PORT_H_
#define PLUMLOG_NET_HOST_PORT_H_

#include <netdb.h>
#include <sys/socket.h>

#include <string>

#include "plumlog/status.h"

namespace plumlog::net {

// Of the addresses a host name resolved to, the one plumlog uses to listen
// and to dial alike: the first IPv4 address, else the first one. So
// `localhost` is 127.0.0.1 on both sides, whichever order the resolver lists
// ::1 and 127.0.0.1 in.
inline const struct addrinfo* PreferredAddress(const struct addrinfo* list) {
  for (const struct addrinfo* a = list; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) return a;
  }
  return list;
}

// Resolves a host name (blocking) to the numeric address PreferredAddress
// picks; an IP literal comes back as it is. InvalidArgument naming the host
// when it does not resolve. For addresses given at start (listen, --http,
// --metrics); dialling resolves without blocking (net/connection.cc).
Result<std::string> ResolveHostName(const std::string& host);

}  // namespace plumlog::net

#endif  // PLUMLOG_NET_HOST_PORT_H_
