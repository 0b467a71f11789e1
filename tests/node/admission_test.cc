// Admission, ReceiveBudget, LogLimiter and the Refused frame: the sans-IO
// pieces that keep strangers from locking a node out (docs/protocol.md
// section 18). The real-socket attacks are in tests/integration/attack_test.
#include "node/admission.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <variant>

#include "net/frame_decoder.h"
#include "net/receive_budget.h"
#include "node/log_limiter.h"
#include "node/node_core.h"
#include "node/refusal.h"
#include "storage/memory_store.h"
#include "tests/storage/store_test_util.h"

namespace plumlog::node {
namespace {

using net::AppendFrame;
using net::FrameDecoder;
using net::ReceiveBudget;

AdmissionLimits Limits() {
  AdmissionLimits l;
  l.max_connections = 20;
  l.reserved_connections = 4;
  l.max_handshakes = 6;
  l.max_handshakes_per_address = 2;
  l.max_handshakes_per_prefix = 4;
  l.max_strangers_per_prefix = 3;
  return l;  // strangers: 20 - 4 - 6 = 10
}

TEST(AdmissionTest, PrefixesAreSlash24AndSlash48) {
  EXPECT_EQ(Admission::PrefixOf("10.1.2.3"), "10.1.2.0/24");
  EXPECT_EQ(Admission::PrefixOf("10.1.2.250"), "10.1.2.0/24");
  EXPECT_EQ(Admission::PrefixOf("2001:db8:1:2::5"), "2001:db8:1::/48");
  EXPECT_EQ(Admission::PrefixOf("2001:db8:1:ffff::1"), "2001:db8:1::/48");
  EXPECT_EQ(Admission::PrefixOf("not-an-ip"), "not-an-ip");
  // Other IPv6 text forms, and IPv4 mapped into IPv6.
  EXPECT_EQ(Admission::PrefixOf("::1"), "0:0:0::/48");
  EXPECT_EQ(Admission::PrefixOf("fe80::"), "fe80:0:0::/48");
  EXPECT_EQ(Admission::PrefixOf("1:2:3:4:5:6:7:8"), "1:2:3::/48");
  EXPECT_EQ(Admission::PrefixOf("::ffff:10.1.2.3"), "10.1.2.0/24");
  EXPECT_EQ(Admission::PrefixOf("64:ff9b::10.1.2.3"), "64:ff9b:0::/48");
  // Not addresses: counted under their own text.
  for (const char* bad :
       {"1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1::2::3", ":1:2",
        "1:2:3:4:5:6:7:8:9", "12345::", "1:2:3:4:5:6:7:", ""}) {
    EXPECT_EQ(Admission::PrefixOf(bad), bad) << bad;
  }
  EXPECT_EQ(Admission::HostOf("10.1.2.3:8640"), "10.1.2.3");
  EXPECT_EQ(Admission::HostOf("[2001:db8::1]:8640"), "2001:db8::1");
  EXPECT_EQ(Admission::HostOf("2001:db8::1"), "2001:db8::1");
}

TEST(AdmissionTest, OneAddressGetsOnlyItsShareOfHandshakes) {
  Admission a(Limits());
  EXPECT_TRUE(a.OnInbound(1, "10.0.0.1").admit);
  EXPECT_TRUE(a.OnInbound(2, "10.0.0.1").admit);
  Admission::Decision d = a.OnInbound(3, "10.0.0.1");
  EXPECT_FALSE(d.admit);
  EXPECT_EQ(d.evict, 0u);
  EXPECT_NE(d.reason.find("10.0.0.1"), std::string::npos) << d.reason;
  EXPECT_EQ(a.PendingFrom("10.0.0.1"), 2u);
  // Another address of the same /24 is still welcome.
  EXPECT_TRUE(a.OnInbound(4, "10.0.0.2").admit);
  a.OnClosed(1);
  EXPECT_TRUE(a.OnInbound(5, "10.0.0.1").admit);
}

TEST(AdmissionTest, AFullPrefixEvictsItsOwnOldestHandshake) {
  Admission a(Limits());
  for (ConnId id = 1; id <= 4; ++id) {
    ASSERT_TRUE(a.OnInbound(id, "10.0.0." + std::to_string(id)).admit);
  }
  Admission::Decision d = a.OnInbound(5, "10.0.0.5");
  EXPECT_TRUE(d.admit);
  EXPECT_EQ(d.evict, 1u);  // the oldest of 10.0.0.0/24
  EXPECT_NE(d.reason.find("10.0.0.0/24"), std::string::npos) << d.reason;
  EXPECT_EQ(a.pending(), 4u);
  a.OnClosed(1);  // the driver closes the victim: already forgotten
  EXPECT_EQ(a.pending(), 4u);
}

TEST(AdmissionTest, AFloodFromAFewPrefixesEvictsItselfNotANewcomer) {
  Admission a(Limits());
  // The attacker holds all 6 handshake slots from two /24s.
  ConnId id = 1;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(a.OnInbound(id++, "10.0.1." + std::to_string(i)).admit);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(a.OnInbound(id++, "10.0.2." + std::to_string(i)).admit);
  // An honest newcomer from elsewhere evicts the attacker's oldest.
  Admission::Decision d = a.OnInbound(100, "192.168.7.7");
  EXPECT_TRUE(d.admit);
  EXPECT_EQ(d.evict, 1u);
  // The attacker keeps reconnecting: each new one evicts one of its own
  // (its prefixes hold the most), never the newcomer.
  for (int round = 0; round < 20; ++round) {
    d = a.OnInbound(id++, "10.0.1." + std::to_string(round % 2));
    if (d.admit) {
      EXPECT_NE(d.evict, 100u);
    }
    d = a.OnInbound(id++, "10.0.2." + std::to_string(round % 2));
    if (d.admit) {
      EXPECT_NE(d.evict, 100u);
    }
  }
  EXPECT_EQ(a.PendingFrom("192.168.7.7"), 1u);
  EXPECT_LE(a.pending(), 6u);
  // The newcomer authenticates as a known peer.
  EXPECT_TRUE(a.OnAuthenticated(100, /*known=*/true).admit);
  EXPECT_EQ(a.PendingFrom("192.168.7.7"), 0u);
}

TEST(AdmissionTest, StrangersAreCappedPerPrefixAndInTotal) {
  Admission a(Limits());
  // One /24: at most 3 authenticated strangers.
  ConnId id = 1;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(a.OnInbound(id, "10.0.3." + std::to_string(i)).admit);
    ASSERT_TRUE(a.OnAuthenticated(id, false).admit);
    ++id;
  }
  ASSERT_TRUE(a.OnInbound(id, "10.0.3.9").admit);
  Admission::Decision d = a.OnAuthenticated(id, false);
  EXPECT_FALSE(d.admit);
  EXPECT_NE(d.reason.find("10.0.3.0/24"), std::string::npos) << d.reason;
  EXPECT_EQ(a.strangers(), 3u);
  ++id;
  // Fill the strangers' 10 slots from other prefixes: 10.0.4/24 gets 3,
  // 10.0.5/24 gets 3, 10.0.6/24 gets 1.
  for (const char* p : {"10.0.4.", "10.0.5."}) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(a.OnInbound(id, p + std::to_string(i)).admit);
      ASSERT_TRUE(a.OnAuthenticated(id, false).admit);
      ++id;
    }
  }
  ASSERT_TRUE(a.OnInbound(id, "10.0.6.1").admit);
  ASSERT_TRUE(a.OnAuthenticated(id, false).admit);
  ++id;
  EXPECT_EQ(a.strangers(), 10u);
  // A stranger from a fresh prefix evicts the oldest of a prefix holding 3.
  ASSERT_TRUE(a.OnInbound(id, "172.16.0.1").admit);
  d = a.OnAuthenticated(id, false);
  EXPECT_TRUE(d.admit);
  EXPECT_EQ(d.evict, 1u);  // the first stranger of 10.0.3.0/24
  EXPECT_EQ(a.strangers(), 10u);
  ++id;
  // When every prefix holds as many as the newcomer's would, it is refused.
  Admission b(Limits());
  for (ConnId j = 1; j <= 10; ++j) {
    ASSERT_TRUE(b.OnInbound(j, "10.9." + std::to_string(j) + ".1").admit);
    ASSERT_TRUE(b.OnAuthenticated(j, false).admit);
  }
  ASSERT_TRUE(b.OnInbound(50, "10.9.50.1").admit);
  d = b.OnAuthenticated(50, false);
  EXPECT_FALSE(d.admit);
  EXPECT_EQ(d.evict, 0u);
}

