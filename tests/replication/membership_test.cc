// Hand-driven unit tests of the membership core and its wire messages.
#include "replication/membership.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "replication/message.h"
#include "core/msgpack_reader.h"

namespace plumlog::replication {
namespace {

using Kind = MembershipEffect::Kind;
using T = MembershipMessageType;

FeedId Id(uint8_t n) {
  FeedId id;
  id.mutable_bytes().fill(n);
  return id;
}

std::string Frame(const MembershipMessage& m) { return EncodeMembershipMessage(m); }

MembershipMessage Decoded(const MembershipEffect& e) {
  Result<MembershipMessage> m = DecodeMembershipMessage(e.frame);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : MembershipMessage();
}

std::vector<MemberUpdate> AckUpdates(const MembershipEffect& e) {
  MembershipMessage m = Decoded(e);
  return std::get<AckMessage>(m).updates;
}

// Collects and classifies a node's effects.
struct Effects {
  std::vector<MembershipEffect> all;
  std::vector<MembershipEffect> Sends(T type, const FeedId* to = nullptr) const {
    std::vector<MembershipEffect> out;
    for (const auto& e : all) {
      if (e.kind == Kind::kSend && e.type == type && (!to || e.peer == *to)) out.push_back(e);
    }
    return out;
  }
  bool Has(Kind k, const FeedId& peer) const {
    return std::any_of(all.begin(), all.end(),
                       [&](const auto& e) { return e.kind == k && e.peer == peer; });
  }
  bool HasEvent(MembershipEvent ev, const FeedId& peer) const {
    return std::any_of(all.begin(), all.end(), [&](const auto& e) {
      return e.kind == Kind::kEvent && e.event == ev && e.peer == peer;
    });
  }
};

Effects Take(Membership& m) { return Effects{m.TakeEffects()}; }

class MembershipTest : public ::testing::Test {
 protected:
  MembershipTest() : o_(MembershipOptions::Test()) {}
  std::unique_ptr<Membership> Make(uint8_t self = 1) {
    auto m = std::make_unique<Membership>(Id(self), "addr-" + std::to_string(self), o_, 42);
    m->Join({}, now_);
    m->TakeEffects();
    return m;
  }
  // Makes `peer` an active neighbour of `m` (it asks with high priority).
  void AddNeighbor(Membership& m, uint8_t peer) {
    m.OnFrame(Id(peer), Frame(NeighborMessage{true, "addr-" + std::to_string(peer)}), now_);
    m.TakeEffects();
  }
  // Advances to the next probe and returns the ping sent (if any).
  std::optional<MembershipEffect> NextPing(Membership& m) {
    for (int i = 0; i < 10000; ++i) {
      now_ = std::max(now_ + 1, m.NextTimeout(now_));
      m.Tick(now_);
      Effects e = Take(m);
      auto pings = e.Sends(T::kPing);
      if (!pings.empty()) return pings[0];
    }
    return std::nullopt;
  }
  MembershipOptions o_;
  TimeMs now_ = 1000;
};

// ---------------------------------------------------------------------------
// Wire messages

TEST(MembershipMessageTest, EveryMessageRoundTrips) {
  MemberUpdate u{Id(7), 3, MemberState::kSuspect, "host:1", Id(8)};
  std::vector<MembershipMessage> all = {
      JoinMessage{"a"},
      ForwardJoinMessage{Id(2), "b", 6},
      NeighborMessage{true, "c"},
      NeighborReplyMessage{false},
      DisconnectMessage{true},
      ShuffleMessage{Id(3), "d", 3, {{Id(4), "e"}, {Id(5), ""}}},
      ShuffleReplyMessage{{{Id(6), "f"}}},
      PingMessage{9, {u}},
      AckMessage{10, {u, u}},
      PingReqMessage{11, Id(9), "g", {}},
      LeaveMessage{4},
  };
  for (const auto& m : all) {
    const std::string f = EncodeMembershipMessage(m);
    EXPECT_TRUE(IsMembershipFrame(f));
    Result<MembershipMessage> d = DecodeMembershipMessage(f);
    ASSERT_TRUE(d.ok()) << MembershipMessageTypeName(TypeOf(m)) << ": " << d.status().ToString();
    EXPECT_EQ(TypeOf(*d), TypeOf(m));
    EXPECT_EQ(EncodeMembershipMessage(*d), f);
  }
  EXPECT_EQ(static_cast<int>(TypeOf(JoinMessage{})), 16);
  EXPECT_EQ(static_cast<int>(TypeOf(LeaveMessage{})), 26);
}

TEST(MembershipMessageTest, ReplicationFramesAreNotMembershipFrames) {
  EXPECT_FALSE(IsMembershipFrame(EncodeMessage(WantMessage{})));
  EXPECT_FALSE(IsMembershipFrame(""));
  EXPECT_FALSE(DecodeMembershipMessage(EncodeMessage(WantMessage{})).ok());
}

// msgpack allows an array16 or array32 header where a fixarray fits, and the
// decoder takes them; the driver's routing must agree with the decoder, or
// such a frame goes to the replicator and the peer is dropped as malformed
// (found by the fuzzer: dc 00 02 16 dc 00 00, a ShuffleReply).
TEST(MembershipMessageTest, LongArrayHeadersAreMembershipFrames) {
  const std::string f = EncodeMembershipMessage(ShuffleReplyMessage{});
  ASSERT_EQ(static_cast<uint8_t>(f[0]), 0x92);
  const std::string a16 = std::string("\xdc\x00\x02", 3) + f.substr(1);
  const std::string a32 = std::string("\xdd\x00\x00\x00\x02", 5) + f.substr(1);
  for (const std::string& g : {a16, a32}) {
    EXPECT_TRUE(DecodeMembershipMessage(g).ok());
    EXPECT_TRUE(IsMembershipFrame(g));
  }
  EXPECT_FALSE(
      IsMembershipFrame(std::string("\xdc\x00", 2)));       // truncated header
  EXPECT_FALSE(IsMembershipFrame(std::string("\x90", 1)));  // no type
  EXPECT_FALSE(
      IsMembershipFrame(std::string("\x92\xcc\x16", 3)));  // type not shortest
}

TEST(MembershipMessageTest, DecoderRejectsBadInput) {
  const std::string ping = Frame(PingMessage{1, {}});
  EXPECT_FALSE(DecodeMembershipMessage(ping + "x").ok());            // trailing byte
  EXPECT_FALSE(DecodeMembershipMessage(ping.substr(0, 2)).ok());     // truncated
  EXPECT_FALSE(DecodeMembershipMessage("").ok());
  std::string wrong_fields = ping;
  wrong_fields[0] = static_cast<char>(0x94);
  EXPECT_FALSE(DecodeMembershipMessage(wrong_fields).ok());
  // Unknown type 27 and 63.
  std::string unknown;
  core::AppendMsgpackArrayHeader(&unknown, 1);
  core::AppendMsgpackUint(&unknown, 27);
  EXPECT_FALSE(DecodeMembershipMessage(unknown).ok());
  // Address over the limit.
  std::string long_addr;
  core::AppendMsgpackArrayHeader(&long_addr, 2);
  core::AppendMsgpackUint(&long_addr, 16);
  core::AppendMsgpackBin(&long_addr, std::string(kMaxAddressBytes + 1, 'x'));
  EXPECT_FALSE(DecodeMembershipMessage(long_addr).ok());
  // A walk longer than the limit.
  std::string ttl;
  core::AppendMsgpackArrayHeader(&ttl, 4);
  core::AppendMsgpackUint(&ttl, 17);
  core::AppendMsgpackBin(&ttl, Id(1).view());
  core::AppendMsgpackBin(&ttl, "a");
  core::AppendMsgpackUint(&ttl, kMaxWalkLength + 1);
  EXPECT_FALSE(DecodeMembershipMessage(ttl).ok());
  // An update count the bytes cannot back, and one over the limit.
  std::string count;
  core::AppendMsgpackArrayHeader(&count, 3);
  core::AppendMsgpackUint(&count, 23);
  core::AppendMsgpackUint(&count, 1);
  core::AppendMsgpackArrayHeader(&count, 30);
  EXPECT_EQ(DecodeMembershipMessage(count).status().code(), Status::Code::kCorruption);
  std::string many;
  core::AppendMsgpackArrayHeader(&many, 3);
  core::AppendMsgpackUint(&many, 23);
  core::AppendMsgpackUint(&many, 1);
  core::AppendMsgpackArrayHeader(&many, kMaxPiggybackUpdates + 1);
  EXPECT_EQ(DecodeMembershipMessage(many).status().code(), Status::Code::kTooLarge);
  // A member state out of range.
  MemberUpdate u{Id(7), 3, MemberState::kLeft, "", Id(8)};
  std::string bad_state = Frame(PingMessage{1, {u}});
  const size_t pos = bad_state.find(static_cast<char>(3), 3 + 2 + 34 + 1);
  ASSERT_NE(pos, std::string::npos);
  bad_state[pos] = 4;
  EXPECT_FALSE(DecodeMembershipMessage(bad_state).ok());
  // Oversized frame.
  EXPECT_EQ(DecodeMembershipMessage(std::string(kMaxMembershipFrameBytes + 1, '\x90'))
                .status()
                .code(),
            Status::Code::kTooLarge);
}

TEST(MembershipOptionsTest, PresetsValidateAndBadValuesAreRejected) {
  EXPECT_TRUE(MembershipOptions::Lan().Validate().ok());
  EXPECT_TRUE(MembershipOptions::Wan().Validate().ok());
  EXPECT_TRUE(MembershipOptions::Test().Validate().ok());
  MembershipOptions o;
  o.probe_timeout_ms = o.probe_interval_ms;
  EXPECT_FALSE(o.Validate().ok());
  o = MembershipOptions();
  o.active_view_size = 0;
  EXPECT_FALSE(o.Validate().ok());
  o = MembershipOptions();
  o.passive_random_walk_length = o.active_random_walk_length + 1;
  EXPECT_FALSE(o.Validate().ok());
  o = MembershipOptions();
  o.max_piggyback = kMaxPiggybackUpdates + 1;
  EXPECT_FALSE(o.Validate().ok());
  o = MembershipOptions();
  o.shuffle_passive = kMaxShuffleEntries;
  EXPECT_FALSE(o.Validate().ok());
}

// ---------------------------------------------------------------------------
// Views

TEST_F(MembershipTest, JoinConnectsThenAsksTheContact) {
  Membership m(Id(1), "me", o_, 1);
  m.Join({{Id(2), "contact"}}, now_);
  Effects e = Take(m);
  ASSERT_TRUE(e.Has(Kind::kConnect, Id(2)));
  EXPECT_EQ(e.all[0].address, "contact");
  m.OnConnected(Id(2), now_);
  e = Take(m);
  auto joins = e.Sends(T::kJoin);
  ASSERT_EQ(joins.size(), 1u);
  EXPECT_EQ(std::get<JoinMessage>(Decoded(joins[0])).address, "me");
  m.OnFrame(Id(2), Frame(NeighborReplyMessage{true}), now_);
  e = Take(m);
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kNeighborUp, Id(2)));
  EXPECT_EQ(m.ActiveView(), std::vector<FeedId>{Id(2)});
}

