// Every chat entry of a store, indexed (docs/chat.md): the messages of each
// room in causal order (chat::CausalLess), each room's topic, each feed's
// nickname. Entries go in in any order, any number of times; the index ends
// the same. Used by `plumlog chat` (cli/chat_room.h) and the daemon's web
// chat (cli/web_chat.h). No I/O.
#ifndef PLUMLOG_CLI_CHAT_INDEX_H_
#define PLUMLOG_CLI_CHAT_INDEX_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "plumlog/types.h"

namespace plumlog::cli {

// Text from the network made safe to print: control characters (C0, DEL,
// C1) become '?' (a tab a space), so no author can move the cursor or
// recolour a terminal.
std::string Printable(std::string_view s);

class ChatIndex {
 public:
  // chat::CausalLess's key: lamport, author, sequence.
  using Key = std::tuple<uint64_t, FeedId, uint64_t>;

  struct Message {
    EntryId id;
    int64_t timestamp_ms = 0;  // by the author's clock
    std::string text;
    bool action = false;  // /me
  };
  struct Topic {
    Key key;
    FeedId author;
    int64_t timestamp_ms = 0;
    std::string text;  // "" = cleared
  };
  struct Room {
    std::map<Key, Message> messages;
    std::optional<Topic> topic;
  };

  // What one Add changed.
  struct Change {
    enum class Kind {
      kNone,     // not chat, or nothing new
      kMessage,  // a message new to the index (room, key)
      kName,     // a feed's nickname changed what it is shown as (key,
                 // before, after)
      kTopic,    // a room's topic changed (room, key)
    };
    Kind kind = Kind::kNone;
    std::string room;
    Key key;
    std::string before;  // kName: the names shown before and after
    std::string after;
  };

  Change Add(const Entry& entry);

  // The name to show for a feed: its latest nickname (highest sequence),
  // else the first 8 characters of its id; made printable (Printable).
  std::string Name(const FeedId& id) const;
  // The latest nickname as written ("" for none).
  std::string Nick(const FeedId& id) const;

  const Room* FindRoom(const std::string& name) const;
  const std::map<std::string, Room>& rooms() const { return rooms_; }

 private:
  std::map<std::string, Room> rooms_;
  std::map<FeedId, std::pair<uint64_t, std::string>> nicks_;  // seq, name
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_CHAT_INDEX_H_
