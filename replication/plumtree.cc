// Plumtree over EBT (docs/protocol.md, "Eager and lazy"): which peer pushes a
// feed to us (the eager source), grafts on silence or a better source,
// prunes on duplicates, pushing new entries down the tree, ingesting what
// peers send (through the Ingest effect), and stopping forked feeds.
#include <algorithm>

#include "replication/note.h"
#include "replication/replicator.h"
#include "replication/replicator_internal.h"

namespace plumlog::replication {

void Replicator::HandleEntries(Peer& p, EntriesMessage& m, TimeMs now) {
  stats_.entries_received += m.entries.size();
  // Group by feed, keeping order within each feed.
  std::map<FeedId, std::vector<Entry>> by_feed;
  for (Entry& e : m.entries) by_feed[e.author()].push_back(std::move(e));
  for (auto& [feed, entries] : by_feed) {
    if (!SharedWith(feed, p.id)) continue;
    PeerFeed& pf = p.feeds[feed];
    if (pf.error) continue;
    // A feed we held nothing of (a claim, or unannounced): state from here,
    // but saved in the peer's clock only once an entry verified
    // (PromoteClaims); a forgery leaves nothing behind (OnIngestDone).
    const bool held = feeds_.count(feed) > 0;
    if (!held && feeds_.size() >= options_.max_feeds) {
      ++stats_.feeds_refused;  // runaway: state for this many feeds already
      continue;
    }
    FeedState& fs = Feed(feed);
    if (fs.forked) continue;
    if (!held && !fs.eager && p.connected) {
      fs.eager = p.id;
      fs.last_delivery = now;
    }
    pf.known = true;
    pf.seq = std::max(pf.seq, entries.back().seq());
    pf.hops = m.hops;
    if (p.connected && held) {
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
    // The store verifies and writes off the event loop; OnIngestDone takes
    // the verdict back.
    const uint64_t request = next_request_++;
    ++stats_.ingests;
    Effect e;
    e.kind = Effect::Kind::kIngest;
    e.peer = p.id;
    e.feed = feed;
    e.request = request;
    ingests_[request] = PendingIngest{p.id, feed, entries};
    e.batch = std::move(entries);
    effects_.push_back(std::move(e));
  }
}

void Replicator::OnIngestDone(uint64_t request, const IngestResult& r,
                              TimeMs now) {
  auto pending = ingests_.find(request);
  if (pending == ingests_.end()) return;
  const PendingIngest done = std::move(pending->second);
  ingests_.erase(pending);
  const FeedId& feed = done.feed;
  stats_.duplicates_received += r.duplicates;
  stats_.entries_stored += r.stored;
  // A feed that stopped being replicated meanwhile keeps no state.
  if (r.ok() || !Replicates(feed) || !r.failed_index ||
      *r.failed_index >= done.batch.size()) {
    FlushAll();
    return;
  }
  const Entry& bad = done.batch[*r.failed_index];
  FeedState& fs = Feed(feed);
  Peer* p = FindPeer(done.peer);
  // Entries the store took were delivered (OnStoreEntry) before this answer.
  const uint64_t head = fs.seq;
  if (r.failure.code() == Status::Code::kForked) {
    ++stats_.forks;
    Report(ReplicationEvent::kFork, done.peer, feed, bad.seq(),
           r.failure.message());
    Result<Entry> first = store_->Get(feed, bad.seq());
    if (!first.ok()) {
      StoreError(done.peer, feed,
                 first.status().WithContext("cannot read the fork partner"));
    }
    StopFeed(feed, first.ok() ? &first.value() : nullptr, &bad);
  } else if (r.failure.code() == Status::Code::kInvalidEntry &&
             bad.seq() > head + 1 && bad.VerifySignature()) {
    // A gap: frames were lost on the way. Ask the eager source to resend
    // from where we are; digests cover every other case.
    if (p != nullptr && fs.eager == done.peer && p->connected) {
      p->feeds[feed].note_sent = -2;
      QueueNote(*p, feed, MakeNote(head, true));
    }
  } else if (r.failure.code() == Status::Code::kInvalidEntry) {
    ++stats_.invalid_entries;
    Report(ReplicationEvent::kInvalidEntry, done.peer, feed, bad.seq(),
           r.failure.message());
    if (p != nullptr) p->feeds[feed].error = true;
    if (fs.eager == done.peer) {
      fs.eager.reset();
      ChooseEagerFor(feed, now);
    }
    // Every node verifies before it stores or forwards, so a bad signature
    // is a forgery (or corruption on the sender's side): drop the peer.
    // A broken chain is only blocked: it can be a fork seen from the other
    // branch.
    if (!bad.VerifySignature()) {
      DropPeer(done.peer, "sent an entry with a bad signature");
      // A feed known only from the forger's frame keeps no state.
      if (fs.seq == 0 && !fs.forked) ForgetFeed(feed);
    }
  } else {
    // Disk full, I/O: the entries come again through push or repair once
    // the store works again.
    StoreError(done.peer, feed, r.failure.WithContext("cannot store entries"));
  }
  FlushAll();
}

void Replicator::HandleForkProof(Peer& p, const ForkProofMessage& m,
                                 TimeMs now) {
  (void)now;
  const FeedId author = m.first.author();
  if (!SharedWith(author, p.id) || Feed(author).forked) return;
  // Checked here (two signatures) so that the feed is only frozen on a real
  // proof; the store records it off the loop.
  const bool shape = m.first.author() == m.second.author() &&
                     m.first.seq() == m.second.seq() &&
                     m.first.id() != m.second.id();
  const bool signed_ok =
      m.first.VerifySignature() && m.second.VerifySignature();
  if (!shape || !signed_ok) {
    Report(ReplicationEvent::kInvalidEntry, p.id, author, m.first.seq(),
           shape ? "bad fork proof: bad signature"
                 : "bad fork proof: the entries must share author and sequence "
                   "and differ");
    if (!signed_ok) DropPeer(p.id, "sent a fork proof with a bad signature");
    return;
  }
  ++stats_.forks;
  Report(ReplicationEvent::kFork, p.id, author, m.first.seq(),
         "fork proof received");
  Effect e;
  e.kind = Effect::Kind::kStoreForkProof;
  e.peer = p.id;
  e.feed = author;
  e.first = m.first;
  e.second = m.second;
  effects_.push_back(std::move(e));
  StopFeed(author, &m.first, &m.second);
}

// ---- local store events ----

void Replicator::OnStoreEntry(const Entry& entry, TimeMs now) {
  const FeedId& feed = entry.author();
  if (!Replicates(feed)) return;  // no state for feeds we do not replicate
  FeedState& fs = Feed(feed);
  if (entry.seq() <= fs.seq) {
    FlushAll();
    return;
  }
  fs.seq = entry.seq();
  PromoteClaims(feed);
  fs.head_prefix = HeadPrefix(entry.id());
  if (fs.recent.empty() || fs.recent.back().second != now)
    fs.recent.emplace_back(fs.seq, now);
  (void)StableSeq(fs, now);  // drops arrivals older than the grace period
  fs.hops = feed == self_ ? 0 : fs.pending_hops;
  if (fs.eager && fs.graft_deadline != 0) fs.last_delivery = now;
  if (fs.forked) {
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
      if (!p.congested && !p.backlog.count(feed) &&
          pf.sent + 1 == entry.seq()) {
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

void Replicator::SetEager(const FeedId& feed, Peer* peer, TimeMs now,
                          bool graft) {
  FeedState& fs = Feed(feed);
  if (peer && fs.eager == peer->id) return;
  if (fs.eager) {
    if (Peer* old = FindPeer(*fs.eager))
      QueueNote(*old, feed, MakeNote(fs.seq, false));
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
    if (it == p.feeds.end() || !it->second.replicates || it->second.error)
      continue;
    if (it->second.seq > best_seq) {
      best = &p;
      best_seq = it->second.seq;
    }
  }
  if (best) SetEager(feed, best, now, /*graft=*/true);
}

void Replicator::CheckGrafts(TimeMs now) {
  // Only the feeds whose timer is due (the index), not every feed.
  while (!feed_timers_.empty() && feed_timers_.begin()->first <= now) {
    const FeedId feed = feed_timers_.begin()->second;
    feed_timers_.erase(feed_timers_.begin());
    ++stats_.timer_work;
    FeedState& fs = feeds_.at(feed);
    fs.timer = 0;
    Touch(feed);
    GraftDue(feed, fs, now);
  }
}

TimeMs Replicator::IhaveTimeout(const FeedState& fs) const {
  // Staggered by hop parity: a node and its eager source are one hop apart,
  // so when both wait for the same announced entry (a tree broken by a
  // crash), the one at an even distance grafts graft_stagger_ms earlier and
  // its push reaches the other before that one's timer fires, instead of
  // crossing its graft (docs/replication.md, "RMR after a crash").
  const bool odd = fs.hops != kUnknownHops && fs.hops % 2 == 1;
  return options_.graft_timeout_ms + (odd ? options_.graft_stagger_ms : 0);
}

void Replicator::GraftDue(const FeedId& feed, FeedState& fs, TimeMs now) {
  if (fs.forked) return;
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
  if (fs.graft_deadline == 0 || now < fs.graft_deadline) return;
  // Rotate to the next peer after the current eager that has more.
  size_t start = 0;
  if (fs.eager) {
    auto pos = std::find(peer_order_.begin(), peer_order_.end(), *fs.eager);
    if (pos != peer_order_.end())
      start = static_cast<size_t>(pos - peer_order_.begin()) + 1;
  }
  Peer* next = nullptr;
  for (size_t k = 0; k < peer_order_.size(); ++k) {
    const FeedId& pid = peer_order_[(start + k) % peer_order_.size()];
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

void Replicator::StartBacklog(Peer& p, const FeedId& feed) {
  p.backlog.insert(feed);
}

void Replicator::StopFeed(const FeedId& feed, const Entry* first,
                          const Entry* second) {
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

}  // namespace plumlog::replication
