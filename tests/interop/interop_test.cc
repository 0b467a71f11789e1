// plumlog's secret handshake and box-stream against SSB's JavaScript
// implementation (npm secret-handshake + pull-box-stream, driven by
// js_peer.js), and the shs1-test suite against shs1_adapter.
//
// Skips when node or tests/interop/node_modules is missing (install them with
// `scripts/deps --test`).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/box_stream.h"
#include "crypto/keypair.h"
#include "crypto/secret_handshake.h"

namespace plumlog::crypto {
namespace {

const std::string kInteropDir = INTEROP_DIR;

std::optional<std::string> FindNode() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return std::nullopt;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/node";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

bool HaveModules() {
  struct stat st;
  for (const char* m : {"secret-handshake", "pull-box-stream", "shs1-test"}) {
    if (::stat((kInteropDir + "/node_modules/" + m + "/package.json").c_str(),
               &st) != 0) {
      return false;
    }
  }
  return true;
}

#define SKIP_WITHOUT_NODE()                                                    \
  do {                                                                         \
    if (!FindNode())                                                           \
      GTEST_SKIP() << "node is not installed; run scripts/deps --test";        \
    if (!HaveModules())                                                        \
      GTEST_SKIP()                                                             \
          << "tests/interop/node_modules is missing; run scripts/deps --test"; \
  } while (0)

std::string Hex(const uint8_t* data, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}
template <typename C>
std::string Hex(const C& c) {
  return Hex(reinterpret_cast<const uint8_t*>(c.data()), c.size());
}

KeyPair Key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return KeyPair::FromSeed(seed);
}

// A child process with pipes on stdin and stdout; stderr goes to a file.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    char tmpl[] = "/tmp/plumlog-interop-stderr.XXXXXX";
    const int err_fd = ::mkstemp(tmpl);
    stderr_path_ = tmpl;
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(err_fd, STDERR_FILENO);
      ::close(in[0]);
      ::close(in[1]);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err_fd);
    to_child_ = in[1];
    from_child_ = out[0];
    ::fcntl(to_child_, F_SETFL, O_NONBLOCK);
    ::fcntl(from_child_, F_SETFL, O_NONBLOCK);
  }
  ~Child() {
    CloseStdin();
    if (from_child_ >= 0) ::close(from_child_);
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::unlink(stderr_path_.c_str());
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  int to_child() const { return to_child_; }
  int from_child() const { return from_child_; }
  void CloseStdin() {
    if (to_child_ >= 0) ::close(to_child_);
    to_child_ = -1;
  }
  // Exit status (or -1 on a signal / timeout).
  int Wait(int seconds = 30) {
    CloseStdin();
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      ::usleep(10000);
    }
    return -1;
  }
  std::string Stderr() const {
    std::ifstream in(stderr_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  bool exited_ = false;
  std::string stderr_path_;
};

struct SessionResult {
  Status handshake;      // the handshake's outcome
  Status stream;         // the box-stream decoder's outcome
  std::string received;  // plaintext received from the peer
};

// Drives `hs` against the child; after the handshake sends `payload` and a
// goodbye, and reads until the peer's goodbye (or the connection ends).
SessionResult RunSession(Child& child, SecretHandshake& hs,
                         const std::string& payload) {
  SessionResult result;
  std::string outgoing = hs.TakeOutput();
  std::optional<BoxStreamEncoder> enc;
  std::optional<BoxStreamDecoder> dec;
  bool eof = false;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    if (hs.failed()) {
      result.handshake = hs.error();
      return result;
    }
    if (dec && (dec->goodbye() || eof)) break;
    if (eof) {
      result.handshake = hs.End();
      return result;
    }
    pollfd fds[2] = {{child.from_child(), POLLIN, 0},
                     {child.to_child(), POLLOUT, 0}};
    const nfds_t n = (!outgoing.empty() && child.to_child() >= 0) ? 2 : 1;
    if (::poll(fds, n, 100) < 0) continue;
    if (n == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t w =
          ::write(child.to_child(), outgoing.data(), outgoing.size());
      if (w > 0) outgoing.erase(0, static_cast<size_t>(w));
      if (w < 0 && errno != EAGAIN) child.CloseStdin();
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t r = ::read(child.from_child(), buf, sizeof buf);
      if (r == 0 || (r < 0 && errno != EAGAIN)) {
        eof = true;
      } else if (r > 0) {
        const std::string_view data(buf, static_cast<size_t>(r));
        if (!hs.done()) {
          (void)hs.Receive(data);
          outgoing += hs.TakeOutput();
          if (hs.done()) {
            enc.emplace(hs.keys().encrypt);
            dec.emplace(hs.keys().decrypt);
            EXPECT_TRUE(enc->Encode(payload, &outgoing).ok());
            EXPECT_TRUE(enc->Goodbye(&outgoing).ok());
            result.stream = dec->Feed(hs.TakeRemainder(), &result.received);
          }
        } else if (result.stream.ok()) {
          result.stream = dec->Feed(data, &result.received);
        }
      }
    }
  }
  if (!hs.done()) {
    result.handshake = Status::Aborted("timed out in the handshake");
  } else if (result.stream.ok() && !dec->goodbye()) {
    result.stream =
        eof ? dec->End() : Status::Aborted("timed out waiting for goodbye");
  }
  return result;
}

