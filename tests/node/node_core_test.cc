// NodeCore driven by hand, one event at a time: the peer and connection
// policy (stale connections, simultaneous dials, replication peers, dial
// backoff, keepalives, slow peers, limits), ingestion as an effect with
// reads held while it is behind, the replication policy (follows as
// contact entries, hops, blocks kept in the store), and store errors as
// events. No sockets, no clock: the test says what time it is.
#include "node/node_core.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "crypto/keypair.h"
#include "node/contact.h"
#include "replication/membership_message.h"
#include "replication/message.h"
#include "replication/note.h"
#include "storage/memory_store.h"

namespace plumlog::node {
namespace {

using replication::EncodeMessage;
using replication::EntriesMessage;
using replication::MessageType;
using replication::NotesMessage;

crypto::KeyPair Key(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return crypto::KeyPair::FromSeed(seed);
}

PeerAddress AddressOf(uint8_t b, uint16_t port = 9000) {
  PeerAddress a;
  a.host = "10.0.0." + std::to_string(b);
  a.port = port;
  a.id = Key(b).public_key();
  return a;
}

constexpr TimeMs kT0 = 100'000;

// One NodeCore over a MemoryStore. Store writes the core asks for are
// carried out at once (ingests only when ingest_now), as the daemon's
// worker would, and their answers handed back.
class Harness {
 public:
  explicit Harness(NodeOptions options = Options(), uint8_t seed = 1,
                   std::shared_ptr<storage::MemoryStore> store = nullptr)
      : store_(store ? std::move(store)
                     : std::make_shared<storage::MemoryStore>(
                           Key(seed), storage::MemoryStoreOptions())) {
    store_->AddListener(&listener_);
    core_ =
        std::make_unique<NodeCore>(store_.get(), "10.0.0.1:9000", options, 7);
  }
  ~Harness() { store_->RemoveListener(&listener_); }

  static NodeOptions Options() {
    NodeOptions o = NodeOptions::Test();
    o.membership = false;
    // The peers here are hand-driven frames that never answer a
    // reconciliation: first contacts announce every feed at once (the
    // simulator tests run reconciliation between NodeCores).
    o.replication.reconcile = false;
    return o;
  }

  NodeCore& core() { return *core_; }
  storage::MemoryStore& store() { return *store_; }
  std::shared_ptr<storage::MemoryStore> shared_store() { return store_; }
  const FeedId& id() const { return store_->local_id(); }

  // Handles `event` at `now`; returns every effect (store writes included,
  // already carried out) and keeps the verdict.
  std::vector<Effect> Post(Event event, TimeMs now) {
    now_ = now;
    last_status_ = core_->Handle(std::move(event), now);
    std::vector<Effect> out;
    Collect(&out);
    return out;
  }
  const Status& last_status() const { return last_status_; }
  // Answers the ingests held back (ingest_now == false).
  std::vector<Effect> FinishIngests() {
    std::vector<Effect> out;
    std::vector<Ingest> held;
    held.swap(held_);
    for (Ingest& in : held) {
      IngestResult r = store_->Ingest(std::move(in.entries));
      DeliverStored(&out);
      (void)core_->Handle(IngestDone{in.request, r}, now_);
      Collect(&out);
    }
    return out;
  }
  bool ingest_now = true;

 private:
  void DeliverStored(std::vector<Effect>* out) {
    if (listener_.entries.empty()) return;
    StoreEntries se;
    se.entries.swap(listener_.entries);
    (void)core_->Handle(std::move(se), now_);
    Collect(out);
  }
  void Collect(std::vector<Effect>* out) {
    std::vector<Effect> effects = core_->TakeEffects();
    for (Effect& e : effects) {
      if (auto* in = std::get_if<Ingest>(&e)) {
        Ingest copy = *in;
        out->push_back(std::move(e));
        if (!ingest_now) {
          held_.push_back(std::move(copy));
          continue;
        }
        IngestResult r = store_->Ingest(std::move(copy.entries));
        DeliverStored(out);
        (void)core_->Handle(IngestDone{copy.request, r}, now_);
        Collect(out);
        continue;
      }
      if (auto* a = std::get_if<AppendContent>(&e)) {
        EXPECT_TRUE(store_->Append(a->content).ok());
      } else if (auto* b = std::get_if<SaveBlock>(&e)) {
        EXPECT_TRUE(store_->SaveBlock(b->feed, b->blocked).ok());
      } else if (auto* d = std::get_if<DeleteFeed>(&e)) {
        EXPECT_TRUE(store_->DeleteFeed(d->feed).ok());
      } else if (auto* pc = std::get_if<SavePeerClock>(&e)) {
        EXPECT_TRUE(store_->SavePeerClock(pc->peer, pc->clock).ok());
      } else if (std::get_if<ConfirmOwnFeed>(&e)) {
        EXPECT_TRUE(store_->ConfirmOwnFeed().ok());
      }
      out->push_back(std::move(e));
      DeliverStored(out);
    }
  }

