// Focused, deterministic tests of the sans-IO Replicator: two or three
// instances (each over its own MemoryStore) driven by hand. Frames are passed
// from one node's TakeEffects() to another's OnFrame() by the test, decoded to
// assert on the exact notes and entries, and time only moves when a test says
// so. The store writes the replicator asks for (Ingest, SavePeerClock,
// StoreForkProof) are carried out at once by the harness, as a driver would,
// and the ingest's answer handed back. Whole-network behaviour lives in
// tests/sim/.
#include "replication/replicator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "crypto/keypair.h"
#include "replication/message.h"
#include "replication/note.h"
#include "format/entry_codec.h"
#include "storage/memory_store.h"

namespace plumlog::replication {
namespace {

constexpr uint32_t kUnknownHops = kMaxHops;  // what the replicator announces for "unknown"

crypto::KeyPair Key(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return crypto::KeyPair::FromSeed(seed);
}

FeedId FakeFeed(uint32_t i) {
  FeedId f;
  auto& b = f.mutable_bytes();
  b.fill(0x5a);
  b[0] = static_cast<uint8_t>(i >> 24);
  b[1] = static_cast<uint8_t>(i >> 16);
  b[2] = static_cast<uint8_t>(i >> 8);
  b[3] = static_cast<uint8_t>(i);
  return f;
}

// An author without a replicator: makes valid chains (and forks) of entries.
class Author {
 public:
  explicit Author(uint8_t seed) : key_(Key(seed)), store_(key_, {}) {}
  const FeedId& id() const { return key_.public_key(); }

  // The next `n` entries of the chain.
  std::vector<Entry> Next(size_t n, size_t content_bytes = 8) {
    std::vector<Entry> out;
    for (size_t i = 0; i < n; ++i) {
      std::string text(content_bytes, static_cast<char>('a' + (count_ % 26)));
      ++count_;
      out.push_back(store_.Append(TextContent(text)).value());
    }
    return out;
  }
  Entry Get(uint64_t seq) const { return store_.Get(id(), seq).value(); }

  // A validly signed entry at `seq` that differs from the chain's (a fork).
  Entry Conflicting(uint64_t seq) const {
    std::string content = TextContent("the other branch");
    EntryCodec::Fields f;
    f.author = id();
    f.seq = seq;
    if (seq > 1) f.previous = Get(seq - 1).id();
    f.lamport = seq;
    f.timestamp_ms = 777;
    f.content = content;
    return EntryCodec::Build(key_, f).value();
  }

 private:
  crypto::KeyPair key_;
  storage::MemoryStore store_;
  size_t count_ = 0;
};

// Queues what the store makes durable; the test hands it to OnStoreEntry, as
// the driver does.
struct QueueListener : StoreListener {
  std::vector<Entry> pending;
  void OnEntry(const Entry& e) override { pending.push_back(e); }
};

// The replication policy of a test node: everything (or a follow list),
// minus refused feeds.
class TestFilter : public FeedFilter {
 public:
  explicit TestFilter(bool all) : all_(all) {}
  bool Replicates(const FeedId& feed) const override {
    return !refused.count(feed) && (all_ || follows.count(feed));
  }
  std::vector<FeedId> Wanted() const override { return {follows.begin(), follows.end()}; }
  std::set<FeedId> follows;
  std::set<FeedId> refused;

 private:
  bool all_;
};

class TestTargets : public DigestTargets {
 public:
  std::vector<FeedId> DigestCandidates() const override { return members; }
  std::vector<FeedId> members;
};

// The tests below drive the notes, plumtree and digest layers frame by frame,
// so their nodes announce feeds on connect and send digests (reconcile
// off); ReplicatorReconcileTest at the end of this file covers
// reconciliation.
ReplicationOptions NotesOptions() {
  ReplicationOptions o = ReplicationOptions::Test();
  o.reconcile = false;
  return o;
}

class Node {
 public:
  explicit Node(uint8_t seed, const ReplicationOptions& options = NotesOptions())
      : key_(Key(seed)), store_(key_, {}), filter_(options.replicate_all) {
    store_.AddListener(&listener_);
    rep_ = std::make_unique<Replicator>(&store_, options, seed, &filter_);
    rep_->SetDigestTargets(&targets_);
  }
  void SetMembers(std::vector<FeedId> members) { targets_.members = std::move(members); }
  // Follows, unfollows, refuses (blocks) `feed` and tells the replicator.
  void Follow(const FeedId& feed, bool follow, TimeMs now) {
    if (follow) {
      filter_.follows.insert(feed);
    } else {
      filter_.follows.erase(feed);
    }
    rep_->OnPolicyChange(feed, now);
  }
  void Refuse(const FeedId& feed, TimeMs now) {
    filter_.refused.insert(feed);
    rep_->OnPolicyChange(feed, now);
  }
  ~Node() { store_.RemoveListener(&listener_); }

  const FeedId& id() const { return store_.local_id(); }
  Replicator& rep() { return *rep_; }
  storage::MemoryStore& store() { return store_; }

  void Drain(TimeMs now) {
    std::vector<Entry> v;
    v.swap(listener_.pending);
    for (const Entry& e : v) rep_->OnStoreEntry(e, now);
  }
  Entry Append(const std::string& text, TimeMs now) {
    Entry e = store_.Append(TextContent(text)).value();
    Drain(now);
    return e;
  }
  // Carries out the store writes among the replicator's effects (the answers
  // may bring more), keeping the others for Take().
  void Pump(TimeMs now) {
    now_ = now;
    for (;;) {
      std::vector<Effect> effects = rep_->TakeEffects();
      if (effects.empty()) return;
      for (Effect& e : effects) {
        switch (e.kind) {
          case Effect::Kind::kIngest: {
            ++ingests_;
            IngestResult r = store_.Ingest(e.batch);
            Drain(now);
            rep_->OnIngestDone(e.request, r, now);
            break;
          }
          case Effect::Kind::kSavePeerClock:
            EXPECT_TRUE(store_.SavePeerClock(e.peer, e.clock).ok());
            break;
          case Effect::Kind::kStoreForkProof:
            (void)store_.AddForkProof(e.first, e.second);
            break;
          default:
            stash_.push_back(std::move(e));
        }
      }
    }
  }
  size_t ingests() const { return ingests_; }
  // As if imported: straight into the store.
  void Inject(std::vector<Entry> entries, TimeMs now) {
    IngestResult r = store_.Ingest(std::move(entries));
    ASSERT_TRUE(r.ok()) << r.failure.ToString();
    Drain(now);
  }
  void Receive(const FeedId& from, std::string_view frame, TimeMs now) {
    rep_->OnFrame(from, frame, now);
    Drain(now);
    Pump(now);
  }
  void Receive(const FeedId& from, const Message& m, TimeMs now) {
    Receive(from, EncodeMessage(m), now);
  }
  // Every effect but the store writes, which were carried out.
  std::vector<Effect> Take() {
    Pump(now_);
    // The deadline index agrees with the feeds' state after every event.
    EXPECT_TRUE(rep_->TimersConsistent());
    std::vector<Effect> out;
    out.swap(stash_);
    return out;
  }
  uint64_t Seq(const FeedId& feed) const {
    Result<FeedInfo> f = store_.Feed(feed);
    return f.ok() ? f->seq : 0;
  }

 private:
  crypto::KeyPair key_;
  storage::MemoryStore store_;
  QueueListener listener_;
  TestFilter filter_;
  TestTargets targets_;
  std::unique_ptr<Replicator> rep_;
  std::vector<Effect> stash_;
  TimeMs now_ = 0;
  size_t ingests_ = 0;
};

// ---- effect helpers ----

std::vector<Message> Frames(const std::vector<Effect>& effects, const FeedId& to,
                            MessageType type) {
  std::vector<Message> out;
  for (const Effect& e : effects) {
    if (e.kind != Effect::Kind::kSend || e.peer != to || e.type != type) continue;
    EXPECT_LE(e.frame.size(), kMaxFrameBytes);
    Result<Message> m = DecodeMessage(e.frame);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) continue;
    EXPECT_EQ(TypeOf(*m), type);
    out.push_back(std::move(m).value());
  }
  return out;
}

size_t SendCount(const std::vector<Effect>& effects, const FeedId& to) {
  return std::count_if(effects.begin(), effects.end(), [&](const Effect& e) {
    return e.kind == Effect::Kind::kSend && e.peer == to;
  });
}

// Every note item sent to `to`, in order.
std::vector<NoteItem> NoteItems(const std::vector<Effect>& effects, const FeedId& to) {
  std::vector<NoteItem> out;
  for (Message& m : Frames(effects, to, MessageType::kNotes)) {
    for (const NoteItem& n : std::get<NotesMessage>(m).notes) out.push_back(n);
  }
  return out;
}

// The notes sent to `to`, the last one per feed.
std::map<FeedId, int64_t> Notes(const std::vector<Effect>& effects, const FeedId& to) {
  std::map<FeedId, int64_t> out;
  for (const NoteItem& n : NoteItems(effects, to)) out[n.feed] = n.note;
  return out;
}

std::vector<EntriesMessage> EntryFrames(const std::vector<Effect>& effects, const FeedId& to) {
  std::vector<EntriesMessage> out;
  for (Message& m : Frames(effects, to, MessageType::kEntries)) {
    out.push_back(std::get<EntriesMessage>(std::move(m)));
  }
  return out;
}

// Sequences of `feed` carried by the Entries frames to `to`, in order.
std::vector<uint64_t> SentSeqs(const std::vector<Effect>& effects, const FeedId& to,
                               const FeedId& feed) {
  std::vector<uint64_t> out;
  for (const EntriesMessage& m : EntryFrames(effects, to)) {
    for (const Entry& e : m.entries) {
      if (e.author() == feed) out.push_back(e.seq());
    }
  }
  return out;
}

std::vector<Effect> Events(const std::vector<Effect>& effects, ReplicationEvent ev) {
  std::vector<Effect> out;
  for (const Effect& e : effects) {
    if (e.kind == Effect::Kind::kEvent && e.event == ev) out.push_back(e);
  }
  return out;
}

std::vector<uint64_t> Range(uint64_t lo, uint64_t hi) {
  std::vector<uint64_t> v;
  for (uint64_t s = lo; s <= hi; ++s) v.push_back(s);
  return v;
}

// Hands every frame between the nodes to its recipient until none is left.
// Frames to ids that are not among the nodes are dropped.
class Net {
 public:
  struct Delivered {
    FeedId from;
    Effect effect;
  };
  explicit Net(std::vector<Node*> nodes) : nodes_(std::move(nodes)) {}