TEST(AdmissionTest, KnownPeersGetTheReservedSlots) {
  Admission a(Limits());
  ConnId id = 1;
  // Strangers fill their 10 slots, handshakes the other 6 shared ones.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(a.OnInbound(id, "10." + std::to_string(i) + ".0.1").admit);
    ASSERT_TRUE(a.OnAuthenticated(id, false).admit);
    ++id;
  }
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(a.OnInbound(id++, "10.50." + std::to_string(i) + ".1").admit);
  }
  EXPECT_EQ(a.total(), 16u);
  // Four known peers come in: each evicts a handshake to start its own, and
  // once authenticated holds a reserved slot.
  for (int i = 0; i < 4; ++i) {
    Admission::Decision d =
        a.OnInbound(id, "192.168." + std::to_string(i) + ".1");
    ASSERT_TRUE(d.admit);
    ASSERT_TRUE(a.OnAuthenticated(id, true).admit);
    ++id;
  }
  EXPECT_EQ(a.strangers(), 10u);
  EXPECT_LE(a.total(), 20u);
  // Our own dials evict a handshake when the node is full.
  while (a.total() < 20) {
    ASSERT_TRUE(a.OnInbound(id, "10.60.0." + std::to_string(id)).admit);
    ++id;
  }
  Admission::Decision d = a.RoomForDial();
  EXPECT_TRUE(d.admit);
  EXPECT_NE(d.evict, 0u);
  a.OnDialed(1000);
  EXPECT_EQ(a.total(), 20u);
}

