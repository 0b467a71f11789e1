// HttpServer (cli/http_server.h) on a libuv loop of its own, driven by real
// loopback connections: routing, methods, bodies and their limit, the
// Host/Origin checks, the loopback-only default, event streams (order,
// per-client sends, keepalives, a client that does not read, clients that
// leave) and closing with streams open.
#include "cli/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "tests/cli/daemon_util.h"
#include "tests/cli/http_client.h"

namespace plumlog::cli {
namespace {

using ::plumlog::testing::HttpCall;
using ::plumlog::testing::HttpGet;
using ::plumlog::testing::HttpResult;
using ::plumlog::testing::PollUntil;
using ::plumlog::testing::SseClient;
using ::testing::HasSubstr;
using Millis = std::chrono::milliseconds;

// A libuv loop on a thread; Run() executes a function on it and waits.
class LoopThread {
 public:
  LoopThread() {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &async_, &LoopThread::OnAsync);
    async_.data = this;
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }
  ~LoopThread() {
    Run([this] { uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr); });
    thread_.join();
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open";
  }
  uv_loop_t* loop() { return &loop_; }

  void Run(std::function<void()> fn) {
    std::promise<void> done;
    {
      std::lock_guard<std::mutex> l(mu_);
      tasks_.push_back([&] {
        fn();
        done.set_value();
      });
    }
    uv_async_send(&async_);
    done.get_future().wait();
  }

 private:
  static void OnAsync(uv_async_t* a) {
    auto* self = static_cast<LoopThread*>(a->data);
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> l(self->mu_);
      tasks.swap(self->tasks_);
    }
    for (auto& t : tasks) t();
  }
  uv_loop_t loop_;
  uv_async_t async_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::function<void()>> tasks_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    options.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> l(log_mu_);
      log_ += line + "\n";
    };
    loop_.Run([&] {
      Result<std::unique_ptr<HttpServer>> s =
          HttpServer::Start(loop_.loop(), options);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      server_ = std::move(*s);
    });
    ASSERT_TRUE(server_);
    addr_ = server_->address();
  }
  void TearDown() override { StopServer(); }
  void StopServer() {
    if (!server_) return;
    loop_.Run([&] { server_->Close(); });
    ASSERT_TRUE(PollUntil(
        [&] {
          bool closed = false;
          loop_.Run([&] { closed = server_->closed(); });
          return closed;
        },
        Millis(10000)));
    loop_.Run([&] { server_.reset(); });
  }
  std::string Log() {
    std::lock_guard<std::mutex> l(log_mu_);
    return log_;
  }

  LoopThread loop_;
  std::unique_ptr<HttpServer> server_;
  std::string addr_;
  std::mutex log_mu_;
  std::string log_;
};