  Node* Find(const FeedId& id) {
    for (Node* n : nodes_) {
      if (n->id() == id) return n;
    }
    return nullptr;
  }
  // Delivers `effects` (taken from `from`) and everything that follows.
  std::vector<Delivered> Deliver(const FeedId& from, std::vector<Effect> effects, TimeMs now) {
    std::vector<Delivered> log;
    DeliverInto(from, std::move(effects), now, &log);
    Settle(now, &log);
    return log;
  }
  std::vector<Delivered> Run(TimeMs now) {
    std::vector<Delivered> log;
    Settle(now, &log);
    return log;
  }
  std::vector<Delivered> Connect(Node& a, Node& b, TimeMs now) {
    a.rep().OnPeerUp(b.id(), now);
    b.rep().OnPeerUp(a.id(), now);
    return Run(now);
  }
  void Disconnect(Node& a, Node& b, TimeMs now) {
    Run(now);
    a.rep().OnPeerDown(b.id(), now);
    b.rep().OnPeerDown(a.id(), now);
    Run(now);
  }

 private:
  void DeliverInto(const FeedId& from, std::vector<Effect> effects, TimeMs now,
                   std::vector<Delivered>* log) {
    for (Effect& e : effects) {
      if (e.kind == Effect::Kind::kSend) {
        if (Node* to = Find(e.peer)) to->Receive(from, e.frame, now);
      }
      log->push_back({from, std::move(e)});
    }
  }
  void Settle(TimeMs now, std::vector<Delivered>* log) {
    for (int round = 0; round < 10000; ++round) {
      bool any = false;
      for (Node* n : nodes_) {
        std::vector<Effect> effects = n->Take();
        if (effects.empty()) continue;
        any = true;
        DeliverInto(n->id(), std::move(effects), now, log);
      }
      if (!any) return;
    }
    ADD_FAILURE() << "frames kept flowing";
  }
  std::vector<Node*> nodes_;
};

// The effects of `log` sent by `from`.
std::vector<Effect> SentBy(const std::vector<Net::Delivered>& log, const FeedId& from) {
  std::vector<Effect> out;
  for (const Net::Delivered& d : log) {
    if (d.from == from) out.push_back(d.effect);
  }
  return out;
}

DigestMessage FullRangeDigest(std::vector<DigestItem> items) {
  std::sort(items.begin(), items.end(),
            [](const DigestItem& a, const DigestItem& b) { return a.feed < b.feed; });
  DigestMessage d;
  d.round = 1;
  d.hi.mutable_bytes().fill(0xff);
  d.clock = std::move(items);
  return d;
}

constexpr TimeMs kT0 = 10'000;

// ---- connect ----

TEST(ReplicatorTest, InitialNotesMakeTheFirstPeerEagerAndLaterPeersLazy) {
  Node a(1);
  Author x(9);
  a.Append("a1", kT0);
  a.Append("a2", kT0);
  a.Append("a3", kT0);
  a.Inject(x.Next(2), kT0);
  const FeedId b = Key(2).public_key();
  const FeedId c = Key(3).public_key();

  a.rep().OnPeerUp(b, kT0);
  std::vector<Effect> fx = a.Take();
  ASSERT_EQ(fx.size(), 1u);
  std::vector<NoteItem> notes = NoteItems(fx, b);
  ASSERT_EQ(notes.size(), 2u);
  std::map<FeedId, NoteItem> by_feed;
  for (const NoteItem& n : notes) by_feed[n.feed] = n;
  EXPECT_EQ(by_feed[a.id()].note, MakeNote(3, true));  // 6: seq 3, "push to me"
  EXPECT_EQ(by_feed[a.id()].note, 6);
  EXPECT_EQ(by_feed[a.id()].hops, 0u);  // we are the author
  EXPECT_EQ(by_feed[x.id()].note, 4);
  EXPECT_EQ(by_feed[x.id()].hops, kUnknownHops);  // imported: distance unknown
  EXPECT_EQ(a.rep().EagerSource(a.id()), b);
  EXPECT_EQ(a.rep().EagerSource(x.id()), b);

  a.rep().OnPeerUp(c, kT0);
  fx = a.Take();
  ASSERT_EQ(fx.size(), 1u);
  EXPECT_EQ(Notes(fx, c), (std::map<FeedId, int64_t>{{a.id(), 7}, {x.id(), 5}}));  // dont_send
  EXPECT_EQ(a.rep().EagerSource(x.id()), b);
  EXPECT_EQ(a.rep().ConnectedPeers(), (std::vector<FeedId>{b, c}));
  EXPECT_EQ(a.rep().stats().notes_sent, 4u);
  EXPECT_EQ(a.rep().stats().frames_sent, 2u);

  // A node with nothing announces its own feed at sequence 0, and takes no
  // eager source for a feed it holds nothing of (note 1: seq 0, don't send):
  // the first announcement of an entry will pick one.
  Node d(4);
  d.rep().OnPeerUp(b, kT0);
  EXPECT_EQ(Notes(d.Take(), b), (std::map<FeedId, int64_t>{{d.id(), 1}}));
  EXPECT_EQ(d.rep().EagerSource(d.id()), std::nullopt);
}

// A-B-C triangle; everyone holds a1. C chose B as its eager source for A's
// feed (B connected first), so A sees C as lazy and B as eager.
struct Triangle {
  Node a{1}, b{2}, c{3};
  Net net{{&a, &b, &c}};
  Entry a1;
  Triangle() {
    a1 = a.Append("a1", kT0);
    b.Inject({a1}, kT0);
    c.Inject({a1}, kT0);
    net.Connect(a, b, kT0);
    net.Connect(b, c, kT0);
    net.Connect(a, c, kT0);
  }
};

TEST(ReplicatorTest, EagerPeerGetsPushesLazyPeerOnlyNoteUpdates) {
  Triangle t;
  ASSERT_EQ(t.c.rep().EagerSource(t.a.id()), t.b.id());
  ASSERT_EQ(t.b.rep().EagerSource(t.a.id()), t.a.id());

  const TimeMs now = kT0 + 10;
  Entry a2 = t.a.Append("a2", now);
  std::vector<Effect> fx = t.a.Take();
  // B (eager): the entry itself, hops 0, not a repair. No note.
  std::vector<EntriesMessage> pushed = EntryFrames(fx, t.b.id());
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_EQ(pushed[0].hops, 0u);
  EXPECT_FALSE(pushed[0].repair);
  ASSERT_EQ(pushed[0].entries.size(), 1u);
  EXPECT_EQ(pushed[0].entries[0], a2);
  EXPECT_EQ(SendCount(fx, t.b.id()), 1u);
  // C (lazy): only the IHAVE, a note with the new sequence and dont_send.
  EXPECT_TRUE(EntryFrames(fx, t.c.id()).empty());
  std::vector<NoteItem> ihave = NoteItems(fx, t.c.id());
  ASSERT_EQ(ihave.size(), 1u);
  EXPECT_EQ(ihave[0].feed, t.a.id());
  EXPECT_EQ(ihave[0].note, MakeNote(2, false));
  EXPECT_EQ(ihave[0].hops, 0u);
  EXPECT_EQ(SendCount(fx, t.c.id()), 1u);

  // B stores it and pushes on to C (eager for C), one hop further; nothing
  // goes back to A.
  t.b.Receive(t.a.id(), EncodeMessage(pushed[0]), now);
  std::vector<Effect> bfx = t.b.Take();
  std::vector<EntriesMessage> forwarded = EntryFrames(bfx, t.c.id());
  ASSERT_EQ(forwarded.size(), 1u);
  EXPECT_EQ(forwarded[0].hops, 1u);
  EXPECT_EQ(forwarded[0].entries, std::vector<Entry>{a2});
  EXPECT_EQ(SendCount(bfx, t.a.id()), 0u);

  // C hears the IHAVE first (starts the graft timer), then B's push: the
  // timer then finds nothing missing and no graft happens.
  t.c.Receive(t.a.id(), EncodeMessage(NotesMessage{ihave}), now);
  EXPECT_TRUE(t.c.Take().empty());
  t.c.Receive(t.b.id(), EncodeMessage(forwarded[0]), now + 1);
  EXPECT_EQ(t.c.Seq(t.a.id()), 2u);
  EXPECT_TRUE(t.c.Take().empty());  // nothing echoed to A or B
  t.c.rep().Tick(now + 1);
  t.c.rep().Tick(now + 1000);
  EXPECT_TRUE(Events(t.c.Take(), ReplicationEvent::kGraft).empty());
  EXPECT_EQ(t.c.rep().EagerSource(t.a.id()), t.b.id());
  EXPECT_EQ(t.c.rep().stats().grafts, 0u);
}

TEST(ReplicatorTest, DuplicatePushFromNonEagerPeerIsPruned) {
  Triangle t;
  const TimeMs now = kT0 + 10;
  Entry a2 = t.a.Append("a2", now);
  t.net.Run(now);
  ASSERT_EQ(t.c.Seq(t.a.id()), 2u);
  const uint64_t prunes_before = t.c.rep().stats().prunes;

  // A pushes a2 to C although C never asked it to (e.g. in flight across a
  // graft): C tells A dont_send.
  EntriesMessage dup;
  dup.entries = {a2};
  t.c.Receive(t.a.id(), dup, now);
  std::vector<Effect> fx = t.c.Take();
  EXPECT_EQ(NoteItems(fx, t.a.id()).size(), 1u);
  EXPECT_EQ(Notes(fx, t.a.id()), (std::map<FeedId, int64_t>{{t.a.id(), MakeNote(2, false)}}));
  EXPECT_EQ(t.c.rep().stats().prunes, prunes_before + 1);
  EXPECT_EQ(t.c.rep().stats().duplicates_received, 1u);
  std::vector<Effect> pruned = Events(fx, ReplicationEvent::kPrune);
  ASSERT_EQ(pruned.size(), 1u);
  EXPECT_EQ(pruned[0].peer, t.a.id());
  EXPECT_EQ(pruned[0].feed, t.a.id());

  // A repair answer is not a push: no prune.
  dup.repair = true;
  t.c.Receive(t.a.id(), dup, now);
  EXPECT_TRUE(t.c.Take().empty());
  // Nor is a duplicate from the eager source itself.
  dup.repair = false;
  t.c.Receive(t.b.id(), dup, now);
  EXPECT_TRUE(t.c.Take().empty());
  EXPECT_EQ(t.c.rep().stats().prunes, prunes_before + 1);
  EXPECT_EQ(t.c.rep().stats().duplicates_received, 3u);
}

// C connects to A first (A is C's eager source for A's feed), then to B.
struct GraftSetup {
  Node a{1}, b{2}, c{3};
  Net net{{&a, &b, &c}};
  GraftSetup() {
    Entry a1 = a.Append("a1", kT0);
    b.Inject({a1}, kT0);
    c.Inject({a1}, kT0);
    net.Connect(a, b, kT0);
    net.Connect(a, c, kT0);
    net.Connect(b, c, kT0);
  }
};

TEST(ReplicatorTest, GraftAfterTimeoutThenRotateAfterRetry) {
  GraftSetup s;
  const FeedId feed = s.a.id();
  ASSERT_EQ(s.c.rep().EagerSource(feed), s.a.id());
  const ReplicationOptions o = NotesOptions();
  const TimeMs t1 = kT0 + 100;

  // A appends two entries; its pushes reach B but are lost on the way to C.
  s.a.Append("a2", t1);
  s.a.Append("a3", t1);
  std::vector<Effect> afx = s.a.Take();
  ASSERT_EQ(SentSeqs(afx, s.c.id(), feed), Range(2, 3));
  std::vector<Effect> to_b;
  for (Effect& e : afx) {
    if (e.peer == s.b.id()) to_b.push_back(std::move(e));
  }
  for (const Effect& e : to_b) s.b.Receive(s.a.id(), e.frame, t1);
  // B is lazy towards C: IHAVEs only.
  std::vector<Effect> bfx = s.b.Take();
  EXPECT_TRUE(EntryFrames(bfx, s.c.id()).empty());
  EXPECT_EQ(Notes(bfx, s.c.id()), (std::map<FeedId, int64_t>{{feed, MakeNote(3, false)}}));
  for (const Effect& e : bfx) s.c.Receive(s.b.id(), e.frame, t1);
  EXPECT_TRUE(s.c.Take().empty());

  // Not yet: the first timeout has not passed.
  s.c.rep().Tick(t1 + o.graft_timeout_ms - 1);
  std::vector<Effect> fx = s.c.Take();
  EXPECT_TRUE(Events(fx, ReplicationEvent::kGraft).empty());
  EXPECT_TRUE(Frames(fx, s.a.id(), MessageType::kNotes).empty());
  EXPECT_TRUE(Frames(fx, s.b.id(), MessageType::kNotes).empty());
  EXPECT_EQ(s.c.rep().EagerSource(feed), s.a.id());

  // graft_timeout_ms after the IHAVE: graft onto B, prune A.
  const TimeMs t2 = t1 + o.graft_timeout_ms;
  s.c.rep().Tick(t2);
  fx = s.c.Take();
  std::vector<Effect> grafts = Events(fx, ReplicationEvent::kGraft);
  ASSERT_EQ(grafts.size(), 1u);
  EXPECT_EQ(grafts[0].peer, s.b.id());
  EXPECT_EQ(grafts[0].feed, feed);
  EXPECT_EQ(Notes(fx, s.b.id()), (std::map<FeedId, int64_t>{{feed, MakeNote(1, true)}}));
  EXPECT_EQ(Notes(fx, s.a.id()), (std::map<FeedId, int64_t>{{feed, MakeNote(1, false)}}));
  EXPECT_EQ(s.c.rep().EagerSource(feed), s.b.id());
  EXPECT_EQ(s.c.rep().stats().grafts, 1u);

  // The graft note to B is lost too. The prune reaches A, which answers with
  // its own (lazy) note: A has 3.
  for (const Effect& e : fx) {
    if (e.kind == Effect::Kind::kSend && e.peer == s.a.id() && e.type == MessageType::kNotes) {
      s.a.Receive(s.c.id(), e.frame, t2);
    }
  }
  afx = s.a.Take();
  EXPECT_EQ(NoteSeq(Notes(afx, s.c.id())[feed]), 3u);
  for (const Effect& e : afx) s.c.Receive(s.a.id(), e.frame, t2);
  EXPECT_TRUE(s.c.Take().empty());

  // graft_retry_ms later B has still delivered nothing: rotate to the next
  // peer that has more, A.
  s.c.rep().Tick(t2 + o.graft_retry_ms - 1);
  EXPECT_TRUE(Events(s.c.Take(), ReplicationEvent::kGraft).empty());
  const TimeMs t3 = t2 + o.graft_retry_ms;
  s.c.rep().Tick(t3);
  fx = s.c.Take();
  grafts = Events(fx, ReplicationEvent::kGraft);
  ASSERT_EQ(grafts.size(), 1u);
  EXPECT_EQ(grafts[0].peer, s.a.id());
  EXPECT_EQ(Notes(fx, s.a.id()), (std::map<FeedId, int64_t>{{feed, MakeNote(1, true)}}));
  EXPECT_EQ(Notes(fx, s.b.id()), (std::map<FeedId, int64_t>{{feed, MakeNote(1, false)}}));
  EXPECT_EQ(s.c.rep().EagerSource(feed), s.a.id());
  EXPECT_EQ(s.c.rep().stats().grafts, 2u);

  // This time the graft arrives: A pushes the backlog.
  s.net.Deliver(s.c.id(), fx, t3);
  EXPECT_EQ(s.c.Seq(feed), 3u);
}

// A node an odd number of hops from the author waits graft_stagger_ms more
// before it grafts (docs/protocol.md 10.1): C, pushed to by the author A (one
// hop), hears of a3 only from B and grafts onto B graft_timeout_ms +
// graft_stagger_ms after the IHAVE, not graft_timeout_ms.
TEST(ReplicatorTest, AnOddHopCountWaitsTheGraftStagger) {
  GraftSetup s;
  const FeedId feed = s.a.id();
  const ReplicationOptions o = NotesOptions();
  ASSERT_GT(o.graft_stagger_ms, 0);
  TimeMs t = kT0 + 100;
  s.a.Append("a2", t);
  s.net.Run(t);
  ASSERT_EQ(s.c.Seq(feed), 2u);
  ASSERT_EQ(s.c.rep().EagerSource(feed), s.a.id());
  // A's push of a3 to C is lost; B's announcement reaches C.
  t += 100;
  s.a.Append("a3", t);
  std::vector<Effect> to_b;
  for (Effect& e : s.a.Take()) {
    if (e.peer == s.b.id()) to_b.push_back(std::move(e));
  }
  for (const Effect& e : to_b) s.b.Receive(s.a.id(), e.frame, t);
  std::vector<Effect> bfx = s.b.Take();
  ASSERT_EQ(Notes(bfx, s.c.id()),
            (std::map<FeedId, int64_t>{{feed, MakeNote(3, false)}}));
  for (const Effect& e : bfx) {
    if (e.peer == s.c.id()) s.c.Receive(s.b.id(), e.frame, t);
  }
  (void)s.c.Take();
  s.c.rep().Tick(t + o.graft_timeout_ms);
  EXPECT_TRUE(Events(s.c.Take(), ReplicationEvent::kGraft).empty());
  s.c.rep().Tick(t + o.graft_timeout_ms + o.graft_stagger_ms - 1);
  EXPECT_TRUE(Events(s.c.Take(), ReplicationEvent::kGraft).empty());
  s.c.rep().Tick(t + o.graft_timeout_ms + o.graft_stagger_ms);
  std::vector<Effect> grafts = Events(s.c.Take(), ReplicationEvent::kGraft);
  ASSERT_EQ(grafts.size(), 1u);
  EXPECT_EQ(grafts[0].peer, s.b.id());
  EXPECT_EQ(s.c.rep().EagerSource(feed), s.b.id());
}

TEST(ReplicatorTest, SilentEagerSourceThatClaimsMoreIsAskedAgain) {
  Node c(3);
  Author x(9);
  c.Inject(x.Next(1), kT0);
  const FeedId p = Key(20).public_key();
  c.rep().OnPeerUp(p, kT0);
  EXPECT_EQ(Notes(c.Take(), p)[x.id()], MakeNote(1, true));
  c.rep().Tick(kT0);
  // The eager source itself announces 3 but pushes nothing.
  c.Receive(p, NotesMessage{{NoteItem{x.id(), MakeNote(3, false), 0}}}, kT0);
  c.Take();
  const int64_t timeout = NotesOptions().graft_timeout_ms;
  c.rep().Tick(kT0 + timeout - 1);
  EXPECT_TRUE(NoteItems(c.Take(), p).empty());
  c.rep().Tick(kT0 + timeout);
  std::vector<Effect> fx = c.Take();
  // No other peer has it: the eager source is asked again from our head.
  EXPECT_EQ(Notes(fx, p), (std::map<FeedId, int64_t>{{x.id(), MakeNote(1, true)}}));
  EXPECT_TRUE(Events(fx, ReplicationEvent::kGraft).empty());
  c.rep().Tick(kT0 + 2 * timeout - 1);
  EXPECT_TRUE(NoteItems(c.Take(), p).empty());
  c.rep().Tick(kT0 + 2 * timeout);
  EXPECT_EQ(NoteItems(c.Take(), p).size(), 1u);
}

TEST(ReplicatorTest, FarAheadLazyPeerIsGraftedAtOnce) {
  Node a(1), b(2), c(3);
  Net net({&a, &b, &c});
  Author x(9);
  std::vector<Entry> chain = x.Next(102);
  a.Inject({chain[0]}, kT0);
  c.Inject({chain[0]}, kT0);
  b.Inject(chain, kT0);
  net.Connect(a, c, kT0);
  ASSERT_EQ(c.rep().EagerSource(x.id()), a.id());

  b.rep().OnPeerUp(c.id(), kT0);
  c.rep().OnPeerUp(b.id(), kT0);
  std::vector<Effect> cfx = c.Take();
  EXPECT_EQ(Notes(cfx, b.id())[x.id()], MakeNote(1, false));
  std::vector<Effect> bfx = b.Take();
  ASSERT_EQ(Notes(bfx, c.id())[x.id()], MakeNote(102, true));
  // 102 > 1 + far_ahead (100): graft now, no timer.
  for (const Effect& e : bfx) c.Receive(b.id(), e.frame, kT0);
  std::vector<Effect> fx = c.Take();
  std::vector<Effect> grafts = Events(fx, ReplicationEvent::kGraft);
  ASSERT_EQ(grafts.size(), 1u);
  EXPECT_EQ(grafts[0].peer, b.id());
  EXPECT_EQ(Notes(fx, b.id())[x.id()], MakeNote(1, true));
  EXPECT_EQ(Notes(fx, a.id())[x.id()], MakeNote(1, false));
  EXPECT_EQ(c.rep().EagerSource(x.id()), b.id());
  net.Deliver(c.id(), cfx, kT0);
  net.Deliver(c.id(), fx, kT0);
  EXPECT_EQ(c.Seq(x.id()), 102u);
}

TEST(ReplicatorTest, PeerFewerHopsFromTheAuthorReplacesEagerSource) {
  Node c(3);
  Author x(9);
  std::vector<Entry> chain = x.Next(3);
  c.Inject({chain[0]}, kT0);
  const FeedId p = Key(20).public_key();
  const FeedId q = Key(21).public_key();
  c.rep().OnPeerUp(p, kT0);
  c.rep().OnPeerUp(q, kT0);
  c.Take();
  ASSERT_EQ(c.rep().EagerSource(x.id()), p);
  // P pushes from 5 hops away.
  EntriesMessage push;
  push.hops = 5;
  push.entries = {chain[1]};
  c.Receive(p, push, kT0);
  ASSERT_EQ(c.Seq(x.id()), 2u);
  c.Take();
  // Q announces more from 3 hops: 3 + optimize_hops (3) > 5, only the timer.
  c.Receive(q, NotesMessage{{NoteItem{x.id(), MakeNote(3, true), 3}}}, kT0);
  EXPECT_TRUE(Events(c.Take(), ReplicationEvent::kGraft).empty());
  EXPECT_EQ(c.rep().EagerSource(x.id()), p);
  // From 2 hops: 2 + 3 <= 5, graft at once.
  c.Receive(q, NotesMessage{{NoteItem{x.id(), MakeNote(3, true), 2}}}, kT0);
  std::vector<Effect> fx = c.Take();
  ASSERT_EQ(Events(fx, ReplicationEvent::kGraft).size(), 1u);
  EXPECT_EQ(c.rep().EagerSource(x.id()), q);
  EXPECT_EQ(Notes(fx, q)[x.id()], MakeNote(2, true));
  EXPECT_EQ(Notes(fx, p)[x.id()], MakeNote(2, false));
}

// ---- validity ----

TEST(ReplicatorTest, InvalidEntryBlocksTheFeedForThatPeerOnly) {
  Node b(2), c(3);
  Net net({&b, &c});
  Author x(9);
  std::vector<Entry> chain = x.Next(3);
  c.Inject({chain[0]}, kT0);
  b.Inject({chain[0], chain[1]}, kT0);
  const FeedId p = Key(20).public_key();  // a peer driven by hand
  c.rep().OnPeerUp(p, kT0);
  c.Take();
  net.Connect(c, b, kT0);
  ASSERT_EQ(c.rep().EagerSource(x.id()), p);
  ASSERT_EQ(c.Seq(x.id()), 1u);

  std::string bytes = chain[1].encoded();
  bytes.back() = static_cast<char>(bytes.back() ^ 1);
  Entry bad = Entry::Decode(bytes).value();
  ASSERT_FALSE(bad.VerifySignature());
  EntriesMessage m;
  m.entries = {bad};
  c.Receive(p, m, kT0);
  std::vector<Effect> fx = c.Take();
  std::vector<Effect> invalid = Events(fx, ReplicationEvent::kInvalidEntry);
  ASSERT_EQ(invalid.size(), 1u);
  EXPECT_EQ(invalid[0].peer, p);
  EXPECT_EQ(invalid[0].feed, x.id());
  EXPECT_EQ(invalid[0].seq, 2u);
  EXPECT_EQ(c.rep().stats().invalid_entries, 1u);
  EXPECT_EQ(c.Seq(x.id()), 1u);
  // The feed moved to B, which has it.
  EXPECT_EQ(c.rep().EagerSource(x.id()), b.id());
  EXPECT_EQ(Notes(fx, b.id())[x.id()], MakeNote(1, true));

  // P's later valid entries and announcements of the feed are ignored.
  m.entries = {chain[1]};
  c.Receive(p, m, kT0);
  c.Receive(p, NotesMessage{{NoteItem{x.id(), MakeNote(3, true), 0}}}, kT0);
  EXPECT_EQ(c.Seq(x.id()), 1u);
  EXPECT_EQ(c.rep().EagerSource(x.id()), b.id());
  EXPECT_TRUE(SentSeqs(c.Take(), p, x.id()).empty());

  // B supplies it.
  net.Deliver(c.id(), fx, kT0);
  EXPECT_EQ(c.Seq(x.id()), 2u);
  m.entries = {chain[2]};
  c.Receive(p, m, kT0);
  EXPECT_EQ(c.Seq(x.id()), 2u);
  b.Inject({chain[2]}, kT0 + 1);
  net.Run(kT0 + 1);
  EXPECT_EQ(c.Seq(x.id()), 3u);
}

TEST(ReplicatorTest, GapMakesTheReceiverAskAgainFromItsHead) {
  Node a(1), c(3);
  Net net({&a, &c});
  Author x(9);
  std::vector<Entry> chain = x.Next(4);
  a.Inject({chain[0]}, kT0);
  c.Inject({chain[0]}, kT0);
  net.Connect(c, a, kT0);
  ASSERT_EQ(c.rep().EagerSource(x.id()), a.id());

  a.Inject({chain[1]}, kT0 + 1);
  ASSERT_EQ(SentSeqs(a.Take(), c.id(), x.id()), Range(2, 2));  // lost
  a.Inject({chain[2]}, kT0 + 2);
  std::vector<Effect> afx = a.Take();
  ASSERT_EQ(SentSeqs(afx, c.id(), x.id()), Range(3, 3));
  for (const Effect& e : afx) c.Receive(a.id(), e.frame, kT0 + 2);
  std::vector<Effect> fx = c.Take();
  EXPECT_EQ(c.Seq(x.id()), 1u);
  EXPECT_TRUE(Events(fx, ReplicationEvent::kInvalidEntry).empty());
  EXPECT_EQ(c.rep().stats().invalid_entries, 0u);
  EXPECT_EQ(Notes(fx, a.id()), (std::map<FeedId, int64_t>{{x.id(), MakeNote(1, true)}}));

  // A resends from C's head; A stays a valid source afterwards.
  std::vector<Net::Delivered> log = net.Deliver(c.id(), fx, kT0 + 3);
  EXPECT_EQ(SentSeqs(SentBy(log, a.id()), c.id(), x.id()), Range(2, 3));
  EXPECT_EQ(c.Seq(x.id()), 3u);
  a.Inject({chain[3]}, kT0 + 4);
  net.Run(kT0 + 4);
  EXPECT_EQ(c.Seq(x.id()), 4u);
}

// ---- follow / block / policy ----

TEST(ReplicatorTest, FollowListLimitsWhatIsReplicated) {
  ReplicationOptions o = NotesOptions();
  o.replicate_all = false;
  Node a(1), c(3, o);
  Net net({&a, &c});
  Author x(9), y(10);
  a.Append("a1", kT0);
  a.Inject(x.Next(2), kT0);
  a.Inject(y.Next(2), kT0);
  c.Follow(x.id(), true, kT0);

  std::vector<Net::Delivered> log = net.Connect(a, c, kT0);
  std::map<FeedId, int64_t> notes = Notes(SentBy(log, c.id()), a.id());
  EXPECT_EQ(notes[a.id()], kNoteNotReplicating);
  EXPECT_EQ(notes[y.id()], kNoteNotReplicating);
  EXPECT_TRUE(NoteReplicates(notes[x.id()]));
  EXPECT_EQ(c.Seq(x.id()), 2u);
  EXPECT_EQ(c.Seq(y.id()), 0u);
  EXPECT_EQ(c.Seq(a.id()), 0u);

  // New entries of unfollowed feeds are not even announced to C...
  a.Append("a2", kT0 + 1);
  a.Inject(y.Next(1), kT0 + 1);
  EXPECT_EQ(SendCount(a.Take(), c.id()), 0u);
  // ...and if pushed anyway, not stored.
  EntriesMessage m;
  m.entries = {a.store().Get(a.id(), 1).value(), a.store().Get(a.id(), 2).value()};
  c.Receive(a.id(), m, kT0 + 1);
  EXPECT_EQ(c.Seq(a.id()), 0u);
  EXPECT_FALSE(c.store().Feed(a.id()).ok());
  c.Take();

  // Following Y later asks for it.
  c.Follow(y.id(), true, kT0 + 2);
  std::vector<Effect> fx = c.Take();
  EXPECT_EQ(Notes(fx, a.id()), (std::map<FeedId, int64_t>{{y.id(), MakeNote(0, true)}}));
  net.Deliver(c.id(), fx, kT0 + 2);
  EXPECT_EQ(c.Seq(y.id()), 3u);
  // Unfollowing X tells A.
  c.Follow(x.id(), false, kT0 + 3);
  EXPECT_EQ(Notes(c.Take(), a.id()), (std::map<FeedId, int64_t>{{x.id(), kNoteNotReplicating}}));
}

TEST(ReplicatorTest, BlockFeedForPeerNeverSendsItToThatPeer) {
  Node a(1), b(2), c(3);
  Net net({&a, &b, &c});
  Author x(9);
  std::vector<Entry> chain = x.Next(3);
  a.Inject({chain[0]}, kT0);
  net.Connect(a, b, kT0);
  net.Connect(a, c, kT0);
  ASSERT_EQ(b.Seq(x.id()), 1u);
  ASSERT_EQ(c.Seq(x.id()), 1u);

  a.rep().BlockFeedForPeer(x.id(), c.id(), kT0 + 1);
  std::vector<Effect> fx = a.Take();
  EXPECT_EQ(Notes(fx, c.id()), (std::map<FeedId, int64_t>{{x.id(), kNoteNotReplicating}}));
  EXPECT_EQ(SendCount(fx, b.id()), 0u);
  net.Deliver(a.id(), fx, kT0 + 1);

  a.Inject({chain[1]}, kT0 + 2);
  fx = a.Take();
  EXPECT_EQ(SentSeqs(fx, b.id(), x.id()), Range(2, 2));
  EXPECT_EQ(SendCount(fx, c.id()), 0u);
  net.Deliver(a.id(), fx, kT0 + 2);
  EXPECT_EQ(b.Seq(x.id()), 2u);
  EXPECT_EQ(c.Seq(x.id()), 1u);

  // Not in answer to a want or a digest either.
  a.Receive(c.id(), WantMessage{{{x.id(), 0}}}, kT0 + 3);
  a.Receive(c.id(), FullRangeDigest({}), kT0 + 1000);
  EXPECT_TRUE(SentSeqs(a.Take(), c.id(), x.id()).empty());
  // Nor taken from C.
  EntriesMessage m;
  m.entries = {chain[2]};
  a.Receive(c.id(), m, kT0 + 4);
  EXPECT_EQ(a.Seq(x.id()), 2u);
  // A digest from C claiming more does not make A solicit it from C.
  a.Receive(c.id(), FullRangeDigest({{x.id(), 3, HeadPrefix(chain[2].id())}}), kT0 + 5);
  a.rep().Tick(kT0 + 5);
  a.rep().Tick(kT0 + 5 + NotesOptions().graft_timeout_ms);
  EXPECT_TRUE(Frames(a.Take(), c.id(), MessageType::kWant).empty());
}

TEST(ReplicatorTest, WantIsNotSentForAFeedBlockedForThatPeerDuringTheGracePeriod) {
  Node a(1);
  Author x(9);
  std::vector<Entry> chain = x.Next(3);
  a.Inject({chain[0]}, kT0);
  const FeedId p = Key(20).public_key();
  a.Receive(p, FullRangeDigest({{x.id(), 3, HeadPrefix(chain[2].id())}}), kT0);
  a.rep().BlockFeedForPeer(x.id(), p, kT0 + 1);
  a.rep().Tick(kT0 + 1);
  a.rep().Tick(kT0 + 1 + NotesOptions().graft_timeout_ms);
  EXPECT_TRUE(Frames(a.Take(), p, MessageType::kWant).empty());
  EXPECT_EQ(a.rep().stats().wants_sent, 0u);
}

TEST(ReplicatorTest, BlockFeedStopsItWithEveryone) {
  Node a(1), b(2), c(3);
  Net net({&a, &b, &c});
  Author x(9);
  std::vector<Entry> chain = x.Next(3);
  a.Inject({chain[0]}, kT0);
  net.Connect(a, b, kT0);
  net.Connect(a, c, kT0);

  a.Refuse(x.id(), kT0 + 1);
  std::vector<Effect> fx = a.Take();
  EXPECT_EQ(Notes(fx, b.id()), (std::map<FeedId, int64_t>{{x.id(), kNoteNotReplicating}}));
  EXPECT_EQ(Notes(fx, c.id()), (std::map<FeedId, int64_t>{{x.id(), kNoteNotReplicating}}));
  EXPECT_FALSE(a.rep().EagerSource(x.id()).has_value());
  net.Deliver(a.id(), fx, kT0 + 1);

  // An import still lands in A's store, but nothing goes out.
  a.Inject({chain[1]}, kT0 + 2);
  EXPECT_TRUE(a.Take().empty());
  EntriesMessage m;
  m.entries = {chain[2]};
  a.Receive(b.id(), m, kT0 + 2);
  EXPECT_EQ(a.Seq(x.id()), 2u);
  // Digests leave it out.
  a.rep().Tick(kT0 + 3);
  a.rep().Tick(kT0 + 1000);
  fx = a.Take();
  size_t digests = 0;
  for (const FeedId& to : {b.id(), c.id()}) {
    for (Message& msg : Frames(fx, to, MessageType::kDigest)) {
      ++digests;
      for (const DigestItem& item : std::get<DigestMessage>(msg).clock) {
        EXPECT_NE(item.feed, x.id());
      }
    }
  }
  EXPECT_EQ(digests, 1u);
}

TEST(ReplicatorTest, PolicyRefusingAFeedKeepsItOut) {
  Author x(9), y(10);
  Node a(1), c(3);
  c.Refuse(x.id(), kT0);
  Net net({&a, &c});
  a.Inject(x.Next(2), kT0);
  a.Inject(y.Next(2), kT0);
  std::vector<Net::Delivered> log = net.Connect(a, c, kT0);
  std::map<FeedId, int64_t> notes = Notes(SentBy(log, c.id()), a.id());
  EXPECT_EQ(notes[x.id()], kNoteNotReplicating);
  EXPECT_TRUE(NoteReplicates(notes[y.id()]));
  EXPECT_EQ(c.Seq(y.id()), 2u);
  EXPECT_EQ(c.Seq(x.id()), 0u);
  EXPECT_TRUE(SentSeqs(SentBy(log, a.id()), c.id(), x.id()).empty());

  EntriesMessage m;
  m.entries = {a.store().Get(x.id(), 1).value()};
  c.Receive(a.id(), m, kT0 + 1);
  EXPECT_EQ(c.Seq(x.id()), 0u);
  a.Inject(x.Next(1), kT0 + 2);
  EXPECT_EQ(SendCount(a.Take(), c.id()), 0u);
}

// ---- frames ----

TEST(ReplicatorTest, MalformedFrameDisconnectsThePeer) {
  Node c(3);
  const FeedId p = Key(20).public_key();
  c.rep().OnPeerUp(p, kT0);
  c.Take();
  const std::vector<std::string> bad = {
      std::string("\xc1", 1),             // not msgpack
      std::string("\x92\x63\x90", 3),     // unknown type 99
      std::string("\x92\x01", 2),         // notes, truncated
      std::string("\x93\x04\x90\x00", 4), // want with 3 fields
      std::string(kMaxFrameBytes + 1, '\x90'),
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    c.Receive(p, bad[i], kT0);
    std::vector<Effect> fx = c.Take();
    std::vector<Effect> ev = Events(fx, ReplicationEvent::kMalformedFrame);
    ASSERT_EQ(ev.size(), 1u) << i;
    EXPECT_EQ(ev[0].peer, p);
    EXPECT_FALSE(ev[0].detail.empty());
    size_t drops = 0;
    for (const Effect& e : fx) {
      if (e.kind == Effect::Kind::kDisconnect) {
        ++drops;
        EXPECT_EQ(e.peer, p);
      }
    }
    EXPECT_EQ(drops, 1u) << i;
    EXPECT_EQ(c.rep().stats().malformed_frames, i + 1);
  }
}

TEST(ReplicatorTest, EntriesFramesRespectMaxEntriesPerFrame) {
  ReplicationOptions o = NotesOptions();
  o.max_entries_per_frame = 10;
  Node a(1, o), c(3);
  Net net({&a, &c});
  Author x(9);
  a.Inject(x.Next(25), kT0);
  std::vector<Net::Delivered> log = net.Connect(c, a, kT0);
  std::vector<EntriesMessage> frames = EntryFrames(SentBy(log, a.id()), c.id());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].entries.size(), 10u);
  EXPECT_EQ(frames[1].entries.size(), 10u);
  EXPECT_EQ(frames[2].entries.size(), 5u);
  EXPECT_EQ(c.Seq(x.id()), 25u);
  EXPECT_EQ(a.rep().stats().entries_sent, 25u);
  EXPECT_EQ(c.rep().stats().entries_stored, 25u);
}

