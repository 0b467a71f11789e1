// Fuzz target: DecodeMembershipMessage, which reads every membership frame a
// peer sends (docs/protocol.md section 17).
//
// Checks:
//  - the decoder never crashes and rejects with a message;
//  - whatever it accepts is a membership frame (IsMembershipFrame), respects
//    every limit, and re-encodes to a frame no longer than the input that
//    decodes to the same message (the encoder's form is canonical; the
//    reader accepts longer array headers, as for replication frames).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "replication/membership_message.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace plumlog::replication;

void CheckLimits(const MembershipMessage& m) {
  auto addr = [](const std::string& a) { FUZZ_CHECK(a.size() <= kMaxAddressBytes); };
  auto updates = [&](const std::vector<MemberUpdate>& us) {
    FUZZ_CHECK(us.size() <= kMaxPiggybackUpdates);
    for (const auto& u : us) {
      addr(u.address);
      FUZZ_CHECK(u.incarnation <= kMaxIncarnation);
      FUZZ_CHECK(static_cast<int>(u.state) <= static_cast<int>(MemberState::kLeft));
    }
  };
  if (const auto* s = std::get_if<ShuffleMessage>(&m)) {
    FUZZ_CHECK(s->samples.size() <= kMaxShuffleEntries);
    FUZZ_CHECK(s->ttl <= kMaxWalkLength);
    for (const auto& x : s->samples) addr(x.address);
  } else if (const auto* sr = std::get_if<ShuffleReplyMessage>(&m)) {
    FUZZ_CHECK(sr->samples.size() <= kMaxShuffleEntries);
  } else if (const auto* fj = std::get_if<ForwardJoinMessage>(&m)) {
    FUZZ_CHECK(fj->ttl <= kMaxWalkLength);
    addr(fj->address);
  } else if (const auto* p = std::get_if<PingMessage>(&m)) {
    updates(p->updates);
  } else if (const auto* a = std::get_if<AckMessage>(&m)) {
    updates(a->updates);
  } else if (const auto* pr = std::get_if<PingReqMessage>(&m)) {
    updates(pr->updates);
    addr(pr->target_address);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  plumlog::Result<MembershipMessage> m = DecodeMembershipMessage(input);
  if (!m.ok()) {
    FUZZ_CHECK(!m.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(IsMembershipFrame(input));
  CheckLimits(*m);
  const std::string again = EncodeMembershipMessage(*m);
  FUZZ_CHECK(again.size() <= input.size());
  plumlog::Result<MembershipMessage> m2 = DecodeMembershipMessage(again);
  FUZZ_CHECK(m2.ok());
  FUZZ_CHECK(EncodeMembershipMessage(*m2) == again);
  const auto t = static_cast<uint8_t>(TypeOf(*m));
  FUZZ_CHECK(t >= 16 && t <= 63);
  return 0;
}
