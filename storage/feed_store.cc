#include "storage/feed_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>

#include "crypto/sodium_init.h"
#include "format/entry_codec.h"
#include "storage/db_setup.h"
#include "storage/feed_sum_merge_operator.h"
#include "format/feed_summary.h"
#include "storage/info_log.h"
#include "storage/ingest_rules.h"
#include "storage/keys.h"
#include "storage/rocksdb_status.h"

namespace plumlog::storage {

using format::CheckSummaryRequest;
using format::CountsInSummary;
using format::SummaryOf;
namespace {

namespace fs = std::filesystem;

// The stores whose listeners run on this thread (a stack: a callback may write
// to another store, whose listeners then run nested), so none of them can be
// re-entered by a write.
thread_local std::vector<const FeedStore*> tl_in_listener;

}  // namespace

// ---- Init and Open ----

Status FeedStore::Init(const std::string& home) {
  crypto::EnsureSodium();
  std::error_code ec;
  if (!fs::exists(home, ec)) {
    fs::create_directories(home, ec);
    if (ec) return Status::IOError("cannot create " + home + ": " + ec.message());
    ::chmod(home.c_str(), 0700);
  } else if (!fs::is_directory(home, ec)) {
    return Status::InvalidArgument(home + " exists and is not a directory");
  }
  const std::string secret = SecretPath(home);
  const std::string db = DbPath(home);
  const bool have_secret = Exists(secret);
  const bool have_db = Exists(db + "/CURRENT");
  if (have_secret && have_db) {
    return Status::AlreadyExists("a plumlog store already exists at " + home);
  }
  if (have_db && !have_secret) return MissingKeyError(home);
  if (Exists(db) && !have_db && !IsAbandonedCreate(db)) {
    return Status::Corruption(
        db +
        " holds database files but no CURRENT file: it is damaged, "
        "not half-created. `plumlog init` will not replace it; run "
        "`plumlog repair` (docs/operations.md, \"Damaged stores\")");
  }
  // A key without a database: a new identity, or an existing one brought
  // back (the restore of docs/operations.md). Its own feed may live on at
  // peers, so a restored key starts with the own feed unconfirmed.
  std::string own_feed;
  if (!have_secret) {
    PLUMLOG_RETURN_IF_ERROR(crypto::KeyPair::Generate().Save(secret));
  } else {
    own_feed = "restored";
  }
  PLUMLOG_ASSIGN_OR_RETURN(crypto::KeyPair key, crypto::KeyPair::Load(secret));
  // An interrupted earlier init may have left a partial database directory.
  if (Exists(db)) fs::remove_all(db, ec);
  return CreateDb(db, StoreOptions(), key.public_key(), own_feed);
}

Result<std::unique_ptr<FeedStore>> FeedStore::Open(const std::string& home,
                                                   const StoreOptions& options) {
  PLUMLOG_RETURN_IF_ERROR(options.Validate());
  crypto::EnsureSodium();
  if (home.empty()) return Status::InvalidArgument("store home directory is empty");
  // A home we may not look into is not "no store": say what is wrong.
  struct stat home_st;
  if (::stat(home.c_str(), &home_st) != 0 ? errno == EACCES
                                           : S_ISDIR(home_st.st_mode) &&
                                                 ::access(home.c_str(), R_OK | X_OK) != 0 &&
                                                 errno == EACCES) {
    return Status::PermissionDenied("cannot open the store at " + home +
                                    ": permission denied (run as the user who owns it)");
  }
  const bool initialised = Exists(SecretPath(home)) && Exists(DbPath(home) + "/CURRENT");
  if (!initialised) {
    if (!options.create_if_missing) {
      if (Exists(DbPath(home) + "/CURRENT")) return MissingKeyError(home);
      if (Exists(DbPath(home)) && !IsAbandonedCreate(DbPath(home))) {
        return DamagedStoreError(home, "the database has no CURRENT file");
      }
      if (Exists(SecretPath(home)) || Exists(DbPath(home))) {
        return Status::FailedPrecondition("the store at " + home +
                                          " is incomplete; run `plumlog init` to finish it");
      }
      return Status::FailedPrecondition("no plumlog store at " + home +
                                        " (run `plumlog init` first, or pass --home)");
    }
    PLUMLOG_RETURN_IF_ERROR(FeedStore::Init(home));
  }
  PLUMLOG_ASSIGN_OR_RETURN(crypto::KeyPair key, crypto::KeyPair::Load(SecretPath(home)));
  std::unique_ptr<FeedStore> s(new FeedStore(home, options, key));
  PLUMLOG_RETURN_IF_ERROR(s->OpenDb());
  PLUMLOG_RETURN_IF_ERROR(s->LoadMeta());
  PLUMLOG_RETURN_IF_ERROR(s->LoadHeads());
  if (options.own_feed_check && !options.read_only && !s->own_feed_hold_) {
    s->own_feed_hold_ =
        "it was opened by a node that first asks its peers how much of it they "
        "hold";
  }
  return s;
}

FeedStore::FeedStore(std::string home, const StoreOptions& options, crypto::KeyPair key)
    : home_(std::move(home)), options_(options), key_(std::move(key)) {
  // The calling thread works too, so the pool gets one thread fewer.
  const int threads = options_.crypto_threads > 0
                          ? options_.crypto_threads - 1
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) - 1;
  pool_ = std::make_unique<crypto::WorkerPool>(threads);
  crypto::SignatureVerifier::Options vo;
  vo.fast_path = options_.fast_verify;
  verifier_ = std::make_unique<crypto::SignatureVerifier>(vo);
  if (!options_.read_only) {
    signer_ = std::make_unique<crypto::Signer>(key_, options_.signing == SigningNonce::kHedged
                                                         ? crypto::Signer::Nonce::kHedged
                                                         : crypto::Signer::Nonce::kDeterministic);
  }
  write_options_.sync = options_.sync;
}

FeedStore::~FeedStore() {
  if (db_ && !options_.read_only) {
    // Opening replays every WAL written since the last flush (see
    // avoid_flush_during_recovery). Many short-lived writers would make that
    // replay grow without bound, so flush once enough WAL files piled up.
    constexpr size_t kMaxWalsAtClose = 16;
    rocksdb::VectorLogPtr wals;
    if (db_->GetSortedWalFiles(wals).ok() && wals.size() >= kMaxWalsAtClose) {
      rocksdb::FlushOptions fo;
      (void)db_->Flush(fo, cfs_);
    }
  }
  if (db_) {
    for (auto* h : cfs_) {
      if (h) db_->DestroyColumnFamilyHandle(h);
    }
    (void)db_->Close();
    db_.reset();
  }
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(secondary_dir_, ec);
  }
  if (!salvage_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(salvage_dir_, ec);
  }
}

