// The validity rules of docs/format.md for one received entry against the
// stored head of its feed. Shared by every Store implementation.
#ifndef PLUMLOG_STORAGE_INGEST_RULES_H_
#define PLUMLOG_STORAGE_INGEST_RULES_H_

#include <functional>
#include <optional>

#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog::storage {

enum class IngestVerdict {
  kAppend,     // valid next entry: store it
  kDuplicate,  // already stored (same id): skip
  kFork,       // validly signed, same sequence as a stored entry, different id
  kReject,     // invalid: `status` says why
};

struct IngestDecision {
  IngestVerdict verdict;
  Status status;  // kFork, kReject: the reason
};

// `head`: the feed's head (seq 0 when nothing is stored). `stored_at_seq`: the
// id stored at entry.seq() when entry.seq() <= head.seq (nullopt otherwise, or
// if missing: then Corruption). `signature_ok` is called at most once, only
// when the answer depends on it.
IngestDecision DecideIngest(const FeedInfo& head, const Entry& entry,
                            const std::optional<EntryId>& stored_at_seq,
                            const std::function<bool()>& signature_ok);

}  // namespace plumlog::storage

#endif  // PLUMLOG_STORAGE_INGEST_RULES_H_
