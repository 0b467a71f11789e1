// Fuzz target: the application frame layer a peer's box-stream plaintext goes
// through (net/frame_decoder.h), then every frame it yields through the
// decoder the node dispatches it to (net/node_impl.cc, Node::Impl::OnFrame):
// DecodeMembershipMessage when IsMembershipFrame, DecodeMessage otherwise.
//
// Input: [h][chunk sizes...][limit byte?][stream...]
//   h & 0x0f  number of chunk-size bytes that follow (0: the whole stream in
//             one Feed); the stream is fed in chunks of those sizes (a size
//             byte of 0 means 1), cycling, as reads of a socket would cut it;
//   h & 0x10  a small frame limit (1 + 4 * the next byte) instead of
//             kMaxAppFrameBytes, so the fuzzer can reach the oversize path.
//
// Checks:
//  - the decoder yields exactly the frames, and fails with exactly the error
//    (Corruption for a zero length, TooLarge over the limit), that a one-pass
//    reference parse of the whole stream gives, however the stream is cut;
//  - every frame is 1..limit bytes; buffered() stays within header + limit
//    and at_boundary() holds exactly when no partial frame is pending; once
//    failed it stays failed and yields nothing more;
//  - routing is unambiguous: a frame DecodeMembershipMessage accepts is one
//    IsMembershipFrame routes to it, and one DecodeMessage accepts is not;
//  - whatever either decoder accepts re-encodes to a frame that decodes to a
//    message of the same type.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/frame_decoder.h"
#include "plumlog/status.h"
#include "replication/membership_message.h"
#include "replication/message.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using plumlog::Status;
using plumlog::net::FrameDecoder;
using plumlog::net::kFrameHeaderBytes;
using plumlog::net::kMaxAppFrameBytes;
namespace rep = plumlog::replication;

struct Reference {
  std::vector<std::string> frames;
  Status::Code error = Status::Code::kOk;
  size_t pending = 0;  // bytes of an incomplete header or frame at the end
};

// The whole stream in one pass, written as plainly as possible.
Reference ParseAll(std::string_view s, size_t limit) {
  Reference ref;
  size_t at = 0;
  while (s.size() - at >= kFrameHeaderBytes) {
    const auto* b = reinterpret_cast<const uint8_t*>(s.data() + at);
    const uint32_t n = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
                       (uint32_t{b[2]} << 8) | uint32_t{b[3]};
    if (n == 0) {
      ref.error = Status::Code::kCorruption;
      return ref;
    }
    if (n > limit) {
      ref.error = Status::Code::kTooLarge;
      return ref;
    }
    if (s.size() - at - kFrameHeaderBytes < n) break;
    ref.frames.emplace_back(s.substr(at + kFrameHeaderBytes, n));
    at += kFrameHeaderBytes + n;
  }
  ref.pending = s.size() - at;
  return ref;
}

void Dispatch(std::string_view frame) {
  const bool membership = rep::IsMembershipFrame(frame);
  plumlog::Result<rep::MembershipMessage> mm = rep::DecodeMembershipMessage(frame);
  plumlog::Result<rep::Message> rm = rep::DecodeMessage(frame);
  if (mm.ok()) FUZZ_CHECK(membership);
  if (rm.ok()) FUZZ_CHECK(!membership);
  FUZZ_CHECK(!(mm.ok() && rm.ok()));
  if (membership) {
    if (!mm.ok()) {
      FUZZ_CHECK(!mm.status().message().empty());
      return;
    }
    const std::string again = rep::EncodeMembershipMessage(*mm);
    FUZZ_CHECK(rep::IsMembershipFrame(again));
    plumlog::Result<rep::MembershipMessage> mm2 = rep::DecodeMembershipMessage(again);
    FUZZ_CHECK(mm2.ok());
    FUZZ_CHECK(rep::TypeOf(*mm2) == rep::TypeOf(*mm));
  } else {
    if (!rm.ok()) {
      FUZZ_CHECK(!rm.status().message().empty());
      return;
    }
    const std::string again = rep::EncodeMessage(*rm);
    FUZZ_CHECK(!rep::IsMembershipFrame(again));
    plumlog::Result<rep::Message> rm2 = rep::DecodeMessage(again);
    FUZZ_CHECK(rm2.ok());
    FUZZ_CHECK(rep::TypeOf(*rm2) == rep::TypeOf(*rm));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  const auto h = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  const size_t nchunks = h & 0x0f;
  if (in.size() < nchunks) return 0;
  const std::string_view chunks = in.substr(0, nchunks);
  in.remove_prefix(nchunks);
  size_t limit = kMaxAppFrameBytes;
  if (h & 0x10) {
    if (in.empty()) return 0;
    limit = 1 + 4 * size_t{static_cast<uint8_t>(in[0])};
    in.remove_prefix(1);
  }
  const std::string_view stream = in;
  const Reference ref = ParseAll(stream, limit);

  FrameDecoder decoder(limit);
  std::vector<std::string> frames;
  Status st;
  size_t fed = 0;
  size_t next_chunk = 0;
  while (fed < stream.size()) {
    size_t n = stream.size() - fed;
    if (nchunks > 0) {
      const auto c = static_cast<uint8_t>(chunks[next_chunk++ % nchunks]);
      n = std::min<size_t>(n, c == 0 ? 1 : c);
    }
    const size_t before = frames.size();
    const bool failed_before = !st.ok();
    Status s = decoder.Feed(stream.substr(fed, n), &frames);
    fed += n;
    if (failed_before) {
      // A failed decoder stays failed and yields nothing more.
      FUZZ_CHECK(!s.ok());
      FUZZ_CHECK(s.code() == st.code());
      FUZZ_CHECK(frames.size() == before);
    }
    st = s;
    FUZZ_CHECK(decoder.buffered() <= kFrameHeaderBytes + limit);
    if (st.ok()) {
      // Frames come out in order, each complete, none empty or oversized.
      FUZZ_CHECK(frames.size() <= ref.frames.size());
      for (size_t i = before; i < frames.size(); ++i) {
        FUZZ_CHECK(!frames[i].empty() && frames[i].size() <= limit);
        FUZZ_CHECK(frames[i] == ref.frames[i]);
      }
    }
  }

  if (ref.error == Status::Code::kOk) {
    FUZZ_CHECK(st.ok());
    FUZZ_CHECK(frames.size() == ref.frames.size());
    FUZZ_CHECK(decoder.at_boundary() == (ref.pending == 0));
    if (ref.pending > 0) {
      // What is held is the pending tail, less a parsed header (at most the
      // header itself while reading one).
      FUZZ_CHECK(decoder.buffered() <= ref.pending);
    }
  } else {
    FUZZ_CHECK(!st.ok());
    FUZZ_CHECK(st.code() == ref.error);
    FUZZ_CHECK(!st.message().empty());
    FUZZ_CHECK(frames.size() == ref.frames.size());
    std::vector<std::string> more;
    FUZZ_CHECK(!decoder.Feed(std::string_view("\0\0\0\1x", 5), &more).ok());
    FUZZ_CHECK(more.empty());
  }
  for (size_t i = 0; i < frames.size(); ++i) FUZZ_CHECK(frames[i] == ref.frames[i]);

  // Every frame as the node dispatches it (a failed decoder's earlier frames
  // are delivered too: Connection::HandleBox).
  for (const std::string& f : frames) Dispatch(f);
  return 0;
}
