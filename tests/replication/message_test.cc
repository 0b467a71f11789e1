#include "replication/message.h"

#include <gtest/gtest.h>

#include "crypto/keypair.h"
#include "replication/note.h"
#include "format/entry_codec.h"

namespace plumlog::replication {
namespace {

FeedId Fid(uint8_t b) {
  FeedId f;
  f.mutable_bytes().fill(b);
  return f;
}

Entry MakeEntry(const crypto::KeyPair& kp, uint64_t seq, std::optional<EntryId> prev,
                const std::string& text) {
  std::string content = TextContent(text);
  EntryCodec::Fields f;
  f.author = kp.public_key();
  f.seq = seq;
  f.previous = prev;
  f.lamport = seq;
  f.timestamp_ms = 1000;
  f.content = content;
  return EntryCodec::Build(kp, f).value();
}

crypto::KeyPair Key(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return crypto::KeyPair::FromSeed(seed);
}

TEST(Note, EncodingFollowsEbt) {
  EXPECT_EQ(MakeNote(5, true), 10);
  EXPECT_EQ(MakeNote(5, false), 11);
  EXPECT_EQ(NoteSeq(11), 5u);
  EXPECT_TRUE(NoteWantsEntries(10));
  EXPECT_FALSE(NoteWantsEntries(11));
  EXPECT_FALSE(NoteReplicates(kNoteNotReplicating));
  EXPECT_FALSE(NoteWantsEntries(kNoteNotReplicating));
  EXPECT_EQ(MakeNote(0, true), 0);
}

TEST(Message, NotesRoundTrip) {
  NotesMessage m;
  m.notes.push_back({Fid(1), MakeNote(7, true), 2});
  m.notes.push_back({Fid(2), kNoteNotReplicating, 0});
  m.notes.push_back({Fid(3), MakeNote(uint64_t{1} << 40, false), 65536});
  auto d = DecodeMessage(EncodeMessage(m));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto& got = std::get<NotesMessage>(*d);
  ASSERT_EQ(got.notes.size(), 3u);
  EXPECT_EQ(got.notes[0].feed, Fid(1));
  EXPECT_EQ(got.notes[0].note, 14);
  EXPECT_EQ(got.notes[0].hops, 2u);
  EXPECT_EQ(got.notes[1].note, -1);
  EXPECT_EQ(NoteSeq(got.notes[2].note), uint64_t{1} << 40);
  EXPECT_EQ(got.notes[2].hops, 65536u);
}

TEST(Message, EntriesRoundTripAndStrictness) {
  auto kp = Key(7);
  Entry e1 = MakeEntry(kp, 1, std::nullopt, "one");
  Entry e2 = MakeEntry(kp, 2, e1.id(), "two");
  EntriesMessage m;
  m.hops = 3;
  m.repair = true;
  m.entries = {e1, e2};
  std::string frame = EncodeMessage(m);
  auto d = DecodeMessage(frame);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto& got = std::get<EntriesMessage>(*d);
  EXPECT_EQ(got.hops, 3u);
  EXPECT_TRUE(got.repair);
  ASSERT_EQ(got.entries.size(), 2u);
  EXPECT_EQ(got.entries[1], e2);
  // Every strict prefix fails cleanly; so does a trailing byte.
  for (size_t n = 0; n < frame.size(); ++n) {
    EXPECT_FALSE(DecodeMessage(frame.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(DecodeMessage(frame + '\0').ok());
}

TEST(Message, DigestAndWantRoundTrip) {
  std::vector<DigestItem> clock = {{Fid(1), 3, 7}, {Fid(2), 0, 0}, {Fid(9), 99, ~0ull}};
  auto parts = SplitDigest(4, clock);
  ASSERT_EQ(parts.size(), 1u);
  auto d = DecodeMessage(EncodeMessage(parts[0]));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto& got = std::get<DigestMessage>(*d);
  EXPECT_EQ(got.round, 4u);
  EXPECT_EQ(got.clock, clock);
  WantMessage w;
  w.after = {{Fid(5), 10}};
  auto dw = DecodeMessage(EncodeMessage(w));
  ASSERT_TRUE(dw.ok());
  EXPECT_EQ(std::get<WantMessage>(*dw).after, w.after);
}

TEST(Message, SplitDigestCoversTheIdSpaceInOrder) {
  std::vector<DigestItem> clock;
  for (int i = 0; i < 5000; ++i) {
    FeedId f;
    f.mutable_bytes()[0] = static_cast<uint8_t>(i >> 8);
    f.mutable_bytes()[1] = static_cast<uint8_t>(i);
    clock.push_back({f, static_cast<uint64_t>(i), static_cast<uint64_t>(i)});
  }
  auto parts = SplitDigest(1, clock);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts.front().lo, FeedId());
  FeedId max;
  max.mutable_bytes().fill(0xff);
  EXPECT_EQ(parts.back().hi, max);
  size_t total = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    total += parts[i].clock.size();
    EXPECT_LE(parts[i].clock.size(), kMaxDigestItems);
    if (i > 0) {
      EXPECT_LT(parts[i - 1].hi, parts[i].lo);
    }
    ASSERT_TRUE(DecodeMessage(EncodeMessage(parts[i])).ok());
  }
  EXPECT_EQ(total, clock.size());
  // An empty clock is one digest over everything.
  EXPECT_EQ(SplitDigest(1, {}).size(), 1u);
}

TEST(Message, RejectsHostileInput) {
  // Unknown type, empty array, not an array.
  EXPECT_FALSE(DecodeMessage(std::string("\x92\x63\x90", 3)).ok());
  EXPECT_FALSE(DecodeMessage(std::string("\x90", 1)).ok());
  EXPECT_FALSE(DecodeMessage(std::string("\x01", 1)).ok());
  EXPECT_FALSE(DecodeMessage("").ok());
  // A notes list claiming 2^32-1 items in a few bytes.
  EXPECT_FALSE(DecodeMessage(std::string("\x92\x01\xdd\xff\xff\xff\xff", 7)).ok());
  // Note value below -1.
  NotesMessage m;
  m.notes.push_back({Fid(1), -5, 0});
  EXPECT_FALSE(DecodeMessage(EncodeMessage(m)).ok());
  // Digest out of order.
  DigestMessage d;
  d.hi.mutable_bytes().fill(0xff);
  d.clock = {{Fid(2), 1, 0}, {Fid(1), 1, 0}};
  EXPECT_FALSE(DecodeMessage(EncodeMessage(d)).ok());
  // Oversized frame.
  EXPECT_EQ(DecodeMessage(std::string(kMaxFrameBytes + 1, '\x90')).status().code(),
            Status::Code::kTooLarge);
}

TEST(Message, ForkProofMustBeAFork) {
  auto kp = Key(3);
  Entry a = MakeEntry(kp, 1, std::nullopt, "a");
  Entry b = MakeEntry(kp, 1, std::nullopt, "b");
  auto d = DecodeMessage(EncodeMessage(ForkProofMessage{a, b}));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(std::get<ForkProofMessage>(*d).second, b);
  EXPECT_FALSE(DecodeMessage(EncodeMessage(ForkProofMessage{a, a})).ok());
  Entry other = MakeEntry(Key(4), 1, std::nullopt, "b");
  EXPECT_FALSE(DecodeMessage(EncodeMessage(ForkProofMessage{a, other})).ok());
}

}  // namespace
}  // namespace plumlog::replication
