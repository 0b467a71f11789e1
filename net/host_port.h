// HOST:PORT text, with brackets around IPv6 hosts.
#ifndef PLUMLOG_NET_HOST_PORT_H_
#define PLUMLOG_NET_HOST_PORT_H_

#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "plumlog/status.h"

namespace plumlog::net {

inline std::string JoinHostPort(std::string_view host, uint16_t port) {
  std::string out;
  const bool v6 = host.find(':') != std::string_view::npos;
  if (v6) out += '[';
  out.append(host);
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

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
