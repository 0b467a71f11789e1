#include "net/receive_budget.h"

namespace plumlog::net {

void ReceiveBudget::Set(uint64_t id, size_t bytes, int64_t now) {
  auto it = held_.find(id);
  if (it == held_.end()) {
    if (bytes == 0) return;
    held_.emplace(id, Holding{bytes, now});
    total_ += bytes;
    return;
  }
  total_ -= it->second.bytes;
  if (bytes == 0) {
    held_.erase(it);
    return;
  }
  it->second.bytes = bytes;
  total_ += bytes;
}

uint64_t ReceiveBudget::Victim() const {
  if (!over()) return 0;
  uint64_t victim = 0;
  const Holding* oldest = nullptr;
  for (const auto& [id, h] : held_) {
    // Ties (one clock tick): the bigger holding goes, then the lower id.
    if (oldest == nullptr || h.since < oldest->since ||
        (h.since == oldest->since &&
         (h.bytes > oldest->bytes ||
          (h.bytes == oldest->bytes && id < victim)))) {
      oldest = &h;
      victim = id;
    }
  }
  return victim;
}

}  // namespace plumlog::net
