#include "cli/chat_command.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "cli/chat_backend.h"
#include "cli/chat_room.h"
#include "cli/chat_terminal.h"
#include "cli/output.h"
#include "cli/stop_signal.h"
#include "plumlog/chat.h"

namespace plumlog::cli {
namespace {

// The loop's longest sleep: stop signals and timers are noticed within it.
constexpr int kTickMs = 100;
// Entries read from the store per call.
constexpr size_t kPageSize = 1000;
// Without news from the daemon or the node, the store is still looked at
// this often.
constexpr int64_t kReadEveryMs = 1000;
// While catching up: how often the node's progress is asked for, how long
// the backlog must stay unchanged once the node has all its peers have, and
// the longest catch-up before the backlog is shown anyway.
constexpr int64_t kCatchUpCheckMs = 250;
constexpr int64_t kCatchUpQuietMs = 300;
constexpr int64_t kCatchUpMaxMs = 30000;
// A catch-up announced only when it lasts this long.
constexpr int64_t kCatchUpNoticeMs = 1000;
// After joining or reconnecting: how long a node without any replicating
// connection counts as still catching up (its peers may not be dialled yet),
// and how young a connection is whose notes may still be on their way.
constexpr int64_t kConnectGraceMs = 10000;
constexpr int64_t kFreshConnectionMs = 1500;
// How often configured peers are checked, and how long one may be
// unreachable before it is reported.
constexpr int64_t kPeerCheckMs = 5000;
// Messages written (by their authors' clocks) this long before the chat
// joined or reconnected count as earlier when they arrive; closer ones are
// taken as live (the clocks of two machines differ a little).
constexpr int64_t kClockSlackMs = 2000;
// /history without N.
constexpr size_t kDefaultHistoryCommand = 50;

constexpr const char* kHelp =
    "* commands:\n"
    "*   /help          this list\n"
    "*   /nick NAME     set your nickname (an entry in your feed)\n"
    "*   /me TEXT       an action: shown as \"* NAME TEXT\"\n"
    "*   /topic [TEXT]  show or set the room's topic (/topic --clear clears "
    "it)\n"
    "*   /join ROOM     go to another room\n"
    "*   /rooms         the rooms seen in the store\n"
    "*   /history [N]   show the last N messages again (50)\n"
    "*   /who           members and their state, and who has written here\n"
    "*   /peers         connections to peers\n"
    "*   /quit          leave (so does end of input, Ctrl-D)\n"
    "* any other line is sent to the room; start it with // to send a line "
    "beginning with /\n";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A connection is up: open (its handshake done) or replicating. The
// daemon's status (control socket) carries only `replicating`, which
// implies open.
bool Connected(const ConnectionStatus& c) { return c.open || c.replicating; }

bool Blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t'; });
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

class ChatSession {
 public:
  ChatSession(ChatTerminal* term, ChatBackend* backend, const ChatArgs& args)
      : term_(term),
        backend_(backend),
        room_(backend->store()->local_id(), args.room),
        args_(args) {}

  // Runs until /quit, end of input, a signal or a fatal error (returned).
  Status Run() {
    const int64_t now = NowMs();
    PLUMLOG_RETURN_IF_ERROR(ReadNew());
    ShowRoom("* joined #");
    if (!args_.nick.empty() && args_.nick != room_.OwnNick())
      Send(chat::EncodeNick(args_.nick));
    since_ms_ = now;
    Result<NodeStatus> s = backend_->GetStatus();
    if (s.ok()) {
      for (const auto& [id, state] : s->members) members_[id] = state;
      std::string here;
      for (const auto& [id, state] : s->members) {
        if (id == s->id || state != "alive") continue;
        if (!here.empty()) here += ", ";
        here += room_.Name(id);
      }
      if (!here.empty()) term_->Print("* here: " + here + "\n");
      if (Behind(*s, now)) StartCatchUp(now);
    }
    peer_check_ms_ = now + kPeerCheckMs;
    UpdateStatusLine();
    return Loop();
  }

