// LineEditor (cli/line_editor.h): editing keys, history, UTF-8 and the
// horizontal scrolling that keeps the cursor visible.
#include "cli/line_editor.h"

#include <gtest/gtest.h>

#include <clocale>
#include <string>

namespace plumlog::cli {
namespace {

using Key = LineEditor::Key;

void Type(LineEditor* e, std::string_view utf8) {
  for (char32_t c : DecodeUtf8(utf8)) e->Insert(c);
}

std::string Text(const LineEditor& e) { return EncodeUtf8(e.text()); }

class LineEditorTest : public ::testing::Test {
 protected:
  void SetUp() override { std::setlocale(LC_CTYPE, "C.UTF-8"); }
};

TEST_F(LineEditorTest, EditingKeys) {
  LineEditor e;
  Type(&e, "hello world");
  EXPECT_EQ(e.cursor(), 11u);
  e.Press(Key::kWordLeft);
  EXPECT_EQ(e.cursor(), 6u);
  e.Press(Key::kBackspace);
  Type(&e, ", ");
  EXPECT_EQ(Text(e), "hello, world");
  e.Press(Key::kHome);
  e.Press(Key::kDelete);
  Type(&e, "H");
  EXPECT_EQ(Text(e), "Hello, world");
  e.Press(Key::kEnd);
  e.Press(Key::kKillWord);
  EXPECT_EQ(Text(e), "Hello, ");
  e.Press(Key::kLeft);
  e.Press(Key::kLeft);
  e.Press(Key::kKillToEnd);
  EXPECT_EQ(Text(e), "Hello");
  e.Press(Key::kKillToStart);
  EXPECT_TRUE(e.empty());
  // Keys at the edges do nothing.
  e.Press(Key::kBackspace);
  e.Press(Key::kLeft);
  e.Press(Key::kDelete);
  e.Press(Key::kRight);
  EXPECT_EQ(e.cursor(), 0u);
  // Control characters are not inserted.
  e.Insert(U'\x1b');
  e.Insert(U'\t');
  e.Insert(U'\u009b');
  EXPECT_TRUE(e.empty());
}

TEST_F(LineEditorTest, EnterAndHistory) {
  LineEditor e;
  Type(&e, "first");
  EXPECT_EQ(e.Press(Key::kEnter), "first");
  EXPECT_TRUE(e.empty());
  Type(&e, "   ");
  EXPECT_EQ(e.Press(Key::kEnter), "   ");  // returned, not remembered
  Type(&e, "second");
  EXPECT_EQ(e.Press(Key::kEnter), "second");
  Type(&e, "draft");
  e.Press(Key::kUp);
  EXPECT_EQ(Text(e), "second");
  e.Press(Key::kUp);
  EXPECT_EQ(Text(e), "first");
  e.Press(Key::kUp);  // no older line
  EXPECT_EQ(Text(e), "first");
  e.Press(Key::kDown);
  e.Press(Key::kDown);
  EXPECT_EQ(Text(e), "draft");  // back to what was being typed
  EXPECT_EQ(e.Press(Key::kLeft), std::nullopt);
}

TEST_F(LineEditorTest, Utf8AndWideCharacters) {
  LineEditor e;
  Type(&e, "grüß 日本");
  EXPECT_EQ(e.text().size(), 7u);
  EXPECT_EQ(e.Press(Key::kEnter), "grüß 日本");
  EXPECT_EQ(CodePointWidth(U'日'), 2);
  EXPECT_EQ(CodePointWidth(U'a'), 1);
  EXPECT_EQ(CodePointWidth(U'\u0301'), 0);  // combining acute
  // Invalid bytes become U+FFFD.
  EXPECT_EQ(DecodeUtf8("a\xff"
                       "b"),
            U"a\uFFFDb");
  EXPECT_EQ(DecodeUtf8("\xc0\x80"), U"\uFFFD\uFFFD");  // overlong
  EXPECT_EQ(EncodeUtf8(DecodeUtf8("€ 𝄞")), "€ 𝄞");
}

TEST_F(LineEditorTest, VisibleKeepsTheCursorOnScreen) {
  LineEditor e;
  Type(&e, "0123456789abcdefghij");
  LineEditor::View v = e.Visible(10);
  // The cursor at the end: the last 9 characters and the cursor's cell.
  EXPECT_EQ(v.first, 11u);
  EXPECT_EQ(v.count, 9u);
  EXPECT_EQ(v.cursor_column, 9u);
  e.Press(Key::kHome);
  v = e.Visible(10);
  EXPECT_EQ(v.first, 0u);
  EXPECT_EQ(v.count, 10u);
  EXPECT_EQ(v.cursor_column, 0u);
  // Wide characters count two columns.
  LineEditor w;
  Type(&w, "日本語日本語");
  v = w.Visible(7);
  EXPECT_EQ(v.cursor_column, 6u);
  EXPECT_EQ(v.count, 3u);
}

}  // namespace
}  // namespace plumlog::cli
