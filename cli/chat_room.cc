#include "cli/chat_room.h"

#include <time.h>

#include <algorithm>

namespace plumlog::cli {
namespace {

std::string Format(int64_t ms, const char* fmt) {
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm = {};
  ::localtime_r(&secs, &tm);
  char buf[64];
  const size_t n = ::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

}  // namespace

std::string ClockTime(int64_t ms) { return Format(ms, "%H:%M"); }

std::string DayName(int64_t ms) { return Format(ms, "%Y-%m-%d, %A"); }

ChatRoom::ChatRoom(FeedId self, std::string room)
    : self_(self), room_(std::move(room)) {}

void ChatRoom::Add(const Entry& e) {
  const ChatIndex::Change c = index_.Add(e);
  const int64_t ts = static_cast<int64_t>(e.timestamp_ms());
  switch (c.kind) {
    case ChatIndex::Change::Kind::kNone:
      return;
    case ChatIndex::Change::Kind::kMessage:
      if (c.room == room_)
        backlog_.push_back({c.key, ts, Pending::Kind::kMessage, ""});
      return;
    case ChatIndex::Change::Kind::kName:
      backlog_.push_back(
          {c.key, ts, Pending::Kind::kName,
           e.author() == self_
               ? "* you are now known as " + c.after
               : "* " + c.before + " is now known as " + c.after});
      return;
    case ChatIndex::Change::Kind::kTopic: {
      if (c.room != room_) return;
      const std::string& topic = index_.FindRoom(c.room)->topic->text;
      backlog_.push_back({c.key, ts, Pending::Kind::kTopic,
                          topic.empty()
                              ? "* " + Name(e.author()) + " cleared the topic"
                              : "* " + Name(e.author()) +
                                    " set the topic: " + Printable(topic)});
      return;
    }
  }
}

std::string ChatRoom::MessageLine(const Key& key,
                                  const ChatIndex::Message& m) const {
  const FeedId& author = std::get<1>(key);
  if (m.action) {
    return ClockTime(m.timestamp_ms) + " * " + Name(author) + " " +
           Printable(m.text) + "\n";
  }
  return ClockTime(m.timestamp_ms) + " <" + Name(author) + "> " +
         Printable(m.text) + "\n";
}

std::string ChatRoom::DayLine(int64_t ms) {
  const std::string day = DayName(ms);
  if (day == last_day_) return "";
  last_day_ = day;
  return "* " + day + "\n";
}

std::string ChatRoom::Text(const std::vector<Line>& lines) {
  std::string out;
  for (const Line& l : lines) out += l.text;
  return out;
}

std::vector<ChatRoom::Line> ChatRoom::History(size_t n) {
  backlog_.clear();
  std::vector<Line> out;
  const ChatIndex::Room* room = index_.FindRoom(room_);
  if (room == nullptr || room->messages.empty()) return out;
  const auto& msgs = room->messages;
  auto from = msgs.begin();
  if (n > 0 && msgs.size() > n) {
    std::advance(from, static_cast<std::ptrdiff_t>(msgs.size() - n));
    const size_t left_out = msgs.size() - n;
    out.push_back({std::nullopt,
                   "* " + std::to_string(left_out) +
                       (left_out == 1 ? " older message" : " older messages") +
                       " not shown (/history N shows the last N)\n"});
  }
  last_day_.clear();
  for (auto m = from; m != msgs.end(); ++m) {
    out.push_back({m->first, DayLine(m->second.timestamp_ms) +
                                 MessageLine(m->first, m->second)});
  }
  shown_max_ = msgs.rbegin()->first;
  return out;
}

size_t ChatRoom::backlog() const {
  return static_cast<size_t>(std::count_if(
      backlog_.begin(), backlog_.end(),
      [](const Pending& p) { return p.kind == Pending::Kind::kMessage; }));
}

std::vector<ChatRoom::Line> ChatRoom::Flush(int64_t before_ms, int64_t now_ms) {
  std::vector<Pending> items;
  items.swap(backlog_);
  std::stable_sort(
      items.begin(), items.end(),
      [](const Pending& a, const Pending& b) { return a.key < b.key; });
  size_t count = 0;
  bool earlier = false;
  for (const Pending& p : items) {
    if (p.kind != Pending::Kind::kMessage) continue;
    ++count;
    if (p.timestamp_ms < before_ms || (shown_max_ && p.key < *shown_max_ &&
                                       p.timestamp_ms < now_ms - kLateMs)) {
      earlier = true;
    }
  }
  const ChatIndex::Room* room = index_.FindRoom(room_);
  std::vector<Line> out;
  if (earlier) {
    out.push_back({std::nullopt,
                   ClockTime(now_ms) + " * " + std::to_string(count) +
                       (count == 1 ? " earlier message" : " earlier messages") +
                       "\n"});
  }
  bool topic_changed = false;
  for (const Pending& p : items) {
    if (p.kind != Pending::Kind::kMessage) {
      // In a block of earlier messages old name changes are not news; a
      // topic change is summed up after it.
      if (earlier) {
        topic_changed = topic_changed || p.kind == Pending::Kind::kTopic;
        continue;
      }
      out.push_back(
          {std::nullopt, ClockTime(p.timestamp_ms) + " " + p.notice + "\n"});
      continue;
    }
    if (room == nullptr) continue;
    auto it = room->messages.find(p.key);
    if (it == room->messages.end()) continue;
    out.push_back(
        {p.key, DayLine(p.timestamp_ms) + MessageLine(p.key, it->second)});
    if (!shown_max_ || *shown_max_ < p.key) shown_max_ = p.key;
  }
  if (topic_changed) {
    const std::string line = TopicLine();
    out.push_back(
        {std::nullopt, line.empty() ? "* the topic was cleared\n" : line});
  }
  return out;
}

void ChatRoom::Join(const std::string& room) {
  room_ = room;
  backlog_.clear();
  shown_max_.reset();
  last_day_.clear();
}

std::string ChatRoom::OwnNick() const { return index_.Nick(self_); }

std::string ChatRoom::TopicLine() const {
  const ChatIndex::Room* room = index_.FindRoom(room_);
  if (room == nullptr || !room->topic || room->topic->text.empty()) return "";
  return "* topic: " + Printable(room->topic->text) + " (set by " +
         Name(room->topic->author) + ")\n";
}

size_t ChatRoom::messages() const {
  const ChatIndex::Room* room = index_.FindRoom(room_);
  return room == nullptr ? 0 : room->messages.size();
}

std::set<FeedId> ChatRoom::authors() const {
  std::set<FeedId> out;
  const ChatIndex::Room* room = index_.FindRoom(room_);
  if (room == nullptr) return out;
  for (const auto& [key, m] : room->messages) out.insert(std::get<1>(key));
  return out;
}

std::vector<ChatRoom::RoomInfo> ChatRoom::Rooms() const {
  std::vector<RoomInfo> out;
  for (const auto& [name, r] : index_.rooms()) {
    RoomInfo info;
    info.name = name;
    info.messages = r.messages.size();
    for (const auto& [key, m] : r.messages)
      info.last_ms = std::max(info.last_ms, m.timestamp_ms);
    if (r.topic) info.topic = r.topic->text;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace plumlog::cli
