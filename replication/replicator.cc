#include "replication/replicator.h"

#include <algorithm>
#include <deque>

#include "replication/note.h"

namespace plumlog::replication {
namespace {

// Hops value meaning "distance to the author unknown".
constexpr uint32_t kUnknownHops = kMaxHops;
// Frame overhead allowance when packing entries into a frame.
constexpr size_t kFrameSlack = 64;

uint32_t NextHops(uint32_t hops) { return hops >= kUnknownHops - 1 ? kUnknownHops : hops + 1; }

}  // namespace

struct Replicator::PeerFeed {
  bool known = false;       // the peer sent a note or entries of this feed
  bool replicates = true;   // false: their note was -1
  uint64_t seq = 0;         // their latest sequence, as far as we know
  bool tx = false;          // they asked us to push entries
  uint64_t sent = 0;        // pushed (or they had) up to here
  bool error = false;       // they sent an invalid entry: ignored for this feed
  uint32_t hops = kUnknownHops;  // their distance to the author
  int64_t note_sent = -2;   // the last note we sent them (-2: none yet)
};

struct Replicator::Peer {
  FeedId id;
  bool connected = false;
  bool congested = false;       // the transport's send queue is full: no backlog pumping
  bool notes_received = false;  // their notes arrived since they connected
  TimeMs last_seen = 0;
  std::unordered_map<FeedId, PeerFeed> feeds;
  std::map<FeedId, int64_t> stored_clock;  // notes of the last connection, kept current
  bool clock_dirty = false;
  uint64_t progress_start = 0;
  // Outgoing, coalesced until Flush.
  std::map<FeedId, NoteItem> out_notes;
  std::vector<std::pair<uint32_t, Entry>> out_push;  // (hops, entry), in order
  std::vector<Entry> out_repair;
  std::set<FeedId> backlog;  // feeds with entries to push from the store
};

struct Replicator::FeedState {
  uint64_t seq = 0;
  bool forked = false;
  std::optional<FeedId> eager;
  TimeMs last_delivery = 0;   // last push from the eager source (or when it became eager)
  TimeMs graft_deadline = 0;  // 0: none pending
  uint32_t hops = kUnknownHops;
  uint32_t pending_hops = kUnknownHops;  // hops of the frame being ingested
  uint64_t head_prefix = 0;              // HeadPrefix of entry `seq`
  // Recent arrivals, (first seq, time), one pair per distinct time, for
  // StableSeq: what we have held for at least a graft timeout.
  std::deque<std::pair<uint64_t, TimeMs>> recent;
};

struct Replicator::PendingWant {
  FeedId peer;
  uint64_t seq = 0;  // what the peer claimed
  TimeMs deadline = 0;
};

Replicator::Replicator(Store* store, const ReplicationOptions& options, uint64_t seed,
                       ReplicationPolicy* policy)
    : store_(store), options_(options), policy_(policy), self_(store->local_id()), rng_(seed) {
  Result<std::vector<FeedInfo>> feeds = store_->Feeds();
  if (feeds.ok()) {
    for (const FeedInfo& f : *feeds) {
      FeedState& fs = feeds_[f.author];
      fs.seq = f.seq;
      fs.forked = f.forked;
      fs.head_prefix = HeadPrefix(f.head);
      fs.hops = f.author == self_ ? 0 : kUnknownHops;
    }
  }
  feeds_[self_].hops = 0;
}

Replicator::~Replicator() = default;

// ---- policy ----

bool Replicator::Replicates(const FeedId& feed) const {
  if (blocked_.count(feed)) return false;
  if (!options_.replicate_all && feed != self_ && !follows_.count(feed)) return false;
  if (policy_ && feed != self_ && !policy_->ShouldReplicate(feed)) return false;
  return true;
}

bool Replicator::SharedWith(const FeedId& feed, const FeedId& peer) const {
  return Replicates(feed) && !blocked_for_peer_.count({feed, peer});
}

Replicator::FeedState& Replicator::Feed(const FeedId& feed) {
  auto [it, inserted] = feeds_.try_emplace(feed);
  if (inserted && feed == self_) it->second.hops = 0;
  return it->second;
}

Replicator::Peer* Replicator::FindPeer(const FeedId& peer) {
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
  p.stored_clock = stored.ok() ? std::move(stored).value() : std::map<FeedId, int64_t>();
  uint64_t sum = 0;
  for (const auto& [id, fs] : feeds_) sum += fs.seq;
  p.progress_start = sum;
  SendInitialNotes(p);
  if (p.out_notes.empty()) {
    // Nothing changed since the last connection: an empty Notes frame still
    // tells the peer our clock is complete (InSyncWith waits for it).
    ++stats_.frames_sent;
    Send(p.id, EncodeMessage(NotesMessage{}), MessageType::kNotes);
  }
  FlushAll();
}

void Replicator::OnPeerDown(const FeedId& peer, TimeMs now) {
  Peer* p = FindPeer(peer);
  if (!p) return;
  if (p->connected) SavePeerClock(*p);
  std::erase(peer_order_, peer);
  std::vector<FeedId> orphaned;
  for (auto& [id, fs] : feeds_) {
    if (fs.eager == peer) {
      fs.eager.reset();
      orphaned.push_back(id);
    }
  }
  peers_.erase(peer);
  for (const FeedId& f : orphaned) ChooseEagerFor(f, now);
  FlushAll();
}

void Replicator::SendInitialNotes(Peer& p) {
  // Request skipping: a feed whose sequence equals what this peer last told us
  // has not changed on either side since; if the peer's copy changed, it sends
  // its own note.
  auto consider = [&](const FeedId& feed) {
    if (!SharedWith(feed, p.id)) return;
    FeedState& fs = Feed(feed);
    if (fs.forked) return;
    auto it = p.stored_clock.find(feed);
    if (it != p.stored_clock.end() && NoteReplicates(it->second) &&
        NoteSeq(it->second) == fs.seq) {
      PeerFeed& pf = p.feeds[feed];
      pf.known = true;
      pf.seq = fs.seq;
      pf.sent = fs.seq;
      return;
    }
    // The first peer to connect becomes the eager source of what we hold (as
    // in EBT), but not of a feed we hold nothing of unless this peer is known
    // to have some: for a new feed, two nodes connecting to each other first
    // would become each other's source and miss its first entries until a
    // graft timeout; with no source, the first announcement of an entry picks
    // its sender at once.
    const bool known_ahead = it != p.stored_clock.end() && NoteReplicates(it->second) &&
                             NoteSeq(it->second) > fs.seq;
    if (!fs.eager && (known_ahead || (fs.seq > 0 && (it == p.stored_clock.end() ||
                                                     !NoteReplicates(it->second))))) {
      fs.eager = p.id;
      fs.last_delivery = p.last_seen;
    }
    QueueNote(p, feed, MakeNote(fs.seq, fs.eager == p.id));
  };
  std::vector<FeedId> ids;
  for (const auto& [id, fs] : feeds_) ids.push_back(id);
  for (const FeedId& id : ids) consider(id);
  for (const FeedId& id : follows_) {
    if (!feeds_.count(id)) consider(id);
  }
  for (const auto& [id, note] : p.stored_clock) {
    if (!feeds_.count(id) && NoteReplicates(note) && NoteSeq(note) > 0) consider(id);
  }
}

// ---- frames ----

void Replicator::OnFrame(const FeedId& peer, std::string_view frame, TimeMs now) {
  if (peer == self_) return;
  Result<Message> m = DecodeMessage(frame);
  if (!m.ok()) {
    ++stats_.malformed_frames;
    Report(ReplicationEvent::kMalformedFrame, peer, FeedId(), 0, m.status().ToString());
    DropPeer(peer, "malformed frame: " + m.status().ToString());
    FlushAll();
    return;
  }
  Peer& p = TransientPeer(peer, now);
  if (auto* notes = std::get_if<NotesMessage>(&*m)) {
    if (p.connected) HandleNotes(p, *notes, now);
  } else if (auto* entries = std::get_if<EntriesMessage>(&*m)) {
    HandleEntries(p, *entries, now);
  } else if (auto* digest = std::get_if<DigestMessage>(&*m)) {
    HandleDigest(p, *digest, now);
  } else if (auto* want = std::get_if<WantMessage>(&*m)) {
    HandleWant(p, *want, now);
  } else if (auto* proof = std::get_if<ForkProofMessage>(&*m)) {
    const FeedId author = proof->first.author();
    if (SharedWith(author, peer) && !Feed(author).forked) {
      Status st = store_->AddForkProof(proof->first, proof->second);
      if (st.ok()) {
        ++stats_.forks;
        Report(ReplicationEvent::kFork, peer, author, proof->first.seq(), "fork proof received");
        StopFeed(author, &proof->first, &proof->second);
      } else if (st.code() != Status::Code::kAlreadyExists) {
        Report(ReplicationEvent::kInvalidEntry, peer, author, proof->first.seq(),
               "bad fork proof: " + st.ToString());
        if (!proof->first.VerifySignature() || !proof->second.VerifySignature()) {
          DropPeer(peer, "sent a fork proof with a bad signature");
        }
      }
    }
  }
  FlushAll();
}

void Replicator::HandleNotes(Peer& p, NotesMessage& m, TimeMs now) {
  if (p.connected) p.notes_received = true;
  for (const NoteItem& item : m.notes) {
    const FeedId& feed = item.feed;
    if (feeds_.size() >= options_.max_feeds && !feeds_.count(feed) && !p.feeds.count(feed)) {
      // Hostile or runaway: each feed costs state here and in the stored
      // peer clock. Feeds we already track still work.
      ++stats_.feeds_refused;
      continue;
    }
    PeerFeed& pf = p.feeds[feed];
    pf.known = true;
    p.stored_clock[feed] = item.note;
    p.clock_dirty = true;
    if (!NoteReplicates(item.note)) {
      pf.replicates = false;
      pf.tx = false;
      p.backlog.erase(feed);
      auto it = feeds_.find(feed);
      if (it != feeds_.end() && it->second.eager == p.id) {
        it->second.eager.reset();
        ChooseEagerFor(feed, now);
      }
      continue;
    }
    pf.replicates = true;
    pf.seq = NoteSeq(item.note);
    pf.hops = item.hops;
    if (!SharedWith(feed, p.id)) {
      QueueNote(p, feed, kNoteNotReplicating);
      pf.tx = false;
      continue;
    }
    FeedState& fs = Feed(feed);
    if (fs.forked) {
      QueueNote(p, feed, kNoteNotReplicating);
      continue;
    }
    pf.tx = NoteWantsEntries(item.note);
    if (pf.tx) {
      pf.sent = pf.seq;
      if (fs.seq > pf.seq) StartBacklog(p, feed);
    } else {
      p.backlog.erase(feed);
    }
    // Is this peer a better source than what we have?
    if (pf.seq > fs.seq && !pf.error) {
      if (!fs.eager) {
        SetEager(feed, &p, now, /*graft=*/false);
      } else if (*fs.eager != p.id) {
        Peer* e = FindPeer(*fs.eager);
        const PeerFeed* ef = nullptr;
        if (e) {
          auto it = e->feeds.find(feed);
          if (it != e->feeds.end()) ef = &it->second;
        }
        const uint64_t eager_seq = ef ? ef->seq : 0;
        const uint32_t eager_hops = ef ? ef->hops : kUnknownHops;
        if (!e || pf.seq > std::max(eager_seq, fs.seq) + options_.far_ahead) {
          // The eager source is gone, or far behind this one: graft now.
          // (Our view of the eager's sequence lags: pushes carry no note, so a
          // lazy announcement normally overtakes the push; that is what the
          // timer below is for.)
          SetEager(feed, &p, now, /*graft=*/true);
        } else if (options_.optimize_hops > 0 && pf.seq >= eager_seq &&
                   eager_hops != kUnknownHops &&
                   pf.hops + options_.optimize_hops <= eager_hops) {
          SetEager(feed, &p, now, /*graft=*/true);  // plumtree optimisation
        } else if (fs.graft_deadline == 0) {
          fs.graft_deadline = now + options_.graft_timeout_ms;  // IHAVE timer
        }
      }
    }
    // Make sure the peer knows where we stand on this feed.
    if (pf.note_sent == -2 || (!pf.tx && fs.seq > pf.seq)) {
      QueueNote(p, feed, MakeNote(fs.seq, fs.eager == p.id));
    }
  }
}

void Replicator::HandleEntries(Peer& p, EntriesMessage& m, TimeMs now) {
  stats_.entries_received += m.entries.size();
  // Group by feed, keeping order within each feed.
  std::map<FeedId, std::vector<Entry>> by_feed;
  for (Entry& e : m.entries) by_feed[e.author()].push_back(std::move(e));
  for (auto& [feed, entries] : by_feed) {
    PeerFeed& pf = p.feeds[feed];
    if (!SharedWith(feed, p.id) || pf.error) continue;
    FeedState& fs = Feed(feed);
    if (fs.forked) continue;
    pf.known = true;
    pf.seq = std::max(pf.seq, entries.back().seq());
    pf.hops = m.hops;
    if (p.connected) {
      p.stored_clock[feed] = MakeNote(pf.seq, fs.eager == p.id);
      p.clock_dirty = true;
    }
    if (!m.repair && fs.eager == p.id) fs.last_delivery = now;
    // Duplicates from a peer that is not our eager source: prune it.
    size_t dups = 0;
    for (const Entry& e : entries) dups += e.seq() <= fs.seq;
    if (dups > 0 && !m.repair && p.connected && fs.eager != p.id) {
      pf.note_sent = -2;  // force: they may have missed the earlier one
      QueueNote(p, feed, MakeNote(fs.seq, false));
      ++stats_.prunes;
      Report(ReplicationEvent::kPrune, p.id, feed, fs.seq, "");
    }
    fs.pending_hops = NextHops(m.hops);
    const uint64_t head_before = fs.seq;
    IngestResult r = store_->Ingest(entries);
    stats_.duplicates_received += r.duplicates;
    stats_.entries_stored += r.stored;
    if (r.ok()) continue;
    const Entry& bad = entries[*r.failed_index];
    const uint64_t head = head_before + r.stored;  // entries arrive in order
    if (r.failure.code() == Status::Code::kForked) {
      ++stats_.forks;
      Report(ReplicationEvent::kFork, p.id, feed, bad.seq(), r.failure.message());
      Result<Entry> first = store_->Get(feed, bad.seq());
      StopFeed(feed, first.ok() ? &first.value() : nullptr, &bad);
    } else if (r.failure.code() == Status::Code::kInvalidEntry && bad.seq() > head + 1 &&
               bad.VerifySignature()) {
      // A gap: frames were lost on the way. Ask the eager source to resend
      // from where we are; digests cover every other case.
      if (fs.eager == p.id && p.connected) {
        pf.note_sent = -2;
        QueueNote(p, feed, MakeNote(head, true));
      }
    } else if (r.failure.code() == Status::Code::kInvalidEntry) {
      pf.error = true;
      ++stats_.invalid_entries;
      Report(ReplicationEvent::kInvalidEntry, p.id, feed, bad.seq(), r.failure.message());
      if (fs.eager == p.id) {
        fs.eager.reset();
        ChooseEagerFor(feed, now);
      }
      // Every node verifies before it stores or forwards, so a bad signature
      // is a forgery (or corruption on the sender's side): drop the peer.
      // A broken chain is only blocked: it can be a fork seen from the other
      // branch.
      if (!bad.VerifySignature()) DropPeer(p.id, "sent an entry with a bad signature");
    }
    // Other failures (disk full, I/O) are the store's to report; the entries
    // come again through push or repair.
  }
}

void Replicator::HandleDigest(Peer& p, const DigestMessage& m, TimeMs now) {
  (void)now;
  size_t budget = options_.repair_max_entries;
  auto ours = feeds_.lower_bound(m.lo);
  auto send_missing_upto = [&](const FeedId* limit) {
    // Our feeds in range that the digest does not list: the sender has none.
    for (; ours != feeds_.end() && (!limit || ours->first < *limit) && !(m.hi < ours->first);
         ++ours) {
      const uint64_t stable = StableSeq(ours->second, now);
      if (stable > 0 && !ours->second.forked && SharedWith(ours->first, p.id)) {
        SendRepair(p, ours->first, 0, &budget, stable);
      }
    }
  };
  for (const DigestItem& item : m.clock) {
    const FeedId& feed = item.feed;
    send_missing_upto(&feed);
    uint64_t mine = 0;
    uint64_t my_head = 0;
    bool forked = false;
    auto ours_prev = feeds_.end();
    if (ours != feeds_.end() && ours->first == feed) {
      mine = ours->second.seq;
      my_head = ours->second.head_prefix;
      forked = ours->second.forked;
      ours_prev = ours;
      ++ours;
    }
    if (forked || !SharedWith(feed, p.id)) continue;
    if (item.seq > mine) {
      // Probably on its way by push: solicit only if still missing after a
      // graft timeout.
      auto [it, inserted] = pending_wants_.try_emplace(
          feed, PendingWant{p.id, item.seq, now + options_.graft_timeout_ms});
      if (!inserted && item.seq > it->second.seq) {
        it->second.peer = p.id;
        it->second.seq = item.seq;
      }
    } else if (mine > item.seq) {
      // Only what we have held long enough that push should have delivered it.
      const uint64_t stable = StableSeq(ours_prev->second, now);
      if (stable > item.seq) SendRepair(p, feed, item.seq, &budget, stable);
    } else if (mine > 0 && my_head != item.head_prefix) {
      // Same sequence, different head: a fork. Our head lets them prove it.
      SendRepair(p, feed, mine - 1, &budget);
    }
  }
  send_missing_upto(nullptr);
}

uint64_t Replicator::StableSeq(FeedState& fs, TimeMs now) {
  const TimeMs cutoff = now - options_.graft_timeout_ms;
  while (!fs.recent.empty() && fs.recent.front().second <= cutoff) {
    // Keep the newest pair at or before the cutoff as the boundary.
    if (fs.recent.size() >= 2 && fs.recent[1].second <= cutoff) {
      fs.recent.pop_front();
    } else {
      break;
    }
  }
  if (fs.recent.empty()) return fs.seq;
  if (fs.recent.front().second <= cutoff) {
    // Everything up to the second pair's first seq - 1 is old enough.
    return fs.recent.size() >= 2 ? fs.recent[1].first - 1 : fs.seq;
  }
  return fs.recent.front().first - 1;
}

void Replicator::SendPendingWants(TimeMs now) {
  std::map<FeedId, WantMessage> by_peer;
  for (auto it = pending_wants_.begin(); it != pending_wants_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    // No state is created for a feed only a digest mentioned.
    auto fit = feeds_.find(it->first);
    const uint64_t have = fit == feeds_.end() ? 0 : fit->second.seq;
    const bool forked = fit != feeds_.end() && fit->second.forked;
    if (!forked && SharedWith(it->first, it->second.peer) && have < it->second.seq &&
        (fit != feeds_.end() || feeds_.size() < options_.max_feeds)) {
      WantMessage& w = by_peer[it->second.peer];
      if (w.after.size() < kMaxWantItems) w.after.emplace_back(it->first, have);
    }
    it = pending_wants_.erase(it);
  }
  for (auto& [peer, w] : by_peer) {
    Send(peer, EncodeMessage(w), MessageType::kWant);
    ++stats_.wants_sent;
    ++stats_.frames_sent;
  }
}

void Replicator::HandleWant(Peer& p, const WantMessage& m, TimeMs now) {
  (void)now;
  size_t budget = options_.repair_max_entries;
  for (const auto& [feed, after] : m.after) {
    auto it = feeds_.find(feed);
    if (it == feeds_.end() || it->second.forked || !SharedWith(feed, p.id)) continue;
    if (it->second.seq > after) SendRepair(p, feed, after, &budget);
  }
}

void Replicator::SendRepair(Peer& p, const FeedId& feed, uint64_t after, size_t* budget,
                            uint64_t upto) {
  if (*budget == 0) return;
  const uint64_t have = std::min(Feed(feed).seq, upto);
  if (have <= after) return;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(*budget, have - after));
  Result<std::vector<Entry>> entries = store_->ReadFeed(feed, after + 1, n);
  if (!entries.ok()) return;
  *budget -= entries->size();
  for (Entry& e : *entries) p.out_repair.push_back(std::move(e));
}

