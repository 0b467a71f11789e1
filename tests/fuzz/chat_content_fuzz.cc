// Fuzz target: chat::Parse (include/plumlog/chat.h), which reads the content
// of every entry `plumlog chat` and examples/chat.cc show; the content comes
// from any author on the network.
//
// Checks:
//  - Parse never crashes, whatever the bytes;
//  - what it does not take as chat carries no fields;
//  - whatever it accepts as a message, an action, a nickname or a topic is
//    valid chat content (docs/chat.md): the Encode function accepts the
//    parsed fields, and
//    their encoding parses back to exactly the same content. So a reader never
//    shows something the writers could not have written (an empty or
//    oversized text, a bad room, a nickname with control characters).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plumlog/chat.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace chat = plumlog::chat;

bool Same(const chat::Content& a, const chat::Content& b) {
  return a.kind == b.kind && a.room == b.room && a.text == b.text &&
         a.name == b.name && a.action == b.action;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const chat::Content c = chat::Parse(input);
  switch (c.kind) {
    case chat::Content::Kind::kOther:
      FUZZ_CHECK(c.room.empty() && c.text.empty() && c.name.empty() &&
                 !c.action);
      break;
    case chat::Content::Kind::kMessage: {
      FUZZ_CHECK(c.name.empty());
      FUZZ_CHECK(chat::ValidateRoom(c.room).ok());
      plumlog::Result<std::string> again =
          c.action ? chat::EncodeAction(c.room, c.text)
                   : chat::EncodeMessage(c.room, c.text);
      if (!again.ok()) {
        std::fprintf(stderr, "parsed a message EncodeMessage rejects: %s\n",
                     again.status().ToString().c_str());
      }
      FUZZ_CHECK(again.ok());
      FUZZ_CHECK(Same(chat::Parse(*again), c));
      break;
    }
    case chat::Content::Kind::kTopic: {
      FUZZ_CHECK(c.name.empty() && !c.action);
      plumlog::Result<std::string> again = chat::EncodeTopic(c.room, c.text);
      if (!again.ok()) {
        std::fprintf(stderr, "parsed a topic EncodeTopic rejects: %s\n",
                     again.status().ToString().c_str());
      }
      FUZZ_CHECK(again.ok());
      FUZZ_CHECK(Same(chat::Parse(*again), c));
      break;
    }
    case chat::Content::Kind::kNick: {
      FUZZ_CHECK(c.room.empty() && c.text.empty() && !c.action);
      plumlog::Result<std::string> again = chat::EncodeNick(c.name);
      if (!again.ok()) {
        std::fprintf(stderr, "parsed a nickname EncodeNick rejects: %s\n",
                     again.status().ToString().c_str());
      }
      FUZZ_CHECK(again.ok());
      FUZZ_CHECK(Same(chat::Parse(*again), c));
      break;
    }
  }
  return 0;
}
