#include "cli/chat_screen.h"

#define NCURSES_WIDECHAR 1
#include <langinfo.h>
#include <ncursesw/curses.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <cstring>

namespace plumlog::cli {
namespace {

// Control keys (the byte a terminal sends).
constexpr unsigned int kCtrlA = 0x01, kCtrlB = 0x02, kCtrlD = 0x04,
                       kCtrlE = 0x05, kCtrlF = 0x06, kCtrlH = 0x08,
                       kCtrlK = 0x0b, kCtrlL = 0x0c, kCtrlN = 0x0e,
                       kCtrlP = 0x10, kCtrlU = 0x15, kCtrlW = 0x17,
                       kEscape = 0x1b, kDel = 0x7f;

size_t Width(std::u32string_view s) {
  size_t w = 0;
  for (char32_t c : s) w += static_cast<size_t>(CodePointWidth(c));
  return w;
}

// Splits a line into screen rows of at most `width` columns.
std::vector<std::u32string_view> Wrap(std::u32string_view line, size_t width) {
  std::vector<std::u32string_view> rows;
  size_t start = 0, used = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const size_t w = static_cast<size_t>(CodePointWidth(line[i]));
    if (used + w > width && i > start) {
      rows.push_back(line.substr(start, i - start));
      start = i;
      used = 0;
    }
    used += w;
  }
  rows.push_back(line.substr(start));
  return rows;
}

void Put(WINDOW* win, std::u32string_view s) {
  if (s.empty()) return;
  std::wstring w(s.begin(), s.end());
  waddnwstr(win, w.c_str(), static_cast<int>(w.size()));
}

}  // namespace

std::unique_ptr<ChatScreen> ChatScreen::Open() {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO)) return nullptr;
  // Chat text is UTF-8: the terminal is driven in a UTF-8 locale.
  std::setlocale(LC_ALL, "");
  if (std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
    std::setlocale(LC_CTYPE, "C.UTF-8");
  std::unique_ptr<ChatScreen> s(new ChatScreen());
  s->screen_ = newterm(nullptr, stdout, stdin);
  if (s->screen_ == nullptr) return nullptr;
  set_term(s->screen_);
  cbreak();
  noecho();
  nonl();
  set_escdelay(25);
  curs_set(1);
  s->Layout();
  return s;
}

ChatScreen::~ChatScreen() {
  if (screen_ == nullptr) return;
  for (WINDOW* w : {room_win_, status_win_, input_win_})
    if (w != nullptr) delwin(w);
  endwin();
  delscreen(screen_);
}

void ChatScreen::Layout() {
  for (WINDOW** w : {&room_win_, &status_win_, &input_win_}) {
    if (*w != nullptr) delwin(*w);
    *w = nullptr;
  }
  getmaxyx(stdscr, rows_, cols_);
  rows_ = std::max(rows_, 3);
  cols_ = std::max(cols_, 10);
  room_win_ = newwin(rows_ - 2, cols_, 0, 0);
  status_win_ = newwin(1, cols_, rows_ - 2, 0);
  input_win_ = newwin(1, cols_, rows_ - 1, 0);
  keypad(input_win_, TRUE);
  nodelay(input_win_, TRUE);
  clearok(curscr, TRUE);
  DrawRoom();
  DrawStatus();
  DrawInput();
  Refresh();
}

int ChatScreen::input_fd() const { return ended_ ? -1 : STDIN_FILENO; }

bool ChatScreen::ReadInput(std::vector<std::string>* lines) {
  if (ended_) return false;
  wint_t key = 0;
  int type;
  bool any = false;
  while ((type = wget_wch(input_win_, &key)) != ERR) {
    any = true;
    if (!OnKey(type, static_cast<unsigned int>(key), lines)) {
      ended_ = true;
      return false;
    }
  }
  if (any) {
    DrawInput();
    Refresh();
  }
  return true;
}