Status FeedStore::OpenDb() {
  rocksdb::Options opts = DbOptions(options_);
  rocksdb::DB* raw = nullptr;
  const std::string path = DbPath(home_);
  // A store of schema version 1 has no `feed_sums` family yet: open the
  // families that exist, and add it below.
  std::vector<std::string> present;
  rocksdb::Status rs = rocksdb::DB::ListColumnFamilies(opts, path, &present);
  if (rs.IsCorruption()) return DamagedStoreError(home_, rs.ToString());
  PLUMLOG_RETURN_IF_ERROR(FromRocks(rs, "cannot open database " + path));
  std::vector<rocksdb::ColumnFamilyDescriptor> all = CfDescriptors(opts),
                                               wanted;
  std::vector<int> index;
  for (int i = 0; i < kCfCount; ++i) {
    if (std::find(present.begin(), present.end(), kCfNames[i]) !=
        present.end()) {
      wanted.push_back(all[i]);
      index.push_back(i);
    } else if (i != kCfFeedSums) {
      return Status::Corruption("the database at " + path +
                                " has no column family " + kCfNames[i]);
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  if (options_.read_only) {
    char tmpl[] = "/tmp/plumlog-reader-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return Status::IOError("cannot create a reader directory");
    secondary_dir_ = tmpl;
    opts.max_open_files = -1;  // required by secondary instances
    rs = rocksdb::DB::OpenAsSecondary(opts, path, secondary_dir_, wanted,
                                      &handles, &raw);
  } else {
    // Our own info logger: RocksDB's aborts on a full disk (storage/info_log.h).
    if (auto log = InfoLog::Open(path, opts.max_log_file_size)) opts.info_log = std::move(log);
    rs = rocksdb::DB::Open(opts, path, wanted, &handles, &raw);
  }
  cfs_.assign(kCfCount, nullptr);
  for (size_t k = 0; k < handles.size(); ++k)
    cfs_[static_cast<size_t>(index[k])] = handles[k];
  Status st = FromRocks(rs, "cannot open database " + path);
  if (st.code() == Status::Code::kCorruption)
    return DamagedStoreError(home_, rs.ToString());
  if (st.code() == Status::Code::kBusy) {
    return Status::Busy("the store at " + home_ +
                        " is in use by another process (a running `plumlog serve`, or "
                        "another command); stop it or run the command through it");
  }
  PLUMLOG_RETURN_IF_ERROR(st);
  db_.reset(raw);
  std::string schema;
  st = FromRocks(db_->Get(rocksdb::ReadOptions(), cfs_[kCfMeta], std::string(kMetaSchemaKey),
                          &schema),
                 "cannot read schema version");
  if (st.code() == Status::Code::kNotFound) {
    return Status::Corruption("the database at " + path + " has no schema version");
  }
  PLUMLOG_RETURN_IF_ERROR(st);
  if (schema == kSchemaVersionWithoutFeedSums) {
    // A reader leaves the store as it is and answers SummarizeFeeds from the
    // heads; the writer upgrades it.
    return options_.read_only ? Status::OK() : AddFeedSums(all[kCfFeedSums]);
  }
  if (schema != kSchemaVersion) {
    return Status::FailedPrecondition("the store at " + home_ + " has schema version " +
                                      schema + "; this build reads version " +
                                      std::string(kSchemaVersion));
  }
  if (cfs_[kCfFeedSums] == nullptr) {
    return Status::Corruption("the database at " + path +
                              " has no column family " + kCfNames[kCfFeedSums]);
  }
  return Status::OK();
}

Status FeedStore::LoadMeta() {
  const FeedId& me = key_.public_key();
  std::string v;
  rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), cfs_[kCfMeta],
                                std::string(kMetaIdentityKey), &v);
  if (rs.ok()) {
    std::optional<FeedId> recorded = FeedId::FromBytes(v);
    if (!recorded)
      return Status::Corruption("the database's identity record is malformed");
    if (*recorded != me) {
      return Status::Corruption(
          "the secret key " + SecretPath(home_) + " is the key of " +
          me.ToString() + ", but the database at " + DbPath(home_) +
          " belongs to " + recorded->ToString() +
          ": the key file was altered or replaced. Restore the right key from "
          "your backup; "
          "appending with this one would start a new feed in the old store");
    }
  } else if (rs.IsNotFound()) {
    // A store created before the identity was recorded: record it now.
    if (!options_.read_only && salvage_dir_.empty()) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      PLUMLOG_RETURN_IF_ERROR(
          FromRocks(db_->Put(wo, cfs_[kCfMeta], std::string(kMetaIdentityKey),
                             std::string(me.view())),
                    "cannot record the store's identity"));
    }
  } else {
    return FromRocks(rs, "cannot read the store's identity");
  }
  rs = db_->Get(rocksdb::ReadOptions(), cfs_[kCfMeta],
                std::string(kMetaOwnFeedKey), &v);
  if (rs.ok()) {
    std::lock_guard<std::mutex> l(own_feed_mu_);
    own_feed_marked_ = true;
    own_feed_hold_ =
        v == "repaired"
            ? "the store was repaired and may have lost its newest entries"
            : "the store was restored from a backup";
  } else if (!rs.IsNotFound()) {
    return FromRocks(rs, "cannot read the own feed's state");
  }
  return Status::OK();
}

std::optional<std::string> FeedStore::OwnFeedHold() const {
  std::lock_guard<std::mutex> l(own_feed_mu_);
  return own_feed_hold_;
}

Status FeedStore::OwnFeedCheck() const {
  std::lock_guard<std::mutex> l(own_feed_mu_);
  if (!own_feed_hold_) return Status::OK();
  return Status::FailedPrecondition(
      "appends to the own feed " + key_.public_key().ToString() +
      " are held: " + *own_feed_hold_ +
      ". Peers may hold newer entries of it than this store, and appending now "
      "would fork "
      "the feed. Run the node (`plumlog serve`, or `plumlog sync ADDR` with a "
      "peer) until it "
      "has heard from a peer, or, if no peer can hold more of it, run `plumlog "
      "confirm-feed` "
      "(docs/operations.md, \"Restoring a node\")");
}

Status FeedStore::ConfirmOwnFeed() {
  PLUMLOG_RETURN_IF_ERROR(WritableCheck());
  std::lock_guard<std::mutex> l(own_feed_mu_);
  if (own_feed_marked_) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    std::lock_guard<std::mutex> w(db_write_mu_);
    PLUMLOG_RETURN_IF_ERROR(
        FromRocks(db_->Delete(wo, cfs_[kCfMeta], std::string(kMetaOwnFeedKey)),
                  "cannot record that the own feed is confirmed"));
    own_feed_marked_ = false;
  }
  own_feed_hold_.reset();
  return Status::OK();
}

