#include "node/admission.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>

namespace plumlog::node {

size_t AdmissionLimits::shared_slots() const {
  return max_connections > reserved_connections
             ? max_connections - reserved_connections
             : 0;
}

size_t AdmissionLimits::max_strangers() const {
  const size_t taken = reserved_connections + max_handshakes;
  return max_connections > taken ? max_connections - taken : 0;
}

namespace {

// A dotted-quad IPv4 address.
std::optional<std::array<uint8_t, 4>> ParseIpv4(std::string_view s) {
  std::array<uint8_t, 4> out{};
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (s.empty() || s[0] != '.') return std::nullopt;
      s.remove_prefix(1);
    }
    size_t n = 0;
    unsigned v = 0;
    while (n < s.size() && n < 3 && s[n] >= '0' && s[n] <= '9')
      v = v * 10 + (s[n++] - '0');
    if (n == 0 || v > 255 || (n > 1 && s[0] == '0')) return std::nullopt;
    out[i] = static_cast<uint8_t>(v);
    s.remove_prefix(n);
  }
  if (!s.empty()) return std::nullopt;
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// An IPv6 address (RFC 4291 section 2.2 text forms: "::" once, an IPv4 tail,
// no zone) as 8 groups.
std::optional<std::array<uint16_t, 8>> ParseIpv6(std::string_view s) {
  std::array<uint16_t, 8> head{}, tail{};
  size_t nh = 0, nt = 0;
  bool gap = false;
  if (s.substr(0, 2) == "::") {
    gap = true;
    s.remove_prefix(2);
  }
  while (!s.empty()) {
    std::array<uint16_t, 8>& groups = gap ? tail : head;
    size_t& n = gap ? nt : nh;
    const size_t colon = s.find(':');
    const std::string_view part = s.substr(0, colon);
    if (part.find('.') != std::string_view::npos) {
      // The last 32 bits as dotted quad.
      auto v4 = ParseIpv4(part);
      if (!v4 || colon != std::string_view::npos || nh + nt + 2 > 8)
        return std::nullopt;
      groups[n++] = static_cast<uint16_t>(((*v4)[0] << 8) | (*v4)[1]);
      groups[n++] = static_cast<uint16_t>(((*v4)[2] << 8) | (*v4)[3]);
      s = {};
      break;
    }
    if (part.empty() || part.size() > 4 || nh + nt >= 8) return std::nullopt;
    unsigned v = 0;
    for (char c : part) {
      const int d = HexDigit(c);
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<unsigned>(d);
    }
    groups[n++] = static_cast<uint16_t>(v);
    if (colon == std::string_view::npos) {
      s = {};
    } else if (s.substr(colon, 2) == "::") {
      if (gap) return std::nullopt;
      gap = true;
      s.remove_prefix(colon + 2);
    } else {
      s.remove_prefix(colon + 1);
      if (s.empty()) return std::nullopt;  // a trailing single colon
    }
  }
  if (gap ? nh + nt > 7 : nh != 8) return std::nullopt;
  std::array<uint16_t, 8> out{};
  std::copy_n(head.begin(), nh, out.begin());
  std::copy_n(tail.begin(), nt, out.begin() + (8 - nt));
  return out;
}

}  // namespace

AdmissionLimits AdmissionLimits::From(const NodeOptions& o) {
  AdmissionLimits l;
  l.max_connections = o.max_connections;
  l.reserved_connections =
      o.reserved_connections != 0
          ? o.reserved_connections
          : (o.max_connections > 1 ? std::max<size_t>(1, o.max_connections / 8)
                                   : 0);
  l.max_handshakes = o.max_handshakes != 0
                         ? o.max_handshakes
                         : std::max<size_t>(1, o.max_connections / 4);
  l.max_handshakes_per_address = o.max_handshakes_per_address;
  l.max_handshakes_per_prefix = o.max_handshakes_per_prefix;
  l.max_strangers_per_prefix = o.max_unknown_per_prefix;
  return l;
}