bool ChatScreen::OnKey(int type, unsigned int key,
                       std::vector<std::string>* lines) {
  using K = LineEditor::Key;
  const bool escaped = esc_;
  esc_ = false;
  if (type == KEY_CODE_YES) {
    switch (key) {
      case KEY_LEFT:
        editor_.Press(K::kLeft);
        break;
      case KEY_RIGHT:
        editor_.Press(K::kRight);
        break;
      case KEY_UP:
        editor_.Press(K::kUp);
        break;
      case KEY_DOWN:
        editor_.Press(K::kDown);
        break;
      case KEY_HOME:
        editor_.Press(K::kHome);
        break;
      case KEY_END:
        editor_.Press(K::kEnd);
        break;
      case KEY_BACKSPACE:
        editor_.Press(K::kBackspace);
        break;
      case KEY_DC:
        editor_.Press(K::kDelete);
        break;
      case KEY_ENTER:
        return OnKey(OK, '\r', lines);
      case KEY_PPAGE:
      case KEY_NPAGE: {
        const size_t page = static_cast<size_t>(std::max(rows_ - 3, 1));
        if (key == KEY_PPAGE) {
          scroll_ += page;
        } else {
          scroll_ = scroll_ > page ? scroll_ - page : 0;
        }
        if (scroll_ == 0) unseen_ = 0;
        DrawRoom();
        DrawStatus();
        break;
      }
      case KEY_RESIZE:
        Layout();
        break;
      default:
        break;
    }
    return true;
  }
  if (escaped) {  // Alt-B / Alt-F
    if (key == 'b') editor_.Press(K::kWordLeft);
    if (key == 'f') editor_.Press(K::kWordRight);
    return true;
  }
  switch (key) {
    case '\r':
    case '\n': {
      std::optional<std::string> line = editor_.Press(K::kEnter);
      if (line) lines->push_back(std::move(*line));
      if (scroll_ != 0) {
        scroll_ = 0;
        unseen_ = 0;
        DrawRoom();
        DrawStatus();
      }
      break;
    }
    case kDel:
    case kCtrlH:
      editor_.Press(K::kBackspace);
      break;
    case kCtrlA:
      editor_.Press(K::kHome);
      break;
    case kCtrlE:
      editor_.Press(K::kEnd);
      break;
    case kCtrlB:
      editor_.Press(K::kLeft);
      break;
    case kCtrlF:
      editor_.Press(K::kRight);
      break;
    case kCtrlU:
      editor_.Press(K::kKillToStart);
      break;
    case kCtrlK:
      editor_.Press(K::kKillToEnd);
      break;
    case kCtrlW:
      editor_.Press(K::kKillWord);
      break;
    case kCtrlP:
      editor_.Press(K::kUp);
      break;
    case kCtrlN:
      editor_.Press(K::kDown);
      break;
    case kCtrlD:
      if (editor_.empty()) return false;  // end of input, as in a shell
      editor_.Press(K::kDelete);
      break;
    case kCtrlL:
      clearok(curscr, TRUE);
      DrawRoom();
      DrawStatus();
      break;
    case kEscape:
      esc_ = true;
      break;
    default:
      editor_.Insert(static_cast<char32_t>(key));
      break;
  }
  return true;
}

void ChatScreen::Split(std::string_view text,
                       const std::optional<ChatRoom::Key>& key,
                       std::vector<Line>* out) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out->push_back({DecodeUtf8(text.substr(start, nl - start)), std::nullopt});
    start = nl + 1;
  }
  if (!out->empty()) out->back().key = key;
}

void ChatScreen::Print(std::string_view text) {
  std::vector<Line> lines;
  Split(text, std::nullopt, &lines);
  Insert(lines_.size(), std::move(lines));
}

void ChatScreen::PrintRoom(const std::vector<ChatRoom::Line>& room,
                           bool in_place) {
  std::vector<Line> lines;
  std::optional<ChatRoom::Key> first;
  for (const ChatRoom::Line& l : room) {
    Split(l.text, l.key, &lines);
    if (!first && l.key) first = l.key;
  }
  if (!in_place) {
    scope_start_ = lines_.size();
    if (!lines.empty()) Insert(lines_.size(), std::move(lines));
    return;
  }
  if (lines.empty()) return;
  // After the last message shown that sorts before the first of these;
  // at the end when they sort after everything shown.
  size_t pos = lines_.size();
  if (first) {
    std::optional<size_t> last_keyed;
    for (size_t i = lines_.size(); i > scope_start_; --i) {
      if (lines_[i - 1].key) {
        last_keyed = i - 1;
        break;
      }
    }
    if (last_keyed && !(*lines_[*last_keyed].key < *first)) {
      pos = scope_start_;
      for (size_t i = *last_keyed + 1; i > scope_start_; --i) {
        if (lines_[i - 1].key && *lines_[i - 1].key < *first) {
          pos = i;
          break;
        }
      }
    }
  }
  Insert(pos, std::move(lines));
}

