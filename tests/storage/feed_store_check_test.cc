// FeedStore::Check finds damage made directly in RocksDB.
#include <gtest/gtest.h>

#include "store_test_util.h"

namespace plumlog {
namespace {

using testing::FeedBuilder;
using testing::Numbered;
using testing::OpenOrDie;
using testing::RawDb;
using testing::TempDir;
using namespace plumlog::storage;

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = OpenOrDie(home());
    ASSERT_TRUE(s);
    for (int i = 0; i < 5; ++i)
      local_.push_back(*s->Append(TextContent(Numbered("l", i))));
    foreign_ = other_.NextN(5);
    ASSERT_TRUE(s->Ingest(foreign_).ok());
    me_ = s->local_id();
    Result<CheckReport> r = s->Check();
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->ok());
    EXPECT_EQ(r->feeds, 2u);
    EXPECT_EQ(r->entries, 10u);
    EXPECT_EQ(r->forks, 0u);
  }
  std::string home() const { return dir_ / "home"; }

  // Reopens the store and returns the problems its Check reports.
  std::vector<CheckProblem> Problems() {
    auto s = OpenOrDie(home());
    if (!s) return {{"open", "failed"}};
    Result<CheckReport> r = s->Check();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->problems : std::vector<CheckProblem>{};
  }
  static bool Mentions(const std::vector<CheckProblem>& ps,
                       std::string_view what) {
    for (const auto& p : ps) {
      if (p.what.find(what) != std::string::npos) return true;
    }
    return false;
  }
  static std::string Dump(const std::vector<CheckProblem>& ps) {
    std::string s;
    for (const auto& p : ps) s += p.where + ": " + p.what + "\n";
    return s;
  }

  TempDir dir_;
  FeedId me_;
  FeedBuilder other_{testing::KeyFromByte(12)};
  std::vector<Entry> local_, foreign_;
};

TEST_F(CheckTest, DeletedIdIndexRecord) {
  { RawDb(home()).Delete(kCfIds, local_[2].id().view()); }
  auto ps = Problems();
  ASSERT_FALSE(ps.empty());
  EXPECT_TRUE(Mentions(ps, "id index does not point here")) << Dump(ps);
  EXPECT_TRUE(Mentions(ps, "9 records for 10 entries")) << Dump(ps);
}

TEST_F(CheckTest, ChangedHead) {
  {
    RawDb raw(home());
    FeedInfo h;
    ASSERT_TRUE(ParseHeadValue(me_.view(), raw.Get(kCfHeads, me_.view()), &h));
    h.seq -= 1;
    raw.Put(kCfHeads, me_.view(), HeadValue(h));
  }
  auto ps = Problems();
  EXPECT_TRUE(
      Mentions(ps, "head record (seq 4) does not match the last entry (seq 5)"))
      << Dump(ps);
}

TEST_F(CheckTest, HeadWithWrongLamport) {
  {
    RawDb raw(home());
    FeedInfo h;
    ASSERT_TRUE(ParseHeadValue(other_.id().view(),
                               raw.Get(kCfHeads, other_.id().view()), &h));
    h.lamport += 7;
    raw.Put(kCfHeads, other_.id().view(), HeadValue(h));
  }
  EXPECT_TRUE(Mentions(Problems(), "does not match the last entry"));
}

TEST_F(CheckTest, LogValueWithBadSignature) {
  {
    RawDb raw(home());
    std::string v = FeedValue(0, EntryId());
    std::string fv = raw.Get(kCfFeeds, FeedKey(other_.id(), 3));
    uint64_t arrival;
    EntryId id;
    ASSERT_TRUE(ParseFeedValue(fv, &arrival, &id));
    std::string log = raw.Get(kCfLog, ArrivalKey(arrival));
    ASSERT_EQ(log.substr(0, 32), id.view());
    log[log.size() - 5] =
        static_cast<char>(log[log.size() - 5] ^ 1);  // in the signature
    raw.Put(kCfLog, ArrivalKey(arrival), log);
  }
  auto ps = Problems();
  ASSERT_EQ(ps.size(), 1u) << Dump(ps);
  EXPECT_EQ(ps[0].what, "bad signature");
  EXPECT_EQ(ps[0].where, other_.id().ToString() + " seq 3");
}

