// The web chat's POST requests (cli/web_chat.h) turned into entry content:
// a pure function, so that everything a browser (or anyone reaching the
// port) sends is checked in one place (and fuzzed: tests/fuzz
// web_request_fuzz.cc).
#ifndef PLUMLOG_CLI_WEB_REQUEST_H_
#define PLUMLOG_CLI_WEB_REQUEST_H_

#include <string>
#include <string_view>

#include "plumlog/status.h"

namespace plumlog::cli {

// `path` is /api/send ({"room", "text", "action"?}), /api/nick ({"name"})
// or /api/topic ({"room", "topic"}); `content_type` the request's
// Content-Type. Returns the chat content to append (include/plumlog/chat.h).
// FailedPrecondition when the body is not declared application/json (HTTP
// 415), NotFound for another path, InvalidArgument for a body that is not
// the JSON object expected or content the chat encoders refuse (HTTP 400).
Result<std::string> ContentFromPost(std::string_view path,
                                    std::string_view content_type,
                                    std::string_view body);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_WEB_REQUEST_H_