TEST(ReplicatorTest, BigEntriesAreSplitToFitTheFrameLimit) {
  Node a(1), c(3);
  Net net({&a, &c});
  Author x(9);
  a.Inject(x.Next(20, 60000), kT0);  // ~60 KiB each, 1.2 MB in all
  std::vector<Net::Delivered> log = net.Connect(c, a, kT0);
  size_t frames = 0, entries = 0;
  for (const Effect& e : SentBy(log, a.id())) {
    if (e.kind != Effect::Kind::kSend || e.type != MessageType::kEntries) continue;
    ++frames;
    EXPECT_LE(e.frame.size(), kMaxFrameBytes);
    entries += e.entries;
  }
  EXPECT_GE(frames, 2u);
  EXPECT_EQ(entries, 20u);
  EXPECT_EQ(c.Seq(x.id()), 20u);
}

TEST(ReplicatorTest, NotesAreSplitAtMaxNotesPerMessage) {
  ReplicationOptions o = NotesOptions();
  o.replicate_all = false;
  Node a(1, o), b(2);
  for (uint32_t i = 0; i < 3000; ++i) a.Follow(FakeFeed(i), true, kT0);
  a.rep().OnPeerUp(b.id(), kT0);
  std::vector<Effect> fx = a.Take();
  std::vector<Message> frames = Frames(fx, b.id(), MessageType::kNotes);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(std::get<NotesMessage>(frames[0]).notes.size(), kMaxNotesPerMessage);
  EXPECT_EQ(std::get<NotesMessage>(frames[1]).notes.size(), 3001 - kMaxNotesPerMessage);
  std::set<FeedId> feeds;
  for (const NoteItem& n : NoteItems(fx, b.id())) feeds.insert(n.feed);
  EXPECT_EQ(feeds.size(), 3001u);
  EXPECT_EQ(a.rep().stats().notes_sent, 3001u);

  // B, following the same feeds, takes both; its own announcement of them
  // is split within the limit too. (A node ignores notes about feeds neither
  // side holds anything of unless it wants them.)
  Node b2(4, o);
  for (uint32_t i = 0; i < 3000; ++i) b2.Follow(FakeFeed(i), true, kT0);
  b2.rep().OnPeerUp(a.id(), kT0);
  std::vector<Effect> bfx = b2.Take();
  for (const Effect& e : fx) b2.Receive(a.id(), e.frame, kT0);
  for (Effect& e : b2.Take()) bfx.push_back(std::move(e));
  size_t total = 0;
  for (Message& m : Frames(bfx, a.id(), MessageType::kNotes)) {
    const size_t n = std::get<NotesMessage>(m).notes.size();
    EXPECT_LE(n, kMaxNotesPerMessage);
    total += n;
  }
  // its own 3,001 and a "not replicating" for A's own feed.
  EXPECT_EQ(total, 3002u);
}

