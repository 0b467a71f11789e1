// The full-screen terminal UI of `plumlog chat` (ncurses): the room scrolls
// in the upper part, a status line and the input line stay at the bottom,
// so lines that arrive never disturb what is being typed. Line editing is a
// LineEditor (cli/line_editor.h): arrows, Home/End, Ctrl-A/E/U/K/W,
// Up/Down for lines sent before; PageUp/PageDown scroll the room.
#ifndef PLUMLOG_CLI_CHAT_SCREEN_H_
#define PLUMLOG_CLI_CHAT_SCREEN_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/chat_terminal.h"
#include "cli/line_editor.h"

typedef struct screen SCREEN;
typedef struct _win_st WINDOW;

namespace plumlog::cli {

class ChatScreen : public ChatTerminal {
 public:
  // Lines of the room kept for scrolling back.
  static constexpr size_t kMaxLines = 10000;

  // Takes over the terminal on stdin/stdout; nullptr when that is not
  // possible (no terminfo entry for $TERM, ...).
  static std::unique_ptr<ChatScreen> Open();
  // Gives the terminal back.
  ~ChatScreen() override;
  ChatScreen(const ChatScreen&) = delete;
  ChatScreen& operator=(const ChatScreen&) = delete;

  int input_fd() const override;
  bool ReadInput(std::vector<std::string>* lines) override;
  void Print(std::string_view text) override;
  void PrintRoom(const std::vector<ChatRoom::Line>& lines,
                 bool in_place) override;
  void SetStatus(std::string_view status) override;
  void SetPrompt(std::string_view prompt) override;
  bool broken() const override { return false; }

 private:
  ChatScreen() = default;
  // Handles one key from ncurses; false at the end of input.
  bool OnKey(int type, unsigned int key, std::vector<std::string>* lines);
  void Layout();
  void DrawRoom();
  void DrawStatus();
  void DrawInput();
  void Refresh();

  // One line of the room (it may take several screen rows); a message's
  // line carries its key.
  struct Line {
    std::u32string text;
    std::optional<ChatRoom::Key> key;
  };
  // Splits `text` into Lines; the last one gets `key`.
  static void Split(std::string_view text,
                    const std::optional<ChatRoom::Key>& key,
                    std::vector<Line>* out);
  // Adds lines at `pos` of lines_, trims to kMaxLines, redraws.
  void Insert(size_t pos, std::vector<Line> lines);

  SCREEN* screen_ = nullptr;
  WINDOW* room_win_ = nullptr;
  WINDOW* status_win_ = nullptr;
  WINDOW* input_win_ = nullptr;
  int rows_ = 0;
  int cols_ = 0;
  std::deque<Line> lines_;
  // Where the lines of the room PrintRoom orders start (the last history).
  size_t scope_start_ = 0;
  size_t scroll_ = 0;  // screen rows scrolled back from the bottom
  size_t unseen_ = 0;  // lines that arrived while scrolled back
  std::u32string status_;
  std::u32string prompt_;
  LineEditor editor_;
  bool ended_ = false;
  bool esc_ = false;  // the last key was Escape (Alt-x arrives as ESC x)
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_CHAT_SCREEN_H_