Status FeedStore::AddFeedSums(
    const rocksdb::ColumnFamilyDescriptor& descriptor) {
  if (cfs_[kCfFeedSums] == nullptr) {
    PLUMLOG_RETURN_IF_ERROR(
        FromRocks(db_->CreateColumnFamily(descriptor.options, descriptor.name,
                                          &cfs_[kCfFeedSums]),
                  "cannot add the feed summaries to the store"));
  }
  // One record per range at each level, from the heads, and the new schema
  // version in the same batch: a crash leaves version 1 (and an empty
  // family), which the next open upgrades again.
  std::map<std::string, FeedRangeSummary> sums;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfHeads]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    FeedInfo info;
    if (!ParseHeadValue(
            std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()), &info)) {
      return Status::Corruption("malformed feed head record");
    }
    if (!CountsInSummary(info)) continue;
    for (uint32_t bits : kFeedSumLevels)
      sums[FeedSumKey(bits, info.author)].Add(info.head);
  }
  PLUMLOG_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read feed heads"));
  rocksdb::WriteBatch wb;
  for (const auto& [key, sum] : sums)
    wb.Put(cfs_[kCfFeedSums], key, FeedSumValue(sum));
  wb.Put(cfs_[kCfMeta], std::string(kMetaSchemaKey),
         std::string(kSchemaVersion));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::lock_guard<std::mutex> w(db_write_mu_);
  return FromRocks(db_->Write(wo, &wb), "cannot write the feed summaries");
}

Status FeedStore::LoadHeads() {
  std::unordered_map<FeedId, FeedInfo> heads;
  uint64_t max_lamport = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfHeads]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    FeedInfo info;
    if (!ParseHeadValue(std::string_view(it->key().data(), it->key().size()),
                        std::string_view(it->value().data(), it->value().size()), &info)) {
      return Status::Corruption("malformed feed head record");
    }
    max_lamport = std::max(max_lamport, info.lamport);
    heads.emplace(info.author, info);
  }
  PLUMLOG_RETURN_IF_ERROR(Rocks(it->status(), "cannot read feed heads"));
  uint64_t last = 0;
  std::unique_ptr<rocksdb::Iterator> log(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfLog]));
  log->SeekToLast();
  if (log->Valid()) {
    if (log->key().size() != 8) return Status::Corruption("malformed log key");
    last = GetU64BE(std::string_view(log->key().data(), 8));
  }
  PLUMLOG_RETURN_IF_ERROR(Rocks(log->status(), "cannot read the log"));
  std::unique_lock<std::shared_mutex> l(state_mu_);
  heads_ = std::move(heads);
  max_lamport_ = max_lamport;
  last_arrival_ = last;
  return Status::OK();
}

Result<bool> FeedStore::Refresh() {
  if (!options_.read_only) return false;
  PLUMLOG_RETURN_IF_ERROR(
      FromRocks(db_->TryCatchUpWithPrimary(), "cannot catch up with the writer"));
  uint64_t before;
  size_t feeds_before;
  {
    std::shared_lock<std::shared_mutex> l(state_mu_);
    before = last_arrival_;
    feeds_before = heads_.size();
  }
  PLUMLOG_RETURN_IF_ERROR(LoadHeads());
  std::shared_lock<std::shared_mutex> l(state_mu_);
  return last_arrival_ != before || heads_.size() != feeds_before;
}

void FeedStore::AddListener(StoreListener* listener) {
  std::lock_guard<std::mutex> l(listeners_mu_);
  listeners_.push_back(listener);
}

void FeedStore::RemoveListener(StoreListener* listener) {
  {
    std::lock_guard<std::mutex> l(listeners_mu_);
    std::erase(listeners_, listener);
  }
  // Wait out notifications in flight on other threads, so the caller may
  // destroy `listener` once this returns (not from inside a notification of
  // this store: that thread holds the lock itself).
  if (std::find(tl_in_listener.begin(), tl_in_listener.end(), this) == tl_in_listener.end()) {
    std::unique_lock<std::shared_mutex> wait(notify_mu_);
  }
}

