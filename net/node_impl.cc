#include "net/node_impl.h"

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <future>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "net/host_port.h"
#include "net/logger.h"
#include "net/uv_status.h"
#include "replication/membership_message.h"

namespace plumlog {
namespace {

using net::CloseReason;
using net::Connection;

// Two connections with one peer opened within this window are a simultaneous
// dial (both kept); a later one means the peer lost the first (it replaces it).
constexpr int64_t kSimultaneousMs = 2000;
// A connection that lived this long resets the redial backoff.
constexpr int64_t kStableConnectionMs = 10000;
constexpr uint64_t kHousekeepingMs = 100;
// Quiet time after a burst of stored entries before freed memory is returned.
constexpr int64_t kBurstQuietMs = 1000;

bool IsWildcard(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

std::string FirstInterfaceAddress() {
  uv_interface_address_t* addrs = nullptr;
  int n = 0;
  std::string out = "127.0.0.1";
  if (uv_interface_addresses(&addrs, &n) != 0) return out;
  for (int i = 0; i < n; ++i) {
    if (addrs[i].is_internal || addrs[i].address.address4.sin_family != AF_INET) continue;
    char ip[INET_ADDRSTRLEN];
    uv_ip4_name(&addrs[i].address.address4, ip, sizeof ip);
    out = ip;
    break;
  }
  uv_free_interface_addresses(addrs, n);
  return out;
}

MemberEventKind ToKind(replication::MembershipEvent e) {
  switch (e) {
    case replication::MembershipEvent::kNeighborUp: return MemberEventKind::kNeighborUp;
    case replication::MembershipEvent::kNeighborDown: return MemberEventKind::kNeighborDown;
    case replication::MembershipEvent::kMemberUp: return MemberEventKind::kUp;
    case replication::MembershipEvent::kSuspect: return MemberEventKind::kSuspect;
    case replication::MembershipEvent::kDown: return MemberEventKind::kDown;
    case replication::MembershipEvent::kLeft: return MemberEventKind::kLeft;
  }
  return MemberEventKind::kUp;
}

}  // namespace

// The store listener: called on whichever thread wrote; queues and wakes the loop.
class Node::Impl::EntryQueue final : public StoreListener {
 public:
  explicit EntryQueue(uv_async_t* async) : async_(async) {}
  void OnEntry(const Entry& entry) override {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return;
    entries_.push_back(entry);
    uv_async_send(async_);
  }
  std::vector<Entry> Take() {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<Entry> out;
    out.swap(entries_);
    return out;
  }
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    entries_.clear();
  }

 private:
  std::mutex mu_;
  uv_async_t* async_;
  bool closed_ = false;
  std::vector<Entry> entries_;
};

Node::Impl::Impl(Store* store, const NodeOptions& options, uv_loop_t* loop)
    : store_(store),
      options_(options),
      loop_(loop),
      self_(store->local_id()),
      config_(crypto::KeyPair::FromSeed(store->identity_seed())) {
  std::random_device rd;
  const uint64_t seed =
      options_.seed != 0 ? options_.seed : (uint64_t{rd()} << 32) ^ uint64_t{rd()};
  rng_.seed(seed);
  std::memcpy(config_.network_key.data(), options_.network_key.data(), 32);
  config_.handshake_timeout_ms = options_.handshake_timeout_ms;
  config_.idle_timeout_ms = options_.idle_timeout_ms;
  config_.send_queue_soft_bytes = options_.send_queue_soft_bytes;
  config_.max_frames_per_second = options_.max_frames_per_second;
  replicator_ = std::make_unique<replication::Replicator>(store_, options_.replication, rng_());
}

Node::Impl::~Impl() = default;

int64_t Node::Impl::Now() const { return static_cast<int64_t>(uv_now(loop_)); }

void Node::Impl::Log(LogLevel level, const char* fmt, ...) {
  LogSink* sink = options_.log_sink;
  if (sink == nullptr && options_.log_to_stderr) sink = net::StderrLogger();
  if (sink == nullptr || !sink->Enabled(level)) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  sink->Log(level, msg);
}

Status Node::Impl::Init() {
  loop_thread_ = std::this_thread::get_id();
  started_ = Now();
  uv_async_init(loop_, &async_, &Impl::OnAsync);
  async_.data = this;
  ++handles_open_;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  ++handles_open_;
  uv_timer_init(loop_, &housekeeping_);
  housekeeping_.data = this;
  ++handles_open_;
  uv_tcp_init(loop_, &server_);
  server_.data = this;
  ++handles_open_;

  std::string host;
  uint16_t port = 0;
  if (!options_.no_listen) {
    PLUMLOG_RETURN_IF_ERROR(ParseHostPort(options_.listen, &host, &port));
    struct sockaddr_storage ss;
    std::memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<struct sockaddr_in*>(&ss)) != 0 &&
        uv_ip6_addr(host.c_str(), port, reinterpret_cast<struct sockaddr_in6*>(&ss)) != 0) {
      // A name: resolved as dialling resolves it (net::PreferredAddress), and
      // the address it resolved to is the one advertised.
      Result<std::string> ip = net::ResolveHostName(host);
      if (!ip.ok()) return ip.status().WithContext("listen");
      host = *ip;
      if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<struct sockaddr_in*>(&ss)) != 0 &&
          uv_ip6_addr(host.c_str(), port, reinterpret_cast<struct sockaddr_in6*>(&ss)) != 0) {
        return Status::InvalidArgument("listen: cannot use address " + host);
      }
    }
    int rc = uv_tcp_bind(&server_, reinterpret_cast<const struct sockaddr*>(&ss), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 128, &Impl::OnConnection);
    if (rc != 0) return net::UvStatus(rc, "listen on " + options_.listen);
    listening_ = true;
    int len = sizeof ss;
    uv_tcp_getsockname(&server_, reinterpret_cast<struct sockaddr*>(&ss), &len);
    bound_port_ = ntohs(ss.ss_family == AF_INET
                            ? reinterpret_cast<struct sockaddr_in*>(&ss)->sin_port
                            : reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_port);
    listen_host_ = host;
  }
  if (!options_.advertise.empty()) {
    advertise_ = options_.advertise;
  } else if (listening_) {
    const std::string h = IsWildcard(listen_host_) ? FirstInterfaceAddress() : listen_host_;
    advertise_ = net::JoinHostPort(h, bound_port_);
  }

  entries_ = std::make_shared<EntryQueue>(&async_);
  store_->AddListener(entries_.get());

  if (options_.membership) {
    membership_ = std::make_unique<replication::Membership>(self_, advertise_,
                                                            options_.membership_options, rng_());
  }
  std::vector<replication::Contact> contacts;
  for (const PeerAddress& p : options_.peers) {
    if (p.id == self_) continue;
    Configured& c = configured_[p.id];
    c.address = p;
    c.persistent = true;
    addresses_[p.id] = p.HostPort();
    contacts.push_back({p.id, p.HostPort()});
  }
  if (membership_ && !contacts.empty()) membership_->Join(contacts, Now());
  uv_timer_start(&housekeeping_, &Impl::OnHousekeeping, kHousekeepingMs, kHousekeepingMs);
  if (listening_) Log(LogLevel::kInfo, "listening on %s as %s", advertise_.c_str(), self_.ToString().c_str());
  DialConfigured();
  Drain();
  return Status::OK();
}

