#include "net/connection.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>

#include "net/host_port.h"
#include "net/uv_status.h"

namespace plumlog::net {
namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;
std::atomic<uint64_t> next_serial{1};

std::string FormatAddress(const struct sockaddr_storage& ss) {
  char ip[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const struct sockaddr_in*>(&ss);
    uv_ip4_name(a, ip, sizeof ip);
    return JoinHostPort(ip, ntohs(a->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const struct sockaddr_in6*>(&ss);
    uv_ip6_name(a, ip, sizeof ip);
    return JoinHostPort(ip, ntohs(a->sin6_port));
  }
  return "";
}

}  // namespace

const char* CloseReasonName(CloseReason r) {
  switch (r) {
    case CloseReason::kLocal: return "closed locally";
    case CloseReason::kPeerClosed: return "peer closed";
    case CloseReason::kHandshakeFailed: return "handshake failed";
    case CloseReason::kHandshakeTimeout: return "handshake timeout";
    case CloseReason::kIdleTimeout: return "idle timeout";
    case CloseReason::kStreamError: return "stream error";
    case CloseReason::kOversizedFrame: return "oversized frame";
    case CloseReason::kMalformedFrame: return "malformed frame";
    case CloseReason::kSocketError: return "socket error";
    case CloseReason::kResolveFailed: return "resolve failed";
  }
  return "?";
}

struct Connection::WriteReq {
  uv_write_t req;
  std::string data;
  Connection* conn;
};

struct Connection::ResolveReq {
  uv_getaddrinfo_t req;
  Connection* conn;  // null once the connection gave up on it
};

Connection::Connection(uv_loop_t* loop, Handler* handler, const ConnectionConfig* config,
                       bool outbound, TimeMs now)
    : loop_(loop),
      handler_(handler),
      config_(config),
      outbound_(outbound),
      serial_(next_serial.fetch_add(1)),
      state_(outbound ? State::kResolving : State::kHandshake),
      read_buf_(new char[kReadBufferBytes]),
      created_(now),
      last_received_(now),
      last_sent_(now),
      last_refill_(now),
      tokens_(config->max_frames_per_second) {
  uv_tcp_init(loop_, &tcp_);
  tcp_.data = this;
}

Connection::~Connection() = default;

Connection* Connection::Dial(uv_loop_t* loop, Handler* handler, const ConnectionConfig* config,
                             std::string host, uint16_t port, const FeedId& expect, TimeMs now) {
  auto* c = new Connection(loop, handler, config, /*outbound=*/true, now);
  c->host_ = std::move(host);
  c->port_ = port;
  c->remote_id_ = expect;
  c->remote_address_ = JoinHostPort(c->host_, port);
  // IP literals need no resolver.
  struct sockaddr_storage ss;
  std::memset(&ss, 0, sizeof ss);
  if (uv_ip4_addr(c->host_.c_str(), port, reinterpret_cast<struct sockaddr_in*>(&ss)) == 0 ||
      uv_ip6_addr(c->host_.c_str(), port, reinterpret_cast<struct sockaddr_in6*>(&ss)) == 0) {
    c->StartConnect(reinterpret_cast<const struct sockaddr*>(&ss));
    return c;
  }
  c->resolve_ = new ResolveReq;
  c->resolve_->conn = c;
  c->resolve_->req.data = c->resolve_;
  struct addrinfo hints;
  std::memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const std::string service = std::to_string(port);
  int rc = uv_getaddrinfo(loop, &c->resolve_->req, &Connection::OnResolved, c->host_.c_str(),
                          service.c_str(), &hints);
  if (rc != 0) {
    delete c->resolve_;
    c->resolve_ = nullptr;
    c->Close(CloseReason::kResolveFailed, UvStatus(rc, "resolve " + c->host_), false);
  }
  return c;
}

void Connection::OnResolved(uv_getaddrinfo_t* req, int status, struct addrinfo* res) {
  auto* r = static_cast<ResolveReq*>(req->data);
  Connection* c = r->conn;
  delete r;
  if (c == nullptr) {  // the connection closed meanwhile
    uv_freeaddrinfo(res);
    return;
  }
  c->resolve_ = nullptr;
  if (status != 0 || res == nullptr) {
    uv_freeaddrinfo(res);
    c->Close(CloseReason::kResolveFailed, UvStatus(status, "resolve " + c->host_), false);
    return;
  }
  c->StartConnect(PreferredAddress(res)->ai_addr);
  uv_freeaddrinfo(res);
}

void Connection::StartConnect(const struct sockaddr* addr) {
  state_ = State::kConnecting;
  connect_req_.data = this;
  int rc = uv_tcp_connect(&connect_req_, &tcp_, addr, &Connection::OnConnect);
  if (rc != 0) Close(CloseReason::kSocketError, UvStatus(rc, "connect " + remote_address_), false);
}

void Connection::OnConnect(uv_connect_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  if (c->state_ == State::kClosing) return;
  if (status != 0) {
    c->Close(CloseReason::kSocketError, UvStatus(status, "connect " + c->remote_address_), false);
    return;
  }
  c->StartHandshake();
}

Connection* Connection::Accept(uv_loop_t* loop, uv_stream_t* server, Handler* handler,
                               const ConnectionConfig* config, TimeMs now, Status* status) {
  auto* c = new Connection(loop, handler, config, /*outbound=*/false, now);
  int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp_));
  if (rc != 0) {
    *status = UvStatus(rc, "accept");
    // Not reported to the handler: it never knew this connection.
    c->state_ = State::kClosing;
    c->handler_ = nullptr;
    c->CloseHandle();
    return nullptr;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->tcp_, reinterpret_cast<struct sockaddr*>(&ss), &len) == 0) {
    c->remote_address_ = FormatAddress(ss);
  }
  c->StartHandshake();
  return c;
}

