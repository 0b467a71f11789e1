// The daemon's web page (`plumlog serve --http`, docs/chat.md "The web
// chat"): a chat (rooms, messages in causal order, sending, nickname,
// topic) and the node's status (peers, members, replication progress per
// peer), live over server-sent events. The page (cli/web/) is embedded in
// the binary. Runs on the daemon's loop, answered from the store and node.
//
//   GET  /, /app.js, /app.css   the page
//   GET  /api/status            `status --json`'s object; each replicating
//                               connection also has "in_sync"
//   GET  /api/messages?room=R[&limit=N]
//                               {"room", "topic", "messages": [message...]
//                                (the last N, default 500, causal order),
//                                "names": {feed: name}, "total"}
//   GET  /api/rooms             {"rooms": [{"name", "messages", "last_ts",
//                                "topic"}]}
//   POST /api/send   {"room", "text", "action"?}  -> {"seq", "id"}
//   POST /api/nick   {"name"}                     -> {"seq", "id"}
//   POST /api/topic  {"room", "topic"}            -> {"seq", "id"}
//   GET  /api/events            events: "hello" {"id", "address"},
//                               "message" (a message, any room), "name"
//                               {"feed", "name"}, "topic" {"room", "topic",
//                               "author"}, "member" {"peer", "event"},
//                               "status" (every second)
//
// A message: {"id", "key", "room", "author", "name", "seq", "lamport",
// "ts", "text", "action"}; "key" is a string whose order is the room's
// causal order (hex lamport, author, sequence). POSTs take
// application/json only (so another site's page cannot send them without a
// CORS preflight, which is never granted); the HttpServer also refuses a
// foreign Origin.
#ifndef PLUMLOG_CLI_WEB_CHAT_H_
#define PLUMLOG_CLI_WEB_CHAT_H_

#include <uv.h>

#include <string>

#include "cli/chat_index.h"
#include "cli/http_server.h"
#include "plumlog/node.h"
#include "plumlog/status.h"
#include "plumlog/store.h"

namespace plumlog::cli {

class WebChat : public NodeListener {
 public:
  // Most messages /api/messages returns by default, and at all.
  static constexpr size_t kDefaultMessages = 500;
  static constexpr size_t kMaxMessages = 10000;
  // How often a "status" event goes to open pages.
  static constexpr uint64_t kStatusEveryMs = 1000;

  // `store`, `node` and `server` are not owned and must outlive the WebChat;
  // everything runs on `loop` (the node's and the server's).
  WebChat(Store* store, Node* node, HttpServer* server, uv_loop_t* loop);
  // Close() must have completed (closed()).
  ~WebChat() override;
  WebChat(const WebChat&) = delete;
  WebChat& operator=(const WebChat&) = delete;

  // Registers the routes and listens to the node.
  Status Register();
  // Stops listening and the status timer; completes as the loop runs.
  void Close();
  bool closed() const { return closed_ && timer_closed_; }

  // NodeListener (on the loop).
  void OnEntry(const Entry& entry) override;
  void OnMemberEvent(const MemberEvent& event) override;

 private:
  static void OnTimer(uv_timer_t* timer);
  // Reads every chat entry of the store into the index, the first time.
  Status Build();

  HttpResponse GetStatus(const HttpRequest& request);
  HttpResponse GetMessages(const HttpRequest& request);
  HttpResponse GetRooms(const HttpRequest& request);
  // /api/send, /api/nick, /api/topic (cli/web_request.h).
  HttpResponse PostChat(const HttpRequest& request);
  std::string OpenEvents(const HttpRequest& request, StreamClientId client);
  std::string StatusJson();

  Store* store_;
  Node* node_;
  HttpServer* server_;
  uv_timer_t timer_;
  ChatIndex index_;
  bool built_ = false;
  bool listening_ = false;
  bool closed_ = false;
  bool timer_closed_ = false;
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_WEB_CHAT_H_