 private:
  Status Loop() {
    bool input_open = true;
    while (!StopRequested() && !term_->broken()) {
      struct pollfd fds[2] = {};
      nfds_t n = 0;
      if (term_->input_fd() >= 0) fds[n++] = {term_->input_fd(), POLLIN, 0};
      if (backend_->fd() >= 0) fds[n++] = {backend_->fd(), POLLIN, 0};
      ::poll(fds, n, kTickMs);  // EINTR: a signal; the loop checks
      const int64_t now = NowMs();

      std::vector<std::string> lines;
      input_open = term_->ReadInput(&lines);
      for (std::string& line : lines) {
        if (!Handle(std::move(line))) return Status::OK();
      }
      if (!input_open) return Status::OK();

      std::vector<ChatEvent> events;
      backend_->Poll(now, &events);
      for (const ChatEvent& e : events) OnEvent(e, now);

      if (read_due_ || now - last_read_ms_ >= kReadEveryMs) {
        read_due_ = false;
        last_read_ms_ = now;
        const size_t before = room_.pending();
        PLUMLOG_RETURN_IF_ERROR(ReadNew());
        if (room_.pending() > before) OnNews(now);
      }
      if (catching_up_ && now >= catch_up_check_ms_) CheckCatchUp(now);
      if (now >= peer_check_ms_) CheckPeers(now);
    }
    return Status::OK();
  }

  // ---- reading the room ----

  // Reads every chat entry that arrived after the cursor into the room.
  Status ReadNew() {
    PLUMLOG_RETURN_IF_ERROR(backend_->Refresh());
    while (true) {
      PLUMLOG_ASSIGN_OR_RETURN(
          ArrivalPage page, backend_->store()->ReadArrival(cursor_, kPageSize));
      const size_t got = page.entries.size();
      for (const Entry& e : page.entries) room_.Add(e);
      if (got > 0) cursor_ = page.next;
      if (got < kPageSize) return Status::OK();
    }
  }

  // Prints the room's history and "`what`ROOM as NICK (N messages so far)".
  void ShowRoom(const std::string& what) {
    term_->PrintRoom(room_.History(ChatRoom::kDefaultHistory), false);
    term_->Print(room_.TopicLine());
    std::string line = what + room_.room();
    const std::string own = room_.OwnNick();
    if (!own.empty()) line += " as " + Printable(own);
    const size_t n = room_.messages();
    line += " (" + std::to_string(n) + (n == 1 ? " message" : " messages") +
            " so far; /help lists the commands)\n";
    term_->Print(line);
    term_->SetPrompt("#" + room_.room() + "> ");
  }

  // Something new waits in the backlog: shown at once unless the node is
  // behind its peers, then held until it has caught up.
  void OnNews(int64_t now) {
    if (catching_up_) {
      last_news_ms_ = now;
      return;
    }
    Result<NodeStatus> s = backend_->GetStatus();
    if (s.ok() && Behind(*s, now)) {
      StartCatchUp(now);
      last_news_ms_ = now;
      return;
    }
    term_->PrintRoom(room_.Flush(since_ms_ - kClockSlackMs, now), true);
  }

  // The node has not got everything its peers have: a peer claims more, a
  // connection is too young for its notes to have arrived, or (soon after
  // joining or reconnecting) no peer is connected yet.
  bool Behind(const NodeStatus& s, int64_t now) const {
    if (s.progress_current < s.progress_target) return true;
    bool replicating = false;
    for (const ConnectionStatus& c : s.connections) {
      if (!c.replicating) continue;
      replicating = true;
      if (c.age_ms < kFreshConnectionMs) return true;
    }
    const bool has_peers =
        !s.configured_peers.empty() || !s.active_view.empty();
    return has_peers && !replicating && now - since_ms_ < kConnectGraceMs;
  }

  void StartCatchUp(int64_t now) {
    catching_up_ = true;
    catch_up_start_ms_ = now;
    catch_up_check_ms_ = now + kCatchUpCheckMs;
    catch_up_noticed_ = false;
    UpdateStatusLine();
  }