TEST_F(MembershipTest, FailedContactFallsBackToTheNext) {
  Membership m(Id(1), "me", o_, 1);
  m.Join({{Id(2), "a"}, {Id(3), "b"}}, now_);
  Take(m);
  m.OnDisconnected(Id(2), now_);  // dial failed
  EXPECT_TRUE(Take(m).Has(Kind::kConnect, Id(3)));
}

TEST_F(MembershipTest, ContactAcceptsJoinAndStartsForwardJoinWalks) {
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  m->OnFrame(Id(9), Frame(JoinMessage{"joiner"}), now_);
  Effects e = Take(*m);
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kNeighborUp, Id(9)));
  auto replies = e.Sends(T::kNeighborReply);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(std::get<NeighborReplyMessage>(Decoded(replies[0])).accepted);
  auto fwd = e.Sends(T::kForwardJoin);
  ASSERT_EQ(fwd.size(), 2u);  // to 2 and 3, not back to the joiner
  for (const auto& f : fwd) {
    EXPECT_NE(f.peer, Id(9));
    auto fj = std::get<ForwardJoinMessage>(Decoded(f));
    EXPECT_EQ(fj.node, Id(9));
    EXPECT_EQ(fj.address, "joiner");
    EXPECT_EQ(fj.ttl, o_.active_random_walk_length);
  }
}

TEST_F(MembershipTest, ForwardJoinWalksPassivelyRecordsAndFinallyAccepts) {
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  // Mid-walk: forwarded to the other neighbour with ttl-1.
  m->OnFrame(Id(2), Frame(ForwardJoinMessage{Id(9), "j", 5}), now_);
  Effects e = Take(*m);
  auto fwd = e.Sends(T::kForwardJoin);
  ASSERT_EQ(fwd.size(), 1u);
  EXPECT_EQ(fwd[0].peer, Id(3));
  EXPECT_EQ(std::get<ForwardJoinMessage>(Decoded(fwd[0])).ttl, 4u);
  EXPECT_TRUE(m->PassiveView().empty());
  // At ttl == PRWL the joiner also enters the passive view.
  m->OnFrame(Id(2), Frame(ForwardJoinMessage{Id(8), "k", o_.passive_random_walk_length}), now_);
  Take(*m);
  EXPECT_EQ(m->PassiveView(), std::vector<FeedId>{Id(8)});
  // At ttl 0 the walk ends here: connect and ask with high priority.
  m->OnFrame(Id(2), Frame(ForwardJoinMessage{Id(7), "l", 0}), now_);
  e = Take(*m);
  ASSERT_TRUE(e.Has(Kind::kConnect, Id(7)));
  m->OnConnected(Id(7), now_);
  e = Take(*m);
  auto n = e.Sends(T::kNeighbor);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_TRUE(std::get<NeighborMessage>(Decoded(n[0])).high_priority);
  m->OnFrame(Id(7), Frame(NeighborReplyMessage{true}), now_);
  EXPECT_TRUE(Take(*m).HasEvent(MembershipEvent::kNeighborUp, Id(7)));
}

