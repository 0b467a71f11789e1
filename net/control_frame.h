// Framing of the daemon's control socket (net/control_server.h): a 4-byte
// big-endian payload length, then the payload. Header-only so that the
// request encoders (cli/control_protocol.h) and their fuzz target need no
// socket code.
#ifndef PLUMLOG_NET_CONTROL_FRAME_H_
#define PLUMLOG_NET_CONTROL_FRAME_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace plumlog::net {

// Prepends the 4-byte big-endian length to `payload`.
inline std::string ControlFrame(std::string_view payload) {
  std::string out;
  out.reserve(4 + payload.size());
  const auto n = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(payload);
  return out;
}

// Reads the length prefix of `data` (at least 4 bytes).
inline uint32_t ControlFrameLength(std::string_view data) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace plumlog::net

#endif  // PLUMLOG_NET_CONTROL_FRAME_H_