TEST(AdmissionTest, NothingToEvictMeansRefused) {
  AdmissionLimits l = Limits();
  l.max_connections = 3;
  l.reserved_connections = 1;
  l.max_handshakes = 1;
  Admission a(l);
  a.OnDialed(1);
  a.OnDialed(2);
  a.OnDialed(3);
  Admission::Decision d = a.OnInbound(4, "10.0.0.1");
  EXPECT_FALSE(d.admit);
  EXPECT_NE(d.reason.find("3 connections open"), std::string::npos) << d.reason;
  d = a.RoomForDial();
  EXPECT_FALSE(d.admit);
  a.OnClosed(2);
  EXPECT_TRUE(a.OnInbound(5, "10.0.0.1").admit);
}

TEST(ReceiveBudgetTest, TheOldestIncompleteFrameGoesFirst) {
  ReceiveBudget b(1000);
  b.Set(1, 400, 10);
  b.Set(2, 400, 20);
  EXPECT_FALSE(b.over());
  EXPECT_EQ(b.Victim(), 0u);
  b.Set(3, 300, 30);
  EXPECT_TRUE(b.over());
  EXPECT_EQ(b.total(), 1100u);
  EXPECT_EQ(b.Victim(), 1u);
  b.Set(1, 0, 40);  // closed (or its frame completed)
  EXPECT_FALSE(b.over());
  // A holding that grows keeps its start time.
  b.Set(2, 900, 50);
  EXPECT_TRUE(b.over());
  EXPECT_EQ(b.Victim(), 2u);
}

