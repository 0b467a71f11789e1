#include "plumlog/chat.h"

#include <tuple>

#include "storage/msgpack_reader.h"
#include "storage/utf8.h"

namespace plumlog::chat {
namespace {

using storage::AppendMsgpackMapHeader;
using storage::IsUtf8;
using storage::AppendMsgpackStr;
using storage::MsgpackReader;

Status CheckText(std::string_view what, std::string_view text, size_t max) {
  if (text.empty()) return Status::InvalidArgument(std::string(what) + " is empty");
  if (text.size() > max) {
    return Status::InvalidArgument(std::string(what) + " is longer than " +
                                   std::to_string(max) + " bytes");
  }
  if (!IsUtf8(text)) return Status::InvalidArgument(std::string(what) + " is not UTF-8");
  return Status::OK();
}

// What EncodeNick writes and Parse accepts (docs/chat.md): 1..64 bytes of
// UTF-8 without control characters.
Status CheckNick(std::string_view name) {
  PLUMLOG_RETURN_IF_ERROR(CheckText("nickname", name, kMaxNameBytes));
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return Status::InvalidArgument("nickname contains a control character");
    }
  }
  return Status::OK();
}

}  // namespace

Status ValidateRoom(std::string_view room) {
  if (room.empty() || room.size() > kMaxRoomBytes) {
    return Status::InvalidArgument("a room name has 1 to 64 characters");
  }
  for (char c : room) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("room name '" + std::string(room) +
                                     "': only letters, digits, '.', '_' and '-'");
    }
  }
  return Status::OK();
}

Result<std::string> EncodeMessage(std::string_view room, std::string_view text) {
  PLUMLOG_RETURN_IF_ERROR(ValidateRoom(room));
  PLUMLOG_RETURN_IF_ERROR(CheckText("message", text, kMaxTextBytes));
  std::string out;
  AppendMsgpackMapHeader(&out, 3);
  AppendMsgpackStr(&out, "type");
  AppendMsgpackStr(&out, kMessageType);
  AppendMsgpackStr(&out, "room");
  AppendMsgpackStr(&out, room);
  AppendMsgpackStr(&out, "text");
  AppendMsgpackStr(&out, text);
  return out;
}

Result<std::string> EncodeNick(std::string_view name) {
  PLUMLOG_RETURN_IF_ERROR(CheckNick(name));
  std::string out;
  AppendMsgpackMapHeader(&out, 2);
  AppendMsgpackStr(&out, "type");
  AppendMsgpackStr(&out, kNickType);
  AppendMsgpackStr(&out, "name");
  AppendMsgpackStr(&out, name);
  return out;
}

Content Parse(std::string_view content) {
  Content c;
  MsgpackReader r(content);
  uint32_t n = 0;
  if (!r.ReadMapHeader("content", &n).ok() || n > 32) return c;
  std::string type, room, text, name;
  bool has_room = false, has_text = false, has_name = false;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!r.ReadStr("key", 32, &key).ok()) return c;
    std::string_view v;
    if (key == "type" || key == "room" || key == "text" || key == "name") {
      if (!r.ReadStr("value", kMaxEntryBytes, &v).ok()) return c;
      if (key == "type") type = v;
      if (key == "room") room = v, has_room = true;
      if (key == "text") text = v, has_text = true;
      if (key == "name") name = v, has_name = true;
    } else if (!r.SkipValue("value", kMaxContentDepth).ok()) {
      return c;
    }
  }
  // Only what EncodeMessage / EncodeNick could have written is chat: an empty
  // or oversized text, or a nickname with control characters, is not.
  if (type == kMessageType && has_room && has_text && ValidateRoom(room).ok() &&
      CheckText("message", text, kMaxTextBytes).ok()) {
    c.kind = Content::Kind::kMessage;
    c.room = std::move(room);
    c.text = std::move(text);
  } else if (type == kNickType && has_name && CheckNick(name).ok()) {
    c.kind = Content::Kind::kNick;
    c.name = std::move(name);
  }
  return c;
}

bool CausalLess(const Entry& a, const Entry& b) {
  return std::forward_as_tuple(a.lamport(), a.author(), a.seq()) <
         std::forward_as_tuple(b.lamport(), b.author(), b.seq());
}

}  // namespace plumlog::chat