uint64_t FeedStore::NowMs() const {
  if (options_.clock_ms) return options_.clock_ms();
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

Status FeedStore::Rocks(const rocksdb::Status& rs,
                        std::string_view context) const {
  NoteDamage(rs);
  return FromRocks(rs, context);
}

void FeedStore::NoteDamage(const rocksdb::Status& rs) const {
  if (!rs.IsCorruption()) return;
  std::lock_guard<std::mutex> l(damage_mu_);
  if (!damage_) damage_ = rs.ToString();
}

Status FeedStore::WritableCheck() const {
  if (options_.read_only) {
    return Status::FailedPrecondition("the store is open read-only");
  }
  {
    std::lock_guard<std::mutex> l(damage_mu_);
    if (damage_) {
      return Status::Corruption("the store at " + home_ +
                                " found damage while reading (" + *damage_ +
                                ") and takes no more writes: run `plumlog "
                                "check` to see what is damaged and "
                                "`plumlog repair` to rebuild it "
                                "(docs/operations.md, \"Damaged stores\")");
    }
  }
  if (std::find(tl_in_listener.begin(), tl_in_listener.end(), this) !=
      tl_in_listener.end()) {
    return Status::FailedPrecondition(
        "store writes are not allowed inside a listener callback");
  }
  return Status::OK();
}

// ---- the write path ----

struct FeedStore::WriteOp {
  enum class Kind { kAppend, kIngest, kForkProof, kDeleteFeed };
  Kind kind = Kind::kAppend;
  // kAppend: contents to append in order (one for Append).
  std::vector<std::string_view> contents;
  // kIngest: the entries and their signature state (0 unchecked, 1 valid, 2
  // bad).
  std::vector<Entry>* ingest = nullptr;
  std::vector<uint8_t> sig;

  // Results.
  Status status;
  std::vector<Entry> appended;
  IngestResult result;
  bool done = false;

  // Staged by the leader.
  std::vector<std::string> signed_bytes;
  std::vector<EntryId> ids;
  std::vector<size_t> ingest_stored;  // indices of ingest entries to write
  // kForkProof: the proof to record (also in `forks` once accepted).
  const ForkProof* proof = nullptr;
  std::vector<ForkProof> forks;
  // kDeleteFeed: the feed, and how many entries went.
  FeedId author;
  uint64_t deleted = 0;
};

// What the leader has staged in the current group on top of committed state.
struct FeedStore::GroupState {
  std::unordered_map<FeedId, FeedInfo> heads;  // changed heads
  std::map<std::pair<FeedId, uint64_t>, EntryId> ids;  // entries staged this group
  // Ingested entries staged this group (not yet readable from the database), so
  // a fork against one of them can still be proved.
  std::map<std::pair<FeedId, uint64_t>, const Entry*> ingested;
  uint64_t last_arrival = 0;
  uint64_t max_lamport = 0;
};

Status FeedStore::Submit(WriteOp* op) {
  std::unique_lock<std::mutex> l(queue_mu_);
  queue_.push_back(op);
  queue_cv_.wait(l, [&] { return op->done || !leader_active_; });
  if (op->done) return Status::OK();
  leader_active_ = true;
  while (!queue_.empty()) {
    // A group runs up to the next delete; a delete is a group of its own.
    auto end = queue_.begin() + 1;
    if (queue_.front()->kind != WriteOp::Kind::kDeleteFeed) {
      end = std::find_if(queue_.begin(), queue_.end(),
                         [](const WriteOp* o) { return o->kind == WriteOp::Kind::kDeleteFeed; });
    }
    std::vector<WriteOp*> group(queue_.begin(), end);
    queue_.erase(queue_.begin(), end);
    l.unlock();
    CommitGroup(group);
    l.lock();
    for (WriteOp* g : group) g->done = true;
    queue_cv_.notify_all();
  }
  leader_active_ = false;
  queue_cv_.notify_all();
  return Status::OK();
}

void FeedStore::PrepareAppend(WriteOp* op, GroupState* g) {
  const FeedId& me = key_.public_key();
  FeedInfo head;
  if (auto it = g->heads.find(me); it != g->heads.end()) {
    head = it->second;
  } else if (auto jt = heads_.find(me); jt != heads_.end()) {
    head = jt->second;
  } else {
    head.author = me;
  }
  if (head.forked) {
    op->status = Status::Forked("the local feed is marked forked; it takes no more entries");
    return;
  }
  uint64_t max_lamport = g->max_lamport;
  const uint64_t now = NowMs();
  for (std::string_view content : op->contents) {
    EntryCodec::Fields f;
    f.author = me;
    f.seq = head.seq + 1;
    if (head.seq > 0) f.previous = head.head;
    f.lamport = std::max(max_lamport, head.lamport) + 1;
    f.timestamp_ms = now;
    f.content = content;
    Result<std::string> sb = EntryCodec::EncodeSigned(f);
    if (!sb.ok()) {
      op->status = sb.status();
      op->signed_bytes.clear();
      op->ids.clear();
      return;
    }
    EntryId id = EntryCodec::IdOf(*sb);
    head.seq = f.seq;
    head.head = id;
    head.lamport = f.lamport;
    max_lamport = f.lamport;
    op->signed_bytes.push_back(std::move(sb).value());
    op->ids.push_back(id);
  }
  // Commit the op's staging to the group only once all of it encoded.
  for (size_t i = 0; i < op->ids.size(); ++i) {
    g->ids[{me, head.seq - op->ids.size() + 1 + i}] = op->ids[i];
  }
  g->heads[me] = head;
  g->max_lamport = max_lamport;
}

void FeedStore::PrepareIngest(WriteOp* op, GroupState* g) {
  std::vector<Entry>& in = *op->ingest;
  IngestResult& r = op->result;
  auto fail = [&](size_t i, Status st) {
    r.failed_index = i;
    r.failure = std::move(st);
  };
  for (size_t i = 0; i < in.size(); ++i) {
    const Entry& e = in[i];
    FeedInfo head;
    if (auto it = g->heads.find(e.author()); it != g->heads.end()) {
      head = it->second;
    } else if (auto jt = heads_.find(e.author()); jt != heads_.end()) {
      head = jt->second;
    } else {
      head.author = e.author();
    }
    auto sig_ok = [&]() {
      if (op->sig[i] == 0) op->sig[i] = verifier_->Verify(EntryCodec::SignatureItem(e)) ? 1 : 2;
      return op->sig[i] == 1;
    };
    // The id stored at this sequence, for duplicates and forks.
    std::optional<EntryId> stored;
    if (e.seq() <= head.seq) {
      if (auto it = g->ids.find({e.author(), e.seq()}); it != g->ids.end()) {
        stored = it->second;
      } else {
        std::string v;
        rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), cfs_[kCfFeeds],
                                      FeedKey(e.author(), e.seq()), &v);
        uint64_t arrival;
        EntryId id;
        if (rs.ok() && ParseFeedValue(v, &arrival, &id)) {
          stored = id;
        } else if (!rs.ok() && !rs.IsNotFound()) {
          return fail(i, Rocks(rs, "reading " + e.author().ToString() + " seq " +
                                           std::to_string(e.seq())));
        }
      }
    }
    IngestDecision d = DecideIngest(head, e, stored, sig_ok);
    if (d.verdict == IngestVerdict::kDuplicate) {
      ++r.duplicates;
      continue;
    }
    if (d.verdict == IngestVerdict::kReject) return fail(i, d.status);
    if (d.verdict == IngestVerdict::kFork) {
      auto staged = g->ingested.find({e.author(), e.seq()});
      Result<Entry> first =
          staged != g->ingested.end() ? Result<Entry>(*staged->second) : Get(e.author(), e.seq());
      if (!first.ok()) return fail(i, first.status().WithContext("reading fork partner"));
      op->forks.push_back(ForkProof{std::move(first).value(), e});
      head.forked = true;
      g->heads[e.author()] = head;
      r.forks.push_back(e.author());
      return fail(i, d.status);
    }
    head.seq = e.seq();
    head.head = e.id();
    head.lamport = e.lamport();
    g->heads[e.author()] = head;
    g->ids[{e.author(), e.seq()}] = e.id();
    g->ingested[{e.author(), e.seq()}] = &e;
    g->max_lamport = std::max(g->max_lamport, e.lamport());
    op->ingest_stored.push_back(i);
    ++r.stored;
  }
}

