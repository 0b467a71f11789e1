// Fuzz target: box-stream decoding of hostile input (crypto/box_stream.h).
//
// Input: one mode byte, then data. Mode 0 (even): the data is ciphertext fed
// to the decoder in chunks of (mode >> 1) + 1 bytes; it must never crash and
// never buffer more than one frame. Mode odd: the data is plaintext, encoded
// with goodbye and decoded back in chunks; it must round-trip exactly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/box_stream.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using plumlog::crypto::BoxStreamDecoder;
using plumlog::crypto::BoxStreamEncoder;
using plumlog::crypto::BoxStreamKey;
using plumlog::crypto::kBoxStreamHeaderSize;
using plumlog::crypto::kBoxStreamMaxBodySize;

BoxStreamKey FixedKey() {
  BoxStreamKey k;
  for (size_t i = 0; i < k.key.size(); ++i)
    k.key[i] = static_cast<uint8_t>(i * 3);
  for (size_t i = 0; i < k.nonce.size(); ++i)
    k.nonce[i] = static_cast<uint8_t>(200 + i);
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  const size_t chunk = (mode >> 1) + 1;

  std::string wire;
  if (mode & 1) {
    BoxStreamEncoder enc(FixedKey());
    FUZZ_CHECK(enc.Encode(input, &wire).ok());
    FUZZ_CHECK(enc.Goodbye(&wire).ok());
  } else {
    wire.assign(input);
  }

  BoxStreamDecoder dec(FixedKey());
  std::string plain;
  bool ok = true;
  for (size_t i = 0; i < wire.size() && ok; i += chunk) {
    ok = dec.Feed(std::string_view(wire).substr(i, chunk), &plain).ok();
    FUZZ_CHECK(dec.buffered() <= kBoxStreamHeaderSize + kBoxStreamMaxBodySize);
  }
  const bool ended_ok = dec.End().ok();
  FUZZ_CHECK(ended_ok == (ok && dec.goodbye()));
  if (mode & 1) {
    FUZZ_CHECK(ok && ended_ok);
    FUZZ_CHECK(plain == input);
  }
  return 0;
}
