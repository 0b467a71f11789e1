#include "tests/sim/simulator.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <limits>

#include "replication/membership_message.h"
#include "replication/message.h"
#include "storage/memory_store.h"

namespace plumlog::sim {

using node::ConnId;

// One connection: its two ends, each named by its node's ConnId.
struct Simulator::Link {
  int dialer = -1;
  int acceptor = -1;
  ConnId dialer_conn = 0;
  ConnId acceptor_conn = 0;  // 0 until the dial reached the acceptor
  bool dialer_open = false;  // the dialler heard the handshake end
  bool closed = false;       // one side closed it
  // An end whose node crashed silently: frames to it vanish while the node
  // is down, and draw a reset once it is back up.
  int dead_end = -1;
  std::vector<std::string> queued;  // sent by the dialler before it opened
  TimeMs last_rx[2] = {0, 0};       // by end: 0 dialler, 1 acceptor
  int End(int node, ConnId conn) const {
    return node == dialer && conn == dialer_conn ? 0 : 1;
  }
};

struct Simulator::Node {
  int index = 0;
  crypto::KeyPair key;
  FeedId id;
  std::unique_ptr<Store> store;
  storage::ReplicationStore* rstore = nullptr;
  std::unique_ptr<node::NodeCore> core;
  bool up = false;
  bool joined = false;
  uint64_t incarnation = 0;
  std::vector<int> contacts;           // of the last Join
  std::vector<node::Contact> members;  // SetRandomMembers
  double loss = 0.0;
  TimeMs min_latency = -1;  // -1: the link's
  TimeMs max_latency = -1;
  TimeMs tick_at = -1;
  bool posting = false;
  std::deque<node::Event> pending;
  std::deque<std::string> frames;  // owned bytes of deferred frames
  struct Listener : StoreListener {
    std::vector<Entry> entries;
    void OnEntry(const Entry& e) override { entries.push_back(e); }
  } listener;
  explicit Node(crypto::KeyPair k) : key(std::move(k)) {}
  // Entries the store made durable since the last call, as an event.
  bool TakeStored(node::Event* out) {
    if (listener.entries.empty()) return false;
    node::StoreEntries se;
    se.entries.swap(listener.entries);
    *out = std::move(se);
    return true;
  }
};

uint64_t SeedFromEnv(uint64_t fallback) {
  const char* s = std::getenv("SIM_SEED");
  if (s && *s) return std::strtoull(s, nullptr, 10);
  return fallback;
}

Simulator::Simulator(uint64_t seed, SimOptions options, LinkModel link)
    : seed_(seed), options_(std::move(options)), link_(link), rng_(seed) {
  options_.node.peers.clear();
}

Simulator::~Simulator() {
  for (auto& n : nodes_) {
    n->core.reset();
    if (n->store) n->store->RemoveListener(&n->listener);
  }
}

// Every node its own /24 (10.A.B.1, A.B = the node's index), as nodes on
// different hosts and networks are: admission counts connections per address
// and per /24 (node/admission.h), and one shared host name would make the
// whole network a single flooding host. The port is the index + 1.
std::string Simulator::HostOf(int node) {
  if (getenv("SIM_ONE_HOST")) return "sim";
  return "10." + std::to_string((node >> 8) & 0xff) + "." +
         std::to_string(node & 0xff) + ".1";
}

std::string Simulator::AddressOf(int node) {
  return HostOf(node) + ":" + std::to_string(node + 1);
}

int Simulator::NodeAt(const std::string& address) const {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return -1;
  const int j = std::atoi(address.c_str() + colon + 1) - 1;
  if (j < 0 || j >= size()) return -1;
  return j;
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
      storage::MemoryStoreOptions so;
      so.verify_signatures = options_.verify_signatures;
      node->store = std::make_unique<storage::MemoryStore>(node->key, so);
    }
    node->rstore = dynamic_cast<storage::ReplicationStore*>(node->store.get());
    node->store->AddListener(&node->listener);
    node->id = node->store->local_id();
    index_[node->id] = node->index;
    nodes_.push_back(std::move(node));
    adjacent_.emplace_back();
    StartNode(static_cast<int>(nodes_.size()) - 1);
  }
}