TEST_F(HttpServerTest, RoutesMethodsAndBodies) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_THAT(addr_, ::testing::StartsWith("127.0.0.1:"));
  std::atomic<int> calls{0};
  loop_.Run([&] {
    ASSERT_TRUE(server_
                    ->Handle("GET", "/hello",
                             [&](const HttpRequest& r) {
                               ++calls;
                               const std::string* who = r.Query("who");
                               return HttpResponse::Text(
                                   200, "hello " + (who ? *who : "?") + "\n");
                             })
                    .ok());
    ASSERT_TRUE(server_
                    ->Handle("POST", "/echo",
                             [&](const HttpRequest& r) {
                               HttpResponse resp = HttpResponse::Json(
                                   "{\"n\":" + std::to_string(r.body.size()) +
                                   "}");
                               resp.headers.emplace_back("X-Body",
                                                         r.body.substr(0, 10));
                               return resp;
                             })
                    .ok());
    EXPECT_EQ(server_->Handle("GET", "/hello", nullptr).code(),
              Status::Code::kAlreadyExists);
    EXPECT_EQ(server_->Handle("GET", "no-slash", nullptr).code(),
              Status::Code::kInvalidArgument);
  });

  HttpResult r = HttpGet(addr_, "/hello?who=w%20x");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "hello w x\n");
  EXPECT_EQ(r.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");

  r = HttpCall(addr_, "HEAD", "/hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");

  r = HttpGet(addr_, "/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("no such page"));

  r = HttpCall(addr_, "POST", "/hello", "x");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, HEAD");

  r = HttpCall(addr_, "POST", "/echo", std::string(1000, 'b'));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"n\":1000}");
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.headers["x-body"], "bbbbbbbbbb");
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413) {
  HttpServerOptions o;
  o.max_body_bytes = 100;
  ASSERT_NO_FATAL_FAILURE(StartServer(o));
  std::atomic<int> calls{0};
  loop_.Run([&] {
    ASSERT_TRUE(server_
                    ->Handle("POST", "/p",
                             [&](const HttpRequest&) {
                               ++calls;
                               return HttpResponse::Text(200, "ok");
                             })
                    .ok());
  });
  EXPECT_EQ(HttpCall(addr_, "POST", "/p", std::string(100, 'x')).status, 200);
  // Announced by Content-Length: refused before it is read.
  HttpResult r = HttpCall(addr_, "POST", "/p", std::string(101, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.body, HasSubstr("over 100 bytes"));
  // Chunked (no length announced): read, found too big, refused.
  const std::string chunked =
      "POST /p HTTP/1.1\r\nHost: " + addr_ +
      "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "50\r\n" +
      std::string(80, 'y') + "\r\n50\r\n" + std::string(80, 'y') +
      "\r\n0\r\n\r\n";
  const std::string raw =
      ::plumlog::testing::RawExchange(addr_, chunked, Millis(30000));
  EXPECT_THAT(raw, ::testing::StartsWith("HTTP/1.1 413")) << raw;
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(HttpServerTest, HostAndOriginChecks) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  loop_.Run([&] {
    ASSERT_TRUE(server_
                    ->Handle("GET", "/g",
                             [](const HttpRequest&) {
                               return HttpResponse::Text(200, "g");
                             })
                    .ok());
    ASSERT_TRUE(server_
                    ->Handle("POST", "/p",
                             [](const HttpRequest&) {
                               return HttpResponse::Text(200, "p");
                             })
                    .ok());
  });
  const std::string port = addr_.substr(addr_.rfind(':') + 1);
  // Loopback names with our port are fine.
  for (const std::string& host :
       std::vector<std::string>{addr_, "localhost:" + port, "LocalHost:" + port,
                                "[::1]:" + port, "127.0.0.5:" + port}) {
    EXPECT_EQ(HttpCall(addr_, "GET", "/g", "", {{"Host", host}}).status, 200)
        << host;
  }
  // Another name (a rebinding attacker's domain), another port, no Host.
  for (const std::string& host :
       std::vector<std::string>{"evil.example:" + port, "evil.example",
                                "127.0.0.1:1", "10.0.0.1:" + port}) {
    HttpResult r = HttpCall(addr_, "GET", "/g", "", {{"Host", host}});
    EXPECT_EQ(r.status, 403) << host;
    EXPECT_THAT(r.body, HasSubstr("DNS rebinding")) << host;
  }
  const std::string no_host = ::plumlog::testing::RawExchange(
      addr_, "GET /g HTTP/1.0\r\n\r\n", Millis(30000));
  EXPECT_THAT(no_host, ::testing::StartsWith("HTTP/1.1 403")) << no_host;

  // A POST from our own page (Origin = us) or a non-browser (no Origin) is
  // fine; one from another site's page is not.
  EXPECT_EQ(HttpCall(addr_, "POST", "/p", "x", {{"Origin", "http://" + addr_}})
                .status,
            200);
  EXPECT_EQ(HttpCall(addr_, "POST", "/p", "x").status, 200);
  HttpResult r =
      HttpCall(addr_, "POST", "/p", "x", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(r.body, HasSubstr("Origin http://evil.example"));
  EXPECT_EQ(HttpCall(addr_, "POST", "/p", "x", {{"Origin", "null"}}).status,
            403);
  // A GET carries no side effects: any Origin may read (CORS still keeps the
  // response from the other page's scripts).
  EXPECT_EQ(
      HttpCall(addr_, "GET", "/g", "", {{"Origin", "http://evil.example"}})
          .status,
      200);
}

TEST_F(HttpServerTest, OptionsAndBinds) {
  HttpServerOptions o;
  o.listen = "0.0.0.0:0";
  Result<std::unique_ptr<HttpServer>> s = Status::Aborted("not started");
  loop_.Run([&] { s = HttpServer::Start(loop_.loop(), o); });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("not a loopback address"));
  EXPECT_THAT(s.status().message(), HasSubstr("no authentication"));

  o.listen = "localhost:0";
  loop_.Run([&] { s = HttpServer::Start(loop_.loop(), o); });
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("not a numeric"));

  o.listen = "nonsense";
  EXPECT_FALSE(o.Validate().ok());
  o = HttpServerOptions();
  o.keepalive_ms = 40000;  // not below the idle timeout
  EXPECT_FALSE(o.Validate().ok());
  o = HttpServerOptions();
  o.max_connections = 0;
  EXPECT_FALSE(o.Validate().ok());
  EXPECT_TRUE(HttpServerOptions().Validate().ok());

  // A port in use: the bind error says so.
  const int blocker = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(blocker, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(blocker, 1), 0);
  socklen_t len = sizeof sa;
  ::getsockname(blocker, reinterpret_cast<sockaddr*>(&sa), &len);
  o = HttpServerOptions();
  o.listen = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
  loop_.Run([&] { s = HttpServer::Start(loop_.loop(), o); });
  ::close(blocker);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kIOError);
  EXPECT_THAT(s.status().message(), HasSubstr("cannot listen on"));

  // allow_remote: any address, no Host check.
  o = HttpServerOptions();
  o.listen = "0.0.0.0:0";
  o.allow_remote = true;
  ASSERT_NO_FATAL_FAILURE(StartServer(o));
  loop_.Run([&] {
    ASSERT_TRUE(server_
                    ->Handle("GET", "/g",
                             [](const HttpRequest&) {
                               return HttpResponse::Text(200, "g");
                             })
                    .ok());
  });
  const std::string port = addr_.substr(addr_.rfind(':') + 1);
  EXPECT_EQ(HttpCall("127.0.0.1:" + port, "GET", "/g", "",
                     {{"Host", "plumlog.example.org"}})
                .status,
            200);
}

