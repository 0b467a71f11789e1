#include "cli/chat_backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <mutex>

#include "cli/control_client.h"
#include "cli/control_protocol.h"
#include "cli/daemon_commands.h"
#include "cli/home.h"

namespace plumlog::cli {
namespace {

// How long a control request of the chat may take: the daemon answers at
// once unless it is gone or stuck.
constexpr int kRequestTimeoutMs = 10000;

// Through the daemon: appends over its control socket (a connection per
// request, so a restarted daemon is found again), follows its events on
// one subscribed connection, reads through a read-only view of the store.
class DaemonBackend : public ChatBackend {
 public:
  explicit DaemonBackend(std::string home) : home_(std::move(home)) {}

  // Connects, subscribes to events and opens the store view.
  Status Connect() {
    PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<ControlClient> hello,
                             RequireDaemon(home_));
    FeedId id;
    PLUMLOG_RETURN_IF_ERROR(DaemonHello(hello.get(), &id, &address_));
    PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<ControlClient> events,
                             RequireDaemon(home_));
    uint32_t n = 0;
    std::string results;
    PLUMLOG_RETURN_IF_ERROR(events->Call(ControlRequest(kEvents, 0),
                                         kRequestTimeoutMs, &n, &results));
    // A fresh view: the daemon may be a new process with new files.
    PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                             OpenStore(home_, Access::kReadOnly, 1));
    if (store_ && store->local_id() != store_->local_id())
      return Status::FailedPrecondition("the store changed identity");
    store_ = std::move(store);
    events_ = std::move(events);
    online_ = true;
    backoff_ms_ = kReconnectMinMs;
    return Status::OK();
  }
  const std::string& address() const { return address_; }

  bool daemon() const override { return true; }
  Store* store() override { return store_.get(); }
  Status Refresh() override {
    Result<bool> news = store_->Refresh();
    return news.ok() ? Status::OK()
                     : news.status().WithContext("cannot follow the store");
  }
  int fd() const override { return events_ ? events_->fd() : -1; }

  void Poll(int64_t now_ms, std::vector<ChatEvent>* out) override {
    if (events_) {
      std::vector<std::string> frames;
      Status st = events_->ReadFrames(&frames);
      for (const std::string& f : frames) {
        Result<ControlEvent> e = DecodeEvent(f);
        if (!e.ok()) {
          st = e.status().WithContext("the daemon sent a malformed event");
          break;
        }
        if (e->kind == ControlEvent::Kind::kStored) {
          out->push_back({ChatEvent::Kind::kStored, {}, ""});
        } else if (e->kind == ControlEvent::Kind::kMember) {
          out->push_back({ChatEvent::Kind::kMember, e->member, ""});
        }
      }
      if (!st.ok()) Lost(now_ms, st.message());
    }
    if (lost_) {
      out->push_back({ChatEvent::Kind::kLost, {}, lost_why_});
      lost_ = false;
    }
    if (!online_ && now_ms >= retry_at_ms_) {
      Status st = Connect();
      if (st.ok()) {
        out->push_back({ChatEvent::Kind::kBack, {}, address_});
        out->push_back({ChatEvent::Kind::kStored, {}, ""});
      } else {
        backoff_ms_ = std::min(backoff_ms_ * 2, kReconnectMaxMs);
        retry_at_ms_ = now_ms + backoff_ms_;
      }
    }
  }

  bool online() const override { return online_; }

  Status Append(const std::string& content) override {
    if (!online_) return Status::Aborted("the daemon is not running");
    Result<std::unique_ptr<ControlClient>> client = RequireDaemon(home_);
    Status st = client.status();
    if (st.ok()) {
      Result<std::pair<uint64_t, EntryId>> e =
          DaemonAppend(client->get(), content);
      st = e.status();
    }
    if (!st.ok() && Gone(st)) Lost(0, st.message());
    return st;
  }

  Result<NodeStatus> GetStatus() override {
    if (!online_) return Status::Aborted("the daemon is not running");
    Result<std::unique_ptr<ControlClient>> client = RequireDaemon(home_);
    Result<NodeStatus> s = client.ok() ? DaemonStatus(client->get())
                                       : Result<NodeStatus>(client.status());
    if (!s.ok() && Gone(s.status())) Lost(0, s.status().message());
    return s;
  }

 private:
  // A failure that means the daemon is not there (any more).
  static bool Gone(const Status& st) {
    return st.code() == Status::Code::kFailedPrecondition ||
           st.code() == Status::Code::kIOError ||
           st.code() == Status::Code::kNotFound;
  }
  void Lost(int64_t now_ms, const std::string& why) {
    if (!online_) return;
    online_ = false;
    lost_ = true;
    lost_why_ = why;
    events_.reset();
    retry_at_ms_ = now_ms + kReconnectMinMs;
  }

  std::string home_;
  std::string address_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ControlClient> events_;
  bool online_ = false;
  bool lost_ = false;
  std::string lost_why_;
  int64_t retry_at_ms_ = 0;
  int64_t backoff_ms_ = kReconnectMinMs;
};