void FeedStore::CommitGroup(std::vector<WriteOp*>& group) {
  if (group.size() == 1 && group.front()->kind == WriteOp::Kind::kDeleteFeed) {
    CommitDelete(group.front());
    return;
  }
  GroupState g;
  {
    std::shared_lock<std::shared_mutex> l(state_mu_);
    g.last_arrival = last_arrival_;
    g.max_lamport = max_lamport_;
  }
  // 1. Stage every op against committed state plus what earlier ops staged.
  std::vector<std::pair<WriteOp*, size_t>> to_sign;
  for (WriteOp* op : group) {
    if (op->kind == WriteOp::Kind::kAppend) {
      PrepareAppend(op, &g);
      if (!op->status.ok()) continue;
      op->appended.resize(op->signed_bytes.size());
      for (size_t i = 0; i < op->signed_bytes.size(); ++i) to_sign.emplace_back(op, i);
    } else if (op->kind == WriteOp::Kind::kIngest) {
      PrepareIngest(op, &g);
    } else {
      FeedInfo head;
      head.author = op->proof->stored.author();
      if (auto it = g.heads.find(head.author); it != g.heads.end()) {
        head = it->second;
      } else if (auto jt = heads_.find(head.author); jt != heads_.end()) {
        head = jt->second;
      }
      if (head.forked) {
        op->status = Status::AlreadyExists("feed " + head.author.ToString() +
                                           " is already known to be forked");
        continue;
      }
      head.forked = true;
      g.heads[head.author] = head;
      op->forks.push_back(*op->proof);
    }
  }
  // 2. Sign everything staged: in chunks that share the final inversion of
  // R's encoding (crypto/signer.h), on all cores when it is worth it.
  constexpr size_t kSignChunk = 32;
  auto sign_chunk = [&](size_t c) {
    const size_t begin = c * kSignChunk;
    const size_t end = std::min(to_sign.size(), begin + kSignChunk);
    std::vector<std::string_view> messages;
    messages.reserve(end - begin);
    for (size_t k = begin; k < end; ++k) {
      auto [op, i] = to_sign[k];
      messages.emplace_back(op->signed_bytes[i]);
    }
    std::vector<crypto::Signature> sigs(end - begin);
    signer_->SignBatch(EntryCodec::kSignaturePrefix, messages, sigs);
    for (size_t k = begin; k < end; ++k) {
      auto [op, i] = to_sign[k];
      op->appended[i] = EntryCodec::Assemble(op->signed_bytes[i], sigs[k - begin], op->ids[i]);
    }
  };
  const size_t chunks = (to_sign.size() + kSignChunk - 1) / kSignChunk;
  if (to_sign.size() >= options_.parallel_min_batch) {
    pool_->ParallelFor(chunks, sign_chunk);
  } else {
    for (size_t c = 0; c < chunks; ++c) sign_chunk(c);
  }
  // 3. One WriteBatch for the whole group.
  rocksdb::WriteBatch wb;
  std::vector<const Entry*> new_entries;
  std::vector<const ForkProof*> new_forks;
  uint64_t arrival = g.last_arrival;
  auto put_entry = [&](const Entry& e) {
    ++arrival;
    // Keys and values assembled in place (SliceParts): no allocation per entry.
    char arrival_key[8], seq_be[8];
    EncodeU64BE(arrival, arrival_key);
    EncodeU64BE(e.seq(), seq_be);
    const rocksdb::Slice ak(arrival_key, 8);
    const rocksdb::Slice id(e.id().view().data(), EntryId::kSize);
    const rocksdb::Slice author(e.author().view().data(), FeedId::kSize);
    const rocksdb::Slice seq(seq_be, 8);
    const rocksdb::Slice log_value[] = {id, rocksdb::Slice(e.encoded())};
    const rocksdb::Slice feed_key[] = {author, seq};
    const rocksdb::Slice feed_value[] = {ak, id};
    wb.Put(cfs_[kCfLog], rocksdb::SliceParts(&ak, 1), rocksdb::SliceParts(log_value, 2));
    wb.Put(cfs_[kCfFeeds], rocksdb::SliceParts(feed_key, 2), rocksdb::SliceParts(feed_value, 2));
    wb.Put(cfs_[kCfIds], rocksdb::SliceParts(&id, 1), rocksdb::SliceParts(feed_key, 2));
    new_entries.push_back(&e);
  };
  for (WriteOp* op : group) {
    if (op->kind == WriteOp::Kind::kAppend) {
      if (!op->status.ok()) continue;
      for (const Entry& e : op->appended) put_entry(e);
    } else {
      if (op->kind == WriteOp::Kind::kIngest) {
        for (size_t i : op->ingest_stored) put_entry((*op->ingest)[i]);
      }
      for (const ForkProof& f : op->forks) {
        wb.Put(cfs_[kCfForks],
               ForkKey(f.conflicting.author(), f.conflicting.seq(), f.conflicting.id()),
               ForkValue(f.stored.encoded(), f.conflicting.encoded()));
        new_forks.push_back(&f);
      }
    }
  }
  // Each feed whose head changed moves its item in the summaries from the
  // old head to the new one (docs/storage.md, "Feed summaries"): one merge
  // operand per summary record touched. heads_ is still the committed state,
  // which only this leader changes.
  std::map<std::string, FeedRangeSummary> sum_deltas;
  for (const auto& [author, head] : g.heads) {
    wb.Put(cfs_[kCfHeads], author.view(), HeadValue(head));
    FeedRangeSummary delta = SummaryOf(head);
    if (auto old = heads_.find(author); old != heads_.end()) {
      delta.Subtract(SummaryOf(old->second));
    }
    if (delta.empty()) continue;
    for (uint32_t bits : kFeedSumLevels) sum_deltas[FeedSumKey(bits, author)].Add(delta);
  }
  for (const auto& [key, delta] : sum_deltas) {
    if (!delta.empty()) wb.Merge(cfs_[kCfFeedSums], key, FeedSumValue(delta));
  }
  Status st;
  if (wb.Count() > 0) {
    std::lock_guard<std::mutex> w(db_write_mu_);
    st = Rocks(db_->Write(write_options_, &wb), "cannot write to the store");
  }
  if (!st.ok()) {
    for (WriteOp* op : group) {
      if (op->kind != WriteOp::Kind::kIngest) {
        if (op->status.ok()) op->status = st;
        op->appended.clear();
      } else {
        IngestResult failed;
        failed.failed_index = 0;
        failed.failure = st;
        op->result = std::move(failed);
      }
    }
    return;
  }
  {
    std::unique_lock<std::shared_mutex> l(state_mu_);
    for (const auto& [author, head] : g.heads) heads_[author] = head;
    last_arrival_ = arrival;
    max_lamport_ = std::max(max_lamport_, g.max_lamport);
  }
  // 4. Tell listeners, in storage order, before anyone else may write.
  std::vector<StoreListener*> listeners;
  {
    std::lock_guard<std::mutex> l(listeners_mu_);
    listeners = listeners_;
  }
  if (!listeners.empty()) {
    std::shared_lock<std::shared_mutex> notifying(notify_mu_);
    tl_in_listener.push_back(this);
    for (const Entry* e : new_entries) {
      for (StoreListener* li : listeners) li->OnEntry(*e);
    }
    for (const ForkProof* f : new_forks) {
      for (StoreListener* li : listeners) li->OnFork(*f);
    }
    tl_in_listener.pop_back();
  }
}