TEST_F(MembershipTest, NeighborRequestPriority) {
  auto m = Make();
  for (uint8_t p = 2; p < 2 + o_.active_view_size; ++p) AddNeighbor(*m, p);
  ASSERT_EQ(m->ActiveView().size(), o_.active_view_size);
  // Low priority into a full view: rejected, kept as a passive candidate.
  m->OnFrame(Id(50), Frame(NeighborMessage{false, "x"}), now_);
  Effects e = Take(*m);
  auto r = e.Sends(T::kNeighborReply);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(std::get<NeighborReplyMessage>(Decoded(r[0])).accepted);
  EXPECT_EQ(m->ActiveView().size(), o_.active_view_size);
  EXPECT_EQ(m->PassiveView(), std::vector<FeedId>{Id(50)});
  // High priority: accepted, a random neighbour is dropped (told, and moved
  // to the passive view).
  m->OnFrame(Id(51), Frame(NeighborMessage{true, "y"}), now_);
  e = Take(*m);
  r = e.Sends(T::kNeighborReply);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(std::get<NeighborReplyMessage>(Decoded(r[0])).accepted);
  EXPECT_EQ(m->ActiveView().size(), o_.active_view_size);
  auto d = e.Sends(T::kDisconnect);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(std::get<DisconnectMessage>(Decoded(d[0])).alive);
  EXPECT_TRUE(e.Has(Kind::kDisconnect, d[0].peer));
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kNeighborDown, d[0].peer));
  auto passive = m->PassiveView();
  EXPECT_NE(std::find(passive.begin(), passive.end(), d[0].peer), passive.end());
}

TEST_F(MembershipTest, RejectedRequestClosesTheConnection) {
  auto m = Make();
  AddNeighbor(*m, 2);
  m->OnFrame(Id(2), Frame(ShuffleReplyMessage{{{Id(5), "p"}}}), now_);
  m->OnDisconnected(Id(2), now_);  // lose the only neighbour: 5 is tried
  Effects e = Take(*m);
  ASSERT_TRUE(e.Has(Kind::kConnect, Id(5)));
  m->OnConnected(Id(5), now_);
  Take(*m);
  m->OnFrame(Id(5), Frame(NeighborReplyMessage{false}), now_);
  e = Take(*m);
  EXPECT_TRUE(e.Has(Kind::kDisconnect, Id(5)));
  EXPECT_TRUE(m->ActiveView().empty());
}

TEST_F(MembershipTest, PassiveViewIsBounded) {
  auto m = Make();
  AddNeighbor(*m, 2);
  for (int round = 0; round < 10; ++round) {
    ShuffleReplyMessage r;
    for (int i = 0; i < 20; ++i) r.samples.push_back({Id(static_cast<uint8_t>(10 + round * 20 + i)), "a"});
    m->OnFrame(Id(2), Frame(r), now_);
  }
  EXPECT_EQ(m->PassiveView().size(), o_.passive_view_size);
  auto p = m->PassiveView();
  EXPECT_EQ(std::find(p.begin(), p.end(), Id(1)), p.end());  // never self
}

TEST_F(MembershipTest, ShuffleSendsSamplesAndAnswersWithPassiveOnes) {
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  m->OnFrame(Id(2), Frame(ShuffleReplyMessage{{{Id(20), "p20"}, {Id(21), "p21"}}}), now_);
  Take(*m);
  // A periodic shuffle goes to an active neighbour with our id first.
  now_ += o_.shuffle_interval_ms + o_.probe_interval_ms;
  m->Tick(now_);
  Effects e = Take(*m);
  auto s = e.Sends(T::kShuffle);
  ASSERT_EQ(s.size(), 1u);
  auto sm = std::get<ShuffleMessage>(Decoded(s[0]));
  EXPECT_EQ(sm.origin, Id(1));
  EXPECT_EQ(sm.ttl, o_.passive_random_walk_length);
  ASSERT_FALSE(sm.samples.empty());
  EXPECT_EQ(sm.samples[0].id, Id(1));
  EXPECT_LE(sm.samples.size(), 1 + o_.shuffle_active + o_.shuffle_passive);
  // A shuffle that ends here (ttl 0) is answered to its origin, at the
  // address it gave, and its samples enter our passive view.
  m->OnFrame(Id(3), Frame(ShuffleMessage{Id(30), "origin-addr", 0, {{Id(30), "o"}, {Id(31), "q"}}}),
             now_);
  e = Take(*m);
  auto r = e.Sends(T::kShuffleReply);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].peer, Id(30));
  EXPECT_EQ(r[0].address, "origin-addr");
  EXPECT_EQ(std::get<ShuffleReplyMessage>(Decoded(r[0])).samples.size(), 2u);
  auto p = m->PassiveView();
  EXPECT_NE(std::find(p.begin(), p.end(), Id(31)), p.end());
  // With ttl left it walks on instead.
  m->OnFrame(Id(3), Frame(ShuffleMessage{Id(40), "x", 2, {{Id(40), "x"}}}), now_);
  e = Take(*m);
  auto f = e.Sends(T::kShuffle);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].peer, Id(2));
  EXPECT_EQ(std::get<ShuffleMessage>(Decoded(f[0])).ttl, 1u);
}

TEST_F(MembershipTest, LostNeighborIsReplacedFromThePassiveView) {
  auto m = Make();
  AddNeighbor(*m, 2);
  m->OnFrame(Id(2), Frame(ShuffleReplyMessage{{{Id(5), "p5"}}}), now_);
  Take(*m);
  m->OnDisconnected(Id(2), now_);
  Effects e = Take(*m);
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kNeighborDown, Id(2)));
  ASSERT_TRUE(e.Has(Kind::kConnect, Id(5)));
  m->OnConnected(Id(5), now_);
  e = Take(*m);
  auto n = e.Sends(T::kNeighbor);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_TRUE(std::get<NeighborMessage>(Decoded(n[0])).high_priority);  // view was empty
  m->OnFrame(Id(5), Frame(NeighborReplyMessage{true}), now_);
  EXPECT_TRUE(Take(*m).HasEvent(MembershipEvent::kNeighborUp, Id(5)));
}

// A node whose views and known members all failed together may hear from a
// live member only when that member probes it: it asks the prober, over the
// connection the ping came on, to be its neighbour (high priority).
TEST_F(MembershipTest, AnIsolatedNodeAsksAMemberThatPingsItToBeItsNeighbour) {
  auto m = Make();
  m->OnFrame(Id(2), Frame(PingMessage{7, {}}), now_);
  Effects e = Take(*m);
  EXPECT_EQ(e.Sends(T::kAck).size(), 1u);
  ASSERT_TRUE(e.Has(Kind::kConnect, Id(2)));
  m->OnConnected(Id(2), now_);
  auto n = Take(*m).Sends(T::kNeighbor);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_TRUE(std::get<NeighborMessage>(Decoded(n[0])).high_priority);
  m->OnFrame(Id(2), Frame(NeighborReplyMessage{true}), now_);
  EXPECT_EQ(m->ActiveView(), std::vector<FeedId>{Id(2)});
  // With a neighbour, a ping is only answered.
  m->OnFrame(Id(3), Frame(PingMessage{8, {}}), now_);
  e = Take(*m);
  EXPECT_EQ(e.Sends(T::kAck).size(), 1u);
  EXPECT_FALSE(e.Has(Kind::kConnect, Id(3)));
}

