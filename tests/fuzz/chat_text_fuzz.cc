// Fuzz target: what `plumlog chat` does with text from the network and keys
// from the terminal: DecodeUtf8 / EncodeUtf8 (cli/line_editor.h), Printable
// (cli/chat_index.h) and the LineEditor fed any key sequence.
//
// Input: byte 0 picks the mode:
//   even  the rest is text: decoded, encoded back, made printable;
//   odd   the rest is a key sequence for a LineEditor: each byte below 14
//         is a LineEditor::Key, the others are characters (as decoded
//         UTF-8).
//
// Checks:
//  - nothing crashes;
//  - EncodeUtf8(DecodeUtf8(s)) == s for every s chat::EncodeMessage takes
//    (valid UTF-8), and DecodeUtf8 of its output gives the same code points;
//  - Printable leaves no control character and keeps valid UTF-8 valid;
//  - the editor's cursor stays within its text, the text within its limit,
//    Visible() within the width, and Enter returns the text as UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/chat_index.h"
#include "cli/line_editor.h"
#include "plumlog/chat.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace cli = plumlog::cli;

void Text(std::string_view in) {
  const std::u32string cps = cli::DecodeUtf8(in);
  const std::string back = cli::EncodeUtf8(cps);
  FUZZ_CHECK(cli::DecodeUtf8(back) == cps);
  const bool valid = plumlog::chat::EncodeMessage("r", in).ok();
  if (valid) FUZZ_CHECK(back == in);
  const std::string p = cli::Printable(in);
  for (size_t i = 0; i < p.size(); ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    FUZZ_CHECK(c >= 0x20 && c != 0x7f);
    if (c == 0xc2 && i + 1 < p.size()) {
      const auto n = static_cast<unsigned char>(p[i + 1]);
      FUZZ_CHECK(!(n >= 0x80 && n <= 0x9f));
    }
  }
  if (valid) FUZZ_CHECK(plumlog::chat::EncodeMessage("r", p).ok());
}

void Keys(std::string_view in) {
  cli::LineEditor e;
  for (char32_t c : cli::DecodeUtf8(in)) {
    if (c < 14) {
      const std::string before = cli::EncodeUtf8(e.text());
      std::optional<std::string> line =
          e.Press(static_cast<cli::LineEditor::Key>(c));
      if (static_cast<cli::LineEditor::Key>(c) ==
          cli::LineEditor::Key::kEnter) {
        FUZZ_CHECK(line && *line == before);
        FUZZ_CHECK(e.empty());
      } else {
        FUZZ_CHECK(!line);
      }
    } else {
      e.Insert(c);
    }
    FUZZ_CHECK(e.cursor() <= e.text().size());
    FUZZ_CHECK(e.text().size() <= cli::LineEditor::kMaxLength);
    const size_t width = 2 + c % 40;
    const cli::LineEditor::View v = e.Visible(width);
    FUZZ_CHECK(v.first <= e.cursor() && v.first + v.count <= e.text().size());
    FUZZ_CHECK(v.cursor_column < width);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  const bool keys = (static_cast<uint8_t>(in[0]) & 1) != 0;
  in.remove_prefix(1);
  if (keys) {
    Keys(in);
  } else {
    Text(in);
  }
  return 0;
}
