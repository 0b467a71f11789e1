#include "cli/chat_index.h"

#include "plumlog/chat.h"

namespace plumlog::cli {

std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\t') {
      out += ' ';
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else if (c == 0xc2 && i + 1 < s.size() &&
               static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
      out += '?';  // U+0080..U+009F
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

ChatIndex::Change ChatIndex::Add(const Entry& e) {
  chat::Content c = chat::Parse(e.content());
  Change change;
  change.key = Key{e.lamport(), e.author(), e.seq()};
  const auto ts = static_cast<int64_t>(e.timestamp_ms());
  switch (c.kind) {
    case chat::Content::Kind::kOther:
      break;
    case chat::Content::Kind::kMessage: {
      Room& r = rooms_[c.room];
      auto [it, fresh] = r.messages.emplace(
          change.key, Message{e.id(), ts, std::move(c.text), c.action});
      if (fresh) {
        change.kind = Change::Kind::kMessage;
        change.room = std::move(c.room);
      }
      break;
    }
    case chat::Content::Kind::kNick: {
      // The latest (highest sequence) nickname entry of a feed wins.
      auto it = nicks_.find(e.author());
      if (it != nicks_.end() && it->second.first >= e.seq()) break;
      change.before = Name(e.author());
      nicks_[e.author()] = {e.seq(), c.name};
      change.after = Name(e.author());
      if (change.before != change.after) change.kind = Change::Kind::kName;
      break;
    }
    case chat::Content::Kind::kTopic: {
      // The causally latest topic entry of a room wins.
      Room& r = rooms_[c.room];
      if (r.topic && !(r.topic->key < change.key)) break;
      r.topic = Topic{change.key, e.author(), ts, std::move(c.text)};
      change.kind = Change::Kind::kTopic;
      change.room = std::move(c.room);
      break;
    }
  }
  return change;
}

std::string ChatIndex::Name(const FeedId& id) const {
  auto it = nicks_.find(id);
  return Printable(it != nicks_.end() ? it->second.second : id.Short());
}

std::string ChatIndex::Nick(const FeedId& id) const {
  auto it = nicks_.find(id);
  return it != nicks_.end() ? it->second.second : "";
}

const ChatIndex::Room* ChatIndex::FindRoom(const std::string& name) const {
  auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : &it->second;
}

}  // namespace plumlog::cli