PeerAddress Node::Impl::address() const {
  PeerAddress a;
  a.id = self_;
  std::string host;
  uint16_t port = 0;
  if (!advertise_.empty() && ParseHostPort(advertise_, &host, &port).ok()) {
    a.host = host;
    a.port = port;
  }
  return a;
}

// ---- cross-thread calls ----

Status Node::Impl::RunOnLoop(std::function<void()> fn) {
  if (std::this_thread::get_id() == loop_thread_) {
    if (stopping_) return Status::Aborted("node stopped");
    fn();
    Drain();
    return Status::OK();
  }
  auto done = std::make_shared<std::promise<bool>>();
  std::future<bool> f = done->get_future();
  {
    std::lock_guard<std::mutex> l(calls_mu_);
    if (stopping_) return Status::Aborted("node stopped");
    calls_.push_back([fn = std::move(fn), done] {
      fn();
      done->set_value(true);
    });
    uv_async_send(&async_);
  }
  f.get();
  return Status::OK();
}

void Node::Impl::OnAsync(uv_async_t* h) {
  auto* self = static_cast<Impl*>(h->data);
  std::deque<std::function<void()>> calls;
  {
    std::lock_guard<std::mutex> l(self->calls_mu_);
    calls.swap(self->calls_);
  }
  for (auto& fn : calls) fn();
  self->Drain();
}

// ---- the work loop ----

void Node::Impl::Drain() {
  if (draining_ || stopping_) return;
  draining_ = true;
  for (int rounds = 0; rounds < 1000; ++rounds) {
    bool progress = false;
    dirty_ = false;
    DrainOnce(&progress);
    FlushConnections();
    if (!progress && !dirty_) break;
  }
  draining_ = false;
  ArmTimer();
}

void Node::Impl::FlushConnections() {
  // Encrypt and write what the round queued. (Congestion is signalled by
  // SendTo as soon as a send crosses the soft limit.)
  for (Connection* c : conns_) {
    if (c->open()) c->Flush();
  }
  std::vector<std::pair<FeedId, Connection*>> slow;
  for (auto& [peer, pc] : peers_) {
    Connection* c = pc.primary;
    if (c != nullptr && c->open() && c->queued_bytes() > options_.send_queue_hard_bytes) {
      slow.emplace_back(peer, c);
    }
  }
  for (auto& [peer, c] : slow) {
    ++counters_.slow_peer_disconnects;
    Log(LogLevel::kWarn, "peer %s too slow (%zu bytes queued): disconnecting", peer.Short().c_str(),
        c->queued_bytes());
    c->Close(CloseReason::kLocal, Status::Busy("send queue over its limit"), false);
  }
}

void Node::Impl::DrainOnce(bool* progress) {
  // Entries that became durable, in order: the replicator first, then apps.
  std::vector<Entry> entries = entries_->Take();
  if (!entries.empty()) {
    *progress = true;
    const int64_t now = Now();
    for (const Entry& e : entries) replicator_->OnStoreEntry(e, now);
    for (const Entry& e : entries) {
      for (NodeListener* l : std::vector<NodeListener*>(listeners_)) l->OnEntry(e);
    }
  }
  RunMembershipEffects(progress);
  RunReplicatorEffects(progress);
}

