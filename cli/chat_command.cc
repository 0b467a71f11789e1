#include "cli/chat_command.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "cli/control_client.h"
#include "cli/daemon_commands.h"
#include "cli/home.h"
#include "cli/output.h"
#include "cli/stop_signal.h"
#include "plumlog/chat.h"
#include "plumlog/node.h"

namespace plumlog::cli {
namespace {

// How often the room is checked for new entries when nothing wakes us
// earlier (the embedded node wakes the follower at once on every entry).
constexpr int kPollMs = 100;
// Entries read from the store per call.
constexpr size_t kPageSize = 1000;
// Longest input line kept; longer ones are refused (a message is at most
// chat::kMaxTextBytes anyway).
constexpr size_t kMaxLineBytes = 64 * 1024;

constexpr const char* kHelp =
    "* commands:\n"
    "*   /help        this list\n"
    "*   /nick NAME   set your nickname (an entry in your feed)\n"
    "*   /who         members and their state, and who has written here\n"
    "*   /peers       connections to peers\n"
    "*   /quit        leave (so does end of input, Ctrl-D)\n"
    "* any other line is sent to the room; start it with // to send a line "
    "beginning with /\n";

// Text from the network, made safe to print: control characters (C0, DEL,
// C1) would let another author move the cursor or recolour a terminal; they
// become '?' (a tab becomes a space).
std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\t') {
      out += ' ';
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else if (c == 0xc2 && i + 1 < s.size() &&
               static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
      out += '?';  // U+0080..U+009F
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Serialises everything written to stdout (the follower thread and the input
// loop both print). A reader that went away ends the chat.
class Output {
 public:
  void Print(const std::string& text) {
    if (text.empty()) return;
    std::lock_guard<std::mutex> l(mu_);
    Status st = WriteStdout(text);
    if (st.ok()) st = FlushStdout();
    if (!st.ok()) broken_ = true;
  }
  bool broken() const { return broken_; }

 private:
  std::mutex mu_;
  std::atomic<bool> broken_{false};
};

// The state of one room as shown: nicknames, authors, the lines to print.
// Used by the follower thread only (and before it starts), so unlocked.
class RoomView {
 public:
  RoomView(std::string room, FeedId self)
      : room_(std::move(room)), self_(self) {}

  // The history: every entry stored so far, sorted causally.
  std::string History(std::vector<Entry> all) {
    for (const Entry& e : all) NoteNick(e, nullptr);
    std::sort(all.begin(), all.end(), chat::CausalLess);
    std::string out;
    for (const Entry& e : all) out += MessageLine(e);
    return out;
  }

  // New entries in arrival order: messages as they come, nickname changes.
  std::string Live(const std::vector<Entry>& batch) {
    std::string out;
    for (const Entry& e : batch) {
      std::string changed;
      NoteNick(e, &changed);
      out += changed;
      out += MessageLine(e);
    }
    return out;
  }

  std::string Name(const FeedId& id) const {
    auto it = nicks_.find(id);
    return Printable(it != nicks_.end() ? it->second.second : id.Short());
  }
  std::string LatestNick(const FeedId& id) const {
    auto it = nicks_.find(id);
    return it != nicks_.end() ? it->second.second : "";
  }
  const std::set<FeedId>& authors() const { return authors_; }
  size_t messages() const { return messages_; }

 private:
  // The latest (highest sequence) nickname entry of a feed wins. With
  // `changed`, a visible change is announced there.
  void NoteNick(const Entry& e, std::string* changed) {
    chat::Content c = chat::Parse(e.content());
    if (c.kind != chat::Content::Kind::kNick) return;
    auto it = nicks_.find(e.author());
    if (it != nicks_.end() && it->second.first >= e.seq()) return;
    const std::string before = Name(e.author());
    nicks_[e.author()] = {e.seq(), c.name};
    const std::string after = Name(e.author());
    if (changed != nullptr && before != after) {
      *changed = e.author() == self_
                     ? "* you are now known as " + after + "\n"
                     : "* " + before + " is now known as " + after + "\n";
    }
  }

  std::string MessageLine(const Entry& e) {
    chat::Content c = chat::Parse(e.content());
    if (c.kind != chat::Content::Kind::kMessage || c.room != room_) return "";
    authors_.insert(e.author());
    ++messages_;
    return "<" + Name(e.author()) + "> " + Printable(c.text) + "\n";
  }

  std::string room_;
  FeedId self_;
  std::map<FeedId, std::pair<uint64_t, std::string>> nicks_;  // seq, name
  std::set<FeedId> authors_;
  size_t messages_ = 0;
};

// Where the chat reads, writes and asks for the node's state: a running
// daemon, or a node of our own.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual Store* store() = 0;
  // Waits up to `ms` for news, then makes what arrived readable.
  virtual Status Wait(int ms) = 0;
  virtual Status Append(const std::string& content) = 0;
  virtual Result<NodeStatus> GetStatus() = 0;
  virtual void Stop() {}
};

// Through the daemon: appends over its control socket (a fresh connection per
// request, so a restarted daemon is found again), reads through a read-only
// view of the store that follows the daemon's writes.
class DaemonBackend : public Backend {
 public:
  DaemonBackend(std::string home, std::unique_ptr<Store> store)
      : home_(std::move(home)), store_(std::move(store)) {}
  Store* store() override { return store_.get(); }
  Status Wait(int ms) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    Result<bool> news = store_->Refresh();
    return news.ok() ? Status::OK()
                     : news.status().WithContext("cannot follow the store");
  }
  Status Append(const std::string& content) override {
    PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<ControlClient> client,
                             RequireDaemon(home_));
    Result<std::pair<uint64_t, EntryId>> e = DaemonAppend(client.get(), content);
    return e.ok() ? Status::OK() : e.status();
  }
  Result<NodeStatus> GetStatus() override {
    PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<ControlClient> client,
                             RequireDaemon(home_));
    return DaemonStatus(client.get());
  }

