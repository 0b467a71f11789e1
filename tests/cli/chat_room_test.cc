// ChatRoom (cli/chat_room.h): the room shown in causal order whatever order
// entries arrive in, backlogs announced as earlier messages, names, topics,
// actions, rooms and the history limit. Times are shown in UTC here.
#include "cli/chat_room.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <string>
#include <vector>

#include "crypto/keypair.h"
#include "plumlog/chat.h"
#include "format/entry_codec.h"
#include "tests/cli/subprocess.h"

namespace plumlog::cli {
namespace {

using ::plumlog::testing::Lines;
using ::testing::ElementsAre;

// 2023-11-14 22:13:20 UTC.
constexpr int64_t kT0 = 1700000000000;
constexpr int64_t kMinute = 60000;

// Concatenation (GCC 12 warns wrongly about "literal" + std::string at -O3).
std::string S(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

std::string Text(const std::vector<ChatRoom::Line>& lines) {
  return ChatRoom::Text(lines);
}

class Author {
 public:
  Author() : key_(crypto::KeyPair::Generate()) {}
  const FeedId& id() const { return key_.public_key(); }
  // The next entry of this feed with `content`, lamport and time given.
  Entry Next(const std::string& content, uint64_t lamport, int64_t ts) {
    EntryCodec::Fields f;
    f.author = id();
    f.seq = ++seq_;
    f.previous = seq_ == 1 ? std::nullopt : head_;
    f.lamport = lamport;
    f.timestamp_ms = static_cast<uint64_t>(ts);
    f.content = content;
    Result<Entry> e = EntryCodec::Build(key_, f);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    head_ = e->id();
    return *e;
  }
  Entry Say(const std::string& text, uint64_t lamport, int64_t ts,
            const std::string& room = "lobby") {
    return Next(*chat::EncodeMessage(room, text), lamport, ts);
  }
  Entry Nick(const std::string& name, uint64_t lamport, int64_t ts) {
    return Next(*chat::EncodeNick(name), lamport, ts);
  }

 private:
  crypto::KeyPair key_;
  uint64_t seq_ = 0;
  std::optional<EntryId> head_;
};

class ChatRoomTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  Author alice_, bob_, carol_;
};

TEST_F(ChatRoomTest, HistoryIsCausalWhateverTheArrivalOrder) {
  ChatRoom room(alice_.id(), "lobby");
  // A conversation (lamport = the order it was said in), arriving as a
  // joiner gets it: all of bob's, then all of carol's, then alice's.
  std::vector<Entry> b = {bob_.Nick("bob", 1, kT0), bob_.Say("b1", 3, kT0 + 2),
                          bob_.Say("b2", 6, kT0 + 5)};
  std::vector<Entry> c = {carol_.Nick("carol", 1, kT0),
                          carol_.Say("c1", 4, kT0 + 3),
                          carol_.Say("c2", 7, kT0 + 6)};
  std::vector<Entry> a = {alice_.Say("a1", 2, kT0 + 1),
                          alice_.Say("a2", 5, kT0 + 4)};
  for (const auto* feed : {&b, &c, &a})
    for (const Entry& e : *feed) room.Add(e);
  EXPECT_EQ(room.backlog(), 6u);
  const std::string h = Text(room.History(0));
  EXPECT_EQ(room.backlog(), 0u);
  EXPECT_THAT(Lines(h), ElementsAre("* 2023-11-14, Tuesday",
                                    S({"22:13 <", alice_.id().Short(), "> a1"}),
                                    "22:13 <bob> b1", "22:13 <carol> c1",
                                    S({"22:13 <", alice_.id().Short(), "> a2"}),
                                    "22:13 <bob> b2", "22:13 <carol> c2"));
  EXPECT_EQ(room.messages(), 6u);
  EXPECT_EQ(room.authors().size(), 3u);
  // Nothing left to flush.
  EXPECT_TRUE(room.Flush(kT0, kT0).empty());
}

TEST_F(ChatRoomTest, LiveMessagesAndNameChanges) {
  ChatRoom room(alice_.id(), "lobby");
  room.Add(bob_.Say("hello", 1, kT0));
  room.History(0);
  room.Add(bob_.Nick("bob", 2, kT0 + kMinute));
  room.Add(alice_.Nick("alice", 3, kT0 + kMinute));
  room.Add(bob_.Say("anyone?", 4, kT0 + 2 * kMinute));
  EXPECT_EQ(room.backlog(), 1u);
  EXPECT_THAT(
      Lines(Text(room.Flush(kT0, kT0 + 3 * kMinute))),
      ElementsAre(S({"22:14 * ", bob_.id().Short(), " is now known as bob"}),
                  "22:14 * you are now known as alice", "22:15 <bob> anyone?"));
  EXPECT_EQ(room.OwnNick(), "alice");
  EXPECT_EQ(room.Name(bob_.id()), "bob");
  // An older nickname entry arriving late changes nothing.
  Author dave;
  const Entry old = dave.Nick("dave", 5, kT0);
  const Entry newer = dave.Nick("david", 6, kT0);
  room.Add(newer);
  room.Add(old);
  EXPECT_EQ(room.Name(dave.id()), "david");
}

TEST_F(ChatRoomTest, ABacklogThatBelongsEarlierIsAnnounced) {
  ChatRoom room(alice_.id(), "lobby");
  room.Add(alice_.Say("a1", 1, kT0));
  room.Add(alice_.Say("a5", 5, kT0 + 4 * kMinute));
  room.History(0);
  // While we were away bob and carol talked (lamports 2..4), carol also
  // renamed herself; then one new message comes (6).
  room.Add(bob_.Nick("bob", 1, kT0));
  room.Add(carol_.Nick("carol", 2, kT0 + kMinute));
  room.Add(carol_.Say("c3", 3, kT0 + 2 * kMinute));
  room.Add(bob_.Say("b2", 2, kT0 + kMinute));
  room.Add(bob_.Say("b4", 4, kT0 + 3 * kMinute));
  room.Add(bob_.Say("b6", 6, kT0 + 5 * kMinute));
  EXPECT_THAT(
      Lines(Text(room.Flush(kT0, kT0 + 6 * kMinute))),
      ElementsAre("22:19 * 4 earlier messages", "22:14 <bob> b2",
                  "22:15 <carol> c3", "22:16 <bob> b4", "22:18 <bob> b6"));
  // A message sent at the same time as one shown (sorting before it, but
  // young) is not a backlog: no announcement, and its key lets a
  // full-screen view put it in its place.
  room.Add(carol_.Say("c6", 6, kT0 + 6 * kMinute - 1000));
  const std::vector<ChatRoom::Line> concurrent =
      room.Flush(kT0, kT0 + 6 * kMinute);
  ASSERT_EQ(concurrent.size(), 1u) << Text(concurrent);
  EXPECT_EQ(concurrent[0].text, "22:19 <carol> c6\n");
  ASSERT_TRUE(concurrent[0].key.has_value());
  EXPECT_EQ(std::get<1>(*concurrent[0].key), carol_.id());
  // Later messages are live again.
  room.Add(carol_.Say("c7", 7, kT0 + 6 * kMinute));
  EXPECT_THAT(Lines(Text(room.Flush(kT0, kT0 + 6 * kMinute))),
              ElementsAre("22:19 <carol> c7"));
}

TEST_F(ChatRoomTest, AJoinersCatchUpIsAnnouncedByTime) {
  ChatRoom room(alice_.id(), "lobby");
  EXPECT_TRUE(room.History(0).empty());  // joined with nothing
  const int64_t joined = kT0 + 10 * kMinute;
  room.Add(bob_.Say("b1", 1, kT0));
  room.Add(bob_.Say("b3", 3, kT0 + 2 * kMinute));
  room.Add(carol_.Say("c2", 2, kT0 + kMinute));
  // Caught up: all was written before we joined.
  EXPECT_THAT(Lines(Text(room.Flush(joined, joined + kMinute))),
              ElementsAre("22:24 * 3 earlier messages", "* 2023-11-14, Tuesday",
                          S({"22:13 <", bob_.id().Short(), "> b1"}),
                          S({"22:14 <", carol_.id().Short(), "> c2"}),
                          S({"22:15 <", bob_.id().Short(), "> b3"})));
  // Messages after what is shown and written since we joined are live.
  room.Add(bob_.Say("b4", 4, joined + 1));
  EXPECT_THAT(Lines(Text(room.Flush(joined, joined + kMinute))),
              ElementsAre(S({"22:23 <", bob_.id().Short(), "> b4"})));
}

TEST_F(ChatRoomTest, TopicsActionsRoomsAndLimits) {
  ChatRoom room(alice_.id(), "lobby");
  room.Add(bob_.Nick("bob", 1, kT0));
  room.Add(bob_.Next(*chat::EncodeTopic("lobby", "old plans"), 2, kT0));
  room.Add(carol_.Next(*chat::EncodeTopic("lobby",
                                          "friday\xc2\x9b"
                                          "31m"),
                       3, kT0));
  room.Add(bob_.Next(*chat::EncodeAction("lobby", "waves"), 4, kT0));
  room.Add(carol_.Say("elsewhere", 5, kT0 + kMinute, "kitchen"));
  for (int i = 0; i < 5; ++i)
    room.Add(alice_.Say(S({"m", std::to_string(i)}), 6 + i, kT0 + 2 * kMinute));
  EXPECT_EQ(room.TopicLine(),
            S({"* topic: friday?31m (set by ", carol_.id().Short(), ")\n"}));
  EXPECT_THAT(Lines(Text(room.History(3))),
              ElementsAre("* 3 older messages not shown (/history N shows the "
                          "last N)",
                          "* 2023-11-14, Tuesday",
                          S({"22:15 <", alice_.id().Short(), "> m2"}),
                          S({"22:15 <", alice_.id().Short(), "> m3"}),
                          S({"22:15 <", alice_.id().Short(), "> m4"})));
  EXPECT_THAT(Lines(Text(room.History(6))),
              ::testing::Contains("22:13 * bob waves"));
  // A topic older than the current one changes nothing; a newer one is
  // announced; an empty one clears it.
  room.Add(alice_.Next(*chat::EncodeTopic("lobby", "stale"), 1, kT0));
  EXPECT_TRUE(room.Flush(kT0, kT0).empty());
  room.Add(bob_.Next(*chat::EncodeTopic("lobby", ""), 20, kT0));
  EXPECT_THAT(Lines(Text(room.Flush(kT0, kT0))),
              ElementsAre("22:13 * bob cleared the topic"));
  EXPECT_EQ(room.TopicLine(), "");

  const std::vector<ChatRoom::RoomInfo> rooms = room.Rooms();
  ASSERT_EQ(rooms.size(), 2u);
  EXPECT_EQ(rooms[0].name, "kitchen");
  EXPECT_EQ(rooms[0].messages, 1u);
  EXPECT_EQ(rooms[1].name, "lobby");
  EXPECT_EQ(rooms[1].messages, 6u);
  EXPECT_EQ(rooms[1].last_ms, kT0 + 2 * kMinute);

  // Another room: its own history; messages of other rooms stay out of the
  // backlog.
  room.Join("kitchen");
  EXPECT_THAT(Lines(Text(room.History(0))),
              ElementsAre("* 2023-11-14, Tuesday",
                          S({"22:14 <", carol_.id().Short(), "> elsewhere"})));
  room.Add(bob_.Say("lobby only", 30, kT0));
  EXPECT_EQ(room.backlog(), 0u);
}

TEST_F(ChatRoomTest, DaysAndUnprintableText) {
  ChatRoom room(alice_.id(), "lobby");
  room.Add(bob_.Say("late\tnight\x07", 1, kT0));
  room.Add(
      bob_.Say("next \xc2\x9b"
               "day",
               2, kT0 + 24 * 60 * kMinute));
  EXPECT_THAT(Lines(Text(room.History(0))),
              ElementsAre("* 2023-11-14, Tuesday",
                          S({"22:13 <", bob_.id().Short(), "> late night?"}),
                          "* 2023-11-15, Wednesday",
                          S({"22:13 <", bob_.id().Short(), "> next ?day"})));
  EXPECT_EQ(Printable("a\x1b[2Jb"), "a?[2Jb");
}

}  // namespace
}  // namespace plumlog::cli