Result<Entry> FeedStore::Append(std::string_view content) {
  PLUMLOG_RETURN_IF_ERROR(WritableCheck());
  PLUMLOG_RETURN_IF_ERROR(OwnFeedCheck());
  WriteOp op;
  op.contents.push_back(content);
  PLUMLOG_RETURN_IF_ERROR(Submit(&op));
  PLUMLOG_RETURN_IF_ERROR(op.status);
  return std::move(op.appended.front());
}

Result<std::vector<Entry>> FeedStore::AppendBatch(const std::vector<std::string>& contents) {
  PLUMLOG_RETURN_IF_ERROR(WritableCheck());
  PLUMLOG_RETURN_IF_ERROR(OwnFeedCheck());
  if (contents.empty()) return std::vector<Entry>();
  WriteOp op;
  op.contents.assign(contents.begin(), contents.end());
  PLUMLOG_RETURN_IF_ERROR(Submit(&op));
  PLUMLOG_RETURN_IF_ERROR(op.status);
  return std::move(op.appended);
}

void FeedStore::VerifySignatures(const std::vector<const Entry*>& entries,
                                 std::vector<uint8_t>* ok, bool sodium_only) const {
  // Chunks of consecutive entries (usually one author's run) share the
  // verifier's per-key table and one field inversion.
  constexpr size_t kChunk = 64;
  const size_t n = entries.size();
  ok->assign(n, 0);
  auto run = [&](size_t begin, size_t end) {
    std::vector<crypto::SignatureVerifier::Item> items;
    items.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) items.push_back(EntryCodec::SignatureItem(*entries[i]));
    if (sodium_only) {
      for (size_t i = begin; i < end; ++i) {
        (*ok)[i] = crypto::SignatureVerifier::VerifyWithSodium(items[i - begin]) ? 1 : 0;
      }
      return;
    }
    verifier_->Verify(items, std::span<uint8_t>(ok->data() + begin, end - begin));
  };
  if (n < options_.parallel_min_batch) {
    run(0, n);
    return;
  }
  pool_->ParallelFor((n + kChunk - 1) / kChunk, [&](size_t c) {
    run(c * kChunk, std::min(n, (c + 1) * kChunk));
  });
}

IngestResult FeedStore::Ingest(std::vector<Entry> entries) {
  Status st = WritableCheck();
  if (!st.ok()) {
    IngestResult r;
    if (!entries.empty()) {
      r.failed_index = 0;
      r.failure = st;
    }
    return r;
  }
  WriteOp op;
  op.kind = WriteOp::Kind::kIngest;
  op.ingest = &entries;
  op.sig.assign(entries.size(), 0);
  // Verify signatures before queueing, on all cores, except for entries that
  // are plainly duplicates of what is stored (replication sends many).
  std::vector<size_t> check;
  check.reserve(entries.size());
  {
    std::shared_lock<std::shared_mutex> l(state_mu_);
    for (size_t i = 0; i < entries.size(); ++i) {
      auto it = heads_.find(entries[i].author());
      if (it != heads_.end() && entries[i].seq() <= it->second.seq) continue;  // leader decides
      check.push_back(i);
    }
  }
  std::vector<const Entry*> to_check;
  to_check.reserve(check.size());
  for (size_t i : check) to_check.push_back(&entries[i]);
  std::vector<uint8_t> ok;
  VerifySignatures(to_check, &ok);
  for (size_t k = 0; k < check.size(); ++k) op.sig[check[k]] = ok[k] ? 1 : 2;
  st = Submit(&op);
  if (!st.ok()) {
    IngestResult r;
    r.failed_index = 0;
    r.failure = st;
    return r;
  }
  return std::move(op.result);
}

Status FeedStore::AddForkProof(const Entry& first, const Entry& second) {
  PLUMLOG_RETURN_IF_ERROR(WritableCheck());
  if (first.author() != second.author() || first.seq() != second.seq() ||
      first.id() == second.id()) {
    return Status::InvalidEntry(
        "not a fork proof: the entries must share author and sequence and "
        "differ");
  }
  if (!EntryCodec::Verify(first) || !EntryCodec::Verify(second)) {
    return Status::InvalidEntry("not a fork proof: bad signature");
  }
  ForkProof proof{first, second};
  WriteOp op;
  op.kind = WriteOp::Kind::kForkProof;
  op.proof = &proof;
  PLUMLOG_RETURN_IF_ERROR(Submit(&op));
  return op.status;
}

void FeedStore::CommitDelete(WriteOp* op) {
  const FeedId& author = op->author;
  rocksdb::WriteBatch wb;
  const rocksdb::Slice prefix(author.view().data(), FeedId::kSize);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfFeeds]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    uint64_t arrival;
    EntryId id;
    if (!ParseFeedValue(std::string_view(it->value().data(), it->value().size()), &arrival,
                        &id)) {
      op->status = Status::Corruption("malformed feed index record of " + author.ToString());
      return;
    }
    wb.Delete(cfs_[kCfLog], ArrivalKey(arrival));
    wb.Delete(cfs_[kCfIds], id.view());
    wb.Delete(cfs_[kCfFeeds], it->key());
    ++op->deleted;
  }
  op->status = FromRocks(it->status(), "cannot read the feed index of " + author.ToString());
  if (!op->status.ok()) return;
  std::unique_ptr<rocksdb::Iterator> forks(
      db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfForks]));
  for (forks->Seek(prefix); forks->Valid() && forks->key().starts_with(prefix); forks->Next()) {
    wb.Delete(cfs_[kCfForks], forks->key());
  }
  op->status = FromRocks(forks->status(), "cannot read the fork proofs of " + author.ToString());
  if (!op->status.ok()) return;
  wb.Delete(cfs_[kCfHeads], author.view());
  // The feed leaves the summaries (docs/storage.md, "Feed summaries").
  // heads_ is the committed state, which only the write leader changes.
  FeedRangeSummary gone;
  {
    std::shared_lock<std::shared_mutex> l(state_mu_);
    if (auto old = heads_.find(author); old != heads_.end())
      gone.Subtract(SummaryOf(old->second));
  }
  if (!gone.empty() && cfs_[kCfFeedSums] != nullptr) {
    for (uint32_t bits : kFeedSumLevels)
      wb.Merge(cfs_[kCfFeedSums], FeedSumKey(bits, author), FeedSumValue(gone));
  }
  {
    std::lock_guard<std::mutex> w(db_write_mu_);
    op->status = FromRocks(db_->Write(write_options_, &wb),
                           "cannot delete the feed " + author.ToString());
  }
  if (!op->status.ok()) {
    op->deleted = 0;
    return;
  }
  std::unique_lock<std::shared_mutex> l(state_mu_);
  heads_.erase(author);
}

