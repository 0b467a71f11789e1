#include "cli/line_editor.h"

#include <wchar.h>

#include <algorithm>

#include "core/utf8.h"

namespace plumlog::cli {
namespace {

bool IsSpace(char32_t c) { return c == U' ' || c == U'\t'; }

}  // namespace

std::u32string DecodeUtf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const std::optional<char32_t> cp = core::DecodeUtf8At(s, &i);
    out += cp ? *cp : U'\uFFFD';
  }
  return out;
}

std::string EncodeUtf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xe0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

int CodePointWidth(char32_t c) {
  const int w = ::wcwidth(static_cast<wchar_t>(c));
  if (w < 0) return 1;  // unknown to the locale: one column
  return w;
}

void LineEditor::Insert(char32_t c) {
  if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) return;
  if (text_.size() >= kMaxLength) return;
  text_.insert(text_.begin() + static_cast<std::ptrdiff_t>(cursor_), c);
  ++cursor_;
}

void LineEditor::SetText(std::u32string text) {
  text_ = std::move(text);
  cursor_ = text_.size();
}

std::optional<std::string> LineEditor::Press(Key key) {
  switch (key) {
    case Key::kLeft:
      if (cursor_ > 0) --cursor_;
      break;
    case Key::kRight:
      if (cursor_ < text_.size()) ++cursor_;
      break;
    case Key::kHome:
      cursor_ = 0;
      break;
    case Key::kEnd:
      cursor_ = text_.size();
      break;
    case Key::kBackspace:
      if (cursor_ > 0) {
        text_.erase(cursor_ - 1, 1);
        --cursor_;
      }
      break;
    case Key::kDelete:
      if (cursor_ < text_.size()) text_.erase(cursor_, 1);
      break;
    case Key::kKillToStart:
      text_.erase(0, cursor_);
      cursor_ = 0;
      break;
    case Key::kKillToEnd:
      text_.erase(cursor_);
      break;
    case Key::kKillWord: {
      size_t start = cursor_;
      while (start > 0 && IsSpace(text_[start - 1])) --start;
      while (start > 0 && !IsSpace(text_[start - 1])) --start;
      text_.erase(start, cursor_ - start);
      cursor_ = start;
      break;
    }
    case Key::kWordLeft:
      while (cursor_ > 0 && IsSpace(text_[cursor_ - 1])) --cursor_;
      while (cursor_ > 0 && !IsSpace(text_[cursor_ - 1])) --cursor_;
      break;
    case Key::kWordRight:
      while (cursor_ < text_.size() && IsSpace(text_[cursor_])) ++cursor_;
      while (cursor_ < text_.size() && !IsSpace(text_[cursor_])) ++cursor_;
      break;
    case Key::kUp:
      if (history_pos_ == 0) break;
      if (history_pos_ == history_.size()) draft_ = text_;
      --history_pos_;
      SetText(history_[history_pos_]);
      break;
    case Key::kDown:
      if (history_pos_ == history_.size()) break;
      ++history_pos_;
      SetText(history_pos_ == history_.size() ? draft_
                                              : history_[history_pos_]);
      break;
    case Key::kEnter: {
      std::string line = EncodeUtf8(text_);
      const bool blank = std::all_of(text_.begin(), text_.end(), IsSpace);
      if (!blank && (history_.empty() || history_.back() != text_)) {
        history_.push_back(text_);
        if (history_.size() > kMaxHistory) history_.erase(history_.begin());
      }
      history_pos_ = history_.size();
      draft_.clear();
      text_.clear();
      cursor_ = 0;
      scroll_ = 0;
      return line;
    }
  }
  return std::nullopt;
}

LineEditor::View LineEditor::Visible(size_t width) {
  width = std::max<size_t>(width, 2);
  if (cursor_ < scroll_) scroll_ = cursor_;
  // The leftmost first character that keeps the cursor's cell on screen.
  size_t first = cursor_;
  size_t used = 1;  // the cursor's own cell
  while (first > 0) {
    const size_t w = static_cast<size_t>(CodePointWidth(text_[first - 1]));
    if (used + w > width) break;
    used += w;
    --first;
  }
  if (scroll_ < first) scroll_ = first;
  View v;
  v.first = scroll_;
  size_t col = 0;
  size_t i = scroll_;
  for (; i < cursor_; ++i) col += static_cast<size_t>(CodePointWidth(text_[i]));
  v.cursor_column = col;
  used = 0;
  for (i = scroll_; i < text_.size(); ++i) {
    const size_t w = static_cast<size_t>(CodePointWidth(text_[i]));
    if (used + w > width) break;
    used += w;
  }
  v.count = i - scroll_;
  return v;
}

}  // namespace plumlog::cli
