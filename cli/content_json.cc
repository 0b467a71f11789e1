#include "cli/content_json.h"

#include <sodium.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "plumlog/types.h"
#include "storage/msgpack_reader.h"
#include "storage/utf8.h"

namespace plumlog::cli {
namespace {

using json = nlohmann::json;

constexpr std::string_view kBinKey = "$bin";
constexpr std::string_view kExtKey = "$ext";
constexpr std::string_view kMsgpackKey = "$msgpack";

struct TooDeep {};

std::optional<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  std::vector<uint8_t> out(text.size() / 4 * 3 + 3);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(),
                        nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  // libsodium 1.0.18 decodes some bytes outside the alphabet (0x80..0xff):
  // accept only text that is the canonical encoding of what it decoded to.
  std::string canon(
      sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(canon.data(), canon.size(), out.data(), len,
                    sodium_base64_VARIANT_ORIGINAL);
  canon.resize(canon.size() - 1);  // the terminating NUL
  if (canon != text) return std::nullopt;
  return out;
}

// Replaces {"$bin": ...} and {"$ext": ..., "$bin": ...} objects by binary
// values.
Status EncodeExtensions(json* v, const std::string& path) {
  if (v->is_array()) {
    for (size_t i = 0; i < v->size(); ++i) {
      PLUMLOG_RETURN_IF_ERROR(
          EncodeExtensions(&(*v)[i], path + "[" + std::to_string(i) + "]"));
    }
    return Status::OK();
  }
  if (!v->is_object()) return Status::OK();
  const bool bin_only = v->size() == 1 && v->contains(kBinKey);
  const bool ext =
      v->size() == 2 && v->contains(kBinKey) && v->contains(kExtKey);
  if (!bin_only && !ext) {
    for (auto it = v->begin(); it != v->end(); ++it) {
      PLUMLOG_RETURN_IF_ERROR(
          EncodeExtensions(&it.value(), path + "." + it.key()));
    }
    return Status::OK();
  }
  const json& b64 = (*v)[std::string(kBinKey)];
  std::optional<std::vector<uint8_t>> bytes;
  if (b64.is_string()) bytes = Base64Decode(b64.get_ref<const std::string&>());
  if (!bytes) {
    return Status::InvalidArgument(
        "invalid JSON content at " + path +
        ": \"$bin\" must be a padded standard base64 string");
  }
  if (bin_only) {
    *v = json::binary(std::move(*bytes));
    return Status::OK();
  }
  const json& type = (*v)[std::string(kExtKey)];
  if (!type.is_number_integer() || type.get<int64_t>() < -128 ||
      type.get<int64_t>() > 127) {
    return Status::InvalidArgument(
        "invalid JSON content at " + path +
        ": \"$ext\" must be an integer from -128 to 127");
  }
  *v = json::binary(std::move(*bytes),
                    static_cast<uint8_t>(type.get<int64_t>()));
  return Status::OK();
}

// Replaces binary values by their {"$bin": ...} form.
void DecodeExtensions(json* v) {
  if (v->is_binary()) {
    const json::binary_t& b = v->get_binary();
    json obj = json::object();
    if (b.has_subtype())
      obj[std::string(kExtKey)] = static_cast<int8_t>(b.subtype());
    obj[std::string(kBinKey)] = Base64Encode(
        std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    *v = std::move(obj);
    return;
  }
  if (v->is_array() || v->is_object()) {
    for (auto& child : *v) DecodeExtensions(&child);
  }
}

// nlohmann's messages start with "[json.exception.parse_error.101] ".
std::string CleanMessage(const char* what) {
  std::string_view m(what);
  if (m.starts_with("[json.exception.")) {
    size_t close = m.find("] ");
    if (close != std::string_view::npos) m.remove_prefix(close + 2);
  }
  return std::string(m);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(
      sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL),
      '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

Result<std::string> JsonToContent(std::string_view json_text) {
  json value;
  try {
    json::parser_callback_t limit_depth = [](int depth,
                                             json::parse_event_t event, json&) {
      if ((event == json::parse_event_t::object_start ||
           event == json::parse_event_t::array_start) &&
          depth >= kMaxJsonParseDepth) {
        throw TooDeep{};
      }
      return true;
    };
    value = json::parse(json_text.begin(), json_text.end(), limit_depth);
  } catch (const TooDeep&) {
    return Status::InvalidArgument("invalid JSON content: nested more than " +
                                   std::to_string(kMaxJsonParseDepth) +
                                   " levels deep");
  } catch (const json::exception& e) {
    return Status::InvalidArgument("invalid JSON: " + CleanMessage(e.what()));
  }
  PLUMLOG_RETURN_IF_ERROR(EncodeExtensions(&value, "$"));
  try {
    std::vector<uint8_t> packed = json::to_msgpack(value);
    return std::string(packed.begin(), packed.end());
  } catch (const json::exception& e) {
    return Status::InvalidArgument("cannot encode JSON content: " +
                                   CleanMessage(e.what()));
  }
}

json ContentToJson(std::string_view content) {
  try {
    json value = json::from_msgpack(content.begin(), content.end());
    DecodeExtensions(&value);
    return value;
  } catch (const json::exception&) {
    json obj = json::object();
    obj[std::string(kMsgpackKey)] = Base64Encode(content);
    return obj;
  }
}

namespace {

// Whether UTF-8 text `s` holds a control character: C0 (below 0x20), DEL, or
// C1 (U+0080..U+009F, encoded C2 80..C2 9F), which some terminals obey as
// escape sequences.
bool HasControl(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < s.size() &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
      return true;
    }
  }
  return false;
}

// JSON text with DEL and C1 characters (which JSON leaves unescaped) written
// as \u escapes; they only occur inside strings, where that means the same.
std::string EscapeControls(std::string_view json_text) {
  std::string out;
  out.reserve(json_text.size());
  for (size_t i = 0; i < json_text.size(); ++i) {
    const auto c = static_cast<unsigned char>(json_text[i]);
    unsigned code = 0x100;
    if (c == 0x7f) {
      code = c;
    } else if (c == 0xc2 && i + 1 < json_text.size() &&
               static_cast<unsigned char>(json_text[i + 1]) <= 0x9f) {
      code = static_cast<unsigned char>(json_text[++i]);
    }
    if (code == 0x100) {
      out += json_text[i];
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", code);
      out += buf;
    }
  }
  return out;
}

}  // namespace

std::string ContentToText(std::string_view content) {
  json value = ContentToJson(content);
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    // Invalid UTF-8 and control characters go out as JSON, with U+FFFD for
    // bad bytes and \u escapes for controls.
    if (storage::IsUtf8(s) && !HasControl(s)) return s;
  }
  return EscapeControls(DumpJson(value));
}

std::optional<std::string> ContentTypeField(std::string_view content) {
  storage::MsgpackReader r(content);
  uint32_t n = 0;
  if (!r.ReadMapHeader("content", &n).ok()) return std::nullopt;
  // The last "type" wins, as in the JSON form of a map with repeated keys.
  std::optional<std::string> type;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!r.ReadStr("key", kMaxEntryBytes, &key).ok()) return std::nullopt;
    if (key == "type") {
      std::string_view value;
      storage::MsgpackReader peek = r;
      if (peek.ReadStr("type", kMaxEntryBytes, &value).ok()) {
        type = std::string(value);
      } else {
        type.reset();
      }
    }
    if (!r.SkipValue("value", kMaxContentDepth).ok()) return std::nullopt;
  }
  return type;
}

std::string DumpJson(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace plumlog::cli
