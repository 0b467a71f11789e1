#include "replication/reconcile_message.h"

#include <cassert>

#include "replication/note.h"
#include "replication/wire.h"
#include "core/msgpack_reader.h"

namespace plumlog::replication {

using core::MsgpackReader;

namespace {

constexpr uint64_t kType = static_cast<uint64_t>(MessageType::kReconcile);

// Bytes of the shortest msgpack encodings the encoder writes.
size_t UintSize(uint64_t v) {
  if (v < 128) return 1;
  if (v <= 0xff) return 2;
  if (v <= 0xffff) return 3;
  if (v <= 0xffffffffu) return 5;
  return 9;
}
size_t ArrayHeaderSize(size_t n) { return n < 16 ? 1 : n <= 0xffff ? 3 : 5; }
size_t BinSize(size_t n) { return (n <= 0xff ? 2 : n <= 0xffff ? 3 : 5) + n; }

size_t PrefixBytes(uint32_t bits) { return (bits + 7) / 8; }

void WriteItem(std::string* out, const DigestItem& item) {
  core::AppendMsgpackArrayHeader(out, 3);
  core::AppendMsgpackBin(out, item.feed.view());
  core::AppendMsgpackUint(out, item.seq);
  core::AppendMsgpackUint(out, item.head_prefix);
}

Status ReadRange(MsgpackReader& r, FeedRange* range) {
  uint64_t bits;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("reconcile range bits", &bits));
  if (bits > 256)
    return Status::Corruption("reconcile range of " + std::to_string(bits) +
                              " bits");
  std::string_view prefix;
  PLUMLOG_RETURN_IF_ERROR(
      r.ReadBinExact("reconcile range prefix",
                     PrefixBytes(static_cast<uint32_t>(bits)), &prefix));
  FeedId id;
  std::memcpy(id.mutable_bytes().data(), prefix.data(), prefix.size());
  range->prefix = id;
  range->bits = static_cast<uint32_t>(bits);
  if (!(FeedRange::Of(id, range->bits) == *range)) {
    return Status::Corruption(
        "reconcile range prefix has bits set past its length");
  }
  return Status::OK();
}

}  // namespace

bool IsReconcileFrame(std::string_view frame) {
  uint64_t t = 0;
  return core::PeekFrameType(frame, &t) && t == kType;
}

size_t EncodedPartSize(const ReconcilePart& p) {
  size_t n = UintSize(p.range.bits) + BinSize(PrefixBytes(p.range.bits)) + 1;
  if (p.mode == ReconcileMode::kFingerprints) {
    return 1 + n + UintSize(p.split_bits) + BinSize(p.fingerprints.size());
  }
  n += 1 + ArrayHeaderSize(p.items.size());
  for (const DigestItem& item : p.items) {
    n += 1 + BinSize(FeedId::kSize) + UintSize(item.seq) +
         UintSize(item.head_prefix);
  }
  return n;
}

std::string EncodeReconcileMessage(const ReconcileMessage& m) {
  assert(m.parts.size() <= kMaxReconcileParts);
  std::string out;
  core::AppendMsgpackArrayHeader(&out, 6);
  core::AppendMsgpackUint(&out, kType);
  core::AppendMsgpackUint(&out, m.session);
  core::AppendMsgpackUint(&out, m.round);
  core::AppendMsgpackUint(&out, m.fingerprint_bytes);
  core::AppendMsgpackBool(&out, m.truncated);
  core::AppendMsgpackArrayHeader(&out,
                                    static_cast<uint32_t>(m.parts.size()));
  for (const ReconcilePart& p : m.parts) {
    const bool fps = p.mode == ReconcileMode::kFingerprints;
    core::AppendMsgpackArrayHeader(&out, fps ? 5 : 4);
    core::AppendMsgpackUint(&out, p.range.bits);
    core::AppendMsgpackBin(
        &out, p.range.prefix.view().substr(0, PrefixBytes(p.range.bits)));
    core::AppendMsgpackUint(&out, static_cast<uint64_t>(p.mode));
    if (fps) {
      core::AppendMsgpackUint(&out, p.split_bits);
      core::AppendMsgpackBin(&out, p.fingerprints);
    } else {
      core::AppendMsgpackArrayHeader(&out,
                                        static_cast<uint32_t>(p.items.size()));
      for (const DigestItem& item : p.items) WriteItem(&out, item);
    }
  }
  return out;
}