std::string Connection::LocalAddress() const {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getsockname(&tcp_, reinterpret_cast<struct sockaddr*>(&ss), &len) != 0) return "";
  return FormatAddress(ss);
}

void Connection::StartHandshake() {
  state_ = State::kHandshake;
  last_received_ = static_cast<TimeMs>(uv_now(loop_));
  last_sent_ = last_received_;
  created_ = last_received_;  // the handshake timeout runs from here
  uv_tcp_nodelay(&tcp_, 1);
  uv_tcp_keepalive(&tcp_, 1, 30);
  if (outbound_) {
    shs_.emplace(crypto::SecretHandshake::Client(config_->key, config_->network_key, remote_id_));
  } else {
    shs_.emplace(crypto::SecretHandshake::Server(config_->key, config_->network_key));
  }
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::OnAlloc,
                         &Connection::OnRead);
  if (rc != 0) {
    Close(CloseReason::kSocketError, UvStatus(rc, "read"), false);
    return;
  }
  reading_ = true;
  std::string out = shs_->TakeOutput();
  if (!out.empty()) WriteRaw(std::move(out));
}

void Connection::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(h->data);
  buf->base = c->read_buf_.get();
  buf->len = kReadBufferBytes;
}

void Connection::OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(s->data);
  if (c->state_ == State::kClosing) return;
  if (n > 0) {
    c->bytes_received_ += static_cast<uint64_t>(n);
    c->last_received_ = static_cast<TimeMs>(uv_now(c->loop_));
    c->HandleData(std::string_view(buf->base, static_cast<size_t>(n)));
  } else if (n == UV_EOF) {
    c->HandleEof();
  } else if (n < 0) {
    c->Close(CloseReason::kSocketError, UvStatus(static_cast<int>(n), "read"), false);
  }
}