void Node::Impl::RunMembershipEffects(bool* progress) {
  if (!membership_) return;
  std::vector<replication::MembershipEffect> effects = membership_->TakeEffects();
  if (effects.empty()) return;
  *progress = true;
  bool views_changed = false;
  for (replication::MembershipEffect& e : effects) {
    if (!e.address.empty() && e.peer != self_) {
      // A dial hint from the membership (what the peer itself claimed, or
      // third-party gossip): configured addresses win.
      if (!configured_.count(e.peer)) addresses_[e.peer] = e.address;
    }
    switch (e.kind) {
      case replication::MembershipEffect::Kind::kSend:
        SendTo(e.peer, e.frame, e.address);
        break;
      case replication::MembershipEffect::Kind::kConnect: {
        auto it = peers_.find(e.peer);
        if (it != peers_.end() && it->second.primary != nullptr) {
          membership_->OnConnected(e.peer, Now());
        } else if (it == peers_.end() || it->second.dialing == nullptr) {
          const std::string addr = e.address.empty() ? AddressOf(e.peer) : e.address;
          if (BackingOff(e.peer)) {
            // Failed recently: report the failure when the backoff ends, not
            // now (a handshake refused in 1 ms would otherwise be retried
            // every millisecond).
            deferred_failures_.emplace(dial_backoff_[e.peer].next, e.peer);
          } else if (addr.empty() || Dial(e.peer, addr) == nullptr) {
            membership_->OnDisconnected(e.peer, Now());
          }
        }
        break;
      }
      case replication::MembershipEffect::Kind::kDisconnect:
        active_.erase(e.peer);
        if (!configured_.count(e.peer)) {
          auto it = peers_.find(e.peer);
          if (it != peers_.end()) {
            // After what is queued (the Disconnect message) has gone.
            CloseAll(e.peer, CloseReason::kLocal, Status::OK());
          }
        }
        UpdateReplicationPeer(e.peer);
        break;
      case replication::MembershipEffect::Kind::kEvent:
        if (e.event == replication::MembershipEvent::kNeighborUp) {
          active_.insert(e.peer);
          UpdateReplicationPeer(e.peer);
        } else if (e.event == replication::MembershipEvent::kNeighborDown) {
          active_.erase(e.peer);
          UpdateReplicationPeer(e.peer);
        }
        views_changed = true;
        if (e.event == replication::MembershipEvent::kDown) {
          // SWIM's verdict: whatever connection we still hold is dead (a
          // configured peer is redialled with backoff).
          CloseAll(e.peer, CloseReason::kLocal, Status::OK());
        }
        Log(e.event == replication::MembershipEvent::kSuspect ||
                    e.event == replication::MembershipEvent::kDown
                ? LogLevel::kWarn
                : LogLevel::kInfo,
            "membership: %s %s", e.peer.Short().c_str(),
            replication::MembershipEventName(e.event));
        Emit(MemberEvent{ToKind(e.event), e.peer, e.incarnation});
        break;
    }
  }
  if (views_changed) {
    std::vector<FeedId> members;
    for (const FeedId& m : membership_->LiveMembers()) {
      auto it = peers_.find(m);
      if ((it != peers_.end() && it->second.primary != nullptr) || !AddressOf(m).empty()) {
        members.push_back(m);
      }
    }
    replicator_->SetMembers(std::move(members));
  }
}

void Node::Impl::RunReplicatorEffects(bool* progress) {
  std::vector<replication::Effect> effects = replicator_->TakeEffects();
  if (effects.empty()) return;
  *progress = true;
  for (replication::Effect& e : effects) {
    switch (e.kind) {
      case replication::Effect::Kind::kSend:
        SendTo(e.peer, e.frame, std::string());
        break;
      case replication::Effect::Kind::kDisconnect:
        Log(LogLevel::kWarn, "dropping peer %s: %s", e.peer.Short().c_str(), e.detail.c_str());
        CloseAll(e.peer, CloseReason::kMalformedFrame, Status::Corruption(e.detail));
        break;
      case replication::Effect::Kind::kEvent:
        switch (e.event) {
          case replication::ReplicationEvent::kInvalidEntry:
            ++counters_.invalid_entries;
            Log(LogLevel::kWarn, "invalid entry %s:%llu from %s: %s", e.feed.Short().c_str(),
                static_cast<unsigned long long>(e.seq), e.peer.Short().c_str(),
                e.detail.c_str());
            break;
          case replication::ReplicationEvent::kFork:
            ++counters_.forks;
            Log(LogLevel::kError, "feed %s forked at %llu (from %s): replication of it stopped",
                e.feed.ToString().c_str(), static_cast<unsigned long long>(e.seq),
                e.peer.Short().c_str());
            break;
          case replication::ReplicationEvent::kMalformedFrame:
            ++counters_.malformed_frames;
            break;
          default:
            break;
        }
        break;
    }
  }
}

