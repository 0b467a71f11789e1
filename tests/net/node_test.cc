// Nodes on real loopback sockets, in one process: replication between nodes,
// membership over TCP, and the node's answers to hostile peers (tests/net/raw_peer.h).
#include "plumlog/node.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "net/frame_decoder.h"
#include "replication/membership_message.h"
#include "replication/message.h"
#include "tests/net/raw_peer.h"
#include "tests/net/test_node.h"
#include "tests/storage/store_test_util.h"

namespace plumlog {
namespace {

using testing::FeedBuilder;
using testing::KeyFromByte;
using testing::RawPeer;
using testing::TestNode;
using testing::WaitUntil;
using testing::TempDir;



void AppendN(Store* store, int n) {
  std::vector<std::string> batch;
  for (int i = 0; i < n; ++i) batch.push_back(TextContent("entry " + std::to_string(i)));
  for (size_t at = 0; at < batch.size(); at += 1000) {
    std::vector<std::string> part(batch.begin() + at,
                                  batch.begin() + std::min(batch.size(), at + 1000));
    ASSERT_TRUE(store->AppendBatch(part).ok());
  }
}

TEST(NodeTest, AddressHasTheBoundPortAndTheStoresId) {
  TestNode a;
  PeerAddress addr = a.node->address();
  EXPECT_EQ(addr.id, a.store->local_id());
  EXPECT_EQ(addr.host, "127.0.0.1");
  EXPECT_NE(addr.port, 0);
  EXPECT_EQ(PeerAddress::Parse(addr.ToString())->port, addr.port);
}

TEST(NodeTest, ListenOnABusyPortFailsClearly) {
  TestNode a;
  NodeOptions o = TestNode::Options();
  o.listen = "127.0.0.1:" + std::to_string(a.port());
  TempDir dir;
  ASSERT_TRUE(Store::Init(dir.path()).ok());
  auto store = testing::OpenOrDie(dir.path());
  Result<std::unique_ptr<Node>> n = Node::Start(store.get(), o);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("listen"), std::string::npos) << n.status().ToString();
}

TEST(NodeTest, TwoNodesReplicateBothWays) {
  TestNode a, b;
  AppendN(a.store.get(), 3000);
  AppendN(b.store.get(), 2000);
  ASSERT_TRUE(a.node->AddPeer(b.node->address()).ok());
  const FeedId fa = a.store->local_id(), fb = b.store->local_id();
  ASSERT_TRUE(WaitUntil([&] { return b.Seq(fa) == 3000 && a.Seq(fb) == 2000; }, 30000))
      << "a has " << a.Seq(fb) << " of b, b has " << b.Seq(fa) << " of a";
  EXPECT_TRUE(WaitUntil([&] { return *a.node->InSyncWith(fb) && *b.node->InSyncWith(fa); }));
  EXPECT_TRUE(b.store->Check()->ok());
  NodeStatus st = *b.node->GetStatus();
  EXPECT_EQ(st.counters.entries_stored, 3000u);
  EXPECT_EQ(st.counters.invalid_entries, 0u);
  ASSERT_EQ(st.connections.size(), 1u);
  EXPECT_TRUE(st.connections[0].replicating);
  EXPECT_EQ(st.connections[0].peer, fa);
  EXPECT_EQ(st.progress_current, 5000u);
  EXPECT_EQ(st.progress_target, 5000u);
}

class RecordingListener : public NodeListener {
 public:
  void OnEntry(const Entry& e) override {
    std::lock_guard<std::mutex> l(mu);
    entries.push_back(e);
  }
  void OnMemberEvent(const MemberEvent& e) override {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(e);
  }
  size_t count() {
    std::lock_guard<std::mutex> l(mu);
    return entries.size();
  }
  bool Saw(MemberEventKind kind, const FeedId& peer) {
    std::lock_guard<std::mutex> l(mu);
    for (const MemberEvent& e : events) {
      if (e.kind == kind && e.peer == peer) return true;
    }
    return false;
  }
  std::mutex mu;
  std::vector<Entry> entries;
  std::vector<MemberEvent> events;
};

TEST(NodeTest, AnAppendReachesTheConnectedPeersListener) {
  TestNode a, b;
  RecordingListener heard;
  b.node->AddListener(&heard);
  ASSERT_TRUE(a.node->AddPeer(b.node->address()).ok());
  ASSERT_TRUE(WaitUntil([&] { return *a.node->InSyncWith(b.store->local_id()); }));
  for (int i = 0; i < 20; ++i) {
    Result<Entry> e = a.store->Append(TextContent("live " + std::to_string(i)));
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE(WaitUntil([&] { return heard.count() == static_cast<size_t>(i + 1); }, 5000))
        << "entry " << i;
    std::lock_guard<std::mutex> l(heard.mu);
    EXPECT_EQ(heard.entries.back().id(), e->id());
  }
  b.node->RemoveListener(&heard);
}

TEST(NodeTest, APeerThatRestartsIsRedialledAndCatchesUp) {
  TestNode a;
  auto b = std::make_unique<TestNode>();
  const uint16_t b_port = b->port();
  const PeerAddress b_addr = b->node->address();
  ASSERT_TRUE(a.node->AddPeer(b_addr).ok());
  ASSERT_TRUE(WaitUntil([&] { return *a.node->InSyncWith(b_addr.id); }));
  // b goes away; a keeps appending.
  b->node.reset();
  AppendN(a.store.get(), 500);
  // b comes back on the same port with the same store: a redials it.
  NodeOptions o = TestNode::Options();
  o.listen = "127.0.0.1:" + std::to_string(b_port);
  Result<std::unique_ptr<Node>> again = Node::Start(b->store.get(), o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  b->node = std::move(again).value();
  const FeedId fa = a.store->local_id();
  ASSERT_TRUE(WaitUntil([&] { return b->Seq(fa) == 500; }, 20000)) << b->Seq(fa);
  EXPECT_GE(a.Counters().dial_failures + a.Counters().connections_dialed, 2u);
}

TEST(NodeTest, DifferentNetworkKeysNeverConnect) {
  NodeOptions other = TestNode::Options();
  other.network_key[0] ^= 1;
  TestNode a, b(other);
  AppendN(a.store.get(), 10);
  ASSERT_TRUE(a.node->AddPeer(b.node->address()).ok());
  ASSERT_TRUE(WaitUntil([&] { return b.Counters().handshake_failures >= 1; }));
  EXPECT_TRUE(WaitUntil([&] { return a.Counters().handshake_failures >= 1; }));
  EXPECT_EQ(b.Seq(a.store->local_id()), 0u);
  EXPECT_EQ(b.Counters().handshakes_ok, 0u);
}

TEST(NodeTest, ThreeNodesJoinThroughMembershipAndConverge) {
  TestNode a(TestNode::Options(true));
  RecordingListener events;
  a.node->AddListener(&events);
  NodeOptions ob = TestNode::Options(true);
  ob.peers.push_back(a.node->address());
  TestNode b(ob);
  NodeOptions oc = TestNode::Options(true);
  oc.peers.push_back(b.node->address());
  TestNode c(oc);
  AppendN(a.store.get(), 100);
  AppendN(b.store.get(), 100);
  AppendN(c.store.get(), 100);
  std::vector<TestNode*> all = {&a, &b, &c};
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (TestNode* x : all) {
          for (TestNode* y : all) {
            if (x->Seq(y->store->local_id()) != 100) return false;
          }
        }
        return true;
      },
      20000));
  // a learns of c through the membership (c only knew b).
  EXPECT_TRUE(WaitUntil([&] {
    NodeStatus s = *a.node->GetStatus();
    for (auto& [id, state] : s.members) {
      if (id == c.store->local_id()) return true;
    }
    return false;
  }));
  EXPECT_FALSE(a.node->GetStatus()->active_view.empty());
  EXPECT_TRUE(events.Saw(MemberEventKind::kNeighborUp, b.store->local_id()));
  a.node->RemoveListener(&events);
}

