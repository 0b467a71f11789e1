// The first pass of `plumlog import`: everything that can be checked about an
// export stream before the store is touched.
#ifndef PLUMLOG_CLI_STREAM_VERIFIER_H_
#define PLUMLOG_CLI_STREAM_VERIFIER_H_

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "crypto/parallel.h"
#include "plumlog/status.h"
#include "plumlog/store.h"
#include "plumlog/types.h"

namespace plumlog::cli {

// Checks, entry by entry: every signature (in batches, on all cores); that
// each feed's entries in the stream are consecutive and chained (previous id,
// rising lamport clock); and that each feed joins the store's copy without a
// gap or a fork and is not frozen by a stored fork. If Add and Finish succeed,
// Store::Ingest of the same entries in the same order stores all of them
// (barring I/O errors and concurrent writers).
class StreamVerifier {
 public:
  // Signatures are checked this many at a time.
  static constexpr size_t kBatch = 1024;

  StreamVerifier(const Store* store, crypto::WorkerPool* pool);

  // The stream's `index`-th entry (1-based). Errors name the entry.
  Status Add(Entry entry, uint64_t index);
  // After the last entry.
  Status Finish();

  uint64_t entries() const { return entries_; }

 private:
  struct FeedState {
    uint64_t first_seq = 0;
    uint64_t last_seq = 0;
    EntryId last_id;
    uint64_t last_lamport = 0;
    FeedInfo stored;  // seq 0: the store has none of it
  };

  // Everything but the signature.
  Status CheckLinks(const Entry& e, uint64_t index);
  Status CheckFirst(const Entry& e, const std::string& where, FeedState* f);
  Status FlushSignatures();

  const Store* store_;
  crypto::WorkerPool* pool_;
  std::map<FeedId, FeedState> feeds_;
  std::vector<std::pair<Entry, uint64_t>>
      pending_;  // signature not yet checked
  uint64_t entries_ = 0;
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_STREAM_VERIFIER_H_
