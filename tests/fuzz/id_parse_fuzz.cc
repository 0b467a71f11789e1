// Fuzz target: FeedId::Parse and EntryId::Parse, which read ids typed by users
// and found in JSON (docs/format.md: sigil, 44 chars of padded base64, suffix).
//
// Every id has exactly one text form: whatever Parse accepts must print back
// as the input. Raw 32-byte inputs also go the other way (bytes -> text ->
// bytes).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "plumlog/types.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

template <typename Id>
void CheckParse(std::string_view text) {
  plumlog::Result<Id> id = Id::Parse(text);
  if (!id.ok()) {
    FUZZ_CHECK(!id.status().message().empty());
    return;
  }
  const std::string printed = id->ToString();
  FUZZ_CHECK(printed == text);
  FUZZ_CHECK(id->Short() == printed.substr(1, 8));
  std::optional<Id> from_bytes = Id::FromBytes(id->view());
  FUZZ_CHECK(from_bytes.has_value());
  FUZZ_CHECK(*from_bytes == *id);
}

template <typename Id>
void CheckRawBytes(std::string_view raw) {
  std::optional<Id> id = Id::FromBytes(raw);
  FUZZ_CHECK(id.has_value() == (raw.size() == Id::kSize));
  if (!id) return;
  FUZZ_CHECK(id->view() == raw);
  const std::string text = id->ToString();
  plumlog::Result<Id> parsed = Id::Parse(text);
  FUZZ_CHECK(parsed.ok());
  FUZZ_CHECK(*parsed == *id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckParse<plumlog::FeedId>(input);
  CheckParse<plumlog::EntryId>(input);
  CheckRawBytes<plumlog::FeedId>(input);
  CheckRawBytes<plumlog::EntryId>(input);
  // A feed id never parses as an entry id and vice versa.
  FUZZ_CHECK(!(plumlog::FeedId::Parse(input).ok() &&
               plumlog::EntryId::Parse(input).ok()));
  return 0;
}