TEST(NodeTest, AOneShotPeerWithoutMembershipSyncsWithAMembershipNode) {
  // `plumlog sync` without a daemon: no membership, Connect once.
  TestNode member(TestNode::Options(true));
  TestNode client(TestNode::Options(false));
  AppendN(member.store.get(), 300);
  AppendN(client.store.get(), 200);
  ASSERT_TRUE(client.node->Connect(member.node->address()).ok());
  const FeedId fm = member.store->local_id(), fc = client.store->local_id();
  ASSERT_TRUE(WaitUntil([&] { return *client.node->InSyncWith(fm); }, 20000));
  EXPECT_EQ(client.Seq(fm), 300u);
  EXPECT_TRUE(WaitUntil([&] { return member.Seq(fc) == 200; }));
  // The first contact went by reconciliation, and status says so.
  EXPECT_GE(client.Counters().reconcile_sessions, 1u);
  EXPECT_EQ(client.Counters().first_contact_fallbacks, 0u);
  NodeStatus st = *member.node->GetStatus();
  ASSERT_EQ(st.connections.size(), 1u);
  EXPECT_TRUE(st.connections[0].open);
  EXPECT_TRUE(st.connections[0].replicating);
}

TEST(NodeTest, IdleReplicationPeersKeepEachOtherAliveButASilentPeerIsDropped) {
  NodeOptions o = TestNode::Options();
  o.idle_timeout_ms = 600;
  TestNode a(o), b(o);
  ASSERT_TRUE(a.node->AddPeer(b.node->address()).ok());
  ASSERT_TRUE(WaitUntil([&] { return *a.node->InSyncWith(b.store->local_id()); }));
  // Idle for more than three timeouts: the keepalives hold the link.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  EXPECT_EQ(a.Counters().idle_timeouts, 0u);
  EXPECT_EQ(b.Counters().idle_timeouts, 0u);
  EXPECT_EQ(a.Counters().connections_dialed, 1u);
  // A peer that completes the handshake and then never sends a byte (a dead
  // link looks the same) is dropped, whatever we keep writing to it.
  auto silent = RawPeer::Connect(b.port());
  ASSERT_TRUE(silent->Handshake(KeyFromByte(30), DefaultNetworkKey(), b.store->local_id()).ok());
  EXPECT_TRUE(WaitUntil([&] { return b.Counters().idle_timeouts == 1; }, 5000));
}