void Node::Impl::ArmTimer() {
  if (stopping_) return;
  const int64_t now = Now();
  int64_t next = replicator_->NextTimeout();
  if (membership_) next = std::min(next, membership_->NextTimeout(now));
  // At least 1 ms: libuv runs a timer re-armed with 0 from its own callback
  // again in the same pass, without polling sockets in between.
  const int64_t delay = std::max<int64_t>(1, next - now);
  const int64_t due = now + delay;
  if (timer_due_ == due && uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_))) return;
  timer_due_ = due;
  uv_timer_start(&timer_, &Impl::OnTimer, static_cast<uint64_t>(delay), 0);
}

void Node::Impl::OnTimer(uv_timer_t* h) {
  auto* self = static_cast<Impl*>(h->data);
  self->timer_due_ = -1;
  self->Tick();
}

void Node::Impl::Tick() {
  if (stopping_) return;
  const int64_t now = Now();
  if (membership_) membership_->Tick(now);
  replicator_->Tick(now);
  Drain();
}

void Node::Impl::OnHousekeeping(uv_timer_t* h) {
  auto* self = static_cast<Impl*>(h->data);
  self->Housekeeping();
}

void Node::Impl::Housekeeping() {
  const int64_t now = Now();
  std::vector<Connection*> all(conns_.begin(), conns_.end());
  for (Connection* c : all) {
    if (conns_.count(c)) c->CheckTimers(now);
  }
  if (stopping_) {
    MaybeFinishStop();
    return;
  }
  SampleVerifyRate(now);
  // Keepalive: an empty Notes frame (a no-op for the receiver) to every
  // replication peer we have sent nothing for a third of the idle timeout,
  // so that its idle timer only fires when the link is dead.
  for (const FeedId& peer : rep_peers_) {
    auto it = peers_.find(peer);
    if (it == peers_.end() || it->second.primary == nullptr) continue;
    Connection* c = it->second.primary;
    if (now - c->last_sent() >= options_.idle_timeout_ms / 3) {
      c->Send(replication::EncodeMessage(replication::NotesMessage{}));
    }
  }
  // Membership dials whose failure report waits out the peer's backoff.
  while (!deferred_failures_.empty() && deferred_failures_.begin()->first <= now) {
    const FeedId peer = deferred_failures_.begin()->second;
    deferred_failures_.erase(deferred_failures_.begin());
    if (membership_) membership_->OnDisconnected(peer, now);
  }
#ifdef __GLIBC__
  // Freed frame and entry buffers go back to the system every
  // release_memory_ms, and also once a burst of stored entries (a catch-up
  // sync) has been over for a second, so a node that just synced does not
  // sit on them until the next period.
  if (options_.release_memory_ms > 0) {
    const uint64_t stored = replicator_->stats().entries_stored;
    if (stored != stored_seen_) {
      stored_seen_ = stored;
      stored_changed_at_ = now;
      trim_after_burst_ = true;
    }
    const bool burst_over = trim_after_burst_ && now - stored_changed_at_ >= kBurstQuietMs;
    if (burst_over || now >= next_release_) {
      next_release_ = now + options_.release_memory_ms;
      trim_after_burst_ = false;
      malloc_trim(0);
    }
  }
#endif
  DialConfigured();
  Drain();
}

// ---- connections ----

size_t Node::Impl::LiveConnections() const {
  size_t n = 0;
  for (Connection* c : conns_) {
    if (c->state() != Connection::State::kClosing) ++n;
  }
  return n;
}

std::string Node::Impl::AddressOf(const FeedId& peer) const {
  auto it = configured_.find(peer);
  if (it != configured_.end()) return it->second.address.HostPort();
  auto jt = addresses_.find(peer);
  return jt == addresses_.end() ? std::string() : jt->second;
}

Connection* Node::Impl::Dial(const FeedId& peer, const std::string& host_port) {
  if (stopping_ || peer == self_) return nullptr;
  PeerConns& pc = peers_[peer];
  if (pc.dialing != nullptr) return pc.dialing;
  if (LiveConnections() >= options_.max_connections) {
    Log(LogLevel::kWarn, "not dialling %s: %zu connections open (max_connections)", peer.Short().c_str(),
        LiveConnections());
    return nullptr;
  }
  std::string host;
  uint16_t port = 0;
  if (!ParseHostPort(host_port, &host, &port).ok() || port == 0) return nullptr;
  ++counters_.connections_dialed;
  Connection* c = Connection::Dial(loop_, this, &config_, host, port, peer, Now());
  // Dial may have failed synchronously (OnClose already ran, c is closing).
  if (c->state() == Connection::State::kClosing) return nullptr;
  conns_.insert(c);
  pc.dialing = c;
  return c;
}

void Node::Impl::SendTo(const FeedId& peer, std::string_view frame, const std::string& address) {
  if (peer == self_ || stopping_) return;
  auto it = peers_.find(peer);
  if (it != peers_.end()) {
    if (Connection* c = it->second.primary; c != nullptr) {
      c->Send(frame);
      if (c->congested() && rep_peers_.count(peer) && congested_.insert(peer).second) {
        // Tell the replicator at once, before its next pump overshoots.
        replicator_->SetPeerCongested(peer, true);
      }
      return;
    }
    if (it->second.dialing != nullptr) {
      it->second.dialing->Send(frame);
      return;
    }
  }
  const std::string addr = address.empty() ? AddressOf(peer) : address;
  if (addr.empty()) return;  // nowhere to send it: like a lost datagram
  if (BackingOff(peer)) return;  // dialled in vain lately
  Connection* c = Dial(peer, addr);
  if (c != nullptr) c->Send(frame);
}

