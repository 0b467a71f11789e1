#include "net/node_impl.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <future>
#include <random>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/host_port.h"
#include "net/host_port.h"
#include "net/logger.h"
#include "net/uv_status.h"

namespace plumlog {
namespace {

using net::CloseReason;
using net::Connection;

constexpr uint64_t kHousekeepingMs = 100;
// Connections accepted per turn of the loop at most (see accept_turn_).
constexpr int kMaxAcceptsPerTurn = 64;
// Quiet time after a burst of stored entries before freed memory is returned.
constexpr int64_t kBurstQuietMs = 1000;
// A congested connection's queue is reported again once it grew this much.
constexpr size_t kQueueReportStep = size_t{1} << 20;

bool IsWildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::";
}

std::string FirstInterfaceAddress() {
  uv_interface_address_t* addrs = nullptr;
  int n = 0;
  std::string out = "127.0.0.1";
  if (uv_interface_addresses(&addrs, &n) != 0) return out;
  for (int i = 0; i < n; ++i) {
    if (addrs[i].is_internal || addrs[i].address.address4.sin_family != AF_INET)
      continue;
    char ip[INET_ADDRSTRLEN];
    uv_ip4_name(&addrs[i].address.address4, ip, sizeof ip);
    out = ip;
    break;
  }
  uv_free_interface_addresses(addrs, n);
  return out;
}

}  // namespace

// What other threads hand to the loop, in the order it happened: entries the
// store made durable (its listener, called on whatever thread wrote) and the
// answers of the worker's ingests. One queue, so that an ingest's entries
// always reach the core before its IngestDone.
class Node::Impl::Completions final : public StoreListener {
 public:
  explicit Completions(uv_async_t* async) : async_(async) {}
  void OnEntry(const Entry& entry) override {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return;
    if (queue_.empty() ||
        !std::holds_alternative<node::StoreEntries>(queue_.back())) {
      queue_.emplace_back(node::StoreEntries{});
    }
    std::get<node::StoreEntries>(queue_.back()).entries.push_back(entry);
    uv_async_send(async_);
  }
  void Push(node::Event e) {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return;
    queue_.push_back(std::move(e));
    uv_async_send(async_);
  }
  std::deque<node::Event> Take() {
    std::lock_guard<std::mutex> l(mu_);
    std::deque<node::Event> out;
    out.swap(queue_);
    return out;
  }
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    queue_.clear();
  }

 private:
  std::mutex mu_;
  uv_async_t* async_;
  bool closed_ = false;
  std::deque<node::Event> queue_;
};

