#include "cli/web_chat.h"

#include "cli/daemon_commands.h"

namespace plumlog::cli {

WebChat::WebChat(Store* store, Node* node, HttpServer* server)
    : store_(store), node_(node), server_(server) {}

WebChat::~WebChat() = default;

Status WebChat::Register() {
  return server_->Handle("GET", "/api/status",
                         [this](const HttpRequest& r) { return GetStatus(r); });
}

HttpResponse WebChat::GetStatus(const HttpRequest&) {
  Result<NodeStatus> s = node_->GetStatus();
  if (!s.ok()) return HttpResponse::Error(503, s.status().message());
  HttpResponse r = HttpResponse::Json(StatusJsonText(*s) + "\n");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace plumlog::cli
