#include "cli/web_chat.h"

#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/daemon_commands.h"
#include "cli/web_assets.h"
#include "cli/web_request.h"
#include "plumlog/chat.h"

namespace plumlog::cli {
namespace {

using json = nlohmann::json;

constexpr std::string_view kEvents = "/api/events";

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A string whose order is the causal order: hex lamport, author, sequence.
std::string KeyString(const ChatIndex::Key& key) {
  const auto& [lamport, author, seq] = key;
  char buf[17];
  std::string out;
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(lamport));
  out += buf;
  for (uint8_t b : author.bytes()) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(seq));
  out += buf;
  return out;
}

json MessageJson(const ChatIndex& index, const std::string& room,
                 const ChatIndex::Key& key, const ChatIndex::Message& m) {
  const auto& [lamport, author, seq] = key;
  return json{{"id", m.id.ToString()},
              {"key", KeyString(key)},
              {"room", room},
              {"author", author.ToString()},
              {"name", index.Name(author)},
              {"seq", seq},
              {"lamport", lamport},
              {"ts", m.timestamp_ms},
              {"text", m.text},
              {"action", m.action}};
}

HttpResponse NoStore(HttpResponse r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse Asset(std::string_view body, const char* type) {
  HttpResponse r = HttpResponse::Text(200, std::string(body), type);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:");
  return r;
}

}  // namespace

WebChat::WebChat(Store* store, Node* node, HttpServer* server, uv_loop_t* loop)
    : store_(store), node_(node), server_(server) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
}

WebChat::~WebChat() = default;

Status WebChat::Register() {
  struct Route {
    const char* method;
    const char* path;
    HttpResponse (WebChat::*handler)(const HttpRequest&);
  };
  static const Route kRoutes[] = {
      {"GET", "/api/status", &WebChat::GetStatus},
      {"GET", "/api/messages", &WebChat::GetMessages},
      {"GET", "/api/rooms", &WebChat::GetRooms},
      {"POST", "/api/send", &WebChat::PostChat},
      {"POST", "/api/nick", &WebChat::PostChat},
      {"POST", "/api/topic", &WebChat::PostChat},
  };
  for (const Route& r : kRoutes) {
    auto handler = r.handler;
    PLUMLOG_RETURN_IF_ERROR(server_->Handle(
        r.method, r.path, [this, handler](const HttpRequest& req) {
          return (this->*handler)(req);
        }));
  }
  PLUMLOG_RETURN_IF_ERROR(server_->Handle("GET", "/", [](const HttpRequest&) {
    return Asset(web_assets::kIndexHtml, "text/html; charset=utf-8");
  }));
  PLUMLOG_RETURN_IF_ERROR(
      server_->Handle("GET", "/app.js", [](const HttpRequest&) {
        return Asset(web_assets::kAppJs, "text/javascript; charset=utf-8");
      }));
  PLUMLOG_RETURN_IF_ERROR(
      server_->Handle("GET", "/app.css", [](const HttpRequest&) {
        return Asset(web_assets::kAppCss, "text/css; charset=utf-8");
      }));
  PLUMLOG_RETURN_IF_ERROR(server_->HandleStream(
      std::string(kEvents), [this](const HttpRequest& r, StreamClientId c) {
        return OpenEvents(r, c);
      }));
  node_->AddListener(this);
  listening_ = true;
  uv_timer_start(&timer_, &WebChat::OnTimer, kStatusEveryMs, kStatusEveryMs);
  return Status::OK();
}

void WebChat::Close() {
  if (closed_) return;
  closed_ = true;
  if (listening_) node_->RemoveListener(this);
  listening_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), [](uv_handle_t* h) {
    static_cast<WebChat*>(h->data)->timer_closed_ = true;
  });
}

Status WebChat::Build() {
  if (built_) return Status::OK();
  uint64_t cursor = 0;
  while (true) {
    PLUMLOG_ASSIGN_OR_RETURN(ArrivalPage page,
                             store_->ReadArrival(cursor, 1000));
    for (const Entry& e : page.entries) index_.Add(e);
    if (page.entries.empty()) break;
    cursor = page.next;
  }
  built_ = true;
  return Status::OK();
}

void WebChat::OnEntry(const Entry& entry) {
  if (!built_ || closed_) return;  // Build() reads it from the store
  const ChatIndex::Change c = index_.Add(entry);
  std::string event;
  switch (c.kind) {
    case ChatIndex::Change::Kind::kNone:
      return;
    case ChatIndex::Change::Kind::kMessage: {
      const ChatIndex::Room* room = index_.FindRoom(c.room);
      event = SseEvent("message", Dump(MessageJson(index_, c.room, c.key,
                                                   room->messages.at(c.key))));
      break;
    }
    case ChatIndex::Change::Kind::kName:
      event = SseEvent("name", Dump(json{{"feed", entry.author().ToString()},
                                         {"name", c.after}}));
      break;
    case ChatIndex::Change::Kind::kTopic: {
      const ChatIndex::Topic& t = *index_.FindRoom(c.room)->topic;
      event = SseEvent("topic", Dump(json{{"room", c.room},
                                          {"topic", t.text},
                                          {"author", index_.Name(t.author)}}));
      break;
    }
  }
  server_->Publish(kEvents, event);
}

