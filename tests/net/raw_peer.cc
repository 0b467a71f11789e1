#include "tests/net/raw_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "net/frame_decoder.h"
#include "plumlog/node.h"

namespace plumlog::testing {

crypto::NetworkKey DefaultNet() {
  crypto::NetworkKey k;
  NetworkKey d = DefaultNetworkKey();
  std::copy(d.begin(), d.end(), k.begin());
  return k;
}

long RssKiBOf(const std::string& process) {
  std::ifstream in("/proc/" + process + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      in >> kib;
      return kib;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

std::unique_ptr<RawPeer> RawPeer::Connect(uint16_t port, const char* source) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return nullptr;
  if (source != nullptr) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source, &s.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&s), sizeof s) != 0) {
      ::close(fd);
      return nullptr;
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<RawPeer>(new RawPeer(fd));
}

RawPeer::~RawPeer() { ::close(fd_); }

bool RawPeer::SendRaw(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string RawPeer::Recv(size_t max, int timeout_ms, bool* closed) {
  std::string out;
  *closed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out.size() < max) {
    const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          deadline - std::chrono::steady_clock::now())
                                          .count());
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, left);
    if (r <= 0) break;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, std::min(sizeof buf, max - out.size()), 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      *closed = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
    break;  // what one read brought
  }
  return out;
}

bool RawPeer::WaitClosed(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    bool closed = false;
    const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          deadline - std::chrono::steady_clock::now())
                                          .count());
    Recv(SIZE_MAX, std::max(left, 1), &closed);
    if (closed) return true;
  }
  return false;
}

Status RawPeer::Handshake(const crypto::KeyPair& key, const crypto::NetworkKey& network,
                          const FeedId& server) {
  crypto::SecretHandshake shs = crypto::SecretHandshake::Client(key, network, server);
  if (!SendRaw(shs.TakeOutput())) return Status::IOError("send hello");
  while (!shs.done()) {
    bool closed = false;
    std::string in = Recv(64 * 1024, 2000, &closed);
    if (in.empty()) {
      return Status::IOError(closed ? "server closed during the handshake"
                                    : "server silent during the handshake");
    }
    PLUMLOG_RETURN_IF_ERROR(shs.Receive(in));
    std::string out = shs.TakeOutput();
    if (!out.empty() && !SendRaw(out)) return Status::IOError("send");
  }
  enc_ = std::make_unique<crypto::BoxStreamEncoder>(shs.keys().encrypt);
  dec_ = std::make_unique<crypto::BoxStreamDecoder>(shs.keys().decrypt);
  std::string rest = shs.TakeRemainder();
  std::string ignored;
  if (!rest.empty()) (void)dec_->Feed(rest, &ignored);
  return Status::OK();
}

bool RawPeer::SendBoxed(std::string_view plaintext) {
  std::string out;
  if (!enc_->Encode(plaintext, &out).ok()) return false;
  return SendRaw(out);
}

bool RawPeer::SendFrame(std::string_view frame) {
  std::string plain;
  net::AppendFrame(frame, &plain);
  return SendBoxed(plain);
}

Status RawPeer::ReceiveBoxed(int timeout_ms, std::string* plaintext, bool* closed) {
  std::string in = Recv(SIZE_MAX, timeout_ms, closed);
  if (in.empty()) return Status::OK();
  return dec_->Feed(in, plaintext);
}

}  // namespace plumlog::testing
