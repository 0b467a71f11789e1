// HOST:PORT text, with brackets around IPv6 hosts.
#ifndef PLUMLOG_CORE_HOST_PORT_H_
#define PLUMLOG_CORE_HOST_PORT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace plumlog::core {

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

}  // namespace plumlog::core

#endif  // PLUMLOG_CORE_HOST_PORT_H_