TEST_F(CheckTest, LogValueWithChangedContent) {
  {
    RawDb raw(home());
    std::string fv = raw.Get(kCfFeeds, FeedKey(me_, 2));
    uint64_t arrival;
    EntryId id;
    ASSERT_TRUE(ParseFeedValue(fv, &arrival, &id));
    std::string log = raw.Get(kCfLog, ArrivalKey(arrival));
    // The content "l1" is a fixstr; change its last letter.
    const size_t pos = 32 + local_[1].signed_bytes().size() - 1;
    log[pos] = 'X';
    raw.Put(kCfLog, ArrivalKey(arrival), log);
  }
  auto ps = Problems();
  EXPECT_TRUE(Mentions(ps, "stored id does not match the entry's hash"))
      << Dump(ps);
  EXPECT_TRUE(Mentions(ps, "bad signature")) << Dump(ps);
  // The next entry's previous no longer matches the (re-hashed) id either.
  EXPECT_TRUE(Mentions(ps, "previous does not match")) << Dump(ps);
}

TEST_F(CheckTest, DeletedLogRecord) {
  {
    RawDb raw(home());
    std::string fv = raw.Get(kCfFeeds, FeedKey(me_, 4));
    uint64_t arrival;
    EntryId id;
    ASSERT_TRUE(ParseFeedValue(fv, &arrival, &id));
    raw.Delete(kCfLog, ArrivalKey(arrival));
  }
  auto ps = Problems();
  EXPECT_TRUE(Mentions(ps, "unreadable")) << Dump(ps);
  EXPECT_TRUE(Mentions(ps, "9 log records but 10 indexed entries")) << Dump(ps);
  // Reads report it rather than crash.
  auto s = OpenOrDie(home());
  EXPECT_EQ(s->Get(me_, 4).status().code(), Status::Code::kCorruption);
}

TEST_F(CheckTest, DeletedFeedIndexRecordLeavesAGap) {
  { RawDb(home()).Delete(kCfFeeds, FeedKey(other_.id(), 2)); }
  auto ps = Problems();
  EXPECT_TRUE(Mentions(ps, "sequence gap")) << Dump(ps);
  EXPECT_TRUE(Mentions(ps, "10 log records but 9 indexed entries")) << Dump(ps);
}

TEST_F(CheckTest, UndecodableLogValue) {
  {
    RawDb raw(home());
    std::string fv = raw.Get(kCfFeeds, FeedKey(me_, 1));
    uint64_t arrival;
    EntryId id;
    ASSERT_TRUE(ParseFeedValue(fv, &arrival, &id));
    raw.Put(kCfLog, ArrivalKey(arrival), std::string(id.view()) + "garbage");
  }
  EXPECT_TRUE(Mentions(Problems(), "entry does not decode"));
}

TEST_F(CheckTest, HeadWithoutEntries) {
  {
    FeedInfo h;
    h.author = testing::KeyFromByte(99).public_key();
    h.seq = 3;
    RawDb(home()).Put(kCfHeads, h.author.view(), HeadValue(h));
  }
  EXPECT_TRUE(Mentions(Problems(), "head record without entries"));
}

TEST_F(CheckTest, FeedWithoutHead) {
  { RawDb(home()).Delete(kCfHeads, other_.id().view()); }
  EXPECT_TRUE(Mentions(Problems(), "feed has entries but no head record"));
}

TEST_F(CheckTest, BogusForkProof) {
  {
    RawDb raw(home());
    // A "proof" that is just the stored entry again: same id, so no proof.
    raw.Put(kCfForks, ForkKey(other_.id(), 2, foreign_[1].id()),
            ForkValue(foreign_[1].encoded(), foreign_[1].encoded()));
  }
  auto ps = Problems();
  EXPECT_TRUE(Mentions(ps, "not a valid proof")) << Dump(ps);
  EXPECT_TRUE(Mentions(ps, "feed not marked forked")) << Dump(ps);
}

TEST_F(CheckTest, MalformedForkProof) {
  {
    RawDb raw(home());
    raw.Put(kCfForks, ForkKey(other_.id(), 2, foreign_[1].id()), std::string("\xff\xff", 2));
  }
  auto ps = Problems();
  EXPECT_TRUE(Mentions(ps, "malformed")) << Dump(ps);
}

}  // namespace
}  // namespace plumlog