// ---- digests ----

TEST(ReplicatorTest, DigestShowingTheSenderBehindGetsOnlyEntriesHeldPastTheGracePeriod) {
  Node c(3);
  Author x(9), y(10);
  std::vector<Entry> chain = x.Next(5);
  c.Inject({chain[0], chain[1], chain[2]}, kT0);
  c.Inject(y.Next(2), kT0);
  c.Inject({chain[3], chain[4]}, kT0 + 150);
  const int64_t grace = NotesOptions().graft_timeout_ms;  // 200
  const FeedId p = Key(20).public_key();  // not connected: digests come from any member
  const DigestMessage d = FullRangeDigest({{x.id(), 1, HeadPrefix(chain[0].id())}});

  // At kT0 + 199 nothing has been held for 200 ms.
  c.Receive(p, d, kT0 + grace - 1);
  EXPECT_TRUE(c.Take().empty());
  // At kT0 + 250: x2..x3 and Y (absent from the digest: P has none), not x4..x5.
  c.Receive(p, d, kT0 + 250);
  std::vector<Effect> fx = c.Take();
  std::vector<EntriesMessage> frames = EntryFrames(fx, p);
  ASSERT_FALSE(frames.empty());
  for (const EntriesMessage& m : frames) EXPECT_TRUE(m.repair);
  EXPECT_EQ(SentSeqs(fx, p, x.id()), Range(2, 3));
  EXPECT_EQ(SentSeqs(fx, p, y.id()), Range(1, 2));
  EXPECT_TRUE(Frames(fx, p, MessageType::kNotes).empty());
  // Once x4..x5 are old enough they go too.
  c.Receive(p, d, kT0 + 150 + grace);
  EXPECT_EQ(SentSeqs(c.Take(), p, x.id()), Range(2, 5));
  EXPECT_TRUE(c.rep().ConnectedPeers().empty());
}

