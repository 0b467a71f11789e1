// The feed store: the embeddable heart of plumlog.
//
// A store lives in a home directory:
//   <home>/secret   the local identity's Ed25519 secret key (mode 0600)
//   <home>/db/      the RocksDB database
// Each store has one local author (the identity) who appends; entries of other
// authors arrive through Ingest (replication, import).
//
// Thread safety: all methods may be called from any thread concurrently. Writes
// are serialised internally; concurrent Appends share one WAL write (and one
// fsync in sync mode).
#ifndef PLUMLOG_STORE_H_
#define PLUMLOG_STORE_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plumlog/listener.h"
#include "plumlog/options.h"
#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog {

class Store {
 public:
  // Creates <home> (mode 0700) with a new identity and an empty database.
  // AlreadyExists if <home> already holds a secret key or a database.
  static Status Init(const std::string& home);

  // Opens the store in <home>. Errors: FailedPrecondition if <home> holds no
  // store (and !create_if_missing), Busy if another process has it open for
  // writing, PermissionDenied if the secret key is readable by group/others,
  // Corruption if the key or the schema is bad.
  static Result<std::unique_ptr<Store>> Open(const std::string& home,
                                             const StoreOptions& options);

  virtual ~Store() = default;

  // The local author's feed id.
  virtual const FeedId& local_id() const = 0;
  // The local identity's 32-byte Ed25519 seed (its secret key, as in
  // <home>/secret). The Node needs it for the secret handshake; anyone holding
  // it can write to the local feed.
  virtual std::span<const uint8_t, 32> identity_seed() const = 0;

  // Appends one entry to the local feed. `content` must be exactly one msgpack
  // value; the encoded entry must fit kMaxEntryBytes. Returns the stored entry
  // once it is durable (see StoreOptions::sync).
  virtual Result<Entry> Append(std::string_view content) = 0;
  // As Append for each content, in order, signed on all cores and written in one
  // atomic batch: all are stored or none.
  virtual Result<std::vector<Entry>> AppendBatch(
      const std::vector<std::string>& contents) = 0;

  // Stores entries of any author as replication or import delivers them. For
  // each entry in order: duplicates (same id stored) are skipped; an entry at
  // head+1 whose previous is the head id, lamport above the head's, and whose
  // signature verifies is stored; a validly signed entry at an already stored
  // sequence with a different id is a fork (proof stored, feed frozen). The
  // first entry that fails stops the batch; everything before it is written
  // atomically. Signatures are verified on all cores.
  virtual IngestResult Ingest(std::vector<Entry> entries) = 0;

  // Reads. NotFound when absent.
  virtual Result<Entry> Get(const FeedId& author, uint64_t seq) const = 0;
  virtual Result<Entry> GetById(const EntryId& id) const = 0;
  // Entries author/from_seq, from_seq+1, ... at most `limit` of them.
  virtual Result<std::vector<Entry>> ReadFeed(const FeedId& author, uint64_t from_seq,
                                              size_t limit) const = 0;
  // Entries in local arrival order, starting after position `after` (0 = start).
  virtual Result<ArrivalPage> ReadArrival(uint64_t after, size_t limit) const = 0;
  // The same order backwards: the newest entries at positions below `before`
  // (UINT64_MAX = from the newest), newest first, at most `limit`. Pass
  // page.next (the oldest position returned) as `before` to continue.
  virtual Result<ArrivalPage> ReadArrivalBackward(uint64_t before, size_t limit) const = 0;
  // Every feed with at least one entry, ordered by author id.
  virtual Result<std::vector<FeedInfo>> Feeds() const = 0;
  // The head of one feed; NotFound if no entry of it is stored.
  virtual Result<FeedInfo> Feed(const FeedId& author) const = 0;
  virtual Result<Clock> GetClock() const = 0;
  virtual Result<std::vector<ForkProof>> Forks() const = 0;

  // Re-verifies everything: every signature, every chain link, every index and
  // head. The report lists each problem found.
  virtual Result<CheckReport> Check() const = 0;

  // Read-only stores: catch up with what a writer process has written since.
  // Returns true if anything new became visible. Writable stores: false.
  virtual Result<bool> Refresh() = 0;

  // Records a fork proof received from elsewhere (two validly signed entries
  // of one author at one sequence with different ids), even when this store
  // holds neither entry, and freezes the feed. InvalidEntry if it is not a
  // proof; AlreadyExists if the feed is already known to be forked.
  virtual Status AddForkProof(const Entry& first, const Entry& second) = 0;

  // Replication bookkeeping: the notes a peer last announced (feed -> note, see
  // docs/protocol.md), so a reconnect only exchanges what changed.
  virtual Result<std::map<FeedId, int64_t>> LoadPeerClock(const FeedId& peer) const = 0;
  virtual Status SavePeerClock(const FeedId& peer, const std::map<FeedId, int64_t>& clock) = 0;

  // Set reconciliation (docs/storage.md, "Feed summaries"). Only feeds with
  // at least one entry that are not forked count. For each of the
  // 2^split_bits children of `range` (FeedRange::Child order), the number of
  // such feeds in it and the sum of their head ids. InvalidArgument unless
  // split_bits <= 16 and range.bits + split_bits <= 256. The default
  // implementations read Feeds(); FeedStore keeps an index.
  virtual Result<std::vector<FeedRangeSummary>> SummarizeFeeds(
      const FeedRange& range, uint32_t split_bits) const;
  // The heads of such feeds in `range`, ordered by id: the first `limit`.
  virtual Result<std::vector<FeedInfo>> FeedsInRange(const FeedRange& range,
                                                     size_t limit) const;

  // Listeners are not owned and must outlive their registration.
  virtual void AddListener(StoreListener* listener) = 0;
  virtual void RemoveListener(StoreListener* listener) = 0;
};

}  // namespace plumlog

#endif  // PLUMLOG_STORE_H_
