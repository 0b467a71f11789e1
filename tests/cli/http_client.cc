#include "tests/cli/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace plumlog::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string Lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool SendAll(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n =
        ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

enum class ReadResult { kData, kTimeout, kClosed };

// Reads what is available within the deadline into `out`.
ReadResult ReadSome(int fd, std::string* out, Clock::time_point deadline) {
  while (true) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return ReadResult::kTimeout;
    pollfd p = {fd, POLLIN, 0};
    const int r =
        ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (r < 0) return ReadResult::kClosed;
    if (r == 0) continue;
    char buf[16384];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return ReadResult::kClosed;
    out->append(buf, static_cast<size_t>(n));
    return ReadResult::kData;
  }
}

// Moves the complete chunks at the start of `raw` into `body`. Returns true
// when the last (empty) chunk was seen.
bool Dechunk(std::string* raw, std::string* body) {
  while (true) {
    const size_t eol = raw->find("\r\n");
    if (eol == std::string::npos) return false;
    const size_t len = std::strtoul(raw->substr(0, eol).c_str(), nullptr, 16);
    if (len == 0) {
      if (raw->size() < eol + 4) return false;
      raw->erase(0, eol + 4);
      return true;
    }
    if (raw->size() < eol + 2 + len + 2) return false;
    body->append(*raw, eol + 2, len);
    raw->erase(0, eol + 2 + len + 2);
  }
}

// Splits the head off `raw`; fills status and headers. False if incomplete.
bool ParseHead(std::string* raw, int* status,
               std::map<std::string, std::string>* headers) {
  const size_t end = raw->find("\r\n\r\n");
  if (end == std::string::npos) return false;
  const std::string head = raw->substr(0, end);
  raw->erase(0, end + 4);
  size_t pos = head.find("\r\n");
  const std::string first = head.substr(0, pos);
  const size_t sp = first.find(' ');
  *status = sp == std::string::npos ? -1 : std::atoi(first.c_str() + sp + 1);
  while (pos != std::string::npos) {
    const size_t next = head.find("\r\n", pos + 2);
    const std::string line =
        head.substr(pos + 2, next == std::string::npos ? std::string::npos
                                                       : next - pos - 2);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      (*headers)[Lower(line.substr(0, colon))] = v;
    }
    pos = next;
  }
  return true;
}

std::string Request(const std::string& host_port, const std::string& method,
                    const std::string& path, const std::string& body,
                    const HttpHeaders& headers, bool host_header,
                    const std::string& connection) {
  std::string req = method + " " + path + " HTTP/1.1\r\n";
  bool has_host = false;
  for (const auto& [k, v] : headers) has_host = has_host || Lower(k) == "host";
  if (host_header && !has_host) req += "Host: " + host_port + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "Connection: " + connection + "\r\n\r\n";
  return req + body;
}

}  // namespace

int ConnectTcp(const std::string& host_port) {
  std::string host;
  std::string port;
  if (!host_port.empty() && host_port[0] == '[') {
    const size_t close = host_port.find(']');
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    const size_t colon = host_port.rfind(':');
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  sockaddr_storage ss = {};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(std::atoi(port.c_str())));
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(std::atoi(port.c_str())));
    len = sizeof *v6;
  } else {
    return -1;
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

HttpResult HttpCall(const std::string& host_port, const std::string& method,
                    const std::string& path, const std::string& body,
                    const HttpHeaders& headers, bool host_header,
                    std::chrono::milliseconds timeout) {
  HttpResult result;
  const std::string raw = RawExchange(
      host_port,
      Request(host_port, method, path, body, headers, host_header, "close"),
      timeout);
  std::string rest = raw;
  if (!ParseHead(&rest, &result.status, &result.headers)) {
    result.error = "no complete response head: '" + raw + "'";
    result.status = 0;
    return result;
  }
  if (Lower(result.headers["transfer-encoding"]) == "chunked") {
    if (!Dechunk(&rest, &result.body)) result.error = "truncated chunked body";
  } else {
    result.body = rest;
  }
  return result;
}

std::string RawExchange(const std::string& host_port, const std::string& bytes,
                        std::chrono::milliseconds timeout) {
  const int fd = ConnectTcp(host_port);
  if (fd < 0) return "";
  std::string out;
  if (SendAll(fd, bytes)) {
    const auto deadline = Clock::now() + timeout;
    while (ReadSome(fd, &out, deadline) == ReadResult::kData) {
    }
  }
  ::close(fd);
  return out;
}

SseClient::SseClient(const std::string& host_port, const std::string& path,
                     const HttpHeaders& headers) {
  fd_ = ConnectTcp(host_port);
  if (fd_ < 0) {
    ended_ = true;
    return;
  }
  HttpHeaders h = headers;
  h.emplace_back("Accept", "text/event-stream");
  if (!SendAll(fd_,
               Request(host_port, "GET", path, "", h, true, "keep-alive"))) {
    ended_ = true;
    return;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  std::map<std::string, std::string> hdrs;
  while (!ParseHead(&raw_, &status_, &hdrs)) {
    if (ReadSome(fd_, &raw_, deadline) != ReadResult::kData) {
      ended_ = true;
      return;
    }
  }
  chunked_ = Lower(hdrs["transfer-encoding"]) == "chunked";
  Take();
}

void SseClient::Take() {
  if (chunked_) {
    if (Dechunk(&raw_, &body_)) ended_ = true;
  } else {
    body_ += raw_;
    raw_.clear();
  }
}

SseClient::~SseClient() { Close(); }

void SseClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool SseClient::Fill(Clock::time_point deadline) {
  if (fd_ < 0 || ended_) return false;
  switch (ReadSome(fd_, &raw_, deadline)) {
    case ReadResult::kData:
      break;
    case ReadResult::kTimeout:
      return false;
    case ReadResult::kClosed:
      ended_ = true;
      return false;
  }
  Take();
  return true;
}

std::optional<SseMessage> SseClient::Next(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    // An event ends with an empty line.
    size_t end;
    while ((end = body_.find("\n\n")) != std::string::npos) {
      const std::string block = body_.substr(0, end + 1);
      body_.erase(0, end + 2);
      SseMessage m;
      bool any = false;
      bool has_data = false;
      size_t pos = 0;
      while (pos < block.size()) {
        const size_t nl = block.find('\n', pos);
        const std::string line = block.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.starts_with(":")) {
          ++comments_;
        } else if (line.starts_with("event: ")) {
          m.event = line.substr(7);
          any = true;
        } else if (line.starts_with("data: ")) {
          if (has_data) m.data += "\n";
          m.data += line.substr(6);
          has_data = true;
          any = true;
        }
      }
      if (any) return m;
    }
    if (ended_ || !Fill(deadline)) return std::nullopt;
  }
}

}  // namespace plumlog::testing