// ---- local store events ----

void Replicator::OnStoreEntry(const Entry& entry, TimeMs now) {
  const FeedId& feed = entry.author();
  FeedState& fs = Feed(feed);
  if (entry.seq() <= fs.seq) return;
  fs.seq = entry.seq();
  fs.head_prefix = HeadPrefix(entry.id());
  if (fs.recent.empty() || fs.recent.back().second != now) fs.recent.emplace_back(fs.seq, now);
  (void)StableSeq(fs, now);  // drops arrivals older than the grace period
  fs.hops = feed == self_ ? 0 : fs.pending_hops;
  if (fs.eager && fs.graft_deadline != 0) fs.last_delivery = now;
  if (!Replicates(feed) || fs.forked) {
    FlushAll();
    return;
  }
  for (const FeedId& pid : peer_order_) {
    Peer& p = *peers_[pid];
    if (!SharedWith(feed, pid)) continue;
    auto it = p.feeds.find(feed);
    if (options_.flood) {
      PeerFeed& pf = p.feeds[feed];
      if (pf.seq < entry.seq() && !pf.error) {
        p.out_push.emplace_back(fs.hops, entry);
        pf.seq = entry.seq();
      }
      continue;
    }
    if (it == p.feeds.end() || !it->second.known) {
      // The peer has not mentioned this feed: announce it (lazily).
      QueueNote(p, feed, MakeNote(fs.seq, fs.eager == pid));
      continue;
    }
    PeerFeed& pf = it->second;
    if (!pf.replicates || pf.seq >= entry.seq()) continue;
    if (pf.tx) {
      if (!p.congested && !p.backlog.count(feed) && pf.sent + 1 == entry.seq()) {
        p.out_push.emplace_back(fs.hops, entry);
        pf.sent = entry.seq();
        p.stored_clock[feed] = MakeNote(pf.sent, true);
        p.clock_dirty = true;
      } else {
        StartBacklog(p, feed);
      }
    } else {
      QueueNote(p, feed, MakeNote(fs.seq, fs.eager == pid));  // IHAVE
    }
  }
  FlushAll();
}

