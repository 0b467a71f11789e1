#include "node/refusal.h"

#include <algorithm>

#include "core/msgpack_reader.h"

namespace plumlog::node {

bool IsRefusalFrame(std::string_view frame) {
  uint64_t t = 0;
  return core::PeekFrameType(frame, &t) && t == kRefusedType;
}

std::string EncodeRefusal(const Refusal& r) {
  std::string_view reason = r.reason;
  if (reason.size() > kMaxRefusalReasonBytes) {
    size_t n = kMaxRefusalReasonBytes;
    // Back off continuation bytes (10xxxxxx) so the cut is at a character.
    while (n > 0 && (static_cast<uint8_t>(reason[n]) & 0xC0) == 0x80) --n;
    reason = reason.substr(0, n);
  }
  std::string out;
  core::AppendMsgpackArrayHeader(&out, 3);
  core::AppendMsgpackUint(&out, kRefusedType);
  core::AppendMsgpackStr(&out, reason);
  core::AppendMsgpackUint(&out, std::min(r.retry_after_ms, kMaxRetryAfterMs));
  return out;
}

Result<Refusal> DecodeRefusal(std::string_view frame) {
  core::MsgpackReader r(frame);
  uint32_t n = 0;
  PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("refused", &n));
  if (n != 3)
    return Status::Corruption("refused: expected 3 fields, got " +
                              std::to_string(n));
  uint64_t type = 0;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("refused type", &type));
  if (type != kRefusedType)
    return Status::Corruption("refused: wrong type " + std::to_string(type));
  std::string_view reason;
  PLUMLOG_RETURN_IF_ERROR(
      r.ReadStr("refused reason", kMaxRefusalReasonBytes, &reason));
  Refusal out;
  // It ends up in logs and terminals: control characters become '?'.
  out.reason.reserve(reason.size());
  for (char c : reason) {
    const auto u = static_cast<uint8_t>(c);
    out.reason.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  PLUMLOG_RETURN_IF_ERROR(
      r.ReadUint("refused retry_after_ms", &out.retry_after_ms));
  if (out.retry_after_ms > kMaxRetryAfterMs) {
    return Status::Corruption("refused: retry_after_ms over a day");
  }
  PLUMLOG_RETURN_IF_ERROR(r.ExpectEnd("refused"));
  return out;
}

}  // namespace plumlog::node
