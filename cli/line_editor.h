// The input line of `plumlog chat` on a terminal (cli/chat_screen.h): the
// text being typed as Unicode code points, the cursor, and the lines sent
// before (Up/Down). Keys in, state out; no I/O, so it is unit-tested.
#ifndef PLUMLOG_CLI_LINE_EDITOR_H_
#define PLUMLOG_CLI_LINE_EDITOR_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plumlog::cli {

// UTF-8 to code points; an invalid byte becomes U+FFFD.
std::u32string DecodeUtf8(std::string_view s);
std::string EncodeUtf8(std::u32string_view s);
// Columns a code point takes on a terminal (0 for combining marks, 2 for
// wide East Asian characters, 1 otherwise; wcwidth in a UTF-8 locale).
int CodePointWidth(char32_t c);

class LineEditor {
 public:
  // Longest line kept (code points); further input is ignored.
  static constexpr size_t kMaxLength = 16 * 1024;
  // Lines remembered for Up/Down.
  static constexpr size_t kMaxHistory = 500;

  enum class Key {
    kLeft,
    kRight,
    kHome,  // Ctrl-A
    kEnd,   // Ctrl-E
    kBackspace,
    kDelete,       // the character under the cursor
    kKillToStart,  // Ctrl-U
    kKillToEnd,    // Ctrl-K
    kKillWord,     // Ctrl-W: the word before the cursor
    kWordLeft,     // Alt-B / Ctrl-Left
    kWordRight,    // Alt-F / Ctrl-Right
    kUp,           // the previous line sent
    kDown,         // the next one (back to what was being typed)
    kEnter,
  };

  // Inserts one character at the cursor (control characters are ignored).
  void Insert(char32_t c);
  // Acts on a key; kEnter returns the line (UTF-8) and starts a new one.
  // Lines that are not blank go to the history.
  std::optional<std::string> Press(Key key);

  const std::u32string& text() const { return text_; }
  size_t cursor() const { return cursor_; }
  bool empty() const { return text_.empty(); }

  // What to show in `width` columns (at least 2): the code points
  // [first, first + count) and the cursor's column among them. Scrolls
  // horizontally so that the cursor stays visible.
  struct View {
    size_t first = 0;
    size_t count = 0;
    size_t cursor_column = 0;
  };
  View Visible(size_t width);

 private:
  void SetText(std::u32string text);
  std::u32string text_;
  size_t cursor_ = 0;
  size_t scroll_ = 0;  // first code point shown
  std::vector<std::u32string> history_;
  size_t history_pos_ = 0;  // == history_.size(): the line being typed
  std::u32string draft_;    // what was typed before Up
};

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_LINE_EDITOR_H_