 private:
  std::string home_;
  std::unique_ptr<Store> store_;
};

// No daemon: the store opened for writing and a Node of our own. The node
// wakes the follower on every stored entry.
class EmbeddedBackend : public Backend, public NodeListener {
 public:
  explicit EmbeddedBackend(std::unique_ptr<Store> store)
      : store_(std::move(store)) {}
  ~EmbeddedBackend() override { Stop(); }

  Status Start(const NodeOptions& options) {
    PLUMLOG_ASSIGN_OR_RETURN(node_, Node::Start(store_.get(), options));
    node_->AddListener(this);
    return Status::OK();
  }
  PeerAddress address() const { return node_->address(); }

  Store* store() override { return store_.get(); }
  Status Wait(int ms) override {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(ms), [&] { return news_; });
    news_ = false;
    return Status::OK();
  }
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
    news_ = true;
    cv_.notify_one();
  }

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<Node> node_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool news_ = false;
};

class Chat {
 public:
  Chat(Backend* backend, Output* out, const std::string& room)
      : backend_(backend),
        out_(out),
        room_(room),
        view_(room, backend->store()->local_id()) {}

  ~Chat() { StopFollowing(); }

  // Prints the history (every message stored so far, in causal order).
  Status ShowHistory() {
    std::vector<Entry> all;
    PLUMLOG_RETURN_IF_ERROR(ReadNew(&all));
    std::string text;
    {
      std::lock_guard<std::mutex> l(mu_);
      text = view_.History(std::move(all));
    }
    out_->Print(text);
    return Status::OK();
  }
  // Prints what arrives from now on, on a thread of its own.
  void StartFollowing() {
    follower_ = std::thread([this] { Follow(); });
  }

  void StopFollowing() {
    stop_ = true;
    if (follower_.joinable()) follower_.join();
  }

  // A follower that failed ends the chat with its error.
  bool failed() {
    std::lock_guard<std::mutex> l(mu_);
    return !error_.ok();
  }
  Status error() {
    std::lock_guard<std::mutex> l(mu_);
    return error_;
  }

  // The nickname the local feed has now ("" for none).
  std::string OwnNick() {
    std::lock_guard<std::mutex> l(mu_);
    return view_.LatestNick(backend_->store()->local_id());
  }
  size_t messages() {
    std::lock_guard<std::mutex> l(mu_);
    return view_.messages();
  }