// A probe dials a non-neighbour, and the connection tells it nothing of where
// we listen: the ping (and an ack to a non-neighbour) says so itself.
TEST_F(MembershipTest, PingsToANonNeighbourCarryOurAddress) {
  auto m = Make();
  AddNeighbor(*m, 2);
  auto self_news = [&](const std::vector<MemberUpdate>& updates) {
    return std::any_of(
        updates.begin(), updates.end(), [&](const MemberUpdate& u) {
          return u.id == Id(1) && u.state == MemberState::kAlive &&
                 u.address == "addr-1";
        });
  };
  // Our join news has gone out its retransmit limit (acks to the neighbour).
  for (uint64_t seq = 1; seq <= 20; ++seq) {
    m->OnFrame(Id(2), Frame(PingMessage{seq, {}}), now_);
    Take(*m);
  }
  m->OnFrame(Id(2), Frame(PingMessage{21, {}}), now_);
  auto acks = Take(*m).Sends(T::kAck);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_FALSE(self_news(AckUpdates(acks[0])));  // a neighbour knows
  m->OnFrame(Id(5), Frame(PingMessage{3, {}}), now_);
  acks = Take(*m).Sends(T::kAck);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_TRUE(self_news(AckUpdates(acks[0])));
  // The receiving side fills in the address of a member it knew without one.
  auto other = Make(5);
  other->OnFrame(Id(1), Frame(PingMessage{4, {}}), now_);  // learnt: no address
  Take(*other);
  EXPECT_EQ(other->AddressOf(Id(1)), "");
  other->OnFrame(Id(1), Frame(AckMessage{9, AckUpdates(acks[0])}), now_);
  EXPECT_EQ(other->AddressOf(Id(1)), "addr-1");
}

// Views empty and every contact tried: the node rejoins through a contact
// every rejoin interval, also while neighbour requests to members that may
// be dead keep failing (before, any request in flight put the rejoin off,
// and with a dead member re-requested every probe round, for ever).
TEST_F(MembershipTest, RejoinsThroughAContactWhileRequestsToTheDeadFail) {
  Membership m(Id(1), "me", o_, 1);
  m.Join({{Id(9), "contact"}}, now_);
  Take(m);
  m.OnDisconnected(Id(9), now_);  // the contact is down
  // Members it knows, with addresses, never answering.
  std::vector<PeerSample> samples;
  for (uint8_t i = 20; i < 30; ++i)
    samples.push_back({Id(i), std::to_string(i)});
  m.OnFrame(Id(3), Frame(ShuffleReplyMessage{samples}), now_);
  Take(m);
  int rejoins = 0;
  const TimeMs end = now_ + 5 * o_.rejoin_interval_ms;
  while (now_ < end) {
    now_ = std::max(now_ + 1, m.NextTimeout(now_));
    m.Tick(now_);
    for (const MembershipEffect& e : m.TakeEffects()) {
      if (e.kind == Kind::kConnect && e.peer == Id(9)) {
        ++rejoins;
        m.OnDisconnected(Id(9), now_);  // still down
      }
    }
  }
  EXPECT_GE(rejoins, 4);
}

// ---------------------------------------------------------------------------
// SWIM

TEST_F(MembershipTest, ANeighbourLostToAResetIsStillProbedAndSuspected) {
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  // The connection to 2 breaks without a Disconnect (its process was killed).
  m->OnDisconnected(Id(2), now_);
  Effects e = Take(*m);
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kNeighborDown, Id(2)));
  auto view = m->ActiveView();
  EXPECT_EQ(std::find(view.begin(), view.end(), Id(2)), view.end());
  // It is no longer a neighbour, yet the next probe goes to it.
  auto ping = NextPing(*m);
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->peer, Id(2));
  // Unanswered: suspected by us, like a failed probe of a neighbour.
  now_ += o_.probe_interval_ms;
  m->Tick(now_);
  EXPECT_TRUE(Take(*m).HasEvent(MembershipEvent::kSuspect, Id(2)));
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kSuspect);
}

TEST_F(MembershipTest, ProbeAckedMeansNoSuspicion) {
  auto m = Make();
  AddNeighbor(*m, 2);
  auto ping = NextPing(*m);
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->peer, Id(2));
  const uint64_t seq = std::get<PingMessage>(Decoded(*ping)).seq;
  m->OnFrame(Id(2), Frame(AckMessage{seq, {}}), now_);
  now_ += o_.probe_interval_ms;
  m->Tick(now_);
  Effects e = Take(*m);
  EXPECT_FALSE(e.HasEvent(MembershipEvent::kSuspect, Id(2)));
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kAlive);
  EXPECT_EQ(m->stats().suspicions, 0u);
}

TEST_F(MembershipTest, AnsweringPingsAndPingReqs) {
  auto m = Make();
  m->OnFrame(Id(2), Frame(PingMessage{77, {}}), now_);
  auto acks = Take(*m).Sends(T::kAck);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(std::get<AckMessage>(Decoded(acks[0])).seq, 77u);
  // A ping-req: ping the target, relay its ack with the requester's seq.
  m->OnFrame(Id(2), Frame(PingReqMessage{5, Id(3), "t", {}}), now_);
  auto pings = Take(*m).Sends(T::kPing);
  ASSERT_EQ(pings.size(), 1u);
  EXPECT_EQ(pings[0].peer, Id(3));
  EXPECT_EQ(pings[0].address, "t");
  const uint64_t seq = std::get<PingMessage>(Decoded(pings[0])).seq;
  m->OnFrame(Id(4), Frame(AckMessage{seq, {}}), now_);  // not from the target: ignored
  EXPECT_TRUE(Take(*m).Sends(T::kAck).empty());
  m->OnFrame(Id(3), Frame(AckMessage{seq, {}}), now_);
  acks = Take(*m).Sends(T::kAck);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].peer, Id(2));
  EXPECT_EQ(std::get<AckMessage>(Decoded(acks[0])).seq, 5u);
}

TEST_F(MembershipTest, IndirectProbeThroughOtherNeighbors) {
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  AddNeighbor(*m, 4);
  auto ping = NextPing(*m);
  ASSERT_TRUE(ping);
  const FeedId target = ping->peer;
  const uint64_t seq = std::get<PingMessage>(Decoded(*ping)).seq;
  now_ += o_.probe_timeout_ms;
  m->Tick(now_);
  Effects e = Take(*m);
  auto reqs = e.Sends(T::kPingReq);
  ASSERT_EQ(reqs.size(), 2u);  // the other two neighbours (indirect_checks = 3)
  FeedId helper = reqs[0].peer;
  for (const auto& r : reqs) {
    EXPECT_NE(r.peer, target);
    auto pr = std::get<PingReqMessage>(Decoded(r));
    EXPECT_EQ(pr.target, target);
    EXPECT_EQ(pr.seq, seq);
  }
  // The helper relays the target's ack: no suspicion.
  m->OnFrame(helper, Frame(AckMessage{seq, {}}), now_);
  now_ += o_.probe_interval_ms;
  m->Tick(now_);
  EXPECT_FALSE(Take(*m).HasEvent(MembershipEvent::kSuspect, target));
  EXPECT_EQ(m->StateOf(target), MemberState::kAlive);
}

