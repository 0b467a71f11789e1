// Fuzz target: net::DecodeRefusal, the Refused frame a peer sends before it
// closes a connection it will not keep (docs/protocol.md section 18). What
// decodes re-encodes to the same bytes (one encoding per message), and the
// reason never holds a control character (it is shown to people).
#include <cstddef>
#include <cstdint>
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
  // Shortest forms only: a decoded frame without replaced characters is
  // exactly what the encoder writes.
  if (r->reason.find('?') == std::string::npos) {
    FUZZ_CHECK(plumlog::node::EncodeRefusal(*r) == input);
  }
  return 0;
}
