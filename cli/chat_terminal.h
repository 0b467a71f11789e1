// Where `plumlog chat` reads lines and prints the room (docs/chat.md,
// "Terminals and pipes"): a full-screen terminal UI when standard input and
// output are a terminal (cli/chat_screen.h), plain lines otherwise.
#ifndef PLUMLOG_CLI_CHAT_TERMINAL_H_
#define PLUMLOG_CLI_CHAT_TERMINAL_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/chat_room.h"

namespace plumlog::cli {

class ChatTerminal {
 public:
  // Longest input line through pipes; a longer one is refused.
  static constexpr size_t kMaxLineBytes = 64 * 1024;

  virtual ~ChatTerminal() = default;

  // The full-screen UI when stdin and stdout are a terminal the terminfo
  // database knows and `plain` is false; lines through stdin/stdout
  // otherwise.
  static std::unique_ptr<ChatTerminal> Open(bool plain);

  // The descriptor to poll for input (-1 once input ended).
  virtual int input_fd() const = 0;
  // Takes what input is available now without blocking: complete lines go
  // to `lines`. False once input ended (end of file, Ctrl-D on an empty
  // line); the lines before the end are still returned.
  virtual bool ReadInput(std::vector<std::string>* lines) = 0;
  // Prints complete lines (each ending in "\n"); on a terminal they go above
  // the input line, which stays as it is.
  virtual void Print(std::string_view text) = 0;
  // Prints lines of the room (ChatRoom::History, Flush). `in_place`: a view
  // that can puts them where they belong among the room's lines shown
  // since the last PrintRoom without it (a message that arrived late goes
  // before the later ones); otherwise, and through pipes, they are added
  // at the end.
  virtual void PrintRoom(const std::vector<ChatRoom::Line>& lines,
                         bool in_place) {
    (void)in_place;
    Print(ChatRoom::Text(lines));
  }
  // The status line (room, topic, connection): shown on a terminal only.
  virtual void SetStatus(std::string_view status) = 0;
  // The prompt before the input line (a terminal only).
  virtual void SetPrompt(std::string_view prompt) = 0;
  // Output cannot be written any more (the reader left).
  virtual bool broken() const = 0;
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_CHAT_TERMINAL_H_
