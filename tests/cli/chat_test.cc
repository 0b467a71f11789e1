// `plumlog chat` between real daemons, driven through pipes: messages typed on
// each chat appear on the others, every chat shows the room in the same causal
// order after a restart, history survives daemon restarts, and a member whose
// daemon was offline catches up. Also the embedded node (no daemon) and bad
// arguments. Every wait polls with a deadline; every process is killed by its
// owner's destructor if a check fails.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/control_client.h"
#include "cli/control_protocol.h"
#include "tests/cli/chat_cluster.h"
#include "tests/cli/daemon_util.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

// "<nick> text", as chat prints a message after its time (built by
// appending: GCC 12 warns wrongly about "literal" + std::string at -O3).
std::string Said(std::string_view nick, std::string_view text) {
  std::string line("<");
  line.append(nick);
  line.append("> ");
  line.append(text);
  return line;
}

// A line without its leading "HH:MM " (messages and notices have one).
std::string Untimed(const std::string& line) {
  if (line.size() >= 6 && std::isdigit(static_cast<unsigned char>(line[0])) &&
      std::isdigit(static_cast<unsigned char>(line[1])) && line[2] == ':' &&
      std::isdigit(static_cast<unsigned char>(line[3])) &&
      std::isdigit(static_cast<unsigned char>(line[4])) && line[5] == ' ') {
    return line.substr(6);
  }
  return line;
}

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr Millis kWait(30000);
constexpr const char* kJoined = "* joined #lobby";

// One `plumlog chat --room lobby` process with its stdout collected line by
// line. SIGKILLed on destruction if still running.
class ChatProcess {
 public:
  ChatProcess(const std::string& home, std::vector<std::string> extra) {
    std::vector<std::string> argv = {PLUMLOG_BIN, "--home", home, "chat",
                                     "--room", "lobby"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc_ = Subprocess::Start(argv);
  }
  pid_t pid() const { return proc_->pid(); }

  // Waits for a line for which `match` is true (lines already read count).
  bool WaitFor(const std::function<bool(const std::string&)>& match,
               Millis timeout = kWait) {
    for (; checked_ < lines_.size(); ++checked_) {
      if (match(lines_[checked_])) {
        ++checked_;
        return true;
      }
    }
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
      std::optional<std::string> line = proc_->ReadLine(std::min(left, Millis(200)));
      if (!line) continue;
      lines_.push_back(Untimed(*line));
      timed_.push_back(*line);
      checked_ = lines_.size();
      if (match(lines_.back())) return true;
    }
    return false;
  }
  // Waits for a line for which `match` is true anywhere in the output
  // (also before the cursor).
  bool WaitAnywhere(const std::function<bool(const std::string&)>& match,
                    Millis timeout = kWait) {
    for (const std::string& l : lines_)
      if (match(l)) return true;
    return WaitFor(match, timeout);
  }
  // Waits for exactly `line` anywhere in the output.
  bool WaitForLine(const std::string& line, Millis timeout = kWait) {
    return WaitAnywhere([&](const std::string& l) { return l == line; },
                        timeout);
  }
  bool WaitJoined() {
    return WaitFor([](const std::string& l) { return l.starts_with(kJoined); });
  }

  // The message lines ("<nick> text", without their time) printed before
  // the "joined" line: the history in causal order.
  std::vector<std::string> History() const {
    std::vector<std::string> out;
    for (const std::string& l : lines_) {
      if (l.starts_with(kJoined)) break;
      if (l.starts_with("<")) out.push_back(l);
    }
    return out;
  }
  // The message lines printed after the "joined" line, in order.
  std::vector<std::string> AfterJoin() const {
    std::vector<std::string> out;
    bool joined = false;
    for (const std::string& l : lines_) {
      if (l.starts_with(kJoined)) joined = true;
      if (joined && l.starts_with("<")) out.push_back(l);
    }
    return out;
  }
  // Lines as printed, with their times.
  const std::vector<std::string>& timed() const { return timed_; }

  void Say(const std::string& text) {
    ASSERT_TRUE(proc_->WriteStdin(text + "\n")) << Output();
  }
  // Ends the input; the chat must exit 0.
  void Quit() {
    proc_->CloseStdin();
    RunResult r = proc_->Finish(kWait);
    for (const std::string& l : Lines(r.out)) {
      lines_.push_back(Untimed(l));
      timed_.push_back(l);
    }
    EXPECT_EQ(r.exit_code, 0) << Show(r) << Output();
  }