TEST_F(MembershipTest, SuspicionTimeoutShrinksWithConfirmationsThenDeclaresDead) {
  auto m = Make();
  AddNeighbor(*m, 2);
  // The confirmers are known members (n stays put during the test).
  for (uint8_t by = 10; by < 10 + o_.suspicion_confirmations; ++by) {
    m->OnFrame(Id(by), Frame(PingMessage{0, {}}), now_);
  }
  Take(*m);
  auto ping = NextPing(*m);
  ASSERT_TRUE(ping);
  const TimeMs started = now_;
  now_ = started + o_.probe_interval_ms;
  m->Tick(now_);
  Effects e = Take(*m);
  ASSERT_TRUE(e.HasEvent(MembershipEvent::kSuspect, Id(2)));
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kSuspect);
  const size_t n = m->ClusterSizeEstimate();
  const double base = std::max(1.0, o_.suspicion_mult * std::log10(n + 1.0)) * o_.probe_interval_ms;
  const double max = o_.suspicion_max_timeout_mult * base;
  const TimeMs t0 = *m->SuspicionDeadline(Id(2));
  EXPECT_EQ(t0, now_ + static_cast<TimeMs>(max));
  // Independent confirmations (distinct suspecters) shrink it towards base.
  TimeMs prev = t0;
  for (uint8_t by = 10; by < 10 + o_.suspicion_confirmations; ++by) {
    m->OnFrame(Id(by), Frame(PingMessage{1, {{Id(2), 0, MemberState::kSuspect, "", Id(by)}}}), now_);
    Take(*m);
    const TimeMs t = *m->SuspicionDeadline(Id(2));
    EXPECT_LT(t, prev);
    prev = t;
  }
  EXPECT_EQ(prev, now_ + static_cast<TimeMs>(base));
  // A repeated confirmation by the same node changes nothing.
  m->OnFrame(Id(10), Frame(PingMessage{1, {{Id(2), 0, MemberState::kSuspect, "", Id(10)}}}), now_);
  Take(*m);
  EXPECT_EQ(*m->SuspicionDeadline(Id(2)), prev);
  // At the deadline it is declared dead, dropped from the view, and the news
  // is queued for dissemination.
  now_ = prev;
  m->Tick(now_);
  e = Take(*m);
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kDown, Id(2)));
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kNeighborDown, Id(2)));
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kDead);
  EXPECT_TRUE(m->ActiveView().empty());
}

TEST_F(MembershipTest, RefutationWithHigherIncarnation) {
  auto m = Make();
  ASSERT_EQ(m->incarnation(), 0u);
  // We are suspected at our incarnation: the ack carries our refutation.
  m->OnFrame(Id(2), Frame(PingMessage{3, {{Id(1), 0, MemberState::kSuspect, "", Id(2)}}}), now_);
  Effects e = Take(*m);
  EXPECT_EQ(m->incarnation(), 1u);
  auto acks = e.Sends(T::kAck);
  ASSERT_EQ(acks.size(), 1u);
  auto ack = std::get<AckMessage>(Decoded(acks[0]));
  bool refuted = false;
  for (const auto& u : ack.updates) {
    refuted |= u.id == Id(1) && u.state == MemberState::kAlive && u.incarnation == 1;
  }
  EXPECT_TRUE(refuted);
  // Stale news (older incarnation) does not bump it again.
  m->OnFrame(Id(2), Frame(PingMessage{4, {{Id(1), 0, MemberState::kSuspect, "", Id(2)}}}), now_);
  Take(*m);
  EXPECT_EQ(m->incarnation(), 1u);
}

TEST_F(MembershipTest, AliveWithHigherIncarnationEndsASuspicion) {
  auto m = Make();
  AddNeighbor(*m, 2);
  m->OnFrame(Id(3), Frame(PingMessage{1, {{Id(2), 0, MemberState::kSuspect, "", Id(3)}}}), now_);
  EXPECT_TRUE(Take(*m).HasEvent(MembershipEvent::kSuspect, Id(2)));
  // Same incarnation alive does not clear it; a higher one does.
  m->OnFrame(Id(3), Frame(PingMessage{1, {{Id(2), 0, MemberState::kAlive, "", Id(2)}}}), now_);
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kSuspect);
  m->OnFrame(Id(3), Frame(PingMessage{1, {{Id(2), 1, MemberState::kAlive, "", Id(2)}}}), now_);
  EXPECT_TRUE(Take(*m).HasEvent(MembershipEvent::kMemberUp, Id(2)));
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kAlive);
  // Dead at a lower incarnation is stale.
  m->OnFrame(Id(3), Frame(PingMessage{1, {{Id(2), 0, MemberState::kDead, "", Id(3)}}}), now_);
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kAlive);
}

TEST_F(MembershipTest, DeadNewsIsPiggybackedABoundedNumberOfTimes) {
  auto m = Make();
  AddNeighbor(*m, 2);
  m->OnFrame(Id(2), Frame(PingMessage{1, {{Id(9), 0, MemberState::kDead, "", Id(2)}}}), now_);
  Effects e = Take(*m);
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kDown, Id(9)));
  EXPECT_EQ(m->StateOf(Id(9)), MemberState::kDead);
  int carried = 0;
  for (const auto& a : e.Sends(T::kAck)) {  // the ack to the teller carries it too
    for (const auto& u : AckUpdates(a)) carried += u.id == Id(9);
  }
  for (int i = 0; i < 200; ++i) {
    m->OnFrame(Id(2), Frame(PingMessage{static_cast<uint64_t>(i), {}}), now_);
    for (const auto& a : Take(*m).Sends(T::kAck)) {
      for (const auto& u : AckUpdates(a)) {
        carried += u.id == Id(9) && u.state == MemberState::kDead;
      }
    }
  }
  const size_t n = m->ClusterSizeEstimate();
  const int limit =
      static_cast<int>(o_.retransmit_mult * std::ceil(std::log10(static_cast<double>(n) + 1)));
  EXPECT_EQ(carried, limit);
  // The same news again is not re-queued.
  m->OnFrame(Id(2), Frame(PingMessage{1, {{Id(9), 0, MemberState::kDead, "", Id(2)}}}), now_);
  carried = 0;
  for (const auto& a : Take(*m).Sends(T::kAck)) {
    for (const auto& u : AckUpdates(a)) carried += u.id == Id(9);
  }
  EXPECT_EQ(carried, 0);
}

TEST_F(MembershipTest, LeaveTellsNeighborsAndStopsEverything) {
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  m->Leave(now_);
  Effects e = Take(*m);
  EXPECT_EQ(e.Sends(T::kLeave).size(), 2u);
  EXPECT_TRUE(e.Has(Kind::kDisconnect, Id(2)));
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kNeighborDown, Id(3)));
  EXPECT_TRUE(m->left());
  EXPECT_TRUE(m->ActiveView().empty());
  m->OnFrame(Id(2), Frame(PingMessage{1, {}}), now_);
  m->Tick(now_ + 100000);
  EXPECT_TRUE(m->TakeEffects().empty());
  EXPECT_EQ(m->NextTimeout(now_), std::numeric_limits<TimeMs>::max());
}

