#ifndef PLUMLOG_CORE_MSGPACK_READER_H_
#define PLUMLOG_CORE_MSGPACK_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plumlog/status.h"

namespace plumlog::core {

// A strict, allocation-free msgpack reader over a byte range for decoders of
// outside input. Every read checks bounds and type and returns a Status whose
// message names the field and the byte offset; nothing throws.
class MsgpackReader {
 public:
  explicit MsgpackReader(std::string_view data) : data_(data) {}

  size_t offset() const { return pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  size_t remaining() const { return data_.size() - pos_; }

  // Array header; `what` names the field in errors.
  Status ReadArrayHeader(std::string_view what, uint32_t* size);
  Status ReadMapHeader(std::string_view what, uint32_t* size);
  // A non-negative integer in its shortest msgpack encoding (positive fixint,
  // uint8/16/32/64). Negative or float encodings, or a longer-than-needed form,
  // are errors.
  Status ReadUint(std::string_view what, uint64_t* value);
  // Any integer encoding (signed or unsigned), shortest form not required.
  Status ReadInt(std::string_view what, int64_t* value);
  // A bin value of exactly `size` bytes, with the shortest bin header (bin8 up
  // to 255 bytes), so fixed-size fields have exactly one encoding.
  Status ReadBinExact(std::string_view what, size_t size, std::string_view* out);
  // A bin value of any size up to max_size.
  Status ReadBin(std::string_view what, size_t max_size, std::string_view* out);
  Status ReadStr(std::string_view what, size_t max_size, std::string_view* out);
  Status ReadBool(std::string_view what, bool* value);
  // True (and consumes it) if the next byte is nil.
  bool TryReadNil();
  // Validates and skips one complete value, nesting at most max_depth deep.
  Status SkipValue(std::string_view what, int max_depth);
  // Error unless every byte was consumed.
  Status ExpectEnd(std::string_view what) const;

 private:
  Status Error(std::string_view what, std::string_view problem) const;
  bool Take(size_t n, const char** p);
  template <typename T>
  bool ReadBE(T* v);

  std::string_view data_;
  size_t pos_ = 0;
};

// The type of a wire frame: the first element of its array (any array header
// form) as an unsigned integer in shortest form. False if the frame does not
// start that way. Routing by it agrees with the strict decoders, which accept
// the same headers; a frame it names may still fail to decode.
bool PeekFrameType(std::string_view frame, uint64_t* type);

// Writers for the handful of msgpack forms plumlog's formats use; always the
// shortest form, so encoders and the strict reader agree.
void AppendMsgpackUint(std::string* out, uint64_t v);
void AppendMsgpackBin(std::string* out, std::string_view bytes);
void AppendMsgpackStr(std::string* out, std::string_view s);
void AppendMsgpackArrayHeader(std::string* out, uint32_t n);
void AppendMsgpackMapHeader(std::string* out, uint32_t n);
void AppendMsgpackNil(std::string* out);
void AppendMsgpackBool(std::string* out, bool v);

}  // namespace plumlog::core

#endif  // PLUMLOG_CORE_MSGPACK_READER_H_