  std::string Output() const {
    std::string o = "--- chat output:\n";
    for (const std::string& l : lines_) o += l + "\n";
    return o + proc_->pending_out();
  }
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::unique_ptr<Subprocess> proc_;
  std::vector<std::string> lines_;  // without times
  std::vector<std::string> timed_;
  size_t checked_ = 0;
};

class ChatTest : public ChatClusterTest {
 protected:
  // Starts chat i and waits until it has shown its history.
  void StartChat(size_t i) {
    chats_[i] = std::make_unique<ChatProcess>(
        homes_[i], std::vector<std::string>{"--nick", kNicks[i]});
    ASSERT_TRUE(chats_[i]->WaitJoined()) << chats_[i]->Output();
    ASSERT_THAT(chats_[i]->lines().front(), HasSubstr("* using the daemon at"));
  }
  void StopChat(size_t i) {
    chats_[i]->Quit();
    chats_[i].reset();
  }

  // Chat `from` says `text`; every chat in `to` prints it.
  void SayAndSee(size_t from, const std::string& text,
                 const std::vector<size_t>& to) {
    chats_[from]->Say(text);
    const std::string line = Said(kNicks[from], text);
    for (size_t i : to) {
      ASSERT_TRUE(chats_[i]->WaitForLine(line))
          << "chat " << i << " never showed '" << line << "'"
          << chats_[i]->Output() << Logs();
    }
  }

  // Declared after the daemons: destroyed (killed) first.
  std::unique_ptr<ChatProcess> chats_[3];
};

TEST_F(ChatTest, ThreeDaemonsChatRestartAndCatchUp) {
  for (size_t i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(Serve(i));
  for (size_t i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(StartChat(i));

  // A conversation: each line answers the one before, so the causal order is
  // the order it was said in.
  const std::vector<std::pair<size_t, std::string>> talk = {
      {0, "hello from alice"}, {1, "hi alice, bob here"},
      {2, "carol joins"},      {0, "welcome carol"},
      {1, "bob again"},        {2, "carol: bye for now"}};
  std::vector<std::string> expected;
  for (const auto& [who, text] : talk) {
    std::vector<size_t> others;
    for (size_t i = 0; i < 3; ++i)
      if (i != who) others.push_back(i);
    ASSERT_NO_FATAL_FAILURE(SayAndSee(who, text, others));
    expected.push_back(Said(kNicks[who], text));
  }
  // Concurrent messages (nobody waits for anyone): all arrive everywhere.
  for (size_t i = 0; i < 3; ++i) chats_[i]->Say(std::string(kNicks[i]) + " at once");
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = 0; j < 3; ++j) {
      const std::string line = Said(kNicks[j], std::string(kNicks[j]) + " at once");
      ASSERT_TRUE(chats_[i]->WaitForLine(line)) << chats_[i]->Output() << Logs();
    }
  }

  // /who lists the others with their membership state; /peers the
  // connections.
  for (const char* nick : {"bob", "carol"}) {
    bool found = false;
    const auto deadline = Clock::now() + kWait;
    while (!found && Clock::now() < deadline) {
      chats_[0]->Say("/who");
      found = chats_[0]->WaitFor(
          [&](const std::string& l) {
            return l.starts_with("*   " + std::string(nick) + "\t") &&
                   l.find("alive") != std::string::npos;
          },
          Millis(500));
    }
    ASSERT_TRUE(found) << "/who never showed " << nick << " alive"
                       << chats_[0]->Output();
  }
  chats_[0]->Say("/peers");
  ASSERT_TRUE(chats_[0]->WaitFor(
      [](const std::string& l) { return l.starts_with("* connections: "); }))
      << chats_[0]->Output();
  chats_[0]->Say("/help");
  ASSERT_TRUE(chats_[0]->WaitFor(
      [](const std::string& l) { return l.starts_with("*   /quit"); }))
      << chats_[0]->Output();

  // Restarted chats show the same history, in the same (causal) order.
  std::vector<std::string> histories[3];
  for (size_t i = 0; i < 3; ++i) {
    StopChat(i);
    ASSERT_NO_FATAL_FAILURE(StartChat(i));
    histories[i] = chats_[i]->History();
    ASSERT_EQ(histories[i].size(), expected.size() + 3) << chats_[i]->Output();
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), histories[i].begin()))
        << chats_[i]->Output();
  }
  EXPECT_EQ(histories[0], histories[1]);
  EXPECT_EQ(histories[0], histories[2]);

  // Restart bob's daemon and chat: the history is all there, same order.
  StopChat(1);
  StopDaemon(1);
  ASSERT_NO_FATAL_FAILURE(Serve(1));
  ASSERT_NO_FATAL_FAILURE(StartChat(1));
  EXPECT_EQ(chats_[1]->History(), histories[0]) << chats_[1]->Output();
  ASSERT_NO_FATAL_FAILURE(SayAndSee(1, "bob is back", {0, 2}));

  // Carol goes offline; alice and bob go on talking.
  StopChat(2);
  StopDaemon(2);
  ASSERT_NO_FATAL_FAILURE(SayAndSee(0, "carol missed this", {1}));
  ASSERT_NO_FATAL_FAILURE(SayAndSee(1, "and this", {0}));

  // Carol comes back and catches up (in the history or as they arrive).
  ASSERT_NO_FATAL_FAILURE(Serve(2));
  ASSERT_NO_FATAL_FAILURE(StartChat(2));
  for (const char* line : {"<alice> carol missed this", "<bob> and this"}) {
    ASSERT_TRUE(chats_[2]->WaitForLine(line)) << chats_[2]->Output() << Logs();
  }
  ASSERT_NO_FATAL_FAILURE(SayAndSee(2, "carol caught up", {0, 1}));

  // Finally every restarted chat shows one and the same history.
  for (size_t i = 0; i < 3; ++i) {
    StopChat(i);
    ASSERT_NO_FATAL_FAILURE(StartChat(i));
  }
  const std::vector<std::string> final_history = chats_[0]->History();
  EXPECT_EQ(final_history.size(), expected.size() + 3 + 4);
  EXPECT_EQ(final_history.back(), "<carol> carol caught up");
  EXPECT_EQ(chats_[1]->History(), final_history) << chats_[1]->Output();
  EXPECT_EQ(chats_[2]->History(), final_history) << chats_[2]->Output();
  for (size_t i = 0; i < 3; ++i) StopChat(i);
}