  // Handles one input line; false for /quit.
  bool Handle(std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) return true;
    if (line.starts_with("//")) {
      Send(chat::EncodeMessage(room_, line.substr(1)));
    } else if (line[0] != '/') {
      Send(chat::EncodeMessage(room_, line));
    } else {
      const size_t sp = line.find(' ');
      const std::string cmd = line.substr(0, sp);
      std::string arg = sp == std::string::npos ? "" : line.substr(sp + 1);
      while (!arg.empty() && arg.front() == ' ') arg.erase(0, 1);
      while (!arg.empty() && arg.back() == ' ') arg.pop_back();
      if (cmd == "/quit" || cmd == "/exit") return false;
      if (cmd == "/help") {
        out_->Print(kHelp);
      } else if (cmd == "/nick") {
        if (arg.empty()) {
          const std::string nick = OwnNick();
          out_->Print(nick.empty() ? "* no nickname set; /nick NAME sets one\n"
                                   : "* your nickname is " + Printable(nick) +
                                         "\n");
        } else {
          Send(chat::EncodeNick(arg));
        }
      } else if (cmd == "/who") {
        Who();
      } else if (cmd == "/peers") {
        Peers();
      } else {
        out_->Print("* unknown command " + Printable(cmd) +
                    " (/help lists them)\n");
      }
    }
    return true;
  }

  // Appends content (a message or a nickname); errors are shown, not fatal.
  void Send(const Result<std::string>& content) {
    Status st = content.ok() ? backend_->Append(*content) : content.status();
    if (!st.ok()) out_->Print("* not sent: " + Printable(st.message()) + "\n");
  }

 private:
  // Reads every chat entry (a message of this room or a nickname) that
  // arrived after the cursor; other entries are skipped, so a big store costs
  // memory only for its chat.
  Status ReadNew(std::vector<Entry>* out) {
    while (true) {
      PLUMLOG_ASSIGN_OR_RETURN(ArrivalPage page,
                               backend_->store()->ReadArrival(cursor_, kPageSize));
      const size_t got = page.entries.size();
      for (Entry& e : page.entries) {
        const chat::Content c = chat::Parse(e.content());
        if (c.kind == chat::Content::Kind::kNick ||
            (c.kind == chat::Content::Kind::kMessage && c.room == room_)) {
          out->push_back(std::move(e));
        }
      }
      if (got > 0) cursor_ = page.next;
      if (got < kPageSize) return Status::OK();
    }
  }

  void Follow() {
    while (!stop_) {
      Status st = backend_->Wait(kPollMs);
      std::vector<Entry> batch;
      if (st.ok()) st = ReadNew(&batch);
      if (!st.ok()) {
        std::lock_guard<std::mutex> l(mu_);
        error_ = st;
        return;
      }
      if (batch.empty()) continue;
      std::string text;
      {
        std::lock_guard<std::mutex> l(mu_);
        text = view_.Live(batch);
      }
      out_->Print(text);
    }
  }

  // "NAME (@id…)" for a feed.
  std::string Who(const FeedId& id) {
    std::lock_guard<std::mutex> l(mu_);
    return view_.Name(id) + "\t" + id.ToString();
  }

  void Who() {
    Result<NodeStatus> s = backend_->GetStatus();
    if (!s.ok()) {
      out_->Print("* cannot ask the node: " + Printable(s.status().message()) +
                  "\n");
      return;
    }
    std::map<FeedId, std::string> state;
    state[s->id] = "alive";
    for (const auto& [id, st] : s->members) state[id] = st;
    const std::set<FeedId> active(s->active_view.begin(), s->active_view.end());
    std::set<FeedId> authors;
    {
      std::lock_guard<std::mutex> l(mu_);
      authors = view_.authors();
    }
    std::string o = "* members: " + std::to_string(s->members_alive) +
                    " alive (you included)\n";
    for (const auto& [id, st] : state) {
      o += "*   " + Who(id) + "\t" + st;
      if (id == s->id) o += ", you";
      if (active.count(id) > 0) o += ", neighbour";
      if (authors.count(id) > 0) o += ", wrote here";
      o += "\n";
    }
    for (const FeedId& id : active) {
      if (state.count(id) == 0) o += "*   " + Who(id) + "\tneighbour\n";
    }
    for (const FeedId& id : authors) {
      if (state.count(id) == 0 && active.count(id) == 0)
        o += "*   " + Who(id) + "\twrote here, not a member now\n";
    }
    out_->Print(o);
  }

  void Peers() {
    Result<NodeStatus> s = backend_->GetStatus();
    if (!s.ok()) {
      out_->Print("* cannot ask the node: " + Printable(s.status().message()) +
                  "\n");
      return;
    }
    std::string o =
        "* connections: " + std::to_string(s->connections.size()) + "\n";
    for (const ConnectionStatus& c : s->connections) {
      o += "*   " + Who(c.peer) + "\t" + c.remote + "\t" +
           (c.outbound ? "out" : "in") + "\t" +
           (c.replicating ? "replicating"
                          : (c.open ? "open" : "connecting")) +
           "\t" + std::to_string(c.age_ms / 1000) + "s\n";
    }
    std::string configured;
    for (const PeerAddress& p : s->configured_peers) {
      bool connected = false;
      for (const ConnectionStatus& c : s->connections)
        connected = connected || (c.peer == p.id && c.open);
      if (!connected) configured += "*   " + p.ToString() + "\tnot connected\n";
    }
    if (!configured.empty())
      o += "* configured peers not connected:\n" + configured;
    out_->Print(o);
  }

  Backend* backend_;
  Output* out_;
  std::string room_;
  std::mutex mu_;  // view_, error_
  RoomView view_;
  Status error_;
  uint64_t cursor_ = 0;  // follower thread only (after Start)
  std::atomic<bool> stop_{false};
  std::thread follower_;
};