std::string Admission::PrefixOf(std::string_view host) {
  char out[64];
  if (auto v4 = ParseIpv4(host)) {
    std::snprintf(out, sizeof out, "%u.%u.%u.0/24", (*v4)[0], (*v4)[1],
                  (*v4)[2]);
    return out;
  }
  if (auto v6 = ParseIpv6(host)) {
    const auto& g = *v6;
    const bool mapped = g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 &&
                        g[4] == 0 && g[5] == 0xffff;
    if (mapped) {
      std::snprintf(out, sizeof out, "%u.%u.%u.0/24", g[6] >> 8, g[6] & 0xff,
                    g[7] >> 8);
    } else {
      std::snprintf(out, sizeof out, "%x:%x:%x::/48", g[0], g[1], g[2]);
    }
    return out;
  }
  return std::string(host);
}

std::string_view Admission::HostOf(std::string_view address) {
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    return close == std::string_view::npos ? address
                                           : address.substr(1, close - 1);
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || address.find(':') != colon)
    return address;
  return address.substr(0, colon);
}

size_t Admission::Counts::Of(
    const std::map<std::string, size_t, std::less<>>& m,
    std::string_view k) const {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

size_t Admission::PendingFrom(std::string_view host) const {
  return pending_.Of(pending_.by_host, host);
}

void Admission::Add(ConnId id, Pool pool, std::string_view host,
                    std::string prefix) {
  Conn& c = conns_[id];
  c.pool = pool;
  c.order = next_order_++;
  c.host = std::string(host);
  c.prefix = std::move(prefix);
  if (pool == Pool::kKnown) return;
  Counts& n = CountsOf(pool);
  ++n.count;
  ++n.by_prefix[c.prefix];
  ++n.by_host[c.host];
}

void Admission::Forget(ConnId id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  const Conn& c = it->second;
  if (c.pool != Pool::kKnown) {
    Counts& n = CountsOf(c.pool);
    --n.count;
    if (--n.by_prefix[c.prefix] == 0) n.by_prefix.erase(c.prefix);
    if (--n.by_host[c.host] == 0) n.by_host.erase(c.host);
  }
  conns_.erase(it);
}

std::string_view Admission::LargestPrefix(Pool pool) const {
  // Most connections of the pool; ties: the prefix with the most strikes
  // (connections evicted or refused before: a flood's signature), then the
  // one holding the oldest connection.
  const Counts& n = pool == Pool::kPending ? pending_ : strangers_;
  std::string_view best;
  size_t most = 0;
  uint64_t best_strikes = 0;
  uint64_t best_order = UINT64_MAX;
  for (const auto& [id, c] : conns_) {
    if (c.pool != pool) continue;
    const size_t count = n.Of(n.by_prefix, c.prefix);
    auto st = strikes_.find(c.prefix);
    const uint64_t strikes = st == strikes_.end() ? 0 : st->second;
    if (count > most ||
        (count == most && (strikes > best_strikes || (strikes == best_strikes &&
                                                      c.order < best_order)))) {
      most = count;
      best_strikes = strikes;
      best_order = c.order;
      best = c.prefix;
    }
  }
  return best;
}

void Admission::Strike(const std::string& prefix) {
  // Bounded: a flood from very many prefixes starts the tally over.
  if (strikes_.size() >= kMaxStrikePrefixes && !strikes_.count(prefix))
    strikes_.clear();
  ++strikes_[prefix];
}

ConnId Admission::Oldest(Pool pool, std::string_view prefix) const {
  if (prefix.empty()) prefix = LargestPrefix(pool);
  ConnId victim = 0;
  uint64_t oldest = UINT64_MAX;
  for (const auto& [id, c] : conns_) {
    if (c.pool == pool && c.prefix == prefix && c.order < oldest) {
      oldest = c.order;
      victim = id;
    }
  }
  return victim;
}

Admission::Decision Admission::OnInbound(ConnId id, std::string_view host) {
  Decision d;
  std::string prefix = PrefixOf(host);
  if (PendingFrom(host) >= limits_.max_handshakes_per_address) {
    Strike(prefix);
    d.reason = std::to_string(PendingFrom(host)) +
               " handshakes already in progress from " + std::string(host);
    return d;
  }
  const size_t unknown = pending_.count + strangers_.count;
  if (pending_.Of(pending_.by_prefix, prefix) >=
      limits_.max_handshakes_per_prefix) {
    // The prefix's own oldest handshake makes room (its newest is likelier
    // to be a peer that is really talking).
    d.evict = Oldest(Pool::kPending, prefix);
    d.reason = "evicted for a newer connection: " +
               std::to_string(limits_.max_handshakes_per_prefix) +
               " handshakes in progress from " + prefix;
  } else if (pending_.count >= limits_.max_handshakes ||
             unknown >= limits_.shared_slots() ||
             conns_.size() >= limits_.max_connections) {
    const std::string_view largest = LargestPrefix(Pool::kPending);
    d.evict = Oldest(Pool::kPending, {});
    if (d.evict == 0) {
      d.reason = std::to_string(conns_.size()) + " connections open (" +
                 std::to_string(strangers_.count) +
                 " of unknown peers), none in a handshake to make room";
      return d;
    }
    d.reason = "evicted for a newer connection: no free slot, and " +
               std::string(largest) +
               " holds the most handshakes in progress (" +
               std::to_string(pending_.Of(pending_.by_prefix, largest)) + ")";
  }
  if (d.evict != 0) {
    Strike(conns_.at(d.evict).prefix);
    Forget(d.evict);
  }
  Add(id, Pool::kPending, host, std::move(prefix));
  d.admit = true;
  return d;
}

Admission::Decision Admission::RoomForDial() {
  Decision d;
  if (conns_.size() >= limits_.max_connections) {
    d.evict = Oldest(Pool::kPending, {});
    if (d.evict == 0) d.evict = Oldest(Pool::kStranger, {});
    if (d.evict == 0) {
      d.reason =
          std::to_string(conns_.size()) + " connections open (max_connections)";
      return d;
    }
    d.reason = "evicted to make room for a dial (max_connections)";
    Forget(d.evict);
  }
  d.admit = true;
  return d;
}

void Admission::OnDialed(ConnId id) { Add(id, Pool::kKnown, {}, {}); }

Admission::Decision Admission::OnAuthenticated(ConnId id, bool known) {
  Decision d;
  auto it = conns_.find(id);
  if (it == conns_.end()) return d;  // evicted meanwhile
  d.admit = true;
  if (it->second.pool != Pool::kPending) return d;  // our dial
  const std::string host = it->second.host;
  std::string prefix = it->second.prefix;
  Forget(id);
  if (known) {
    Add(id, Pool::kKnown, host, std::move(prefix));
    return d;
  }
  const size_t mine = strangers_.Of(strangers_.by_prefix, prefix);
  if (mine >= limits_.max_strangers_per_prefix) {
    Strike(prefix);
    d.admit = false;
    d.reason =
        std::to_string(mine) + " connections of unknown peers from " + prefix;
    return d;
  }
  if (strangers_.count >= limits_.max_strangers()) {
    const std::string_view largest = LargestPrefix(Pool::kStranger);
    const size_t most = strangers_.Of(strangers_.by_prefix, largest);
    // Only a prefix that would still hold more than the newcomer's: equal
    // shares keep who came first (a stranger that got in stays in).
    if (most <= mine + 1) {
      d.admit = false;
      d.reason =
          std::to_string(strangers_.count) +
          " connections of unknown peers open (their share of max_connections)";
      return d;
    }
    d.evict = Oldest(Pool::kStranger, largest);
    d.reason = "evicted for a newer unknown peer: " + std::string(largest) +
               " holds the most connections of unknown peers (" +
               std::to_string(most) + ")";
    Strike(std::string(largest));
    Forget(d.evict);
  }
  Add(id, Pool::kStranger, host, std::move(prefix));
  return d;
}

void Admission::OnClosed(ConnId id) { Forget(id); }

}  // namespace plumlog::node
