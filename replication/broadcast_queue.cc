// The broadcast queue of SWIM news piggybacked on membership messages
// (infection-style dissemination with a bounded retransmit count).
#include <algorithm>
#include <cmath>

#include "replication/membership.h"

namespace plumlog::replication {

uint32_t Membership::RetransmitLimit() const {
  const double n = static_cast<double>(ClusterSizeEstimate());
  return options_.retransmit_mult *
         static_cast<uint32_t>(std::ceil(std::log10(n + 1)));
}

Membership::BroadcastKey Membership::KeyOf(const Broadcast& b) {
  const bool urgent =
      b.update.state != MemberState::kAlive || b.update.incarnation > 0;
  return BroadcastKey{!urgent, b.transmits, b.order, b.update.id};
}

void Membership::Enqueue(const MemberUpdate& u) {
  auto [it, inserted] = broadcasts_.try_emplace(u.id);
  Broadcast& b = it->second;
  if (!inserted) broadcast_queue_.erase(KeyOf(b));
  b.update = u;
  if (b.update.address.empty() && u.id != self_) {
    // News about a member carries where it can be reached, so that whoever
    // learns of it (a suspicion of a member it did not know yet) can ping it
    // directly; a third party's address only fills a gap (Apply).
    b.update.address = AddressOf(u.id);
  }
  b.transmits = 0;
  b.order = ++broadcast_order_;
  broadcast_queue_.insert(KeyOf(b));
}

std::vector<MemberUpdate> Membership::Piggyback(const FeedId& to) {
  std::vector<MemberUpdate> out;
  // News about the recipient first: it is the one that must refute it. That
  // includes "you left": a node that left and started again (a restarted
  // daemon) announces itself at incarnation 0, which the others ignore
  // below the one it left at, until it hears this and refutes above it. (A
  // node still leaving ignores news about itself.)
  auto mit = members_.find(to);
  if (mit != members_.end() && mit->second.state != MemberState::kAlive) {
    out.push_back(MemberUpdate{
        to, mit->second.incarnation, mit->second.state, {}, self_});
  }
  if (!broadcasts_.empty() && options_.max_piggyback > 0) TakeNews(to, &out);
  // To a non-neighbour, also where we listen (neither a transmission nor
  // one of the max_piggyback updates, so news spreads as fast as before): it
  // may know us only from the connection this message dials (a probe, a
  // ping-req's ping), which tells it nothing of our address, and a member it
  // cannot dial is no use to it when its views fail.
  if (!address_.empty() && !InActive(to) && out.size() < kMaxPiggybackUpdates &&
      std::none_of(out.begin(), out.end(),
                   [&](const MemberUpdate& u) { return u.id == self_; })) {
    out.push_back(MemberUpdate{self_, incarnation_, MemberState::kAlive,
                               address_, self_});
  }
  return out;
}

void Membership::TakeNews(const FeedId& to, std::vector<MemberUpdate>* out) {
  const size_t want = options_.max_piggyback > out->size()
                          ? options_.max_piggyback - out->size()
                          : 0;
  // The queue is kept in piggyback order (see BroadcastKey): the first `want`
  // entries not about the recipient, in O(want log n).
  std::vector<BroadcastKey> taken;
  for (auto it = broadcast_queue_.begin();
       it != broadcast_queue_.end() && taken.size() < want; ++it) {
    if (it->id != to) taken.push_back(*it);
  }
  const uint32_t limit = RetransmitLimit();
  for (const BroadcastKey& k : taken) {
    broadcast_queue_.erase(k);
    auto bit = broadcasts_.find(k.id);
    Broadcast& b = bit->second;
    out->push_back(b.update);
    if (++b.transmits >= limit) {
      broadcasts_.erase(bit);
    } else {
      broadcast_queue_.insert(KeyOf(b));
    }
  }
}

}  // namespace plumlog::replication
