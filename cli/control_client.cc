#include "cli/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/control_protocol.h"
#include "storage/msgpack_reader.h"

namespace plumlog::cli {
namespace {

int64_t NowMs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

Status WaitFd(int fd, short events, int64_t deadline_ms) {
  while (true) {
    const int64_t left = deadline_ms - NowMs();
    if (left <= 0) return Status::Aborted("the daemon did not answer in time");
    struct pollfd pfd = {};
    pfd.fd = fd;
    pfd.events = events;
    const int n = ::poll(&pfd, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Status::IOError(std::string("poll failed: ") +
                             std::strerror(errno));
    if (n > 0) return Status::OK();
  }
}

}  // namespace

std::string ControlSocketPath(const std::string& home) {
  return home + "/control.sock";
}

std::string ControlRequest(std::string_view method, uint32_t args) {
  std::string out;
  storage::AppendMsgpackArrayHeader(&out, 1 + args);
  storage::AppendMsgpackStr(&out, method);
  return out;
}

Result<std::unique_ptr<ControlClient>> ControlClient::Connect(
    const std::string& home) {
  const std::string path = ControlSocketPath(home);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return Status::InvalidArgument("control socket path is too long (" +
                                   std::to_string(path.size()) +
                                   " bytes): " + path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return Status::IOError(std::string("socket failed: ") +
                           std::strerror(errno));
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const struct sockaddr*>(&addr),
                   sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    ::close(fd);
    if (err == ENOENT || err == ECONNREFUSED || err == ENOTSOCK)
      return Status::NotFound(kNoDaemonMessage);
    if (err == EACCES || err == EPERM) {
      return Status::PermissionDenied(
          "cannot connect to the daemon's control socket " + path +
          ": permission denied (run as the user who owns " + home + ")");
    }
    return Status::IOError("cannot connect to the daemon's control socket " +
                           path + ": " + std::strerror(err));
  }
  return std::unique_ptr<ControlClient>(new ControlClient(fd));
}

ControlClient::~ControlClient() { ::close(fd_); }

Status ControlClient::SendAll(std::string_view bytes, int64_t deadline_ms) {
  while (!bytes.empty()) {
    const ssize_t n =
        ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      PLUMLOG_RETURN_IF_ERROR(WaitFd(fd_, POLLOUT, deadline_ms));
      continue;
    }
    if (n < 0) {
      return Status::IOError(std::string("lost the daemon's control socket: ") +
                             std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status ControlClient::ReadExact(size_t n, std::string* out,
                                int64_t deadline_ms) {
  out->resize(n);
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd_, out->data() + got, n - got, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      PLUMLOG_RETURN_IF_ERROR(WaitFd(fd_, POLLIN, deadline_ms));
      continue;
    }
    if (r < 0) {
      return Status::IOError(std::string("lost the daemon's control socket: ") +
                             std::strerror(errno));
    }
    if (r == 0) {
      return Status::IOError(
          "the daemon closed the control connection (is it shutting down?)");
    }
    got += static_cast<size_t>(r);
  }
  return Status::OK();
}

Status ControlClient::Call(std::string_view request, int timeout_ms,
                           uint32_t* count, std::string* results) {
  if (request.empty() || request.size() > kMaxControlFrameBytes)
    return Status::TooLarge("control request too large");
  const int64_t deadline = NowMs() + timeout_ms;
  PLUMLOG_RETURN_IF_ERROR(SendAll(Frame(request), deadline));
  std::string header;
  PLUMLOG_RETURN_IF_ERROR(ReadExact(4, &header, deadline));
  const uint32_t len = FrameLength(header);
  if (len == 0 || len > kMaxControlFrameBytes)
    return Status::Corruption("the daemon sent a malformed response");
  std::string payload;
  PLUMLOG_RETURN_IF_ERROR(ReadExact(len, &payload, deadline));
  std::string_view rest;
  PLUMLOG_RETURN_IF_ERROR(ParseResponse(payload, count, &rest));
  results->assign(rest);
  return Status::OK();
}

Status ConnectIfRunning(const std::string& home,
                        std::unique_ptr<ControlClient>* client) {
  client->reset();
  Result<std::unique_ptr<ControlClient>> c = ControlClient::Connect(home);
  if (c.ok()) {
    *client = std::move(*c);
    return Status::OK();
  }
  if (c.status().code() == Status::Code::kNotFound) return Status::OK();
  return c.status();
}

}  // namespace plumlog::cli
