// Range-based reconciliation in the replicator (docs/protocol.md, sections 11
// and 19): anti-entropy rounds and first contacts compare the two stores'
// feed heads with a ReconcileSession instead of listing every feed. What a
// session finds differs is handled by the existing machinery: on a first
// contact by notes (EBT), in a repair round as a digest item would be
// (solicit after a grace period, send what the peer lacks, prove a fork).
#include <algorithm>

#include "replication/note.h"
#include "replication/reconcile_message.h"
#include "replication/replicator.h"
#include "replication/replicator_internal.h"

namespace plumlog::replication {
namespace {

// First-contact sessions in a row that may end truncated before the node
// falls back to notes of every feed.
constexpr uint32_t kMaxFirstContactSessions = 8;

}  // namespace

Replicator::ReconcileState& Replicator::ReconcileFor(const FeedId& peer,
                                                     TimeMs now) {
  auto it = recon_.find(peer);
  if (it == recon_.end()) {
    // Sessions with members we are not connected to (rounds they started)
    // are bounded: the least recently used goes.
    size_t unconnected = 0;
    auto oldest = recon_.end();
    for (auto jt = recon_.begin(); jt != recon_.end(); ++jt) {
      const Peer* p = FindPeer(jt->first);
      if (p != nullptr && p->connected) continue;
      ++unconnected;
      if (oldest == recon_.end() ||
          jt->second->last_used < oldest->second->last_used) {
        oldest = jt;
      }
    }
    if (unconnected >= options_.max_reconcile_sessions &&
        oldest != recon_.end()) {
      recon_.erase(oldest);
    }
    it = recon_.emplace(peer, std::make_unique<ReconcileState>()).first;
  }
  it->second->last_used = now;
  return *it->second;
}

void Replicator::SendReconcile(const FeedId& peer, const ReconcileMessage& m) {
  ++stats_.reconcile_messages_sent;
  ++stats_.frames_sent;
  Send(peer, EncodeReconcileMessage(m), MessageType::kReconcile);
}

bool Replicator::StartReconcile(const FeedId& peer, TimeMs now) {
  ReconcileState& st = ReconcileFor(peer, now);
  if (st.ours && !st.ours->done()) return false;
  // Random, and mixed with our id: two nodes seeded alike (tests, the
  // simulator) still pick different ids.
  uint64_t id = rng_();
  for (int i = 0; i < 8; ++i) id ^= uint64_t{self_.bytes()[i]} << (8 * i);
  if (id == 0) id = 1;
  auto session = std::make_unique<ReconcileSession>(&reconciler_, id,
                                                    /*initiator=*/true);
  Result<ReconcileMessage> first = session->Start();
  if (!first.ok()) {
    StoreError(peer, FeedId(),
               first.status().WithContext("cannot start a reconciliation"));
    return false;
  }
  st.ours = std::move(session);
  st.ours_deadline = now + options_.reconcile_timeout_ms;
  ++stats_.reconcile_sessions;
  SendReconcile(peer, *first);
  return true;
}

void Replicator::StartFirstContact(Peer& p, TimeMs now) {
  p.first_contact = true;
  p.first_contact_sessions = 1;
  // What no session can show: our own feed while the store holds it
  // unconfirmed (every peer must answer about it), and feeds we want but
  // hold nothing of (a session only lists feeds with entries).
  const bool ask_own = store_->OwnFeedHold().has_value();
  const std::vector<FeedId> wanted =
      filter_ != nullptr ? filter_->Wanted() : std::vector<FeedId>();
  auto empty_here = [&](const FeedId& id) {
    auto it = feeds_.find(id);
    return it == feeds_.end() || it->second.seq == 0;
  };
  if (ask_own || empty_here(self_)) AnnounceFeed(p, self_, ask_own, false);
  for (const FeedId& id : wanted) {
    if (id != self_ && empty_here(id)) AnnounceFeed(p, id, ask_own, false);
  }
  // A Notes frame goes first, empty or not: it is what makes the peer take
  // us as its replication peer (node/node_connections.cc), so that it
  // announces what it finds different in our session instead of treating us
  // as a passing member.
  if (p.out_notes.empty()) {
    ++stats_.frames_sent;
    Send(p.id, EncodeMessage(NotesMessage{}), MessageType::kNotes);
  } else {
    Flush(p);
  }
  // (The store could not be read: the old way.)
  if (!StartReconcile(p.id, now)) FallBackToNotes(p);
}

void Replicator::FallBackToNotes(Peer& p) {
  p.first_contact = false;
  ++stats_.first_contact_fallbacks;
  SendInitialNotes(p);
}

void Replicator::FinishFirstContact(Peer& p) {
  p.first_contact = false;
  // Every feed the sessions did not find different is the same on both
  // sides: as request skipping does for an unchanged feed, it counts as
  // known at our sequence (the next contact skips it too).
  for (const auto& [feed, fs] : feeds_) {
    if (fs.seq == 0 || fs.forked || !SharedWith(feed, p.id)) continue;
    PeerFeed& pf = p.feeds[feed];
    if (pf.known || pf.heard || pf.note_sent != -2) continue;
    pf.known = true;
    pf.replicates = true;
    pf.seq = fs.seq;
    pf.sent = fs.seq;
    p.stored_clock[feed] = MakeNote(fs.seq, false);
    p.clock_dirty = true;
  }
}

void Replicator::HandleReconcileDiffs(Peer& p,
                                      const std::vector<ReconcileDiff>& diffs,
                                      bool first_contact, TimeMs now) {
  stats_.reconcile_diffs += diffs.size();
  size_t budget = options_.repair_max_entries;
  for (const ReconcileDiff& d : diffs) {
    if (!first_contact) {
      // A feed a connected peer has never answered us about on this
      // connection is announced (again): either neither side said anything
      // of it (its session is its first contact, not ours, and it counts
      // every feed we do not announce as the same), or it dropped our note
      // (its table of claims was full, docs/protocol.md 7.1) and now has
      // room. Other differences are repaired as a digest's would be.
      bool announce = false;
      if (p.connected && !p.claims.count(d.feed)) {
        auto pf = p.feeds.find(d.feed);
        if (pf == p.feeds.end()) {
          announce = true;
        } else if (!pf->second.known && !pf->second.heard) {
          pf->second.note_sent = -2;  // so that QueueNote sends it again
          announce = true;
        }
      }
      if (!announce) {
        RepairItem(p, d.feed, d.remote_seq, d.remote_head, &budget, now);
        continue;
      }
    }
    // First contact: announce the feed as a connect would, so EBT takes it
    // from there (the peer answers with its note, and pushes or asks).
    if (!Replicates(d.feed)) continue;
    auto it = feeds_.find(d.feed);
    if (d.feed != self_ && (it == feeds_.end() || it->second.seq == 0)) {
      // We hold nothing of it: the peer's claim, asked of it.
      if (d.remote_seq > 0 && SharedWith(d.feed, p.id)) {
        HandleClaim(p, NoteItem{d.feed, MakeNote(d.remote_seq, false),
                                kUnknownHops});
      }
      continue;
    }
    AnnounceFeed(p, d.feed, /*ask_own=*/false, /*skip_unchanged=*/false);
  }
}

void Replicator::HandleReconcile(Peer& p, const ReconcileMessage& m,
                                 TimeMs now) {
  ReconcileState& st = ReconcileFor(p.id, now);
  ReconcileSession* s = nullptr;
  bool ours = false;
  // Rounds tell the sessions apart (both sides may start one at once, even
  // with the same id): the peer's messages in ours are odd, in its own even.
  if (m.round % 2 == 1 && st.ours && m.session == st.ours->id()) {
    s = st.ours.get();
    ours = true;
  } else if (m.round == 0) {
    // The peer starts a session (one of its at a time: a new one replaces
    // the last).
    st.theirs = std::make_unique<ReconcileSession>(&reconciler_, m.session,
                                                   /*initiator=*/false);
    st.theirs_deadline = now + options_.reconcile_timeout_ms;
    s = st.theirs.get();
  } else if (st.theirs && m.session == st.theirs->id()) {
    s = st.theirs.get();
  } else {
    return;  // a session one of us abandoned: nothing to answer
  }
  Result<ReconcileSession::Step> step = s->OnMessage(m);
  if (!step.ok()) {
    ++stats_.reconcile_failures;
    const bool violated = s->violated();
    if (ours) {
      st.ours.reset();
    } else {
      st.theirs.reset();
    }
    if (violated) {
      ++stats_.malformed_frames;
      Report(ReplicationEvent::kMalformedFrame, p.id, FeedId(), 0,
             step.status().ToString());
      DropPeer(p.id, step.status().ToString());
    } else {
      StoreError(p.id, FeedId(),
                 step.status().WithContext("cannot answer a reconciliation"));
      // Without the store's answer the session cannot go on: the old way.
      if (p.connected && p.first_contact) FallBackToNotes(p);
    }
    return;
  }
  const bool first_contact = p.connected && p.first_contact;
  HandleReconcileDiffs(p, step->diffs, first_contact, now);
  // The notes and repairs for what was found go out before the reply, so
  // the peer has them when it sees the session end.
  Flush(p);
  if (step->send) SendReconcile(p.id, *step->send);
  if (ours && st.ours->done()) {
    const bool truncated = st.ours->truncated();
    st.ours.reset();
    // While a first contact runs, the only session of ours with the peer is
    // its session (OnPeerUp dropped older ones, rounds wait for it).
    if (first_contact) {
      if (!truncated) {
        FinishFirstContact(p);
      } else if (p.first_contact_sessions < kMaxFirstContactSessions) {
        ++p.first_contact_sessions;  // the rest in another session
        StartReconcile(p.id, now);
      } else {
        FallBackToNotes(p);
      }
    }
  } else if (!ours && st.theirs && st.theirs->done()) {
    st.theirs.reset();
  }
}

void Replicator::ExpireReconciles(TimeMs now) {
  for (auto it = recon_.begin(); it != recon_.end();) {
    ReconcileState& st = *it->second;
    if (st.ours && st.ours_deadline <= now) {
      ++stats_.reconcile_failures;
      st.ours.reset();
      // No answer in time to a first contact's session: announce every
      // feed, as without reconciliation.
      Peer* p = FindPeer(it->first);
      if (p != nullptr && p->connected && p->first_contact) FallBackToNotes(*p);
    }
    if (st.theirs && st.theirs_deadline <= now) st.theirs.reset();
    if (!st.ours && !st.theirs) {
      it = recon_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace plumlog::replication