TEST(NodeTest, ARefusedHandshakeIsRetriedWithBackoffNotInALoop) {
  NodeOptions other = TestNode::Options(true);
  other.network_key[5] ^= 0x10;
  TestNode b(other);
  NodeOptions o = TestNode::Options(true);
  o.peers.push_back(b.node->address());  // also the membership's join contact
  TestNode a(o);
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  // Backoff from 100 ms doubling (Test preset): a handful of dials in 2 s,
  // not thousands.
  const uint64_t dials = a.Counters().connections_dialed;
  EXPECT_GE(dials, 2u);
  EXPECT_LE(dials, 20u);
  EXPECT_EQ(a.Counters().handshakes_ok, 0u);
}

TEST(NodeTest, AttachRunsOnTheCallersLoop) {
  TempDir dir;
  ASSERT_TRUE(Store::Init(dir.path()).ok());
  auto store = testing::OpenOrDie(dir.path());
  TestNode peer;
  AppendN(peer.store.get(), 50);
  uv_loop_t loop;
  uv_loop_init(&loop);
  NodeOptions o = TestNode::Options();
  o.peers.push_back(peer.node->address());
  Result<std::unique_ptr<Node>> n = Node::Attach(store.get(), o, &loop);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  const FeedId fp = peer.store->local_id();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    uv_run(&loop, UV_RUN_ONCE);
    Result<FeedInfo> f = store->Feed(fp);
    if (f.ok() && f->seq == 50) break;
  }
  ASSERT_EQ(store->Feed(fp)->seq, 50u);
  (*n)->Stop();
  while (!(*n)->stopped()) uv_run(&loop, UV_RUN_ONCE);
  n->reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

// ---- hostile peers ----