// One thread that runs the store writes the core asks for, in order.
class Node::Impl::Worker {
 public:
  Worker() : thread_([this] { Run(); }) {}
  ~Worker() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Push(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> l(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_all();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      cv_.wait(l, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and every job done
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      l.unlock();
      job();
      l.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

Node::Impl::Impl(storage::ReplicationStore* store, const NodeOptions& options,
                 uv_loop_t* loop)
    : store_(store),
      options_(options),
      loop_(loop),
      self_(store->local_id()),
      config_(crypto::KeyPair::FromSeed(store->identity_seed())),
      receive_budget_(options.max_receive_buffer_bytes) {
  std::random_device rd;
  seed_ = options_.seed != 0 ? options_.seed
                             : (uint64_t{rd()} << 32) ^ uint64_t { rd() };
  std::memcpy(config_.network_key.data(), options_.network_key.data(), 32);
  config_.handshake_timeout_ms = options_.handshake_timeout_ms;
  config_.idle_timeout_ms = options_.idle_timeout_ms;
  config_.send_queue_soft_bytes = options_.send_queue_soft_bytes;
  config_.max_frames_per_second = options_.max_frames_per_second;
  config_.receive_budget = &receive_budget_;
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
  uv_prepare_init(loop_, &accept_turn_);
  accept_turn_.data = this;
  ++handles_open_;
  uv_prepare_start(&accept_turn_, &Impl::OnAcceptTurn);

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
    int rc =
        uv_tcp_bind(&server_, reinterpret_cast<const struct sockaddr*>(&ss), 0);
    if (rc == 0)
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 128,
                     &Impl::OnConnection);
    if (rc != 0) return net::UvStatus(rc, "listen on " + options_.listen);
    listening_ = true;
    int len = sizeof ss;
    uv_tcp_getsockname(&server_, reinterpret_cast<struct sockaddr*>(&ss), &len);
    bound_port_ =
        ntohs(ss.ss_family == AF_INET
                  ? reinterpret_cast<struct sockaddr_in*>(&ss)->sin_port
                  : reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_port);
    listen_host_ = host;
  }
  if (!options_.advertise.empty()) {
    advertise_ = options_.advertise;
  } else if (listening_) {
    const std::string h =
        IsWildcard(listen_host_) ? FirstInterfaceAddress() : listen_host_;
    advertise_ = core::JoinHostPort(h, bound_port_);
  }

  core_ = std::make_unique<node::NodeCore>(store_, advertise_, options_, seed_);
  completions_ = std::make_shared<Completions>(&async_);
  store_->AddListener(completions_.get());
  worker_ = std::make_unique<Worker>();
  uv_timer_start(&housekeeping_, &Impl::OnHousekeeping, kHousekeepingMs,
                 kHousekeepingMs);
  if (listening_)
    Log(LogLevel::kInfo, "listening on %s as %s", advertise_.c_str(),
        self_.ToString().c_str());
  return Post(node::Start{});
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
  // What the store and the worker finished first: a call may wait on it.
  self->TakeCompletions();
  std::deque<std::function<void()>> calls;
  {
    std::lock_guard<std::mutex> l(self->calls_mu_);
    calls.swap(self->calls_);
  }
  for (auto& fn : calls) fn();
}

void Node::Impl::TakeCompletions() {
  if (!completions_ || stopping_) return;
  for (node::Event& e : completions_->Take()) {
    // Listeners hear of an entry after the core scheduled it for the peers.
    std::vector<Entry> entries;
    if (auto* se = std::get_if<node::StoreEntries>(&e)) entries = se->entries;
    (void)Post(std::move(e));
    for (const Entry& entry : entries) {
      for (NodeListener* l : std::vector<NodeListener*>(listeners_))
        l->OnEntry(entry);
    }
  }
}

// ---- the core ----

Status Node::Impl::Post(node::Event event, bool now) {
  if (posting_ && !now) {
    // Raised while effects run (a connection closing under a Close, ...).
    if (auto* f = std::get_if<node::FrameReceived>(&event)) {
      frames_.emplace_back(f->frame);
      f->frame = frames_.back();
    }
    pending_.push_back(std::move(event));
    return Status::OK();
  }
  // A command from a listener called while effects run is handled at once:
  // the core is between two Handle calls (its effects were taken), and the
  // caller wants the verdict.
  const bool outer = !posting_;
  posting_ = true;
  Status result = core_->Handle(std::move(event), Now());
  for (;;) {
    std::vector<node::Effect> effects = core_->TakeEffects();
    for (node::Effect& e : effects) Execute(e, &result);
    if (pending_.empty()) break;
    node::Event next = std::move(pending_.front());
    pending_.pop_front();
    (void)core_->Handle(std::move(next), Now());
  }
  frames_.clear();  // every deferred frame was handled
  if (outer) {
    posting_ = false;
    FlushConnections();
  }
  return result;
}

net::Connection* Node::Impl::Find(node::ConnId id) const {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second;
}

node::ConnId Node::Impl::IdOf(const net::Connection* c) {
  return static_cast<node::ConnId>(reinterpret_cast<uintptr_t>(c->user_data));
}

void Node::Impl::Execute(node::Dial& d) {
  std::string host;
  uint16_t port = 0;
  Status st = ParseHostPort(d.address, &host, &port);
  if (st.ok() && port == 0)
    st = Status::InvalidArgument("no port in " + d.address);
  if (!st.ok()) {
    pending_.push_back(
        node::ConnectionClosed{d.conn, CloseReason::kResolveFailed, st});
    return;
  }
  dialing_ = d.conn;
  Connection* c =
      Connection::Dial(loop_, this, &config_, host, port, d.peer, Now());
  dialing_ = 0;
  c->user_data = reinterpret_cast<void*>(static_cast<uintptr_t>(d.conn));
  all_.insert(c);
  // Dial may have failed at once (OnClose already ran, c is closing).
  if (c->state() != Connection::State::kClosing) conns_[d.conn] = c;
}

void Node::Impl::Execute(node::Effect& effect, Status* command_status) {
  if (auto* d = std::get_if<node::Dial>(&effect)) {
    Execute(*d);
  } else if (auto* s = std::get_if<node::Send>(&effect)) {
    if (Connection* c = Find(s->conn)) {
      c->Send(s->frame);
      if (c->congested() && !congested_.count(s->conn)) {
        // Tell the core at once, before its next pump overshoots.
        congested_[s->conn] = c->queued_bytes();
        pending_.push_back(node::SendQueue{s->conn, c->queued_bytes(), true});
      }
    }
  } else if (auto* cl = std::get_if<node::Close>(&effect)) {
    if (Connection* c = Find(cl->conn))
      c->Close(cl->reason, cl->why, cl->graceful);
  } else if (auto* r = std::get_if<node::SetReading>(&effect)) {
    if (Connection* c = Find(r->conn)) c->HoldReads(!r->reading);
  } else if (auto* t = std::get_if<node::SetTimer>(&effect)) {
    ArmTimer(t->at);
  } else if (auto* in = std::get_if<node::Ingest>(&effect)) {
    worker_->Push([store = store_, completions = completions_,
                   request = in->request,
                   entries = std::move(in->entries)]() mutable {
      IngestResult result = store->Ingest(std::move(entries));
      completions->Push(node::IngestDone{request, std::move(result)});
    });
  } else if (auto* pc = std::get_if<node::SavePeerClock>(&effect)) {
    // Small and not fsynced: at once, so a reconnect reads it back.
    Status st = store_->SavePeerClock(pc->peer, pc->clock);
    if (!st.ok())
      pending_.push_back(node::StoreFailed{"cannot save a peer clock", st});
  } else if (auto* fp = std::get_if<node::StoreForkProof>(&effect)) {
    worker_->Push([store = store_, completions = completions_,
                   first = std::move(fp->first),
                   second = std::move(fp->second)] {
      Status st = store->AddForkProof(first, second);
      if (!st.ok() && st.code() != Status::Code::kAlreadyExists) {
        completions->Push(node::StoreFailed{"cannot record a fork proof", st});
      }
    });
  } else if (auto* b = std::get_if<node::SaveBlock>(&effect)) {
    Status st = store_->SaveBlock(b->feed, b->blocked);
    if (!st.ok()) {
      pending_.push_back(node::StoreFailed{"cannot save the block list", st});
      if (command_status->ok()) *command_status = st;
    }
  } else if (auto* del = std::get_if<node::DeleteFeed>(&effect)) {
    // After the ingests already queued (they may hold entries of the feed),
    // and before anything else happens: waited for.
    auto done = std::make_shared<std::promise<Status>>();
    std::future<Status> f = done->get_future();
    worker_->Push([store = store_, feed = del->feed, done] {
      Result<uint64_t> n = store->DeleteFeed(feed);
      done->set_value(n.status());
    });
    Status st = f.get();
    if (!st.ok()) {
      pending_.push_back(node::StoreFailed{
          "cannot delete the feed " + del->feed.ToString(), st});
      if (command_status->ok()) *command_status = st;
    }
  } else if (auto* a = std::get_if<node::AppendContent>(&effect)) {
    Result<Entry> e = store_->Append(a->content);
    if (!e.ok()) {
      pending_.push_back(
          node::StoreFailed{"cannot append a contact entry", e.status()});
      if (command_status->ok()) *command_status = e.status();
    }
  } else if (auto* own = std::get_if<node::ConfirmOwnFeed>(&effect)) {
    Status st = store_->ConfirmOwnFeed();
    if (!st.ok()) {
      pending_.push_back(node::StoreFailed{"cannot confirm the own feed", st});
    } else {
      Log(LogLevel::kInfo,
          "own feed confirmed: a peer holds %llu entries of it, this store "
          "%llu; appends allowed",
          static_cast<unsigned long long>(own->heard),
          static_cast<unsigned long long>(own->have));
    }
  } else if (auto* rep = std::get_if<node::Report>(&effect)) {
    bool log = rep->log;
    if (rep->kind == node::ReportKind::kStoreError) {
      // Once per distinct error: a damaged store fails every batch.
      log = log && rep->text != last_store_error_;
      last_store_error_ = rep->text;
    }
    if (log) Log(rep->level, "%s", rep->text.c_str());
    if (rep->member) {
      for (NodeListener* l : std::vector<NodeListener*>(listeners_))
        l->OnMemberEvent(*rep->member);
    }
  }
}

void Node::Impl::ArmTimer(int64_t at) {
  if (stopping_) return;
  const int64_t now = Now();
  // At least 1 ms: libuv runs a timer re-armed with 0 from its own callback
  // again in the same pass, without polling sockets in between.
  const int64_t delay = std::max<int64_t>(1, at - now);
  const int64_t due = now + delay;
  if (timer_due_ == due &&
      uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_)))
    return;
  timer_due_ = due;
  uv_timer_start(&timer_, &Impl::OnTimer, static_cast<uint64_t>(delay), 0);
}