  void CheckCatchUp(int64_t now) {
    catch_up_check_ms_ = now + kCatchUpCheckMs;
    Result<NodeStatus> s = backend_->GetStatus();
    const bool behind = s.ok() && Behind(*s, now);
    if (s.ok() && behind && !catch_up_noticed_ &&
        now - catch_up_start_ms_ >= kCatchUpNoticeMs) {
      catch_up_noticed_ = true;
      const uint64_t missing = s->progress_target - s->progress_current;
      term_->Print(ClockTime(now) +
                   (missing > 0
                        ? " * catching up with the peers (" +
                              std::to_string(missing) + " entries to fetch)\n"
                        : " * waiting for the peers\n"));
    }
    if (s.ok()) {
      catch_up_progress_ = std::to_string(s->progress_current) + " of " +
                           std::to_string(s->progress_target);
    }
    const bool quiet = now - last_news_ms_ >= kCatchUpQuietMs;
    if ((!behind && quiet) || now - catch_up_start_ms_ >= kCatchUpMaxMs) {
      catching_up_ = false;
      term_->PrintRoom(room_.Flush(since_ms_ - kClockSlackMs, now), true);
      UpdateStatusLine();
    } else {
      UpdateStatusLine();
    }
  }

  // ---- events ----

  void OnEvent(const ChatEvent& e, int64_t now) {
    switch (e.kind) {
      case ChatEvent::Kind::kStored:
        read_due_ = true;
        break;
      case ChatEvent::Kind::kMember:
        OnMember(e.member, now);
        break;
      case ChatEvent::Kind::kLost:
        term_->Print(ClockTime(now) + " * lost the daemon, reconnecting (" +
                     Printable(e.text) + ")\n");
        UpdateStatusLine();
        break;
      case ChatEvent::Kind::kBack: {
        term_->Print(ClockTime(now) + " * reconnected to the daemon at " +
                     Printable(e.text) + "\n");
        read_due_ = true;
        // What the daemon fetches now was written while we were away.
        since_ms_ = now;
        StartCatchUp(now);
        SendQueued();
        UpdateStatusLine();
        break;
      }
    }
  }

  void OnMember(const MemberEvent& e, int64_t now) {
    if (e.peer == backend_->store()->local_id()) return;
    std::string& state = members_[e.peer];
    std::string what;
    switch (e.kind) {
      case MemberEventKind::kUp:
        if (state == "suspect") {
          what = "is back";
        } else if (state != "alive") {
          what = "joined";
        }
        state = "alive";
        break;
      case MemberEventKind::kSuspect:
        if (state != "suspect") what = "is away (not answering)";
        state = "suspect";
        break;
      case MemberEventKind::kDown:
        if (state != "dead") what = "left (unreachable)";
        state = "dead";
        break;
      case MemberEventKind::kLeft:
        if (state != "left") what = "left";
        state = "left";
        break;
      case MemberEventKind::kNeighborUp:
      case MemberEventKind::kNeighborDown:
        return;
    }
    if (!what.empty()) {
      term_->Print(ClockTime(now) + " * " + room_.Name(e.peer) + " " + what +
                   "\n");
      UpdateStatusLine();
    }
  }

  // Reports configured peers found without a connection at two checks in
  // a row (a connection being replaced is not reported), and when they
  // connect again.
  void CheckPeers(int64_t now) {
    peer_check_ms_ = now + kPeerCheckMs;
    Result<NodeStatus> s = backend_->GetStatus();
    if (!s.ok()) return;
    for (const PeerAddress& p : s->configured_peers) {
      bool connected = false;
      for (const ConnectionStatus& c : s->connections)
        connected = connected || (c.peer == p.id && Connected(c));
      const std::string addr = p.ToString();
      int& misses = peer_misses_[addr];
      if (!connected && ++misses == 2) {
        term_->Print(ClockTime(now) + " * cannot reach peer " + addr +
                     " (still trying)\n");
      } else if (connected) {
        if (misses >= 2) {
          term_->Print(ClockTime(now) + " * connected to peer " + addr + "\n");
        }
        misses = 0;
      }
    }
  }

  void UpdateStatusLine() {
    std::string s = "#" + room_.room();
    if (!backend_->online()) {
      s += " | OFFLINE: reconnecting to the daemon";
      if (!outbox_.empty())
        s += " (" + std::to_string(outbox_.size()) + " queued)";
    } else {
      size_t alive = 1;
      for (const auto& [id, state] : members_)
        if (state == "alive" && id != backend_->store()->local_id()) ++alive;
      s +=
          " | " + std::to_string(alive) + (alive == 1 ? " member" : " members");
      if (catching_up_) s += " | catching up " + catch_up_progress_;
    }
    term_->SetStatus(s);
  }