Result<uint64_t> FeedStore::DeleteFeed(const FeedId& author) {
  PLUMLOG_RETURN_IF_ERROR(WritableCheck());
  if (author == key_.public_key()) {
    return Status::InvalidArgument("the local feed cannot be deleted");
  }
  WriteOp op;
  op.kind = WriteOp::Kind::kDeleteFeed;
  op.author = author;
  PLUMLOG_RETURN_IF_ERROR(Submit(&op));
  PLUMLOG_RETURN_IF_ERROR(op.status);
  return op.deleted;
}

Result<std::set<FeedId>> FeedStore::LoadBlocks() const {
  std::set<FeedId> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfMeta]));
  const rocksdb::Slice prefix(kMetaBlockPrefix.data(), kMetaBlockPrefix.size());
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != kMetaBlockPrefix.size() + FeedId::kSize) {
      return Status::Corruption("malformed block record");
    }
    out.insert(*FeedId::FromBytes(
        std::string_view(it->key().data() + kMetaBlockPrefix.size(), FeedId::kSize)));
  }
  PLUMLOG_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the block list"));
  return out;
}

Status FeedStore::SaveBlock(const FeedId& feed, bool blocked) {
  PLUMLOG_RETURN_IF_ERROR(WritableCheck());
  rocksdb::WriteOptions wo;
  wo.sync = true;  // a block the user asked for must not come undone
  std::lock_guard<std::mutex> w(db_write_mu_);
  if (blocked) {
    return FromRocks(db_->Put(wo, cfs_[kCfMeta], BlockKey(feed), ""), "cannot save a block");
  }
  return FromRocks(db_->Delete(wo, cfs_[kCfMeta], BlockKey(feed)), "cannot remove a block");
}

Result<std::map<FeedId, int64_t>> FeedStore::LoadPeerClock(const FeedId& peer) const {
  std::map<FeedId, int64_t> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfPeerClocks]));
  const rocksdb::Slice prefix(reinterpret_cast<const char*>(peer.bytes().data()), 32);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != 64 || it->value().size() != 8) {
      return Status::Corruption("malformed peer clock record");
    }
    out[*FeedId::FromBytes(std::string_view(it->key().data() + 32, 32))] =
        static_cast<int64_t>(GetU64BE(std::string_view(it->value().data(), 8)));
  }
  PLUMLOG_RETURN_IF_ERROR(Rocks(it->status(), "cannot read peer clocks"));
  return out;
}

Status FeedStore::SavePeerClock(const FeedId& peer, const std::map<FeedId, int64_t>& clock) {
  PLUMLOG_RETURN_IF_ERROR(WritableCheck());
  rocksdb::WriteBatch wb;
  FeedId lo, hi;
  hi.mutable_bytes().fill(0xff);
  // [peer||0..0, peer||ff..ff) plus the last key itself.
  wb.DeleteRange(cfs_[kCfPeerClocks], PeerClockKey(peer, lo), PeerClockKey(peer, hi));
  wb.Delete(cfs_[kCfPeerClocks], PeerClockKey(peer, hi));
  for (const auto& [author, note] : clock) {
    std::string v;
    PutU64BE(&v, static_cast<uint64_t>(note));
    wb.Put(cfs_[kCfPeerClocks], PeerClockKey(peer, author), v);
  }
  // Peer clocks are an optimisation (request skipping): no fsync needed.
  std::lock_guard<std::mutex> w(db_write_mu_);
  return Rocks(db_->Write(rocksdb::WriteOptions(), &wb), "cannot save a peer clock");
}

// ---- reads ----

Result<Entry> FeedStore::ReadLogValue(std::string_view arrival_key, std::string_view value) const {
  if (value.size() < 32) {
    return Status::Corruption("log record " + std::to_string(GetU64BE(arrival_key)) +
                              " is truncated");
  }
  Result<Entry> e = EntryCodec::DecodeStored(value.substr(32), *EntryId::FromBytes(value.substr(0, 32)));
  if (!e.ok()) {
    return e.status().WithContext("log record " + std::to_string(GetU64BE(arrival_key)));
  }
  return e;
}

Result<Entry> FeedStore::GetAt(uint64_t arrival) const {
  std::string v;
  const std::string key = ArrivalKey(arrival);
  rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), cfs_[kCfLog], key, &v);
  if (rs.IsNotFound()) {
    return Status::Corruption("index points to missing log record " + std::to_string(arrival));
  }
  PLUMLOG_RETURN_IF_ERROR(Rocks(rs, "cannot read the log"));
  return ReadLogValue(key, v);
}

Result<Entry> FeedStore::Get(const FeedId& author, uint64_t seq) const {
  std::string v;
  rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), cfs_[kCfFeeds], FeedKey(author, seq), &v);
  if (rs.IsNotFound()) {
    return Status::NotFound("no entry " + author.ToString() + " seq " + std::to_string(seq));
  }
  PLUMLOG_RETURN_IF_ERROR(Rocks(rs, "cannot read the feed index"));
  uint64_t arrival;
  EntryId id;
  if (!ParseFeedValue(v, &arrival, &id)) return Status::Corruption("malformed feed index record");
  return GetAt(arrival);
}

Result<Entry> FeedStore::GetById(const EntryId& id) const {
  std::string v;
  rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), cfs_[kCfIds], id.view(), &v);
  if (rs.IsNotFound()) return Status::NotFound("no entry " + id.ToString());
  PLUMLOG_RETURN_IF_ERROR(Rocks(rs, "cannot read the id index"));
  FeedId author;
  uint64_t seq;
  if (!ParseFeedKey(v, &author, &seq)) return Status::Corruption("malformed id index record");
  return Get(author, seq);
}

Result<std::vector<Entry>> FeedStore::ReadFeed(const FeedId& author, uint64_t from_seq,
                                               size_t limit) const {
  std::vector<Entry> out;
  if (limit == 0) return out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfFeeds]));
  const rocksdb::Slice prefix(reinterpret_cast<const char*>(author.bytes().data()), 32);
  for (it->Seek(FeedKey(author, std::max<uint64_t>(from_seq, 1)));
       it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
    uint64_t arrival;
    EntryId id;
    if (!ParseFeedValue(std::string_view(it->value().data(), it->value().size()), &arrival,
                        &id)) {
      return Status::Corruption("malformed feed index record");
    }
    PLUMLOG_ASSIGN_OR_RETURN(Entry e, GetAt(arrival));
    out.push_back(std::move(e));
  }
  PLUMLOG_RETURN_IF_ERROR(Rocks(it->status(), "cannot read the feed index"));
  return out;
}

Status FeedStore::AddLogRecord(std::string_view key, std::string_view value,
                               ArrivalPage* page) const {
  if (key.size() != 8) return Status::Corruption("malformed log key");
  PLUMLOG_ASSIGN_OR_RETURN(Entry e, ReadLogValue(key, value));
  page->next = GetU64BE(key);
  page->positions.push_back(page->next);
  page->entries.push_back(std::move(e));
  return Status::OK();
}