// ---- eager/lazy ----

void Replicator::QueueNote(Peer& p, const FeedId& feed, int64_t note) {
  if (!p.connected) return;
  PeerFeed& pf = p.feeds[feed];
  if (pf.note_sent == note) return;
  pf.note_sent = note;
  auto it = feeds_.find(feed);
  p.out_notes[feed] = NoteItem{feed, note, it == feeds_.end() ? kUnknownHops : it->second.hops};
}

void Replicator::SetEager(const FeedId& feed, Peer* peer, TimeMs now, bool graft) {
  FeedState& fs = Feed(feed);
  if (peer && fs.eager == peer->id) return;
  if (fs.eager) {
    if (Peer* old = FindPeer(*fs.eager)) QueueNote(*old, feed, MakeNote(fs.seq, false));
  }
  fs.graft_deadline = 0;
  fs.last_delivery = now;
  if (!peer) {
    fs.eager.reset();
    return;
  }
  fs.eager = peer->id;
  QueueNote(*peer, feed, MakeNote(fs.seq, true));
  if (graft) {
    ++stats_.grafts;
    Report(ReplicationEvent::kGraft, peer->id, feed, fs.seq, "");
  }
}

void Replicator::ChooseEagerFor(const FeedId& feed, TimeMs now) {
  FeedState& fs = Feed(feed);
  if (fs.forked || !Replicates(feed)) return;
  Peer* best = nullptr;
  uint64_t best_seq = fs.seq;
  for (const FeedId& pid : peer_order_) {
    if (fs.eager == pid || !SharedWith(feed, pid)) continue;
    Peer& p = *peers_[pid];
    auto it = p.feeds.find(feed);
    if (it == p.feeds.end() || !it->second.replicates || it->second.error) continue;
    if (it->second.seq > best_seq) {
      best = &p;
      best_seq = it->second.seq;
    }
  }
  if (best) SetEager(feed, best, now, /*graft=*/true);
}