  // ---- sending ----

  // Appends chat content; offline (the daemon is away) it is queued and sent
  // once the daemon is back.
  void Send(const Result<std::string>& content) {
    if (!content.ok()) {
      term_->Print("* not sent: " + Printable(content.status().message()) +
                   "\n");
      return;
    }
    if (backend_->online()) {
      Status st = backend_->Append(*content);
      if (st.ok()) return;
      if (backend_->online()) {
        term_->Print("* not sent: " + Printable(st.message()) + "\n");
        return;
      }
    }
    outbox_.push_back(*content);
    term_->Print(ClockTime(NowMs()) + " * offline: queued (" +
                 std::to_string(outbox_.size()) +
                 " waiting; sent when the daemon is back)\n");
    UpdateStatusLine();
  }

  void SendQueued() {
    size_t sent = 0;
    while (!outbox_.empty() && backend_->online()) {
      Status st = backend_->Append(outbox_.front());
      if (!st.ok()) {
        if (backend_->online()) {
          term_->Print("* not sent: " + Printable(st.message()) + "\n");
          outbox_.pop_front();
        }
        continue;
      }
      outbox_.pop_front();
      ++sent;
    }
    if (sent > 0) {
      term_->Print(ClockTime(NowMs()) + " * sent " + std::to_string(sent) +
                   (sent == 1 ? " queued message" : " queued messages") + "\n");
    }
  }

  // ---- commands ----

  // Handles one input line; false for /quit.
  bool Handle(std::string line) {
    if (Blank(line)) return true;
    if (line.starts_with("//")) {
      Send(chat::EncodeMessage(room_.room(), line.substr(1)));
      return true;
    }
    if (line[0] != '/') {
      Send(chat::EncodeMessage(room_.room(), line));
      return true;
    }
    const size_t sp = line.find(' ');
    const std::string cmd = line.substr(0, sp);
    const std::string arg =
        sp == std::string::npos ? "" : Trim(line.substr(sp + 1));
    if (cmd == "/quit" || cmd == "/exit") return false;
    if (cmd == "/help") {
      term_->Print(kHelp);
    } else if (cmd == "/nick") {
      if (arg.empty()) {
        const std::string nick = room_.OwnNick();
        term_->Print(nick.empty()
                         ? "* no nickname set; /nick NAME sets one\n"
                         : "* your nickname is " + Printable(nick) + "\n");
      } else {
        Send(chat::EncodeNick(arg));
      }
    } else if (cmd == "/me") {
      if (arg.empty()) {
        term_->Print("* /me TEXT: say what you do, e.g. /me waves\n");
      } else {
        Send(chat::EncodeAction(room_.room(), arg));
      }
    } else if (cmd == "/topic") {
      if (arg.empty()) {
        const std::string t = room_.TopicLine();
        term_->Print(t.empty() ? "* #" + room_.room() +
                                     " has no topic; /topic TEXT sets one\n"
                               : t);
      } else {
        Send(chat::EncodeTopic(room_.room(), arg == "--clear" ? "" : arg));
      }
    } else if (cmd == "/join") {
      Join(arg);
    } else if (cmd == "/rooms") {
      Rooms();
    } else if (cmd == "/history") {
      History(arg);
    } else if (cmd == "/who") {
      Who();
    } else if (cmd == "/peers") {
      Peers();
    } else {
      term_->Print("* unknown command " + Printable(cmd) +
                   " (/help lists them)\n");
    }
    return true;
  }

  void Join(const std::string& room) {
    if (Status st = chat::ValidateRoom(room); !st.ok()) {
      term_->Print("* /join ROOM: " + Printable(st.message()) + "\n");
      return;
    }
    // What waits for the room we leave is in its history next time.
    room_.Join(room);
    ShowRoom("* now in #");
    UpdateStatusLine();
  }