TEST(ReplicatorTest, DigestRepairIsBoundedByRepairMaxEntries) {
  ReplicationOptions o = NotesOptions();
  o.repair_max_entries = 3;
  Node c(3, o);
  Author x(9);
  std::vector<Entry> chain = x.Next(10);
  c.Inject(chain, kT0);
  const FeedId p = Key(20).public_key();
  c.Receive(p, FullRangeDigest({{x.id(), 2, HeadPrefix(chain[1].id())}}), kT0 + 1000);
  EXPECT_EQ(SentSeqs(c.Take(), p, x.id()), Range(3, 5));
  c.Receive(p, WantMessage{{{x.id(), 5}}}, kT0 + 1000);
  EXPECT_EQ(SentSeqs(c.Take(), p, x.id()), Range(6, 8));
}

TEST(ReplicatorTest, DigestShowingTheSenderAheadSendsAWantOnlyAfterTheGracePeriod) {
  Node c(3);
  Author x(9);
  std::vector<Entry> chain = x.Next(5);
  c.Inject({chain[0]}, kT0);
  const int64_t grace = NotesOptions().graft_timeout_ms;
  const FeedId p = Key(20).public_key();
  c.Receive(p, FullRangeDigest({{x.id(), 3, HeadPrefix(chain[2].id())}}), kT0);
  EXPECT_TRUE(c.Take().empty());
  c.rep().Tick(kT0 + grace - 1);
  EXPECT_TRUE(Frames(c.Take(), p, MessageType::kWant).empty());
  c.rep().Tick(kT0 + grace);
  std::vector<Message> wants = Frames(c.Take(), p, MessageType::kWant);
  ASSERT_EQ(wants.size(), 1u);
  EXPECT_EQ(std::get<WantMessage>(wants[0]).after,
            (std::vector<std::pair<FeedId, uint64_t>>{{x.id(), 1}}));
  EXPECT_EQ(c.rep().stats().wants_sent, 1u);
  // Answered: nothing pending any more.
  EntriesMessage repair;
  repair.repair = true;
  repair.entries = {chain[1], chain[2]};
  c.Receive(p, repair, kT0 + grace + 1);
  c.rep().Tick(kT0 + 3 * grace);
  EXPECT_TRUE(Frames(c.Take(), p, MessageType::kWant).empty());

  // Claimed again, but push delivers within the grace period: no want.
  const TimeMs t = kT0 + 10 * grace;
  c.Receive(p, FullRangeDigest({{x.id(), 5, HeadPrefix(chain[4].id())}}), t);
  c.Inject({chain[3], chain[4]}, t + grace / 2);
  c.rep().Tick(t + grace);
  EXPECT_TRUE(Frames(c.Take(), p, MessageType::kWant).empty());
  EXPECT_EQ(c.rep().stats().wants_sent, 1u);
}

