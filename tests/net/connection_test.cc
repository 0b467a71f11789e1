// net::Connection on its own: two connections over loopback on one libuv
// loop (no node), and the write buffer split.
#include "net/connection.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <climits>
#include <functional>
#include <string>
#include <vector>

namespace plumlog::net {
namespace {

crypto::KeyPair Key(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return crypto::KeyPair::FromSeed(seed);
}

struct Recorder : Connection::Handler {
  Connection* conn = nullptr;
  int opened = 0, closed = 0, freed = 0;
  CloseReason reason = CloseReason::kLocal;
  std::vector<std::string> frames;
  void OnOpen(Connection* c) override {
    conn = c;
    ++opened;
  }
  void OnFrame(Connection*, std::string_view f) override { frames.emplace_back(f); }
  void OnClose(Connection*, CloseReason r, const Status&) override {
    ++closed;
    reason = r;
  }
  void OnWritable(Connection*) override {}
  void OnThrottled(Connection*) override {}
  void OnReceiveBudgetExceeded(Connection*) override {}
  void OnFreed(Connection*) override {
    ++freed;
    conn = nullptr;
  }
};

struct Listener {
  uv_tcp_t tcp;
  Recorder* handler = nullptr;
  const ConnectionConfig* config = nullptr;
  Connection* accepted = nullptr;
};

void OnConnection(uv_stream_t* server, int status) {
  ASSERT_EQ(status, 0);
  auto* l = static_cast<Listener*>(server->data);
  Status st;
  l->accepted = Connection::Accept(server->loop, server, l->handler, l->config,
                                   static_cast<TimeMs>(uv_now(server->loop)), &st);
  ASSERT_NE(l->accepted, nullptr) << st.ToString();
}

// Runs the loop until `done` or 30 s pass.
bool RunUntil(uv_loop_t* loop, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    uv_run(loop, UV_RUN_NOWAIT);
  }
  return true;
}

// Issue 12 (also found): a graceful close whose flush failed at once closed
// the connection a second time and reported OnClose twice. OnClose comes
// exactly once per connection, however often and however it is closed; the
// peer sees the goodbye.
TEST(ConnectionTest, GracefulCloseReportsOnCloseOnce) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ConnectionConfig server_config(Key(1)), client_config(Key(2));
  Recorder server_side, client_side;
  Listener listener;
  listener.handler = &server_side;
  listener.config = &server_config;
  ASSERT_EQ(uv_tcp_init(&loop, &listener.tcp), 0);
  listener.tcp.data = &listener;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  ASSERT_EQ(uv_tcp_bind(&listener.tcp, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
  ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener.tcp), 8, &OnConnection), 0);
  int len = sizeof addr;
  uv_tcp_getsockname(&listener.tcp, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port = ntohs(addr.sin_port);

  Connection* client =
      Connection::Dial(&loop, &client_side, &client_config, "127.0.0.1", port,
                       Key(1).public_key(), static_cast<TimeMs>(uv_now(&loop)));
  ASSERT_TRUE(RunUntil(&loop, [&] { return client_side.opened && server_side.opened; }));
  client->Send("last words");
  client->Close(CloseReason::kLocal, Status::OK(), true);
  client->Close(CloseReason::kLocal, Status::OK(), true);  // again: nothing
  EXPECT_EQ(client_side.closed, 1);
  ASSERT_TRUE(RunUntil(&loop, [&] { return client_side.freed && server_side.closed; }));
  EXPECT_EQ(client_side.closed, 1);
  EXPECT_EQ(server_side.closed, 1);
  EXPECT_EQ(server_side.reason, CloseReason::kPeerClosed);  // the goodbye arrived
  ASSERT_EQ(server_side.frames.size(), 1u);
  EXPECT_EQ(server_side.frames[0], "last words");

  ASSERT_TRUE(RunUntil(&loop, [&] { return server_side.freed == 1; }));
  uv_close(reinterpret_cast<uv_handle_t*>(&listener.tcp), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

// Issue 12 (also found): a write over 4 GiB was cut to its size mod 2^32
// (uv_buf_t holds an unsigned int). It is split into buffers instead.
TEST(ConnectionTest, WritesSplitIntoBuffersOfAtMostTheChunk) {
  char* base = reinterpret_cast<char*>(0x1000);  // never dereferenced
  std::vector<uv_buf_t> small = Connection::SplitBufs(base, 10, 4);
  ASSERT_EQ(small.size(), 3u);
  EXPECT_EQ(small[0].base, base);
  EXPECT_EQ(small[1].base, base + 4);
  EXPECT_EQ(small[2].base, base + 8);
  EXPECT_EQ(small[2].len, 2u);
  const size_t huge = (size_t{1} << 32) + 5;
  std::vector<uv_buf_t> bufs = Connection::SplitBufs(base, huge);
  size_t total = 0;
  for (const uv_buf_t& b : bufs) {
    EXPECT_LE(b.len, Connection::kMaxWriteChunk);
    EXPECT_EQ(b.base, base + total);
    total += b.len;
  }
  EXPECT_EQ(total, huge);
  EXPECT_EQ(bufs.size(), 5u);
  EXPECT_LT(Connection::kMaxWriteChunk, size_t{UINT_MAX});
  EXPECT_TRUE(Connection::SplitBufs(base, 0).empty());
}

}  // namespace
}  // namespace plumlog::net