void Node::Impl::OnConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<Impl*>(server->data);
  if (status != 0 || self->stopping_) return;
  Status st;
  Connection* c = Connection::Accept(self->loop_, server, self, &self->config_, self->Now(), &st);
  if (c == nullptr) {
    self->Log(LogLevel::kError, "accept failed: %s", st.ToString().c_str());
    return;
  }
  ++self->counters_.connections_accepted;
  self->conns_.insert(c);
  if (self->LiveConnections() > self->options_.max_connections) {
    ++self->counters_.refused_max_connections;
    self->Log(LogLevel::kWarn, "refusing connection from %s: %zu connections open (max_connections)",
              c->remote_address().c_str(), self->LiveConnections() - 1);
    c->Close(CloseReason::kLocal, Status::Busy("too many connections"), false);
  }
}

void Node::Impl::OnOpen(Connection* c) {
  ++counters_.handshakes_ok;
  const FeedId peer = c->remote_id();
  const int64_t now = Now();
  PeerConns& pc = peers_[peer];
  if (pc.dialing == c) pc.dialing = nullptr;
  if (peer == self_) {
    c->Close(CloseReason::kLocal, Status::InvalidArgument("connected to ourselves"), false);
    return;
  }
  if (c->outbound() && advertise_.empty() && listening_) {
    // Wildcard listen without --advertise: our outbound interface is a good guess.
    std::string host;
    uint16_t port;
    if (ParseHostPort(c->LocalAddress(), &host, &port).ok()) {
      advertise_ = net::JoinHostPort(host, bound_port_);
    }
  }
  Log(LogLevel::kInfo, "connected %s %s (%s)", c->outbound() ? "to" : "from", peer.ToString().c_str(),
      c->remote_address().c_str());
  if (pc.primary != nullptr) {
    const bool simultaneous = now - pc.primary->opened_at() < kSimultaneousMs &&
                              pc.primary->outbound() != c->outbound();
    if (simultaneous) {
      pc.secondaries.push_back(c);
      return;
    }
    // The peer reconnected: its side of the old connection is gone. Both cores
    // start over with it on the new one. The new connection becomes primary
    // before the old one closes: Close runs OnClose (and maybe a Drain) right
    // away, which must find the peer still connected, or it would erase this
    // PeerConns from under `pc`.
    Connection* old = pc.primary;
    pc.primary = c;
    if (rep_peers_.erase(peer)) replicator_->OnPeerDown(peer, now);
    congested_.erase(peer);
    if (membership_) membership_->OnDisconnected(peer, now);
    old->user_data = reinterpret_cast<void*>(1);  // replaced: no peer-down from its close
    old->Close(CloseReason::kLocal, Status::OK(), true);
    auto it = peers_.find(peer);
    if (it == peers_.end() || it->second.primary != c) return;  // closed meanwhile
    OpenNeighbor(peer);
    return;
  }
  pc.primary = c;
  OpenNeighbor(peer);
}

void Node::Impl::OpenNeighbor(const FeedId& peer) {
  const int64_t now = Now();
  if (membership_) membership_->OnConnected(peer, now);
  UpdateReplicationPeer(peer);
  auto it = configured_.find(peer);
  if (it != configured_.end()) it->second.dialed_once = true;
}

bool Node::Impl::WantsReplication(const FeedId& peer) const {
  if (!membership_) return true;
  return active_.count(peer) > 0 || configured_.count(peer) > 0 || requested_.count(peer) > 0;
}

void Node::Impl::UpdateReplicationPeer(const FeedId& peer) {
  auto it = peers_.find(peer);
  const bool connected = it != peers_.end() && it->second.primary != nullptr;
  const bool want = connected && WantsReplication(peer);
  const int64_t now = Now();
  if (want && !rep_peers_.count(peer)) {
    rep_peers_.insert(peer);
    replicator_->OnPeerUp(peer, now);
  } else if (!want && rep_peers_.count(peer)) {
    rep_peers_.erase(peer);
    congested_.erase(peer);
    replicator_->OnPeerDown(peer, now);
  }
}