TEST(ReplicatorTest, DigestWithSameSeqButAnotherHeadRevealsAForkAndTheProofFloodsOnce) {
  Node a(1), b(2), c(3);
  Net net({&a, &b, &c});
  Author x(9);
  std::vector<Entry> chain = x.Next(2);
  Entry other = x.Conflicting(2);
  a.Inject(chain, kT0);
  c.Inject({chain[0], other}, kT0);
  net.Connect(a, c, kT0);  // same sequence: notes alone cannot tell
  net.Connect(b, c, kT0);
  ASSERT_EQ(a.Seq(x.id()), 2u);
  ASSERT_EQ(b.store().Get(x.id(), 2).value(), other);

  // A's digest round goes to C.
  a.SetMembers({c.id()});
  a.rep().Tick(kT0 + 1);
  a.Take();
  a.rep().Tick(kT0 + 1000);
  std::vector<Effect> afx = a.Take();
  std::vector<Message> digests = Frames(afx, c.id(), MessageType::kDigest);
  ASSERT_EQ(digests.size(), 1u);
  const std::vector<DigestItem>& clock = std::get<DigestMessage>(digests[0]).clock;
  ASSERT_EQ(clock.size(), 1u);
  EXPECT_EQ(clock[0], (DigestItem{x.id(), 2, HeadPrefix(chain[1].id())}));

  // C answers with its own head.
  for (const Effect& e : afx) c.Receive(a.id(), e.frame, kT0 + 1000);
  std::vector<Effect> cfx = c.Take();
  std::vector<EntriesMessage> repair = EntryFrames(cfx, a.id());
  ASSERT_EQ(repair.size(), 1u);
  EXPECT_TRUE(repair[0].repair);
  EXPECT_EQ(repair[0].entries, std::vector<Entry>{other});

  // A finds the fork, reports it and sends the proof to its peer.
  a.Receive(c.id(), EncodeMessage(repair[0]), kT0 + 1000);
  afx = a.Take();
  std::vector<Effect> forks = Events(afx, ReplicationEvent::kFork);
  ASSERT_EQ(forks.size(), 1u);
  EXPECT_EQ(forks[0].feed, x.id());
  EXPECT_EQ(forks[0].seq, 2u);
  EXPECT_EQ(a.rep().stats().forks, 1u);
  EXPECT_EQ(a.store().Forks().value().size(), 1u);
  EXPECT_EQ(Notes(afx, c.id()), (std::map<FeedId, int64_t>{{x.id(), kNoteNotReplicating}}));
  std::vector<Message> proofs = Frames(afx, c.id(), MessageType::kForkProof);
  ASSERT_EQ(proofs.size(), 1u);

  // C records the proof, reports, tells its peers -1 and forwards the proof.
  c.Receive(a.id(), EncodeMessage(proofs[0]), kT0 + 1000);
  cfx = c.Take();
  ASSERT_EQ(Events(cfx, ReplicationEvent::kFork).size(), 1u);
  EXPECT_EQ(c.store().Forks().value().size(), 1u);
  EXPECT_TRUE(c.store().Feed(x.id()).value().forked);
  for (const FeedId& to : {a.id(), b.id()}) {
    EXPECT_EQ(Notes(cfx, to)[x.id()], kNoteNotReplicating);
    EXPECT_EQ(Frames(cfx, to, MessageType::kForkProof).size(), 1u);
  }
  // A already knows: no event, nothing forwarded.
  for (const Effect& e : cfx) {
    if (e.peer == a.id()) a.Receive(c.id(), e.frame, kT0 + 1000);
  }
  afx = a.Take();
  EXPECT_TRUE(Events(afx, ReplicationEvent::kFork).empty());
  EXPECT_TRUE(Frames(afx, c.id(), MessageType::kForkProof).empty());
  // B learns it and forwards once (to C, its only peer); C ignores it.
  for (const Effect& e : cfx) {
    if (e.peer == b.id()) b.Receive(c.id(), e.frame, kT0 + 1000);
  }
  std::vector<Effect> bfx = b.Take();
  EXPECT_EQ(Events(bfx, ReplicationEvent::kFork).size(), 1u);
  EXPECT_TRUE(b.store().Feed(x.id()).value().forked);
  ASSERT_EQ(Frames(bfx, c.id(), MessageType::kForkProof).size(), 1u);
  for (const Effect& e : bfx) c.Receive(b.id(), e.frame, kT0 + 1000);
  cfx = c.Take();
  EXPECT_TRUE(Events(cfx, ReplicationEvent::kFork).empty());
  EXPECT_EQ(SendCount(cfx, a.id()) + SendCount(cfx, b.id()), 0u);

  // The forked feed is out of replication: entries are ignored, notes -1.
  Entry x3 = x.Next(1)[0];
  EntriesMessage m;
  m.entries = {x3};
  a.Receive(b.id(), m, kT0 + 1001);
  EXPECT_EQ(a.Seq(x.id()), 2u);
}

// ---- progress and peer clocks ----

TEST(ReplicatorTest, ProgressPerPeerAndOverall) {
  Node a(1), b(2), c(3);
  Net net({&a, &b, &c});
  Author x(9), y(10);
  std::vector<Entry> xs = x.Next(5);
  a.Inject(xs, kT0);
  c.Inject({xs[0], xs[1]}, kT0);
  b.Inject(y.Next(3), kT0);

  c.rep().OnPeerUp(a.id(), kT0);
  a.rep().OnPeerUp(c.id(), kT0);
  for (const Effect& e : a.Take()) c.Receive(a.id(), e.frame, kT0);
  Progress pa = c.rep().GetPeerProgress(a.id());
  EXPECT_EQ(pa.start, 2u);
  EXPECT_EQ(pa.current, 2u);
  EXPECT_EQ(pa.target, 5u);

  c.rep().OnPeerUp(b.id(), kT0);
  b.rep().OnPeerUp(c.id(), kT0);
  for (const Effect& e : b.Take()) c.Receive(b.id(), e.frame, kT0);
  Progress pb = c.rep().GetPeerProgress(b.id());
  EXPECT_EQ(pb.start, 2u);
  EXPECT_EQ(pb.current, 2u);
  EXPECT_EQ(pb.target, 2u + 3u);
  Progress all = c.rep().GetProgress();
  EXPECT_EQ(all.start, 2u);
  EXPECT_EQ(all.current, 2u);
  EXPECT_EQ(all.target, 5u + 3u);

  net.Run(kT0);
  all = c.rep().GetProgress();
  EXPECT_EQ(all.start, 2u);
  EXPECT_EQ(all.current, 8u);
  EXPECT_EQ(all.target, 8u);
  pa = c.rep().GetPeerProgress(a.id());
  EXPECT_EQ(pa.current, 8u);
  EXPECT_EQ(pa.target, 8u);
  EXPECT_EQ(c.rep().GetPeerProgress(Key(99).public_key()).target, 0u);  // unknown peer
}

TEST(ReplicatorTest, PeerClockIsSavedOnDisconnectAndReconnectNotesOnlyChangedFeeds) {
  Node a(1), c(3);
  Net net({&a, &c});
  Author x(9), y(10), z(11);
  std::vector<Entry> xs = x.Next(3);
  std::vector<Entry> ys = y.Next(4);
  a.Inject(xs, kT0);
  c.Inject(xs, kT0);
  a.Inject({ys[0], ys[1], ys[2]}, kT0);
  c.Inject({ys[0], ys[1], ys[2]}, kT0);
  net.Connect(a, c, kT0);
  net.Disconnect(a, c, kT0 + 1);

  std::map<FeedId, int64_t> saved = c.store().LoadPeerClock(a.id()).value();
  ASSERT_TRUE(saved.count(x.id()));
  ASSERT_TRUE(saved.count(y.id()));
  EXPECT_EQ(NoteSeq(saved[x.id()]), 3u);
  EXPECT_EQ(NoteSeq(saved[y.id()]), 3u);
  EXPECT_EQ(NoteSeq(a.store().LoadPeerClock(c.id()).value()[y.id()]), 3u);

  // Apart, A gets y4 and C gets a new feed Z.
  a.Inject({ys[3]}, kT0 + 2);
  c.Inject(z.Next(2), kT0 + 2);

  a.rep().OnPeerUp(c.id(), kT0 + 3);
  std::vector<Effect> afx = a.Take();
  // Only what changed. (Each node's own feed is still empty: the other side
  // keeps no state about a feed neither holds anything of, but answered
  // its note statelessly, so it is skipped as well.)
  std::map<FeedId, int64_t> from_a = Notes(afx, c.id());
  EXPECT_EQ(from_a.size(), 1u);
  EXPECT_EQ(NoteSeq(from_a[y.id()]), 4u);
  c.rep().OnPeerUp(a.id(), kT0 + 3);
  std::vector<Effect> cfx = c.Take();
  std::map<FeedId, int64_t> from_c = Notes(cfx, a.id());
  EXPECT_EQ(from_c.size(), 1u);
  EXPECT_EQ(NoteSeq(from_c[z.id()]), 2u);

  net.Deliver(a.id(), afx, kT0 + 3);
  net.Deliver(c.id(), cfx, kT0 + 3);
  EXPECT_EQ(c.Seq(y.id()), 4u);
  EXPECT_EQ(a.Seq(z.id()), 2u);
  // Skipped feeds still replicate: a new X entry on A reaches C.
  a.Inject(x.Next(1), kT0 + 4);
  net.Run(kT0 + 4);
  EXPECT_EQ(c.Seq(x.id()), 4u);
}