void Replicator::CheckGrafts(TimeMs now) {
  for (auto& [feed, fs] : feeds_) {
    if (fs.forked) continue;
    bool eager_behind = false;
    if (fs.eager) {
      Peer* e = FindPeer(*fs.eager);
      if (!e) {
        fs.eager.reset();
      } else {
        auto it = e->feeds.find(feed);
        eager_behind = it != e->feeds.end() && it->second.seq > fs.seq;
        // The eager source claims more but has been silent: graft.
        if (eager_behind && fs.graft_deadline == 0 &&
            now - fs.last_delivery >= options_.graft_timeout_ms) {
          fs.graft_deadline = now;
        }
      }
    }
    if (fs.graft_deadline == 0 || now < fs.graft_deadline) continue;
    // Rotate to the next peer after the current eager that has more.
    std::vector<FeedId> order = peer_order_;
    size_t start = 0;
    if (fs.eager) {
      auto pos = std::find(order.begin(), order.end(), *fs.eager);
      if (pos != order.end()) start = static_cast<size_t>(pos - order.begin()) + 1;
    }
    Peer* next = nullptr;
    for (size_t k = 0; k < order.size(); ++k) {
      const FeedId& pid = order[(start + k) % order.size()];
      if (fs.eager == pid || !SharedWith(feed, pid)) continue;
      Peer& p = *peers_[pid];
      auto it = p.feeds.find(feed);
      if (it != p.feeds.end() && it->second.replicates && !it->second.error &&
          it->second.seq > fs.seq) {
        next = &p;
        break;
      }
    }
    if (next) {
      SetEager(feed, next, now, /*graft=*/true);
      fs.graft_deadline = now + options_.graft_retry_ms;
    } else if (eager_behind) {
      // Only the eager source has it: ask it again from where we are.
      Peer* e = FindPeer(*fs.eager);
      e->feeds[feed].note_sent = -2;
      QueueNote(*e, feed, MakeNote(fs.seq, true));
      fs.last_delivery = now;
      fs.graft_deadline = 0;
    } else {
      fs.graft_deadline = 0;
    }
  }
}