  void Rooms() {
    const std::vector<ChatRoom::RoomInfo> rooms = room_.Rooms();
    if (rooms.empty()) {
      term_->Print("* no rooms yet; /join ROOM goes to one\n");
      return;
    }
    std::string o = "* rooms:\n";
    for (const ChatRoom::RoomInfo& r : rooms) {
      o += "*   #" + r.name + "\t" + std::to_string(r.messages) +
           (r.messages == 1 ? " message" : " messages");
      if (r.messages > 0)
        o += ", last " + DayName(r.last_ms).substr(0, 10) + " " +
             ClockTime(r.last_ms);
      if (!r.topic.empty()) o += "\t" + Printable(r.topic);
      if (r.name == room_.room()) o += "\t(you are here)";
      o += "\n";
    }
    term_->Print(o);
  }

  void History(const std::string& arg) {
    size_t n = kDefaultHistoryCommand;
    if (!arg.empty()) {
      auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), n);
      if (ec != std::errc() || end != arg.data() + arg.size() || n == 0) {
        term_->Print(
            "* /history N: N is a number of messages, e.g. /history "
            "100\n");
        return;
      }
    }
    // Shown now, so not announced again later.
    term_->PrintRoom(room_.History(n), false);
  }

  // "NAME\t@id" for a feed.
  std::string Who(const FeedId& id) const {
    return room_.Name(id) + "\t" + id.ToString();
  }

  void Who() {
    Result<NodeStatus> s = backend_->GetStatus();
    if (!s.ok()) {
      term_->Print("* cannot ask the node: " + Printable(s.status().message()) +
                   "\n");
      return;
    }
    std::map<FeedId, std::string> state;
    state[s->id] = "alive";
    for (const auto& [id, st] : s->members) state[id] = st;
    const std::set<FeedId> active(s->active_view.begin(), s->active_view.end());
    const std::set<FeedId> authors = room_.authors();
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
    term_->Print(o);
  }

  void Peers() {
    Result<NodeStatus> s = backend_->GetStatus();
    if (!s.ok()) {
      term_->Print("* cannot ask the node: " + Printable(s.status().message()) +
                   "\n");
      return;
    }
    std::string o =
        "* connections: " + std::to_string(s->connections.size()) + "\n";
    for (const ConnectionStatus& c : s->connections) {
      o += "*   " + Who(c.peer) + "\t" + c.remote + "\t" +
           (c.outbound ? "out" : "in") + "\t" +
           (c.replicating ? "replicating" : (c.open ? "open" : "connecting")) +
           "\t" + std::to_string(c.age_ms / 1000) + "s\n";
    }
    std::string configured;
    for (const PeerAddress& p : s->configured_peers) {
      bool connected = false;
      for (const ConnectionStatus& c : s->connections)
        connected = connected || (c.peer == p.id && Connected(c));
      if (!connected) configured += "*   " + p.ToString() + "\tnot connected\n";
    }
    if (!configured.empty())
      o += "* configured peers not connected:\n" + configured;
    term_->Print(o);
  }

  ChatTerminal* term_;
  ChatBackend* backend_;
  ChatRoom room_;
  const ChatArgs& args_;
  uint64_t cursor_ = 0;  // arrival order position read up to
  bool read_due_ = false;
  int64_t last_read_ms_ = 0;
  // When the chat joined or last came back: backlog written before it is
  // "earlier" (ChatRoom::Flush).
  int64_t since_ms_ = 0;
  bool catching_up_ = false;
  bool catch_up_noticed_ = false;
  int64_t catch_up_start_ms_ = 0;
  int64_t catch_up_check_ms_ = 0;
  int64_t last_news_ms_ = 0;
  std::string catch_up_progress_;
  std::map<FeedId, std::string> members_;   // last state seen
  std::map<std::string, int> peer_misses_;  // checks found unconnected
  int64_t peer_check_ms_ = 0;
  std::deque<std::string> outbox_;  // contents waiting for the daemon
};

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
  std::string hello;
  Result<std::unique_ptr<ChatBackend>> backend =
      ChatBackend::Open(home, args.node, &hello);
  if (!backend.ok()) return Fail(backend.status());
  Status st;
  {
    std::unique_ptr<ChatTerminal> term = ChatTerminal::Open(args.plain);
    term->Print(hello);
    ChatSession session(term.get(), backend->get(), args);
    st = session.Run();
  }  // the terminal is given back before any error is printed
  (*backend)->Stop();
  return st.ok() ? kExitOk : Fail(st);
}

}  // namespace plumlog::cli
