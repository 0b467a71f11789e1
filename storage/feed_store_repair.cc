// FeedStore::OpenDamaged and FeedStore::Repair: reading what still reads from
// a store RocksDB refuses to open, and rebuilding it (docs/storage.md,
// "Damaged stores").
#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/wal_filter.h>
#include <rocksdb/write_batch.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>

#include "crypto/sodium_init.h"
#include "storage/db_setup.h"
#include "format/entry_codec.h"
#include "storage/feed_store.h"
#include "storage/keys.h"
#include "storage/rocksdb_status.h"

namespace plumlog::storage {
namespace {

namespace fs = std::filesystem;

// Keeps the lines of RocksDB's info log that report data it dropped or
// could not read (recovery with kSkipAnyCorruptedRecords and RepairDB log
// them and go on).
class DamageLog : public rocksdb::Logger {
 public:
  DamageLog() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, format, ap);
    const std::string_view line(buf);
    if (line.find("Corruption") == std::string_view::npos &&
        line.find("dropping") == std::string_view::npos &&
        line.find("orrupt") == std::string_view::npos) {
      return;
    }
    std::lock_guard<std::mutex> l(mu_);
    if (lines_.size() < 100) lines_.emplace_back(line);
  }
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> l(mu_);
    return lines_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

// Sees every write batch replayed from the WAL. A batch's header holds its
// first sequence number (8 bytes, little-endian) and its count (4 bytes), the
// layout RocksDB's db/write_batch.cc documents for WriteBatch::rep_; a jump
// between one batch's last sequence and the next one's first is writes that
// did not replay.
class LostWrites : public rocksdb::WalFilter {
 public:
  const char* Name() const override { return "plumlog.LostWrites"; }
  WalProcessingOption LogRecordFound(unsigned long long /*log_number*/,
                                     const std::string& log_file_name,
                                     const rocksdb::WriteBatch& batch,
                                     rocksdb::WriteBatch* /*new_batch*/,
                                     bool* batch_changed) override {
    *batch_changed = false;
    const std::string& rep = batch.Data();
    if (rep.size() < 12) return WalProcessingOption::kContinueProcessing;
    uint64_t seq = 0;
    for (int i = 7; i >= 0; --i)
      seq = (seq << 8) | static_cast<uint8_t>(rep[i]);
    const uint64_t count = batch.Count();
    if (last_ != 0 && seq > last_ + 1) {
      gaps_.push_back(
          {"WAL", "writes with sequence numbers " + std::to_string(last_ + 1) +
                      ".." + std::to_string(seq - 1) +
                      " did not read and were not replayed (the next write "
                      "that reads is in " +
                      fs::path(log_file_name).filename().string() + ")"});
    }
    if (count > 0) last_ = std::max(last_, seq + count - 1);
    return WalProcessingOption::kContinueProcessing;
  }
  const std::vector<CheckProblem>& gaps() const { return gaps_; }

 private:
  uint64_t last_ = 0;
  std::vector<CheckProblem> gaps_;
};

// Copies a database directory for salvage: table files (immutable) by hard
// link when possible, everything else by copy; the lock and info logs stay.
Status CopyDb(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return Status::IOError("cannot create " + to + ": " + ec.message());
  for (const auto& e : fs::directory_iterator(from, ec)) {
    const std::string name = e.path().filename().string();
    if (name == "LOCK" || name.starts_with("LOG") || !e.is_regular_file())
      continue;
    const fs::path dest = fs::path(to) / name;
    std::error_code link_ec;
    if (name.ends_with(".sst")) fs::create_hard_link(e.path(), dest, link_ec);
    if (!name.ends_with(".sst") || link_ec) {
      fs::copy_file(e.path(), dest, fs::copy_options::overwrite_existing, ec);
      if (ec)
        return Status::IOError("cannot copy " + e.path().string() + ": " +
                               ec.message());
    }
  }
  if (ec) return Status::IOError("cannot read " + from + ": " + ec.message());
  return Status::OK();
}

// A scratch directory next to the store (same filesystem: table files are
// linked, not copied), or under /tmp when the home is not writable.
Result<std::string> ScratchDir(const std::string& home, const char* what) {
  std::string tmpl = home + "/" + what + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) return tmpl;
  tmpl = std::string("/tmp/plumlog-") + what + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) return tmpl;
  return Status::IOError(std::string("cannot create a ") + what +
                         " directory: " + std::strerror(errno));
}