void WebChat::OnMemberEvent(const MemberEvent& event) {
  if (closed_ || server_->stream_clients(kEvents) == 0) return;
  server_->Publish(
      kEvents,
      SseEvent("member", Dump(json{{"peer", event.peer.ToString()},
                                   {"name", index_.Name(event.peer)},
                                   {"event", MemberEventName(event.kind)}})));
}

void WebChat::OnTimer(uv_timer_t* timer) {
  auto* self = static_cast<WebChat*>(timer->data);
  if (self->server_->stream_clients(kEvents) == 0) return;
  self->server_->Publish(kEvents, SseEvent("status", self->StatusJson()));
}

std::string WebChat::StatusJson() {
  Result<NodeStatus> s = node_->GetStatus();
  if (!s.ok()) return Dump(json{{"error", s.status().message()}});
  json j = json::parse(StatusJsonText(*s));
  // Whether each replication peer has everything we have and we all it
  // has (what `plumlog sync` waits for).
  for (json& c : j["connections"]) {
    if (!c.value("replicating", false)) continue;
    Result<FeedId> peer = FeedId::Parse(c.value("peer", ""));
    if (!peer.ok()) continue;
    Result<bool> in_sync = node_->InSyncWith(*peer);
    c["in_sync"] = in_sync.ok() && *in_sync;
  }
  json names = json::object();
  for (const json& m : j["members"]) {
    Result<FeedId> id = FeedId::Parse(m.value("id", ""));
    if (id.ok()) names[id->ToString()] = index_.Name(*id);
  }
  for (const json& c : j["connections"]) {
    Result<FeedId> id = FeedId::Parse(c.value("peer", ""));
    if (id.ok()) names[id->ToString()] = index_.Name(*id);
  }
  names[s->id.ToString()] = index_.Name(s->id);
  j["names"] = names;
  return Dump(j);
}

HttpResponse WebChat::GetStatus(const HttpRequest&) {
  if (Status st = Build(); !st.ok())
    return HttpResponse::Error(503, st.message());
  return NoStore(HttpResponse::Json(StatusJson() + "\n"));
}

HttpResponse WebChat::GetMessages(const HttpRequest& r) {
  if (Status st = Build(); !st.ok())
    return HttpResponse::Error(503, st.message());
  const std::string* room = r.Query("room");
  if (room == nullptr) return HttpResponse::Error(400, "room=NAME is missing");
  if (Status st = chat::ValidateRoom(*room); !st.ok())
    return HttpResponse::Error(400, st.message());
  size_t limit = kDefaultMessages;
  if (const std::string* l = r.Query("limit")) {
    auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || end != l->data() + l->size() || limit == 0 ||
        limit > kMaxMessages) {
      return HttpResponse::Error(
          400, "limit must be 1.." + std::to_string(kMaxMessages));
    }
  }
  json messages = json::array();
  json names = json::object();
  json topic = nullptr;
  size_t total = 0;
  if (const ChatIndex::Room* rm = index_.FindRoom(*room)) {
    total = rm->messages.size();
    auto it = rm->messages.begin();
    if (total > limit)
      std::advance(it, static_cast<std::ptrdiff_t>(total - limit));
    for (; it != rm->messages.end(); ++it) {
      messages.push_back(MessageJson(index_, *room, it->first, it->second));
      const FeedId& author = std::get<1>(it->first);
      names[author.ToString()] = index_.Name(author);
    }
    if (rm->topic && !rm->topic->text.empty()) {
      topic = json{{"topic", rm->topic->text},
                   {"author", index_.Name(rm->topic->author)}};
    }
  }
  return NoStore(HttpResponse::Json(Dump(json{{"room", *room},
                                              {"topic", topic},
                                              {"messages", messages},
                                              {"names", names},
                                              {"total", total}}) +
                                    "\n"));
}

HttpResponse WebChat::GetRooms(const HttpRequest&) {
  if (Status st = Build(); !st.ok())
    return HttpResponse::Error(503, st.message());
  json rooms = json::array();
  for (const auto& [name, r] : index_.rooms()) {
    int64_t last = 0;
    for (const auto& [key, m] : r.messages)
      last = std::max(last, m.timestamp_ms);
    rooms.push_back({{"name", name},
                     {"messages", r.messages.size()},
                     {"last_ts", last},
                     {"topic", r.topic ? r.topic->text : ""}});
  }
  return NoStore(HttpResponse::Json(Dump(json{{"rooms", rooms}}) + "\n"));
}

HttpResponse WebChat::PostChat(const HttpRequest& r) {
  const std::string* type = r.Header("Content-Type");
  Result<std::string> content =
      ContentFromPost(r.path, type != nullptr ? *type : "", r.body);
  if (!content.ok()) {
    return HttpResponse::Error(
        content.status().code() == Status::Code::kFailedPrecondition ? 415
                                                                     : 400,
        content.status().message());
  }
  Result<Entry> e = store_->Append(*content);
  if (!e.ok())
    return HttpResponse::Error(500, "cannot append: " + e.status().message());
  return NoStore(HttpResponse::Json(
      Dump(json{{"seq", e->seq()}, {"id", e->id().ToString()}}) + "\n"));
}

std::string WebChat::OpenEvents(const HttpRequest&, StreamClientId) {
  Status st = Build();
  json hello = {{"id", store_->local_id().ToString()},
                {"address", node_->address().ToString()},
                {"name", index_.Name(store_->local_id())}};
  if (!st.ok()) hello["error"] = st.message();
  return SseEvent("hello", Dump(hello));
}

}  // namespace plumlog::cli