void Replicator::StartBacklog(Peer& p, const FeedId& feed) { p.backlog.insert(feed); }

void Replicator::StopFeed(const FeedId& feed, const Entry* first, const Entry* second) {
  FeedState& fs = Feed(feed);
  fs.forked = true;
  fs.eager.reset();
  fs.graft_deadline = 0;
  std::string proof;
  if (first && second) proof = EncodeMessage(ForkProofMessage{*first, *second});
  for (const FeedId& pid : peer_order_) {
    Peer& p = *peers_[pid];
    p.backlog.erase(feed);
    QueueNote(p, feed, kNoteNotReplicating);
    if (!proof.empty() && SharedWith(feed, pid)) {
      Send(pid, proof, MessageType::kForkProof);
      ++stats_.frames_sent;
    }
  }
}

// ---- output ----

void Replicator::Pump(Peer& p) {
  size_t budget = options_.max_push_per_pump;
  for (auto it = p.backlog.begin(); it != p.backlog.end() && budget > 0;) {
    const FeedId feed = *it;
    FeedState& fs = Feed(feed);
    PeerFeed& pf = p.feeds[feed];
    if (!pf.tx || fs.forked || pf.sent >= fs.seq || !SharedWith(feed, p.id)) {
      it = p.backlog.erase(it);
      continue;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(budget, fs.seq - pf.sent));
    Result<std::vector<Entry>> entries = store_->ReadFeed(feed, pf.sent + 1, n);
    if (!entries.ok() || entries->empty()) {
      it = p.backlog.erase(it);
      continue;
    }
    budget -= entries->size();
    pf.sent = entries->back().seq();
    p.stored_clock[feed] = MakeNote(pf.sent, true);
    p.clock_dirty = true;
    for (Entry& e : *entries) p.out_push.emplace_back(fs.hops, std::move(e));
    if (pf.sent >= fs.seq) {
      it = p.backlog.erase(it);
    } else {
      ++it;
    }
  }
}

