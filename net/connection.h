// Connection: one TCP connection to a peer (libuv handle wrapped once here),
// carrying the secret handshake, then box-stream, then application frames
// (net/frame_decoder.h). Bytes and frames in, frames out; every decision
// about what to send is the driver's (net/node_impl.h).
//
// Lifetime (libuv's rules): a Connection is created by Dial or Accept and
// owns its uv_tcp_t. Close() reports OnClose to the handler at once (exactly
// once per connection, whatever closed it), then closes the handle; the object
// is deleted in the handle's close callback, after Handler::OnFreed. The
// handler must not touch a connection after OnFreed.
#ifndef PLUMLOG_NET_CONNECTION_H_
#define PLUMLOG_NET_CONNECTION_H_

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/box_stream.h"
#include "crypto/keypair.h"
#include "crypto/secret_handshake.h"
#include "net/frame_decoder.h"
#include "node/events.h"
#include "net/receive_budget.h"
#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog::net {

using TimeMs = int64_t;

// What every connection of one node shares (owned by the node).
struct ConnectionConfig {
  explicit ConnectionConfig(crypto::KeyPair k) : key(std::move(k)) {}
  crypto::KeyPair key;
  crypto::NetworkKey network_key{};
  int64_t handshake_timeout_ms = 5000;
  int64_t idle_timeout_ms = 30000;
  int64_t linger_ms = 2000;  // a graceful close waits this long for the goodbye to leave
  size_t send_queue_soft_bytes = size_t{4} << 20;
  uint32_t max_frames_per_second = 20000;
  // Incomplete frames of all connections together (null: no node-wide
  // limit). A connection reports what it holds after every read; when the
  // total is over the limit the handler hears OnReceiveBudgetExceeded.
  ReceiveBudget* receive_budget = nullptr;
};

// Why a connection closed (node/events.h: the core counts and logs them).
using node::CloseReason;
using node::CloseReasonName;