void Simulator::StartNode(int i) {
  Node& n = *nodes_[i];
  n.core = std::make_unique<node::NodeCore>(n.rstore, AddressOf(i),
                                            options_.node, rng_());
  n.up = true;
  n.joined = false;
  n.tick_at = -1;
  n.pending.clear();
  n.frames.clear();
  n.listener.entries.clear();
  (void)Post(i, node::Start{});
  if (!n.members.empty()) (void)Post(i, node::SetMembers{n.members});
}

Store& Simulator::store(int node) { return *nodes_[node]->store; }
node::NodeCore& Simulator::core(int node) { return *nodes_[node]->core; }
replication::Replicator& Simulator::replicator(int node) {
  return nodes_[node]->core->replicator();
}
replication::Membership& Simulator::membership(int node) {
  return *nodes_[node]->core->membership();
}
const FeedId& Simulator::id(int node) const { return nodes_[node]->id; }
bool Simulator::up(int node) const { return nodes_[node]->up; }

int Simulator::IndexOf(const FeedId& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? -1 : it->second;
}

Status Simulator::Command(int node, node::Event command) {
  if (!nodes_[node]->up)
    return Status::Aborted("node " + std::to_string(node) + " is down");
  return Post(node, std::move(command));
}

// ---- the driver ----

Status Simulator::Post(int i, node::Event event) {
  Node& n = *nodes_[i];
  if (!n.up) return Status::OK();
  if (n.posting) {
    if (auto* f = std::get_if<node::FrameReceived>(&event)) {
      n.frames.emplace_back(f->frame);
      f->frame = n.frames.back();
    }
    n.pending.push_back(std::move(event));
    return Status::OK();
  }
  n.posting = true;
  const uint64_t incarnation = n.incarnation;
  ++stats_.core_events;
  const Status result = n.core->Handle(std::move(event), now());
  for (;;) {
    std::vector<node::Effect> effects = n.core->TakeEffects();
    for (node::Effect& e : effects) {
      Execute(i, e);
      if (!n.up || n.incarnation != incarnation) return result;
    }
    node::Event stored;
    if (n.TakeStored(&stored)) n.pending.push_back(std::move(stored));
    if (n.pending.empty()) break;
    node::Event next = std::move(n.pending.front());
    n.pending.pop_front();
    ++stats_.core_events;
    (void)n.core->Handle(std::move(next), now());
    if (n.pending.empty()) n.frames.clear();
  }
  n.frames.clear();
  n.posting = false;
  ScheduleTick(i, n.core->NextDeadline());
  return result;
}

void Simulator::Execute(int i, node::Effect& effect) {
  Node& n = *nodes_[i];
  if (auto* d = std::get_if<node::Dial>(&effect)) {
    DoDial(i, *d);
  } else if (auto* s = std::get_if<node::Send>(&effect)) {
    SendFrame(i, s->conn, std::move(s->frame));
  } else if (auto* c = std::get_if<node::Close>(&effect)) {
    CloseLink(i, c->conn, false);
  } else if (std::holds_alternative<node::SetReading>(effect)) {
    // Ingestion here takes ingest_delay_ms, never long enough to matter.
  } else if (auto* t = std::get_if<node::SetTimer>(&effect)) {
    ScheduleTick(i, t->at);
  } else if (auto* in = std::get_if<node::Ingest>(&effect)) {
    // Entries stored before this ingest, then this ingest's own.
    node::Event before;
    if (n.TakeStored(&before)) n.pending.push_back(std::move(before));
    IngestResult r = n.rstore->Ingest(std::move(in->entries));
    node::Event stored;
    const bool any = n.TakeStored(&stored);
    node::IngestDone done{in->request, std::move(r)};
    if (options_.ingest_delay_ms <= 0) {
      if (any) n.pending.push_back(std::move(stored));
      n.pending.push_back(std::move(done));
    } else {
      auto answer = std::make_shared<std::pair<node::Event, node::Event>>(
          any ? std::move(stored) : node::Event(node::StoreEntries{}),
          std::move(done));
      const uint64_t incarnation = n.incarnation;
      Schedule(now() + options_.ingest_delay_ms,
               [this, i, incarnation, answer] {
                 if (!nodes_[i]->up || nodes_[i]->incarnation != incarnation)
                   return;
                 (void)Post(i, std::move(answer->first));
                 (void)Post(i, std::move(answer->second));
               });
    }
  } else if (auto* pc = std::get_if<node::SavePeerClock>(&effect)) {
    Status st = n.rstore->SavePeerClock(pc->peer, pc->clock);
    if (!st.ok())
      n.pending.push_back(node::StoreFailed{"cannot save a peer clock", st});
  } else if (auto* fp = std::get_if<node::StoreForkProof>(&effect)) {
    Status st = n.rstore->AddForkProof(fp->first, fp->second);
    if (!st.ok() && st.code() != Status::Code::kAlreadyExists) {
      n.pending.push_back(node::StoreFailed{"cannot record a fork proof", st});
    }
  } else if (auto* b = std::get_if<node::SaveBlock>(&effect)) {
    Status st = n.rstore->SaveBlock(b->feed, b->blocked);
    if (!st.ok())
      n.pending.push_back(node::StoreFailed{"cannot save the block list", st});
  } else if (auto* del = std::get_if<node::DeleteFeed>(&effect)) {
    Result<uint64_t> r = n.rstore->DeleteFeed(del->feed);
    if (!r.ok())
      n.pending.push_back(
          node::StoreFailed{"cannot delete a feed", r.status()});
  } else if (auto* a = std::get_if<node::AppendContent>(&effect)) {
    Result<Entry> e = n.rstore->Append(a->content);
    if (!e.ok())
      n.pending.push_back(node::StoreFailed{"cannot append", e.status()});
  } else if (std::get_if<node::ConfirmOwnFeed>(&effect)) {
    Status st = n.rstore->ConfirmOwnFeed();
    if (!st.ok())
      n.pending.push_back(node::StoreFailed{"cannot confirm the own feed", st});
  } else if (auto* rep = std::get_if<node::Report>(&effect)) {
    if (on_report) on_report(i, *rep);
  }
}

