#include "cli/web_request.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "plumlog/chat.h"

namespace plumlog::cli {
namespace {

using json = nlohmann::json;

// A string field of `j`; false when missing or not a string.
bool Field(const json& j, const char* name, std::string* out) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

}  // namespace

Result<std::string> ContentFromPost(std::string_view path,
                                    std::string_view content_type,
                                    std::string_view body) {
  std::string type(content_type);
  for (char& c : type)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!type.starts_with("application/json"))
    return Status::FailedPrecondition("send application/json");
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("the body is not a JSON object");
  std::string room, text, name, topic;
  if (path == "/api/send") {
    if (!Field(j, "room", &room) || !Field(j, "text", &text))
      return Status::InvalidArgument(R"(expected {"room": ..., "text": ...})");
    auto a = j.find("action");
    const bool action = a != j.end() && a->is_boolean() && a->get<bool>();
    return action ? chat::EncodeAction(room, text)
                  : chat::EncodeMessage(room, text);
  }
  if (path == "/api/nick") {
    if (!Field(j, "name", &name))
      return Status::InvalidArgument(R"(expected {"name": ...})");
    return chat::EncodeNick(name);
  }
  if (path == "/api/topic") {
    if (!Field(j, "room", &room) || !Field(j, "topic", &topic))
      return Status::InvalidArgument(R"(expected {"room": ..., "topic": ...})");
    return chat::EncodeTopic(room, topic);
  }
  return Status::NotFound("no such request: " + std::string(path));
}

}  // namespace plumlog::cli
