// Entry content (one msgpack value) to and from JSON (docs/cli.md, "Content").
//
// JSON maps onto msgpack as nlohmann::json does (json::to_msgpack /
// json::from_msgpack), plus one extension for bytes JSON cannot hold:
//   {"$bin": "<base64>"}               msgpack bin
//   {"$ext": <type>, "$bin": "<base64>"}  msgpack ext of that type (-128..127)
// Both directions use it, so `read --json` output appends back unchanged.
#ifndef PLUMLOG_CLI_CONTENT_JSON_H_
#define PLUMLOG_CLI_CONTENT_JSON_H_

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "plumlog/status.h"

namespace plumlog::cli {

// Nesting deeper than this is refused while parsing, before the store's own
// (smaller) content depth limit judges the value.
inline constexpr int kMaxJsonParseDepth = 64;

// Parses exactly one JSON value and encodes it as msgpack content.
// InvalidArgument with line and column for malformed JSON.
Result<std::string> JsonToContent(std::string_view json_text);

// Decodes content into JSON. Content that JSON cannot represent even with the
// extension above (e.g. a map with non-string keys) comes back as
// {"$msgpack": "<base64 of the raw content>"}.
nlohmann::json ContentToJson(std::string_view content);

// For text output: a string value of valid UTF-8 without control characters
// as itself, anything else as compact JSON (invalid UTF-8 replaced by U+FFFD).
// Never contains a newline.
std::string ContentToText(std::string_view content);

// The "type" field of map content whose "type" is a string (the usual
// shape of SSB-style content: {"type": "post", ...}); nullopt otherwise.
std::optional<std::string> ContentTypeField(std::string_view content);

// Compact JSON text; invalid UTF-8 in strings is replaced by U+FFFD.
std::string DumpJson(const nlohmann::json& value);

std::string Base64Encode(std::string_view bytes);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_CONTENT_JSON_H_
