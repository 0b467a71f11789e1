// Fuzz target: Entry::Decode, the strict decoder for entries received from
// peers, export streams and the store itself (docs/format.md).
//
// On every input the decoder must return without crashing. When it accepts an
// input, the decoded entry must be self-consistent and canonical: its bytes are
// the input, the signed bytes are a prefix that the encoder reproduces exactly
// from the decoded fields, the content is one well-formed value, the id is the
// hash of the signed bytes, and decoding again gives the same entry.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/hash.h"
#include "plumlog/types.h"
#include "format/entry_codec.h"
#include "core/msgpack_reader.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using plumlog::Entry;
using plumlog::EntryCodec;

void CheckSameEntry(const Entry& a, const Entry& b) {
  FUZZ_CHECK(a.encoded() == b.encoded());
  FUZZ_CHECK(a.author() == b.author());
  FUZZ_CHECK(a.seq() == b.seq());
  FUZZ_CHECK(a.previous() == b.previous());
  FUZZ_CHECK(a.lamport() == b.lamport());
  FUZZ_CHECK(a.timestamp_ms() == b.timestamp_ms());
  FUZZ_CHECK(a.content() == b.content());
  FUZZ_CHECK(a.signed_bytes() == b.signed_bytes());
  FUZZ_CHECK(a.id() == b.id());
}

void CheckAccepted(std::string_view input, const Entry& e) {
  // The entry holds exactly the input.
  FUZZ_CHECK(e.encoded() == input);
  FUZZ_CHECK(input.size() <= plumlog::kMaxEntryBytes);
  FUZZ_CHECK(e.format_version() == plumlog::kEntryFormatVersion);

  // Field rules (docs/format.md).
  FUZZ_CHECK(e.seq() >= 1 && e.seq() <= plumlog::kMaxClockValue);
  FUZZ_CHECK((e.seq() == 1) == !e.previous().has_value());
  FUZZ_CHECK(e.lamport() >= 1 && e.lamport() <= plumlog::kMaxClockValue);
  FUZZ_CHECK(e.timestamp_ms() <= plumlog::kMaxClockValue);

  // Layout: signed bytes are a prefix, the content ends them, and exactly the
  // canonical signature trailer (bin8 of 64 bytes) follows.
  const std::string_view signed_bytes = e.signed_bytes();
  FUZZ_CHECK(input.substr(0, signed_bytes.size()) == signed_bytes);
  const std::string_view content = e.content();
  FUZZ_CHECK(!content.empty());
  FUZZ_CHECK(content.data() >= signed_bytes.data());
  FUZZ_CHECK(content.data() + content.size() ==
             signed_bytes.data() + signed_bytes.size());
  FUZZ_CHECK(input.size() ==
             signed_bytes.size() + EntryCodec::kSignatureTrailer);
  FUZZ_CHECK(static_cast<uint8_t>(input[signed_bytes.size()]) == 0xc4);
  FUZZ_CHECK(static_cast<uint8_t>(input[signed_bytes.size() + 1]) == 0x40);
  FUZZ_CHECK(std::string_view(
                 reinterpret_cast<const char*>(e.signature().data()),
                 e.signature().size()) == input.substr(input.size() - 64));

  // The content re-skips cleanly as exactly one value within the depth limit.
  plumlog::core::MsgpackReader content_reader(content);
  FUZZ_CHECK(
      content_reader.SkipValue("content", plumlog::kMaxContentDepth).ok());
  FUZZ_CHECK(content_reader.ExpectEnd("content").ok());

  // The id is the hash of the signed bytes.
  FUZZ_CHECK(e.id() == EntryCodec::IdOf(signed_bytes));
  FUZZ_CHECK(e.id().bytes() == plumlog::crypto::Blake2b256(signed_bytes));

  // Re-encoding the decoded fields reproduces the signed bytes exactly: the
  // decoder accepts only the one encoding the encoder writes.
  EntryCodec::Fields fields;
  fields.author = e.author();
  fields.seq = e.seq();
  fields.previous = e.previous();
  fields.lamport = e.lamport();
  fields.timestamp_ms = e.timestamp_ms();
  fields.content = content;
  plumlog::Result<std::string> reencoded = EntryCodec::EncodeSigned(fields);
  FUZZ_CHECK(reencoded.ok());
  FUZZ_CHECK(*reencoded == signed_bytes);

  // Decoding is stable: again from the entry's own bytes, and via the
  // store's trusted-id path.
  plumlog::Result<Entry> again = Entry::Decode(e.encoded());
  FUZZ_CHECK(again.ok());
  CheckSameEntry(e, *again);
  plumlog::Result<Entry> stored = EntryCodec::DecodeStored(input, e.id());
  FUZZ_CHECK(stored.ok());
  CheckSameEntry(e, *stored);

  // Copies are equal and independent of the input buffer.
  Entry copy = e;
  FUZZ_CHECK(copy == e);
  CheckSameEntry(e, copy);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  plumlog::Result<Entry> decoded = Entry::Decode(input);
  if (!decoded.ok()) {
    FUZZ_CHECK(!decoded.status().ok());
    FUZZ_CHECK(!decoded.status().message().empty());
    // The trusted-id path runs the same structure checks.
    FUZZ_CHECK(!EntryCodec::DecodeStored(input, plumlog::EntryId()).ok());
    return 0;
  }
  CheckAccepted(input, *decoded);
  return 0;
}
