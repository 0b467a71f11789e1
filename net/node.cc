// Node (include/plumlog/node.h): the thin public face of Node::Impl
// (net/node_impl.h), plus the address and option helpers of node.h.
#include "plumlog/node.h"

#include <pthread.h>
#include <uv.h>

#include <cctype>
#include <csignal>
#include <future>
#include <thread>

#include "crypto/secret_handshake.h"
#include "net/host_port.h"
#include "net/node_impl.h"

namespace plumlog {

// ---- node.h helpers ----

NetworkKey DefaultNetworkKey() {
  NetworkKey k;
  std::copy(crypto::kPlumlogNetworkKey.begin(), crypto::kPlumlogNetworkKey.end(), k.begin());
  return k;
}

Result<NetworkKey> ParseNetworkKey(std::string_view text) {
  NetworkKey k{};
  if (text.size() == 64) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    for (size_t i = 0; i < 32; ++i) {
      const int hi = nib(text[2 * i]), lo = nib(text[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("network key: not hex at position " +
                                       std::to_string(2 * i + (hi < 0 ? 0 : 1)));
      }
      k[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return k;
  }
  if (text.size() == 44) {
    // Same 32-byte canonical base64 as a feed id's body.
    std::string id_text("@");
    id_text.append(text);
    id_text.append(".ed25519");
    Result<FeedId> id = FeedId::Parse(id_text);
    if (!id.ok()) return Status::InvalidArgument("network key: not canonical base64");
    std::copy(id->bytes().begin(), id->bytes().end(), k.begin());
    return k;
  }
  return Status::InvalidArgument(
      "network key must be 32 bytes as 64 hex digits or 44 base64 characters (got " +
      std::to_string(text.size()) + " characters)");
}

Status ParseHostPort(std::string_view text, std::string* host, uint16_t* port) {
  std::string_view h, p;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("bad address '" + std::string(text) +
                                     "': expected [IPv6]:PORT");
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("bad address '" + std::string(text) +
                                     "': expected HOST:PORT");
    }
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) {
      return Status::InvalidArgument("bad address '" + std::string(text) +
                                     "': put an IPv6 host in brackets, [::1]:PORT");
    }
  }
  if (h.empty() || h.size() > 253) {
    return Status::InvalidArgument("bad address '" + std::string(text) + "': empty host");
  }
  for (char c : h) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
          c == '_' || c == '%')) {
      return Status::InvalidArgument("bad address '" + std::string(text) +
                                     "': invalid character in host");
    }
  }
  if (p.empty() || p.size() > 5) {
    return Status::InvalidArgument("bad address '" + std::string(text) + "': bad port");
  }
  uint32_t v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') {
      return Status::InvalidArgument("bad address '" + std::string(text) + "': bad port");
    }
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) {
    return Status::InvalidArgument("bad address '" + std::string(text) + "': port above 65535");
  }
  *host = std::string(h);
  *port = static_cast<uint16_t>(v);
  return Status::OK();
}

Result<PeerAddress> PeerAddress::Parse(std::string_view text) {
  std::string_view t = text;
  if (t.substr(0, 4) == "net:") t.remove_prefix(4);
  const size_t tilde = t.find('~');
  if (tilde == std::string_view::npos) {
    return Status::InvalidArgument("bad peer address '" + std::string(text) +
                                   "': expected net:HOST:PORT~shs:KEY (the peer's key is "
                                   "needed for the handshake; `plumlog whoami --address` on "
                                   "the peer prints its whole address)");
  }
  PeerAddress a;
  PLUMLOG_RETURN_IF_ERROR(ParseHostPort(t.substr(0, tilde), &a.host, &a.port));
  std::string_view key = t.substr(tilde + 1);
  // After "shs:" the key's 44 base64 characters; the whole feed id
  // (@KEY.ed25519) is accepted there too, and on its own after "~".
  std::string id_text;
  if (key.substr(0, 4) == "shs:" && !key.substr(4).starts_with("@")) {
    id_text = "@";
    id_text.append(key.substr(4));
    id_text.append(".ed25519");
  } else {
    id_text = std::string(key.substr(0, 4) == "shs:" ? key.substr(4) : key);
  }
  Result<FeedId> id = FeedId::Parse(id_text);
  if (!id.ok()) {
    return Status::InvalidArgument(
        "bad peer address '" + std::string(text) +
        "': bad key: expected ~shs: and the peer's key, 44 characters of base64 ending in "
        "'=' (its feed id without @ and .ed25519; `plumlog whoami --address` on the peer "
        "prints its whole address)");
  }
  a.id = *id;
  if (a.port == 0) {
    return Status::InvalidArgument("bad peer address '" + std::string(text) + "': port 0");
  }
  return a;
}