// A joiner whose daemon fetches the room after the chat started sees the
// backlog announced and in the room's causal order (not one author's
// messages after the other's), with old nickname changes applied silently;
// then live lines; and a member that leaves is announced.
TEST_F(ChatTest, AJoinerGetsTheBacklogInCausalOrder) {
  ASSERT_NO_FATAL_FAILURE(Serve(0));
  ASSERT_NO_FATAL_FAILURE(Serve(1));
  ASSERT_NO_FATAL_FAILURE(StartChat(0));
  ASSERT_NO_FATAL_FAILURE(StartChat(1));
  // A conversation, each line answering the one before; bob renames himself
  // half way.
  std::vector<std::string> expected;
  for (int i = 0; i < 8; ++i) {
    const size_t who = i % 2;
    if (i == 4) {
      chats_[1]->Say("/nick bobby");
      ASSERT_TRUE(chats_[0]->WaitForLine("* bob is now known as bobby"))
          << chats_[0]->Output();
    }
    const std::string text = "line " + std::to_string(i);
    chats_[who]->Say(text);
    const std::string nick = who == 0 ? "alice" : (i < 4 ? "bob" : "bobby");
    ASSERT_TRUE(chats_[1 - who]->WaitForLine(Said(nick, text)))
        << chats_[1 - who]->Output();
    expected.push_back(Said(who == 0 ? "alice" : "bobby", text));
  }
  // The backlog must be older than the joiner (by the chat's clock margin,
  // 2 s): let time pass. Nothing is asserted about this wait.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));

  // Carol's daemon starts alone; her chat joins an empty room; then the
  // daemon is told of alice's and catches up while the chat runs.
  ASSERT_NO_FATAL_FAILURE(Serve(2, /*isolated=*/true));
  ASSERT_NO_FATAL_FAILURE(StartChat(2));
  EXPECT_TRUE(chats_[2]->History().empty()) << chats_[2]->Output();
  RunResult r = RunWithHome(homes_[2], {"peers", "add", Address0()});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  ASSERT_TRUE(chats_[2]->WaitForLine(expected.back()))
      << chats_[2]->Output() << Logs();
  // "* 8 earlier messages", then exactly the conversation in order.
  const std::vector<std::string>& lines = chats_[2]->lines();
  auto notice = std::find(lines.begin(), lines.end(), "* 8 earlier messages");
  ASSERT_NE(notice, lines.end()) << chats_[2]->Output();
  std::vector<std::string> after;
  for (auto it = notice; it != lines.end(); ++it)
    if (it->starts_with("<")) after.push_back(*it);
  EXPECT_EQ(after, expected) << chats_[2]->Output();
  for (const std::string& l : lines) {
    EXPECT_EQ(l.find("is now known as bobby"), std::string::npos)
        << "an old nickname change replayed: " << chats_[2]->Output();
  }
  // Every line of the room carries its time.
  for (const std::string& l : chats_[2]->timed()) {
    if (Untimed(l).starts_with("<")) {
      EXPECT_NE(l, Untimed(l)) << "no time on: " << l;
    }
  }
  // Live again: carol answers, the others see it; carol's own line shows
  // once.
  ASSERT_NO_FATAL_FAILURE(SayAndSee(2, "hi all, carol here", {0, 1}));
  ASSERT_TRUE(chats_[2]->WaitForLine(Said("carol", "hi all, carol here")));
  EXPECT_EQ(std::count(chats_[2]->lines().begin(), chats_[2]->lines().end(),
                       Said("carol", "hi all, carol here")),
            1);

  // Carol's daemon leaves gracefully: the others are told.
  StopChat(2);
  StopDaemon(2);
  ASSERT_TRUE(chats_[0]->WaitForLine("* carol left")) << chats_[0]->Output();
  for (size_t i = 0; i < 2; ++i) StopChat(i);
}