// Issue 12, a restored node: A wrote 10 entries that C replicated, then A's
// home came back from a backup holding 4. With request skipping neither side
// would mention the feed (each one's stored clock matches its own head), so
// the restored node would not learn that C holds more. While the store holds
// its own feed, A' always sends its note; C answers with its seq and pushes
// what A' lacks; HeardSeq reports what peers hold.
TEST(ReplicatorTest, HeldOwnFeedIsAnnouncedAndFetchedFromPeers) {
  for (bool hold : {false, true}) {
    SCOPED_TRACE(hold ? "held" : "not held");
    Node a(1), c(3);
    Net net({&a, &c});
    for (int i = 0; i < 10; ++i) a.Append("entry " + std::to_string(i), kT0);
    net.Connect(a, c, kT0);
    net.Disconnect(a, c, kT0 + 1);
    ASSERT_EQ(c.Seq(a.id()), 10u);

    Node restored(1);  // the same key, an old copy of its store
    std::vector<Entry> old;
    for (uint64_t s = 1; s <= 4; ++s) old.push_back(a.store().Get(a.id(), s).value());
    restored.Inject(old, kT0 + 2);
    // The backup also held the note C last sent when A was at 4.
    ASSERT_TRUE(restored.store().SavePeerClock(c.id(), {{a.id(), MakeNote(4, false)}}).ok());
    if (hold) restored.store().HoldOwnFeed("restored");
    Net net2({&restored, &c});
    net2.Connect(restored, c, kT0 + 3);
    if (!hold) {
      EXPECT_EQ(restored.rep().HeardSeq(a.id()), std::nullopt);
      EXPECT_EQ(restored.Seq(a.id()), 4u);
      continue;
    }
    EXPECT_EQ(restored.rep().HeardSeq(a.id()), std::optional<uint64_t>(10));
    EXPECT_EQ(restored.Seq(a.id()), 10u);
    // Held, the store takes no appends until someone confirms the feed.
    EXPECT_FALSE(restored.store().Append(TextContent("x")).ok());
  }
}

// ---- timers ----

TEST(ReplicatorTest, NextTimeoutIsInTheFutureWhenIdle) {
  Node a(1), c(3);
  Net net({&a, &c});
  Author x(9);
  a.Inject(x.Next(3), kT0);
  net.Connect(a, c, kT0);
  ASSERT_EQ(c.Seq(x.id()), 3u);
  ASSERT_TRUE(c.rep().EagerSource(x.id()).has_value());
  const TimeMs later = kT0 + 5000;
  for (Node* n : {&a, &c}) {
    n->rep().Tick(later);
    n->Take();
    EXPECT_GT(n->rep().NextTimeout(), later);
  }
}

TEST(ReplicatorTest, BacklogBeyondOnePumpContinuesOnTick) {
  ReplicationOptions o = NotesOptions();
  o.max_push_per_pump = 10;
  Node a(1, o), c(3);
  Author x(9);
  a.Inject(x.Next(25), kT0);
  a.rep().Tick(kT0);
  a.Take();
  a.rep().OnPeerUp(c.id(), kT0);
  c.rep().OnPeerUp(a.id(), kT0);
  c.Take();
  for (const Effect& e : a.Take()) c.Receive(a.id(), e.frame, kT0);
  // C asks for X: A's backlog is 25 entries, 10 per pump.
  for (const Effect& e : c.Take()) a.Receive(c.id(), e.frame, kT0);
  std::vector<Effect> fx = a.Take();
  EXPECT_EQ(SentSeqs(fx, c.id(), x.id()), Range(1, 10));
  // The rest needs another turn: Tick has work now.
  EXPECT_LE(a.rep().NextTimeout(), kT0 + 1);
  a.rep().Tick(kT0 + 1);
  EXPECT_EQ(SentSeqs(a.Take(), c.id(), x.id()), Range(11, 20));
  a.rep().Tick(kT0 + 2);
  EXPECT_EQ(SentSeqs(a.Take(), c.id(), x.id()), Range(21, 25));
  EXPECT_GT(a.rep().NextTimeout(), kT0 + 2);
}

}  // namespace
}  // namespace plumlog::replication