  std::shared_ptr<storage::MemoryStore> store_;
  struct Listener : StoreListener {
    std::vector<Entry> entries;
    void OnEntry(const Entry& e) override { entries.push_back(e); }
  } listener_;
  std::unique_ptr<NodeCore> core_;
  std::vector<Ingest> held_;
  TimeMs now_ = 0;
  Status last_status_;
};

// ---- effect helpers ----

template <typename T>
std::vector<T> All(const std::vector<Effect>& effects) {
  std::vector<T> out;
  for (const Effect& e : effects) {
    if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
  }
  return out;
}

std::vector<ConnId> Closed(const std::vector<Effect>& effects) {
  std::vector<ConnId> out;
  for (const Close& c : All<Close>(effects)) out.push_back(c.conn);
  return out;
}

// Frames of `type` sent on `conn`.
size_t SentOn(const std::vector<Effect>& effects, ConnId conn,
              MessageType type) {
  size_t n = 0;
  for (const Send& s : All<Send>(effects)) {
    n += s.conn == conn && s.frame.size() > 1 &&
         static_cast<uint8_t>(s.frame[1]) == static_cast<uint8_t>(type);
  }
  return n;
}

bool HasReport(const std::vector<Effect>& effects, ReportKind kind,
               std::string_view text) {
  for (const Report& r : All<Report>(effects)) {
    if (r.kind == kind && r.text.find(text) != std::string::npos) return true;
  }
  return false;
}

// An inbound connection from `peer`, accepted and open.
ConnId OpenInbound(Harness& h, const FeedId& peer, TimeMs now,
                   std::vector<Effect>* fx = nullptr) {
  const ConnId c = h.core().NewConnectionId();
  (void)h.Post(ConnectionAccepted{c, "10.0.0.99:40000"}, now);
  std::vector<Effect> e = h.Post(ConnectionOpened{c, peer}, now);
  if (fx) *fx = std::move(e);
  return c;
}

std::string NotesFrame() { return EncodeMessage(NotesMessage{}); }

// ---- connections ----

TEST(NodeCoreTest, AReconnectReplacesTheStaleConnectionAndItsCloseIsIgnored) {
  Harness h;
  const FeedId p = Key(2).public_key();
  (void)h.Post(Start{}, kT0);
  const ConnId old = OpenInbound(h, p, kT0);
  // The peer's notes make it a replication peer: ours go back on `old`.
  std::vector<Effect> fx = h.Post(FrameReceived{old, NotesFrame()}, kT0);
  EXPECT_EQ(SentOn(fx, old, MessageType::kNotes), 1u);
  ASSERT_EQ(h.core().PrimaryConnection(p), old);

  // Much later the peer connects again: its side of `old` is gone. The
  // replicator starts over on the new connection (it still counts as a
  // replication peer: it asked before).
  std::vector<Effect> open;
  const ConnId fresh = OpenInbound(h, p, kT0 + 60'000, &open);
  EXPECT_EQ(Closed(open), std::vector<ConnId>{old});
  EXPECT_TRUE(HasReport(open, ReportKind::kConnection,
                        "replacing the stale connection"));
  EXPECT_EQ(h.core().PrimaryConnection(p), fresh);
  EXPECT_EQ(SentOn(open, fresh, MessageType::kNotes), 1u);
  // The driver's report of the old one closing changes nothing.
  fx = h.Post(ConnectionClosed{old, CloseReason::kLocal, Status::OK()},
              kT0 + 60'001);
  EXPECT_TRUE(Closed(fx).empty());
  EXPECT_EQ(h.core().PrimaryConnection(p), fresh);
  // Frames still arriving on the old id are ignored; the new one works.
  fx = h.Post(FrameReceived{old, NotesFrame()}, kT0 + 60'002);
  EXPECT_TRUE(All<Send>(fx).empty());
  EXPECT_EQ(h.core().Connections().size(), 1u);
  EXPECT_TRUE(h.core().Connections()[0].replicating);
}

TEST(NodeCoreTest, SimultaneousDialsKeepBothAndTheSurvivorTakesOver) {
  Harness h;
  const PeerAddress p = AddressOf(2);
  std::vector<Effect> fx = h.Post(AddPeer{p, true}, kT0);
  fx = h.Post(Start{}, kT0);
  std::vector<Dial> dials = All<Dial>(fx);
  ASSERT_EQ(dials.size(), 1u);
  EXPECT_EQ(dials[0].address, "10.0.0.2:9000");
  const ConnId out = dials[0].conn;
  // Configured: a replication peer as soon as it is open.
  fx = h.Post(ConnectionOpened{out, p.id}, kT0 + 5);
  EXPECT_EQ(SentOn(fx, out, MessageType::kNotes), 1u);
  // The peer dialled us at the same time: kept as a duplicate, not closed.
  std::vector<Effect> open;
  const ConnId in = OpenInbound(h, p.id, kT0 + 6, &open);
  EXPECT_TRUE(Closed(open).empty());
  EXPECT_EQ(h.core().PrimaryConnection(p.id), out);
  EXPECT_EQ(h.core().Connections().size(), 2u);
  // Ours breaks: the duplicate carries on, both cores start over on it.
  fx = h.Post(ConnectionClosed{out, CloseReason::kSocketError,
                               Status::IOError("reset")},
              kT0 + 100);
  EXPECT_EQ(h.core().PrimaryConnection(p.id), in);
  EXPECT_EQ(SentOn(fx, in, MessageType::kNotes), 1u);
  EXPECT_TRUE(All<Dial>(fx).empty());  // nothing lost: no redial
}

TEST(NodeCoreTest, APeerOnlyReplicatesOnceItSendsNotesOrIsConfigured) {
  NodeOptions o = NodeOptions::Test();  // membership on, empty views
  Harness h(o);
  (void)h.Post(Start{}, kT0);
  const FeedId p = Key(2).public_key();
  std::vector<Effect> open;
  const ConnId c = OpenInbound(h, p, kT0, &open);
  EXPECT_EQ(SentOn(open, c, MessageType::kNotes), 0u);
  EXPECT_FALSE(h.core().Connections()[0].replicating);
  std::vector<Effect> fx = h.Post(FrameReceived{c, NotesFrame()}, kT0 + 1);
  EXPECT_EQ(SentOn(fx, c, MessageType::kNotes), 1u);
  EXPECT_TRUE(h.core().Connections()[0].replicating);
}

TEST(NodeCoreTest, FailedDialsOfAConfiguredPeerBackOffAndDouble) {
  NodeOptions o = Harness::Options();
  o.reconnect_min_ms = 100;
  o.reconnect_max_ms = 1000;
  Harness h(o);
  (void)h.Post(AddPeer{AddressOf(2), true}, kT0);
  std::vector<Effect> fx = h.Post(Start{}, kT0);
  ConnId c = All<Dial>(fx).at(0).conn;
  TimeMs now = kT0;
  TimeMs prev_gap = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const TimeMs failed_at = now + 1;
    fx = h.Post(ConnectionClosed{c, CloseReason::kSocketError,
                                 Status::IOError("refused")},
                failed_at);
    EXPECT_TRUE(All<Dial>(fx).empty()) << "redialled at once";
    // Tick at every deadline the core gives until it dials again.
    std::vector<Dial> dials;
    for (int ticks = 0; dials.empty() && ticks < 100; ++ticks) {
      now = std::max(now + 1, h.core().NextDeadline());
      dials = All<Dial>(h.Post(Tick{}, now));
    }
    ASSERT_EQ(dials.size(), 1u) << attempt;
    const TimeMs gap = now - failed_at;
    const TimeMs base = std::min<TimeMs>(100 << attempt, 1000);
    EXPECT_GE(gap, base * 3 / 4) << attempt;
    EXPECT_LE(gap, base * 5 / 4 + 1) << attempt;
    if (attempt > 0 && base < 1000) {
      EXPECT_GT(gap, prev_gap) << attempt;
    }
    prev_gap = gap;
    c = dials[0].conn;
  }
}

TEST(NodeCoreTest, KeepalivesGoToQuietReplicationPeersOnly) {
  NodeOptions o = Harness::Options();
  o.idle_timeout_ms = 9000;  // keepalive after 3000 ms of silence
  Harness h(o);
  (void)h.Post(Start{}, kT0);
  const ConnId rep = OpenInbound(h, Key(2).public_key(), kT0);
  (void)h.Post(FrameReceived{rep, NotesFrame()}, kT0);
  const ConnId other = OpenInbound(h, Key(3).public_key(), kT0);
  std::vector<Effect> fx = h.Post(Tick{}, kT0 + 2999);
  EXPECT_TRUE(All<Send>(fx).empty());
  EXPECT_LE(h.core().NextDeadline(), kT0 + 3000);
  fx = h.Post(Tick{}, kT0 + 3000);
  EXPECT_EQ(SentOn(fx, rep, MessageType::kNotes), 1u);
  EXPECT_EQ(SentOn(fx, other, MessageType::kNotes), 0u);
  EXPECT_GT(h.core().NextDeadline(), kT0 + 3000);
}

// A repair round to a member we have no connection to and no address for
// goes nowhere: counted in status, not silent.
TEST(NodeCoreTest, FramesForAMemberWithoutAnAddressAreCounted) {
  Harness h;
  (void)h.Post(Start{}, kT0);
  (void)h.Post(SetMembers{{Contact{Key(5).public_key(), ""}}}, kT0);
  TimeMs now = kT0;
  std::vector<Dial> dials;
  for (int i = 0; i < 5; ++i) {
    now += NodeOptions::Test().replication.digest_interval_ms * 2;
    for (const Dial& d : All<Dial>(h.Post(Tick{}, now))) dials.push_back(d);
  }
  EXPECT_TRUE(dials.empty());
  NodeStatus st;
  h.core().FillStatus(&st);
  EXPECT_GE(st.counters.frames_unsendable, 2u);
  // With an address, the member is dialled instead.
  (void)h.Post(SetMembers{{Contact{Key(5).public_key(), "10.9.9.9:9"}}}, now);
  now += NodeOptions::Test().replication.digest_interval_ms * 2;
  EXPECT_EQ(All<Dial>(h.Post(Tick{}, now)).size(), 1u);
}

// A member known only from membership news (a shuffle put it in the
// passive view; we never connected to it, and no membership effect named
// its address) is dialled at the address the member table holds when a
// repair round picks it, not counted unsendable.
TEST(NodeCoreTest, AMemberKnownOnlyFromMembershipNewsIsDialled) {
  NodeOptions o = Harness::Options();
  o.membership = true;
  // P fills the active view (no promotion of M from the passive view), and
  // no probe, ping-req or shuffle of ours names M's address first.
  o.membership_options.active_view_size = 1;
  o.membership_options.indirect_checks = 0;
  o.membership_options.probe_interval_ms = 600'000;
  o.membership_options.probe_timeout_ms = 300'000;
  o.membership_options.shuffle_interval_ms = 600'000;
  Harness h(o);
  (void)h.Post(Start{}, kT0);
  const FeedId p = Key(2).public_key();
  const FeedId m = Key(5).public_key();
  const ConnId c = OpenInbound(h, p, kT0);
  (void)h.Post(FrameReceived{c, replication::EncodeMembershipMessage(
                                    replication::JoinMessage{"10.0.0.2:9000"})},
               kT0);
  replication::ShuffleMessage shuffle;
  shuffle.origin = p;
  shuffle.origin_address = "10.0.0.2:9000";
  shuffle.samples.push_back({m, "10.0.0.5:9000"});
  (void)h.Post(FrameReceived{c, replication::EncodeMembershipMessage(
                                    std::move(shuffle))},
               kT0);
  NodeStatus st;
  h.core().FillStatus(&st);
  ASSERT_EQ(st.passive_view, std::vector<FeedId>{m});
  TimeMs now = kT0;
  std::vector<Dial> dials;
  for (int i = 0; i < 10 && dials.empty(); ++i) {
    now += o.replication.digest_interval_ms;
    dials = All<Dial>(h.Post(Tick{}, now));
  }
  ASSERT_EQ(dials.size(), 1u);
  EXPECT_EQ(dials[0].peer, m);
  EXPECT_EQ(dials[0].address, "10.0.0.5:9000");
  h.core().FillStatus(&st);
  EXPECT_EQ(st.counters.frames_unsendable, 0u);
}

TEST(NodeCoreTest, ASlowPeerIsDisconnectedAndCongestionIsPassedOn) {
  Harness h;
  (void)h.Post(Start{}, kT0);
  const FeedId p = Key(2).public_key();
  const ConnId c = OpenInbound(h, p, kT0);
  (void)h.Post(FrameReceived{c, NotesFrame()}, kT0);
  std::vector<Effect> fx =
      h.Post(SendQueue{c, Harness::Options().send_queue_soft_bytes + 1, true},
             kT0 + 1);
  EXPECT_TRUE(Closed(fx).empty());
  fx = h.Post(SendQueue{c, Harness::Options().send_queue_hard_bytes + 1, true},
              kT0 + 2);
  EXPECT_EQ(Closed(fx), std::vector<ConnId>{c});
  NodeStatus st;
  h.core().FillStatus(&st);
  EXPECT_EQ(st.counters.slow_peer_disconnects, 1u);
  EXPECT_FALSE(h.core().PrimaryConnection(p));
}

TEST(NodeCoreTest, HandshakesBeyondTheLimitEvictTheOldestWithAReason) {
  // max_connections 2: one slot reserved for known peers, one handshake at a
  // time (docs/protocol.md section 18): each new connection evicts the
  // oldest handshake (node/admission.h has the rules in detail).
  NodeOptions o = Harness::Options();
  o.max_connections = 2;
  Harness h(o);
  (void)h.Post(Start{}, kT0);
  const ConnId first = h.core().NewConnectionId();
  EXPECT_TRUE(Closed(h.Post(ConnectionAccepted{first, "10.0.0.9:1"}, kT0)).empty());
  const ConnId second = h.core().NewConnectionId();
  std::vector<Effect> fx = h.Post(ConnectionAccepted{second, "10.0.0.9:2"}, kT0);
  std::vector<Close> closes = All<Close>(fx);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].conn, first);
  EXPECT_EQ(closes[0].reason, CloseReason::kRefused);
  EXPECT_EQ(closes[0].why.code(), Status::Code::kBusy);
  EXPECT_TRUE(HasReport(fx, ReportKind::kConnection, "closing connection from 10.0.0.9:1"));
  NodeStatus st;
  h.core().FillStatus(&st);
  EXPECT_EQ(st.counters.connections_evicted, 1u);
  EXPECT_EQ(st.counters.connections_refused, 0u);
}

TEST(NodeCoreTest, MalformedFramesCloseTheConnectionAndAreCounted) {
  Harness h;
  (void)h.Post(Start{}, kT0);
  const ConnId c = OpenInbound(h, Key(2).public_key(), kT0);
  std::string bad = EncodeMessage(NotesMessage{});
  bad.push_back('\x01');  // trailing byte
  std::vector<Effect> fx = h.Post(FrameReceived{c, bad}, kT0 + 1);
  EXPECT_EQ(Closed(fx), std::vector<ConnId>{c});
  EXPECT_EQ(All<Close>(fx)[0].reason, CloseReason::kMalformedFrame);
  NodeStatus st;
  h.core().FillStatus(&st);
  EXPECT_EQ(st.counters.malformed_frames, 1u);
}

TEST(NodeCoreTest, UnknownConnectionIdsAreIgnored) {
  Harness h;
  (void)h.Post(Start{}, kT0);
  std::vector<Effect> fx =
      h.Post(ConnectionOpened{4242, Key(2).public_key()}, kT0);
  EXPECT_TRUE(fx.empty() || All<Send>(fx).empty());
  fx = h.Post(FrameReceived{4242, NotesFrame()}, kT0);
  EXPECT_TRUE(All<Send>(fx).empty());
  fx = h.Post(ConnectionClosed{4242, CloseReason::kPeerClosed, Status::OK()},
              kT0);
  EXPECT_TRUE(Closed(fx).empty());
  EXPECT_TRUE(h.core().Connections().empty());
}

// ---- ingestion ----

TEST(NodeCoreTest, IngestionIsAnEffectAndReadsPauseWhileItIsBehind) {
  NodeOptions o = Harness::Options();
  o.max_pending_ingest_bytes = size_t{1} << 20;
  Harness h(o);
  h.ingest_now = false;
  (void)h.Post(Start{}, kT0);
  const FeedId p = Key(2).public_key();
  const ConnId c = OpenInbound(h, p, kT0);
  (void)h.Post(FrameReceived{c, NotesFrame()}, kT0);
  // An author's 8,000 entries of ~300 bytes (2.4 MB) in frames of 1,000.
  storage::MemoryStore author(Key(9), storage::MemoryStoreOptions());
  std::vector<Entry> chain;
  for (int i = 0; i < 8000; ++i) {
    chain.push_back(
        author.Append(TextContent(std::string(250, 'a' + i % 26))).value());
  }
  bool paused = false;
  size_t ingests = 0;
  for (size_t k = 0; k < chain.size(); k += 1000) {
    EntriesMessage m;
    m.entries.assign(chain.begin() + k, chain.begin() + k + 1000);
    std::vector<Effect> fx =
        h.Post(FrameReceived{c, EncodeMessage(m)}, kT0 + 1);
    ingests += All<Ingest>(fx).size();
    for (const SetReading& r : All<SetReading>(fx)) {
      EXPECT_EQ(r.conn, c);
      EXPECT_FALSE(r.reading);
      paused = true;
    }
  }
  EXPECT_EQ(ingests, 8u);
  EXPECT_TRUE(paused);
  EXPECT_GT(h.core().pending_ingest_bytes(), o.max_pending_ingest_bytes);
  // Nothing stored until the driver runs the ingests...
  EXPECT_FALSE(h.store().Feed(author.local_id()).ok());
  std::vector<Effect> fx = h.FinishIngests();
  // ...then all of it, and reading resumes.
  EXPECT_EQ(h.store().Feed(author.local_id())->seq, 8000u);
  EXPECT_EQ(h.core().pending_ingest_bytes(), 0u);
  std::vector<SetReading> resumed = All<SetReading>(fx);
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_TRUE(resumed[0].reading);
  EXPECT_EQ(h.core().replicator().stats().entries_stored, 8000u);
}

TEST(NodeCoreTest, NotInSyncWhileReceivedEntriesAreStillBeingIngested) {
  Harness h;
  h.ingest_now = false;
  (void)h.Post(Start{}, kT0);
  storage::MemoryStore author(Key(2), storage::MemoryStoreOptions());
  const FeedId p = author.local_id();
  std::vector<Entry> chain;
  for (int i = 0; i < 5; ++i) chain.push_back(author.Append(TextContent("e")).value());
  const ConnId c = OpenInbound(h, p, kT0);
  // The peer's notes (it holds 5 of its feed), then the entries.
  NotesMessage notes;
  notes.notes.push_back(replication::NoteItem{p, replication::MakeNote(5, false), 0});
  (void)h.Post(FrameReceived{c, EncodeMessage(notes)}, kT0 + 1);
  EntriesMessage m;
  m.entries = chain;
  std::vector<Effect> fx = h.Post(FrameReceived{c, EncodeMessage(m)}, kT0 + 2);
  ASSERT_EQ(All<Ingest>(fx).size(), 1u);
  // Received, not stored: `plumlog sync` must not stop here.
  EXPECT_FALSE(h.core().InSyncWith(p));
  (void)h.FinishIngests();
  EXPECT_EQ(h.store().Feed(p)->seq, 5u);
  EXPECT_TRUE(h.core().InSyncWith(p));
}

// ---- replication policy ----

TEST(NodeCoreTest, FollowsAreContactEntriesAndHopsFollowTheGraph) {
  NodeOptions o = Harness::Options();
  o.replication.replicate_all = false;
  o.replication.hops = 2;
  Harness h(o);
  (void)h.Post(Start{}, kT0);
  storage::MemoryStore a(Key(10), {}), b(Key(11), {}), c(Key(12), {});
  EXPECT_FALSE(h.core().policy().Replicates(a.local_id()));
  std::vector<Effect> fx = h.Post(Follow{a.local_id(), true}, kT0);
  ASSERT_EQ(All<AppendContent>(fx).size(), 1u);
  // The contact entry is in our feed, and the graph read it back.
  std::optional<ContactContent> cc =
      ParseContact(h.store().Get(h.id(), 1).value().content());
  ASSERT_TRUE(cc);
  EXPECT_EQ(cc->contact, a.local_id());
  EXPECT_TRUE(cc->following);
  EXPECT_TRUE(h.core().policy().Replicates(a.local_id()));
  EXPECT_EQ(h.core().Policy().follows, std::vector<FeedId>{a.local_id()});
  // A follows B, B follows C: B is 2 hops away, C 3.
  Entry ab = a.Append(EncodeContact(b.local_id(), true)).value();
  Entry bc = b.Append(EncodeContact(c.local_id(), true)).value();
  ASSERT_TRUE(h.store().Ingest({ab}).ok());
  ASSERT_TRUE(h.store().Ingest({bc}).ok());
  (void)h.Post(StoreEntries{{ab, bc}}, kT0 + 1);
  EXPECT_TRUE(h.core().policy().Replicates(b.local_id()));
  EXPECT_FALSE(h.core().policy().Replicates(c.local_id()));
  // Unfollowing A drops A and B.
  (void)h.Post(Follow{a.local_id(), false}, kT0 + 2);
  EXPECT_FALSE(h.core().policy().Replicates(a.local_id()));
  EXPECT_FALSE(h.core().policy().Replicates(b.local_id()));
  EXPECT_TRUE(h.core().Policy().follows.empty());
  // A new core reads the same graph from the store.
  Harness again(o, 1, h.shared_store());
  EXPECT_FALSE(again.core().policy().Replicates(a.local_id()));
}

TEST(NodeCoreTest, BlocksAreKeptInTheStoreAndBlockedPeersRefused) {
  Harness h;
  (void)h.Post(Start{}, kT0);
  const FeedId x = Key(5).public_key();
  std::vector<Effect> fx = h.Post(Block{x, true, false}, kT0);
  EXPECT_EQ(All<SaveBlock>(fx).size(), 1u);
  EXPECT_FALSE(h.core().policy().Replicates(x));
  EXPECT_EQ(*h.store().LoadBlocks(), std::set<FeedId>{x});
  std::vector<Effect> open;
  const ConnId c = OpenInbound(h, x, kT0 + 1, &open);
  EXPECT_EQ(Closed(open), std::vector<ConnId>{c});
  // A restarted core still blocks it.
  Harness again(Harness::Options(), 1, h.shared_store());
  EXPECT_TRUE(again.core().policy().Blocked(x));
  EXPECT_FALSE(again.core().policy().Replicates(x));
  // Unblocked, it replicates again (replicate_all).
  fx = again.Post(Block{x, false, false}, kT0 + 2);
  EXPECT_TRUE(again.core().policy().Replicates(x));
  EXPECT_TRUE(again.store().LoadBlocks()->empty());
  EXPECT_EQ(again.Post(Block{again.id(), true, false}, kT0 + 3).size(), 0u);
  EXPECT_EQ(again.last_status().code(), Status::Code::kInvalidArgument);
}

TEST(NodeCoreTest, PurgeDeletesTheBlockedFeedsEntries) {
  Harness h;
  storage::MemoryStore author(Key(9), {});
  std::vector<Entry> chain;
  for (int i = 0; i < 3; ++i)
    chain.push_back(author.Append(TextContent("x")).value());
  ASSERT_TRUE(h.store().Ingest(chain).ok());
  (void)h.Post(StoreEntries{chain}, kT0);
  std::vector<Effect> fx =
      h.Post(Block{author.local_id(), true, true}, kT0 + 1);
  EXPECT_EQ(All<DeleteFeed>(fx).size(), 1u);
  EXPECT_FALSE(h.store().Feed(author.local_id()).ok());
  EXPECT_EQ(h.core().replicator().FeedStatuses().size(),
            1u);  // only our own feed
}

// ---- the own-feed hold (docs/storage.md, "Own feed") ----

// Notes from `peer`'s side saying it holds `seq` entries of `feed`.
std::string NoteFrame(const FeedId& feed, uint64_t seq) {
  NotesMessage m;
  m.notes.push_back(replication::NoteItem{feed, replication::MakeNote(seq, false), 0});
  return EncodeMessage(m);
}

TEST(NodeCoreTest, AHeldOwnFeedIsConfirmedOnlyOnceAPeerHoldsNoMoreOfIt) {
  Harness h;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.store().Append(TextContent("mine")).ok());
  h.store().HoldOwnFeed("restored from a backup");
  std::vector<Effect> fx = h.Post(Start{}, kT0);
  bool warned = false;
  for (const Report& r : All<Report>(fx)) {
    warned = warned || (r.level == LogLevel::kWarn &&
                        r.text.find("appends to the own feed are held") != std::string::npos);
  }
  EXPECT_TRUE(warned);
  // A peer that holds 5 of our entries: we are behind, the hold stays.
  const FeedId p = Key(2).public_key();
  const ConnId c = OpenInbound(h, p, kT0);
  fx = h.Post(FrameReceived{c, NoteFrame(h.id(), 5)}, kT0 + 1);
  EXPECT_TRUE(All<ConfirmOwnFeed>(fx).empty());
  EXPECT_TRUE(h.store().OwnFeedHold().has_value());
  EXPECT_FALSE(h.store().Append(TextContent("fork?")).ok());
  // The same peer says 3 (as much as we hold): confirmed once, and the
  // harness carried the effect out on the store.
  fx = h.Post(FrameReceived{c, NoteFrame(h.id(), 3)}, kT0 + 2);
  std::vector<ConfirmOwnFeed> confirms = All<ConfirmOwnFeed>(fx);
  ASSERT_EQ(confirms.size(), 1u);
  EXPECT_EQ(confirms[0].heard, 3u);
  EXPECT_EQ(confirms[0].have, 3u);
  EXPECT_FALSE(h.store().OwnFeedHold().has_value());
  EXPECT_TRUE(h.store().Append(TextContent("now")).ok());
  fx = h.Post(FrameReceived{c, NoteFrame(h.id(), 4)}, kT0 + 3);
  EXPECT_TRUE(All<ConfirmOwnFeed>(fx).empty());
}

// ---- store errors and the timer ----

TEST(NodeCoreTest, StoreErrorsReachTheLogAndStatus) {
  Harness h;
  std::vector<Effect> fx = h.Post(
      StoreFailed{"cannot save a peer clock", Status::NoSpace("disk full")},
      kT0);
  EXPECT_TRUE(HasReport(fx, ReportKind::kStoreError, "disk full"));
  NodeStatus st;
  h.core().FillStatus(&st);
  EXPECT_EQ(st.counters.store_errors, 1u);
  EXPECT_NE(st.last_store_error.find("cannot save a peer clock"),
            std::string::npos);
}

TEST(NodeCoreTest, TheTimerFollowsTheNextDeadline) {
  Harness h;
  std::vector<Effect> fx = h.Post(Start{}, kT0);
  std::vector<SetTimer> timers = All<SetTimer>(fx);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].at, h.core().NextDeadline());
  // Nothing changed: no new SetTimer.
  fx = h.Post(ConnectionClosed{999, CloseReason::kLocal, Status::OK()}, kT0);
  EXPECT_TRUE(All<SetTimer>(fx).empty());
  // At the deadline the next one is set, later.
  fx = h.Post(Tick{}, timers[0].at);
  ASSERT_EQ(All<SetTimer>(fx).size(), 1u);
  EXPECT_GT(All<SetTimer>(fx)[0].at, timers[0].at);
}

}  // namespace
}  // namespace plumlog::node