void Connection::HandleData(std::string_view data) {
  if (state_ == State::kHandshake) {
    Status st = shs_->Receive(data);
    if (!st.ok()) {
      Close(CloseReason::kHandshakeFailed, st, false);
      return;
    }
    std::string out = shs_->TakeOutput();
    if (!out.empty()) WriteRaw(std::move(out));
    if (!shs_->done()) return;
    remote_id_ = shs_->remote();
    encoder_ = std::make_unique<crypto::BoxStreamEncoder>(shs_->keys().encrypt);
    decoder_ = std::make_unique<crypto::BoxStreamDecoder>(shs_->keys().decrypt);
    std::string rest = shs_->TakeRemainder();
    shs_.reset();  // wipes the ephemeral secrets
    state_ = State::kOpen;
    handler_->OnOpen(this);
    if (state_ != State::kOpen) return;
    Flush();
    if (!rest.empty()) HandleBox(rest);
    return;
  }
  if (state_ == State::kOpen) HandleBox(data);
}

void Connection::HandleBox(std::string_view data) {
  scratch_.clear();
  Status st = decoder_->Feed(data, &scratch_);
  // Frames decrypted before a failure are still delivered, then we close.
  frame_batch_.clear();
  Status fst = frames_.Feed(scratch_, &frame_batch_);
  for (std::string& f : frame_batch_) {
    if (state_ != State::kOpen) return;
    ++frames_received_;
    tokens_ -= 1;
    handler_->OnFrame(this, f);
  }
  frame_batch_.clear();
  if (state_ != State::kOpen) return;
  if (!fst.ok()) {
    Close(fst.code() == Status::Code::kTooLarge ? CloseReason::kOversizedFrame
                                                : CloseReason::kMalformedFrame,
          fst, false);
    return;
  }
  if (!st.ok()) {
    Close(CloseReason::kStreamError, st, false);
    return;
  }
  if (decoder_->goodbye()) {
    Close(CloseReason::kPeerClosed, Status::OK(), true);
    return;
  }
  if (tokens_ <= 0) PauseReading();
}

void Connection::PauseReading() {
  if (!reading_) return;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  reading_ = false;
  paused_ = true;
  handler_->OnThrottled(this);
}

void Connection::HandleEof() {
  if (state_ == State::kHandshake) {
    Close(CloseReason::kHandshakeFailed,
          Status::Corruption("peer closed the connection during the handshake"), false);
    return;
  }
  Status st = decoder_->End();
  if (st.ok() && !frames_.at_boundary()) st = Status::Corruption("stream ended inside a frame");
  if (!st.ok()) {
    Close(CloseReason::kStreamError, st, false);
  } else {
    Close(CloseReason::kPeerClosed, Status::OK(), false);
  }
}

void Connection::Send(std::string_view frame) {
  if (state_ == State::kClosing) return;
  AppendFrame(frame, &plain_out_);
  ++frames_sent_;
  last_sent_ = static_cast<TimeMs>(uv_now(loop_));
  UpdateCongestion();
}

void Connection::Flush() {
  if (state_ != State::kOpen || plain_out_.empty()) return;
  std::string out;
  out.reserve(plain_out_.size() + (plain_out_.size() / crypto::kBoxStreamMaxBodySize + 1) *
                                      crypto::kBoxStreamHeaderSize);
  Status st = encoder_->Encode(plain_out_, &out);
  plain_out_.clear();
  if (!st.ok()) {
    Close(CloseReason::kLocal, st, false);
    return;
  }
  WriteRaw(std::move(out));
}

void Connection::WriteRaw(std::string data) {
  if (handle_closing_ || data.empty()) return;
  auto* w = new WriteReq;
  w->data = std::move(data);
  w->conn = this;
  w->req.data = w;
  const size_t n = w->data.size();
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(n));
  queued_bytes_ += n;
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, &Connection::OnWrite);
  if (rc != 0) {
    queued_bytes_ -= n;
    delete w;
    Close(CloseReason::kSocketError, UvStatus(rc, "write"), false);
    return;
  }
  bytes_sent_ += n;
  UpdateCongestion();
}