void Simulator::ScheduleTick(int i, TimeMs at) {
  Node& n = *nodes_[i];
  if (!n.up || at == std::numeric_limits<TimeMs>::max()) return;
  at = std::max(events_.now() + 1, at);
  if (n.tick_at >= 0 && n.tick_at <= at) return;
  n.tick_at = at;
  const uint64_t incarnation = n.incarnation;
  Schedule(at, [this, i, at, incarnation] {
    Node& m = *nodes_[i];
    if (!m.up || m.incarnation != incarnation || m.tick_at != at) return;
    m.tick_at = -1;
    (void)Post(i, node::Tick{});
    if (!m.up || m.incarnation != incarnation) return;
    // Tick handled everything due: what is left must lie ahead (a real
    // driver would otherwise spin on it), but for a push backlog.
    if (m.core->NextDeadline() <= now() &&
        m.core->replicator().NextTimeout() != 0) {
      ++stats_.stale_timeouts;
    }
    ScheduleTick(i, m.core->NextDeadline());
  });
}

// ---- connections ----

TimeMs Simulator::Latency(int a, int b) {
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

TimeMs Simulator::FifoAt(int from, int to) {
  TimeMs at = events_.now() + Latency(from, to);
  TimeMs& clear = link_clear_[static_cast<uint64_t>(from) << 32 |
                              static_cast<uint32_t>(to)];
  at = std::max(at, clear);
  clear = at;
  return at;
}

bool Simulator::Reachable(int a, int b) const {
  if (!nodes_[a]->up || !nodes_[b]->up) return false;
  return partition_.empty() || partition_[a] == partition_[b];
}

bool Simulator::Lost(int a, int b) {
  const double p = 1.0 - (1.0 - link_.loss) * (1.0 - nodes_[a]->loss) *
                             (1.0 - nodes_[b]->loss);
  if (p <= 0) return false;
  std::bernoulli_distribution lost(p);
  return lost(rng_);
}

void Simulator::DoDial(int i, const node::Dial& d) {
  ++stats_.dials;
  auto link = std::make_shared<Link>();
  link->dialer = i;
  link->dialer_conn = d.conn;
  link->last_rx[0] = now();
  links_[{i, d.conn}] = link;
  const int j = NodeAt(d.address);
  const uint64_t incarnation = nodes_[i]->incarnation;
  // A failed dial: the dialler hears after a round trip.
  auto fail = [this, i, incarnation, link](node::CloseReason reason,
                                           Status why) {
    Schedule(now() + Latency(), [this, i, incarnation, link, reason, why] {
      if (!nodes_[i]->up || nodes_[i]->incarnation != incarnation ||
          link->closed)
        return;
      link->closed = true;
      links_.erase({i, link->dialer_conn});
      (void)Post(i, node::ConnectionClosed{link->dialer_conn, reason, why});
    });
  };
  if (j < 0 || j >= size() || j == i) {
    fail(node::CloseReason::kResolveFailed,
         Status::InvalidArgument("no node at " + d.address));
    return;
  }
  link->acceptor = j;
  const FeedId expect = d.peer;
  Schedule(FifoAt(i, j), [this, i, j, incarnation, link, expect, fail] {
    if (!nodes_[i]->up || nodes_[i]->incarnation != incarnation || link->closed)
      return;
    if (!Reachable(i, j)) {
      fail(node::CloseReason::kSocketError,
           Status::IOError("connect: unreachable"));
      return;
    }
    if (id(j) != expect) {
      fail(node::CloseReason::kHandshakeFailed,
           Status::Corruption("wrong server key"));
      return;
    }
    const ConnId a = nodes_[j]->core->NewConnectionId();
    link->acceptor_conn = a;
    link->last_rx[1] = now();
    links_[{j, a}] = link;
    (void)Post(j, node::ConnectionAccepted{a, AddressOf(i)});
    if (link->closed) return;  // refused
    (void)Post(j, node::ConnectionOpened{a, id(i)});
    if (link->closed) return;
    WatchIdle(j, a, now() + options_.node.idle_timeout_ms);
    // The handshake's way back.
    const uint64_t acceptor_incarnation = nodes_[j]->incarnation;
    Schedule(FifoAt(j, i), [this, i, j, incarnation, acceptor_incarnation,
                            link] {
      if (!nodes_[i]->up || nodes_[i]->incarnation != incarnation ||
          link->closed)
        return;
      if (!nodes_[j]->up || nodes_[j]->incarnation != acceptor_incarnation)
        return;
      link->dialer_open = true;
      link->last_rx[0] = now();
      (void)Post(i, node::ConnectionOpened{link->dialer_conn, id(j)});
      if (link->closed) return;
      std::vector<std::string> queued;
      queued.swap(link->queued);
      for (std::string& f : queued)
        SendFrame(i, link->dialer_conn, std::move(f));
      WatchIdle(i, link->dialer_conn, now() + options_.node.idle_timeout_ms);
    });
  });
}

void Simulator::SendFrame(int i, ConnId conn, std::string frame) {
  auto it = links_.find({i, conn});
  if (it == links_.end()) {
    ++stats_.dropped;
    return;
  }
  std::shared_ptr<Link> link = it->second;
  const int end = link->End(i, conn);
  if (end == 0 && !link->dialer_open) {
    link->queued.push_back(std::move(frame));  // leaves after the handshake
    return;
  }
  const int j = end == 0 ? link->acceptor : link->dialer;
  const ConnId to_conn = end == 0 ? link->acceptor_conn : link->dialer_conn;
  if (link->dead_end == j) {
    // The other end's host crashed: nothing while it is down, a reset once
    // it is back (its kernel knows no such connection).
    if (nodes_[j]->up && Reachable(i, j)) {
      links_.erase({i, conn});
      link->closed = true;
      const uint64_t incarnation = nodes_[i]->incarnation;
      Schedule(FifoAt(j, i), [this, i, conn, incarnation] {
        if (!nodes_[i]->up || nodes_[i]->incarnation != incarnation) return;
        (void)Post(i, node::ConnectionClosed{
                          conn, node::CloseReason::kSocketError,
                          Status::IOError("connection reset by peer")});
      });
    }
    ++stats_.dropped;
    return;
  }
  if (!Reachable(i, j) || Lost(i, j)) {
    ++stats_.dropped;
    return;
  }
  auto shared = std::make_shared<std::string>(std::move(frame));
  const uint64_t incarnation = nodes_[j]->incarnation;
  Schedule(FifoAt(i, j), [this, i, j, to_conn, incarnation, shared, link] {
    if (!Reachable(i, j) || nodes_[j]->incarnation != incarnation ||
        !links_.count({j, to_conn})) {
      ++stats_.dropped;
      return;
    }
    link->last_rx[link->End(j, to_conn)] = now();
    ++stats_.deliveries;
    stats_.bytes += shared->size();
    Delivery d;
    d.from = i;
    d.to = j;
    d.frame = *shared;
    d.type = shared->size() > 1 ? static_cast<uint8_t>((*shared)[1]) : 0;
    ++stats_.by_type[d.type];
    if (replication::IsMembershipFrame(*shared)) {
      ++stats_.membership_frames;
      stats_.membership_bytes += shared->size();
    } else {
      ++stats_.replication_frames;
      if (d.type == static_cast<uint8_t>(replication::MessageType::kEntries)) {
        Result<replication::Message> m = replication::DecodeMessage(*shared);
        if (m.ok())
          d.entries = std::get<replication::EntriesMessage>(*m).entries.size();
        stats_.payload_entries += d.entries;
      }
    }
    if (on_deliver) on_deliver(d);
    (void)Post(j, node::FrameReceived{to_conn, *shared});
  });
}

void Simulator::CloseLink(int i, ConnId conn, bool reset) {
  auto it = links_.find({i, conn});
  if (it == links_.end()) return;
  std::shared_ptr<Link> link = it->second;
  links_.erase(it);
  link->closed = true;
  const int end = link->End(i, conn);
  const int j = end == 0 ? link->acceptor : link->dialer;
  const ConnId to_conn = end == 0 ? link->acceptor_conn : link->dialer_conn;
  if (j < 0 || to_conn == 0 || !links_.count({j, to_conn}) || !Reachable(i, j))
    return;
  // The goodbye (or the reset) travels like a frame, after what was sent.
  const uint64_t incarnation = nodes_[j]->incarnation;
  Schedule(FifoAt(i, j), [this, j, to_conn, incarnation, reset] {
    if (!nodes_[j]->up || nodes_[j]->incarnation != incarnation) return;
    if (links_.erase({j, to_conn}) == 0) return;
    (void)Post(j, node::ConnectionClosed{
                      to_conn,
                      reset ? node::CloseReason::kSocketError
                            : node::CloseReason::kPeerClosed,
                      reset ? Status::IOError("connection reset by peer")
                            : Status::OK()});
  });
}

void Simulator::WatchIdle(int i, ConnId conn, TimeMs at) {
  const uint64_t incarnation = nodes_[i]->incarnation;
  Schedule(at, [this, i, conn, incarnation] {
    if (!nodes_[i]->up || nodes_[i]->incarnation != incarnation) return;
    auto it = links_.find({i, conn});
    if (it == links_.end()) return;
    const TimeMs last = it->second->last_rx[it->second->End(i, conn)];
    const TimeMs idle = options_.node.idle_timeout_ms;
    if (now() - last < idle) {
      WatchIdle(i, conn, last + idle);
      return;
    }
    CloseLink(i, conn, false);
    (void)Post(i, node::ConnectionClosed{conn, node::CloseReason::kIdleTimeout,
                                         Status::IOError("nothing received")});
  });
}

void Simulator::DropLinksOf(int i, bool reset) {
  std::vector<std::pair<std::pair<int, ConnId>, std::shared_ptr<Link>>> mine;
  for (auto it = links_.lower_bound({i, 0});
       it != links_.end() && it->first.first == i; ++it) {
    mine.emplace_back(it->first, it->second);
  }
  for (auto& [key, link] : mine) {
    links_.erase(key);
    link->closed = true;
    const int end = link->End(i, key.second);
    const int j = end == 0 ? link->acceptor : link->dialer;
    const ConnId to_conn = end == 0 ? link->acceptor_conn : link->dialer_conn;
    if (j < 0 || to_conn == 0 || !links_.count({j, to_conn})) continue;
    if (!reset) {
      link->dead_end = i;
      continue;
    }
    // The RST travels like a frame (and is lost across a partition).
    if (!partition_.empty() && partition_[j] != partition_[i]) {
      link->dead_end = i;
      continue;
    }
    const uint64_t incarnation = nodes_[j]->incarnation;
    Schedule(events_.now() + Latency(i, j), [this, j, to_conn, incarnation] {
      if (!nodes_[j]->up || nodes_[j]->incarnation != incarnation) return;
      if (links_.erase({j, to_conn}) == 0) return;
      (void)Post(j, node::ConnectionClosed{
                        to_conn, node::CloseReason::kSocketError,
                        Status::IOError("connection reset by peer")});
    });
  }
}

bool Simulator::InjectFrame(int from, int to, std::string frame) {
  for (auto it = links_.lower_bound({from, 0});
       it != links_.end() && it->first.first == from; ++it) {
    const Link& l = *it->second;
    const int end = l.End(from, it->first.second);
    const int other = end == 0 ? l.acceptor : l.dialer;
    const bool open = end == 0 ? l.dialer_open : l.acceptor_conn != 0;
    if (other == to && open && !l.closed) {
      SendFrame(from, it->first.second, std::move(frame));
      return true;
    }
  }
  return false;
}

int Simulator::ConnectionsBetween(int a, int b) const {
  int n = 0;
  for (auto it = links_.lower_bound({a, 0});
       it != links_.end() && it->first.first == a; ++it) {
    const Link& l = *it->second;
    const int end = l.End(a, it->first.second);
    const int other = end == 0 ? l.acceptor : l.dialer;
    // An end is in links_ while its node holds it open (whatever happened
    // at the other end).
    const bool open = end == 0 ? l.dialer_open : true;
    n += other == b && open;
  }
  return n;
}

// ---- overlay ----

void Simulator::Connect(int a, int b) {
  if (a == b || Connected(a, b)) return;
  overlay_.insert({a, b});
  adjacent_[a].insert(b);
  adjacent_[b].insert(a);
  PeerAddress addr;
  addr.host = HostOf(b);
  addr.port = static_cast<uint16_t>(b + 1);
  addr.id = id(b);
  (void)Command(a, node::AddPeer{addr, true});
}

void Simulator::Disconnect(int a, int b) {
  for (auto [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
    overlay_.erase({x, y});
    adjacent_[x].erase(y);
    if (nodes_[x]->up) (void)Command(x, node::RemovePeer{id(y)});
  }
}

bool Simulator::Connected(int a, int b) const {
  return adjacent_[a].count(b) > 0;
}

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
  return {adjacent_[node].begin(), adjacent_[node].end()};
}

std::vector<int> Simulator::RandomOthers(int node, const std::vector<int>& pool,
                                         int k) {
  std::vector<int> out;
  const int others = static_cast<int>(pool.size()) - 1;
  if (k < 0 || k >= others) {
    for (int o : pool) {
      if (o != node) out.push_back(o);
    }
    return out;
  }
  std::set<int> picked;
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  while (static_cast<int>(picked.size()) < k) {
    const int o = pool[pick(rng_)];
    if (o != node) picked.insert(o);
  }
  return {picked.begin(), picked.end()};
}

void Simulator::SetRandomMembers(int k) {
  std::vector<int> all(nodes_.size());
  for (int i = 0; i < size(); ++i) all[i] = i;
  for (int i = 0; i < size(); ++i) {
    std::vector<node::Contact> m;
    for (int o : RandomOthers(i, all, k)) m.push_back({id(o), AddressOf(o)});
    nodes_[i]->members = m;
    if (nodes_[i]->up) (void)Command(i, node::SetMembers{std::move(m)});
  }
}

void Simulator::SetRandomUpMembers(int k) {
  std::vector<int> up_nodes;
  for (const auto& n : nodes_) {
    if (n->up) up_nodes.push_back(n->index);
  }
  for (int i : up_nodes) {
    std::vector<node::Contact> m;
    for (int o : RandomOthers(i, up_nodes, k))
      m.push_back({id(o), AddressOf(o)});
    nodes_[i]->members = m;
    (void)Command(i, node::SetMembers{std::move(m)});
  }
}

std::vector<int> Simulator::Members(int node) const {
  std::vector<int> out;
  for (const node::Contact& m : nodes_[node]->members)
    out.push_back(IndexOf(m.id));
  return out;
}

// ---- membership ----

void Simulator::Join(int node, const std::vector<int>& contacts) {
  Node& n = *nodes_[node];
  n.joined = true;
  n.contacts = contacts;
  std::vector<node::Contact> cs;
  for (int c : contacts) cs.push_back({id(c), AddressOf(c)});
  (void)Command(node, node::Join{std::move(cs)});
}

void Simulator::Leave(int node) { (void)Command(node, node::Stop{}); }

std::vector<int> Simulator::Active(int node) const {
  std::vector<int> out;
  if (!nodes_[node]->up || !nodes_[node]->core->membership()) return out;
  for (const FeedId& f : nodes_[node]->core->membership()->ActiveView()) {
    out.push_back(IndexOf(f));
  }
  return out;
}

bool Simulator::OverlayConnected() const {
  std::vector<int> members;
  std::vector<char> in(nodes_.size(), 0);
  for (const auto& n : nodes_) {
    if (n->up && n->joined && !n->core->membership()->left()) {
      members.push_back(n->index);
      in[n->index] = 1;
    }
  }
  if (members.empty()) return true;
  std::vector<std::vector<int>> adj(nodes_.size());
  for (int i : members) {
    bool any = false;
    for (int j : Active(i)) {
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
    const int x = stack.back();
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

std::vector<std::pair<int, int>> Simulator::AsymmetricEdges() const {
  std::vector<std::pair<int, int>> bad;
  for (const auto& n : nodes_) {
    if (!n->up || n->core->membership()->left()) continue;
    for (int j : Active(n->index)) {
      if (j < 0 || !nodes_[j]->up) {
        bad.emplace_back(n->index, j);
        continue;
      }
      std::vector<int> back = Active(j);
      if (std::find(back.begin(), back.end(), n->index) == back.end()) {
        bad.emplace_back(n->index, j);
      }
    }
  }
  return bad;
}

int Simulator::CountState(int subject, replication::MemberState state) const {
  int c = 0;
  for (const auto& n : nodes_) {
    if (!n->up || n->index == subject || !n->joined ||
        n->core->membership()->left())
      continue;
    auto s = n->core->membership()->StateOf(nodes_[subject]->id);
    if (s && *s == state) ++c;
  }
  return c;
}

int Simulator::UpCount() const {
  int c = 0;
  for (const auto& n : nodes_)
    c += n->up && n->joined && !n->core->membership()->left();
  return c;
}

// ---- faults ----

void Simulator::Partition(const std::vector<std::vector<int>>& groups) {
  partition_.assign(nodes_.size(), -1);
  for (size_t g = 0; g < groups.size(); ++g) {
    for (int n : groups[g]) partition_[n] = static_cast<int>(g);
  }
}

void Simulator::Heal() { partition_.clear(); }

void Simulator::Crash(int i, bool reset) {
  Node& n = *nodes_[i];
  if (!n.up) return;
  n.up = false;
  ++n.incarnation;
  n.core.reset();  // in-memory protocol state is lost; the store stays
  n.listener.entries.clear();
  n.pending.clear();
  n.frames.clear();
  n.posting = false;
  n.tick_at = -1;
  DropLinksOf(i, reset);
}

void Simulator::Restart(int i) { Restart(i, nodes_[i]->contacts); }

void Simulator::Restart(int i, const std::vector<int>& contacts) {
  Node& n = *nodes_[i];
  if (n.up) return;
  ++n.incarnation;
  StartNode(i);
  for (const auto& [a, b] : std::set<std::pair<int, int>>(overlay_)) {
    if (a != i) continue;
    PeerAddress addr;
    addr.host = HostOf(b);
    addr.port = static_cast<uint16_t>(b + 1);
    addr.id = id(b);
    (void)Command(i, node::AddPeer{addr, true});
  }
  if (options_.node.membership && !contacts.empty()) Join(i, contacts);
}

void Simulator::SetNodeLoss(int node, double loss) {
  nodes_[node]->loss = loss;
}

void Simulator::SetNodeLatency(int node, TimeMs min_ms, TimeMs max_ms) {
  nodes_[node]->min_latency = min_ms;
  nodes_[node]->max_latency = max_ms;
}

// ---- traffic ----

Result<Entry> Simulator::Append(int node, std::string_view content) {
  Node& n = *nodes_[node];
  Result<Entry> e = n.store->Append(content);
  node::Event stored;
  if (n.up && n.TakeStored(&stored)) (void)Post(node, std::move(stored));
  if (!n.up) n.listener.entries.clear();
  return e;
}

IngestResult Simulator::Inject(int node, std::vector<Entry> entries) {
  Node& n = *nodes_[node];
  IngestResult r = n.store->Ingest(std::move(entries));
  node::Event stored;
  if (n.up && n.TakeStored(&stored)) (void)Post(node, std::move(stored));
  if (!n.up) n.listener.entries.clear();
  return r;
}

void Simulator::RunFor(TimeMs duration) {
  RunUntil([] { return false; }, duration);
}

bool Simulator::RunUntil(const std::function<bool()>& pred,
                         TimeMs max_duration) {
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
