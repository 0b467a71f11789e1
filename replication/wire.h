// Decoding helpers shared by the replication and membership wire messages.
#ifndef PLUMLOG_REPLICATION_WIRE_H_
#define PLUMLOG_REPLICATION_WIRE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "plumlog/status.h"
#include "plumlog/types.h"
#include "core/msgpack_reader.h"

namespace plumlog::replication {

// A node or feed id: bin8 of exactly 32 bytes.
inline Status ReadFeed(core::MsgpackReader& r, std::string_view what, FeedId* out) {
  std::string_view raw;
  PLUMLOG_RETURN_IF_ERROR(r.ReadBinExact(what, FeedId::kSize, &raw));
  *out = *FeedId::FromBytes(raw);
  return Status::OK();
}

// An array header of at most `max` items, each at least `min_item_bytes` long:
// a count the remaining bytes cannot hold is refused before anything is
// allocated for it.
inline Status ReadCount(core::MsgpackReader& r, std::string_view what, size_t max,
                        size_t min_item_bytes, uint32_t* n) {
  PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader(what, n));
  if (*n > max) {
    return Status::TooLarge(std::string(what) + ": " + std::to_string(*n) +
                            " items, the limit is " + std::to_string(max));
  }
  if (static_cast<uint64_t>(*n) * min_item_bytes > r.remaining()) {
    return Status::Corruption(std::string(what) + ": truncated");
  }
  return Status::OK();
}

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_WIRE_H_
