// `plumlog chat` between real daemons, driven through pipes: messages typed on
// each chat appear on the others, every chat shows the room in the same causal
// order after a restart, history survives daemon restarts, and a member whose
// daemon was offline catches up. Also the embedded node (no daemon) and bad
// arguments. Every wait polls with a deadline; every process is killed by its
// owner's destructor if a check fails.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  // Waits for exactly `line` anywhere in the output (also before the cursor).
  bool WaitForLine(const std::string& line, Millis timeout = kWait) {
    for (const std::string& l : lines_)
      if (l == line) return true;
    return WaitFor([&](const std::string& l) { return l == line; }, timeout);
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

class ChatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"a", "b", "c"}) {
      homes_.push_back(dir_.Sub(name));
      RunResult r = RunWithHome(homes_.back(), {"init"});
      ASSERT_EQ(r.exit_code, 0) << Show(r);
    }
  }

  // Starts daemon i (0 = the first; the others --peer it).
  void Serve(size_t i) {
    std::vector<std::string> args = {"--preset", "test"};
    if (i > 0) {
      args.push_back("--peer");
      args.push_back(daemons_[0]->address());
    }
    daemons_[i] = std::make_unique<Daemon>(homes_[i], args);
    ASSERT_TRUE(daemons_[i]->started()) << daemons_[i]->log();
  }
  void StopDaemon(size_t i) {
    EXPECT_EQ(daemons_[i]->Stop(SIGTERM), 0) << daemons_[i]->log();
    daemons_[i].reset();
  }

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

  std::string Logs() const {
    std::string o;
    for (size_t i = 0; i < 3; ++i) {
      if (daemons_[i]) o += "--- daemon " + std::to_string(i) + ":\n" + daemons_[i]->log();
    }
    return o;
  }

  static constexpr const char* kNicks[3] = {"alice", "bob", "carol"};
  TempDir dir_;
  std::vector<std::string> homes_;
  std::unique_ptr<Daemon> daemons_[3];
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