TEST_F(MembershipTest, LeaveFromANeighborIsReportedAndDisseminated) {
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  m->OnFrame(Id(2), Frame(LeaveMessage{0}), now_);
  Effects e = Take(*m);
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kLeft, Id(2)));
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kNeighborDown, Id(2)));
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kLeft);
  m->OnFrame(Id(3), Frame(PingMessage{1, {}}), now_);
  bool carried = false;
  for (const auto& a : Take(*m).Sends(T::kAck)) {
    for (const auto& u : AckUpdates(a)) {
      carried |= u.id == Id(2) && u.state == MemberState::kLeft;
    }
  }
  EXPECT_TRUE(carried);
}

TEST_F(MembershipTest, MalformedFramesAreCountedAndIgnored) {
  auto m = Make();
  AddNeighbor(*m, 2);
  m->OnFrame(Id(2), "\x92\x17", now_);
  m->OnFrame(Id(2), std::string(10, '\xff'), now_);
  EXPECT_EQ(m->stats().malformed_frames, 2u);
  EXPECT_TRUE(m->TakeEffects().empty());
  EXPECT_EQ(m->ActiveView().size(), 1u);
}

TEST_F(MembershipTest, NextTimeoutIsNeverInThePast) {
  Membership idle(Id(1), "me", o_, 1);
  EXPECT_EQ(idle.NextTimeout(now_), std::numeric_limits<TimeMs>::max());
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  for (int i = 0; i < 500; ++i) {
    const TimeMs t = m->NextTimeout(now_);
    ASSERT_GE(t, now_);
    now_ = t;
    m->Tick(now_);
    m->TakeEffects();
    // Everything due at `now_` was handled: the next deadline is later.
    ASSERT_GT(m->NextTimeout(now_), now_) << "iteration " << i;
  }
}

// ---------------------------------------------------------------------------
// Hostile peers

// Ids beyond Id(n)'s 256: distinct for n < 65536.
FeedId Big(int n) {
  FeedId id;
  id.mutable_bytes().fill(0xAB);
  id.mutable_bytes()[0] = static_cast<uint8_t>(n & 0xff);
  id.mutable_bytes()[1] = static_cast<uint8_t>(n >> 8);
  return id;
}

// Acks every ping `m` sent to one of `answer` (the peers are alive).
void AnswerPings(Membership& m, const Effects& e, const std::vector<FeedId>& answer, TimeMs now) {
  for (const auto& s : e.Sends(T::kPing)) {
    if (std::find(answer.begin(), answer.end(), s.peer) == answer.end()) continue;
    m.OnFrame(s.peer, Frame(AckMessage{std::get<PingMessage>(Decoded(s)).seq, {}}), now);
  }
}

TEST_F(MembershipTest, ALieThatAMemberIsDeadOnlyMakesItSuspect) {
  auto m = Make();
  AddNeighbor(*m, 2);  // the member lied about
  AddNeighbor(*m, 3);  // the liar
  m->OnFrame(Id(3), Frame(PingMessage{7, {{Id(2), 0, MemberState::kDead, "", Id(3)}}}), now_);
  Effects e = Take(*m);
  EXPECT_FALSE(e.HasEvent(MembershipEvent::kDown, Id(2)));
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kSuspect, Id(2)));
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kSuspect);
  // On the next tick it asks the member itself, telling it it is suspected.
  now_ += 1;
  m->Tick(now_);
  e = Take(*m);
  const FeedId two = Id(2);
  auto pings = e.Sends(T::kPing, &two);
  ASSERT_EQ(pings.size(), 1u);
  const PingMessage ping = std::get<PingMessage>(Decoded(pings[0]));
  ASSERT_FALSE(ping.updates.empty());
  EXPECT_EQ(ping.updates[0].id, Id(2));
  EXPECT_EQ(ping.updates[0].state, MemberState::kSuspect);
  // The member refutes in its ack.
  m->OnFrame(Id(2), Frame(AckMessage{ping.seq, {{Id(2), 1, MemberState::kAlive, "addr-2", Id(2)}}}),
             now_);
  e = Take(*m);
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kAlive);
  // Ten seconds later (many suspicion timeouts) nobody was declared dead and
  // the member is still a neighbour.
  const TimeMs end = now_ + 10000;
  while (now_ < end) {
    now_ = std::max(now_ + 1, m->NextTimeout(now_));
    m->Tick(now_);
    e = Take(*m);
    EXPECT_FALSE(e.HasEvent(MembershipEvent::kDown, Id(2)));
    AnswerPings(*m, e, {Id(2), Id(3)}, now_);
    Take(*m);
  }
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kAlive);
  EXPECT_EQ(m->stats().declared_dead, 0u);
  auto view = m->ActiveView();
  EXPECT_NE(std::find(view.begin(), view.end(), Id(2)), view.end());
}

TEST_F(MembershipTest, AHearsayLeaveIsCheckedButTheMembersOwnIsNot) {
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  m->OnFrame(Id(3), Frame(PingMessage{7, {{Id(2), 0, MemberState::kLeft, "", Id(2)}}}), now_);
  Effects e = Take(*m);
  EXPECT_FALSE(e.HasEvent(MembershipEvent::kLeft, Id(2)));
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kSuspect);
  // The member's own leave message is first-hand.
  m->OnFrame(Id(2), Frame(LeaveMessage{0}), now_);
  e = Take(*m);
  EXPECT_TRUE(e.HasEvent(MembershipEvent::kLeft, Id(2)));
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kLeft);
}

TEST_F(MembershipTest, AnUnansweredVerdictIsAdoptedAfterOurOwnPings) {
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  const TimeMs told = now_;
  m->OnFrame(Id(3), Frame(PingMessage{7, {{Id(2), 0, MemberState::kDead, "", Id(3)}}}), now_);
  Take(*m);
  // Node 2 is really gone: it answers nothing.
  int pings_to_2 = 0;
  TimeMs down_at = -1;
  while (down_at < 0 && now_ < told + 10000) {
    now_ = std::max(now_ + 1, m->NextTimeout(now_));
    m->Tick(now_);
    Effects e = Take(*m);
    const FeedId two = Id(2);
    pings_to_2 += static_cast<int>(e.Sends(T::kPing, &two).size());
    if (e.HasEvent(MembershipEvent::kDown, Id(2))) down_at = now_;
    AnswerPings(*m, e, {Id(3)}, now_);
    Take(*m);
  }
  ASSERT_GE(down_at, 0);
  EXPECT_GE(pings_to_2, 2);
  // Two direct pings, one probe timeout apart, then the verdict.
  EXPECT_GE(down_at, told + o_.probe_timeout_ms);
  EXPECT_LE(down_at, told + 3 * o_.probe_timeout_ms);
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kDead);
}