void Replicator::Flush(Peer& p) {
  if (p.connected && !p.congested) Pump(p);
  if (!p.out_notes.empty()) {
    NotesMessage m;
    auto emit = [&] {
      stats_.notes_sent += m.notes.size();
      ++stats_.frames_sent;
      Send(p.id, EncodeMessage(m), MessageType::kNotes);
      m.notes.clear();
    };
    for (auto& [feed, item] : p.out_notes) {
      m.notes.push_back(item);
      if (m.notes.size() == kMaxNotesPerMessage) emit();
    }
    if (!m.notes.empty()) emit();
    p.out_notes.clear();
  }
  auto emit_entries = [&](EntriesMessage& m) {
    if (m.entries.empty()) return;
    const size_t n = m.entries.size();
    stats_.entries_sent += n;
    ++stats_.frames_sent;
    Send(p.id, EncodeMessage(m), MessageType::kEntries, n);
    m.entries.clear();
  };
  const size_t per_frame = std::min(options_.max_entries_per_frame, kMaxEntriesPerMessage);
  auto pack = [&](std::vector<std::pair<uint32_t, Entry>>& items, bool repair) {
    EntriesMessage m;
    m.repair = repair;
    size_t bytes = 0;
    for (auto& [hops, entry] : items) {
      const size_t sz = entry.encoded().size() + 5;
      if (!m.entries.empty() &&
          (m.hops != hops || m.entries.size() == per_frame ||
           bytes + sz + kFrameSlack > kMaxFrameBytes)) {
        emit_entries(m);
        bytes = 0;
      }
      m.hops = hops;
      bytes += sz;
      m.entries.push_back(std::move(entry));
    }
    emit_entries(m);
    items.clear();
  };
  if (!p.out_push.empty()) pack(p.out_push, false);
  if (!p.out_repair.empty()) {
    std::vector<std::pair<uint32_t, Entry>> items;
    items.reserve(p.out_repair.size());
    for (Entry& e : p.out_repair) items.emplace_back(Feed(e.author()).hops, std::move(e));
    p.out_repair.clear();
    pack(items, true);
  }
}

