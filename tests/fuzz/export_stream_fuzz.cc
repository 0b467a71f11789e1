// Fuzz target: ExportReader, which reads export streams (docs/format.md) from
// files and pipes that anyone may hand to `plumlog import`.
//
// The reader must finish or fail on every input, making progress on every
// record. When it reaches the end record, the stream must have been consumed
// exactly and writing the entries again must reproduce the input byte for byte.
//
// Random mutations almost never carry a correct BLAKE2b digest, so each input
// is also run a second time with its last 32 bytes replaced by the digest of
// everything before them; that lets the fuzzer explore the end-record checks
// and the full round trip.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/hash.h"
#include "plumlog/types.h"
#include "storage/export_stream.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using plumlog::Entry;
using plumlog::Status;
using plumlog::storage::ExportReader;
using plumlog::storage::ExportWriter;

constexpr size_t kLengthBytes = 4;
constexpr size_t kEndRecordBytes = 4 + 8 + 32;

void ReadStream(std::string_view input) {
  std::istringstream in{std::string(input)};
  ExportReader reader(&in);
  std::vector<Entry> entries;
  uint64_t last_offset = 0;
  bool done = false;
  // Every record that is not the end consumes at least 5 bytes, so a reader
  // that makes progress stops within this many calls.
  const size_t max_calls = input.size() / (kLengthBytes + 1) + 2;
  size_t calls = 0;
  for (; calls < max_calls; ++calls) {
    Entry entry;
    Status st = reader.Next(&entry, &done);
    FUZZ_CHECK(reader.offset() >= last_offset);
    FUZZ_CHECK(reader.offset() <= input.size());
    if (!st.ok()) {
      FUZZ_CHECK(!done);
      FUZZ_CHECK(!st.message().empty());
      return;
    }
    if (done) break;
    // The entry is the record just read: its bytes end at the reader's offset,
    // behind a 4-byte big-endian length.
    const size_t n = entry.encoded().size();
    FUZZ_CHECK(n >= 1 && n <= plumlog::kMaxEntryBytes);
    FUZZ_CHECK(reader.offset() - last_offset >= n + kLengthBytes);
    const size_t at = static_cast<size_t>(reader.offset()) - n;
    FUZZ_CHECK(input.substr(at, n) == entry.encoded());
    const auto* len =
        reinterpret_cast<const uint8_t*>(input.data() + at - kLengthBytes);
    FUZZ_CHECK(((uint32_t{len[0]} << 24) | (uint32_t{len[1]} << 16) |
                (uint32_t{len[2]} << 8) | uint32_t{len[3]}) == n);
    entries.push_back(std::move(entry));
    FUZZ_CHECK(reader.count() == entries.size());
    last_offset = reader.offset();
  }
  FUZZ_CHECK(calls < max_calls);  // otherwise the reader stopped progressing
  FUZZ_CHECK(done);

  // The whole stream, and nothing after it, was consumed.
  FUZZ_CHECK(reader.offset() == input.size());
  FUZZ_CHECK(reader.count() == entries.size());
  FUZZ_CHECK(input.size() >=
             plumlog::storage::kExportMagic.size() + kEndRecordBytes);

  // Once done, the reader stays done.
  Entry extra;
  bool done_again = false;
  FUZZ_CHECK(reader.Next(&extra, &done_again).ok());
  FUZZ_CHECK(done_again);

  // Writing the same entries again reproduces the stream exactly.
  std::ostringstream out;
  ExportWriter writer(&out);
  for (const Entry& e : entries) FUZZ_CHECK(writer.Write(e).ok());
  FUZZ_CHECK(writer.Finish().ok());
  FUZZ_CHECK(writer.count() == entries.size());
  FUZZ_CHECK(out.str() == input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  ReadStream(input);
  if (size >= plumlog::storage::kExportMagic.size() + kEndRecordBytes) {
    std::string fixed(input);
    const auto digest = plumlog::crypto::Blake2b256(input.substr(0, size - 32));
    std::memcpy(fixed.data() + size - 32, digest.data(), digest.size());
    if (fixed != input) ReadStream(fixed);
  }
  return 0;
}