TEST_F(MembershipTest, ForgedConfirmationsCannotGoBelowTheBaseTimeout) {
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  // The liar claims 40 independent suspecters.
  for (int i = 0; i < 40; ++i) {
    m->OnFrame(Id(3), Frame(PingMessage{1, {{Id(2), 0, MemberState::kSuspect, "", Big(i)}}}), now_);
  }
  Take(*m);
  ASSERT_EQ(m->StateOf(Id(2)), MemberState::kSuspect);
  const size_t n = m->ClusterSizeEstimate();
  const double base = std::max(1.0, o_.suspicion_mult * std::log10(n + 1.0)) * o_.probe_interval_ms;
  EXPECT_GE(*m->SuspicionDeadline(Id(2)), now_ + static_cast<TimeMs>(base));
  // The member's refutation ends it.
  m->OnFrame(Id(2), Frame(PingMessage{2, {{Id(2), 1, MemberState::kAlive, "addr-2", Id(2)}}}),
             now_);
  Take(*m);
  EXPECT_EQ(m->StateOf(Id(2)), MemberState::kAlive);
}

TEST_F(MembershipTest, SuspectersTellEachOtherDirectly) {
  auto m = Make();
  AddNeighbor(*m, 2);
  for (uint8_t by : {10, 11}) m->OnFrame(Id(by), Frame(PingMessage{0, {}}), now_);
  Take(*m);
  auto ping = NextPing(*m);
  ASSERT_TRUE(ping);
  now_ += o_.probe_interval_ms;  // unanswered: we suspect 2 ourselves
  m->Tick(now_);
  ASSERT_EQ(m->StateOf(Id(2)), MemberState::kSuspect);
  Take(*m);
  // Another suspecter's news reaches us: we tell it directly of ours.
  m->OnFrame(Id(10), Frame(PingMessage{1, {{Id(2), 0, MemberState::kSuspect, "", Id(10)}}}), now_);
  Effects e = Take(*m);
  const FeedId ten = Id(10), eleven = Id(11);
  auto to10 = e.Sends(T::kPing, &ten);
  ASSERT_EQ(to10.size(), 1u);
  auto updates = std::get<PingMessage>(Decoded(to10[0])).updates;
  auto has = [&](const std::vector<MemberUpdate>& us, uint8_t by) {
    return std::any_of(us.begin(), us.end(), [&](const MemberUpdate& u) {
      return u.id == Id(2) && u.state == MemberState::kSuspect && u.by == Id(by);
    });
  };
  EXPECT_TRUE(has(updates, 1));
  EXPECT_TRUE(has(updates, 10));
  // A third one: both others hear of all three.
  m->OnFrame(Id(11), Frame(PingMessage{1, {{Id(2), 0, MemberState::kSuspect, "", Id(11)}}}), now_);
  e = Take(*m);
  for (const FeedId* to : {&ten, &eleven}) {
    auto sent = e.Sends(T::kPing, to);
    ASSERT_EQ(sent.size(), 1u);
    auto us = std::get<PingMessage>(Decoded(sent[0])).updates;
    EXPECT_TRUE(has(us, 1) && has(us, 10) && has(us, 11));
  }
  // A repeated confirmation sends nothing more.
  m->OnFrame(Id(11), Frame(PingMessage{1, {{Id(2), 0, MemberState::kSuspect, "", Id(11)}}}), now_);
  e = Take(*m);
  EXPECT_TRUE(e.Sends(T::kPing, &ten).empty());
}

// Under NodeCore a frame to a member needs an open connection or an address
// to dial. Suspicion news used to travel without the member's address, so a
// node that first heard of the member through it could not send its
// last-chance pings, and declared a live member dead (docs/membership.md,
// false positives).
TEST_F(MembershipTest, SuspicionNewsCarriesTheMembersAddress) {
  auto m = Make();
  AddNeighbor(*m, 2);
  AddNeighbor(*m, 3);
  auto ping = NextPing(*m);
  ASSERT_TRUE(ping);
  const FeedId target = ping->peer;
  const FeedId other = target == Id(2) ? Id(3) : Id(2);
  const std::string address = target == Id(2) ? "addr-2" : "addr-3";
  now_ += o_.probe_interval_ms;  // unanswered, the ping-req too: we suspect it
  m->Tick(now_);
  ASSERT_EQ(m->StateOf(target), MemberState::kSuspect);
  Take(*m);
  m->OnFrame(other, Frame(PingMessage{7, {}}), now_);
  Effects e = Take(*m);
  auto acks = e.Sends(T::kAck, &other);
  ASSERT_EQ(acks.size(), 1u);
  bool found = false;
  for (const MemberUpdate& u : AckUpdates(acks[0])) {
    if (u.id != target || u.state != MemberState::kSuspect) continue;
    found = true;
    EXPECT_EQ(u.address, address);
  }
  EXPECT_TRUE(found) << "our suspicion is not piggybacked";
}

TEST_F(MembershipTest,
       AMemberFirstHeardOfThroughASuspicionIsPingedAtItsAddress) {
  auto m = Make();
  AddNeighbor(*m, 2);
  const FeedId nine = Id(9);
  m->OnFrame(Id(2),
             Frame(PingMessage{
                 1, {{nine, 0, MemberState::kSuspect, "addr-9", Id(2)}}}),
             now_);
  Take(*m);
  ASSERT_EQ(m->StateOf(nine), MemberState::kSuspect);
  EXPECT_EQ(m->AddressOf(nine), "addr-9");
  // Hearsay only: when the timeout runs out we ask the member directly.
  std::optional<TimeMs> deadline = m->SuspicionDeadline(nine);
  ASSERT_TRUE(deadline);
  now_ = *deadline;
  m->Tick(now_);
  auto pings = Take(*m).Sends(T::kPing, &nine);
  ASSERT_EQ(pings.size(), 1u);
  EXPECT_EQ(pings[0].address, "addr-9");
}

TEST_F(MembershipTest, AnyNewsFillsAMissingAddressButOnlyTheMemberReplacesOne) {
  auto m = Make();
  AddNeighbor(*m, 2);
  const FeedId nine = Id(9);
  // It dialled us: known, but with no address.
  m->OnFrame(nine, Frame(PingMessage{1, {}}), now_);
  Take(*m);
  ASSERT_EQ(m->StateOf(nine), MemberState::kAlive);
  EXPECT_EQ(m->AddressOf(nine), "");
  // Its join news arrives later, at the incarnation we already hold.
  m->OnFrame(
      Id(2),
      Frame(PingMessage{2, {{nine, 0, MemberState::kAlive, "addr-9", nine}}}),
      now_);
  EXPECT_EQ(m->AddressOf(nine), "addr-9");
  // A third party's claim does not replace it.
  m->OnFrame(Id(2),
             Frame(PingMessage{
                 3, {{nine, 0, MemberState::kSuspect, "elsewhere", Id(2)}}}),
             now_);
  EXPECT_EQ(m->AddressOf(nine), "addr-9");
}

