#include "replication/reconcile_session.h"

namespace plumlog::replication {

ReconcileSession::ReconcileSession(const RangeReconciler* reconciler,
                                   uint64_t id, bool initiator)
    : reconciler_(reconciler),
      id_(id),
      initiator_(initiator),
      expect_round_(initiator ? 1 : 0) {}

Result<ReconcileMessage> ReconcileSession::Start() {
  if (!initiator_ || started_) {
    return Status::FailedPrecondition(
        "reconcile session " + std::to_string(id_) +
        " was already started or is not ours to start");
  }
  started_ = true;
  PLUMLOG_ASSIGN_OR_RETURN(ReconcileMessage m, reconciler_->Initiate(id_));
  fingerprint_bytes_ = m.fingerprint_bytes;
  truncated_ = truncated_ || m.truncated;
  return m;
}

Result<ReconcileSession::Step> ReconcileSession::OnMessage(
    const ReconcileMessage& m) {
  auto violation = [&](const std::string& what) {
    done_ = true;
    violated_ = true;
    return Status::Corruption("reconcile session " + std::to_string(id_) +
                              ": " + what);
  };
  if (done_) return violation("message after the session ended");
  if (initiator_ && !started_)
    return violation("message before the session started");
  if (m.session != id_)
    return violation("message of session " + std::to_string(m.session));
  if (m.round != expect_round_) {
    return violation("round " + std::to_string(m.round) + ", expected " +
                     std::to_string(expect_round_));
  }
  if (fingerprint_bytes_ == 0) fingerprint_bytes_ = m.fingerprint_bytes;
  if (m.fingerprint_bytes != fingerprint_bytes_)
    return violation("fingerprint size changed");
  ++received_;
  truncated_ = truncated_ || m.truncated;
  Step step;
  if (m.parts.empty()) {  // the peer is done
    done_ = true;
    return step;
  }
  Result<ReconcileResult> r = reconciler_->Respond(m);
  if (!r.ok()) {
    done_ = true;
    return r.status();
  }
  step.diffs = std::move(r->diffs);
  ReconcileMessage reply = std::move(r->reply);
  if (reply.round >= reconciler_->options().max_rounds) {
    // Long enough: end here; whatever is left waits for another session.
    reply.parts.clear();
    reply.truncated = true;
  }
  truncated_ = truncated_ || reply.truncated;
  if (reply.parts.empty()) done_ = true;  // the empty reply tells the peer
  expect_round_ = reply.round + 1;
  step.send = std::move(reply);
  return step;
}

}  // namespace plumlog::replication