void Node::Impl::OnTimer(uv_timer_t* h) {
  auto* self = static_cast<Impl*>(h->data);
  self->timer_due_ = -1;
  if (self->stopping_) return;
  (void)self->Post(node::Tick{});
  // The core re-arms only when its deadline changes: make sure one is set.
  if (self->timer_due_ < 0 && !self->stopping_)
    self->ArmTimer(self->core_->NextDeadline());
}

void Node::Impl::FlushConnections() {
  // Encrypt and write what the round queued. A write can fail at once and
  // close its connection (OnClose erases it from conns_): walk a copy.
  std::vector<Connection*> open;
  open.reserve(conns_.size());
  for (auto& [id, c] : conns_) open.push_back(c);
  for (Connection* c : open) {
    if (c->open()) c->Flush();
  }
  // A congested connection's queue, again once it grew a step (the core
  // disconnects a peer too slow to drain it).
  for (auto& [id, reported] : congested_) {
    Connection* c = Find(id);
    if (c == nullptr) continue;
    if (c->queued_bytes() >= reported + kQueueReportStep) {
      reported = c->queued_bytes();
      pending_.push_back(node::SendQueue{id, reported, true});
    }
  }
  if (!pending_.empty() && !posting_) {
    node::Event next = std::move(pending_.front());
    pending_.pop_front();
    (void)Post(std::move(next));
  }
}

