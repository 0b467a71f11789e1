#include <string>

#include "plumlog/options.h"

namespace plumlog {

Status ReplicationOptions::Validate() const {
  auto positive = [](int64_t v, const char* name) -> Status {
    if (v <= 0) {
      return Status::InvalidArgument(std::string("ReplicationOptions.") + name +
                                     " must be positive, got " + std::to_string(v));
    }
    return Status::OK();
  };
  PLUMLOG_RETURN_IF_ERROR(positive(graft_timeout_ms, "graft_timeout_ms"));
  PLUMLOG_RETURN_IF_ERROR(positive(graft_retry_ms, "graft_retry_ms"));
  if (graft_stagger_ms < 0 || graft_stagger_ms > graft_timeout_ms) {
    return Status::InvalidArgument(
        "ReplicationOptions.graft_stagger_ms must be 0..graft_timeout_ms, "
        "got " +
        std::to_string(graft_stagger_ms));
  }
  PLUMLOG_RETURN_IF_ERROR(positive(digest_interval_ms, "digest_interval_ms"));
  PLUMLOG_RETURN_IF_ERROR(positive(peer_clock_save_ms, "peer_clock_save_ms"));
  PLUMLOG_RETURN_IF_ERROR(positive(reconcile_timeout_ms, "reconcile_timeout_ms"));
  if (max_reconcile_sessions == 0) {
    return Status::InvalidArgument(
        "ReplicationOptions.max_reconcile_sessions must be at least 1");
  }
  if (repair_max_entries == 0) {
    return Status::InvalidArgument("ReplicationOptions.repair_max_entries must be at least 1");
  }
  if (max_entries_per_frame == 0 || max_entries_per_frame > 1024) {
    return Status::InvalidArgument("ReplicationOptions.max_entries_per_frame must be 1..1024");
  }
  if (max_feeds == 0) return Status::InvalidArgument("ReplicationOptions.max_feeds must be at least 1");
  if (max_claims_per_peer == 0) {
    return Status::InvalidArgument("ReplicationOptions.max_claims_per_peer must be at least 1");
  }
  if (max_push_per_pump == 0) {
    return Status::InvalidArgument("ReplicationOptions.max_push_per_pump must be at least 1");
  }
  if (hops > 16) return Status::InvalidArgument("ReplicationOptions.hops must be 0..16");
  return Status::OK();
}

}  // namespace plumlog