// The daemon dies under a running chat: the chat says so, queues what is
// typed meanwhile, reconnects when the daemon is back and sends the queue;
// the other members see the member go away and come back.
TEST_F(ChatTest, LostDaemonQueuesLinesAndReconnects) {
  ASSERT_NO_FATAL_FAILURE(Serve(0));
  ASSERT_NO_FATAL_FAILURE(Serve(1));
  ASSERT_NO_FATAL_FAILURE(StartChat(0));
  ASSERT_NO_FATAL_FAILURE(StartChat(1));
  ASSERT_NO_FATAL_FAILURE(SayAndSee(0, "before the crash", {1}));

  StopDaemon(0, SIGKILL);
  ASSERT_TRUE(chats_[0]->WaitFor([](const std::string& l) {
    return l.starts_with("* lost the daemon, reconnecting");
  })) << chats_[0]->Output();
  chats_[0]->Say("typed while offline");
  chats_[0]->Say("and another");
  ASSERT_TRUE(chats_[0]->WaitFor([](const std::string& l) {
    return l.starts_with("* offline: queued (2 waiting");
  })) << chats_[0]->Output();
  ASSERT_TRUE(chats_[1]->WaitForLine("* alice is away (not answering)"))
      << chats_[1]->Output() << Logs();

  ASSERT_NO_FATAL_FAILURE(Serve(0));
  ASSERT_TRUE(chats_[0]->WaitFor([](const std::string& l) {
    return l.starts_with("* reconnected to the daemon at ");
  })) << chats_[0]->Output();
  ASSERT_TRUE(chats_[0]->WaitForLine("* sent 2 queued messages"))
      << chats_[0]->Output();
  for (size_t i : {0, 1}) {
    ASSERT_TRUE(chats_[i]->WaitForLine(Said("alice", "typed while offline")))
        << chats_[i]->Output() << Logs();
    ASSERT_TRUE(chats_[i]->WaitForLine(Said("alice", "and another")))
        << chats_[i]->Output() << Logs();
  }
  ASSERT_TRUE(chats_[1]->WaitAnywhere([](const std::string& l) {
    return l == "* alice is back" || l == "* alice joined";
  })) << chats_[1]->Output();
  // Each line exactly once, in the order typed.
  const std::vector<std::string> after = chats_[1]->AfterJoin();
  EXPECT_EQ(std::count(after.begin(), after.end(),
                       Said("alice", "typed while offline")),
            1);
  auto first = std::find(after.begin(), after.end(),
                         Said("alice", "typed while offline"));
  auto second =
      std::find(after.begin(), after.end(), Said("alice", "and another"));
  EXPECT_LT(first, second);
  ASSERT_NO_FATAL_FAILURE(SayAndSee(1, "welcome back", {0}));
  for (size_t i = 0; i < 2; ++i) StopChat(i);
}