void Node::Impl::OnFrame(Connection* c, std::string_view frame) {
  ++counters_.frames_received;
  const FeedId peer = c->remote_id();
  const int64_t now = Now();
  if (replication::IsMembershipFrame(frame)) {
    bool malformed;
    if (membership_) {
      const uint64_t before = membership_->stats().malformed_frames;
      membership_->OnFrame(peer, frame, now);
      malformed = membership_->stats().malformed_frames != before;
    } else {
      // Not taking part: validated all the same, then ignored.
      malformed = !replication::DecodeMembershipMessage(frame).ok();
    }
    if (malformed) {
      ++counters_.malformed_frames;
      Log(LogLevel::kWarn, "malformed membership frame from %s: disconnecting", peer.Short().c_str());
      c->Close(CloseReason::kMalformedFrame, Status::Corruption("malformed membership frame"),
               false);
    }
  } else {
    // Notes come only from a peer whose replicator took us as a peer: it
    // configured us (`peers add`, `sync`) or has us in its active view. Such
    // a peer replicates with us even when our own views do not list it.
    if (frame.size() >= 2 && frame[1] == static_cast<char>(replication::MessageType::kNotes) &&
        !rep_peers_.count(peer)) {
      auto it = peers_.find(peer);
      if (it != peers_.end() && it->second.primary == c) {
        requested_.insert(peer);
        UpdateReplicationPeer(peer);
      }
    }
    replicator_->OnFrame(peer, frame, now);
  }
  // Effects go out before the next frame of the same read is handled.
  Drain();
}

void Node::Impl::CloseAll(const FeedId& peer, CloseReason reason, const Status& why) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  std::vector<Connection*> victims;
  if (it->second.primary) victims.push_back(it->second.primary);
  for (Connection* s : it->second.secondaries) victims.push_back(s);
  if (it->second.dialing) victims.push_back(it->second.dialing);
  const bool graceful = reason == CloseReason::kLocal;
  for (Connection* c : victims) c->Close(reason, why, graceful);
}

void Node::Impl::OnClose(Connection* c, CloseReason reason, const Status& why) {
  switch (reason) {
    case CloseReason::kHandshakeFailed: ++counters_.handshake_failures; break;
    case CloseReason::kHandshakeTimeout: ++counters_.handshake_timeouts; break;
    case CloseReason::kIdleTimeout: ++counters_.idle_timeouts; break;
    case CloseReason::kStreamError: ++counters_.stream_errors; break;
    case CloseReason::kOversizedFrame: ++counters_.oversized_frames; break;
    default: break;
  }
  counters_.bytes_sent += c->bytes_sent();
  counters_.bytes_received += c->bytes_received();
  counters_.frames_sent += c->frames_sent();
  const FeedId peer = c->remote_id();
  if (reason != CloseReason::kLocal && reason != CloseReason::kPeerClosed) {
    // A peer that fails the handshake or sends garbage is worth a warning;
    // dial failures and timeouts of an unreachable peer are routine.
    const bool bad_peer =
        reason == CloseReason::kHandshakeFailed || reason == CloseReason::kHandshakeTimeout ||
        reason == CloseReason::kStreamError || reason == CloseReason::kOversizedFrame ||
        reason == CloseReason::kMalformedFrame;
    Log(bad_peer ? LogLevel::kWarn : LogLevel::kInfo, "connection %s %s closed: %s%s%s",
        c->outbound() ? "to" : "from",
        c->remote_address().c_str(), net::CloseReasonName(reason), why.ok() ? "" : ": ",
        why.ok() ? "" : why.ToString().c_str());
  } else if (reason == CloseReason::kPeerClosed) {
    Log(LogLevel::kInfo, "%s closed the connection", peer.Short().c_str());
  }
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;  // inbound, handshake never finished
  PeerConns& pc = it->second;
  const int64_t now = Now();
  if (pc.dialing == c) {
    pc.dialing = nullptr;
    ++counters_.dial_failures;
    if (reason != CloseReason::kLocal) BackOff(peer, /*reset=*/false);
    if (pc.primary == nullptr) {
      if (membership_ && !stopping_) membership_->OnDisconnected(peer, now);
      auto ct = configured_.find(peer);
      if (ct != configured_.end() && !ct->second.persistent) configured_.erase(ct);
    }
  } else if (pc.primary == c) {
    pc.primary = nullptr;
    if (!pc.secondaries.empty()) {
      // A duplicate survives: continue on it, both cores starting over.
      pc.primary = pc.secondaries.front();
      pc.secondaries.erase(pc.secondaries.begin());
      if (rep_peers_.erase(peer)) replicator_->OnPeerDown(peer, now);
      congested_.erase(peer);
      UpdateReplicationPeer(peer);
    } else if (c->user_data == nullptr && !stopping_) {
      LostPeer(peer);
      auto ct = configured_.find(peer);
      if (ct != configured_.end()) {
        if (ct->second.persistent) {
          // Redial after the backoff; a connection that lived a while
          // starts it over, a flapping one keeps doubling it.
          BackOff(peer, now - c->opened_at() >= kStableConnectionMs);
        } else {
          configured_.erase(ct);
          UpdateReplicationPeer(peer);
        }
      }
    }
  } else {
    std::erase(pc.secondaries, c);
  }
  if (pc.primary == nullptr && pc.dialing == nullptr && pc.secondaries.empty()) {
    peers_.erase(it);
  }
  dirty_ = true;
  // Closed from a libuv callback: let the cores react now.
  if (!draining_ && !stopping_) Drain();
}

void Node::Impl::LostPeer(const FeedId& peer) {
  const int64_t now = Now();
  requested_.erase(peer);
  if (rep_peers_.erase(peer)) replicator_->OnPeerDown(peer, now);
  congested_.erase(peer);
  if (membership_) membership_->OnDisconnected(peer, now);
}

