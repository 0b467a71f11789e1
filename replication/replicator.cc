// Replicator: peers, message dispatch, timers, policy changes, observation
// and the effect plumbing. The protocol itself is in ebt_notes.cc,
// plumtree.cc and digest_repair.cc.
#include "replication/replicator.h"

#include <algorithm>
#include <variant>

#include "replication/note.h"
#include "replication/replicator_internal.h"

namespace plumlog::replication {

const char* ReplicationEventName(ReplicationEvent e) {
  switch (e) {
    case ReplicationEvent::kInvalidEntry:
      return "invalid entry";
    case ReplicationEvent::kFork:
      return "fork";
    case ReplicationEvent::kMalformedFrame:
      return "malformed frame";
    case ReplicationEvent::kGraft:
      return "graft";
    case ReplicationEvent::kPrune:
      return "prune";
    case ReplicationEvent::kStoreError:
      return "store error";
  }
  return "unknown";
}

Replicator::Replicator(const storage::ReplicationStore* store,
                       const ReplicationOptions& options, uint64_t seed,
                       const FeedFilter* filter)
    : store_(store),
      options_(options),
      filter_(filter),
      self_(store->local_id()),
      rng_(seed),
      recon_source_(store),
      reconciler_(&recon_source_, ReconcileOptions()) {
  Result<std::vector<FeedInfo>> feeds = store_->Feeds();
  if (feeds.ok()) {
    for (const FeedInfo& f : *feeds) {
      if (!Replicates(f.author)) continue;
      FeedState& fs = feeds_[f.author];
      fs.seq = f.seq;
      fs.forked = f.forked;
      fs.head_prefix = HeadPrefix(f.head);
      fs.hops = f.author == self_ ? 0 : kUnknownHops;
    }
  } else {
    StoreError(FeedId(), FeedId(),
               feeds.status().WithContext("cannot list the feeds"));
  }
  feeds_[self_].hops = 0;
}

Replicator::~Replicator() = default;

// ---- policy ----

bool Replicator::Replicates(const FeedId& feed) const {
  if (feed == self_) return true;
  if (filter_ != nullptr) return filter_->Replicates(feed);
  return options_.replicate_all;
}

bool Replicator::SharedWith(const FeedId& feed, const FeedId& peer) const {
  return Replicates(feed) && !blocked_for_peer_.count({feed, peer});
}

Replicator::FeedState& Replicator::Feed(const FeedId& feed) {
  auto [it, inserted] = feeds_.try_emplace(feed);
  Touch(feed);
  if (inserted && feed == self_) it->second.hops = 0;
  return it->second;
}

Replicator::Peer* Replicator::FindPeer(const FeedId& peer) {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : it->second.get();
}

const Replicator::Peer* Replicator::FindPeer(const FeedId& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : it->second.get();
}

Replicator::Peer& Replicator::TransientPeer(const FeedId& peer, TimeMs now) {
  auto& slot = peers_[peer];
  if (!slot) {
    slot = std::make_unique<Peer>();
    slot->id = peer;
  }
  slot->last_seen = now;
  return *slot;
}

void Replicator::OnPolicyChange(const FeedId& feed, TimeMs now) {
  if (feed == self_) return;
  if (!Replicates(feed)) {
    if (!feeds_.count(feed)) return;
    for (const FeedId& pid : peer_order_) {
      Peer& p = *peers_[pid];
      p.backlog.erase(feed);
      auto it = p.feeds.find(feed);
      // Tell the peers that know we had it, so they stop announcing it.
      if (it != p.feeds.end() &&
          (it->second.known || it->second.note_sent != -2)) {
        QueueNote(p, feed, kNoteNotReplicating);
      }
    }
    FlushAll();
    ForgetFeed(feed);
    return;
  }
  if (feeds_.count(feed)) return;  // already replicated
  FeedState& fs = Feed(feed);
  // A feed that becomes replicated (followed, unblocked) may have entries
  // stored from before. (Entries stored meanwhile and not yet delivered by
  // OnStoreEntry are taken as held already.)
  Result<FeedInfo> head = store_->Feed(feed);
  if (head.ok()) {
    fs.seq = head->seq;
    fs.forked = head->forked;
    fs.head_prefix = HeadPrefix(head->head);
  } else if (head.status().code() != Status::Code::kNotFound) {
    StoreError(FeedId(), feed,
               head.status().WithContext("cannot read the feed's head"));
  }
  if (fs.forked) return;
  for (const FeedId& pid : peer_order_) {
    if (!SharedWith(feed, pid)) continue;
    if (!fs.eager) {
      fs.eager = pid;
      fs.last_delivery = now;
    }
    QueueNote(*peers_[pid], feed, MakeNote(fs.seq, fs.eager == pid));
  }
  FlushAll();
}

void Replicator::ForgetFeed(const FeedId& feed) {
  auto it = feeds_.find(feed);
  if (it == feeds_.end()) return;
  Unindex(feed, it->second);
  feeds_.erase(it);
  touched_.erase(feed);
  for (auto& [pid, p] : peers_) {
    p->feeds.erase(feed);
    p->claims.erase(feed);
    p->backlog.erase(feed);
    p->out_notes.erase(feed);
  }
  auto w = pending_wants_.find(feed);
  if (w != pending_wants_.end()) {
    want_timers_.erase({w->second.deadline, feed});
    pending_wants_.erase(w);
  }
}

void Replicator::BlockFeedForPeer(const FeedId& feed, const FeedId& peer,
                                  TimeMs now) {
  blocked_for_peer_.insert({feed, peer});
  if (Peer* p = FindPeer(peer)) {
    p->backlog.erase(feed);
    QueueNote(*p, feed, kNoteNotReplicating);
  }
  auto it = feeds_.find(feed);
  if (it != feeds_.end() && it->second.eager == peer) {
    it->second.eager.reset();
    Touch(feed);
    ChooseEagerFor(feed, now);
  }
  FlushAll();
}

// ---- connection events ----

void Replicator::OnPeerUp(const FeedId& peer, TimeMs now) {
  if (peer == self_) return;
  Peer& p = TransientPeer(peer, now);
  if (p.connected) return;
  p.connected = true;
  p.congested = false;
  p.notes_received = false;
  p.feeds.clear();
  peer_order_.push_back(peer);
  Result<std::map<FeedId, int64_t>> stored = store_->LoadPeerClock(peer);
  if (stored.ok()) {
    p.stored_clock = std::move(stored).value();
  } else {
    p.stored_clock.clear();
    StoreError(peer, FeedId(),
               stored.status().WithContext("cannot load the peer's clock"));
  }
  uint64_t sum = 0;
  for (const auto& [id, fs] : feeds_) sum += fs.seq;
  p.progress_start = sum;
  recon_.erase(peer);  // sessions of an earlier connection are over
  if (options_.reconcile && p.stored_clock.empty()) {
    // Never talked (or nothing in common): find what differs first.
    StartFirstContact(p, now);
  } else {
    SendInitialNotes(p);
    if (p.out_notes.empty()) {
      // Nothing changed since the last connection: an empty Notes frame
      // still tells the peer our clock is complete (InSyncWith waits for it).
      ++stats_.frames_sent;
      Send(p.id, EncodeMessage(NotesMessage{}), MessageType::kNotes);
    }
  }
  FlushAll();
}

void Replicator::OnPeerDown(const FeedId& peer, TimeMs now) {
  Peer* p = FindPeer(peer);
  if (!p) return;
  if (p->connected) SavePeerClock(*p);
  std::erase(peer_order_, peer);
  recon_.erase(peer);
  std::vector<FeedId> orphaned;
  for (auto& [id, fs] : feeds_) {
    if (fs.eager == peer) {
      fs.eager.reset();
      orphaned.push_back(id);
    }
  }
  peers_.erase(peer);
  for (const FeedId& f : orphaned) {
    Touch(f);
    ChooseEagerFor(f, now);
  }
  FlushAll();
}

// ---- messages ----

// One handler per message type: std::visit does not compile without one for
// every alternative of Message, so a new message type cannot go unhandled.
class Replicator::Dispatch {
 public:
  Dispatch(Replicator* r, Peer* p, TimeMs now) : r_(r), p_(p), now_(now) {}
  void operator()(NotesMessage& m) {
    // Notes only count from a peer we replicate with.
    if (p_->connected) r_->HandleNotes(*p_, m, now_);
  }
  void operator()(EntriesMessage& m) { r_->HandleEntries(*p_, m, now_); }
  void operator()(DigestMessage& m) { r_->HandleDigest(*p_, m, now_); }
  void operator()(WantMessage& m) { r_->HandleWant(*p_, m, now_); }
  void operator()(ForkProofMessage& m) { r_->HandleForkProof(*p_, m, now_); }
  void operator()(ReconcileMessage& m) { r_->HandleReconcile(*p_, m, now_); }

