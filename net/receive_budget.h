// ReceiveBudget: the bytes of incomplete application frames all connections
// of one node hold together (docs/protocol.md section 18). One connection
// may hold up to a frame (1 MiB) while the frame arrives; a thousand
// connections that each start a frame and never finish it would hold a GiB.
// Past the node's limit, the connection whose incomplete frame is the oldest
// is closed: an honest peer finishes a frame within a round trip or so, a
// stalling one has been at it longest. Sans-IO: the driver reports holdings
// and closes the victim.
#ifndef PLUMLOG_NET_RECEIVE_BUDGET_H_
#define PLUMLOG_NET_RECEIVE_BUDGET_H_

#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace plumlog::net {

class ReceiveBudget {
 public:
  explicit ReceiveBudget(size_t limit) : limit_(limit) {}

  // Connection `id` now holds `bytes` of an incomplete frame (0: none; also
  // when it closed). A holding that starts at `now` dates from it.
  void Set(uint64_t id, size_t bytes, int64_t now);
  bool over() const { return total_ > limit_; }
  // While over(): the holder of the oldest incomplete frame (0: none).
  uint64_t Victim() const;
  size_t total() const { return total_; }
  size_t limit() const { return limit_; }

 private:
  struct Holding {
    size_t bytes = 0;
    int64_t since = 0;
  };
  size_t limit_;
  size_t total_ = 0;
  std::unordered_map<uint64_t, Holding> held_;
};

}  // namespace plumlog::net

#endif  // PLUMLOG_NET_RECEIVE_BUDGET_H_
