// Fuzz target: the web chat's POST bodies (cli/web_request.h), which anyone
// who reaches `plumlog serve --http` can send.
//
// Input: byte 0 picks the path (/api/send, /api/nick, /api/topic, another)
// and whether the Content-Type is application/json; the rest is the body.
//
// Checks:
//  - nothing crashes and every refusal carries a message;
//  - another Content-Type is refused (FailedPrecondition), another path is
//    NotFound;
//  - accepted content is chat content of the kind the path asks for
//    (chat::Parse), with the body's fields.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cli/web_request.h"
#include "plumlog/chat.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace chat = plumlog::chat;
using json = nlohmann::json;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  const auto sel = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  static const char* kPaths[] = {"/api/send", "/api/nick", "/api/topic",
                                 "/api/other"};
  const std::string path = kPaths[sel % 4];
  const bool is_json = (sel & 4) == 0;
  plumlog::Result<std::string> r = plumlog::cli::ContentFromPost(
      path, is_json ? "Application/JSON; charset=utf-8" : "text/plain", in);
  if (!r.ok()) {
    FUZZ_CHECK(!r.status().message().empty());
    if (!is_json) {
      FUZZ_CHECK(r.status().code() ==
                 plumlog::Status::Code::kFailedPrecondition);
    } else if (path == "/api/other") {
      FUZZ_CHECK(r.status().code() == plumlog::Status::Code::kNotFound ||
                 r.status().code() == plumlog::Status::Code::kInvalidArgument);
    }
    return 0;
  }
  FUZZ_CHECK(is_json && path != "/api/other");
  const json body = json::parse(in, nullptr, false);
  FUZZ_CHECK(!body.is_discarded() && body.is_object());
  const chat::Content c = chat::Parse(*r);
  if (path == "/api/send") {
    FUZZ_CHECK(c.kind == chat::Content::Kind::kMessage);
    FUZZ_CHECK(body["room"] == c.room && body["text"] == c.text);
    FUZZ_CHECK(c.action == (body.contains("action") && body["action"] == true));
  } else if (path == "/api/nick") {
    FUZZ_CHECK(c.kind == chat::Content::Kind::kNick);
    FUZZ_CHECK(body["name"] == c.name);
  } else {
    FUZZ_CHECK(c.kind == chat::Content::Kind::kTopic);
    FUZZ_CHECK(body["room"] == c.room && body["topic"] == c.text);
  }
  return 0;
}
