// Chat content (docs/chat.md): what `plumlog chat` and examples/chat.cc put in
// entries, and the causal order they show a room in.
//
//   message:  {"type": "plumlog/chat", "room": ROOM, "text": TEXT}
//   action:   {"type": "plumlog/chat", "room": ROOM, "text": TEXT,
//              "emote": true}                       (/me TEXT)
//   nickname: {"type": "plumlog/nick", "name": NAME}
//   topic:    {"type": "plumlog/topic", "room": ROOM, "topic": TOPIC}
//
// All are msgpack maps with str keys and str values ("emote" is a bool).
// Readers ignore keys they do not know (later versions may add some) and
// every entry whose content is not one of these maps.
#ifndef PLUMLOG_CHAT_H_
#define PLUMLOG_CHAT_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog::chat {

inline constexpr std::string_view kMessageType = "plumlog/chat";
inline constexpr std::string_view kNickType = "plumlog/nick";
inline constexpr std::string_view kTopicType = "plumlog/topic";
inline constexpr size_t kMaxRoomBytes = 64;
inline constexpr size_t kMaxNameBytes = 64;
inline constexpr size_t kMaxTextBytes = 16 * 1024;
inline constexpr size_t kMaxTopicBytes = 512;

// A room name: 1..64 bytes of [A-Za-z0-9._-].
Status ValidateRoom(std::string_view room);

// Entry content for a message in `room` / an action ("/me waves": shown as
// "* NAME waves") / a nickname / a room's topic. InvalidArgument for a bad
// room, an empty or oversized text or name, an oversized topic, or text that
// is not UTF-8; names and topics may not hold control characters. An empty
// topic clears the room's topic.
Result<std::string> EncodeMessage(std::string_view room, std::string_view text);
Result<std::string> EncodeAction(std::string_view room, std::string_view text);
Result<std::string> EncodeNick(std::string_view name);
Result<std::string> EncodeTopic(std::string_view room, std::string_view topic);

struct Content {
  enum class Kind { kOther, kMessage, kNick, kTopic };
  Kind kind = Kind::kOther;
  std::string room;     // kMessage, kTopic
  std::string text;     // kMessage: the text; kTopic: the topic ("" = none)
  std::string name;     // kNick
  bool action = false;  // kMessage: written by /me
};
// Never fails: content that is not chat is Kind::kOther.
Content Parse(std::string_view content);

// The order a room is shown in: lamport clock, then author, then sequence.
// Every node sorts the same entries the same way, and an answer always sorts
// after what its author had seen (the lamport rule of docs/format.md).
bool CausalLess(const Entry& a, const Entry& b);

}  // namespace plumlog::chat

#endif  // PLUMLOG_CHAT_H_