void ChatScreen::Insert(size_t pos, std::vector<Line> lines) {
  size_t rows = 0;
  for (const Line& l : lines)
    rows += Wrap(l.text, static_cast<size_t>(cols_)).size();
  const size_t added = lines.size();
  lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(pos),
                std::make_move_iterator(lines.begin()),
                std::make_move_iterator(lines.end()));
  while (lines_.size() > kMaxLines) {
    lines_.pop_front();
    if (scope_start_ > 0) --scope_start_;
  }
  if (scroll_ > 0) {
    // Keep the view where the reader scrolled it.
    scroll_ += rows;
    unseen_ += added;
  }
  DrawRoom();
  DrawStatus();
  Refresh();
}

void ChatScreen::SetStatus(std::string_view status) {
  status_ = DecodeUtf8(status);
  DrawStatus();
  Refresh();
}

void ChatScreen::SetPrompt(std::string_view prompt) {
  prompt_ = DecodeUtf8(prompt);
  DrawInput();
  Refresh();
}

void ChatScreen::DrawRoom() {
  const size_t height = static_cast<size_t>(rows_ - 2);
  const size_t width = static_cast<size_t>(cols_);
  // The rows from the bottom up: skip `scroll_` of them, keep `height`.
  std::vector<std::u32string_view> rows;
  size_t skipped = 0;
  for (auto it = lines_.rbegin(); it != lines_.rend() && rows.size() < height;
       ++it) {
    std::vector<std::u32string_view> wrapped = Wrap(it->text, width);
    for (auto r = wrapped.rbegin(); r != wrapped.rend(); ++r) {
      if (skipped < scroll_) {
        ++skipped;
      } else if (rows.size() < height) {
        rows.push_back(*r);
      }
    }
  }
  if (skipped < scroll_) scroll_ = skipped;  // scrolled past the top
  werase(room_win_);
  int y = 0;
  for (auto r = rows.rbegin(); r != rows.rend(); ++r, ++y) {
    wmove(room_win_, y, 0);
    Put(room_win_, *r);
  }
}

void ChatScreen::DrawStatus() {
  werase(status_win_);
  wattron(status_win_, A_REVERSE);
  wmove(status_win_, 0, 0);
  for (int i = 0; i < cols_; ++i) waddch(status_win_, ' ');
  std::u32string text = status_;
  if (scroll_ > 0) {
    text += DecodeUtf8(" | scrolled back (PageDown");
    if (unseen_ > 0)
      text += DecodeUtf8(", " + std::to_string(unseen_) + " new lines");
    text += U')';
  }
  const std::vector<std::u32string_view> rows =
      Wrap(text, static_cast<size_t>(cols_));
  wmove(status_win_, 0, 0);
  Put(status_win_, rows.front());
  wattroff(status_win_, A_REVERSE);
}

void ChatScreen::DrawInput() {
  werase(input_win_);
  wmove(input_win_, 0, 0);
  const size_t prompt_width =
      std::min(Width(prompt_), static_cast<size_t>(cols_ / 2));
  Put(input_win_, std::u32string_view(prompt_).substr(
                      0, std::min(prompt_.size(), prompt_width)));
  const LineEditor::View v =
      editor_.Visible(static_cast<size_t>(cols_) - prompt_width - 1);
  Put(input_win_, std::u32string_view(editor_.text()).substr(v.first, v.count));
  wmove(input_win_, 0, static_cast<int>(prompt_width + v.cursor_column));
}

void ChatScreen::Refresh() {
  wnoutrefresh(room_win_);
  wnoutrefresh(status_win_);
  wnoutrefresh(input_win_);  // last: the cursor stays in the input line
  doupdate();
}

}  // namespace plumlog::cli