class Connection {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // The handshake finished; remote_id() is the proven peer key.
    virtual void OnOpen(Connection* c) = 0;
    virtual void OnFrame(Connection* c, std::string_view frame) = 0;
    // Called once, when the connection stops being usable.
    virtual void OnClose(Connection* c, CloseReason reason, const Status& why) = 0;
    // The send queue drained below half the soft limit after having been over it.
    virtual void OnWritable(Connection* c) = 0;
    // Reading was paused by the frame rate limit.
    virtual void OnThrottled(Connection* c) = 0;
    // The object is about to be deleted.
    virtual void OnFreed(Connection* c) = 0;
    // After a read of `c`, the incomplete frames of all connections are over
    // ConnectionConfig::receive_budget's limit.
    virtual void OnReceiveBudgetExceeded(Connection* c) = 0;
  };

  enum class State : uint8_t { kResolving, kConnecting, kHandshake, kOpen, kClosing };

  // Dials host:port expecting the peer to prove `expect`. Never fails
  // synchronously: errors arrive as OnClose.
  static Connection* Dial(uv_loop_t* loop, Handler* handler, const ConnectionConfig* config,
                          std::string host, uint16_t port, const FeedId& expect, TimeMs now);
  // Accepts a pending connection from `server`. Null (and the error in
  // *status) if accept failed; the handle is then already closing.
  static Connection* Accept(uv_loop_t* loop, uv_stream_t* server, Handler* handler,
                            const ConnectionConfig* config, TimeMs now, Status* status);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Queues an application frame (any state before closing: frames queued
  // before the handshake finished leave right after it).
  void Send(std::string_view frame);
  // Encrypts and writes everything queued by Send (call after each batch).
  void Flush();
  // Closes; `graceful` sends the box-stream goodbye first (when open).
  void Close(CloseReason reason, const Status& why, bool graceful);
  // Handshake/idle/linger deadlines and the read throttle; call periodically.
  void CheckTimers(TimeMs now);
  // Stops (hold) or resumes reading from the socket, whatever the frame-rate
  // throttle does: the node holds a connection while its ingestion is behind.
  void HoldReads(bool hold);

  // `data` as uv_buf_ts of at most `max_chunk` bytes each (uv_buf_t's length
  // is an unsigned int; one write may be larger).
  static constexpr size_t kMaxWriteChunk = size_t{1} << 30;
  static std::vector<uv_buf_t> SplitBufs(char* data, size_t size,
                                         size_t max_chunk = kMaxWriteChunk);

  uint64_t serial() const { return serial_; }
  State state() const { return state_; }
  bool open() const { return state_ == State::kOpen; }
  bool outbound() const { return outbound_; }
  // The dialled key (outbound) or the proven one once open.
  const FeedId& remote_id() const { return remote_id_; }
  const std::string& remote_address() const { return remote_address_; }
  // Local socket address (HOST:PORT), empty until connected.
  std::string LocalAddress() const;
  TimeMs opened_at() const { return created_; }
  TimeMs last_sent() const { return last_sent_; }
  size_t queued_bytes() const { return queued_bytes_ + plain_out_.size(); }
  bool congested() const { return congested_; }
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }
  uint64_t frames_sent() const { return frames_sent_; }
  uint64_t frames_received() const { return frames_received_; }

  // Free for the handler's bookkeeping.
  void* user_data = nullptr;

 private:
  struct WriteReq;
  struct ResolveReq;

  Connection(uv_loop_t* loop, Handler* handler, const ConnectionConfig* config, bool outbound,
             TimeMs now);
  ~Connection();

  void StartConnect(const struct sockaddr* addr);
  void StartHandshake();
  // Writes `data`; on failure closes the connection (WriteRaw) or returns
  // the error and leaves closing to the caller (TryWrite).
  void WriteRaw(std::string data);
  Status TryWrite(std::string data);
  // Encodes what Send queued and writes it; on failure *reason says why.
  Status EncodeAndWrite(CloseReason* reason);
  void HandleData(std::string_view data);
  void HandleBox(std::string_view data);
  void HandleEof();
  std::string HandshakeEofReason() const;
  void CloseHandle();
  void UpdateCongestion();
  void PauseReading();

  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnConnect(uv_connect_t* req, int status);
  static void OnResolved(uv_getaddrinfo_t* req, int status, struct addrinfo* res);
  static void OnShutdown(uv_shutdown_t* req, int status);
  static void OnClosed(uv_handle_t* h);

  uv_loop_t* loop_;
  Handler* handler_;
  const ConnectionConfig* config_;
  const bool outbound_;
  const uint64_t serial_;
  State state_;
  uv_tcp_t tcp_;
  uv_connect_t connect_req_;
  uv_shutdown_t shutdown_req_;
  ResolveReq* resolve_ = nullptr;
  bool handle_closing_ = false;
  bool reading_ = false;
  bool paused_ = false;  // by the frame-rate throttle
  bool held_ = false;    // by HoldReads
  bool congested_ = false;

  std::string host_;
  uint16_t port_ = 0;
  FeedId remote_id_;
  std::string remote_address_;

  std::optional<crypto::SecretHandshake> shs_;
  std::unique_ptr<crypto::BoxStreamEncoder> encoder_;
  std::unique_ptr<crypto::BoxStreamDecoder> decoder_;
  FrameDecoder frames_;
  std::string plain_out_;  // frames not yet encrypted
  std::string scratch_;    // decrypted plaintext of the current read
  std::vector<std::string> frame_batch_;
  std::unique_ptr<char[]> read_buf_;

  TimeMs created_;
  TimeMs last_received_;  // last bytes read (the idle timeout runs from here)
  TimeMs last_sent_;      // last frame queued
  TimeMs linger_deadline_ = 0;
  TimeMs last_refill_;
  double tokens_;

  size_t queued_bytes_ = 0;  // written to libuv, not yet completed
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t frames_sent_ = 0;
  uint64_t frames_received_ = 0;
};

}  // namespace plumlog::net

#endif  // PLUMLOG_NET_CONNECTION_H_