// The probe cycle's non-neighbour is probed once; if that probe failed, it
// was never pinged again, and a suspicion nobody confirmed ran its full
// timeout on gossip alone (the last false positives of the 500-member run).
TEST_F(MembershipTest, AMemberSuspectedFirstHandIsPingedUntilItRefutes) {
  auto m = Make();
  AddNeighbor(*m, 2);
  const FeedId three = Id(3);
  m->OnFrame(
      Id(2),
      Frame(PingMessage{1, {{three, 0, MemberState::kAlive, "addr-3", three}}}),
      now_);
  Take(*m);
  // Neighbour 2 answers its probes; 3 comes last in a cycle.
  std::optional<MembershipEffect> ping;
  for (int i = 0; i < 20; ++i) {
    ping = NextPing(*m);
    ASSERT_TRUE(ping);
    if (ping->peer == three) break;
    m->OnFrame(ping->peer,
               Frame(AckMessage{std::get<PingMessage>(Decoded(*ping)).seq, {}}),
               now_);
    Take(*m);
  }
  ASSERT_EQ(ping->peer, three) << "3 never probed as the non-neighbour";
  now_ += o_.probe_interval_ms;  // unanswered, the ping-req to 2 too
  m->Tick(now_);
  ASSERT_EQ(m->StateOf(three), MemberState::kSuspect);
  std::optional<TimeMs> deadline = m->SuspicionDeadline(three);
  ASSERT_TRUE(deadline);
  Take(*m);
  // Well before the timeout we ping it again, telling it it is suspected.
  std::optional<MembershipEffect> again;
  const TimeMs until = now_ + 2 * o_.probe_interval_ms;
  ASSERT_LT(until, *deadline);
  while (!again && now_ < until) {
    now_ = std::max(now_ + 1, m->NextTimeout(now_));
    m->Tick(now_);
    auto to3 = Take(*m).Sends(T::kPing, &three);
    if (!to3.empty()) again = to3[0];
  }
  ASSERT_TRUE(again)
      << "no ping to the member we suspect within 2 probe intervals";
  EXPECT_EQ(again->address, "addr-3");
  const PingMessage p = std::get<PingMessage>(Decoded(*again));
  ASSERT_FALSE(p.updates.empty());
  EXPECT_EQ(p.updates[0].id, three);
  EXPECT_EQ(p.updates[0].state, MemberState::kSuspect);
  // Its ack carries the refutation.
  m->OnFrame(three,
             Frame(AckMessage{
                 p.seq, {{three, 1, MemberState::kAlive, "addr-3", three}}}),
             now_);
  EXPECT_EQ(m->StateOf(three), MemberState::kAlive);
}

TEST_F(MembershipTest, OnePeerCannotFillTheMemberTable) {
  o_.max_members = 64;  // one teller may introduce 64 / 4 = 16
  auto m = Make();
  AddNeighbor(*m, 3);  // the hostile peer
  std::vector<FeedId> claimed;
  size_t connects = 0;
  auto feed = [&](const MembershipMessage& msg) {
    m->OnFrame(Id(3), Frame(msg), now_);
    Effects e = Take(*m);
    for (const auto& x : e.all) connects += x.kind == Kind::kConnect;
  };
  // Piggybacked alive news.
  PingMessage alive{1, {}};
  for (int i = 0; i < 32; ++i) {
    alive.updates.push_back({Big(i), 0, MemberState::kAlive, "x", Big(i)});
    claimed.push_back(Big(i));
  }
  feed(alive);
  // A shuffle ending here and a shuffle reply.
  ShuffleMessage shuffle{Big(1000), "x", 0, {}};
  claimed.push_back(Big(1000));
  for (int i = 100; i < 160; ++i) {
    shuffle.samples.push_back({Big(i), "x"});
    claimed.push_back(Big(i));
  }
  feed(shuffle);
  ShuffleReplyMessage reply;
  for (int i = 200; i < 264; ++i) {
    reply.samples.push_back({Big(i), "x"});
    claimed.push_back(Big(i));
  }
  feed(reply);
  // Forward joins ending here (each asks us to connect).
  for (int i = 300; i < 340; ++i) {
    feed(ForwardJoinMessage{Big(i), "x", 0});
    claimed.push_back(Big(i));
  }
  // Piggybacked dead news about unknown members.
  PingMessage dead{2, {}};
  for (int i = 400; i < 432; ++i) {
    dead.updates.push_back({Big(i), 0, MemberState::kDead, "", Id(3)});
    claimed.push_back(Big(i));
  }
  feed(dead);
  auto known = [&](const std::vector<FeedId>& ids) {
    return std::count_if(ids.begin(), ids.end(),
                         [&](const FeedId& id) { return m->StateOf(id).has_value(); });
  };
  EXPECT_EQ(known(claimed), 16);
  EXPECT_LE(connects, 2 * o_.active_view_size);
  // An honest peer still gets its news in.
  AddNeighbor(*m, 4);
  std::vector<FeedId> honest;
  PingMessage news{3, {}};
  for (int i = 500; i < 510; ++i) {
    news.updates.push_back({Big(i), 0, MemberState::kAlive, "y", Big(i)});
    honest.push_back(Big(i));
  }
  m->OnFrame(Id(4), Frame(news), now_);
  Take(*m);
  EXPECT_EQ(known(honest), 10);
  // A member the liar introduced that talks to us frees one of its slots.
  m->OnFrame(Id(3), Frame(PingMessage{4, {{Big(700), 0, MemberState::kAlive, "x", Big(700)}}}),
             now_);
  EXPECT_FALSE(m->StateOf(Big(700)));
  m->OnFrame(Big(0), Frame(PingMessage{5, {}}), now_);
  m->OnFrame(Id(3), Frame(PingMessage{4, {{Big(700), 0, MemberState::kAlive, "x", Big(700)}}}),
             now_);
  EXPECT_TRUE(m->StateOf(Big(700)));
  Take(*m);
  // Many tellers together stop at max_members.
  for (int p = 0; p < 16; ++p) {
    PingMessage more{6, {}};
    for (int i = 0; i < 32; ++i) {
      const FeedId id = Big(1100 + 32 * p + i);
      more.updates.push_back({id, 0, MemberState::kAlive, "z", id});
      claimed.push_back(id);
    }
    m->OnFrame(Big(3000 + p), Frame(more), now_);
    Take(*m);
  }
  size_t members = m->ClusterSizeEstimate() - 1;  // alive or suspect, self excluded
  EXPECT_LE(members, o_.max_members);
  EXPECT_GE(members, o_.max_members - 16);  // the dead ones take the rest
}

TEST_F(MembershipTest, PingReqRelaysAreBounded) {
  auto m = Make();
  AddNeighbor(*m, 3);
  size_t pings = 0;
  for (int i = 0; i < 200; ++i) {
    m->OnFrame(Id(3), Frame(PingReqMessage{static_cast<uint64_t>(i), Big(i), "x", {}}), now_);
    pings += Take(*m).Sends(T::kPing).size();
  }
  EXPECT_LE(pings, 64u);
  EXPECT_GE(pings, 1u);
  // Once they time out, relays are accepted again.
  now_ += o_.probe_timeout_ms;
  m->Tick(now_);
  Take(*m);
  m->OnFrame(Id(3), Frame(PingReqMessage{999, Big(999), "x", {}}), now_);
  EXPECT_EQ(Take(*m).Sends(T::kPing).size(), 1u);
}

}  // namespace
}  // namespace plumlog::replication