class HostileTest : public ::testing::Test {
 protected:
  HostileTest() : node_(Opts()) {}
  static NodeOptions Opts() {
    NodeOptions o = TestNode::Options();
    o.handshake_timeout_ms = 300;
    o.log_to_stderr = getenv("NODE_TEST_LOG") != nullptr;
    return o;
  }
  crypto::NetworkKey Net() {
    crypto::NetworkKey k;
    NetworkKey d = DefaultNetworkKey();
    std::copy(d.begin(), d.end(), k.begin());
    return k;
  }
  std::unique_ptr<RawPeer> Honest(uint8_t key_byte) {
    auto p = RawPeer::Connect(node_.port());
    EXPECT_TRUE(p);
    Status st = p->Handshake(KeyFromByte(key_byte), Net(), node_.store->local_id());
    EXPECT_TRUE(st.ok()) << st.ToString();
    return p;
  }
  TestNode node_;
};

TEST_F(HostileTest, GarbageHandshakeIsClosedAndCounted) {
  auto p = RawPeer::Connect(node_.port());
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->SendRaw(std::string(64, 'g')));
  EXPECT_TRUE(p->WaitClosed(3000));
  EXPECT_TRUE(WaitUntil([&] { return node_.Counters().handshake_failures == 1; }));
  // A server that fails never answers: nothing came back but the close.
  auto q = RawPeer::Connect(node_.port());
  ASSERT_TRUE(q->SendRaw(std::string(64, 'h')));
  bool closed = false;
  EXPECT_EQ(q->Recv(1024, 3000, &closed), "");
  EXPECT_TRUE(closed);
}

TEST_F(HostileTest, TruncatedHandshakeAndStalledClientTimeOut) {
  auto stalled = RawPeer::Connect(node_.port());
  auto truncated = RawPeer::Connect(node_.port());
  ASSERT_TRUE(truncated->SendRaw(std::string(30, 'x')));
  EXPECT_TRUE(stalled->WaitClosed(3000));
  EXPECT_TRUE(truncated->WaitClosed(3000));
  EXPECT_TRUE(WaitUntil([&] { return node_.Counters().handshake_timeouts == 2; }));
}

TEST_F(HostileTest, WrongNetworkKeyIsRejected) {
  auto p = RawPeer::Connect(node_.port());
  crypto::NetworkKey wrong = crypto::kSsbMainNetworkKey;
  Status st = p->Handshake(KeyFromByte(9), wrong, node_.store->local_id());
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(WaitUntil([&] { return node_.Counters().handshake_failures == 1; }));
  EXPECT_EQ(node_.Counters().handshakes_ok, 0u);
}

TEST_F(HostileTest, OversizedFrameDisconnects) {
  auto p = Honest(10);
  std::string header = {'\x7f', '\x00', '\x00', '\x00'};
  ASSERT_TRUE(p->SendBoxed(header));
  EXPECT_TRUE(p->WaitClosed(3000));
  EXPECT_TRUE(WaitUntil([&] { return node_.Counters().oversized_frames == 1; }));
}

TEST_F(HostileTest, MalformedFramesDisconnect) {
  auto p = Honest(11);
  ASSERT_TRUE(p->SendFrame("\x92\x01\xc1"));  // replication type 1, invalid msgpack byte
  EXPECT_TRUE(p->WaitClosed(3000));
  auto q = Honest(12);
  ASSERT_TRUE(q->SendFrame("\x92\x10\xc1"));  // membership type 16, garbage
  EXPECT_TRUE(q->WaitClosed(3000));
  EXPECT_TRUE(WaitUntil([&] { return node_.Counters().malformed_frames == 2; }));
}

TEST_F(HostileTest, BadBoxStreamDisconnects) {
  auto p = Honest(13);
  ASSERT_TRUE(p->SendRaw(std::string(34, '\x01')));
  EXPECT_TRUE(p->WaitClosed(3000));
  EXPECT_TRUE(WaitUntil([&] { return node_.Counters().stream_errors == 1; }));
  // Closing without a goodbye is a truncated stream too.
  auto q = Honest(14);
  q.reset();
  EXPECT_TRUE(WaitUntil([&] { return node_.Counters().stream_errors == 2; }));
}

