// ReconcileSession: one reconciliation between us and one peer, from either
// side (docs/protocol.md section 19.3). Sans-IO: the caller sends what it
// returns and hands it the peer's Reconcile messages of this session. It
// checks the session id and that messages alternate (rounds), stops after
// ReconcileOptions::max_rounds, and reports the feeds found to differ.
#ifndef PLUMLOG_REPLICATION_RECONCILE_SESSION_H_
#define PLUMLOG_REPLICATION_RECONCILE_SESSION_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "plumlog/status.h"
#include "replication/range_reconciler.h"

namespace plumlog::replication {

class ReconcileSession {
 public:
  // `reconciler` is not owned. `initiator`: we send the first message
  // (Start); otherwise the peer's round-0 message opens the session.
  ReconcileSession(const RangeReconciler* reconciler, uint64_t id,
                   bool initiator);

  uint64_t id() const { return id_; }
  bool initiator() const { return initiator_; }
  // No more messages will come or go.
  bool done() const { return done_; }
  // Either side left differing ranges out (message limits, max_rounds):
  // another session should follow soon.
  bool truncated() const { return truncated_; }
  // Messages received so far.
  uint32_t rounds() const { return received_; }
  // The session ended because the peer broke its rules (OnMessage's error
  // was a protocol violation, not the store's failure).
  bool violated() const { return violated_; }

  // Initiator: the first message (once).
  Result<ReconcileMessage> Start();

  struct Step {
    std::optional<ReconcileMessage> send;  // the reply, if any
    std::vector<ReconcileDiff> diffs;      // feeds found to differ
  };
  // A message of this session from the peer. An error is a protocol
  // violation (another session, a round out of turn, a message after the
  // end, a changed fingerprint size) or the store's failure; the session is
  // then done.
  Result<Step> OnMessage(const ReconcileMessage& m);

 private:
  const RangeReconciler* reconciler_;
  const uint64_t id_;
  const bool initiator_;
  bool started_ = false;
  bool done_ = false;
  bool truncated_ = false;
  bool violated_ = false;
  uint32_t expect_round_;           // round of the next message from the peer
  uint32_t fingerprint_bytes_ = 0;  // fixed by the session's first message
  uint32_t received_ = 0;
};

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_RECONCILE_SESSION_H_