std::string UtcStamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return Status::IOError("cannot open " + dir + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    return Status::IOError("cannot fsync " + dir + ": " + std::strerror(errno));
  return Status::OK();
}

// Replaces every mention of the scratch copy's path by the store's own.
std::string Unscratch(std::string text, const std::string& scratch_db,
                      const std::string& db) {
  for (size_t at = text.find(scratch_db); at != std::string::npos;
       at = text.find(scratch_db, at + db.size())) {
    text.replace(at, scratch_db.size(), db);
  }
  return text;
}

}  // namespace

// ---- OpenDamaged ----

Status FeedStore::OpenSalvageDb(std::vector<CheckProblem>* damage) {
  const std::string copy = salvage_dir_ + "/db";
  const std::string original = DbPath(home_);
  rocksdb::Options opts = DbOptions(options_);
  // Replay what reads and step over what does not; the filter and the log
  // record what was stepped over.
  opts.wal_recovery_mode = rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords;
  opts.paranoid_checks = false;
  auto log = std::make_shared<DamageLog>();
  opts.info_log = log;
  LostWrites lost;
  opts.wal_filter = &lost;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status rs =
      rocksdb::DB::Open(opts, copy, CfDescriptors(opts), &cfs_, &raw);
  if (!rs.ok()) {
    // The MANIFEST (or CURRENT) does not read: rebuild it from the table
    // files and logs, in the copy.
    damage->push_back(
        {original, "does not open even skipping damaged WAL records (" +
                       Unscratch(rs.ToString(), copy, original) +
                       "); its MANIFEST was rebuilt from the table and log "
                       "files (RocksDB RepairDB) in a scratch copy"});
    rocksdb::Options ropts = DbOptions(options_);
    ropts.info_log = log;
    rs = rocksdb::RepairDB(copy, ropts, CfDescriptors(ropts),
                           rocksdb::ColumnFamilyOptions(ropts));
    if (!rs.ok()) {
      return Status::Corruption(
          "the store at " + home_ +
          " cannot be salvaged: " + Unscratch(rs.ToString(), copy, original));
    }
    opts.wal_filter = nullptr;
    // RepairDB only brings back the column families that have table files.
    opts.create_missing_column_families = true;
    rs = rocksdb::DB::Open(opts, copy, CfDescriptors(opts), &cfs_, &raw);
    if (!rs.ok()) {
      return Status::Corruption("the store at " + home_ +
                                " does not open even after RepairDB: " +
                                Unscratch(rs.ToString(), copy, original));
    }
  }
  db_.reset(raw);
  for (const CheckProblem& g : lost.gaps()) {
    damage->push_back({original + " " + g.where, g.what});
  }
  for (const std::string& line : log->lines()) {
    damage->push_back(
        {original, "RocksDB: " + Unscratch(line, copy, original)});
  }
  std::string schema;
  rs = db_->Get(rocksdb::ReadOptions(), cfs_[kCfMeta],
                std::string(kMetaSchemaKey), &schema);
  if (rs.ok() && schema != kSchemaVersion) {
    return Status::FailedPrecondition(
        "the store at " + home_ + " has schema version " + schema +
        "; this build reads version " + std::string(kSchemaVersion));
  }
  if (!rs.ok()) {
    damage->push_back({"meta", "schema version unreadable: " +
                                   Unscratch(rs.ToString(), copy, original)});
  }
  return Status::OK();
}

Result<std::unique_ptr<FeedStore>> FeedStore::OpenDamaged(
    const std::string& home, std::vector<CheckProblem>* damage) {
  crypto::EnsureSodium();
  if (!Exists(DbPath(home))) {
    return Status::FailedPrecondition("no database at " + DbPath(home));
  }
  if (!Exists(SecretPath(home))) return MissingKeyError(home);
  PLUMLOG_ASSIGN_OR_RETURN(crypto::KeyPair key,
                           crypto::KeyPair::Load(SecretPath(home)));
  StoreOptions options;
  options.read_only = true;  // no writes, no signer
  std::unique_ptr<FeedStore> s(new FeedStore(home, options, key));
  PLUMLOG_ASSIGN_OR_RETURN(s->salvage_dir_, ScratchDir(home, "salvage"));
  PLUMLOG_RETURN_IF_ERROR(CopyDb(DbPath(home), s->salvage_dir_ + "/db"));
  std::vector<CheckProblem> found;
  PLUMLOG_RETURN_IF_ERROR(s->OpenSalvageDb(&found));
  Status st = s->LoadMeta();
  if (st.code() == Status::Code::kCorruption &&
      st.message().find("belongs to") != std::string::npos) {
    return st;  // the wrong key: nothing here is this identity's store
  }
  if (!st.ok()) found.push_back({"meta", st.message()});
  st = s->LoadHeads();
  if (!st.ok()) found.push_back({"feed heads", st.message()});
  if (damage != nullptr) *damage = std::move(found);
  return s;
}