TEST(FrameDecoderTest, HeldMemoryNeverExceedsTheDeclaredFrame) {
  std::string wire;
  const std::string frame(700000, 'f');
  AppendFrame(frame, &wire);
  FrameDecoder d;
  std::vector<std::string> got;
  size_t most = 0;
  for (size_t i = 0; i + 1000 < wire.size(); i += 1000) {
    ASSERT_TRUE(d.Feed(std::string_view(wire).substr(i, 1000), &got).ok());
    most = std::max(most, d.held());
  }
  EXPECT_LE(most, frame.size());
  EXPECT_GT(most, 600000u);
  ASSERT_TRUE(
      d.Feed(std::string_view(wire).substr((wire.size() - 1) / 1000 * 1000),
             &got)
          .ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(d.held(), 0u);
}

TEST(LogLimiterTest, ABurstThenASummary) {
  LogLimiter l(3, 1000);
  int logged = 0;
  for (int i = 0; i < 100; ++i) logged += l.Allow(10 + i) ? 1 : 0;
  EXPECT_EQ(logged, 3);
  EXPECT_EQ(l.TakeSuppressed(500), 0u);  // the window has not ended
  EXPECT_EQ(l.TakeSuppressed(1100), 97u);
  EXPECT_EQ(l.TakeSuppressed(1200), 0u);
  EXPECT_TRUE(l.Allow(1300));
}

TEST(RefusalTest, RoundTripsAndIsStrict) {
  const std::string f =
      EncodeRefusal({"8 connections of unknown peers from 10.0.0.0/24", 10000});
  EXPECT_TRUE(IsRefusalFrame(f));
  Result<Refusal> r = DecodeRefusal(f);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->reason, "8 connections of unknown peers from 10.0.0.0/24");
  EXPECT_EQ(r->retry_after_ms, 10000u);
  // Trailing bytes, a truncated frame, another type: refused.
  EXPECT_FALSE(DecodeRefusal(f + "x").ok());
  EXPECT_FALSE(DecodeRefusal(f.substr(0, f.size() - 1)).ok());
  std::string other = f;
  other[1] = 65;
  EXPECT_FALSE(DecodeRefusal(other).ok());
  // An array16 header where a fixarray fits: decoded, and recognised.
  const std::string a16 = std::string("\xdc\x00\x03", 3) + f.substr(1);
  EXPECT_TRUE(DecodeRefusal(a16).ok());
  EXPECT_TRUE(IsRefusalFrame(a16));
  // Long reasons are cut at a character boundary; control characters shown as
  // '?'.
  std::string long_reason(250, 'a');
  long_reason +=
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";  // crosses 256 inside a character
  r = DecodeRefusal(EncodeRefusal({long_reason, 1}));
  ASSERT_TRUE(r.ok());
  EXPECT_LE(r->reason.size(), kMaxRefusalReasonBytes);
  EXPECT_EQ(r->reason.size() % 2, 0u);  // 250 + whole two-byte characters
  r = DecodeRefusal(
      EncodeRefusal({"bad\x1b[2Jterminal\n", kMaxRetryAfterMs * 2}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->reason, "bad?[2Jterminal?");
  EXPECT_EQ(r->retry_after_ms, kMaxRetryAfterMs);
}

// The same rules wired into NodeCore: connections named by id, verdicts as
// Close effects, a Refused frame before the close of an authenticated
// stranger.
class NodeCoreAdmissionTest : public ::testing::Test {
 protected:
  NodeCoreAdmissionTest() : store_(testing::KeyFromByte(1), {}) {
    NodeOptions o = NodeOptions::Test();
    o.membership = false;
    o.max_connections = 20;
    o.reserved_connections = 4;
    o.max_handshakes = 6;
    o.max_handshakes_per_address = 2;
    o.max_handshakes_per_prefix = 4;
    o.max_unknown_per_prefix = 3;
    core_ = std::make_unique<NodeCore>(&store_, "127.0.0.1:1", o, 7);
    EXPECT_TRUE(core_->Handle(Start{}, 0).ok());
    (void)core_->TakeEffects();
  }

  // Accepts a connection from `address`; the connections the core closed.
  std::vector<Close> Accept(ConnId id, const std::string& address) {
    EXPECT_TRUE(core_->Handle(ConnectionAccepted{id, address}, now_).ok());
    return Closes();
  }
  std::vector<Close> Closes() {
    std::vector<Close> out;
    for (Effect& e : core_->TakeEffects()) {
      if (auto* c = std::get_if<Close>(&e)) out.push_back(*c);
    }
    return out;
  }

  storage::MemoryStore store_;
  std::unique_ptr<NodeCore> core_;
  TimeMs now_ = 1000;
};

TEST_F(NodeCoreAdmissionTest, RefusesEvictsAndCounts) {
  EXPECT_TRUE(Accept(1, "10.0.0.1:5000").empty());
  EXPECT_TRUE(Accept(2, "10.0.0.1:5001").empty());
  // A third handshake from one address: refused at once.
  std::vector<Close> c = Accept(3, "10.0.0.1:5002");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].conn, 3u);
  EXPECT_EQ(c[0].reason, CloseReason::kRefused);
  // The prefix's fifth handshake evicts its oldest.
  EXPECT_TRUE(Accept(4, "10.0.0.2:5000").empty());
  EXPECT_TRUE(Accept(5, "10.0.0.2:5001").empty());
  c = Accept(6, "10.0.0.3:5000");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].conn, 1u);
  EXPECT_EQ(c[0].reason, CloseReason::kRefused);
  NodeStatus s;
  core_->FillStatus(&s);
  EXPECT_EQ(s.counters.connections_refused, 1u);
  EXPECT_EQ(s.counters.connections_evicted, 1u);
  // The driver reports the closes later: ignored, nothing counted twice.
  EXPECT_TRUE(
      core_
          ->Handle(ConnectionClosed{1, CloseReason::kRefused, Status::OK()},
                   now_)
          .ok());
  core_->FillStatus(&s);
  EXPECT_EQ(s.counters.connections_evicted, 1u);
}

