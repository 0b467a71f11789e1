#include "tests/sim/membership_sim.h"

#include <algorithm>
#include <limits>

#include "crypto/keypair.h"
#include "storage/memory_store.h"

namespace plumlog::sim {

using replication::Membership;
using replication::MembershipEffect;
using replication::MembershipEvent;
using replication::MemberState;

struct MembershipSim::Node {
  int index = 0;
  crypto::KeyPair key;
  FeedId id;
  std::unique_ptr<Membership> mem;
  std::unique_ptr<Store> store;
  std::unique_ptr<replication::Replicator> rep;
  bool up = false;
  bool joined = false;
  double loss = 0.0;
  TimeMs min_latency = -1;  // -1: the link's
  TimeMs max_latency = -1;
  TimeMs tick_at = -1;
  // The replicator's NextTimeout, cached: it walks every feed, and most
  // events (membership frames and timers) do not touch the replicator.
  TimeMs rep_next = 0;
  bool rep_dirty = true;
  struct Listener : StoreListener {
    std::vector<Entry> pending;
    void OnEntry(const Entry& e) override { pending.push_back(e); }
  } listener;
  explicit Node(crypto::KeyPair k) : key(std::move(k)) {}
};

MembershipSim::MembershipSim(uint64_t seed, MembershipOptions options, LinkModel link)
    : seed_(seed), options_(options), link_(link), rng_(seed) {}

MembershipSim::~MembershipSim() {
  for (auto& n : nodes_) {
    n->rep.reset();
    if (n->store) n->store->RemoveListener(&n->listener);
  }
}

void MembershipSim::EnableReplication(ReplicationOptions options) {
  replication_ = true;
  rep_options_ = options;
}

uint64_t MembershipSim::Key(int a, int b) {
  return static_cast<uint64_t>(a) << 32 | static_cast<uint32_t>(b);
}

void MembershipSim::AddNodes(int n) {
  for (int i = 0; i < n; ++i) {
    std::array<uint8_t, 32> seed;
    for (auto& b : seed) b = static_cast<uint8_t>(rng_());
    auto node = std::make_unique<Node>(crypto::KeyPair::FromSeed(seed));
    node->index = static_cast<int>(nodes_.size());
    node->id = node->key.public_key();
    if (replication_) {
      storage::MemoryStoreOptions so;
      so.verify_signatures = false;
      node->store = std::make_unique<storage::MemoryStore>(node->key, so);
      node->store->AddListener(&node->listener);
      node->id = node->store->local_id();
    }
    index_[node->id] = node->index;
    nodes_.push_back(std::move(node));
    conns_.emplace_back();
    StartNode(static_cast<int>(nodes_.size()) - 1);
  }
}

void MembershipSim::StartNode(int i) {
  Node& n = *nodes_[i];
  n.mem = std::make_unique<Membership>(n.id, "sim:" + std::to_string(i), options_, rng_());
  if (replication_) {
    n.rep = std::make_unique<replication::Replicator>(n.store.get(), rep_options_, rng_());
  }
  n.up = true;
  n.joined = false;
  n.tick_at = -1;
  n.rep_dirty = true;
}

const FeedId& MembershipSim::id(int node) const { return nodes_[node]->id; }
bool MembershipSim::up(int node) const { return nodes_[node]->up; }
Membership& MembershipSim::membership(int node) { return *nodes_[node]->mem; }
replication::Replicator& MembershipSim::replicator(int node) { return *nodes_[node]->rep; }
Store& MembershipSim::store(int node) { return *nodes_[node]->store; }

int MembershipSim::IndexOf(const FeedId& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? -1 : it->second;
}

void MembershipSim::Join(int node, const std::vector<int>& contacts) {
  std::vector<replication::Contact> cs;
  for (int c : contacts) cs.push_back({id(c), "sim:" + std::to_string(c)});
  nodes_[node]->joined = true;
  nodes_[node]->mem->Join(std::move(cs), events_.now());
  AfterEvent(node);
}

void MembershipSim::Leave(int node) {
  nodes_[node]->mem->Leave(events_.now());
  AfterEvent(node);
}

void MembershipSim::Crash(int node, bool reset) {
  Node& n = *nodes_[node];
  n.up = false;
  n.mem.reset();
  n.rep.reset();
  n.tick_at = -1;
  if (reset) ResetConnections(node);
}

void MembershipSim::ResetConnections(int node) {
  std::set<int> peers;
  peers.swap(conns_[node]);
  for (int other : peers) {
    conns_[other].erase(node);
    if (!nodes_[other]->up) continue;
    // The RST travels like a frame (and is lost across a partition).
    if (!partition_.empty() && partition_[other] != partition_[node]) continue;
    Schedule(events_.now() + Latency(node, other), [this, other, node] {
      if (!nodes_[other]->up) return;
      nodes_[other]->mem->OnDisconnected(id(node), events_.now());
      AfterEvent(other);
    });
  }
}

void MembershipSim::Restart(int node, const std::vector<int>& contacts) {
  // The old connections are gone: their other ends notice (RST on next use).
  ResetConnections(node);
  StartNode(node);
  Join(node, contacts);
}

void MembershipSim::SetNodeLoss(int node, double loss) { nodes_[node]->loss = loss; }

void MembershipSim::SetNodeLatency(int node, TimeMs min_ms, TimeMs max_ms) {
  nodes_[node]->min_latency = min_ms;
  nodes_[node]->max_latency = max_ms;
}

void MembershipSim::Partition(const std::vector<std::vector<int>>& groups) {
  partition_.assign(nodes_.size(), -1);
  for (size_t g = 0; g < groups.size(); ++g) {
    for (int i : groups[g]) partition_[i] = static_cast<int>(g);
  }
}

void MembershipSim::Heal() { partition_.clear(); }

Result<Entry> MembershipSim::Append(int node, std::string_view content) {
  Result<Entry> e = nodes_[node]->store->Append(content);
  if (nodes_[node]->up) AfterEvent(node);
  return e;
}

TimeMs MembershipSim::Latency(int a, int b) {
  TimeMs lo = link_.min_latency_ms, hi = link_.max_latency_ms;
  for (int x : {a, b}) {
    if (x >= 0 && nodes_[x]->min_latency >= 0) {
      lo = std::max(lo, nodes_[x]->min_latency);
      hi = std::max(hi, nodes_[x]->max_latency);
    }
  }
  std::uniform_int_distribution<TimeMs> d(lo, hi);
  return d(rng_);
}

TimeMs MembershipSim::FifoAt(int from, int to) {
  TimeMs at = events_.now() + Latency(from, to);
  TimeMs& clear = link_clear_[Key(from, to)];
  at = std::max(at, clear);
  clear = at;
  return at;
}

bool MembershipSim::Reachable(int a, int b) const {
  if (!nodes_[a]->up || !nodes_[b]->up) return false;
  return partition_.empty() || partition_[a] == partition_[b];
}

bool MembershipSim::Lost(int a, int b) {
  const double p = 1.0 - (1.0 - link_.loss) * (1.0 - nodes_[a]->loss) * (1.0 - nodes_[b]->loss);
  if (p <= 0) return false;
  std::bernoulli_distribution lost(p);
  return lost(rng_);
}

void MembershipSim::SendFrame(int from, int to, std::string frame, bool membership) {
  if (!Reachable(from, to) || Lost(from, to)) {
    ++stats_.dropped;
    return;
  }
  const TimeMs at = FifoAt(from, to);
  auto shared = std::make_shared<std::string>(std::move(frame));
  Schedule(at, [this, from, to, shared, membership] {
    if (!Reachable(from, to)) {
      ++stats_.dropped;
      return;
    }
    Node& n = *nodes_[to];
    if (membership) {
      ++stats_.membership_frames;
      stats_.membership_bytes += shared->size();
      if (shared->size() > 1) {
        ++stats_.by_type[static_cast<replication::MembershipMessageType>((*shared)[1])];
      }
      n.mem->OnFrame(id(from), *shared, events_.now());
    } else {
      if (!n.rep) return;
      ++stats_.replication_frames;
      n.rep_dirty = true;
      n.rep->OnFrame(id(from), *shared, events_.now());
    }
    AfterEvent(to);
  });
}

void MembershipSim::DoConnect(int from, int to) {
  ++stats_.connects;
  const TimeMs at = FifoAt(from, to);
  Schedule(at, [this, from, to] {
    if (!nodes_[from]->up) return;
    if (!Reachable(from, to)) {
      // The dial fails after a round trip.
      Schedule(events_.now() + Latency(), [this, from, to] {
        if (!nodes_[from]->up) return;
        nodes_[from]->mem->OnDisconnected(id(to), events_.now());
        AfterEvent(from);
      });
      return;
    }
    const bool fresh = conns_[from].insert(to).second;
    conns_[to].insert(from);
    if (fresh) {
      nodes_[to]->mem->OnConnected(id(from), events_.now());
      AfterEvent(to);
    }
    // The dialler learns after the handshake's way back.
    Schedule(FifoAt(to, from), [this, from, to] {
      if (!nodes_[from]->up) return;
      nodes_[from]->mem->OnConnected(id(to), events_.now());
      AfterEvent(from);
    });
  });
}

void MembershipSim::DoDisconnect(int from, int to) {
  if (!RemoveConnection(from, to)) return;
  if (!nodes_[to]->up) return;
  Schedule(FifoAt(from, to), [this, from, to] {
    if (!nodes_[to]->up) return;
    nodes_[to]->mem->OnDisconnected(id(from), events_.now());
    AfterEvent(to);
  });
}

void MembershipSim::AfterEvent(int i) {
  Node& n = *nodes_[i];
  if (!n.up) {
    n.listener.pending.clear();
    return;
  }
  bool views_changed = false;
  for (;;) {
    std::vector<MembershipEffect> effects = n.mem->TakeEffects();
    for (MembershipEffect& e : effects) {
      const int to = IndexOf(e.peer);
      switch (e.kind) {
        case MembershipEffect::Kind::kSend:
          if (to >= 0) SendFrame(i, to, std::move(e.frame), true);
          break;
        case MembershipEffect::Kind::kConnect:
          if (to >= 0) DoConnect(i, to);
          break;
        case MembershipEffect::Kind::kDisconnect:
          if (to >= 0) DoDisconnect(i, to);
          break;
        case MembershipEffect::Kind::kEvent:
          if (n.rep) {
            n.rep_dirty = true;
            if (e.event == MembershipEvent::kNeighborUp) n.rep->OnPeerUp(e.peer, events_.now());
            if (e.event == MembershipEvent::kNeighborDown) n.rep->OnPeerDown(e.peer, events_.now());
          }
          views_changed = true;
          if (on_event) on_event(i, e);
          break;
      }
    }
    if (!n.rep) break;
    if (views_changed) {
      std::vector<FeedId> members = n.mem->ActiveView();
      for (const FeedId& p : n.mem->PassiveView()) members.push_back(p);
      n.rep->SetMembers(std::move(members));
      n.rep_dirty = true;
      views_changed = false;
    }
    if (!n.listener.pending.empty()) {
      std::vector<Entry> pending;
      pending.swap(n.listener.pending);
      for (const Entry& e : pending) n.rep->OnStoreEntry(e, events_.now());
      n.rep_dirty = true;
    }
    std::vector<replication::Effect> reffects = n.rep->TakeEffects();
    for (replication::Effect& e : reffects) {
      if (e.kind != replication::Effect::Kind::kSend) continue;
      const int to = IndexOf(e.peer);
      if (to >= 0) SendFrame(i, to, std::move(e.frame), false);
    }
    // Replicator calls never produce membership effects, so the loop ends
    // when the replicator has nothing more to say.
    if (reffects.empty() && n.listener.pending.empty()) break;
  }
  ScheduleTick(i);
}

void MembershipSim::ScheduleTick(int i) {
  Node& n = *nodes_[i];
  TimeMs at = n.mem->NextTimeout(events_.now());
  if (n.rep) {
    if (n.rep_dirty) {
      n.rep_next = n.rep->NextTimeout();
      n.rep_dirty = false;
    }
    at = std::min(at, n.rep_next);
  }
  at = std::max(events_.now() + 1, at);
  if (at == std::numeric_limits<TimeMs>::max()) return;
  if (n.tick_at >= 0 && n.tick_at <= at) return;
  n.tick_at = at;
  Schedule(at, [this, i, at] {
    Node& m = *nodes_[i];
    if (!m.up || m.tick_at != at) return;
    m.tick_at = -1;
    m.mem->Tick(events_.now());
    // The replicator only when it is due (its Tick walks every feed).
    if (m.rep && (m.rep_dirty || events_.now() >= m.rep_next)) {
      m.rep->Tick(events_.now());
      m.rep_dirty = true;
    }
    AfterEvent(i);
  });
}

void MembershipSim::RunFor(TimeMs duration) {
  RunUntil([] { return false; }, duration);
}

bool MembershipSim::RunUntil(const std::function<bool()>& pred, TimeMs max_duration) {
  return events_.RunUntil(pred, max_duration);
}

std::vector<int> MembershipSim::Active(int node) const {
  std::vector<int> out;
  if (!nodes_[node]->up) return out;
  for (const FeedId& f : nodes_[node]->mem->ActiveView()) out.push_back(IndexOf(f));
  return out;
}

bool MembershipSim::OverlayConnected() const {
  std::vector<int> members;
  std::vector<char> in(nodes_.size(), 0);
  for (const auto& n : nodes_) {
    if (n->up && n->joined && !n->mem->left()) {
      members.push_back(n->index);
      in[n->index] = 1;
    }
  }
  if (members.empty()) return true;
  std::vector<std::vector<int>> adj(nodes_.size());
  for (int i : members) {
    std::vector<int> a = Active(i);
    bool any = false;
    for (int j : a) {
      if (j < 0 || !in[j]) continue;
      adj[i].push_back(j);
      adj[j].push_back(i);
      any = true;
    }
    if (!any) return false;
  }
  std::vector<char> seen(nodes_.size(), 0);
  std::vector<int> stack{members[0]};
  seen[members[0]] = 1;
  size_t count = 1;
  while (!stack.empty()) {
    int x = stack.back();
    stack.pop_back();
    for (int y : adj[x]) {
      if (!seen[y]) {
        seen[y] = 1;
        ++count;
        stack.push_back(y);
      }
    }
  }
  return count == members.size();
}

int MembershipSim::AsymmetricEdges() const {
  int bad = 0;
  for (const auto& n : nodes_) {
    if (!n->up || n->mem->left()) continue;
    for (int j : Active(n->index)) {
      if (j < 0 || !nodes_[j]->up) {
        ++bad;
        continue;
      }
      std::vector<int> back = Active(j);
      if (std::find(back.begin(), back.end(), n->index) == back.end()) ++bad;
    }
  }
  return bad;
}

int MembershipSim::CountState(int subject, MemberState state) const {
  int c = 0;
  for (const auto& n : nodes_) {
    if (!n->up || n->index == subject || !n->joined || n->mem->left()) continue;
    auto s = n->mem->StateOf(nodes_[subject]->id);
    if (s && *s == state) ++c;
  }
  return c;
}

int MembershipSim::UpCount() const {
  int c = 0;
  for (const auto& n : nodes_) c += n->up && n->joined && !n->mem->left();
  return c;
}

}  // namespace plumlog::sim