Result<ArrivalPage> FeedStore::ReadArrival(uint64_t after, size_t limit) const {
  ArrivalPage page;
  page.next = after;
  if (limit == 0 || after == UINT64_MAX) return page;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfLog]));
  for (it->Seek(ArrivalKey(after + 1)); it->Valid() && page.entries.size() < limit; it->Next()) {
    PLUMLOG_RETURN_IF_ERROR(AddLogRecord(std::string_view(it->key().data(), it->key().size()),
                                         std::string_view(it->value().data(), it->value().size()),
                                         &page));
  }
  PLUMLOG_RETURN_IF_ERROR(Rocks(it->status(), "cannot read the log"));
  return page;
}

Result<ArrivalPage> FeedStore::ReadArrivalBackward(uint64_t before, size_t limit) const {
  ArrivalPage page;
  page.next = before;
  if (limit == 0 || before <= 1) return page;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfLog]));
  for (it->SeekForPrev(ArrivalKey(before - 1)); it->Valid() && page.entries.size() < limit;
       it->Prev()) {
    PLUMLOG_RETURN_IF_ERROR(AddLogRecord(std::string_view(it->key().data(), it->key().size()),
                                         std::string_view(it->value().data(), it->value().size()),
                                         &page));
  }
  PLUMLOG_RETURN_IF_ERROR(Rocks(it->status(), "cannot read the log"));
  return page;
}

Result<std::vector<FeedInfo>> FeedStore::Feeds() const {
  std::vector<FeedInfo> out;
  {
    std::shared_lock<std::shared_mutex> l(state_mu_);
    out.reserve(heads_.size());
    for (const auto& [author, head] : heads_) out.push_back(head);
  }
  std::sort(out.begin(), out.end(),
            [](const FeedInfo& a, const FeedInfo& b) { return a.author < b.author; });
  return out;
}

Result<FeedInfo> FeedStore::Feed(const FeedId& author) const {
  std::shared_lock<std::shared_mutex> l(state_mu_);
  auto it = heads_.find(author);
  if (it == heads_.end()) return Status::NotFound("no entries of " + author.ToString());
  return it->second;
}

Result<Clock> FeedStore::GetClock() const {
  Clock c;
  std::shared_lock<std::shared_mutex> l(state_mu_);
  for (const auto& [author, head] : heads_) c[author] = head.seq;
  return c;
}

Result<std::vector<ForkProof>> FeedStore::Forks() const {
  std::vector<ForkProof> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfForks]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    FeedId author;
    uint64_t seq;
    if (it->key().size() != 72 ||
        !ParseFeedKey(std::string_view(it->key().data(), 40), &author, &seq)) {
      return Status::Corruption("malformed fork proof key");
    }
    std::string_view first, second;
    if (!ParseForkValue(std::string_view(it->value().data(), it->value().size()), &first,
                        &second)) {
      return Status::Corruption("malformed fork proof");
    }
    PLUMLOG_ASSIGN_OR_RETURN(Entry stored, EntryCodec::Decode(first));
    PLUMLOG_ASSIGN_OR_RETURN(Entry conflicting, EntryCodec::Decode(second));
    out.push_back(ForkProof{std::move(stored), std::move(conflicting)});
  }
  PLUMLOG_RETURN_IF_ERROR(Rocks(it->status(), "cannot read fork proofs"));
  return out;
}

// ---- feed summaries (docs/storage.md, "Feed summaries") ----

namespace {

// Visits the heads of `range` in id order until `fn` returns false.
Status ForEachHead(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* heads,
                   const FeedRange& range,
                   const std::function<bool(const FeedInfo&)>& fn) {
  const FeedId last = range.Last();
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), heads));
  for (it->Seek(rocksdb::Slice(range.First().view().data(), FeedId::kSize));
       it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key.size() == FeedId::kSize && key > last.view()) break;
    FeedInfo info;
    if (!ParseHeadValue(
            key, std::string_view(it->value().data(), it->value().size()),
            &info)) {
      return Status::Corruption("malformed feed head record");
    }
    if (!fn(info)) break;
  }
  return FromRocks(it->status(), "cannot read feed heads");
}

}  // namespace

Result<std::vector<FeedRangeSummary>> FeedStore::SummarizeFeeds(
    const FeedRange& range, uint32_t split_bits) const {
  PLUMLOG_RETURN_IF_ERROR(CheckSummaryRequest(range, split_bits));
  std::vector<FeedRangeSummary> out(size_t{1} << split_bits);
  const uint32_t child_bits = range.bits + split_bits;
  // The stored level whose records are exactly as fine as the children, or
  // finer: each record then adds to one child. Finer children than the
  // deepest level are summed from the heads themselves.
  uint32_t level = 0;
  for (uint32_t bits : kFeedSumLevels) {
    if (level == 0 && child_bits <= bits) level = bits;
  }
  if (level == 0 || cfs_[kCfFeedSums] == nullptr) {
    PLUMLOG_RETURN_IF_ERROR(
        ForEachHead(db_.get(), cfs_[kCfHeads], range, [&](const FeedInfo& h) {
          if (CountsInSummary(h))
            out[range.ChildIndex(split_bits, h.author)].Add(h.head);
          return true;
        }));
    return out;
  }
  const std::string first = FeedSumKey(level, range.First());
  const std::string last = FeedSumKey(level, range.Last());
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCfFeedSums]));
  for (it->Seek(first); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key > last) break;
    FeedRange node;
    FeedRangeSummary sum;
    if (!ParseFeedSumKey(key, &node) ||
        !ParseFeedSumValue(
            std::string_view(it->value().data(), it->value().size()), &sum)) {
      return Status::Corruption("malformed feed summary record");
    }
    out[range.ChildIndex(split_bits, node.prefix)].Add(sum);
  }
  PLUMLOG_RETURN_IF_ERROR(
      FromRocks(it->status(), "cannot read feed summaries"));
  return out;
}

Result<std::vector<FeedInfo>> FeedStore::FeedsInRange(const FeedRange& range,
                                                      size_t limit) const {
  PLUMLOG_RETURN_IF_ERROR(CheckSummaryRequest(range, 0));
  std::vector<FeedInfo> out;
  if (limit == 0) return out;
  PLUMLOG_RETURN_IF_ERROR(
      ForEachHead(db_.get(), cfs_[kCfHeads], range, [&](const FeedInfo& h) {
        if (CountsInSummary(h)) out.push_back(h);
        return out.size() < limit;
      }));
  return out;
}

}  // namespace plumlog::storage