TEST_F(NodeCoreAdmissionTest, AStrangerOverItsPrefixShareIsToldWhy) {
  ConnId id = 1;
  for (int i = 0; i < 3; ++i, ++id) {
    ASSERT_TRUE(Accept(id, "10.0.9." + std::to_string(i) + ":1").empty());
    ASSERT_TRUE(
        core_
            ->Handle(ConnectionOpened{id, testing::KeyFromByte(
                                              static_cast<uint8_t>(100 + i))
                                              .public_key()},
                     now_)
            .ok());
    ASSERT_TRUE(Closes().empty());
  }
  ASSERT_TRUE(Accept(id, "10.0.9.7:1").empty());
  ASSERT_TRUE(
      core_
          ->Handle(ConnectionOpened{id, testing::KeyFromByte(120).public_key()},
                   now_)
          .ok());
  std::vector<Effect> effects = core_->TakeEffects();
  const Send* refused = nullptr;
  const Close* close = nullptr;
  for (const Effect& e : effects) {
    if (const auto* s = std::get_if<Send>(&e);
        s && s->conn == id && IsRefusalFrame(s->frame)) {
      refused = s;
    }
    if (const auto* c = std::get_if<Close>(&e); c && c->conn == id) close = c;
  }
  ASSERT_NE(refused, nullptr);
  ASSERT_NE(close, nullptr);
  EXPECT_TRUE(close->graceful);  // the Refused frame leaves first
  Result<Refusal> r = DecodeRefusal(refused->frame);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->reason.find("10.0.9.0/24"), std::string::npos) << r->reason;
  EXPECT_GT(r->retry_after_ms, 0u);
}

TEST_F(NodeCoreAdmissionTest, ARefusedFrameDelaysTheRedial) {
  const FeedId peer = testing::KeyFromByte(50).public_key();
  PeerAddress a;
  a.host = "10.1.1.1";
  a.port = 9;
  a.id = peer;
  ASSERT_TRUE(core_->Handle(AddPeer{a, true}, now_).ok());
  ConnId dialed = 0;
  for (Effect& e : core_->TakeEffects()) {
    if (auto* d = std::get_if<Dial>(&e)) dialed = d->conn;
  }
  ASSERT_NE(dialed, 0u);
  ASSERT_TRUE(core_->Handle(ConnectionOpened{dialed, peer}, now_).ok());
  (void)core_->TakeEffects();
  const std::string frame = EncodeRefusal({"busy", 60000});
  ASSERT_TRUE(core_->Handle(FrameReceived{dialed, frame}, now_).ok());
  std::vector<Effect> effects = core_->TakeEffects();
  EXPECT_TRUE(std::any_of(effects.begin(), effects.end(), [&](const Effect& e) {
    const auto* c = std::get_if<Close>(&e);
    return c && c->conn == dialed && c->reason == CloseReason::kRefused;
  }));
  NodeStatus s;
  core_->FillStatus(&s);
  EXPECT_EQ(s.counters.refused_by_peers, 1u);
  // No redial within the minute it asked for, one after it.
  auto dials_at = [&](TimeMs t) {
    (void)core_->Handle(Tick{}, t);
    int n = 0;
    for (Effect& e : core_->TakeEffects()) n += std::holds_alternative<Dial>(e);
    return n;
  };
  EXPECT_EQ(dials_at(now_ + 30000), 0);
  EXPECT_EQ(dials_at(now_ + 59000), 0);
  EXPECT_EQ(dials_at(now_ + 80000), 1);
}

}  // namespace
}  // namespace plumlog::node