std::string Payload(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 2654435761u) >> 24);
  return s;
}

class InteropEchoTest : public ::testing::TestWithParam<size_t> {};

TEST_P(InteropEchoTest, OurClientToJsServer) {
  SKIP_WITHOUT_NODE();
  const KeyPair client = Key(1), server = Key(2);
  Child js({*FindNode(), kInteropDir + "/js_peer.js", "server",
            Hex(kPlumlogNetworkKey), Hex(server.seed())});
  auto hs =
      SecretHandshake::Client(client, kPlumlogNetworkKey, server.public_key());
  const std::string payload = Payload(GetParam());
  const SessionResult r = RunSession(js, hs, payload);
  ASSERT_TRUE(r.handshake.ok()) << r.handshake.ToString() << "\n"
                                << js.Stderr();
  ASSERT_TRUE(r.stream.ok()) << r.stream.ToString() << "\n" << js.Stderr();
  EXPECT_EQ(r.received.size(), payload.size());
  EXPECT_TRUE(r.received == payload);
  EXPECT_EQ(js.Wait(), 0) << js.Stderr();
  EXPECT_NE(js.Stderr().find("remote " + Hex(client.public_key().bytes())),
            std::string::npos)
      << js.Stderr();
}

TEST_P(InteropEchoTest, JsClientToOurServer) {
  SKIP_WITHOUT_NODE();
  const KeyPair client = Key(3), server = Key(4);
  Child js({*FindNode(), kInteropDir + "/js_peer.js", "client",
            Hex(kPlumlogNetworkKey), Hex(client.seed()),
            Hex(server.public_key().bytes())});
  auto hs = SecretHandshake::Server(server, kPlumlogNetworkKey);
  const std::string payload = Payload(GetParam());
  const SessionResult r = RunSession(js, hs, payload);
  ASSERT_TRUE(r.handshake.ok()) << r.handshake.ToString() << "\n"
                                << js.Stderr();
  EXPECT_EQ(hs.remote(), client.public_key());
  ASSERT_TRUE(r.stream.ok()) << r.stream.ToString() << "\n" << js.Stderr();
  EXPECT_TRUE(r.received == payload);
  EXPECT_EQ(js.Wait(), 0) << js.Stderr();
}

INSTANTIATE_TEST_SUITE_P(Sizes, InteropEchoTest,
                         ::testing::Values(0, 1, 4095, 4096, 4097, 100000,
                                           1 << 20));