void FeedStore::ScanLogTolerant(
    const std::function<void(uint64_t, std::string_view)>& fn,
    std::vector<CheckProblem>* problems) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  const std::string copy =
      salvage_dir_.empty() ? DbPath(home_) : salvage_dir_ + "/db";
  // Seek(k) fails while k falls in a block that does not read and succeeds
  // past it, so after a failure a doubling probe finds some readable key and
  // a binary search the first one.
  auto seek_ok = [&](uint64_t k, uint64_t* found, bool* end) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kCfLog]));
    it->Seek(ArrivalKey(k));
    if (!it->status().ok()) return false;
    *end = !it->Valid();
    if (it->Valid() && it->key().size() == 8) {
      *found = GetU64BE(std::string_view(it->key().data(), 8));
    }
    return true;
  };
  uint64_t next = 1;
  for (;;) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kCfLog]));
    for (it->Seek(ArrivalKey(next)); it->Valid(); it->Next()) {
      if (it->key().size() != 8) {
        problems->push_back({"log", "malformed key skipped"});
        continue;
      }
      const uint64_t arrival = GetU64BE(std::string_view(it->key().data(), 8));
      fn(arrival, std::string_view(it->value().data(), it->value().size()));
      next = arrival + 1;
    }
    if (it->status().ok()) return;
    const std::string why =
        Unscratch(it->status().ToString(), copy, DbPath(home_));
    uint64_t bad = next, good = 0, found = 0;
    bool end = false;
    for (uint64_t step = 1; step != 0 && next + step > next; step <<= 1) {
      if (seek_ok(next + step, &found, &end)) {
        good = next + step;
        break;
      }
      bad = next + step;
    }
    if (good == 0) {
      problems->push_back(
          {"log from position " + std::to_string(next), "unreadable: " + why});
      return;
    }
    while (good - bad > 1) {
      const uint64_t mid = bad + (good - bad) / 2;
      uint64_t f = 0;
      bool e = false;
      if (seek_ok(mid, &f, &e)) {
        good = mid;
        found = f;
        end = e;
      } else {
        bad = mid;
      }
    }
    problems->push_back({end ? "log from position " + std::to_string(next)
                             : "log positions " + std::to_string(next) + ".." +
                                   std::to_string(found - 1),
                         "unreadable: " + why});
    if (end) return;
    next = found;
  }
}

// ---- Repair ----

