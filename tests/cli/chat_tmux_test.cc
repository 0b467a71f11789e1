// `plumlog chat` on a real terminal, driven the way a person uses it: three
// daemons, three chats in tmux sessions (its own tmux server per test), keys
// sent with `tmux send-keys`, the screens read with `tmux capture-pane`.
// Checks what a person sees: lines typed in all three chats appear in the
// same order on every screen, each with its time and once; a half-typed
// line survives incoming lines; a killed daemon is announced, a line typed
// meanwhile is queued and delivered once the daemon is back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tests/cli/chat_cluster.h"
#include "tests/cli/daemon_util.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Concatenation (GCC 12 warns wrongly about "literal" + std::string at -O3).
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}
constexpr Millis kWait(30000);

// A tmux server of the test's own (socket and config in the test's temp
// dir), one session per chat, killed on destruction.
class Tmux {
 public:
  explicit Tmux(const TempDir& dir)
      : socket_(dir.Sub("tmux.sock")), conf_(dir.Sub("tmux.conf")) {
    // "screen" is in every terminfo database; a window whose program ended
    // stays, so its last screen can be read.
    WriteFileBytes(conf_,
                   "set -g default-terminal screen\n"
                   "set -g remain-on-exit on\n"
                   "set -g status off\n");
  }
  ~Tmux() { Run({"kill-server"}); }

  static bool Installed() { return !FindProgram("tmux").empty(); }

  // Starts `command` on a 100x30 terminal: a session named `name`.
  bool Open(const std::string& name, const std::string& command) {
    RunResult r = Run({"new-session", "-d", "-s", name, "-x", "100", "-y", "30",
                       "-e", "LANG=C.UTF-8", command});
    if (r.exit_code != 0) {
      ADD_FAILURE() << "tmux: " << Show(r);
      return false;
    }
    return true;
  }

  // Types `text` literally; Enter() presses Enter.
  void Type(const std::string& name, const std::string& text) {
    Run({"send-keys", "-t", name, "-l", text});
  }
  void Enter(const std::string& name) {
    Run({"send-keys", "-t", name, "Enter"});
  }
  void Say(const std::string& name, const std::string& text) {
    Type(name, text);
    Enter(name);
  }

  // The program in session `name` has ended.
  bool Ended(const std::string& name) {
    return PollUntil(
        [&] {
          RunResult r = Run({"list-panes", "-t", name, "-F", "#{pane_dead}"});
          return r.exit_code == 0 && r.out == "1\n";
        },
        kWait);
  }

  // The screen's rows, trailing spaces removed.
  std::vector<std::string> Screen(const std::string& name) {
    RunResult r = Run({"capture-pane", "-p", "-t", name});
    std::vector<std::string> rows = Lines(r.out);
    for (std::string& row : rows) {
      while (!row.empty() && row.back() == ' ') row.pop_back();
    }
    return rows;
  }
  std::string Dump(const std::string& name) {
    std::string o = Cat({"--- screen ", name, ":\n"});
    for (const std::string& row : Screen(name)) o += row + "\n";
    return o;
  }

  // Waits until the screen has a row for which `match` holds.
  bool WaitFor(const std::string& name,
               const std::function<bool(const std::string&)>& match) {
    return PollUntil(
        [&] {
          for (const std::string& row : Screen(name))
            if (match(row)) return true;
          return false;
        },
        kWait);
  }
  bool WaitForText(const std::string& name, const std::string& text) {
    return WaitFor(name, [&](const std::string& row) {
      return row.find(text) != std::string::npos;
    });
  }

 private:
  static RunResult RunCommand(const std::vector<std::string>& argv) {
    std::unique_ptr<Subprocess> p = Subprocess::Start(argv);
    return p->Finish(kWait);
  }
  RunResult Run(std::vector<std::string> args) {
    args.insert(args.begin(),
                {FindProgram("tmux"), "-S", socket_, "-f", conf_});
    return RunCommand(args);
  }

  std::string socket_;
  std::string conf_;
};

// The message rows of a screen ("HH:MM <nick> text"), without their time.
std::vector<std::string> Messages(const std::vector<std::string>& rows) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::vector<std::string> out;
  for (const std::string& row : rows) {
    if (row.size() > 7 && digit(row[0]) && digit(row[1]) && row[2] == ':' &&
        digit(row[3]) && digit(row[4]) && row[5] == ' ' && row[6] == '<' &&
        row.find("> ", 7) != std::string::npos) {
      out.push_back(row.substr(6));
    }
  }
  return out;
}

class ChatTmuxTest : public ChatClusterTest {
 protected:
  void SetUp() override {
    if (!Tmux::Installed()) {
      GTEST_SKIP() << "tmux is not installed (scripts/deps --test installs it)";
    }
    ChatClusterTest::SetUp();
    tmux_ = std::make_unique<Tmux>(dir_);
  }
  void TearDown() override { tmux_.reset(); }

  // Starts the chat of home i in window kNicks[i] and waits for it to join.
  void StartChat(size_t i) {
    const std::string cmd = Cat({PLUMLOG_BIN, " --home ", homes_[i],
                                 " chat --room lobby --nick ", kNicks[i]});
    ASSERT_TRUE(tmux_->Open(kNicks[i], cmd));
    ASSERT_TRUE(tmux_->WaitForText(kNicks[i], "* joined #lobby"))
        << tmux_->Dump(kNicks[i]);
  }

