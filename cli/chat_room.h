// What `plumlog chat` shows (docs/chat.md), as a model without I/O or clock:
// the chat entries read from the store go in (any order), lines to print
// come out, in the room's causal order (chat::CausalLess).
//
// Entries of the current room wait in a backlog until Flush(): the caller
// flushes at once when the node is up to date with its peers, and holds the
// backlog while it catches up, so that a joiner or a chat back from an
// outage sees "* N earlier messages" and the backlog in order instead of
// each author's messages in turn.
#ifndef PLUMLOG_CLI_CHAT_ROOM_H_
#define PLUMLOG_CLI_CHAT_ROOM_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "cli/chat_index.h"
#include "plumlog/types.h"

namespace plumlog::cli {

// "HH:MM" of `ms` (ms since the epoch) in the local time zone.
std::string ClockTime(int64_t ms);
// "YYYY-MM-DD, Weekday" of `ms` in the local time zone.
std::string DayName(int64_t ms);

class ChatRoom {
 public:
  // Messages the first History() prints at most.
  static constexpr size_t kDefaultHistory = 200;
  // A message of the current room that sorts before one already shown is
  // announced as earlier only when it was written this long before it is
  // shown (a backlog); a younger one was just sent at the same time as
  // what is shown (a full-screen view puts it in its place).
  static constexpr int64_t kLateMs = 10000;

  using Key = ChatIndex::Key;
  // What History() and Flush() print: one or more lines ending in "\n",
  // with the key of the message they show (none for notices). A message's
  // line comes with the day line before it, when there is one.
  struct Line {
    std::optional<Key> key;
    std::string text;
  };
  // All the lines' text.
  static std::string Text(const std::vector<Line>& lines);

  ChatRoom(FeedId self, std::string room);

  // Takes one entry (only chat content counts; the rest is ignored).
  // Messages, nickname and topic changes of the current room go to the
  // backlog.
  void Add(const Entry& entry);

  // The current room's last `n` messages (all when 0) in causal order, with
  // a line for each new day and one saying how many older ones are left
  // out. Clears the backlog: everything of the room counts as shown.
  std::vector<Line> History(size_t n);

  // Messages waiting in the backlog; whether anything (a name or topic
  // change too) waits.
  size_t backlog() const;
  size_t pending() const { return backlog_.size(); }
  // Prints the backlog in causal order and clears it. It is announced as
  // "* N earlier messages" when one of its messages was written (by its
  // author's clock) before `before_ms` (the caller passes when the chat
  // joined or reconnected, less a margin for clocks), or sorts before a
  // message already shown and is older than kLateMs at `now_ms`; name
  // changes in it are then applied silently. `now_ms` stamps the
  // announcement.
  std::vector<Line> Flush(int64_t before_ms, int64_t now_ms);

  // Switches to `room` (valid name): the caller prints History().
  void Join(const std::string& room);
  const std::string& room() const { return room_; }

  // The name to show for a feed: its latest nickname, else the first 8
  // characters of its id (printable).
  std::string Name(const FeedId& id) const { return index_.Name(id); }
  // The latest nickname of our own feed ("" for none, not made printable).
  std::string OwnNick() const;
  // "* topic: TEXT (set by NAME)", or "" when the room has none.
  std::string TopicLine() const;
  // Messages in the current room, and who wrote them.
  size_t messages() const;
  std::set<FeedId> authors() const;

  struct RoomInfo {
    std::string name;
    size_t messages = 0;
    int64_t last_ms = 0;  // timestamp of the newest message
    std::string topic;
  };
  // Every room seen, by name.
  std::vector<RoomInfo> Rooms() const;

 private:
  // A backlog item: a message of the current room (looked up at flush), or
  // a notice (a name or topic change) with its text.
  struct Pending {
    enum class Kind { kMessage, kName, kTopic };
    Key key;
    int64_t timestamp_ms = 0;
    Kind kind = Kind::kMessage;
    std::string notice;  // kName, kTopic
  };

  std::string MessageLine(const Key& key, const ChatIndex::Message& m) const;
  // A day line when `ms` falls on another day than the last line printed.
  std::string DayLine(int64_t ms);

  FeedId self_;
  std::string room_;
  ChatIndex index_;
  std::vector<Pending> backlog_;
  std::optional<Key> shown_max_;  // the greatest message key printed
  std::string last_day_;
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_CHAT_ROOM_H_
