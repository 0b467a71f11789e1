// The daemon's web page (`plumlog serve --http`, docs/chat.md): the routes it
// registers on the daemon's HttpServer, answered from the store and the node
// on the daemon's loop.
#ifndef PLUMLOG_CLI_WEB_CHAT_H_
#define PLUMLOG_CLI_WEB_CHAT_H_

#include "cli/http_server.h"
#include "plumlog/node.h"
#include "plumlog/status.h"
#include "plumlog/store.h"

namespace plumlog::cli {

class WebChat {
 public:
  // `store`, `node` and `server` are not owned and must outlive the WebChat.
  WebChat(Store* store, Node* node, HttpServer* server);
  ~WebChat();
  WebChat(const WebChat&) = delete;
  WebChat& operator=(const WebChat&) = delete;

  // Registers the routes:
  //   GET /api/status   the node's status (`plumlog status --json`'s object)
  Status Register();

 private:
  HttpResponse GetStatus(const HttpRequest& request);

  Store* store_;
  Node* node_;
  HttpServer* server_;
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_WEB_CHAT_H_
