#include "plumlog/chat.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/msgpack_reader.h"
#include "tests/storage/store_test_util.h"

namespace plumlog::chat {
namespace {

TEST(ChatContentTest, MessageAndNickRoundTrip) {
  Result<std::string> m = EncodeMessage("lobby", "héllo wörld");
  ASSERT_TRUE(m.ok());
  Content c = Parse(*m);
  EXPECT_EQ(c.kind, Content::Kind::kMessage);
  EXPECT_EQ(c.room, "lobby");
  EXPECT_EQ(c.text, "héllo wörld");
  Result<std::string> n = EncodeNick("alice");
  ASSERT_TRUE(n.ok());
  Content d = Parse(*n);
  EXPECT_EQ(d.kind, Content::Kind::kNick);
  EXPECT_EQ(d.name, "alice");
}

TEST(ChatContentTest, ActionsAndTopicsRoundTrip) {
  Result<std::string> a = EncodeAction("lobby", "waves");
  ASSERT_TRUE(a.ok());
  Content c = Parse(*a);
  EXPECT_EQ(c.kind, Content::Kind::kMessage);
  EXPECT_TRUE(c.action);
  EXPECT_EQ(c.text, "waves");
  EXPECT_FALSE(Parse(*EncodeMessage("lobby", "x")).action);
  Result<std::string> t = EncodeTopic("lobby", "plans for friday");
  ASSERT_TRUE(t.ok());
  c = Parse(*t);
  EXPECT_EQ(c.kind, Content::Kind::kTopic);
  EXPECT_EQ(c.room, "lobby");
  EXPECT_EQ(c.text, "plans for friday");
  // An empty topic clears it; an oversized one or one with control
  // characters is refused.
  c = Parse(*EncodeTopic("lobby", ""));
  EXPECT_EQ(c.kind, Content::Kind::kTopic);
  EXPECT_EQ(c.text, "");
  EXPECT_TRUE(EncodeTopic("lobby", std::string(kMaxTopicBytes, 't')).ok());
  EXPECT_FALSE(EncodeTopic("lobby", std::string(kMaxTopicBytes + 1, 't')).ok());
  EXPECT_FALSE(EncodeTopic("lobby", "line\nbreak").ok());
  EXPECT_FALSE(EncodeTopic("no room", "x").ok());
  EXPECT_FALSE(EncodeAction("lobby", "").ok());
}

TEST(ChatContentTest, MalformedActionsAndTopicsAreNotChat) {
  // "emote" must be true (what EncodeAction writes); false or a string is
  // not chat.
  for (int variant = 0; variant < 2; ++variant) {
    std::string m;
    core::AppendMsgpackMapHeader(&m, 4);
    core::AppendMsgpackStr(&m, "type");
    core::AppendMsgpackStr(&m, kMessageType);
    core::AppendMsgpackStr(&m, "room");
    core::AppendMsgpackStr(&m, "lobby");
    core::AppendMsgpackStr(&m, "text");
    core::AppendMsgpackStr(&m, "x");
    core::AppendMsgpackStr(&m, "emote");
    if (variant == 0) {
      core::AppendMsgpackBool(&m, false);
    } else {
      core::AppendMsgpackStr(&m, "yes");
    }
    EXPECT_EQ(Parse(m).kind, Content::Kind::kOther) << variant;
  }
  // A topic without its room, or with a bad one.
  std::string t;
  core::AppendMsgpackMapHeader(&t, 2);
  core::AppendMsgpackStr(&t, "type");
  core::AppendMsgpackStr(&t, kTopicType);
  core::AppendMsgpackStr(&t, "topic");
  core::AppendMsgpackStr(&t, "x");
  EXPECT_EQ(Parse(t).kind, Content::Kind::kOther);
}

TEST(ChatContentTest, RejectsBadRoomsTextAndNames) {
  for (const char* room : {"", "has space", "a/b", "ünicode"}) {
    EXPECT_FALSE(EncodeMessage(room, "x").ok()) << room;
  }
  EXPECT_FALSE(EncodeMessage(std::string(65, 'r'), "x").ok());
  EXPECT_TRUE(EncodeMessage(std::string(64, 'r'), "x").ok());
  EXPECT_FALSE(EncodeMessage("lobby", "").ok());
  EXPECT_FALSE(EncodeMessage("lobby", std::string(kMaxTextBytes + 1, 'x')).ok());
  EXPECT_TRUE(EncodeMessage("lobby", std::string(kMaxTextBytes, 'x')).ok());
  for (const std::string& bad : {std::string("\xff"), std::string("\xc0\x80"),  // overlong
                                std::string("\xed\xa0\x80"),                  // surrogate
                                std::string("ab\xe2\x82")}) {                 // truncated
    EXPECT_FALSE(EncodeMessage("lobby", bad).ok());
    EXPECT_FALSE(EncodeNick(bad).ok());
  }
  EXPECT_FALSE(EncodeNick("tab\there").ok());
  EXPECT_FALSE(EncodeNick(std::string(65, 'n')).ok());
}

TEST(ChatContentTest, OtherContentIsIgnoredAndUnknownKeysAreSkipped) {
  EXPECT_EQ(Parse(TextContent("just text")).kind, Content::Kind::kOther);
  EXPECT_EQ(Parse("").kind, Content::Kind::kOther);
  EXPECT_EQ(Parse("\x81").kind, Content::Kind::kOther);  // truncated map
  // A later version's extra key (with a nested value) is skipped.
  std::string m;
  core::AppendMsgpackMapHeader(&m, 4);
  core::AppendMsgpackStr(&m, "reply_to");
  core::AppendMsgpackArrayHeader(&m, 2);
  core::AppendMsgpackUint(&m, 1);
  core::AppendMsgpackUint(&m, 2);
  core::AppendMsgpackStr(&m, "type");
  core::AppendMsgpackStr(&m, kMessageType);
  core::AppendMsgpackStr(&m, "room");
  core::AppendMsgpackStr(&m, "lobby");
  core::AppendMsgpackStr(&m, "text");
  core::AppendMsgpackStr(&m, "hi");
  Content c = Parse(m);
  EXPECT_EQ(c.kind, Content::Kind::kMessage);
  EXPECT_EQ(c.text, "hi");
  // Wrong value types or a wrong type string are not chat.
  std::string wrong;
  core::AppendMsgpackMapHeader(&wrong, 3);
  core::AppendMsgpackStr(&wrong, "type");
  core::AppendMsgpackStr(&wrong, "plumlog/chat2");
  core::AppendMsgpackStr(&wrong, "room");
  core::AppendMsgpackStr(&wrong, "lobby");
  core::AppendMsgpackStr(&wrong, "text");
  core::AppendMsgpackStr(&wrong, "hi");
  EXPECT_EQ(Parse(wrong).kind, Content::Kind::kOther);
  std::string no_text;
  core::AppendMsgpackMapHeader(&no_text, 2);
  core::AppendMsgpackStr(&no_text, "type");
  core::AppendMsgpackStr(&no_text, kMessageType);
  core::AppendMsgpackStr(&no_text, "room");
  core::AppendMsgpackUint(&no_text, 5);
  EXPECT_EQ(Parse(no_text).kind, Content::Kind::kOther);
}

TEST(ChatContentTest, CausalOrderIsLamportThenAuthorThenSeq) {
  testing::FeedBuilder a(testing::KeyFromByte(1)), b(testing::KeyFromByte(2));
  Entry a1 = a.Next("a1", 5), a2 = a.Next("a2", 9);
  Entry b1 = b.Next("b1", 5), b2 = b.Next("b2", 7);
  std::vector<Entry> v = {a2, b2, b1, a1};
  std::sort(v.begin(), v.end(), CausalLess);
  const bool a_first = a.id() < b.id();
  EXPECT_EQ(v[0].id(), (a_first ? a1 : b1).id());
  EXPECT_EQ(v[1].id(), (a_first ? b1 : a1).id());
  EXPECT_EQ(v[2].id(), b2.id());
  EXPECT_EQ(v[3].id(), a2.id());
  EXPECT_FALSE(CausalLess(a1, a1));
}

}  // namespace
}  // namespace plumlog::chat