// No daemon: the store opened for writing and a Node of our own. The node's
// listener (on its thread) queues what happened and wakes the chat through
// a pipe.
class EmbeddedBackend : public ChatBackend, public NodeListener {
 public:
  explicit EmbeddedBackend(std::unique_ptr<Store> store)
      : store_(std::move(store)) {}
  ~EmbeddedBackend() override {
    Stop();
    for (int fd : wake_)
      if (fd >= 0) ::close(fd);
  }

  Status Start(const NodeOptions& options) {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
      return Status::IOError(std::string("pipe: ") + std::strerror(errno));
    }
    PLUMLOG_ASSIGN_OR_RETURN(node_, Node::Start(store_.get(), options));
    node_->AddListener(this);
    return Status::OK();
  }
  PeerAddress address() const { return node_->address(); }

  bool daemon() const override { return false; }
  Store* store() override { return store_.get(); }
  Status Refresh() override { return Status::OK(); }
  int fd() const override { return wake_[0]; }

  void Poll(int64_t, std::vector<ChatEvent>* out) override {
    char buf[256];
    while (::read(wake_[0], buf, sizeof buf) > 0) {
    }
    std::lock_guard<std::mutex> l(mu_);
    for (ChatEvent& e : queue_) out->push_back(std::move(e));
    queue_.clear();
    stored_ = false;
  }
  bool online() const override { return true; }
  Status Append(const std::string& content) override {
    Result<Entry> e = store_->Append(content);
    return e.ok() ? Status::OK() : e.status();
  }
  Result<NodeStatus> GetStatus() override { return node_->GetStatus(); }
  void Stop() override {
    if (!node_) return;
    node_->RemoveListener(this);
    node_->Stop();
    node_.reset();
  }

  // NodeListener (on the node's thread).
  void OnEntry(const Entry&) override {
    std::lock_guard<std::mutex> l(mu_);
    if (stored_) return;
    stored_ = true;
    queue_.push_back({ChatEvent::Kind::kStored, {}, ""});
    Wake();
  }
  void OnMemberEvent(const MemberEvent& event) override {
    std::lock_guard<std::mutex> l(mu_);
    queue_.push_back({ChatEvent::Kind::kMember, event, ""});
    Wake();
  }

 private:
  void Wake() {
    const char c = 1;
    // A full pipe already wakes the reader.
    [[maybe_unused]] const ssize_t n = ::write(wake_[1], &c, 1);
  }

  std::unique_ptr<Store> store_;
  std::unique_ptr<Node> node_;
  int wake_[2] = {-1, -1};
  std::mutex mu_;
  std::deque<ChatEvent> queue_;
  bool stored_ = false;  // a kStored is queued
};

}  // namespace

Result<std::unique_ptr<ChatBackend>> ChatBackend::Open(
    const std::string& home, const ServeSettings& node, std::string* hello) {
  const bool node_flags = node.listen || node.advertise || node.peers ||
                          node.network_key || node.no_membership || node.preset;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<ControlClient> client;
    PLUMLOG_RETURN_IF_ERROR(ConnectIfRunning(home, &client));
    if (client) {
      client.reset();
      auto daemon = std::make_unique<DaemonBackend>(home);
      PLUMLOG_RETURN_IF_ERROR(daemon->Connect());
      if (node_flags) {
        std::fprintf(stderr,
                     "plumlog: note: a daemon runs on this store; --listen, "
                     "--advertise, --peer, --network-key, --no-membership "
                     "and --preset are ignored (see `plumlog peers add`)\n");
      }
      *hello = "* using the daemon at " + daemon->address() + "\n";
      return std::unique_ptr<ChatBackend>(std::move(daemon));
    }
    Result<std::unique_ptr<Store>> store = OpenStore(home, Access::kWrite);
    if (!store.ok() && store.status().code() == Status::Code::kBusy &&
        attempt == 0) {
      continue;  // a daemon may have started meanwhile
    }
    if (!store.ok()) return store.status();
    PLUMLOG_ASSIGN_OR_RETURN(NodeOptions options, BuildNodeOptions(node));
    options.log_to_stderr = false;
    auto embedded = std::make_unique<EmbeddedBackend>(std::move(*store));
    Status st = embedded->Start(options);
    if (!st.ok()) {
      return st.WithContext(
          "cannot start the node (no daemon runs; --listen HOST:PORT picks "
          "another address)");
    }
    *hello = "* no daemon runs: this chat is a node of its own at " +
             embedded->address().ToString() + "\n";
    return std::unique_ptr<ChatBackend>(std::move(embedded));
  }
  return Status::Busy("the store is in use");
}

}  // namespace plumlog::cli