TEST(InteropTest, SsbMainNetworkKeyWorksToo) {
  SKIP_WITHOUT_NODE();
  const KeyPair client = Key(5), server = Key(6);
  Child js({*FindNode(), kInteropDir + "/js_peer.js", "server",
            Hex(kSsbMainNetworkKey), Hex(server.seed())});
  auto hs =
      SecretHandshake::Client(client, kSsbMainNetworkKey, server.public_key());
  const SessionResult r = RunSession(js, hs, "hello ssb");
  ASSERT_TRUE(r.handshake.ok()) << r.handshake.ToString() << "\n"
                                << js.Stderr();
  ASSERT_TRUE(r.stream.ok()) << r.stream.ToString();
  EXPECT_EQ(r.received, "hello ssb");
}

TEST(InteropTest, OurClientWithWrongNetworkKeyIsRejectedByJsServer) {
  SKIP_WITHOUT_NODE();
  const KeyPair client = Key(1), server = Key(2);
  Child js({*FindNode(), kInteropDir + "/js_peer.js", "server",
            Hex(kSsbMainNetworkKey), Hex(server.seed())});
  auto hs =
      SecretHandshake::Client(client, kPlumlogNetworkKey, server.public_key());
  const SessionResult r = RunSession(js, hs, "x");
  EXPECT_FALSE(r.handshake.ok());
  EXPECT_FALSE(hs.done());
  EXPECT_NE(js.Wait(), 0);
  EXPECT_NE(js.Stderr().find("handshake failed"), std::string::npos)
      << js.Stderr();
}

TEST(InteropTest, JsClientWithWrongNetworkKeyIsRejectedByOurServer) {
  SKIP_WITHOUT_NODE();
  const KeyPair client = Key(3), server = Key(4);
  Child js({*FindNode(), kInteropDir + "/js_peer.js", "client",
            Hex(kSsbMainNetworkKey), Hex(client.seed()),
            Hex(server.public_key().bytes())});
  auto hs = SecretHandshake::Server(server, kPlumlogNetworkKey);
  const SessionResult r = RunSession(js, hs, "x");
  EXPECT_FALSE(r.handshake.ok());
  EXPECT_NE(r.handshake.message().find("hello HMAC mismatch"),
            std::string::npos)
      << r.handshake.ToString();
}

TEST(InteropTest, JsClientExpectingAnotherServerIsRejected) {
  SKIP_WITHOUT_NODE();
  const KeyPair client = Key(3), server = Key(4);
  Child js({*FindNode(), kInteropDir + "/js_peer.js", "client",
            Hex(kPlumlogNetworkKey), Hex(client.seed()),
            Hex(Key(9).public_key().bytes())});
  auto hs = SecretHandshake::Server(server, kPlumlogNetworkKey);
  const SessionResult r = RunSession(js, hs, "x");
  EXPECT_FALSE(r.handshake.ok());
  EXPECT_NE(r.handshake.message().find("client auth"), std::string::npos)
      << r.handshake.ToString();
}

// Runs one of shs1-test's scripts against the adapter; returns its exit code.
int RunShs1(const std::string& script, std::string* output) {
  Child suite({*FindNode(), kInteropDir + "/node_modules/shs1-test/" + script,
               SHS1_ADAPTER, "plumlog"});
  suite.CloseStdin();
  char buf[4096];
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fd = {suite.from_child(), POLLIN, 0};
    if (::poll(&fd, 1, 100) <= 0) continue;
    const ssize_t r = ::read(suite.from_child(), buf, sizeof buf);
    if (r > 0) output->append(buf, static_cast<size_t>(r));
    if (r == 0) break;
  }
  const int rc = suite.Wait(120);
  *output += suite.Stderr();
  return rc;
}

TEST(InteropTest, Shs1TestServer) {
  SKIP_WITHOUT_NODE();
  std::string output;
  EXPECT_EQ(RunShs1("test-server.js", &output), 0) << output;
  EXPECT_NE(output.find("Passed the server test suite"), std::string::npos)
      << output;
}

TEST(InteropTest, Shs1TestClient) {
  SKIP_WITHOUT_NODE();
  std::string output;
  EXPECT_EQ(RunShs1("test-client.js", &output), 0) << output;
  EXPECT_NE(output.find("Passed the client test suite"), std::string::npos)
      << output;
}

}  // namespace
}  // namespace plumlog::crypto
