#include "net/host_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace plumlog::net {

Result<std::string> ResolveHostName(const std::string& host) {
  struct addrinfo hints;
  std::memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0 || list == nullptr) {
    if (list != nullptr) ::freeaddrinfo(list);
    return Status::InvalidArgument(
        "host '" + host + "' does not resolve" +
        (rc != 0 ? std::string(": ") + ::gai_strerror(rc) : ""));
  }
  const struct addrinfo* a = PreferredAddress(list);
  char ip[INET6_ADDRSTRLEN] = {};
  const void* raw =
      a->ai_family == AF_INET
          ? static_cast<const void*>(
                &reinterpret_cast<const struct sockaddr_in*>(a->ai_addr)
                     ->sin_addr)
          : static_cast<const void*>(
                &reinterpret_cast<const struct sockaddr_in6*>(a->ai_addr)
                     ->sin6_addr);
  const bool ok = ::inet_ntop(a->ai_family, raw, ip, sizeof ip) != nullptr;
  ::freeaddrinfo(list);
  if (!ok)
    return Status::InvalidArgument("host '" + host +
                                   "' resolved to an odd address");
  return std::string(ip);
}

}  // namespace plumlog::net
