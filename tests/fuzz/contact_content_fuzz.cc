// Fuzz target: node::ParseContact (node/contact.h), which reads the content
// of entries from any author: contact entries decide the follow graph a node
// replicates by.
//
// Checks:
//  - ParseContact never crashes, whatever the bytes;
//  - whatever it accepts re-encodes (EncodeContact) to content that parses
//    back to the same contact and verdict, so a reader never acts on a
//    follow the writers could not have written;
//  - the re-encoding is one msgpack map with str keys (what docs/format.md
//    specifies), so a second reader sees the same thing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/msgpack_reader.h"
#include "node/contact.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<plumlog::node::ContactContent> c = plumlog::node::ParseContact(input);
  if (!c) return 0;
  const std::string again = plumlog::node::EncodeContact(c->contact, c->following);
  std::optional<plumlog::node::ContactContent> back = plumlog::node::ParseContact(again);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->contact == c->contact);
  FUZZ_CHECK(back->following == c->following);
  plumlog::core::MsgpackReader r(again);
  FUZZ_CHECK(r.SkipValue("content", 4).ok());
  FUZZ_CHECK(r.at_end());
  return 0;
}
