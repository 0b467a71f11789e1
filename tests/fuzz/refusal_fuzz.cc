// Fuzz target: net::DecodeRefusal, the Refused frame a peer sends before it
// closes a connection it will not keep (docs/protocol.md section 18). What
// decodes re-encodes to a frame that decodes to the same refusal (msgpack
// allows longer forms, e.g. str8 for a short string, which the reader takes
// and the encoder does not write), and the reason never holds a control
// character (it is shown to people).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "node/refusal.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  plumlog::Result<plumlog::node::Refusal> r = plumlog::node::DecodeRefusal(input);
  if (!r.ok()) {
    FUZZ_CHECK(!r.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(plumlog::node::IsRefusalFrame(input));
  FUZZ_CHECK(r->reason.size() <= plumlog::node::kMaxRefusalReasonBytes);
  FUZZ_CHECK(r->retry_after_ms <= plumlog::node::kMaxRetryAfterMs);
  bool control = false;
  for (char c : r->reason) {
    const auto u = static_cast<uint8_t>(c);
    control = control || u < 0x20 || u == 0x7f;
  }
  FUZZ_CHECK(!control);
  const std::string again = plumlog::node::EncodeRefusal(*r);
  FUZZ_CHECK(again.size() <= input.size() + 8);
  plumlog::Result<plumlog::node::Refusal> back =
      plumlog::node::DecodeRefusal(again);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->reason == r->reason);
  FUZZ_CHECK(back->retry_after_ms == r->retry_after_ms);
  return 0;
}
