// EBT notes (docs/protocol.md, "Notes"): what each side announces about the
// feeds it replicates, request skipping on reconnect, and the output path
// that packs queued notes, pushes and repairs into frames.
#include <algorithm>

#include "replication/note.h"
#include "replication/replicator.h"
#include "replication/replicator_internal.h"

namespace plumlog::replication {

void Replicator::AnnounceFeed(Peer& p, const FeedId& feed, bool ask_own,
                              bool skip_unchanged) {
  if (!SharedWith(feed, p.id)) return;
  FeedState& fs = Feed(feed);
  if (fs.forked) return;
  auto it = p.stored_clock.find(feed);
  if (skip_unchanged && !(ask_own && feed == self_) &&
      it != p.stored_clock.end() && NoteReplicates(it->second) &&
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
  const bool known_ahead = it != p.stored_clock.end() &&
                           NoteReplicates(it->second) &&
                           NoteSeq(it->second) > fs.seq;
  if (!fs.eager &&
      (known_ahead || (fs.seq > 0 && (it == p.stored_clock.end() ||
                                      !NoteReplicates(it->second))))) {
    fs.eager = p.id;
    fs.last_delivery = p.last_seen;
  }
  QueueNote(p, feed, MakeNote(fs.seq, fs.eager == p.id));
}

void Replicator::SendInitialNotes(Peer& p) {
  // Request skipping: a feed whose sequence equals what this peer last told us
  // has not changed on either side since; if the peer's copy changed, it sends
  // its own note.
  // While the store holds its own feed unconfirmed (Store::OwnFeedHold), our
  // note for it always goes out, so every peer answers with what it holds.
  const bool ask_own = store_->OwnFeedHold().has_value();
  // Feeds we hold nothing of are announced only when we want them (the
  // policy's follows) or they are our own: under replicate-all, announcing
  // every empty feed heard of would spread O(members) notes to every peer.
  const std::vector<FeedId> wanted =
      filter_ != nullptr ? filter_->Wanted() : std::vector<FeedId>();
  std::vector<FeedId> ids;
  ids.reserve(feeds_.size());
  for (const auto& [id, fs] : feeds_) {
    if (fs.seq > 0 || id == self_ || std::binary_search(wanted.begin(), wanted.end(), id)) {
      ids.push_back(id);
    }
  }
  for (const FeedId& id : ids) AnnounceFeed(p, id, ask_own, true);
  for (const FeedId& id : wanted) {
    if (!feeds_.count(id)) AnnounceFeed(p, id, ask_own, true);
  }
  // What the peer had last time, of feeds we still hold nothing of: asked
  // of it again as claims (and no longer kept in its stored clock: only
  // feeds with entries here are).
  for (auto it = p.stored_clock.begin(); it != p.stored_clock.end();) {
    if (feeds_.count(it->first)) {
      ++it;
      continue;
    }
    if (Replicates(it->first))
      HandleClaim(p, NoteItem{it->first, it->second, kUnknownHops});
    it = p.stored_clock.erase(it);
    p.clock_dirty = true;
  }
}

void Replicator::HandleClaim(Peer& p, const NoteItem& item) {
  // Nothing here is trusted until an entry of the feed verifies: no feed
  // state, no announcement to other peers, no stored clock. A peer naming
  // 100,000 made-up feeds costs a bounded table of its own.
  auto it = p.claims.find(item.feed);
  if (!NoteReplicates(item.note) || NoteSeq(item.note) == 0) {
    if (it != p.claims.end()) p.claims.erase(it);
    ++stats_.notes_ignored;  // nothing to fetch
    // Both hold nothing: say so, statelessly (the peer records it and skips
    // the feed on its next connect).
    if (NoteReplicates(item.note) && p.connected) {
      p.out_notes[item.feed] =
          NoteItem{item.feed, MakeNote(0, false), kUnknownHops};
    }
    return;
  }
  if (it == p.claims.end()) {
    if (p.claims.size() >= options_.max_claims_per_peer) {
      ++stats_.claims_refused;
      return;
    }
    it = p.claims.emplace(item.feed, Claim{}).first;
    // We hold nothing: ask this peer to push from the start.
    QueueNote(p, item.feed, MakeNote(0, true));
  }
  it->second.seq = NoteSeq(item.note);
  it->second.hops = item.hops;
}

void Replicator::PromoteClaims(const FeedId& feed) {
  auto fit = feeds_.find(feed);
  if (fit == feeds_.end()) return;
  for (auto& [pid, p] : peers_) {
    auto it = p->claims.find(feed);
    if (it == p->claims.end()) continue;
    PeerFeed& pf = p->feeds[feed];
    pf.known = true;
    pf.replicates = true;
    pf.seq = std::max(pf.seq, it->second.seq);
    pf.hops = std::min(pf.hops, it->second.hops);
    if (p->connected) {
      p->stored_clock[feed] = MakeNote(pf.seq, fit->second.eager == pid);
      p->clock_dirty = true;
    }
    p->claims.erase(it);
  }
}

void Replicator::HandleNotes(Peer& p, const NotesMessage& m, TimeMs now) {
  if (p.connected) p.notes_received = true;
  for (const NoteItem& item : m.notes) {
    const FeedId& feed = item.feed;
    if (!Replicates(feed)) {
      // Not ours to replicate (the policy): no state, nothing saved. A peer
      // that replicates it hears once that we do not, so it does not wait
      // for us.
      ++stats_.notes_ignored;
      if (NoteReplicates(item.note) && p.connected) {
        p.out_notes[feed] = NoteItem{feed, kNoteNotReplicating, kUnknownHops};
      }
      continue;
    }
    if (feed != self_ && !feeds_.count(feed)) {
      HandleClaim(p, item);
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
        Touch(feed);
        ChooseEagerFor(feed, now);
      }
      continue;
    }
    pf.replicates = true;
    pf.seq = NoteSeq(item.note);
    pf.hops = item.hops;
    pf.heard = true;
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
          fs.graft_deadline = now + IhaveTimeout(fs);  // IHAVE timer
        }
      }
    }
    // Make sure the peer knows where we stand on this feed.
    if (pf.note_sent == -2 || (!pf.tx && fs.seq > pf.seq)) {
      QueueNote(p, feed, MakeNote(fs.seq, fs.eager == p.id));
    }
  }
}

