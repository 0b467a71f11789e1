// Out-of-line members of the public Entry type and content helpers.
#include "plumlog/types.h"
#include "format/entry_codec.h"
#include "core/msgpack_reader.h"

namespace plumlog {

Result<Entry> Entry::Decode(std::string_view encoded) { return EntryCodec::Decode(encoded); }

bool Entry::VerifySignature() const { return EntryCodec::Verify(*this); }

std::string TextContent(std::string_view text) {
  std::string out;
  core::AppendMsgpackStr(&out, text);
  return out;
}

}  // namespace plumlog
