// HOST:PORT text, with brackets around IPv6 hosts.
#ifndef PLUMLOG_NET_HOST_PORT_H_
#define PLUMLOG_NET_HOST_PORT_H_

#include <cstdint>
#include <string>
#include <string_view>

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

}  // namespace plumlog::net

#endif  // PLUMLOG_NET_HOST_PORT_H_
