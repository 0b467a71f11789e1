// Application frames inside a box-stream (docs/protocol.md section 18): each
// frame is a 4-byte big-endian length followed by that many bytes, one
// replication or membership message (a msgpack array whose first element is
// the message type). Frames are at most kMaxAppFrameBytes; a length of 0 or
// above the limit is an error (the connection is dropped).
//
// Sans-IO: plaintext in, whole frames out.
#ifndef PLUMLOG_NET_FRAME_DECODER_H_
#define PLUMLOG_NET_FRAME_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plumlog/status.h"

namespace plumlog::net {

// The largest frame: replication's limit (replication/message.h, 1 MiB).
inline constexpr size_t kMaxAppFrameBytes = size_t{1} << 20;
inline constexpr size_t kFrameHeaderBytes = 4;

// Appends the header and `frame` to *out.
void AppendFrame(std::string_view frame, std::string* out);

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame = kMaxAppFrameBytes) : max_frame_(max_frame) {}

  // Consumes `data`; every frame it completes is appended to *frames. Fails
  // (and stays failed) on a zero or oversized length; the error is
  // TooLarge for an oversized frame, Corruption otherwise.
  Status Feed(std::string_view data, std::vector<std::string>* frames);
  // Bytes of an incomplete frame held (at most header + max_frame).
  size_t buffered() const { return buffer_.size(); }
  // Memory held for the incomplete frame (its buffer's capacity, at most the
  // frame's declared length); 0 between frames.
  size_t held() const { return need_ == 0 ? 0 : buffer_.capacity(); }
  // True when no partial frame is pending (a clean end of stream).
  bool at_boundary() const { return need_ == 0 && buffer_.empty(); }

 private:
  size_t max_frame_;
  std::string buffer_;
  size_t need_ = 0;  // body length of the frame in progress (0: reading a header)
  Status error_;
};

}  // namespace plumlog::net

#endif  // PLUMLOG_NET_FRAME_DECODER_H_