namespace plumlog::replication {
namespace {

TEST(ReplicatorLimitsTest, ClaimsAreBoundedPerPeerAskedOfItAloneAndNeitherSpreadNorSaved) {
  ReplicationOptions o = NotesOptions();
  o.max_claims_per_peer = 10;
  auto store = std::make_unique<storage::MemoryStore>(Key(1), storage::MemoryStoreOptions());
  Replicator rep(store.get(), o, 1);
  const FeedId claimer = Key(2).public_key();
  const FeedId other = Key(3).public_key();
  rep.OnPeerUp(claimer, kT0);
  rep.OnPeerUp(other, kT0);
  (void)rep.TakeEffects();
  // 50 feeds we hold nothing of, at seq 5.
  NotesMessage m;
  for (uint8_t i = 0; i < 50; ++i) {
    m.notes.push_back(NoteItem{FakeFeed(100 + i), MakeNote(5, false), 1});
  }
  rep.OnFrame(claimer, EncodeMessage(m), kT0);
  std::vector<Effect> fx = rep.TakeEffects();
  // No feed state: only our own feed is tracked.
  EXPECT_EQ(rep.FeedStatuses().size(), 1u);
  EXPECT_EQ(rep.stats().claims_refused, 40u);
  // The first 10 are asked of the claimer (we hold 0: push from the start);
  // the other peer hears nothing of them.
  std::map<FeedId, int64_t> asked = Notes(fx, claimer);
  EXPECT_EQ(asked.size(), 10u);
  for (const auto& [feed, note] : asked) {
    EXPECT_EQ(NoteSeq(note), 0u);
    EXPECT_TRUE(NoteWantsEntries(note));
  }
  EXPECT_TRUE(Notes(fx, other).empty());
  // They count as not in sync, and in the progress target.
  EXPECT_FALSE(rep.InSyncWith(claimer));
  EXPECT_EQ(rep.GetPeerProgress(claimer).target, 50u);
  // A claim already held is updated, not refused.
  NotesMessage again;
  again.notes.push_back(NoteItem{FakeFeed(100), MakeNote(7, false), 1});
  rep.OnFrame(claimer, EncodeMessage(again), kT0 + 1);
  EXPECT_EQ(rep.stats().claims_refused, 40u);
  EXPECT_EQ(rep.GetPeerProgress(claimer).target, 52u);
  // The claimer leaves: nothing of its claims is saved or kept.
  rep.OnPeerDown(claimer, kT0 + 2);
  for (const Effect& e : rep.TakeEffects()) {
    if (e.kind != Effect::Kind::kSavePeerClock) continue;
    for (const auto& [feed, note] : e.clock) {
      EXPECT_NE(feed, FakeFeed(100)) << "a claim was saved in the peer's clock";
    }
  }
  EXPECT_EQ(rep.FeedStatuses().size(), 1u);
  EXPECT_EQ(rep.GetProgress().target, 0u);
}

TEST(ReplicatorLimitsTest, AClaimBecomesAFeedWhenItsEntriesVerify) {
  Node a(1), b(2);
  Net net({&a, &b});
  Author x(9);
  b.Inject(x.Next(3), kT0);
  net.Connect(a, b, kT0);
  net.Run(kT0);
  EXPECT_EQ(a.Seq(x.id()), 3u);
  // Now real on A: announced to others and saved in B's clock.
  net.Disconnect(a, b, kT0 + 1);
  std::map<FeedId, int64_t> saved = a.store().LoadPeerClock(b.id()).value();
  ASSERT_TRUE(saved.count(x.id()));
  EXPECT_EQ(NoteSeq(saved[x.id()]), 3u);
}

// ---- reconciliation (ReplicationOptions::reconcile, the default) ----

// The frames of `type` in `log` sent by `from`.
std::vector<const Effect*> SentOfType(const std::vector<Net::Delivered>& log,
                                      const FeedId& from, MessageType type) {
  std::vector<const Effect*> out;
  for (const Net::Delivered& d : log) {
    if (d.from == from && d.effect.kind == Effect::Kind::kSend &&
        d.effect.type == type)
      out.push_back(&d.effect);
  }
  return out;
}

// How many such frames, and their bytes.
size_t FramesOf(const std::vector<Net::Delivered>& log, const FeedId& from,
                MessageType type, size_t* bytes = nullptr) {
  std::vector<const Effect*> frames = SentOfType(log, from, type);
  if (bytes != nullptr) {
    for (const Effect* e : frames) *bytes += e->frame.size();
  }
  return frames.size();
}

size_t NoteItemsIn(const std::vector<Net::Delivered>& log, const FeedId& from) {
  size_t n = 0;
  for (const Effect* e : SentOfType(log, from, MessageType::kNotes)) {
    n += std::get<NotesMessage>(DecodeMessage(e->frame).value()).notes.size();
  }
  return n;
}

// `feeds` authors with `entries` each, injected into every node given.
// (Authors' keys are seeds 100 + i: at most 150 feeds.)
std::deque<Author> SharedFeeds(size_t feeds, size_t entries,
                               std::vector<Node*> nodes) {
  std::deque<Author> authors;
  for (size_t i = 0; i < feeds; ++i) {
    authors.emplace_back(static_cast<uint8_t>(100 + i));
    std::vector<Entry> es = authors.back().Next(entries);
    for (Node* n : nodes) n->Inject(es, kT0);
  }
  return authors;
}

TEST(ReplicatorReconcileTest, FirstContactOfIdenticalStoresAnnouncesNoFeed) {
  Node a(1, ReplicationOptions::Test()), b(2, ReplicationOptions::Test());
  Net net({&a, &b});
  std::deque<Author> authors = SharedFeeds(60, 3, {&a, &b});
  std::vector<Net::Delivered> log = net.Connect(a, b, kT0);
  // One session each way finds nothing; only the empty own feeds (which no
  // session lists: each side notes its own and answers about the other's)
  // are noted, not the 60 feeds.
  EXPECT_EQ(a.rep().stats().reconcile_sessions, 1u);
  EXPECT_EQ(a.rep().stats().reconcile_diffs, 0u);
  EXPECT_LE(NoteItemsIn(log, a.id()), 2u);
  EXPECT_LE(NoteItemsIn(log, b.id()), 2u);
  size_t bytes = 0;
  FramesOf(log, a.id(), MessageType::kReconcile, &bytes);
  EXPECT_LT(bytes, 400u) << "one round trip of 16 fingerprints";
  EXPECT_EQ(FramesOf(log, a.id(), MessageType::kEntries), 0u);
  EXPECT_TRUE(a.rep().InSyncWith(b.id()));
  EXPECT_TRUE(b.rep().InSyncWith(a.id()));
  EXPECT_EQ(a.rep().stats().first_contact_fallbacks, 0u);
  // The feeds count as known at their sequence: saved for the next
  // connect, and a new entry still replicates.
  a.Inject(authors[7].Next(1), kT0 + 1);
  net.Run(kT0 + 1);
  EXPECT_EQ(b.Seq(authors[7].id()), 4u);
  net.Disconnect(a, b, kT0 + 2);
  std::map<FeedId, int64_t> saved = a.store().LoadPeerClock(b.id()).value();
  EXPECT_GE(saved.size(), 60u);
  EXPECT_EQ(NoteSeq(saved[authors[0].id()]), 3u);
}

TEST(ReplicatorReconcileTest, FirstContactAnnouncesOnlyWhatDiffers) {
  Node a(1, ReplicationOptions::Test()), b(2, ReplicationOptions::Test());
  Net net({&a, &b});
  std::deque<Author> authors = SharedFeeds(80, 2, {&a, &b});
  // A is ahead on two feeds, B on one, and each has a feed the other lacks.
  a.Inject(authors[3].Next(2), kT0);
  a.Inject(authors[50].Next(1), kT0);
  b.Inject(authors[20].Next(3), kT0);
  Author only_a(7), only_b(8);
  a.Inject(only_a.Next(4), kT0);
  b.Inject(only_b.Next(5), kT0);
  std::vector<Net::Delivered> log = net.Connect(a, b, kT0);
  EXPECT_EQ(b.Seq(authors[3].id()), 4u);
  EXPECT_EQ(b.Seq(authors[50].id()), 3u);
  EXPECT_EQ(a.Seq(authors[20].id()), 5u);
  EXPECT_EQ(b.Seq(only_a.id()), 4u);
  EXPECT_EQ(a.Seq(only_b.id()), 5u);
  // Notes about the five differing feeds (and the own feeds), not 80.
  EXPECT_LE(NoteItemsIn(log, a.id()), 10u);
  EXPECT_LE(NoteItemsIn(log, b.id()), 10u);
  EXPECT_GE(a.rep().stats().reconcile_diffs + b.rep().stats().reconcile_diffs,
            5u);
  EXPECT_TRUE(a.rep().InSyncWith(b.id()));
  EXPECT_TRUE(b.rep().InSyncWith(a.id()));
  // Each entry went once.
  EXPECT_EQ(a.rep().stats().entries_sent, 2u + 1u + 4u);
  EXPECT_EQ(b.rep().stats().entries_sent, 3u + 5u);
}

TEST(ReplicatorReconcileTest, FreshNodeGetsEveryFeedOnFirstContact) {
  Node a(1, ReplicationOptions::Test()), b(2, ReplicationOptions::Test());
  Net net({&a, &b});
  std::deque<Author> authors = SharedFeeds(40, 5, {&a});
  net.Connect(a, b, kT0);
  for (const Author& x : authors) EXPECT_EQ(b.Seq(x.id()), 5u);
  EXPECT_TRUE(b.rep().InSyncWith(a.id()));
  EXPECT_TRUE(a.rep().InSyncWith(b.id()));
  EXPECT_EQ(a.rep().stats().entries_sent, 200u);
}

TEST(ReplicatorReconcileTest, UnansweredFirstContactFallsBackToNotesOfEveryFeed) {
  Node a(1, ReplicationOptions::Test());
  std::deque<Author> authors = SharedFeeds(12, 1, {&a});
  const FeedId peer = Key(2).public_key();
  a.rep().OnPeerUp(peer, kT0);
  std::vector<Effect> fx = a.Take();
  EXPECT_EQ(Frames(fx, peer, MessageType::kReconcile).size(), 1u);
  EXPECT_LE(Notes(fx, peer).size(), 1u);  // the empty own feed at most
  // No answer: before the timeout nothing more, at it every feed is noted.
  a.rep().Tick(kT0 + ReplicationOptions::Test().reconcile_timeout_ms - 1);
  EXPECT_EQ(Notes(a.Take(), peer).size(), 0u);
  a.rep().Tick(kT0 + ReplicationOptions::Test().reconcile_timeout_ms);
  fx = a.Take();
  std::map<FeedId, int64_t> notes = Notes(fx, peer);
  for (const Author& x : authors) EXPECT_TRUE(notes.count(x.id()));
  EXPECT_EQ(a.rep().stats().first_contact_fallbacks, 1u);
  EXPECT_EQ(a.rep().stats().reconcile_failures, 1u);
}

TEST(ReplicatorReconcileTest, ARoundFindsWhatPushMissedAndRepairsIt) {
  // A and C are not connected; C is A's only round target. C lacks the
  // newest entries of two feeds and a whole feed.
  Node a(1, ReplicationOptions::Test()), c(3, ReplicationOptions::Test());
  Net net({&a, &c});
  std::deque<Author> authors = SharedFeeds(30, 2, {&a, &c});
  a.Inject(authors[4].Next(3), kT0);
  a.Inject(authors[9].Next(1), kT0);
  Author extra(7);
  a.Inject(extra.Next(2), kT0);
  a.SetMembers({c.id()});
  const int64_t interval = ReplicationOptions::Test().digest_interval_ms;
  const int64_t grace = ReplicationOptions::Test().graft_timeout_ms;
  // Rounds until the repair arrives (entries held past the grace period).
  TimeMs now = kT0 + grace + 1;
  for (int i = 0; i < 20 && c.Seq(extra.id()) < 2; ++i) {
    now += interval * 2;
    a.rep().Tick(now);
    c.rep().Tick(now);
    net.Run(now);
  }
  EXPECT_EQ(c.Seq(authors[4].id()), 5u);
  EXPECT_EQ(c.Seq(authors[9].id()), 3u);
  EXPECT_EQ(c.Seq(extra.id()), 2u);
  EXPECT_GT(a.rep().stats().reconcile_sessions, 0u);
  EXPECT_EQ(a.rep().stats().digests_sent, 0u);
  EXPECT_EQ(a.rep().stats().entries_sent, 3u + 1u + 2u) << "each entry once";
}

TEST(ReplicatorReconcileTest, AnIdenticalPairCostsOneSmallRoundTripPerRound) {
  Node a(1, ReplicationOptions::Test()), b(2, ReplicationOptions::Test());
  Net net({&a, &b});
  SharedFeeds(150, 1, {&a, &b});
  net.Connect(a, b, kT0);
  const int64_t interval = ReplicationOptions::Test().digest_interval_ms;
  size_t bytes = 0;
  size_t frames = 0;
  TimeMs now = kT0;
  for (int i = 0; i < 10; ++i) {
    now += interval * 2;
    a.rep().Tick(now);
    b.rep().Tick(now);
    std::vector<Net::Delivered> log = net.Run(now);
    frames += FramesOf(log, a.id(), MessageType::kReconcile, &bytes);
    frames += FramesOf(log, b.id(), MessageType::kReconcile, &bytes);
    EXPECT_EQ(FramesOf(log, a.id(), MessageType::kEntries), 0u);
    EXPECT_EQ(FramesOf(log, a.id(), MessageType::kNotes), 0u);
  }
  // Each node starts one session per round (two rounds here per loop at
  // most); a session of identical sets is two messages.
  EXPECT_GE(frames, 20u);
  EXPECT_LT(bytes / frames, 200u) << bytes << " bytes in " << frames;
  EXPECT_EQ(a.rep().stats().reconcile_diffs, 0u);
}

// A fresh node with room for few claims (docs/protocol.md 7.1) drops the
// notes of most feeds at first contact; the rounds after find those feeds
// again and the peer announces them again as claims are delivered and room
// frees up (not repaired as well: that would send entries twice).
TEST(ReplicatorReconcileTest, FeedsBeyondTheClaimLimitAreAnnouncedAgainByLaterRounds) {
  ReplicationOptions small = ReplicationOptions::Test();
  small.max_claims_per_peer = 5;
  small.repair_max_entries = 1;  // repairs alone would take 100 rounds
  Node a(1, small), b(2, small);
  Net net({&a, &b});
  std::deque<Author> authors = SharedFeeds(30, 4, {&a});
  net.Connect(a, b, kT0);
  EXPECT_GT(b.rep().stats().claims_refused, 0u);
  const int64_t interval = small.digest_interval_ms;
  TimeMs now = kT0;
  int rounds = 0;
  auto all_there = [&] {
    for (const Author& x : authors) {
      if (b.Seq(x.id()) != 4) return false;
    }
    return true;
  };
  for (; rounds < 40 && !all_there(); ++rounds) {
    now += interval * 2;
    a.rep().Tick(now);
    b.rep().Tick(now);
    net.Run(now);
  }
  EXPECT_TRUE(all_there());
  EXPECT_LE(rounds, 15) << "about 5 feeds a round";
  EXPECT_TRUE(b.rep().InSyncWith(a.id()));
  // Each entry once: had A repaired the feeds B dropped instead of
  // announcing them again, B's claims of the same feeds (found in its own
  // sessions) would have brought some twice (125 here).
  EXPECT_EQ(a.rep().stats().entries_sent, 120u);
}

TEST(ReplicatorReconcileTest, ARoundOutOfTurnDropsThePeer) {
  Node a(1, ReplicationOptions::Test());
  SharedFeeds(20, 1, {&a});
  const FeedId peer = Key(2).public_key();
  a.rep().OnPeerUp(peer, kT0);
  std::vector<Message> first =
      Frames(a.Take(), peer, MessageType::kReconcile);
  ASSERT_EQ(first.size(), 1u);
  const ReconcileMessage& start = std::get<ReconcileMessage>(first[0]);
  // A reply of the right session but round 3 (A expects round 1).
  ReconcileMessage bad;
  bad.session = start.session;
  bad.round = 3;
  bad.fingerprint_bytes = start.fingerprint_bytes;
  ReconcilePart part;
  part.mode = ReconcileMode::kItems;
  bad.parts.push_back(part);
  a.Receive(peer, bad, kT0 + 1);
  std::vector<Effect> fx = a.Take();
  EXPECT_EQ(Events(fx, ReplicationEvent::kMalformedFrame).size(), 1u);
  EXPECT_TRUE(std::any_of(fx.begin(), fx.end(), [&](const Effect& e) {
    return e.kind == Effect::Kind::kDisconnect && e.peer == peer;
  }));
  // A stale session (one nobody runs) is ignored, not punished.
  ReconcileMessage stale = bad;
  stale.session = start.session + 1;
  a.Receive(Key(3).public_key(), stale, kT0 + 2);
  fx = a.Take();
  EXPECT_TRUE(Events(fx, ReplicationEvent::kMalformedFrame).empty());
}

}  // namespace
}  // namespace plumlog::replication
