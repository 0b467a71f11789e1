#include "net/control_server.h"

#include "net/control_frame.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace plumlog::net {

struct ControlServer::Client {
  uv_pipe_t pipe;
  ControlServer* server = nullptr;
  ControlClientId id = 0;
  std::string in;
  bool closing = false;
  // Disconnect once the queued responses are written (after a framing error).
  bool close_after_write = false;
  size_t pending_writes = 0;
};

struct ControlServer::WriteRequest {
  uv_write_t req;
  Client* client;
  std::string data;
};

ControlServer::ControlServer(uv_loop_t* loop, std::string path, size_t max_frame_bytes,
                             ControlHandler* handler)
    : loop_(loop), path_(std::move(path)), max_frame_bytes_(max_frame_bytes), handler_(handler) {}

ControlServer::~ControlServer() = default;

Result<std::unique_ptr<ControlServer>> ControlServer::Start(
    uv_loop_t* loop, const std::string& path, size_t max_frame_bytes, ControlHandler* handler) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return Status::InvalidArgument(
        "control socket path is too long (" + std::to_string(path.size()) +
        " bytes, at most " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
        "): " + path + "; use a shorter --home");
  }
  std::unique_ptr<ControlServer> s(new ControlServer(loop, path, max_frame_bytes, handler));
  int rc = uv_pipe_init(loop, &s->listener_, 0);
  if (rc != 0)
    return Status::IOError(std::string("uv_pipe_init: ") + uv_strerror(rc));
  s->listener_.data = s.get();
  s->open_handles_ = 1;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    Status st = Status::IOError("cannot remove the old control socket " + path +
                                ": " + std::strerror(errno));
    s->Close();
    return st;
  }
  // Created 0600 from the start (no window where others could connect).
  const mode_t old_mask = ::umask(0177);
  rc = uv_pipe_bind(&s->listener_, path.c_str());
  ::umask(old_mask);
  if (rc == 0 && ::chmod(path.c_str(), 0600) != 0) rc = -errno;
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&s->listener_), 16,
                   &ControlServer::OnConnection);
  if (rc != 0) {
    Status st = Status::IOError("cannot listen on the control socket " + path +
                                ": " + uv_strerror(rc));
    s->Close();
    return st;
  }
  return s;
}

void ControlServer::Close() {
  if (closed_) return;
  closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_),
           &ControlServer::OnListenerClosed);
  while (!clients_.empty()) CloseClient(*clients_.begin());
  ::unlink(path_.c_str());
}

void ControlServer::OnListenerClosed(uv_handle_t* handle) {
  static_cast<ControlServer*>(handle->data)->open_handles_--;
}

void ControlServer::OnConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<ControlServer*>(server->data);
  if (status != 0 || self->closed_) return;
  auto* client = new Client();
  client->server = self;
  client->id = self->next_id_++;
  self->by_id_[client->id] = client;
  uv_pipe_init(self->loop_, &client->pipe, 0);
  client->pipe.data = client;
  self->open_handles_++;
  self->clients_.insert(client);
  auto* stream = reinterpret_cast<uv_stream_t*>(&client->pipe);
  if (uv_accept(server, stream) != 0 || self->clients_.size() > kMaxClients) {
    self->CloseClient(client);
    return;
  }
  if (uv_read_start(stream, &ControlServer::OnAlloc, &ControlServer::OnRead) !=
      0) {
    self->CloseClient(client);
  }
}

void ControlServer::OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  constexpr size_t kChunk = 64 * 1024;
  buf->base = static_cast<char*>(std::malloc(kChunk));
  buf->len = buf->base == nullptr ? 0 : kChunk;
}

void ControlServer::OnRead(uv_stream_t* stream, ssize_t nread,
                           const uv_buf_t* buf) {
  auto* client = static_cast<Client*>(stream->data);
  ControlServer* self = client->server;
  if (nread > 0 && !client->closing)
    client->in.append(buf->base, static_cast<size_t>(nread));
  std::free(buf->base);
  if (client->closing) return;
  if (nread < 0) {  // EOF or error
    self->CloseClient(client);
    return;
  }
  if (nread > 0) self->HandleInput(client);
}

void ControlServer::HandleInput(Client* client) {
  size_t pos = 0;
  while (!client->closing && !client->close_after_write &&
         client->in.size() - pos >= 4) {
    const uint32_t len = ControlFrameLength(std::string_view(client->in).substr(pos));
    if (len == 0 || len > max_frame_bytes_) {
      Send(client, handler_->Refuse(Status::TooLarge(
                       "bad control frame length " + std::to_string(len) + " (1 to " +
                       std::to_string(max_frame_bytes_) + " bytes); disconnecting")));
      client->close_after_write = true;
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&client->pipe));
      if (client->pending_writes == 0) CloseClient(client);
      return;
    }
    if (client->in.size() - pos - 4 < len) break;
    const std::string response = handler_->Handle(
        std::string_view(client->in).substr(pos + 4, len), client->id);
    pos += 4 + size_t{len};
    if (client->closing) return;
    Send(client, response);
  }
  if (!client->closing) client->in.erase(0, pos);
}

bool ControlServer::Push(ControlClientId id, std::string_view payload) {
  auto it = by_id_.find(id);
  if (it == by_id_.end() || it->second->closing) return false;
  Send(it->second, payload);
  return !it->second->closing;
}

void ControlServer::Send(Client* client, std::string_view payload) {
  if (client->closing) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(&client->pipe);
  if (uv_stream_get_write_queue_size(stream) > kMaxQueuedBytes) {
    CloseClient(client);
    return;
  }
  auto* w = new WriteRequest();
  w->client = client;
  w->data = ControlFrame(payload);
  uv_buf_t buf =
      uv_buf_init(w->data.data(), static_cast<unsigned int>(w->data.size()));
  if (uv_write(&w->req, stream, &buf, 1, &ControlServer::OnWrite) != 0) {
    delete w;
    CloseClient(client);
    return;
  }
  client->pending_writes++;
}

void ControlServer::OnWrite(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteRequest*>(req);
  Client* client = w->client;
  delete w;
  client->pending_writes--;
  if (client->closing) {
    // The close callback waits for the last write callback.
    if (client->pending_writes == 0 && client->pipe.data == nullptr) {
      ControlServer* self = client->server;
      self->open_handles_--;
      delete client;
    }
    return;
  }
  if (status != 0 ||
      (client->close_after_write && client->pending_writes == 0)) {
    client->server->CloseClient(client);
  }
}

void ControlServer::CloseClient(Client* client) {
  if (client->closing) return;
  client->closing = true;
  clients_.erase(client);
  by_id_.erase(client->id);
  handler_->OnClientClosed(client->id);
  uv_close(reinterpret_cast<uv_handle_t*>(&client->pipe),
           &ControlServer::OnClientClosed);
}

void ControlServer::OnClientClosed(uv_handle_t* handle) {
  auto* client = static_cast<Client*>(handle->data);
  // Write callbacks (cancelled) run before the close callback in libuv, but
  // keep the client alive until the last of them just in case.
  if (client->pending_writes > 0) {
    handle->data = nullptr;
    client->pipe.data = nullptr;
    return;
  }
  client->server->open_handles_--;
  delete client;
}

}  // namespace plumlog::net
