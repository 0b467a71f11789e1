// Helpers for FeedStore tests: temporary homes, entries of foreign authors,
// and direct RocksDB access for damaging a closed store on purpose.
#ifndef PLUMLOG_TESTS_STORAGE_STORE_TEST_UTIL_H_
#define PLUMLOG_TESTS_STORAGE_STORE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "crypto/keypair.h"
#include "plumlog/store.h"
#include "format/entry_codec.h"
#include "storage/feed_sum_merge_operator.h"
#include "storage/keys.h"

namespace plumlog::testing {

// prefix followed by n in decimal.
inline std::string Numbered(std::string_view prefix, uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "plumlog-storetest-XXXXXX")
            .string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

inline std::unique_ptr<Store> OpenOrDie(
    const std::string& home, StoreOptions options = StoreOptions::Test()) {
  Result<std::unique_ptr<Store>> s = Store::Open(home, options);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return nullptr;
  return std::move(s).value();
}

inline StoreOptions ReaderOptions() {
  StoreOptions o = StoreOptions::Test();
  o.create_if_missing = false;
  o.read_only = true;
  return o;
}

// A feed id whose first bytes are `first`, the rest zero.
inline FeedId FeedIdStartingWith(std::initializer_list<uint8_t> first) {
  FeedId id;
  size_t i = 0;
  for (uint8_t b : first) id.mutable_bytes()[i++] = b;
  return id;
}

inline crypto::KeyPair KeyFromByte(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return crypto::KeyPair::FromSeed(seed);
}

// Builds the feed of one foreign author entry by entry.
class FeedBuilder {
 public:
  explicit FeedBuilder(crypto::KeyPair key) : key_(std::move(key)) {}
  const FeedId& id() const { return key_.public_key(); }
  const crypto::KeyPair& key() const { return key_; }

  // The next entry of the chain (lamport = previous + 1 unless given).
  Entry Next(std::string_view text, uint64_t lamport = 0) {
    Entry e = Make(seq_ + 1, head_, lamport ? lamport : lamport_ + 1,
                   TextContent(text));
    ++seq_;
    head_ = e.id();
    lamport_ = e.lamport();
    return e;
  }
  std::vector<Entry> NextN(int n) {
    std::vector<Entry> out;
    for (int i = 0; i < n; ++i)
      out.push_back(Next(Numbered("entry ", seq_ + 1)));
    return out;
  }
  // Any entry, validly signed by this author.
  Entry Make(uint64_t seq, std::optional<EntryId> previous, uint64_t lamport,
             const std::string& content) const {
    EntryCodec::Fields f;
    f.author = key_.public_key();
    f.seq = seq;
    f.previous = seq == 1 ? std::nullopt : previous;
    f.lamport = lamport;
    f.timestamp_ms = 1700000000000 + seq;
    f.content = content;
    Result<Entry> e = EntryCodec::Build(key_, f);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return *e;
  }

 private:
  crypto::KeyPair key_;
  uint64_t seq_ = 0;
  std::optional<EntryId> head_;
  uint64_t lamport_ = 0;
};

// The entry with one signature byte flipped, decoded again (same id, bad
// signature).
inline Entry WithBadSignature(const Entry& e) {
  std::string bytes = e.encoded();
  bytes[bytes.size() - 10] = static_cast<char>(bytes[bytes.size() - 10] ^ 0x40);
  Result<Entry> d = Entry::Decode(bytes);
  EXPECT_TRUE(d.ok());
  return *d;
}

inline std::string ReadFileText(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  if (f == nullptr) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

inline void WriteFileText(const std::string& path, std::string_view text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fwrite(text.data(), 1, text.size(), f), text.size());
  ASSERT_EQ(std::fclose(f), 0);
}

// The largest file in `dir` whose name ends in `suffix` ("" if none).
inline std::string LargestFile(const std::string& dir,
                               const std::string& suffix) {
  std::string best;
  uintmax_t best_size = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(suffix) || !e.is_regular_file()) continue;
    if (best.empty() || e.file_size() > best_size) {
      best = e.path().string();
      best_size = e.file_size();
    }
  }
  return best;
}

// Inverts `n` bytes of `path` starting at `offset` (what a bad sector or a
// stray write does to a file).
inline void FlipBytes(const std::string& path, uintmax_t offset, size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr) << path;
  std::string buf(n, '\0');
  ASSERT_EQ(std::fseek(f, static_cast<long>(offset), SEEK_SET), 0);
  ASSERT_EQ(std::fread(buf.data(), 1, n, f), n);
  for (char& c : buf) c = static_cast<char>(~c);
  ASSERT_EQ(std::fseek(f, static_cast<long>(offset), SEEK_SET), 0);
  ASSERT_EQ(std::fwrite(buf.data(), 1, n, f), n);
  ASSERT_EQ(std::fclose(f), 0);
}

// A closed store's database, opened directly with every column family.
class RawDb {
 public:
  // Opens the families the database has (a version 1 store has no
  // `feed_sums`; its handle is then null).
  explicit RawDb(const std::string& home) {
    rocksdb::Options opts;
    std::vector<std::string> present;
    EXPECT_TRUE(
        rocksdb::DB::ListColumnFamilies(opts, home + "/db", &present).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    std::vector<size_t> index;
    for (size_t i = 0; i < std::size(storage::kCfNames); ++i) {
      if (std::find(present.begin(), present.end(), storage::kCfNames[i]) ==
          present.end()) {
        continue;
      }
      cfs.emplace_back(storage::kCfNames[i], rocksdb::ColumnFamilyOptions());
      if (i == storage::kCfFeedSums) {
        cfs.back().options.merge_operator =
            std::make_shared<storage::FeedSumMergeOperator>();
      }
      index.push_back(i);
    }
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::Status st =
        rocksdb::DB::Open(opts, home + "/db", cfs, &handles, &raw);
    EXPECT_TRUE(st.ok()) << st.ToString();
    db_.reset(raw);
    handles_.assign(std::size(storage::kCfNames), nullptr);
    for (size_t k = 0; k < handles.size(); ++k) handles_[index[k]] = handles[k];
  }
  ~RawDb() {
    if (!db_) return;
    for (auto* h : handles_) {
      if (h) db_->DestroyColumnFamilyHandle(h);
    }
    EXPECT_TRUE(db_->Close().ok());
  }
  rocksdb::DB* db() { return db_.get(); }
  // Writes every memtable to table files (.sst).
  void Flush() {
    ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions(), handles_).ok());
  }
  rocksdb::ColumnFamilyHandle* cf(storage::Cf c) { return handles_[c]; }
  void Put(storage::Cf c, std::string_view k, std::string_view v) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), cf(c),
                         rocksdb::Slice(k.data(), k.size()),
                         rocksdb::Slice(v.data(), v.size()))
                    .ok());
  }
  void Delete(storage::Cf c, std::string_view k) {
    ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(), cf(c),
                            rocksdb::Slice(k.data(), k.size()))
                    .ok());
  }
  std::string Get(storage::Cf c, std::string_view k) {
    std::string v;
    rocksdb::Status st = db_->Get(rocksdb::ReadOptions(), cf(c),
                                  rocksdb::Slice(k.data(), k.size()), &v);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return v;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_STORAGE_STORE_TEST_UTIL_H_
