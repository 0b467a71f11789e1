#include <string>

#include "plumlog/options.h"
#include "replication/membership_message.h"

namespace plumlog {

Status MembershipOptions::Validate() const {
  auto bad = [](const char* name, const std::string& why) {
    return Status::InvalidArgument(std::string("MembershipOptions.") + name + " " + why);
  };
  auto positive = [&](int64_t v, const char* name) -> Status {
    if (v <= 0) return bad(name, "must be positive, got " + std::to_string(v));
    return Status::OK();
  };
  if (active_view_size == 0 || active_view_size > 64) return bad("active_view_size", "must be 1..64");
  if (passive_view_size > 1024) return bad("passive_view_size", "must be at most 1024");
  if (active_random_walk_length > replication::kMaxWalkLength) {
    return bad("active_random_walk_length", "must be at most " +
                                                std::to_string(replication::kMaxWalkLength));
  }
  if (passive_random_walk_length > active_random_walk_length) {
    return bad("passive_random_walk_length", "must be <= active_random_walk_length");
  }
  PLUMLOG_RETURN_IF_ERROR(positive(shuffle_interval_ms, "shuffle_interval_ms"));
  if (shuffle_active + shuffle_passive + 1 > replication::kMaxShuffleEntries) {
    return bad("shuffle_active", "+ shuffle_passive + 1 must be at most " +
                                     std::to_string(replication::kMaxShuffleEntries));
  }
  PLUMLOG_RETURN_IF_ERROR(positive(neighbor_timeout_ms, "neighbor_timeout_ms"));
  PLUMLOG_RETURN_IF_ERROR(positive(probe_interval_ms, "probe_interval_ms"));
  PLUMLOG_RETURN_IF_ERROR(positive(probe_timeout_ms, "probe_timeout_ms"));
  if (probe_timeout_ms >= probe_interval_ms) {
    return bad("probe_timeout_ms", "must be less than probe_interval_ms");
  }
  if (indirect_checks > 16) return bad("indirect_checks", "must be at most 16");
  if (suspicion_mult == 0) return bad("suspicion_mult", "must be at least 1");
  if (suspicion_max_timeout_mult == 0) return bad("suspicion_max_timeout_mult", "must be at least 1");
  if (suspicion_confirmations == 0) return bad("suspicion_confirmations", "must be at least 1");
  if (retransmit_mult == 0) return bad("retransmit_mult", "must be at least 1");
  if (max_piggyback > replication::kMaxPiggybackUpdates) {
    return bad("max_piggyback",
               "must be at most " + std::to_string(replication::kMaxPiggybackUpdates));
  }
  PLUMLOG_RETURN_IF_ERROR(positive(dead_probe_interval_ms, "dead_probe_interval_ms"));
  PLUMLOG_RETURN_IF_ERROR(positive(dead_retention_ms, "dead_retention_ms"));
  PLUMLOG_RETURN_IF_ERROR(positive(rejoin_interval_ms, "rejoin_interval_ms"));
  if (max_members < 2) return bad("max_members", "must be at least 2");
  return Status::OK();
}

}  // namespace plumlog