std::string PeerAddress::HostPort() const {
  return net::JoinHostPort(host, port);
}

std::string PeerAddress::ToString() const {
  const std::string id_text = id.ToString();
  // "@" + base64 + ".ed25519" -> base64
  std::string out("net:");
  out += HostPort();
  out += "~shs:";
  out.append(id_text, 1, id_text.size() - 1 - 8);
  return out;
}

const char* MemberEventName(MemberEventKind kind) {
  switch (kind) {
    case MemberEventKind::kNeighborUp: return "neighbor-up";
    case MemberEventKind::kNeighborDown: return "neighbor-down";
    case MemberEventKind::kUp: return "up";
    case MemberEventKind::kSuspect: return "suspect";
    case MemberEventKind::kDown: return "down";
    case MemberEventKind::kLeft: return "left";
  }
  return "?";
}

Status NodeOptions::Validate() const {
  std::string host;
  uint16_t port;
  if (!no_listen) {
    Status st = ParseHostPort(listen, &host, &port);
    if (!st.ok()) return Status::InvalidArgument("listen: " + st.message());
  }
  if (!advertise.empty()) {
    Status st = ParseHostPort(advertise, &host, &port);
    if (!st.ok()) return Status::InvalidArgument("advertise: " + st.message());
  }
  if (max_connections < 1) return Status::InvalidArgument("max_connections must be >= 1");
  if (handshake_timeout_ms <= 0) return Status::InvalidArgument("handshake_timeout_ms must be > 0");
  if (idle_timeout_ms <= 0) return Status::InvalidArgument("idle_timeout_ms must be > 0");
  if (send_queue_soft_bytes == 0) {
    return Status::InvalidArgument("send_queue_soft_bytes must be > 0");
  }
  if (send_queue_hard_bytes < send_queue_soft_bytes + (size_t{1} << 20)) {
    return Status::InvalidArgument(
        "send_queue_hard_bytes must exceed send_queue_soft_bytes by at least 1 MiB");
  }
  if (max_frames_per_second == 0) {
    return Status::InvalidArgument("max_frames_per_second must be > 0");
  }
  if (release_memory_ms < 0) return Status::InvalidArgument("release_memory_ms must be >= 0");
  if (reconnect_min_ms <= 0 || reconnect_max_ms < reconnect_min_ms) {
    return Status::InvalidArgument("need 0 < reconnect_min_ms <= reconnect_max_ms");
  }
  Status st = replication.Validate();
  if (!st.ok()) return Status::InvalidArgument("replication: " + st.message());
  st = membership_options.Validate();
  if (!st.ok()) return Status::InvalidArgument("membership: " + st.message());
  return Status::OK();
}

// ---- Node ----

namespace {

// Start()'s own loop and thread.
struct OwnLoop {
  uv_loop_t loop;
  std::thread thread;
};

}  // namespace

Node::Node(Impl* impl) : impl_(impl) {}

Result<std::unique_ptr<Node>> Node::Start(Store* store, const NodeOptions& options) {
  PLUMLOG_RETURN_IF_ERROR(options.Validate());
  auto* own = new OwnLoop;
  uv_loop_init(&own->loop);
  auto* impl = new Impl(store, options, &own->loop);
  Status st = impl->Init();
  if (!st.ok()) {
    impl->BeginStop();
    uv_run(&own->loop, UV_RUN_DEFAULT);
    uv_loop_close(&own->loop);
    delete impl;
    delete own;
    return st;
  }
  std::promise<void> ready;
  std::future<void> started = ready.get_future();
  own->thread = std::thread([impl, own, &ready] {
    // A peer that closes or resets its end while we write would raise
    // SIGPIPE (libuv writes without MSG_NOSIGNAL), whose default action kills
    // the whole embedding process. Blocked on this thread, the write fails
    // with EPIPE instead and the connection closes like on any other error.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    impl->set_loop_thread(std::this_thread::get_id());
    ready.set_value();
    uv_run(&own->loop, UV_RUN_DEFAULT);
  });
  started.wait();
  std::unique_ptr<Node> node(new Node(impl));
  node->own_loop_ = own;
  return node;
}

