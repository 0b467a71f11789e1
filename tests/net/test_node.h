// A Node on its own temporary RocksDB store, listening on loopback, for the
// node and hostile-peer tests; and polling with a deadline (real sockets: no
// virtual time here).
#ifndef PLUMLOG_TESTS_NET_TEST_NODE_H_
#define PLUMLOG_TESTS_NET_TEST_NODE_H_

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "plumlog/node.h"
#include "tests/storage/store_test_util.h"

namespace plumlog::testing {

// Polls `pred` every 5 ms until it holds or `ms` passed.
inline bool WaitUntil(const std::function<bool()>& pred, int ms = 10000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

struct TestNode {
  TestNode() : TestNode(Options()) {}
  explicit TestNode(NodeOptions options) {
    EXPECT_TRUE(Store::Init(dir.path()).ok());
    store = OpenOrDie(dir.path());
    Result<std::unique_ptr<Node>> n = Node::Start(store.get(), options);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (n.ok()) node = std::move(n).value();
  }
  ~TestNode() {
    node.reset();
    store.reset();
  }
  // NodeOptions::Test() with a fixed seed; membership off unless asked.
  static NodeOptions Options(bool membership = false) {
    NodeOptions o = NodeOptions::Test();
    o.membership = membership;
    o.seed = 42;
    return o;
  }
  uint64_t Seq(const FeedId& feed) const {
    Result<FeedInfo> f = store->Feed(feed);
    return f.ok() ? f->seq : 0;
  }
  NodeCounters Counters() { return node->GetStatus()->counters; }
  uint16_t port() const { return node->address().port; }
  const FeedId& id() const { return store->local_id(); }

  TempDir dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<Node> node;
};

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_NET_TEST_NODE_H_