void Connection::OnWrite(uv_write_t* req, int status) {
  auto* w = static_cast<WriteReq*>(req->data);
  Connection* c = w->conn;
  c->queued_bytes_ -= w->data.size();
  delete w;
  if (c->state_ == State::kClosing) return;
  if (status != 0) {
    c->Close(CloseReason::kSocketError, UvStatus(status, "write"), false);
    return;
  }
  c->UpdateCongestion();
}

void Connection::UpdateCongestion() {
  const size_t q = queued_bytes();
  if (!congested_ && q > config_->send_queue_soft_bytes) {
    congested_ = true;
  } else if (congested_ && q <= config_->send_queue_soft_bytes / 2) {
    congested_ = false;
    if (state_ == State::kOpen) handler_->OnWritable(this);
  }
}

void Connection::Close(CloseReason reason, const Status& why, bool graceful) {
  if (state_ == State::kClosing) return;
  const bool was_open = state_ == State::kOpen;
  state_ = State::kClosing;
  if (resolve_ != nullptr) {
    resolve_->conn = nullptr;  // its callback frees it
    uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_->req));
    resolve_ = nullptr;
  }
  if (handler_ != nullptr) handler_->OnClose(this, reason, why);
  if (graceful && was_open && !handle_closing_) {
    // Everything queued, then the goodbye, then a FIN once libuv wrote it all.
    state_ = State::kOpen;  // let Flush encode
    Flush();
    state_ = State::kClosing;
    std::string bye;
    if (encoder_->Goodbye(&bye).ok()) WriteRaw(std::move(bye));
    if (reading_) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
      reading_ = false;
    }
    linger_deadline_ = static_cast<TimeMs>(uv_now(loop_)) + config_->linger_ms;
    shutdown_req_.data = this;
    if (!handle_closing_ &&
        uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_),
                    &Connection::OnShutdown) == 0) {
      return;
    }
  }
  CloseHandle();
}

void Connection::OnShutdown(uv_shutdown_t* req, int) {
  auto* c = static_cast<Connection*>(req->data);
  c->CloseHandle();
}

void Connection::CloseHandle() {
  if (handle_closing_) return;
  handle_closing_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::OnClosed);
}

void Connection::OnClosed(uv_handle_t* h) {
  auto* c = static_cast<Connection*>(h->data);
  if (c->handler_ != nullptr) c->handler_->OnFreed(c);
  delete c;
}

void Connection::CheckTimers(TimeMs now) {
  if (state_ == State::kClosing) {
    if (!handle_closing_ && linger_deadline_ != 0 && now >= linger_deadline_) CloseHandle();
    return;
  }
  if (state_ != State::kOpen) {
    if (now - created_ >= config_->handshake_timeout_ms) {
      Close(state_ == State::kHandshake ? CloseReason::kHandshakeTimeout
                                        : CloseReason::kSocketError,
            Status::IOError(state_ == State::kHandshake ? "handshake timed out"
                                                        : "connect timed out"),
            false);
    }
    return;
  }
  // Silence from the peer, whatever we keep writing: writes into a dead link
  // complete into the kernel's buffer, and TCP keepalive stays quiet while
  // data is unacknowledged. Live replication peers hear from each other at
  // least every third of the timeout (the node's keepalive).
  if (now - last_received_ >= config_->idle_timeout_ms) {
    std::string why = "nothing received for ";
    why += std::to_string(now - last_received_);
    why += " ms";
    Close(CloseReason::kIdleTimeout, Status::IOError(why), false);
    return;
  }
  // Refill the frame budget: max_frames_per_second per second, one second of burst.
  const double rate = config_->max_frames_per_second;
  tokens_ = std::min(rate, tokens_ + rate * static_cast<double>(now - last_refill_) / 1000.0);
  last_refill_ = now;
  if (paused_ && tokens_ > 0) {
    paused_ = false;
    if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::OnAlloc,
                      &Connection::OnRead) == 0) {
      reading_ = true;
    }
  }
}

}  // namespace plumlog::net