 private:
  Replicator* r_;
  Peer* p_;
  TimeMs now_;
};

void Replicator::OnFrame(const FeedId& peer, std::string_view frame,
                         TimeMs now) {
  if (peer == self_) return;
  Result<Message> m = DecodeMessage(frame);
  if (!m.ok()) {
    ++stats_.malformed_frames;
    Report(ReplicationEvent::kMalformedFrame, peer, FeedId(), 0,
           m.status().ToString());
    DropPeer(peer, "malformed frame: " + m.status().ToString());
    FlushAll();
    return;
  }
  OnMessage(peer, std::move(m).value(), now);
}

void Replicator::OnMessage(const FeedId& peer, Message message, TimeMs now) {
  if (peer == self_) return;
  Peer& p = TransientPeer(peer, now);
  std::visit(Dispatch(this, &p, now), message);
  FlushAll();
}

// ---- output ----

std::vector<Effect> Replicator::TakeEffects() {
  std::vector<Effect> out;
  out.swap(effects_);
  return out;
}

void Replicator::Send(const FeedId& peer, std::string frame, MessageType type,
                      size_t entries) {
  Effect e;
  e.kind = Effect::Kind::kSend;
  e.peer = peer;
  e.frame = std::move(frame);
  e.type = type;
  e.entries = entries;
  effects_.push_back(std::move(e));
}

void Replicator::Report(ReplicationEvent ev, const FeedId& peer,
                        const FeedId& feed, uint64_t seq, std::string detail) {
  Effect e;
  e.kind = Effect::Kind::kEvent;
  e.event = ev;
  e.peer = peer;
  e.feed = feed;
  e.seq = seq;
  e.detail = std::move(detail);
  effects_.push_back(std::move(e));
}

void Replicator::StoreError(const FeedId& peer, const FeedId& feed,
                            const Status& status) {
  ++stats_.store_errors;
  Report(ReplicationEvent::kStoreError, peer, feed, 0, status.ToString());
}

void Replicator::DropPeer(const FeedId& peer, std::string reason) {
  Effect e;
  e.kind = Effect::Kind::kDisconnect;
  e.peer = peer;
  e.detail = std::move(reason);
  effects_.push_back(std::move(e));
}

// ---- timers ----

TimeMs Replicator::FeedDeadline(const FeedId& feed, const FeedState& fs) const {
  if (fs.forked) return 0;
  if (fs.graft_deadline != 0) return fs.graft_deadline;
  // A silent eager source matters only while no graft deadline is pending,
  // and only when it claims more than we have (CheckGrafts' condition).
  if (!fs.eager) return 0;
  const Peer* e = FindPeer(*fs.eager);
  if (e == nullptr) return 0;
  auto pf = e->feeds.find(feed);
  if (pf == e->feeds.end() || pf->second.seq <= fs.seq) return 0;
  return fs.last_delivery + options_.graft_timeout_ms;
}

void Replicator::Unindex(const FeedId& feed, FeedState& fs) {
  if (fs.timer != 0) {
    feed_timers_.erase({fs.timer, feed});
    fs.timer = 0;
  }
}

void Replicator::Retime() {
  for (const FeedId& feed : touched_) {
    ++stats_.timer_work;
    auto it = feeds_.find(feed);
    if (it == feeds_.end()) continue;
    FeedState& fs = it->second;
    const TimeMs t = FeedDeadline(feed, fs);
    if (t == fs.timer) continue;
    Unindex(feed, fs);
    if (t != 0) {
      feed_timers_.emplace(t, feed);
      fs.timer = t;
    }
  }
  touched_.clear();
}

bool Replicator::TimersConsistent() const {
  if (!touched_.empty()) return false;
  size_t indexed = 0;
  for (const auto& [feed, fs] : feeds_) {
    const TimeMs t = FeedDeadline(feed, fs);
    if (t != fs.timer) return false;
    if (t != 0) {
      if (!feed_timers_.count({t, feed})) return false;
      ++indexed;
    }
  }
  return indexed == feed_timers_.size();
}

void Replicator::Tick(TimeMs now) {
  CheckGrafts(now);
  SendPendingWants(now);
  ExpireReconciles(now);
  if (now >= next_digest_) {
    if (next_digest_ != 0) DigestRound(now);
    // Jitter of +-10% keeps nodes from synchronising their rounds.
    const int64_t interval = options_.digest_interval_ms;
    std::uniform_int_distribution<int64_t> jitter(-interval / 10,
                                                  interval / 10);
    next_digest_ = now + interval + jitter(rng_);
  }
  if (now >= next_clock_save_) {
    if (next_clock_save_ != 0) SavePeerClocks();
    next_clock_save_ = now + options_.peer_clock_save_ms;
  }
  FlushAll();
}

TimeMs Replicator::NextTimeout() const {
  // A backlog left over by max_push_per_pump continues on the next Tick: due
  // now.
  for (const auto& [id, p] : peers_) {
    if (p->connected && !p->congested && !p->backlog.empty()) return 0;
  }
  TimeMs next = std::min(next_digest_, next_clock_save_);
  if (!want_timers_.empty()) next = std::min(next, want_timers_.begin()->first);
  if (!feed_timers_.empty()) next = std::min(next, feed_timers_.begin()->first);
  return next;
}

// ---- observation and persistence ----

Progress Replicator::GetProgress() const {
  Progress pr;
  std::map<FeedId, uint64_t> target;
  for (const auto& [feed, fs] : feeds_) {
    pr.current += fs.seq;
    target[feed] = fs.seq;
  }
  uint64_t start = pr.current;
  for (const auto& [pid, p] : peers_) {
    if (!p->connected) continue;
    start = std::min(start, p->progress_start);
    for (const auto& [feed, pf] : p->feeds) {
      if (pf.replicates && !pf.error && Replicates(feed)) {
        auto& t = target[feed];
        t = std::max(t, pf.seq);
      }
    }
    // What connected peers claim of feeds we hold nothing of counts too
    // (as SSB's progress counts every note).
    for (const auto& [feed, claim] : p->claims) {
      if (Replicates(feed)) {
        auto& t = target[feed];
        t = std::max(t, claim.seq);
      }
    }
  }
  for (const auto& [feed, t] : target) pr.target += t;
  pr.start = start;
  return pr;
}

Progress Replicator::GetPeerProgress(const FeedId& peer) const {
  Progress pr;
  const Peer* p = FindPeer(peer);
  if (p == nullptr) return pr;
  pr.start = p->progress_start;
  for (const auto& [feed, fs] : feeds_) {
    pr.current += fs.seq;
    uint64_t t = fs.seq;
    auto jt = p->feeds.find(feed);
    if (jt != p->feeds.end() && jt->second.replicates) {
      t = std::max(t, jt->second.seq);
      if (jt->second.known) {
        const uint64_t has = std::max(jt->second.seq, jt->second.sent);
        pr.peer_lacks += fs.seq - std::min(fs.seq, has);
      }
    }
    pr.target += t;
  }
  for (const auto& [feed, claim] : p->claims) {
    if (Replicates(feed)) pr.target += claim.seq;
  }
  return pr;
}

std::vector<FeedId> Replicator::ConnectedPeers() const { return peer_order_; }

void Replicator::SetPeerCongested(const FeedId& peer, bool congested) {
  Peer* p = FindPeer(peer);
  if (p == nullptr || p->congested == congested) return;
  p->congested = congested;
  if (!congested && p->connected) {
    Flush(*p);
    Retime();
  }
}

bool Replicator::InSyncWith(const FeedId& peer) const {
  const Peer* pp = FindPeer(peer);
  if (pp == nullptr) return false;
  const Peer& p = *pp;
  // During a first contact the feeds not announced yet are unknown.
  if (!p.connected || !p.notes_received || p.first_contact) return false;
  if (!p.backlog.empty() || !p.out_push.empty() || !p.out_repair.empty() ||
      !p.out_notes.empty()) {
    return false;
  }
  for (const auto& [feed, fs] : feeds_) {
    if (fs.forked || !SharedWith(feed, peer)) continue;
    auto jt = p.feeds.find(feed);
    if (jt == p.feeds.end() || !jt->second.known) {
      // They have not answered our note for a feed we hold yet.
      if (fs.seq > 0) return false;
      continue;
    }
    const PeerFeed& pf = jt->second;
    if (!pf.replicates || pf.error) continue;
    if (pf.seq > fs.seq) return false;  // they have more
    if (pf.tx && pf.sent < fs.seq && pf.seq < fs.seq)
      return false;  // we owe them
  }
  // Feeds only they have, still claims: asked, not delivered yet.
  for (const auto& [feed, claim] : p.claims) {
    if (SharedWith(feed, peer)) return false;
  }
  // Feeds only they have: we must hold them too.
  for (const auto& [feed, pf] : p.feeds) {
    if (!pf.known || !pf.replicates || pf.error || pf.seq == 0) continue;
    if (feeds_.count(feed)) continue;
    if (SharedWith(feed, peer)) return false;
  }
  return true;
}

std::vector<Replicator::FeedStatus> Replicator::FeedStatuses() const {
  std::vector<FeedStatus> out;
  out.reserve(feeds_.size());
  for (const auto& [feed, fs] : feeds_) {
    FeedStatus st;
    st.feed = feed;
    st.local = fs.seq;
    st.remote = fs.seq;
    st.forked = fs.forked;
    if (fs.eager) st.eager = *fs.eager;
    for (const auto& [pid, p] : peers_) {
      if (!p->connected) continue;
      auto jt = p->feeds.find(feed);
      if (jt != p->feeds.end() && jt->second.replicates && !jt->second.error) {
        st.remote = std::max(st.remote, jt->second.seq);
      }
    }
    out.push_back(st);
  }
  return out;
}

std::optional<uint64_t> Replicator::HeardSeq(const FeedId& feed) const {
  std::optional<uint64_t> most;
  for (const auto& [pid, p] : peers_) {
    if (!p->connected) continue;
    auto jt = p->feeds.find(feed);
    if (jt == p->feeds.end() || !jt->second.heard || !jt->second.replicates) continue;
    most = std::max(most.value_or(0), jt->second.seq);
  }
  return most;
}

std::optional<FeedId> Replicator::EagerSource(const FeedId& feed) const {
  auto it = feeds_.find(feed);
  if (it == feeds_.end()) return std::nullopt;
  return it->second.eager;
}

void Replicator::SavePeerClock(Peer& p) {
  if (!p.clock_dirty) return;
  Effect e;
  e.kind = Effect::Kind::kSavePeerClock;
  e.peer = p.id;
  e.clock = p.stored_clock;
  effects_.push_back(std::move(e));
  p.clock_dirty = false;
}

void Replicator::SavePeerClocks() {
  for (auto& [pid, p] : peers_) {
    if (p->connected) SavePeerClock(*p);
  }
}

}  // namespace plumlog::replication