TEST_F(ChatTest, CommandsAndBlankLines) {
  ASSERT_NO_FATAL_FAILURE(Serve(0));
  ASSERT_NO_FATAL_FAILURE(StartChat(0));
  ChatProcess& c = *chats_[0];
  auto starts = [](std::string prefix) {
    return [prefix](const std::string& l) { return l.starts_with(prefix); };
  };
  c.Say("");
  c.Say("   \t ");
  c.Say("/me waves");
  ASSERT_TRUE(c.WaitForLine("* alice waves")) << c.Output();
  c.Say("/topic plans for friday");
  ASSERT_TRUE(c.WaitForLine("* alice set the topic: plans for friday"))
      << c.Output();
  c.Say("/topic");
  ASSERT_TRUE(c.WaitForLine("* topic: plans for friday (set by alice)"))
      << c.Output();
  c.Say("first in the lobby");
  ASSERT_TRUE(c.WaitForLine(Said("alice", "first in the lobby")));
  c.Say("second in the lobby");
  ASSERT_TRUE(c.WaitForLine(Said("alice", "second in the lobby")));
  c.Say("/join kitchen");
  ASSERT_TRUE(
      c.WaitFor(starts("* now in #kitchen as alice (0 messages so far")))
      << c.Output();
  c.Say("in the kitchen");
  ASSERT_TRUE(c.WaitForLine(Said("alice", "in the kitchen"))) << c.Output();
  c.Say("/rooms");
  ASSERT_TRUE(c.WaitFor(starts("*   #kitchen\t1 message, last ")))
      << c.Output();
  ASSERT_TRUE(c.WaitFor([](const std::string& l) {
    return l.starts_with("*   #lobby\t3 messages, last ") &&
           l.find("\tplans for friday") != std::string::npos;
  })) << c.Output();
  c.Say("/join lobby");
  ASSERT_TRUE(c.WaitFor(starts("* now in #lobby as alice (3 messages so far")))
      << c.Output();
  c.Say("/history 1");
  ASSERT_TRUE(c.WaitFor([](const std::string& l) {
    return l == "* 2 older messages not shown (/history N shows the last N)";
  })) << c.Output();
  ASSERT_TRUE(c.WaitForLine(Said("alice", "second in the lobby")));
  c.Say("/history x");
  ASSERT_TRUE(c.WaitFor(starts("* /history N: N is a number"))) << c.Output();
  c.Say("/join no/such");
  ASSERT_TRUE(c.WaitFor(starts("* /join ROOM: "))) << c.Output();
  c.Say("/me");
  ASSERT_TRUE(c.WaitFor(starts("* /me TEXT"))) << c.Output();
  StopChat(0);
  // What reached the feed: the nickname, the action, the topic and three
  // messages; no blank line.
  RunResult r = RunWithHome(homes_[0], {"read", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(Lines(r.out).size(), 6u) << r.out;
  EXPECT_EQ(r.out.find("\"   "), std::string::npos) << r.out;
}

TEST_F(ChatTest, UnreachablePeerIsReported) {
  // y's address, on a port where nothing listens yet.
  const std::string y = dir_.Sub("y");
  ASSERT_EQ(RunWithHome(y, {"init"}).exit_code, 0);
  RunResult id = RunWithHome(y, {"whoami"});
  ASSERT_EQ(id.exit_code, 0) << Show(id);
  const std::string key = id.out.substr(1, id.out.find(".ed25519") - 1);
  const uint16_t port = FreePort();
  const std::string addr =
      "net:127.0.0.1:" + std::to_string(port) + "~shs:" + key;
  // A chat without a daemon: its own node dials y.
  ChatProcess x(homes_[0], {"--nick", "alice", "--preset", "test", "--listen",
                            "127.0.0.1:0", "--peer", addr});
  ASSERT_TRUE(x.WaitJoined()) << x.Output();
  ASSERT_TRUE(x.WaitForLine("* cannot reach peer " + addr + " (still trying)"))
      << x.Output();
  // y comes up there: the chat says so.
  Daemon yd(
      y, {"--preset", "test", "--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(yd.started()) << yd.log();
  ASSERT_TRUE(x.WaitForLine("* connected to peer " + addr)) << x.Output();
  x.Quit();
}

// The control socket's `events` subscription: frames for stored entries and
// membership events.
TEST_F(ChatTest, DaemonEventsSubscription) {
  ASSERT_NO_FATAL_FAILURE(Serve(0));
  Result<std::unique_ptr<cli::ControlClient>> c =
      cli::ControlClient::Connect(homes_[0]);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  uint32_t n = 0;
  std::string results;
  ASSERT_TRUE(
      (*c)->Call(cli::ControlRequest(cli::kEvents, 0), 30000, &n, &results)
          .ok());
  EXPECT_EQ(n, 0u);
  auto next = [&](cli::ControlEvent::Kind kind, cli::ControlEvent* out) {
    const auto deadline = Clock::now() + kWait;
    std::vector<std::string> frames;
    while (Clock::now() < deadline) {
      struct pollfd p = {(*c)->fd(), POLLIN, 0};
      ::poll(&p, 1, 200);
      Status st = (*c)->ReadFrames(&frames);
      if (!st.ok()) return false;
      for (const std::string& f : frames) {
        Result<cli::ControlEvent> e = cli::DecodeEvent(f);
        if (!e.ok()) return false;
        if (e->kind == kind) {
          *out = *e;
          return true;
        }
      }
      frames.clear();
    }
    return false;
  };
  ASSERT_EQ(RunWithHome(homes_[0], {"append", "hello"}).exit_code, 0);
  cli::ControlEvent e;
  ASSERT_TRUE(next(cli::ControlEvent::Kind::kStored, &e));
  // A second daemon joins: a member event names it.
  ASSERT_NO_FATAL_FAILURE(Serve(1));
  RunResult who = RunWithHome(homes_[1], {"whoami"});
  bool seen = false;
  const auto deadline = Clock::now() + kWait;
  while (!seen && Clock::now() < deadline) {
    ASSERT_TRUE(next(cli::ControlEvent::Kind::kMember, &e));
    seen = e.member.kind == MemberEventKind::kUp &&
           e.member.peer.ToString() + "\n" == who.out;
  }
  EXPECT_TRUE(seen);
}

// Without a daemon the chat runs a node of its own.
TEST(ChatEmbeddedTest, TwoChatsWithoutDaemons) {
  TempDir dir;
  for (const char* name : {"x", "y"}) {
    RunResult r = RunWithHome(dir.Sub(name), {"init"});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
  }
  ChatProcess x(dir.Sub("x"), {"--nick", "xavier", "--preset", "test"});
  const std::string prefix = "* no daemon runs: this chat is a node of its own at ";
  std::string address;
  ASSERT_TRUE(x.WaitFor([&](const std::string& l) {
    if (!l.starts_with(prefix)) return false;
    address = l.substr(prefix.size());
    return true;
  })) << x.Output();
  ASSERT_TRUE(x.WaitJoined()) << x.Output();
  ChatProcess y(dir.Sub("y"),
                {"--nick", "yolanda", "--preset", "test", "--peer", address});
  ASSERT_TRUE(y.WaitJoined()) << y.Output();
  y.Say("hello xavier");
  ASSERT_TRUE(x.WaitForLine("<yolanda> hello xavier")) << x.Output() << y.Output();
  x.Say("hello yolanda");
  ASSERT_TRUE(y.WaitForLine("<xavier> hello yolanda")) << y.Output();
  // A line starting with // sends the rest with one slash.
  x.Say("//not a command");
  ASSERT_TRUE(y.WaitForLine("<xavier> /not a command")) << y.Output();
  x.Say("/nonsense");
  ASSERT_TRUE(x.WaitFor([](const std::string& l) {
    return l.starts_with("* unknown command /nonsense");
  })) << x.Output();
  y.Quit();
  x.Say("/quit");
  x.Quit();
}

TEST(ChatArgsTest, BadRoomAndNick) {
  TempDir dir;
  const std::string home = dir.Sub("h");
  ASSERT_EQ(RunWithHome(home, {"init"}).exit_code, 0);
  RunResult r = RunWithHome(home, {"chat", "--room", "no spaces"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("--room"));
  r = RunWithHome(home, {"chat", "--room", std::string(65, 'r')});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  r = RunWithHome(home, {"chat"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("--room"));
  r = RunWithHome(home, {"chat", "--room", "lobby", "--nick", std::string(65, 'n')});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("--nick"));
  // No store at all.
  r = RunWithHome(dir.Sub("missing"), {"chat", "--room", "lobby"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
}

}  // namespace
}  // namespace plumlog::testing