TEST_F(HttpServerTest, EventStreams) {
  HttpServerOptions o;
  o.keepalive_ms = 200;
  o.idle_timeout_s = 5;
  ASSERT_NO_FATAL_FAILURE(StartServer(o));
  std::vector<StreamClientId> opened;
  loop_.Run([&] {
    ASSERT_TRUE(
        server_
            ->HandleStream("/events",
                           [&](const HttpRequest& r, StreamClientId id) {
                             opened.push_back(id);
                             const std::string* q = r.Query("q");
                             return SseEvent("hello", q ? *q : "");
                           })
            .ok());
    EXPECT_EQ(server_->Handle("GET", "/events", nullptr).code(),
              Status::Code::kAlreadyExists);
    ASSERT_TRUE(server_
                    ->Handle("POST", "/events",
                             [](const HttpRequest&) {
                               return HttpResponse::Text(200, "posted");
                             })
                    .ok());
  });
  SseClient a(addr_, "/events?q=a");
  ASSERT_EQ(a.status(), 200);
  std::optional<::plumlog::testing::SseMessage> m = a.Next(Millis(30000));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->event, "hello");
  EXPECT_EQ(m->data, "a");
  SseClient b(addr_, "/events?q=b");
  ASSERT_EQ(b.status(), 200);
  ASSERT_TRUE(b.Next(Millis(30000)));
  // POST on the same path still goes to its handler.
  EXPECT_EQ(HttpCall(addr_, "POST", "/events", "x").body, "posted");

  // Published events arrive in order at every client; multi-line data
  // survives; Send reaches one client only.
  loop_.Run([&] {
    EXPECT_EQ(server_->stream_clients("/events"), 2u);
    for (int i = 0; i < 100; ++i)
      EXPECT_EQ(server_->Publish("/events", SseEvent("n", std::to_string(i))),
                2u);
    server_->Publish("/events", SseEvent("", "line1\nline2"));
    ASSERT_EQ(opened.size(), 2u);
    EXPECT_TRUE(server_->Send(opened[1], SseEvent("only", "b")));
  });
  for (SseClient* c : {&a, &b}) {
    for (int i = 0; i < 100; ++i) {
      m = c->Next(Millis(30000));
      ASSERT_TRUE(m) << i;
      EXPECT_EQ(m->event, "n");
      EXPECT_EQ(m->data, std::to_string(i));
    }
    m = c->Next(Millis(30000));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->event, "");
    EXPECT_EQ(m->data, "line1\nline2");
  }
  m = b.Next(Millis(30000));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->data, "b");

  // Keepalive comments keep coming while nothing is published, also past
  // the idle timeout's worth of them.
  ASSERT_TRUE(PollUntil(
      [&] {
        a.Next(Millis(100));
        return a.comments() >= 3;
      },
      Millis(30000)));

  // A client that leaves is forgotten.
  b.Close();
  ASSERT_TRUE(PollUntil(
      [&] {
        size_t n = 0;
        loop_.Run([&] {
          server_->Publish("/events", SseEvent("tick", ""));  // finds b gone
          n = server_->stream_clients("/events");
        });
        return n == 1;
      },
      Millis(30000)));
  loop_.Run([&] { EXPECT_FALSE(server_->Send(opened[1], "x")); });

  // Closing the server ends the open stream.
  StopServer();
  while (a.Next(Millis(30000))) {
  }
  EXPECT_TRUE(a.ended());
}