Result<ReconcileMessage> DecodeReconcileMessage(std::string_view frame) {
  if (frame.size() > kMaxFrameBytes) {
    return Status::TooLarge("reconcile frame of " +
                            std::to_string(frame.size()) + " bytes");
  }
  MsgpackReader r(frame);
  uint32_t fields;
  PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("reconcile message", &fields));
  if (fields != 6) {
    return Status::Corruption("reconcile message: expected 6 fields, got " +
                              std::to_string(fields));
  }
  uint64_t type, round, fp_bytes;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("message type", &type));
  if (type != kType) return Status::Corruption("not a reconcile message");
  ReconcileMessage m;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("reconcile session", &m.session));
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("reconcile round", &round));
  if (round > kMaxReconcileRound) {
    return Status::Corruption("reconcile round " + std::to_string(round) +
                              " over the limit " +
                              std::to_string(kMaxReconcileRound));
  }
  m.round = static_cast<uint32_t>(round);
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("reconcile fingerprint bytes", &fp_bytes));
  if (fp_bytes < kMinFingerprintBytes || fp_bytes > kMaxFingerprintBytes) {
    return Status::Corruption("reconcile fingerprints of " +
                              std::to_string(fp_bytes) + " bytes");
  }
  m.fingerprint_bytes = static_cast<uint32_t>(fp_bytes);
  PLUMLOG_RETURN_IF_ERROR(r.ReadBool("reconcile truncated flag", &m.truncated));
  uint32_t n;
  // A part is at least [bits, prefix, mode, []]: 5 bytes.
  PLUMLOG_RETURN_IF_ERROR(
      ReadCount(r, "reconcile parts", kMaxReconcileParts, 5, &n));
  m.parts.reserve(n);
  size_t children = 0, items = 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t k;
    PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("reconcile part", &k));
    ReconcilePart p;
    PLUMLOG_RETURN_IF_ERROR(ReadRange(r, &p.range));
    if (!m.parts.empty() && !(m.parts.back().range.Last() < p.range.First())) {
      return Status::Corruption("reconcile parts overlap or are out of order");
    }
    uint64_t mode;
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("reconcile part mode", &mode));
    if (mode == static_cast<uint64_t>(ReconcileMode::kFingerprints)) {
      if (k != 5)
        return Status::Corruption(
            "reconcile fingerprints part: must have 5 fields");
      p.mode = ReconcileMode::kFingerprints;
      uint64_t split;
      PLUMLOG_RETURN_IF_ERROR(r.ReadUint("reconcile split bits", &split));
      if (split < 1 || split > kMaxReconcileSplitBits ||
          p.range.bits + split > 256) {
        return Status::Corruption("reconcile split of " +
                                  std::to_string(split) + " bits");
      }
      p.split_bits = static_cast<uint32_t>(split);
      const size_t count = size_t{1} << p.split_bits;
      children += count;
      if (children > kMaxReconcileChildren) {
        return Status::TooLarge("reconcile message: more than " +
                                std::to_string(kMaxReconcileChildren) +
                                " fingerprints");
      }
      std::string_view fps;
      PLUMLOG_RETURN_IF_ERROR(
          r.ReadBinExact("reconcile fingerprints", count * fp_bytes, &fps));
      p.fingerprints.assign(fps);
    } else if (mode == static_cast<uint64_t>(ReconcileMode::kItems)) {
      if (k != 4)
        return Status::Corruption("reconcile items part: must have 4 fields");
      p.mode = ReconcileMode::kItems;
      uint32_t count;
      // An item is at least [bin32, 1, 0]: 37 bytes.
      PLUMLOG_RETURN_IF_ERROR(
          ReadCount(r, "reconcile items", kMaxReconcileItems, 37, &count));
      items += count;
      if (items > kMaxReconcileItems) {
        return Status::TooLarge("reconcile message: more than " +
                                std::to_string(kMaxReconcileItems) + " items");
      }
      p.items.reserve(count);
      for (uint32_t j = 0; j < count; ++j) {
        uint32_t f;
        PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("reconcile item", &f));
        if (f != 3)
          return Status::Corruption(
              "reconcile item: must be [feed, seq, head]");
        DigestItem item;
        PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, "reconcile item feed", &item.feed));
        PLUMLOG_RETURN_IF_ERROR(r.ReadUint("reconcile item seq", &item.seq));
        PLUMLOG_RETURN_IF_ERROR(
            r.ReadUint("reconcile item head", &item.head_prefix));
        if (item.seq < 1 || item.seq > kMaxNoteSeq) {
          return Status::Corruption("reconcile item: sequence out of range");
        }
        if (!p.range.Contains(item.feed) ||
            (!p.items.empty() && !(p.items.back().feed < item.feed))) {
          return Status::Corruption(
              "reconcile items out of order or outside their range");
        }
        p.items.push_back(item);
      }
    } else {
      return Status::Corruption("unknown reconcile part mode " +
                                std::to_string(mode));
    }
    m.parts.push_back(std::move(p));
  }
  PLUMLOG_RETURN_IF_ERROR(r.ExpectEnd("reconcile message"));
  return m;
}

}  // namespace plumlog::replication