void Node::Impl::OnWritable(Connection* c) {
  const FeedId peer = c->remote_id();
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.primary != c) return;
  if (congested_.erase(peer)) {
    replicator_->SetPeerCongested(peer, false);
    if (!draining_) Drain();
  }
}

void Node::Impl::OnThrottled(Connection* c) {
  ++counters_.throttled;
  Log(LogLevel::kWarn, "throttling %s: over %u frames/s", c->remote_id().Short().c_str(),
      options_.max_frames_per_second);
}

void Node::Impl::OnFreed(Connection* c) {
  conns_.erase(c);
  MaybeFinishStop();
}

void Node::Impl::MaybeFinishStop() {
  if (!stopping_ || !conns_.empty() || housekeeping_closed_) return;
  housekeeping_closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&housekeeping_), &Impl::OnHandleClosed);
}

void Node::Impl::BackOff(const FeedId& peer, bool reset) {
  DialBackoff& b = dial_backoff_[peer];
  b.delay_ms = reset ? options_.reconnect_min_ms
                     : std::clamp(b.delay_ms * 2, options_.reconnect_min_ms,
                                  options_.reconnect_max_ms);
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  b.next = Now() + static_cast<int64_t>(static_cast<double>(b.delay_ms) * jitter(rng_));
}

bool Node::Impl::BackingOff(const FeedId& peer) const {
  auto it = dial_backoff_.find(peer);
  return it != dial_backoff_.end() && Now() < it->second.next;
}

void Node::Impl::DialConfigured() {
  if (stopping_) return;
  for (auto& [id, c] : configured_) {
    if (!c.persistent && c.dialed_once) continue;
    auto it = peers_.find(id);
    if (it != peers_.end() && (it->second.primary != nullptr || it->second.dialing != nullptr)) {
      continue;
    }
    if (BackingOff(id)) continue;
    if (Dial(id, c.address.HostPort()) == nullptr) {
      BackOff(id, /*reset=*/false);
    } else {
      c.dialed_once = true;
    }
  }
}

// ---- operations ----

Status Node::Impl::AddPeer(const PeerAddress& peer, bool persistent) {
  if (peer.id == self_) return Status::InvalidArgument("that is this node's own id");
  if (peer.port == 0) return Status::InvalidArgument("peer address needs a port");
  auto [it, inserted] = configured_.try_emplace(peer.id);
  Configured& c = it->second;
  if (!inserted && c.persistent && !persistent) return Status::OK();  // already kept
  c.address = peer;
  c.persistent = persistent;
  c.dialed_once = false;
  dial_backoff_.erase(peer.id);  // dial now
  addresses_[peer.id] = peer.HostPort();
  if (membership_ && membership_->ActiveView().empty()) {
    membership_->Join({{peer.id, peer.HostPort()}}, Now());
  }
  Log(LogLevel::kInfo, "peer %s %s", persistent ? "added" : "connecting to", peer.ToString().c_str());
  UpdateReplicationPeer(peer.id);
  DialConfigured();
  return Status::OK();
}

Status Node::Impl::RemovePeer(const FeedId& peer) {
  auto it = configured_.find(peer);
  if (it == configured_.end()) return Status::NotFound("not a configured peer: " + peer.ToString());
  configured_.erase(it);
  Log(LogLevel::kInfo, "peer removed %s", peer.ToString().c_str());
  // Removing a peer drops its connections, even when the membership had
  // made it a neighbour too (it may choose it again later).
  CloseAll(peer, CloseReason::kLocal, Status::OK());
  UpdateReplicationPeer(peer);
  return Status::OK();
}

void Node::Impl::Follow(const FeedId& feed, bool follow) {
  replicator_->Follow(feed, follow, Now());
}

void Node::Impl::Block(const FeedId& feed) { replicator_->BlockFeed(feed, Now()); }

bool Node::Impl::InSyncWith(const FeedId& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.primary == nullptr) return false;
  if (it->second.primary->queued_bytes() != 0) return false;
  return replicator_->InSyncWith(peer);
}

uint64_t Node::Impl::EntriesVerified() const {
  const replication::ReplicationStats& rs = replicator_->stats();
  return rs.entries_received - std::min(rs.entries_received, rs.duplicates_received);
}

void Node::Impl::SampleVerifyRate(int64_t now) {
  constexpr int64_t kSampleMs = 1000, kWindowMs = 10000;
  if (!verify_samples_.empty() && now - verify_samples_.back().first < kSampleMs) return;
  verify_samples_.emplace_back(now, EntriesVerified());
  while (verify_samples_.size() > 1 && now - verify_samples_[1].first >= kWindowMs) {
    verify_samples_.pop_front();
  }
}