// Reads standard input line by line until end of input, /quit, a signal,
// stdout closing or a failed follower. Polls so that those are noticed
// without input.
void InputLoop(Chat* chat, Output* out) {
  std::string buf;
  bool discarding = false;
  char chunk[4096];
  while (!StopRequested() && !out->broken() && !chat->failed()) {
    struct pollfd pfd = {};
    pfd.fd = STDIN_FILENO;
    pfd.events = POLLIN;
    const int n = ::poll(&pfd, 1, kPollMs);
    if (n < 0 && errno != EINTR) return;
    if (n <= 0) continue;
    const ssize_t got = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return;
    }
    if (got == 0) {  // end of input: a last line without "\n" still counts
      if (!buf.empty() && !discarding) chat->Handle(buf);
      return;
    }
    buf.append(chunk, static_cast<size_t>(got));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (discarding) {
        discarding = false;
        continue;
      }
      if (!chat->Handle(std::move(line))) return;
    }
    if (buf.size() > kMaxLineBytes) {
      out->Print("* not sent: line longer than " +
                 std::to_string(kMaxLineBytes) + " bytes\n");
      buf.clear();
      discarding = true;
    }
  }
}

// Opens the backend: the daemon if one answers, else the store and a node.
Status OpenBackend(const std::string& home, const ChatArgs& args, Output* out,
                   std::unique_ptr<Backend>* backend) {
  const bool node_flags = args.node.listen || args.node.advertise ||
                          args.node.peers || args.node.network_key ||
                          args.node.no_membership || args.node.preset;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<ControlClient> client;
    PLUMLOG_RETURN_IF_ERROR(ConnectIfRunning(home, &client));
    if (client) {
      FeedId id;
      std::string address;
      PLUMLOG_RETURN_IF_ERROR(DaemonHello(client.get(), &id, &address));
      PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                               OpenStore(home, Access::kReadOnly, 1));
      if (node_flags) {
        std::fprintf(stderr,
                     "plumlog: note: a daemon runs on this store; --listen, "
                     "--advertise, --peer, --network-key, --no-membership "
                     "and --preset are ignored (see `plumlog peers add`)\n");
      }
      out->Print("* using the daemon at " + address + "\n");
      *backend = std::make_unique<DaemonBackend>(home, std::move(store));
      return Status::OK();
    }
    Result<std::unique_ptr<Store>> store = OpenStore(home, Access::kWrite);
    if (!store.ok() && store.status().code() == Status::Code::kBusy &&
        attempt == 0) {
      continue;  // a daemon may have started meanwhile
    }
    if (!store.ok()) return store.status();
    PLUMLOG_ASSIGN_OR_RETURN(NodeOptions options, BuildNodeOptions(args.node));
    options.log_to_stderr = false;
    auto embedded = std::make_unique<EmbeddedBackend>(std::move(*store));
    Status st = embedded->Start(options);
    if (!st.ok()) {
      return st.WithContext("cannot start the node (no daemon runs; --listen "
                            "HOST:PORT picks another address)");
    }
    out->Print("* no daemon runs: this chat is a node of its own at " +
               embedded->address().ToString() + "\n");
    *backend = std::move(embedded);
    return Status::OK();
  }
  return Status::Busy("the store is in use");
}

}  // namespace

int RunChat(const std::string& home, const ChatArgs& args) {
  if (Status st = chat::ValidateRoom(args.room); !st.ok()) {
    return UsageFail("--room: " + st.message());
  }
  if (!args.nick.empty()) {
    if (Result<std::string> n = chat::EncodeNick(args.nick); !n.ok())
      return UsageFail("--nick: " + n.status().message());
  }
  InstallStopHandlers();
  Output out;
  std::unique_ptr<Backend> backend;
  Status st = OpenBackend(home, args, &out, &backend);
  if (!st.ok()) return Fail(st);
  int code = kExitOk;
  {
    Chat room_chat(backend.get(), &out, args.room);
    st = room_chat.ShowHistory();
    if (!st.ok()) {
      backend->Stop();
      return Fail(st);
    }
    std::string joined = "* joined #" + args.room;
    const std::string own = room_chat.OwnNick();
    if (!own.empty()) joined += " as " + Printable(own);
    const size_t n = room_chat.messages();
    joined += " (" + std::to_string(n) + (n == 1 ? " message" : " messages") +
              " so far; /help lists the commands)\n";
    out.Print(joined);
    room_chat.StartFollowing();
    if (!args.nick.empty() && args.nick != own)
      room_chat.Send(chat::EncodeNick(args.nick));
    InputLoop(&room_chat, &out);
    room_chat.StopFollowing();
    if (room_chat.failed()) code = Fail(room_chat.error());
  }
  backend->Stop();
  return code;
}

}  // namespace plumlog::cli
