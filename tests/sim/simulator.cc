#include "tests/sim/simulator.h"

#include <algorithm>
#include <cstdlib>

#include "storage/memory_store.h"

namespace plumlog::sim {

struct Simulator::Node {
  int index = 0;
  crypto::KeyPair key;
  FeedId id;  // the store's identity (a store may bring its own key)
  std::unique_ptr<Store> store;
  std::unique_ptr<replication::Replicator> rep;
  replication::ReplicationPolicy* policy = nullptr;
  bool up = false;
  std::set<int> neighbours;   // overlay links (kept across crashes)
  std::vector<FeedId> members;
  TimeMs tick_at = -1;        // the pending tick event's time (-1: none)
  struct Listener : StoreListener {
    std::vector<Entry> pending;
    void OnEntry(const Entry& e) override { pending.push_back(e); }
  } listener;
  explicit Node(crypto::KeyPair k) : key(std::move(k)) {}
};

uint64_t SeedFromEnv(uint64_t fallback) {
  const char* s = std::getenv("SIM_SEED");
  if (s && *s) return std::strtoull(s, nullptr, 10);
  return fallback;
}

Simulator::Simulator(uint64_t seed, ReplicationOptions options, LinkModel link)
    : seed_(seed), options_(options), link_(link), rng_(seed) {}

Simulator::~Simulator() {
  for (auto& n : nodes_) {
    n->rep.reset();
    if (n->store) n->store->RemoveListener(&n->listener);
  }
}

void Simulator::AddNodes(int n, StoreFactory factory) {
  for (int i = 0; i < n; ++i) {
    std::array<uint8_t, 32> seed;
    for (auto& b : seed) b = static_cast<uint8_t>(rng_());
    auto node = std::make_unique<Node>(crypto::KeyPair::FromSeed(seed));
    node->index = static_cast<int>(nodes_.size());
    if (factory) {
      node->store = factory(node->index, node->key);
    } else {
      node->store = std::make_unique<storage::MemoryStore>(node->key, storage::MemoryStoreOptions());
    }
    node->store->AddListener(&node->listener);
    node->id = node->store->local_id();
    index_[node->id] = node->index;
    nodes_.push_back(std::move(node));
    StartNode(static_cast<int>(nodes_.size()) - 1);
  }
}

void Simulator::StartNode(int i) {
  Node& n = *nodes_[i];
  n.rep = std::make_unique<replication::Replicator>(n.store.get(), options_, rng_(), n.policy);
  n.rep->SetMembers(n.members);
  n.up = true;
  n.tick_at = -1;
  n.rep->Tick(events_.now());
  AfterEvent(i);
}

Store& Simulator::store(int node) { return *nodes_[node]->store; }
replication::Replicator& Simulator::replicator(int node) { return *nodes_[node]->rep; }
const FeedId& Simulator::id(int node) const { return nodes_[node]->id; }
bool Simulator::up(int node) const { return nodes_[node]->up; }

int Simulator::IndexOf(const FeedId& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? -1 : it->second;
}

void Simulator::SetRandomMembers(int k) {
  for (auto& n : nodes_) {
    std::vector<FeedId> m;
    if (k < 0 || k >= size() - 1) {
      for (auto& o : nodes_) {
        if (o.get() != n.get()) m.push_back(o->id);
      }
    } else {
      std::set<int> picked;
      std::uniform_int_distribution<int> pick(0, size() - 1);
      while (static_cast<int>(picked.size()) < k) {
        int o = pick(rng_);
        if (o != n->index) picked.insert(o);
      }
      for (int o : picked) m.push_back(nodes_[o]->id);
    }
    n->members = m;
    if (n->rep) n->rep->SetMembers(m);
  }
}

void Simulator::SetRandomUpMembers(int k) {
  std::vector<int> up_nodes;
  for (const auto& n : nodes_) {
    if (n->up) up_nodes.push_back(n->index);
  }
  for (int i : up_nodes) {
    Node& n = *nodes_[i];
    std::vector<FeedId> m;
    const int others = static_cast<int>(up_nodes.size()) - 1;
    if (k < 0 || k >= others) {
      for (int o : up_nodes) {
        if (o != i) m.push_back(nodes_[o]->id);
      }
    } else {
      std::set<int> picked;
      std::uniform_int_distribution<size_t> pick(0, up_nodes.size() - 1);
      while (static_cast<int>(picked.size()) < k) {
        int o = up_nodes[pick(rng_)];
        if (o != i) picked.insert(o);
      }
      for (int o : picked) m.push_back(nodes_[o]->id);
    }
    n.members = m;
    n.rep->SetMembers(std::move(m));
  }
}

std::vector<int> Simulator::Members(int node) const {
  std::vector<int> out;
  for (const FeedId& m : nodes_[node]->members) out.push_back(IndexOf(m));
  return out;
}

void Simulator::SetPolicy(int node, replication::ReplicationPolicy* policy) {
  nodes_[node]->policy = policy;
  if (nodes_[node]->up) {
    // Policies are given at construction: restart the core keeping its links.
    nodes_[node]->rep.reset();
    StartNode(node);
    for (int nb : nodes_[node]->neighbours) {
      if (nodes_[nb]->up) nodes_[node]->rep->OnPeerUp(id(nb), events_.now());
    }
    AfterEvent(node);
  }
}

TimeMs Simulator::Latency() {
  std::uniform_int_distribution<TimeMs> d(link_.min_latency_ms, link_.max_latency_ms);
  return d(rng_);
}

bool Simulator::Reachable(int a, int b) const {
  if (!nodes_[a]->up || !nodes_[b]->up) return false;
  return partition_.empty() || partition_[a] == partition_[b];
}

void Simulator::Connect(int a, int b) {
  if (a == b || nodes_[a]->neighbours.count(b)) return;
  nodes_[a]->neighbours.insert(b);
  nodes_[b]->neighbours.insert(a);
  if (nodes_[a]->up && nodes_[b]->up) {
    nodes_[a]->rep->OnPeerUp(id(b), events_.now());
    AfterEvent(a);
    nodes_[b]->rep->OnPeerUp(id(a), events_.now());
    AfterEvent(b);
  }
}

void Simulator::Disconnect(int a, int b) {
  if (!nodes_[a]->neighbours.count(b)) return;
  nodes_[a]->neighbours.erase(b);
  nodes_[b]->neighbours.erase(a);
  for (auto [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
    if (nodes_[x]->up) {
      nodes_[x]->rep->OnPeerDown(id(y), events_.now());
      AfterEvent(x);
    }
  }
}

bool Simulator::Connected(int a, int b) const { return nodes_[a]->neighbours.count(b) > 0; }

void Simulator::ConnectRandom(int degree) {
  std::uniform_int_distribution<int> pick(0, size() - 1);
  for (int i = 0; i < size(); ++i) {
    int added = 0;
    for (int tries = 0; added < degree && tries < degree * 20; ++tries) {
      int j = pick(rng_);
      if (j == i || Connected(i, j)) continue;
      Connect(i, j);
      ++added;
    }
  }
}

std::vector<int> Simulator::Neighbours(int node) const {
  return {nodes_[node]->neighbours.begin(), nodes_[node]->neighbours.end()};
}

void Simulator::Partition(const std::vector<std::vector<int>>& groups) {
  partition_.assign(nodes_.size(), -1);
  for (size_t g = 0; g < groups.size(); ++g) {
    for (int n : groups[g]) partition_[n] = static_cast<int>(g);
  }
}

void Simulator::Heal() { partition_.clear(); }

void Simulator::Crash(int i) {
  Node& n = *nodes_[i];
  if (!n.up) return;
  n.up = false;
  n.rep.reset();  // in-memory protocol state is lost; nothing is saved
  n.listener.pending.clear();
  // Neighbours see the connection drop one latency later.
  for (int nb : n.neighbours) {
    Schedule(events_.now() + Latency(), [this, nb, i] {
      if (nodes_[nb]->up) {
        nodes_[nb]->rep->OnPeerDown(id(i), events_.now());
        AfterEvent(nb);
      }
    });
  }
}

void Simulator::Restart(int i) {
  Node& n = *nodes_[i];
  if (n.up) return;
  StartNode(i);
  for (int nb : n.neighbours) {
    if (nodes_[nb]->up) {
      n.rep->OnPeerUp(id(nb), events_.now());
      nodes_[nb]->rep->OnPeerUp(id(i), events_.now());
      AfterEvent(nb);
    }
  }
  AfterEvent(i);
}

Result<Entry> Simulator::Append(int node, std::string_view content) {
  Result<Entry> e = nodes_[node]->store->Append(content);
  if (nodes_[node]->up) AfterEvent(node);
  return e;
}

IngestResult Simulator::Inject(int node, std::vector<Entry> entries) {
  IngestResult r = nodes_[node]->store->Ingest(std::move(entries));
  if (nodes_[node]->up) AfterEvent(node);
  return r;
}

void Simulator::AfterEvent(int i) {
  Node& n = *nodes_[i];
  if (!n.up) {
    n.listener.pending.clear();
    return;
  }
  // New entries first (they produce pushes), then every effect.
  for (;;) {
    if (!n.listener.pending.empty()) {
      std::vector<Entry> pending;
      pending.swap(n.listener.pending);
      for (const Entry& e : pending) n.rep->OnStoreEntry(e, events_.now());
    }
    std::vector<replication::Effect> effects = n.rep->TakeEffects();
    if (effects.empty() && n.listener.pending.empty()) break;
    for (replication::Effect& e : effects) {
      switch (e.kind) {
        case replication::Effect::Kind::kSend: {
          int to = IndexOf(e.peer);
          if (to < 0) break;
          Deliver(i, to, std::move(e));
          break;
        }
        case replication::Effect::Kind::kDisconnect: {
          int to = IndexOf(e.peer);
          if (to >= 0) Disconnect(i, to);
          if (on_event) on_event(i, e);
          break;
        }
        case replication::Effect::Kind::kEvent:
          if (on_event) on_event(i, e);
          break;
      }
    }
  }
  ScheduleTick(i);
}

void Simulator::ScheduleTick(int i) {
  Node& n = *nodes_[i];
  const TimeMs next = n.rep->NextTimeout();
  TimeMs at = std::max(events_.now() + 1, next);
  if (n.tick_at >= 0 && n.tick_at <= at) return;
  n.tick_at = at;
  Schedule(at, [this, i, at] {
    Node& m = *nodes_[i];
    if (!m.up || m.tick_at != at) return;
    m.tick_at = -1;
    m.rep->Tick(events_.now());
    // Tick handled everything due: what is left must lie ahead (a real
    // driver would otherwise spin on it).
    const TimeMs left = m.rep->NextTimeout();
    if (left != 0 && left <= events_.now()) ++stats_.stale_timeouts;
    AfterEvent(i);
  });
}

void Simulator::Deliver(int from, int to, replication::Effect effect) {
  std::bernoulli_distribution lost(link_.loss);
  if (!Reachable(from, to) || (link_.loss > 0 && lost(rng_))) {
    ++stats_.dropped;
    return;
  }
  const uint64_t key = static_cast<uint64_t>(from) << 32 | static_cast<uint32_t>(to);
  TimeMs at = events_.now() + Latency();
  TimeMs& clear = link_clear_[key];
  at = std::max(at, clear);
  clear = at;
  auto shared = std::make_shared<replication::Effect>(std::move(effect));
  Schedule(at, [this, from, to, shared] {
    if (!Reachable(from, to)) {
      ++stats_.dropped;
      return;
    }
    ++stats_.deliveries;
    stats_.bytes += shared->frame.size();
    stats_.payload_entries += shared->entries;
    if (on_deliver) on_deliver(from, to, *shared);
    nodes_[to]->rep->OnFrame(id(from), shared->frame, events_.now());
    AfterEvent(to);
  });
}

void Simulator::RunFor(TimeMs duration) {
  RunUntil([] { return false; }, duration);
}

bool Simulator::RunUntil(const std::function<bool()>& pred, TimeMs max_duration) {
  return events_.RunUntil(pred, max_duration, [this] { ++stats_.events; });
}

Clock Simulator::UnionClock() const {
  Clock u;
  for (const auto& n : nodes_) {
    Result<Clock> c = n->store->GetClock();
    if (!c.ok()) continue;
    for (const auto& [f, s] : *c) u[f] = std::max(u[f], s);
  }
  return u;
}

bool Simulator::Converged() const {
  Clock u = UnionClock();
  for (const auto& n : nodes_) {
    if (!n->up) continue;
    Result<Clock> c = n->store->GetClock();
    if (!c.ok() || *c != u) return false;
  }
  return true;
}

}  // namespace plumlog::sim