void Node::Impl::OnHousekeeping(uv_timer_t* h) {
  auto* self = static_cast<Impl*>(h->data);
  self->Housekeeping();
}

void Node::Impl::Housekeeping() {
  const int64_t now = Now();
  // The sockets' own deadlines: handshake, idle, linger, the read throttle.
  std::vector<Connection*> all(all_.begin(), all_.end());
  for (Connection* c : all) {
    if (all_.count(c)) c->CheckTimers(now);
  }
  if (stopping_) {
    MaybeFinishStop();
    return;
  }
  SampleVerifyRate(now);
#ifdef __GLIBC__
  // Freed frame and entry buffers go back to the system every
  // release_memory_ms, and also once a burst of stored entries (a catch-up
  // sync) has been over for a second, so a node that just synced does not
  // sit on them until the next period.
  if (options_.release_memory_ms > 0) {
    const uint64_t stored = core_->replicator().stats().entries_stored;
    if (stored != stored_seen_) {
      stored_seen_ = stored;
      stored_changed_at_ = now;
      trim_after_burst_ = true;
    }
    const bool burst_over =
        trim_after_burst_ && now - stored_changed_at_ >= kBurstQuietMs;
    if (burst_over || now >= next_release_) {
      next_release_ = now + options_.release_memory_ms;
      trim_after_burst_ = false;
      malloc_trim(0);
    }
  }
#endif
  FlushConnections();
}

