#include "net/frame_decoder.h"

#include <algorithm>

namespace plumlog::net {

void AppendFrame(std::string_view frame, std::string* out) {
  const uint32_t n = static_cast<uint32_t>(frame.size());
  const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(header, 4);
  out->append(frame);
}

Status FrameDecoder::Feed(std::string_view data, std::vector<std::string>* frames) {
  if (!error_.ok()) return error_;
  while (!data.empty()) {
    if (need_ == 0) {
      const size_t take = std::min(kFrameHeaderBytes - buffer_.size(), data.size());
      buffer_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (buffer_.size() < kFrameHeaderBytes) break;
      const auto* b = reinterpret_cast<const uint8_t*>(buffer_.data());
      const uint32_t n = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
                         (uint32_t{b[2]} << 8) | uint32_t{b[3]};
      buffer_.clear();
      if (n == 0) {
        error_ = Status::Corruption("empty application frame");
        return error_;
      }
      if (n > max_frame_) {
        error_ = Status::TooLarge("application frame of " + std::to_string(n) +
                                  " bytes exceeds the limit of " + std::to_string(max_frame_));
        return error_;
      }
      need_ = n;
      // Whole frame already here: no copy into the buffer.
      if (data.size() >= need_) {
        frames->emplace_back(data.substr(0, need_));
        data.remove_prefix(need_);
        need_ = 0;
        continue;
      }
    }
    const size_t take = std::min(need_ - buffer_.size(), data.size());
    // Grow by doubling, but never past the frame's size: what a connection
    // holds (held()) stays at most the declared length.
    if (buffer_.capacity() < buffer_.size() + take) {
      // A fresh string: reserve() on a non-empty one may round up past need_.
      std::string grown;
      grown.reserve(std::min(need_, std::max(buffer_.size() + take, 2 * buffer_.capacity())));
      grown.append(buffer_);
      buffer_.swap(grown);
    }
    buffer_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (buffer_.size() == need_) {
      frames->push_back(std::move(buffer_));
      buffer_.clear();
      need_ = 0;
    }
  }
  return Status::OK();
}

}  // namespace plumlog::net
