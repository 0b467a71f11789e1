// FeedStore::Check: re-verifies the whole store.
#include <rocksdb/db.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>

#include "format/entry_codec.h"
#include "storage/feed_store.h"
#include "format/feed_summary.h"
#include "storage/keys.h"
#include "storage/rocksdb_status.h"

namespace plumlog::storage {

using format::CheckSummaryRequest;
using format::CountsInSummary;
using format::SummaryOf;
namespace {

// Signatures are checked in batches of this many entries, on all cores.
constexpr size_t kVerifyBatch = 4096;

std::string Where(const FeedId& author, uint64_t seq) {
  return author.ToString() + " seq " + std::to_string(seq);
}

}  // namespace

Result<CheckReport> FeedStore::Check() const {
  CheckReport report;
  auto problem = [&](std::string where, std::string what) {
    // A badly broken store could list millions; the first thousand say enough.
    if (report.problems.size() < 1000) {
      report.problems.push_back({std::move(where), std::move(what)});
    }
  };
  // A stretch of a column family that does not read (a table block whose
  // checksum fails) is a problem too; what lies beyond it in that walk is
  // not checked.
  auto unreadable = [&](const rocksdb::Status& st, const std::string& what) {
    NoteDamage(st);
    if (!st.ok())
      problem(what,
              "unreadable, the rest of it was not checked: " + st.ToString());
  };
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  // Secondary (read-only) instances support no snapshots; their view only moves
  // in Refresh(), so they read without one.
  std::unique_ptr<const rocksdb::Snapshot, std::function<void(const rocksdb::Snapshot*)>> snap(
      options_.read_only ? nullptr : db_->GetSnapshot(),
      [this](const rocksdb::Snapshot* s) { db_->ReleaseSnapshot(s); });
  ro.snapshot = snap.get();

  // Heads as stored.
  std::map<FeedId, FeedInfo> heads;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kCfHeads]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      FeedInfo info;
      if (!ParseHeadValue(std::string_view(it->key().data(), it->key().size()),
                          std::string_view(it->value().data(), it->value().size()), &info)) {
        problem("feed heads", "malformed head record");
        continue;
      }
      heads[info.author] = info;
    }
    unreadable(it->status(), "feed heads");
  }

  // Feed summaries: each record equals the sum over the heads in its range.
  if (cfs_[kCfFeedSums] != nullptr) {
    std::map<std::string, FeedRangeSummary> expected;
    for (const auto& [author, head] : heads) {
      if (!CountsInSummary(head)) continue;
      for (uint32_t bits : kFeedSumLevels)
        expected[FeedSumKey(bits, author)].Add(head.head);
    }
    auto where = [](const std::string& key) {
      static const char kHex[] = "0123456789abcdef";
      std::string w = "feed summary of ids starting ";
      for (size_t i = 1; i < key.size(); ++i) {
        w.push_back(kHex[static_cast<uint8_t>(key[i]) >> 4]);
        w.push_back(kHex[static_cast<uint8_t>(key[i]) & 15]);
      }
      return w;
    };
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(ro, cfs_[kCfFeedSums]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key(it->key().data(), it->key().size());
      FeedRange node;
      FeedRangeSummary got;
      if (!ParseFeedSumKey(key, &node) ||
          !ParseFeedSumValue(
              std::string_view(it->value().data(), it->value().size()), &got)) {
        problem("feed summaries", "malformed record");
        continue;
      }
      FeedRangeSummary want;
      if (auto e = expected.find(key); e != expected.end()) {
        want = e->second;
        expected.erase(e);
      }
      if (!(got == want)) {
        problem(where(key), "counts " + std::to_string(got.count) +
                                " feeds, the heads " +
                                std::to_string(want.count) +
                                ", or the sums of head ids differ");
      }
    }
    PLUMLOG_RETURN_IF_ERROR(FromRocks(it->status(), "reading feed summaries"));
    for (const auto& [key, want] : expected) {
      problem(where(key), "missing; the heads hold " +
                              std::to_string(want.count) + " feeds there");
    }
  }

  // Walk every feed in (author, seq) order: chain, ids, signatures.
  std::vector<Entry> pending;  // decoded, signatures not yet verified
  auto flush = [&] {
    std::vector<const Entry*> ptrs;
    ptrs.reserve(pending.size());
    for (const Entry& e : pending) ptrs.push_back(&e);
    std::vector<uint8_t> ok;
    // libsodium alone: Check is the second opinion on what the fast
    // verifier let in.
    VerifySignatures(ptrs, &ok, /*sodium_only=*/true);
    for (size_t i = 0; i < pending.size(); ++i) {
      if (!ok[i]) problem(Where(pending[i].author(), pending[i].seq()), "bad signature");
    }
    pending.clear();
  };
  uint64_t index_entries = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kCfFeeds]));
    std::optional<FeedId> cur;
    uint64_t expect = 1;
    EntryId prev_id;
    uint64_t prev_lamport = 0;
    auto end_feed = [&] {
      if (!cur) return;
      ++report.feeds;
      auto h = heads.find(*cur);
      if (h == heads.end()) {
        problem(cur->ToString(), "feed has entries but no head record");
      } else {
        if (h->second.seq != expect - 1 || h->second.head != prev_id ||
            h->second.lamport != prev_lamport) {
          problem(cur->ToString(), "head record (seq " + std::to_string(h->second.seq) +
                                       ") does not match the last entry (seq " +
                                       std::to_string(expect - 1) + ")");
        }
        heads.erase(h);
      }
    };
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++index_entries;
      FeedId author;
      uint64_t seq, arrival;
      EntryId id;
      if (!ParseFeedKey(std::string_view(it->key().data(), it->key().size()), &author, &seq) ||
          !ParseFeedValue(std::string_view(it->value().data(), it->value().size()), &arrival,
                          &id)) {
        problem("feed index", "malformed record");
        continue;
      }
      if (!cur || *cur != author) {
        end_feed();
        cur = author;
        expect = 1;
        prev_lamport = 0;
      }
      const std::string where = Where(author, seq);
      if (seq != expect) {
        problem(where, "sequence gap: expected seq " + std::to_string(expect));
        expect = seq;
      }
      std::string logv;
      rocksdb::Status rs = db_->Get(ro, cfs_[kCfLog], ArrivalKey(arrival), &logv);
      if (!rs.ok()) {
        NoteDamage(rs);
        problem(where, "log record " + std::to_string(arrival) +
                           " unreadable: " + rs.ToString());
        expect = seq + 1;
        continue;
      }
      Result<Entry> decoded = logv.size() >= 32 ? EntryCodec::Decode(std::string_view(logv).substr(32))
                                                 : Result<Entry>(Status::Corruption("truncated"));
      if (!decoded.ok()) {
        problem(where, "entry does not decode: " + decoded.status().message());
        expect = seq + 1;
        continue;
      }
      Entry e = std::move(decoded).value();
      if (e.id() != id || std::string_view(logv).substr(0, 32) != id.view()) {
        problem(where, "stored id does not match the entry's hash");
      }
      if (e.author() != author || e.seq() != seq) {
        problem(where, "log record holds " + Where(e.author(), e.seq()));
      }
      if (seq > 1 && (!e.previous() || *e.previous() != prev_id)) {
        problem(where, "previous does not match the id of seq " + std::to_string(seq - 1));
      }
      if (seq > 1 && e.lamport() <= prev_lamport) problem(where, "lamport clock not increasing");
      std::string idv;
      rs = db_->Get(ro, cfs_[kCfIds], id.view(), &idv);
      if (!rs.ok() && !rs.IsNotFound()) {
        NoteDamage(rs);
        problem(where, "id index record unreadable: " + rs.ToString());
      } else if (!rs.ok() || idv != FeedKey(author, seq)) {
        problem(where, "id index does not point here");
      }
      prev_id = e.id();
      prev_lamport = e.lamport();
      expect = seq + 1;
      ++report.entries;
      pending.push_back(std::move(e));
      if (pending.size() >= kVerifyBatch) flush();
    }
    unreadable(it->status(), "feed index");
    end_feed();
    flush();
  }
  for (const auto& [author, head] : heads) {
    // A feed known only through a received fork proof has a forked, empty head.
    if (head.seq == 0 && head.forked) continue;
    problem(author.ToString(), "head record without entries");
  }

  // Every log record is indexed, and nothing else is.
  uint64_t log_records = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kCfLog]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++log_records;
    unreadable(it->status(), "log");
  }
  if (log_records != index_entries) {
    problem("log", std::to_string(log_records) + " log records but " +
                       std::to_string(index_entries) + " indexed entries");
  }
  uint64_t id_records = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kCfIds]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++id_records;
    unreadable(it->status(), "id index");
  }
  if (id_records != index_entries) {
    problem("id index", std::to_string(id_records) + " records for " +
                            std::to_string(index_entries) + " entries");
  }

  // Fork proofs: both entries valid, same author and seq, different ids.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kCfForks]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report.forks;
      FeedId author;
      uint64_t seq;
      if (it->key().size() != 72 ||
          !ParseFeedKey(std::string_view(it->key().data(), 40), &author, &seq)) {
        problem("fork proofs", "malformed key");
        continue;
      }
      const std::string where = Where(author, seq) + " (fork proof)";
      std::string_view first, second;
      if (!ParseForkValue(std::string_view(it->value().data(), it->value().size()), &first,
                          &second)) {
        problem(where, "malformed");
        continue;
      }
      Result<Entry> s = EntryCodec::Decode(first);
      Result<Entry> c = EntryCodec::Decode(second);
      if (!c.ok() || !s.ok()) {
        problem(where, "unreadable");
        continue;
      }
      if (c->author() != author || c->seq() != seq || s->author() != author ||
          s->seq() != seq || c->id() == s->id() || !EntryCodec::Verify(*c) ||
          !EntryCodec::Verify(*s)) {
        problem(where, "not a valid proof");
      }
      Result<FeedInfo> head = Feed(author);
      if (!head.ok() || !head->forked) problem(where, "feed not marked forked");
    }
    unreadable(it->status(), "fork proofs");
  }
  return report;
}

}  // namespace plumlog::storage