Result<RepairReport> FeedStore::Repair(const std::string& home) {
  crypto::EnsureSodium();
  if (!Exists(DbPath(home)))
    return Status::FailedPrecondition("no database at " + DbPath(home));
  // Hold RocksDB's own lock for the whole repair: no daemon or command can
  // open the store meanwhile, and none is using it now.
  rocksdb::Env* env = rocksdb::Env::Default();
  rocksdb::FileLock* lock = nullptr;
  rocksdb::Status ls = env->LockFile(DbPath(home) + "/LOCK", &lock);
  if (!ls.ok()) {
    return Status::Busy(
        "the store at " + home +
        " is in use by another process (a running `plumlog serve`?); stop it "
        "before repairing (" +
        ls.ToString() + ")");
  }
  struct Unlock {
    rocksdb::Env* env;
    rocksdb::FileLock* lock;
    ~Unlock() { (void)env->UnlockFile(lock); }
  } unlock{env, lock};

  RepairReport report;
  // Even a store that opens is repaired from a salvage copy: its damage (a
  // table block that does not read) only shows when the data is read.
  std::vector<CheckProblem> found;
  PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<FeedStore> src,
                           OpenDamaged(home, &found));
  report.damage.insert(report.damage.end(), found.begin(), found.end());

  // 1. Every log record that reads, decodes, matches its stored id and
  //    verifies (libsodium alone), in arrival order.
  std::vector<Entry> entries;
  std::vector<CheckProblem> scan_problems;
  src->ScanLogTolerant(
      [&](uint64_t arrival, std::string_view value) {
        Result<Entry> e = value.size() >= 32
                              ? EntryCodec::Decode(value.substr(32))
                              : Result<Entry>(Status::Corruption("truncated"));
        if (!e.ok() || e->id().view() != value.substr(0, 32)) {
          ++report.entries_unreadable;
          if (report.damage.size() < 1000) {
            report.damage.push_back(
                {"log position " + std::to_string(arrival),
                 e.ok() ? "stored id does not match the entry"
                        : "entry does not decode: " + e.status().message()});
          }
          return;
        }
        entries.push_back(std::move(e).value());
      },
      &scan_problems);
  report.damage.insert(report.damage.end(), scan_problems.begin(),
                       scan_problems.end());
  {
    std::vector<const Entry*> ptrs;
    ptrs.reserve(entries.size());
    for (const Entry& e : entries) ptrs.push_back(&e);
    std::vector<uint8_t> ok;
    src->VerifySignatures(ptrs, &ok, /*sodium_only=*/true);
    std::vector<Entry> verified;
    verified.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      if (ok[i]) {
        verified.push_back(std::move(entries[i]));
        continue;
      }
      ++report.entries_unreadable;
      if (report.damage.size() < 1000) {
        report.damage.push_back({entries[i].author().ToString() + " seq " +
                                     std::to_string(entries[i].seq()),
                                 "bad signature: dropped"});
      }
    }
    entries = std::move(verified);
  }

  // 2. Each feed's chain from seq 1 up to its first gap; what follows a gap
  //    waits for peers to send the missing entries again.
  std::map<FeedId, std::vector<size_t>> by_feed;
  for (size_t i = 0; i < entries.size(); ++i)
    by_feed[entries[i].author()].push_back(i);
  std::vector<uint8_t> keep(entries.size(), 0);
  std::map<FeedId, RepairReport::FeedLoss> losses;
  for (auto& [author, idx] : by_feed) {
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      return entries[a].seq() < entries[b].seq();
    });
    std::optional<EntryId> prev;
    uint64_t prev_lamport = 0;
    RepairReport::FeedLoss& loss = losses[author];
    loss.feed = author;
    for (size_t i : idx) {
      const Entry& e = entries[i];
      loss.known = std::max(loss.known, e.seq());
      if (e.seq() != loss.kept + 1) continue;  // after a gap
      if (e.seq() > 1 && (!e.previous() || !prev || *e.previous() != *prev ||
                          e.lamport() <= prev_lamport)) {
        continue;  // does not link to what was kept
      }
      keep[i] = 1;
      loss.kept = e.seq();
      prev = e.id();
      prev_lamport = e.lamport();
    }
  }
  // What the damaged store's heads knew of (a head record may survive where
  // the entries did not).
  for (const auto& [author, head] : src->heads_) {
    RepairReport::FeedLoss& loss = losses[head.author];
    loss.feed = head.author;
    loss.known = std::max(loss.known, head.seq);
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!keep[i]) ++report.entries_set_aside;
  }

  // The other column families are indexes rebuilt from the log; say which of
  // them did not read all the same.
  for (Cf cf : {kCfFeeds, kCfHeads, kCfIds, kCfPeerClocks, kCfMeta}) {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(src->db_->NewIterator(ro, src->cfs_[cf]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
    }
    if (!it->status().ok()) {
      report.damage.push_back(
          {std::string("column family ") + kCfNames[cf],
           "unreadable (" + Unscratch(it->status().ToString(), src->salvage_dir_ + "/db",
                                      DbPath(home)) +
               "); rebuilt from the log"});
    }
  }

  // 3. Fork proofs that still verify.
  std::vector<ForkProof> proofs;
  {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(
        src->db_->NewIterator(ro, src->cfs_[kCfForks]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view first, second;
      if (!ParseForkValue(
              std::string_view(it->value().data(), it->value().size()), &first,
              &second)) {
        report.damage.push_back({"fork proofs", "malformed proof dropped"});
        continue;
      }
      Result<Entry> a = EntryCodec::Decode(first);
      Result<Entry> b = EntryCodec::Decode(second);
      if (!a.ok() || !b.ok() || a->author() != b->author() ||
          a->seq() != b->seq() || a->id() == b->id() ||
          !EntryCodec::Verify(*a) || !EntryCodec::Verify(*b)) {
        report.damage.push_back(
            {"fork proofs", "proof that does not verify dropped"});
        continue;
      }
      proofs.push_back(ForkProof{std::move(a).value(), std::move(b).value()});
    }
    if (!it->status().ok()) {
      report.damage.push_back(
          {"fork proofs", "unreadable: " + it->status().ToString()});
    }
  }
  const FeedId identity = src->local_id();
  src.reset();  // removes the scratch copy

  // 4. A fresh database in a scratch home (with a copy of the key), filled
  //    through Ingest, which checks every entry once more.
  PLUMLOG_ASSIGN_OR_RETURN(const std::string scratch,
                           ScratchDir(home, "repair"));
  struct RemoveScratch {
    std::string dir;
    ~RemoveScratch() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } remove_scratch{scratch};
  {
    std::error_code ec;
    fs::copy_file(SecretPath(home), SecretPath(scratch), ec);
    if (ec)
      return Status::IOError("cannot copy the secret key: " + ec.message());
    ::chmod(SecretPath(scratch).c_str(), 0600);
  }
  PLUMLOG_RETURN_IF_ERROR(
      CreateDb(DbPath(scratch), StoreOptions(), identity, "repaired"));
  {
    StoreOptions o;
    o.create_if_missing = false;
    PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<FeedStore> dst,
                             FeedStore::Open(scratch, o));
    std::vector<Entry> batch;
    auto flush = [&]() -> Status {
      if (batch.empty()) return Status::OK();
      IngestResult r = dst->Ingest(std::move(batch));
      batch.clear();
      if (!r.ok()) return r.failure.WithContext("rebuilding the store");
      report.entries_kept += r.stored;
      return Status::OK();
    };
    for (size_t i = 0; i < entries.size(); ++i) {
      if (!keep[i]) continue;
      batch.push_back(std::move(entries[i]));
      if (batch.size() >= 1000) PLUMLOG_RETURN_IF_ERROR(flush());
    }
    PLUMLOG_RETURN_IF_ERROR(flush());
    for (const ForkProof& p : proofs) {
      Status st = dst->AddForkProof(p.stored, p.conflicting);
      if (st.ok()) {
        ++report.forks_kept;
      } else if (st.code() != Status::Code::kAlreadyExists) {
        return st.WithContext("rebuilding the store's fork proofs");
      }
    }
    report.feeds = dst->heads_.size();
  }
  for (const auto& [feed, loss] : losses) {
    if (loss.known > loss.kept) report.incomplete.push_back(loss);
  }

  // 5. Swap the databases: the rebuilt one takes <home>/db in one step
  //    (RENAME_EXCHANGE), then the damaged one moves aside.
  report.damaged_copy = DbPath(home) + ".damaged-" + UtcStamp();
  const std::string fresh = DbPath(scratch);
  if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, DbPath(home).c_str(),
                  RENAME_EXCHANGE) == 0) {
    if (::rename(fresh.c_str(), report.damaged_copy.c_str()) != 0) {
      return Status::IOError(
          "the rebuilt database is in place, but the damaged one could not "
          "be moved from " +
          fresh + " to " + report.damaged_copy + ": " + std::strerror(errno));
    }
  } else {
    // No atomic exchange on this filesystem: two renames.
    if (::rename(DbPath(home).c_str(), report.damaged_copy.c_str()) != 0) {
      return Status::IOError("cannot move the damaged database aside: " +
                             std::string(std::strerror(errno)));
    }
    if (::rename(fresh.c_str(), DbPath(home).c_str()) != 0) {
      return Status::IOError("cannot move the rebuilt database from " + fresh +
                             " to " + DbPath(home) + ": " +
                             std::strerror(errno) + " (the damaged one is at " +
                             report.damaged_copy + ")");
    }
  }
  PLUMLOG_RETURN_IF_ERROR(SyncDir(home));
  return report;
}

}  // namespace plumlog::storage