  // `who` says `text`; every chat in `to` shows it.
  void SayAndSee(size_t who, const std::string& text,
                 const std::vector<size_t>& to) {
    tmux_->Say(kNicks[who], text);
    const std::string shown = Cat({"<", kNicks[who], "> ", text});
    for (size_t i : to) {
      ASSERT_TRUE(tmux_->WaitForText(kNicks[i], shown))
          << tmux_->Dump(kNicks[i]) << Logs();
    }
  }

  std::unique_ptr<Tmux> tmux_;
};

TEST_F(ChatTmuxTest, ThreeChatsShowOneOrderAndKeepTheInputLine) {
  for (size_t i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(Serve(i));
  for (size_t i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(StartChat(i));
  // Wait until every chat has its nickname (the names below depend on it).
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = 0; j < 3; ++j) {
      if (i == j) continue;
      ASSERT_TRUE(tmux_->WaitFor(kNicks[i], [&](const std::string& row) {
        return row.find(Cat({"is now known as ", kNicks[j]})) !=
                   std::string::npos ||
               row.find(Cat({kNicks[j], " joined"})) != std::string::npos ||
               row.find("here: ") != std::string::npos;
      })) << tmux_->Dump(kNicks[i]);
    }
  }

  // A conversation, then all three at once.
  ASSERT_NO_FATAL_FAILURE(SayAndSee(0, "hello from alice", {1, 2}));
  ASSERT_NO_FATAL_FAILURE(SayAndSee(1, "hi alice, bob here", {0, 2}));
  ASSERT_NO_FATAL_FAILURE(SayAndSee(2, "carol too", {0, 1}));
  for (size_t i = 0; i < 3; ++i)
    tmux_->Type(kNicks[i], Cat({"all at once from ", kNicks[i]}));
  for (size_t i = 0; i < 3; ++i) tmux_->Enter(kNicks[i]);
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = 0; j < 3; ++j) {
      const std::string line =
          Cat({"<", kNicks[j], "> all at once from ", kNicks[j]});
      ASSERT_TRUE(tmux_->WaitForText(kNicks[i], line))
          << tmux_->Dump(kNicks[i]) << Logs();
    }
  }

  // A half-typed line stays as it is while lines arrive.
  tmux_->Type("alice", "half typed");
  for (int k = 0; k < 3; ++k) {
    ASSERT_NO_FATAL_FAILURE(
        SayAndSee(1, Cat({"interrupting ", std::to_string(k)}), {0}));
  }
  std::vector<std::string> screen = tmux_->Screen("alice");
  ASSERT_FALSE(screen.empty());
  EXPECT_EQ(screen.back(), "#lobby> half typed") << tmux_->Dump("alice");
  tmux_->Say("alice", " and finished");
  for (size_t i : {1, 2}) {
    ASSERT_TRUE(
        tmux_->WaitForText(kNicks[i], "<alice> half typed and finished"))
        << tmux_->Dump(kNicks[i]);
  }
  ASSERT_TRUE(tmux_->WaitForText("alice", "<alice> half typed and finished"));

  // Every screen shows the same messages in the same order, each with its
  // time; alice's own lines once.
  const std::vector<std::string> first = Messages(tmux_->Screen("alice"));
  EXPECT_EQ(first.size(), 10u) << tmux_->Dump("alice");
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(Messages(tmux_->Screen(kNicks[i])), first)
        << tmux_->Dump("alice") << tmux_->Dump(kNicks[i]);
  }
  EXPECT_EQ(std::count(first.begin(), first.end(), "<alice> hello from alice"),
            1);
  // The input line is empty again, the status line names the room.
  screen = tmux_->Screen("alice");
  EXPECT_EQ(screen.back(), "#lobby>");
  EXPECT_THAT(screen[screen.size() - 2],
              ::testing::StartsWith("#lobby | 3 members"));

  // /quit leaves; the terminal is given back.
  tmux_->Say("alice", "/quit");
  ASSERT_TRUE(tmux_->Ended("alice"))
      << tmux_->Dump("alice");
}

TEST_F(ChatTmuxTest, KilledDaemonQueuedLineIsDelivered) {
  for (size_t i = 0; i < 2; ++i) ASSERT_NO_FATAL_FAILURE(Serve(i));
  for (size_t i = 0; i < 2; ++i) ASSERT_NO_FATAL_FAILURE(StartChat(i));
  ASSERT_NO_FATAL_FAILURE(SayAndSee(0, "before the crash", {1}));

  StopDaemon(0, SIGKILL);
  ASSERT_TRUE(tmux_->WaitForText("alice", "* lost the daemon, reconnecting"))
      << tmux_->Dump("alice");
  ASSERT_TRUE(tmux_->WaitForText("alice", "OFFLINE: reconnecting"))
      << tmux_->Dump("alice");
  tmux_->Say("alice", "typed while the daemon was down");
  ASSERT_TRUE(tmux_->WaitForText("alice", "* offline: queued (1 waiting"))
      << tmux_->Dump("alice");

  ASSERT_NO_FATAL_FAILURE(Serve(0));
  ASSERT_TRUE(tmux_->WaitForText("alice", "* reconnected to the daemon at"))
      << tmux_->Dump("alice");
  ASSERT_TRUE(tmux_->WaitForText("alice", "* sent 1 queued message"))
      << tmux_->Dump("alice");
  for (size_t i : {0, 1}) {
    ASSERT_TRUE(tmux_->WaitForText(kNicks[i],
                                   "<alice> typed while the daemon was down"))
        << tmux_->Dump(kNicks[i]) << Logs();
  }
  const std::vector<std::string> screen = tmux_->Screen("alice");
  EXPECT_THAT(screen[screen.size() - 2],
              ::testing::StartsWith("#lobby | 2 members"))
      << tmux_->Dump("alice");
}

}  // namespace
}  // namespace plumlog::testing