// ---- connections ----

void Node::Impl::OnConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<Impl*>(server->data);
  if (status != 0 || self->stopping_) return;
  if (self->accepts_this_turn_ >= kMaxAcceptsPerTurn) {
    self->accept_deferred_ = true;  // OnAcceptTurn takes it
    return;
  }
  ++self->accepts_this_turn_;
  Status st;
  Connection* c = Connection::Accept(self->loop_, server, self, &self->config_,
                                     self->Now(), &st);
  if (c == nullptr) {
    self->Log(LogLevel::kError, "accept failed: %s", st.ToString().c_str());
    return;
  }
  self->all_.insert(c);
  if (c->state() == Connection::State::kClosing) return;  // failed at once
  const node::ConnId id = self->core_->NewConnectionId();
  c->user_data = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
  self->conns_[id] = c;
  (void)self->Post(node::ConnectionAccepted{id, c->remote_address()});
}

void Node::Impl::OnOpen(Connection* c) {
  if (c->outbound() && advertise_.empty() && listening_) {
    // Wildcard listen without --advertise: our outbound interface is a good
    // guess.
    std::string host;
    uint16_t port;
    if (ParseHostPort(c->LocalAddress(), &host, &port).ok()) {
      advertise_ = core::JoinHostPort(host, bound_port_);
    }
  }
  (void)Post(node::ConnectionOpened{IdOf(c), c->remote_id()});
}

void Node::Impl::OnFrame(Connection* c, std::string_view frame) {
  (void)Post(node::FrameReceived{IdOf(c), frame});
}

void Node::Impl::OnClose(Connection* c, CloseReason reason, const Status& why) {
  closed_bytes_sent_ += c->bytes_sent();
  closed_bytes_received_ += c->bytes_received();
  closed_frames_sent_ += c->frames_sent();
  node::ConnId id = IdOf(c);
  if (id == 0) id = dialing_;  // closed inside Connection::Dial
  if (id == 0) return;         // never reported to the core
  conns_.erase(id);
  congested_.erase(id);
  if (stopping_) return;
  (void)Post(node::ConnectionClosed{id, reason, why});
}

void Node::Impl::OnWritable(Connection* c) {
  const node::ConnId id = IdOf(c);
  if (congested_.erase(id))
    (void)Post(node::SendQueue{id, c->queued_bytes(), false});
}

void Node::Impl::OnThrottled(Connection* c) {
  ++throttled_;
  Log(LogLevel::kWarn, "throttling %s: over %u frames/s", c->remote_id().Short().c_str(),
      options_.max_frames_per_second);
}

void Node::Impl::OnReceiveBudgetExceeded(Connection*) {
  // Past the node's limit: the oldest incomplete frame goes until it fits
  // (the core counts and logs the closes).
  while (receive_budget_.over()) {
    const uint64_t victim = receive_budget_.Victim();
    Connection* v = nullptr;
    for (Connection* c : all_) {
      if (c->serial() == victim) v = c;
    }
    if (v == nullptr || v->state() == Connection::State::kClosing) break;
    v->Close(CloseReason::kReceiveBudget,
             Status::Busy("incomplete frames of all connections hold " +
                          std::to_string(receive_budget_.total()) + " bytes (max_receive_buffer_bytes " +
                          std::to_string(receive_budget_.limit()) + "); its is the oldest"),
             false);
  }
}

void Node::Impl::OnAcceptTurn(uv_prepare_t* h) {
  auto* self = static_cast<Impl*>(h->data);
  self->accepts_this_turn_ = 0;
  if (!self->accept_deferred_ || self->stopping_) return;
  self->accept_deferred_ = false;
  // uv_accept in OnConnection takes the waiting connection and makes libuv
  // watch the listener again.
  OnConnection(reinterpret_cast<uv_stream_t*>(&self->server_), 0);
}