void Replicator::QueueNote(Peer& p, const FeedId& feed, int64_t note) {
  if (!p.connected) return;
  PeerFeed& pf = p.feeds[feed];
  if (pf.note_sent == note) return;
  pf.note_sent = note;
  auto it = feeds_.find(feed);
  p.out_notes[feed] =
      NoteItem{feed, note, it == feeds_.end() ? kUnknownHops : it->second.hops};
}

// ---- output ----

void Replicator::Pump(Peer& p) {
  size_t budget = options_.max_push_per_pump;
  for (auto it = p.backlog.begin(); it != p.backlog.end() && budget > 0;) {
    const FeedId feed = *it;
    auto fit = feeds_.find(feed);
    PeerFeed& pf = p.feeds[feed];
    if (fit == feeds_.end() || !pf.tx || fit->second.forked ||
        pf.sent >= fit->second.seq || !SharedWith(feed, p.id)) {
      it = p.backlog.erase(it);
      continue;
    }
    FeedState& fs = fit->second;
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(budget, fs.seq - pf.sent));
    Result<std::vector<Entry>> entries = store_->ReadFeed(feed, pf.sent + 1, n);
    if (!entries.ok() || entries->empty()) {
      if (!entries.ok()) {
        StoreError(p.id, feed,
                   entries.status().WithContext("cannot read entries to push"));
      }
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
  const size_t per_frame =
      std::min(options_.max_entries_per_frame, kMaxEntriesPerMessage);
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
    for (Entry& e : p.out_repair) {
      auto fit = feeds_.find(e.author());
      items.emplace_back(fit == feeds_.end() ? kUnknownHops : fit->second.hops,
                         std::move(e));
    }
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
  Retime();
}

}  // namespace plumlog::replication
