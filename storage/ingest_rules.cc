#include "storage/ingest_rules.h"

#include <string>

namespace plumlog::storage {

IngestDecision DecideIngest(const FeedInfo& head, const Entry& e,
                            const std::optional<EntryId>& stored_at_seq,
                            const std::function<bool()>& signature_ok) {
  // Only failures need the (base64) location text.
  auto where = [&] { return e.author().ToString() + " seq " + std::to_string(e.seq()); };
  if (e.seq() <= head.seq) {
    if (!stored_at_seq) {
      return {IngestVerdict::kReject, Status::Corruption("missing stored entry " + where())};
    }
    if (*stored_at_seq == e.id()) return {IngestVerdict::kDuplicate, Status::OK()};
    if (!signature_ok()) {
      return {IngestVerdict::kReject, Status::InvalidEntry(where() + ": bad signature")};
    }
    if (head.forked) return {IngestVerdict::kReject, Status::Forked(where() + ": feed is forked")};
    return {IngestVerdict::kFork,
            Status::Forked(where() + ": conflicts with the stored entry " +
                           stored_at_seq->ToString() + "; the feed is now frozen")};
  }
  if (head.forked) return {IngestVerdict::kReject, Status::Forked(where() + ": feed is forked")};
  if (e.seq() != head.seq + 1) {
    return {IngestVerdict::kReject,
            Status::InvalidEntry(where() + ": out of order, the stored head is seq " +
                                 std::to_string(head.seq))};
  }
  if (head.seq > 0 && (!e.previous() || *e.previous() != head.head)) {
    return {IngestVerdict::kReject,
            Status::InvalidEntry(where() + ": previous does not match the stored entry " +
                                 head.head.ToString())};
  }
  if (head.seq > 0 && e.lamport() <= head.lamport) {
    return {IngestVerdict::kReject,
            Status::InvalidEntry(where() + ": lamport clock " + std::to_string(e.lamport()) +
                                 " does not exceed the previous entry's " +
                                 std::to_string(head.lamport))};
  }
  if (!signature_ok()) {
    return {IngestVerdict::kReject, Status::InvalidEntry(where() + ": bad signature")};
  }
  return {IngestVerdict::kAppend, Status::OK()};
}

}  // namespace plumlog::storage