void Node::Impl::OnFreed(Connection* c) {
  all_.erase(c);
  MaybeFinishStop();
}

void Node::Impl::MaybeFinishStop() {
  if (!stopping_ || !all_.empty() || housekeeping_closed_) return;
  housekeeping_closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&housekeeping_),
           &Impl::OnHandleClosed);
}

// ---- operations ----

Status Node::Impl::Command(node::Event command) {
  if (stopping_) return Status::Aborted("node stopped");
  Status st = Post(std::move(command), /*now=*/true);
  // A command's own store writes (a contact entry) are in the store now:
  // let the core see them before the caller goes on.
  TakeCompletions();
  return st;
}

bool Node::Impl::InSyncWith(const FeedId& peer) {
  std::optional<node::ConnId> conn = core_->PrimaryConnection(peer);
  if (!conn) return false;
  Connection* c = Find(*conn);
  if (c == nullptr || c->queued_bytes() != 0) return false;
  return core_->InSyncWith(peer);
}

void Node::Impl::SampleVerifyRate(int64_t now) {
  constexpr int64_t kSampleMs = 1000, kWindowMs = 10000;
  if (!verify_samples_.empty() && now - verify_samples_.back().first < kSampleMs) return;
  verify_samples_.emplace_back(now, core_->EntriesVerified());
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
  core_->FillStatus(&s);
  for (const node::ConnectionInfo& info : core_->Connections()) {
    ConnectionStatus cs;
    cs.peer = info.peer;
    cs.remote = info.address;
    cs.outbound = info.outbound;
    cs.open = info.open;
    cs.replicating = info.replicating;
    cs.age_ms = now - info.opened_at;
    if (Connection* c = Find(info.conn)) {
      cs.remote = c->remote_address();
      cs.bytes_sent = c->bytes_sent();
      cs.bytes_received = c->bytes_received();
      cs.send_queue_bytes = c->queued_bytes();
    }
    s.connections.push_back(cs);
  }
  if (!verify_samples_.empty() && now > verify_samples_.front().first) {
    s.verify_rate = static_cast<double>(s.counters.entries_verified -
                                        verify_samples_.front().second) *
                    1000.0 /
                    static_cast<double>(now - verify_samples_.front().first);
  }
  s.counters.throttled = throttled_;
  s.counters.bytes_sent = closed_bytes_sent_;
  s.counters.bytes_received = closed_bytes_received_;
  s.counters.frames_sent = closed_frames_sent_;
  // Live connections' traffic on top of the closed ones'.
  for (Connection* c : all_) {
    if (c->state() == Connection::State::kClosing) continue;
    s.counters.bytes_sent += c->bytes_sent();
    s.counters.bytes_received += c->bytes_received();
    s.counters.frames_sent += c->frames_sent();
  }
  return s;
}

ReplicationPolicyStatus Node::Impl::Policy() const { return core_->Policy(); }

void Node::Impl::AddListener(NodeListener* l) { listeners_.push_back(l); }
void Node::Impl::RemoveListener(NodeListener* l) { std::erase(listeners_, l); }

// ---- shutdown ----

void Node::Impl::BeginStop() {
  if (stopping_) return;
  // Leave, goodbyes, peer clocks saved: the core's Stop.
  if (core_) (void)Post(node::Stop{});
  {
    // New calls fail from here on; queued ones still run.
    std::lock_guard<std::mutex> l(calls_mu_);
    stopping_ = true;
  }
  if (completions_) {
    completions_->Close();
    store_->RemoveListener(completions_.get());
  }
  // Store writes already queued finish; nothing more is asked.
  worker_.reset();
  std::vector<Connection*> all(all_.begin(), all_.end());
  for (Connection* c : all) c->Close(CloseReason::kLocal, Status::OK(), true);
  conns_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Impl::OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&server_), &Impl::OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&accept_turn_),
           &Impl::OnHandleClosed);
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
