// Test helper: a blocking HTTP/1.1 client over loopback TCP, for the daemon's
// HTTP server (cli/http_server.h): one request per connection, chunked and
// plain bodies, and a reader of server-sent event streams. Every read has a
// deadline, so a server that hangs fails the test instead of blocking it.
#ifndef PLUMLOG_TESTS_CLI_HTTP_CLIENT_H_
#define PLUMLOG_TESTS_CLI_HTTP_CLIENT_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace plumlog::testing {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  int status = 0;  // 0 when no response came (see error)
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // de-chunked
  std::string error;
};

// Sends METHOD PATH to HOST:PORT with a Host header (unless `headers` has
// one, or `host_header` is false) and `Connection: close`, then reads the
// whole response.
HttpResult HttpCall(
    const std::string& host_port, const std::string& method,
    const std::string& path, const std::string& body = "",
    const HttpHeaders& headers = {}, bool host_header = true,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
inline HttpResult HttpGet(const std::string& host_port,
                          const std::string& path) {
  return HttpCall(host_port, "GET", path);
}

// Sends raw bytes and returns everything the server sends until it closes.
std::string RawExchange(const std::string& host_port, const std::string& bytes,
                        std::chrono::milliseconds timeout);

// A connected TCP socket to HOST:PORT, or -1.
int ConnectTcp(const std::string& host_port);

struct SseMessage {
  std::string event;  // "" = the default ("message")
  std::string data;   // data lines joined by "\n"
};

// An open event stream (GET PATH with Accept: text/event-stream).
class SseClient {
 public:
  SseClient(const std::string& host_port, const std::string& path,
            const HttpHeaders& headers = {});
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // The response status (0 if none came).
  int status() const { return status_; }
  // The next event, or nullopt on timeout or end of stream (then ended()).
  std::optional<SseMessage> Next(std::chrono::milliseconds timeout);
  // Comment lines (": ...", keepalives) seen so far.
  int comments() const { return comments_; }
  bool ended() const { return ended_; }
  // Closes the connection from this side.
  void Close();

 private:
  // Reads more of the body (de-chunked) into body_; false on EOF / timeout.
  bool Fill(std::chrono::steady_clock::time_point deadline);
  // Moves what raw_ holds (de-chunked) to body_.
  void Take();
  int fd_ = -1;
  int status_ = 0;
  bool chunked_ = false;
  bool ended_ = false;
  int comments_ = 0;
  std::string raw_;   // bytes read, not yet de-chunked
  std::string body_;  // de-chunked body, not yet parsed into events
};

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_CLI_HTTP_CLIENT_H_