Result<std::unique_ptr<Node>> Node::Attach(Store* store, const NodeOptions& options,
                                           uv_loop_t* loop) {
  PLUMLOG_RETURN_IF_ERROR(options.Validate());
  auto* impl = new Impl(store, options, loop);
  Status st = impl->Init();
  if (!st.ok()) {
    impl->BeginStop();
    impl->Orphan();  // freed as the caller's loop closes its handles
    return st;
  }
  return std::unique_ptr<Node>(new Node(impl));
}

Node::~Node() {
  Stop();
  if (own_loop_ != nullptr) {
    auto* own = static_cast<OwnLoop*>(own_loop_);
    uv_loop_close(&own->loop);
    delete impl_;
    delete own;
  } else {
    impl_->Orphan();
  }
}

void Node::Stop() {
  if (own_loop_ != nullptr) {
    auto* own = static_cast<OwnLoop*>(own_loop_);
    if (!impl_->stopping()) {
      Impl* impl = impl_;
      (void)impl_->RunOnLoop([impl] { impl->BeginStop(); });
    }
    if (own->thread.joinable()) own->thread.join();
    return;
  }
  if (!impl_->stopping()) (void)impl_->RunOnLoop([this] { impl_->BeginStop(); });
}

bool Node::stopped() const { return impl_->stopping() && impl_->all_closed(); }

const FeedId& Node::id() const { return impl_->id(); }

PeerAddress Node::address() const {
  PeerAddress a;
  a.id = impl_->id();
  Impl* impl = impl_;
  (void)impl_->RunOnLoop([&a, impl] { a = impl->address(); });
  return a;
}

Status Node::AddPeer(const PeerAddress& peer) {
  Status result;
  Impl* impl = impl_;
  PLUMLOG_RETURN_IF_ERROR(impl_->RunOnLoop([&] { result = impl->AddPeer(peer, true); }));
  return result;
}

Status Node::RemovePeer(const FeedId& peer) {
  Status result;
  Impl* impl = impl_;
  PLUMLOG_RETURN_IF_ERROR(impl_->RunOnLoop([&] { result = impl->RemovePeer(peer); }));
  return result;
}

Status Node::Connect(const PeerAddress& peer) {
  Status result;
  Impl* impl = impl_;
  PLUMLOG_RETURN_IF_ERROR(impl_->RunOnLoop([&] { result = impl->AddPeer(peer, false); }));
  return result;
}

Status Node::Follow(const FeedId& feed) {
  Impl* impl = impl_;
  return impl_->RunOnLoop([&] { impl->Follow(feed, true); });
}

Status Node::Unfollow(const FeedId& feed) {
  Impl* impl = impl_;
  return impl_->RunOnLoop([&] { impl->Follow(feed, false); });
}

Status Node::Block(const FeedId& feed) {
  Impl* impl = impl_;
  return impl_->RunOnLoop([&] { impl->Block(feed); });
}

Result<NodeStatus> Node::GetStatus() {
  NodeStatus s;
  Impl* impl = impl_;
  PLUMLOG_RETURN_IF_ERROR(impl_->RunOnLoop([&] { s = impl->GetStatus(); }));
  return s;
}

Result<bool> Node::InSyncWith(const FeedId& peer) {
  bool in_sync = false;
  Impl* impl = impl_;
  PLUMLOG_RETURN_IF_ERROR(impl_->RunOnLoop([&] { in_sync = impl->InSyncWith(peer); }));
  return in_sync;
}

void Node::AddListener(NodeListener* listener) {
  Impl* impl = impl_;
  (void)impl_->RunOnLoop([&] { impl->AddListener(listener); });
}

void Node::RemoveListener(NodeListener* listener) {
  Impl* impl = impl_;
  (void)impl_->RunOnLoop([&] { impl->RemoveListener(listener); });
}

}  // namespace plumlog