NodeStatus Node::Impl::GetStatus() {
  NodeStatus s;
  const int64_t now = Now();
  s.id = self_;
  s.address = address();
  s.uptime_ms = now - started_;
  for (Connection* c : conns_) {
    if (c->state() == Connection::State::kClosing) continue;
    ConnectionStatus cs;
    cs.peer = c->remote_id();
    cs.remote = c->remote_address();
    cs.outbound = c->outbound();
    cs.open = c->open();
    cs.replicating = c->open() && rep_peers_.count(cs.peer) > 0 &&
                     peers_.count(cs.peer) && peers_.at(cs.peer).primary == c;
    cs.age_ms = now - c->opened_at();
    cs.bytes_sent = c->bytes_sent();
    cs.bytes_received = c->bytes_received();
    cs.send_queue_bytes = c->queued_bytes();
    s.connections.push_back(cs);
  }
  std::sort(s.connections.begin(), s.connections.end(),
            [](const ConnectionStatus& a, const ConnectionStatus& b) { return a.peer < b.peer; });
  for (const auto& [id, c] : configured_) {
    if (c.persistent) s.configured_peers.push_back(c.address);
  }
  if (membership_) {
    s.active_view = membership_->ActiveView();
    s.passive_view = membership_->PassiveView();
    s.members_alive = membership_->ClusterSizeEstimate();
    for (const FeedId& m : membership_->LiveMembers()) {
      auto st = membership_->StateOf(m);
      s.members.emplace_back(m, st ? replication::MemberStateName(*st) : "unknown");
    }
  } else {
    for (const FeedId& p : rep_peers_) s.active_view.push_back(p);
    std::sort(s.active_view.begin(), s.active_view.end());
    s.members_alive = rep_peers_.size() + 1;
  }
  const replication::Progress pr = replicator_->GetProgress();
  s.progress_start = pr.start;
  s.progress_current = pr.current;
  s.progress_target = pr.target;
  for (const auto& f : replicator_->FeedStatuses()) {
    if (f.local == 0 && f.remote == 0) continue;
    s.feeds.push_back(FeedProgress{f.feed, f.local, f.remote});
  }
  s.counters = counters_;
  const replication::ReplicationStats& rs = replicator_->stats();
  s.counters.entries_received = rs.entries_received;
  s.counters.entries_stored = rs.entries_stored;
  s.counters.entries_sent = rs.entries_sent;
  s.counters.duplicates_received = rs.duplicates_received;
  s.counters.entries_verified = EntriesVerified();
  if (!verify_samples_.empty() && now > verify_samples_.front().first) {
    s.verify_rate = static_cast<double>(s.counters.entries_verified -
                                        verify_samples_.front().second) *
                    1000.0 / static_cast<double>(now - verify_samples_.front().first);
  }
  for (const FeedId& p : replicator_->ConnectedPeers()) {
    const replication::Progress pp = replicator_->GetPeerProgress(p);
    s.peer_progress.push_back(
        PeerProgress{p, pp.target - std::min(pp.target, pp.current), pp.peer_lacks});
  }
  std::sort(s.peer_progress.begin(), s.peer_progress.end(),
            [](const PeerProgress& a, const PeerProgress& b) { return a.peer < b.peer; });
  // Live connections' traffic on top of the closed ones'.
  for (Connection* c : conns_) {
    s.counters.bytes_sent += c->bytes_sent();
    s.counters.bytes_received += c->bytes_received();
    s.counters.frames_sent += c->frames_sent();
  }
  return s;
}

void Node::Impl::AddListener(NodeListener* l) { listeners_.push_back(l); }
void Node::Impl::RemoveListener(NodeListener* l) { std::erase(listeners_, l); }

void Node::Impl::Emit(const MemberEvent& e) {
  for (NodeListener* l : std::vector<NodeListener*>(listeners_)) l->OnMemberEvent(e);
}

// ---- shutdown ----

void Node::Impl::BeginStop() {
  if (stopping_) return;
  {
    // New calls fail from here on; queued ones still run.
    std::lock_guard<std::mutex> l(calls_mu_);
    stopping_ = true;
  }
  if (entries_) {
    entries_->Close();
    store_->RemoveListener(entries_.get());
  }
  replicator_->SavePeerClocks();
  if (membership_) {
    membership_->Leave(Now());
    std::vector<replication::MembershipEffect> effects = membership_->TakeEffects();
    for (auto& e : effects) {
      if (e.kind != replication::MembershipEffect::Kind::kSend) continue;
      auto it = peers_.find(e.peer);
      if (it != peers_.end() && it->second.primary != nullptr) it->second.primary->Send(e.frame);
    }
  }
  Log(LogLevel::kInfo, "stopping");
  std::vector<Connection*> all(conns_.begin(), conns_.end());
  for (Connection* c : all) c->Close(CloseReason::kLocal, Status::OK(), true);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Impl::OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&server_), &Impl::OnHandleClosed);
  // Calls queued before stopping_ was set still get their answer.
  std::deque<std::function<void()>> calls;
  {
    std::lock_guard<std::mutex> l(calls_mu_);
    calls.swap(calls_);
  }
  for (auto& fn : calls) fn();
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), &Impl::OnHandleClosed);
  // Housekeeping keeps running until the lingering connections are gone.
  MaybeFinishStop();
}

void Node::Impl::OnHandleClosed(uv_handle_t* h) {
  auto* self = static_cast<Impl*>(h->data);
  --self->handles_open_;
  if (self->orphaned_ && self->all_closed()) delete self;
}

void Node::Impl::Orphan() {
  orphaned_ = true;
  if (all_closed()) delete this;
}

}  // namespace plumlog