void Replicator::FlushAll() {
  for (auto it = peers_.begin(); it != peers_.end();) {
    Flush(*it->second);
    // Transient (digest-only) peers keep no state between frames.
    if (!it->second->connected) {
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<Effect> Replicator::TakeEffects() {
  std::vector<Effect> out;
  out.swap(effects_);
  return out;
}

void Replicator::Send(const FeedId& peer, std::string frame, MessageType type, size_t entries) {
  Effect e;
  e.kind = Effect::Kind::kSend;
  e.peer = peer;
  e.frame = std::move(frame);
  e.type = type;
  e.entries = entries;
  effects_.push_back(std::move(e));
}

void Replicator::Report(ReplicationEvent ev, const FeedId& peer, const FeedId& feed,
                        uint64_t seq, std::string detail) {
  Effect e;
  e.kind = Effect::Kind::kEvent;
  e.event = ev;
  e.peer = peer;
  e.feed = feed;
  e.seq = seq;
  e.detail = std::move(detail);
  effects_.push_back(std::move(e));
}

void Replicator::DropPeer(const FeedId& peer, std::string reason) {
  Effect e;
  e.kind = Effect::Kind::kDisconnect;
  e.peer = peer;
  e.detail = std::move(reason);
  effects_.push_back(std::move(e));
}

// ---- timers ----

void Replicator::Tick(TimeMs now) {
  CheckGrafts(now);
  SendPendingWants(now);
  if (now >= next_digest_) {
    if (next_digest_ != 0) DigestRound(now);
    // Jitter of +-10% keeps nodes from synchronising their rounds.
    const int64_t interval = options_.digest_interval_ms;
    std::uniform_int_distribution<int64_t> jitter(-interval / 10, interval / 10);
    next_digest_ = now + interval + jitter(rng_);
  }
  if (now >= next_clock_save_) {
    if (next_clock_save_ != 0) SavePeerClocks();
    next_clock_save_ = now + options_.peer_clock_save_ms;
  }
  FlushAll();
}

TimeMs Replicator::NextTimeout() const {
  TimeMs next = std::min(next_digest_, next_clock_save_);
  for (const auto& [feed, w] : pending_wants_) next = std::min(next, w.deadline);
  for (const auto& [feed, fs] : feeds_) {
    if (fs.graft_deadline != 0) next = std::min(next, fs.graft_deadline);
    // As CheckGrafts: a silent eager source matters only while no graft
    // deadline is pending (else NextTimeout would stay in the past and a
    // driver would spin).
    if (fs.eager && fs.graft_deadline == 0) {
      // CheckGrafts acts on a silent eager source only when it claims more.
      auto p = peers_.find(*fs.eager);
      if (p == peers_.end()) continue;
      auto pf = p->second->feeds.find(feed);
      if (pf != p->second->feeds.end() && pf->second.seq > fs.seq) {
        next = std::min(next, fs.last_delivery + options_.graft_timeout_ms);
      }
    }
  }
  // A backlog left over by max_push_per_pump continues on the next Tick: due now.
  for (const auto& [id, p] : peers_) {
    if (p->connected && !p->congested && !p->backlog.empty()) return 0;
  }
  return next;
}

void Replicator::DigestRound(TimeMs now) {
  (void)now;
  std::vector<FeedId> candidates;
  for (const FeedId& m : members_) {
    if (m != self_) candidates.push_back(m);
  }
  if (candidates.empty()) candidates = peer_order_;
  if (candidates.empty()) return;
  std::uniform_int_distribution<size_t> pick(0, candidates.size() - 1);
  const FeedId target = candidates[pick(rng_)];
  std::vector<DigestItem> clock;
  for (const auto& [feed, fs] : feeds_) {
    if (fs.seq > 0 && !fs.forked && SharedWith(feed, target)) {
      clock.push_back(DigestItem{feed, fs.seq, fs.head_prefix});
    }
  }
  ++digest_round_;
  for (DigestMessage& d : SplitDigest(digest_round_, clock)) {
    Send(target, EncodeMessage(d), MessageType::kDigest);
    ++stats_.digests_sent;
    ++stats_.frames_sent;
  }
}

void Replicator::SetMembers(std::vector<FeedId> members) { members_ = std::move(members); }

// ---- follow / block ----

void Replicator::Follow(const FeedId& feed, bool follow, TimeMs now) {
  const bool before = Replicates(feed);
  if (follow) {
    follows_.insert(feed);
  } else {
    follows_.erase(feed);
  }
  const bool after = Replicates(feed);
  if (before == after) return;
  FeedState& fs = Feed(feed);
  for (const FeedId& pid : peer_order_) {
    Peer& p = *peers_[pid];
    if (after && SharedWith(feed, pid)) {
      if (!fs.eager) {
        fs.eager = pid;
        fs.last_delivery = now;
      }
      QueueNote(p, feed, MakeNote(fs.seq, fs.eager == pid));
    } else if (!after) {
      p.backlog.erase(feed);
      QueueNote(p, feed, kNoteNotReplicating);
    }
  }
  if (!after) fs.eager.reset();
  FlushAll();
}

void Replicator::BlockFeed(const FeedId& feed, TimeMs now) {
  (void)now;
  blocked_.insert(feed);
  FeedState& fs = Feed(feed);
  fs.eager.reset();
  for (const FeedId& pid : peer_order_) {
    Peer& p = *peers_[pid];
    p.backlog.erase(feed);
    QueueNote(p, feed, kNoteNotReplicating);
  }
  FlushAll();
}

void Replicator::BlockFeedForPeer(const FeedId& feed, const FeedId& peer, TimeMs now) {
  blocked_for_peer_.insert({feed, peer});
  if (Peer* p = FindPeer(peer)) {
    p->backlog.erase(feed);
    QueueNote(*p, feed, kNoteNotReplicating);
  }
  FeedState& fs = Feed(feed);
  if (fs.eager == peer) {
    fs.eager.reset();
    ChooseEagerFor(feed, now);
  }
  FlushAll();
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
  }
  for (const auto& [feed, t] : target) pr.target += t;
  pr.start = start;
  return pr;
}

Progress Replicator::GetPeerProgress(const FeedId& peer) const {
  Progress pr;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return pr;
  const Peer& p = *it->second;
  pr.start = p.progress_start;
  for (const auto& [feed, fs] : feeds_) {
    pr.current += fs.seq;
    uint64_t t = fs.seq;
    auto jt = p.feeds.find(feed);
    if (jt != p.feeds.end() && jt->second.replicates) {
      t = std::max(t, jt->second.seq);
      if (jt->second.known) {
        const uint64_t has = std::max(jt->second.seq, jt->second.sent);
        pr.peer_lacks += fs.seq - std::min(fs.seq, has);
      }
    }
    pr.target += t;
  }
  return pr;
}

std::vector<FeedId> Replicator::ConnectedPeers() const { return peer_order_; }

void Replicator::SetPeerCongested(const FeedId& peer, bool congested) {
  Peer* p = FindPeer(peer);
  if (p == nullptr || p->congested == congested) return;
  p->congested = congested;
  if (!congested && p->connected) Flush(*p);
}

bool Replicator::InSyncWith(const FeedId& peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return false;
  const Peer& p = *it->second;
  if (!p.connected || !p.notes_received) return false;
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
    if (pf.seq > fs.seq) return false;                 // they have more
    if (pf.tx && pf.sent < fs.seq && pf.seq < fs.seq) return false;  // we owe them
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

std::optional<FeedId> Replicator::EagerSource(const FeedId& feed) const {
  auto it = feeds_.find(feed);
  if (it == feeds_.end()) return std::nullopt;
  return it->second.eager;
}

void Replicator::SavePeerClock(Peer& p) {
  if (!p.clock_dirty) return;
  if (store_->SavePeerClock(p.id, p.stored_clock).ok()) p.clock_dirty = false;
}

void Replicator::SavePeerClocks() {
  for (auto& [pid, p] : peers_) {
    if (p->connected) SavePeerClock(*p);
  }
}

}  // namespace plumlog::replication
