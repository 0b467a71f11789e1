#include "cli/chat_terminal.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "cli/chat_screen.h"
#include "cli/output.h"

namespace plumlog::cli {
namespace {

// Lines through pipes (or a terminal when asked for plain lines): no
// terminal control codes at all, so a program can drive the chat.
class PlainTerminal : public ChatTerminal {
 public:
  int input_fd() const override { return ended_ ? -1 : STDIN_FILENO; }

  bool ReadInput(std::vector<std::string>* lines) override {
    while (!ended_) {
      struct pollfd pfd = {};
      pfd.fd = STDIN_FILENO;
      pfd.events = POLLIN;
      const int n = ::poll(&pfd, 1, 0);
      if (n <= 0) return true;  // nothing now (or EINTR: next turn)
      char chunk[4096];
      const ssize_t got = ::read(STDIN_FILENO, chunk, sizeof chunk);
      if (got < 0) {
        if (errno == EINTR || errno == EAGAIN) return true;
        ended_ = true;
        break;
      }
      if (got == 0) {  // end of input: a last line without "\n" still counts
        if (!buf_.empty() && !discarding_) lines->push_back(buf_);
        buf_.clear();
        ended_ = true;
        break;
      }
      buf_.append(chunk, static_cast<size_t>(got));
      size_t nl;
      while ((nl = buf_.find('\n')) != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (discarding_) {
          discarding_ = false;
          continue;
        }
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines->push_back(std::move(line));
      }
      if (buf_.size() > kMaxLineBytes) {
        Print("* not sent: line longer than " + std::to_string(kMaxLineBytes) +
              " bytes\n");
        buf_.clear();
        discarding_ = true;
      }
    }
    return false;
  }

  void Print(std::string_view text) override {
    if (text.empty() || broken_) return;
    Status st = WriteStdout(text);
    if (st.ok()) st = FlushStdout();
    if (!st.ok()) broken_ = true;
  }
  void SetStatus(std::string_view) override {}
  void SetPrompt(std::string_view) override {}
  bool broken() const override { return broken_; }

 private:
  std::string buf_;
  bool discarding_ = false;
  bool ended_ = false;
  bool broken_ = false;
};

}  // namespace

std::unique_ptr<ChatTerminal> ChatTerminal::Open(bool plain) {
  if (!plain) {
    std::unique_ptr<ChatScreen> screen = ChatScreen::Open();
    if (screen) return screen;
  }
  return std::make_unique<PlainTerminal>();
}

}  // namespace plumlog::cli