TEST_F(HostileTest, ForgedEntriesAreRejectedAndNotStored) {
  auto p = Honest(15);
  FeedBuilder author(KeyFromByte(16));
  std::vector<Entry> feed = author.NextN(3);
  replication::EntriesMessage m;
  m.entries.push_back(testing::WithBadSignature(feed[0]));
  ASSERT_TRUE(p->SendFrame(replication::EncodeMessage(m)));
  EXPECT_TRUE(WaitUntil([&] { return node_.Counters().invalid_entries >= 1; }));
  EXPECT_EQ(node_.Seq(author.id()), 0u);
  EXPECT_TRUE(p->WaitClosed(3000));  // a forger is disconnected
  // A valid entry of the same feed from an honest peer is still taken.
  auto q = Honest(17);
  replication::EntriesMessage good;
  good.entries = feed;
  ASSERT_TRUE(q->SendFrame(replication::EncodeMessage(good)));
  EXPECT_TRUE(WaitUntil([&] { return node_.Seq(author.id()) == 3; }));
}

TEST_F(HostileTest, AForkIsDetectedCountedAndTheFeedFrozen) {
  auto p = Honest(18);
  FeedBuilder author(KeyFromByte(19));
  std::vector<Entry> feed = author.NextN(2);
  replication::EntriesMessage m;
  m.entries = feed;
  ASSERT_TRUE(p->SendFrame(replication::EncodeMessage(m)));
  ASSERT_TRUE(WaitUntil([&] { return node_.Seq(author.id()) == 2; }));
  // Another entry 2 by the same author.
  Entry other = author.Make(2, feed[0].id(), 99, TextContent("the other branch"));
  replication::EntriesMessage fork;
  fork.entries = {other};
  auto q = Honest(20);
  ASSERT_TRUE(q->SendFrame(replication::EncodeMessage(fork)));
  EXPECT_TRUE(WaitUntil([&] { return node_.Counters().forks == 1; }));
  EXPECT_EQ(node_.store->Forks()->size(), 1u);
}

TEST_F(HostileTest, AFloodingPeerIsThrottledAndOthersStillSync) {
  NodeOptions o = TestNode::Options();
  o.max_frames_per_second = 500;
  TestNode target(o);
  auto p = RawPeer::Connect(target.port());
  ASSERT_TRUE(p->Handshake(KeyFromByte(21), Net(), target.store->local_id()).ok());
  replication::NotesMessage empty;
  const std::string frame = replication::EncodeMessage(empty);
  std::string plain;
  for (int i = 0; i < 5000; ++i) net::AppendFrame(frame, &plain);
  ASSERT_TRUE(p->SendBoxed(plain));
  EXPECT_TRUE(WaitUntil([&] { return target.Counters().throttled >= 1; }));
  // An honest node still replicates with it meanwhile.
  TestNode honest;
  AppendN(honest.store.get(), 100);
  ASSERT_TRUE(honest.node->AddPeer(target.node->address()).ok());
  EXPECT_TRUE(WaitUntil([&] { return target.Seq(honest.store->local_id()) == 100; }));
}

TEST_F(HostileTest, ConnectionsBeyondTheLimitAreRefusedOrEvicted) {
  NodeOptions o = TestNode::Options();
  o.max_connections = 3;
  o.max_handshakes = 2;
  o.max_handshakes_per_address = 2;
  TestNode limited(o);
  // Two handshakes from one address at most: the third is refused at once.
  std::vector<std::unique_ptr<RawPeer>> conns;
  for (int i = 0; i < 3; ++i) conns.push_back(RawPeer::Connect(limited.port()));
  EXPECT_TRUE(WaitUntil([&] { return limited.Counters().connections_refused == 1; }));
  EXPECT_TRUE(conns[2]->WaitClosed(5000));
  // From another address of the same /24, a new one evicts the oldest.
  conns.push_back(RawPeer::Connect(limited.port(), "127.0.0.2"));
  EXPECT_TRUE(WaitUntil([&] { return limited.Counters().connections_evicted == 1; }));
  EXPECT_TRUE(conns[0]->WaitClosed(5000));
  EXPECT_EQ(limited.node->GetStatus()->connections.size(), 2u);
}

}  // namespace
}  // namespace plumlog
