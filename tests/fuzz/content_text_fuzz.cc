// Fuzz target: how the CLI shows entry content from any author
// (cli/content_json.h): ContentToText (`read`'s text output), ContentToJson
// (`read --json`) and ContentTypeField (`read --type`). cli/content_json.cc
// is not part of the library, so it is compiled into this binary
// (tests/fuzz/CMakeLists.txt).
//
// Checks:
//  - nothing crashes, whatever the bytes;
//  - a text line never breaks and never carries raw bytes: ContentToText has
//    no control character (C0, DEL, or C1 U+0080..U+009F, which some
//    terminals obey) and is valid UTF-8 (invalid input bytes become U+FFFD);
//  - ContentTypeField agrees with ContentToJson: when it finds a "type", the
//    JSON form is an object whose "type" is that string (unless the content is
//    one JSON cannot hold and comes back as {"$msgpack": ...}).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cli/content_json.h"
#include "storage/utf8.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view content(reinterpret_cast<const char*>(data), size);
  const std::string text = plumlog::cli::ContentToText(content);
  for (size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    FUZZ_CHECK(u >= 0x20 && u != 0x7f);
    if (u == 0xc2 && i + 1 < text.size()) {
      FUZZ_CHECK(static_cast<unsigned char>(text[i + 1]) > 0x9f);
    }
  }
  FUZZ_CHECK(plumlog::storage::IsUtf8(text));
  const std::optional<std::string> type =
      plumlog::cli::ContentTypeField(content);
  if (type) {
    const nlohmann::json j = plumlog::cli::ContentToJson(content);
    FUZZ_CHECK(j.is_object());
    if (!j.contains("$msgpack")) {
      FUZZ_CHECK(j.contains("type") && j["type"].is_string());
      FUZZ_CHECK(j["type"].get<std::string>() == *type);
    }
  }
  return 0;
}