TEST_F(HttpServerTest, AClientThatDoesNotReadIsDropped) {
  HttpServerOptions o;
  o.max_stream_queue_bytes = 64 * 1024;
  ASSERT_NO_FATAL_FAILURE(StartServer(o));
  loop_.Run([&] {
    ASSERT_TRUE(server_
                    ->HandleStream("/events", [](const HttpRequest&,
                                                 StreamClientId) { return ""; })
                    .ok());
    ASSERT_TRUE(server_
                    ->Handle("GET", "/g",
                             [](const HttpRequest&) {
                               return HttpResponse::Text(200, "still here");
                             })
                    .ok());
  });
  SseClient lazy(addr_, "/events");  // never reads after the head
  ASSERT_EQ(lazy.status(), 200);
  // The eager client reads everything on a thread of its own.
  std::atomic<int> received{0};
  std::atomic<bool> in_order{true};
  std::atomic<bool> stop{false};
  std::thread eager([&] {
    SseClient c(addr_, "/events");
    while (!stop) {
      std::optional<::plumlog::testing::SseMessage> m = c.Next(Millis(100));
      if (!m) continue;
      if (m->event != std::to_string(received)) in_order = false;
      ++received;
    }
  });
  ASSERT_TRUE(PollUntil(
      [&] {
        size_t n = 0;
        loop_.Run([&] { n = server_->stream_clients("/events"); });
        return n == 2;
      },
      Millis(30000)));
  // 10 KB per loop turn: the lazy client's socket buffers fill (a few MB),
  // then its queue; the eager one keeps up.
  int published = 0;
  bool dropped = false;
  for (int round = 0; round < 5000 && !dropped; ++round) {
    loop_.Run([&] {
      for (int i = 0; i < 10; ++i) {
        const size_t n = server_->Publish(
            "/events",
            SseEvent(std::to_string(published), std::string(1000, 'z')));
        ++published;
        if (n < 2) {
          dropped = true;
          break;
        }
      }
    });
  }
  ASSERT_TRUE(dropped);
  EXPECT_THAT(Log(), HasSubstr("does not read; disconnecting it"));
  EXPECT_EQ(HttpGet(addr_, "/g").body, "still here");
  ASSERT_TRUE(PollUntil([&] { return received == published; }, Millis(30000)))
      << received << " of " << published;
  stop = true;
  eager.join();
  EXPECT_TRUE(in_order);
  EXPECT_GT(published, 100);
}

TEST_F(HttpServerTest, ConnectionLimit) {
  HttpServerOptions o;
  o.max_connections = 3;
  // A parked stream connection is not watched for reading: a client that
  // left is noticed when a keepalive cannot be written.
  o.keepalive_ms = 200;
  ASSERT_NO_FATAL_FAILURE(StartServer(o));
  loop_.Run([&] {
    ASSERT_TRUE(server_
                    ->HandleStream("/events",
                                   [](const HttpRequest&, StreamClientId) {
                                     return SseEvent("hi", "");
                                   })
                    .ok());
  });
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<SseClient>(addr_, "/events"));
    ASSERT_EQ(clients.back()->status(), 200);
    ASSERT_TRUE(clients.back()->Next(Millis(30000)));
  }
  // A fourth waits in the listen queue until one of them leaves.
  std::unique_ptr<SseClient> fourth;
  std::thread opener(
      [&] { fourth = std::make_unique<SseClient>(addr_, "/events"); });
  loop_.Run([&] { EXPECT_EQ(server_->stream_clients("/events"), 3u); });
  clients.pop_back();
  opener.join();
  ASSERT_EQ(fourth->status(), 200);
  ASSERT_TRUE(fourth->Next(Millis(30000)));
  loop_.Run([&] { EXPECT_EQ(server_->stream_clients("/events"), 3u); });
}

}  // namespace
}  // namespace plumlog::cli
