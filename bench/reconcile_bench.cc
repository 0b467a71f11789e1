// Range-based set reconciliation (replication/range_reconciler.h): what a
// session costs in messages, round trips and bytes, for the two choices of
// items (issue 15), and the tuning of ReconcileOptions. A figure, not a test
// (bench/README.md, "Reconciliation").
//
//   reconcile_bench [--feeds N] [--entries N] [--seed S] [--store]
//
// Two sets of N feeds x M entries (default 10,000 x 100, 1M entries) that
// differ in 100 entries, the newest ones of 1, 10 or 100 feeds (B lacks
// them), reconciled by one session, every message through the wire codec:
//  - heads: one item per feed (feed id, sequence, head id), as plumlog does;
//  - entries: one item per entry keyed by its id, as negentropy keys events.
// Then: the first contact of a fresh node, a 1 % change (1 % of the feeds
// get 1 % more entries on each side), the option grid, and with --store the
// same session between two real FeedStores (index reads included).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "plumlog/store.h"
#include "replication/range_reconciler.h"
#include "replication/reconcile_session.h"
#include "replication/sorted_reconcile_source.h"
#include "replication/store_reconcile_source.h"
#include "format/entry_codec.h"

namespace plumlog::bench {
namespace {

using replication::RangeReconciler;
using replication::ReconcileMessage;
using replication::ReconcileOptions;
using replication::ReconcileSession;
using replication::ReconcileSource;
using replication::SortedReconcileSource;
using Item = SortedReconcileSource::Item;

size_t g_feeds = 10000, g_entries = 100;
uint64_t g_seed = 1;
bool g_store = false;
bool g_verbose = false;

struct Cost {
  int messages = 0;     // including the final empty one
  int round_trips = 0;  // until the last message carrying parts arrived
  size_t bytes_ab = 0, bytes_ba = 0;
  size_t diffs = 0;
  bool truncated = false;
  double cpu_ms = 0;  // both sides' work, this process
  size_t fp_bytes = 0, items = 0, item_bytes = 0,
         parts = 0;  // what the bytes are
};

// One session, a initiating; every message encoded and decoded.
Cost Run(const ReconcileSource& a_src, const ReconcileSource& b_src,
         const ReconcileOptions& o) {
  RangeReconciler a(&a_src, o), b(&b_src, o);
  ReconcileSession sa(&a, g_seed, true), sb(&b, g_seed, false);
  Cost c;
  const auto t0 = SteadyClock::now();
  std::optional<ReconcileMessage> m = sa.Start().value();
  bool to_b = true;
  int last_with_parts = 0;
  while (m) {
    const std::string wire = replication::EncodeReconcileMessage(*m);
    (to_b ? c.bytes_ab : c.bytes_ba) += wire.size();
    ++c.messages;
    if (!m->parts.empty()) last_with_parts = c.messages;
    for (const auto& p : m->parts) {
      ++c.parts;
      c.fp_bytes += p.fingerprints.size();
      c.items += p.items.size();
      if (p.mode == replication::ReconcileMode::kItems) {
        c.item_bytes += replication::EncodedPartSize(p);
      }
    }
    Result<ReconcileMessage> in = replication::DecodeReconcileMessage(wire);
    if (!in.ok()) {
      std::fprintf(stderr, "decode: %s\n", in.status().ToString().c_str());
      std::exit(1);
    }
    Result<ReconcileSession::Step> step = (to_b ? sb : sa).OnMessage(*in);
    if (!step.ok()) {
      std::fprintf(stderr, "session: %s\n", step.status().ToString().c_str());
      std::exit(1);
    }
    c.diffs += step->diffs.size();
    m = std::move(step->send);
    to_b = !to_b;
  }
  c.cpu_ms = Seconds(t0, SteadyClock::now()) * 1e3;
  c.round_trips = (last_with_parts + 1) / 2;
  c.truncated = sa.truncated() || sb.truncated();
  return c;
}

void Print(const char* what, const Cost& c) {
  std::printf(
      "  %-44s %3d msgs %2d RTT  %8.1f KB (A->B %7.1f, B->A %7.1f)  %6zu "
      "diffs%s  %7.1f ms\n",
      what, c.messages, c.round_trips,
      static_cast<double>(c.bytes_ab + c.bytes_ba) / 1e3,
      static_cast<double>(c.bytes_ab) / 1e3,
      static_cast<double>(c.bytes_ba) / 1e3, c.diffs,
      c.truncated ? " (truncated)" : "", c.cpu_ms);
  if (g_verbose) {
    std::printf(
        "  %-44s %zu parts, fingerprints %.1f KB, %zu items in %.1f KB of item "
        "parts\n",
        "", c.parts, static_cast<double>(c.fp_bytes) / 1e3, c.items,
        static_cast<double>(c.item_bytes) / 1e3);
  }
}

FeedId RandomFeed(std::mt19937_64& rng) {
  FeedId id;
  for (auto& b : id.mutable_bytes()) b = static_cast<uint8_t>(rng());
  return id;
}
EntryId RandomId(std::mt19937_64& rng) {
  EntryId id;
  for (auto& b : id.mutable_bytes()) b = static_cast<uint8_t>(rng());
  return id;
}

// A world of feeds with random ids; entry ids are random too (only their
// set matters here, not their bytes).
struct World {
  std::vector<FeedId> feeds;
  std::vector<std::vector<EntryId>> ids;  // ids[f][seq-1]
};
World MakeWorld(size_t feeds, size_t entries, std::mt19937_64& rng) {
  World w;
  for (size_t f = 0; f < feeds; ++f) {
    w.feeds.push_back(RandomFeed(rng));
    w.ids.emplace_back();
    for (size_t e = 0; e < entries; ++e) w.ids.back().push_back(RandomId(rng));
  }
  return w;
}

// A side's view: how many entries it holds of each feed.
std::vector<Item> Heads(const World& w, const std::vector<size_t>& held) {
  std::vector<Item> out;
  for (size_t f = 0; f < w.feeds.size(); ++f) {
    if (held[f] > 0)
      out.push_back({w.feeds[f], held[f], w.ids[f][held[f] - 1]});
  }
  return out;
}
std::vector<Item> Entries(const World& w, const std::vector<size_t>& held) {
  std::vector<Item> out;
  for (size_t f = 0; f < w.feeds.size(); ++f) {
    for (size_t s = 0; s < held[f]; ++s) {
      FeedId key = *FeedId::FromBytes(w.ids[f][s].view());
      out.push_back({key, s + 1, w.ids[f][s]});
    }
  }
  return out;
}

void Compare(const World& w, const std::vector<size_t>& a,
             const std::vector<size_t>& b, const std::string& label,
             const ReconcileOptions& o) {
  SortedReconcileSource ha(Heads(w, a)), hb(Heads(w, b));
  Print(("heads:   " + label).c_str(), Run(ha, hb, o));
  SortedReconcileSource ea(Entries(w, a)), eb(Entries(w, b));
  Print(("entries: " + label).c_str(), Run(ea, eb, o));
}

// B lacks the newest `total / feeds` entries of `feeds` random feeds.
std::vector<size_t> Behind(const std::vector<size_t>& full, size_t feeds,
                           size_t total, std::mt19937_64& rng) {
  std::vector<size_t> b = full;
  std::vector<size_t> order(full.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t k = 0; k < feeds; ++k)
    b[order[k]] -= std::min(b[order[k]], total / feeds);
  return b;
}

// ---- the same session between two real stores ----

std::unique_ptr<Store> StoreWith(const std::string& home,
                                 const std::vector<crypto::KeyPair>& keys,
                                 const std::vector<size_t>& held) {
  StoreOptions so;
  so.create_if_missing = true;
  auto s = Store::Open(home, so);
  if (!s.ok()) {
    std::fprintf(stderr, "open %s: %s\n", home.c_str(),
                 s.status().ToString().c_str());
    std::exit(1);
  }
  const std::string content = Content200();
  std::vector<Entry> batch;
  for (size_t f = 0; f < keys.size(); ++f) {
    std::optional<EntryId> prev;
    for (size_t seq = 1; seq <= held[f]; ++seq) {
      EntryCodec::Fields fields;
      fields.author = keys[f].public_key();
      fields.seq = seq;
      fields.previous = prev;
      fields.lamport = seq;
      fields.timestamp_ms = 1700000000000 + seq;
      fields.content = content;
      Entry e = EntryCodec::Build(keys[f], fields).value();
      prev = e.id();
      batch.push_back(std::move(e));
    }
    if (batch.size() >= 2000 || f + 1 == keys.size()) {
      if (!(*s)->Ingest(std::move(batch)).ok()) std::exit(1);
      batch.clear();
    }
  }
  return std::move(s).value();
}

void RunStores(const ReconcileOptions& o) {
  const size_t feeds = g_feeds, per_feed = 2;
  std::printf(
      "\nstore-backed: two FeedStores of %zu feeds x %zu entries, B behind on "
      "100 feeds "
      "(load %.2f)\n",
      feeds, per_feed, LoadAverage1());
  std::vector<crypto::KeyPair> keys;
  for (size_t i = 0; i < feeds; ++i) {
    std::array<uint8_t, 32> seed{};
    std::memcpy(seed.data(), &i, sizeof i);
    seed[31] = 0x7b;
    keys.push_back(crypto::KeyPair::FromSeed(seed));
  }
  std::vector<size_t> a(feeds, per_feed), b = a;
  for (size_t i = 0; i < 100; ++i) b[i * (feeds / 100)] = 1;
  char tmpl[] = "/tmp/plumlog-reconcile-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  {
    auto sa = StoreWith(dir + "/a", keys, a);
    auto sb = StoreWith(dir + "/b", keys, b);
    replication::StoreReconcileSource ra(&dynamic_cast<storage::ReplicationStore&>(*sa)),
        rb(&dynamic_cast<storage::ReplicationStore&>(*sb));
    for (int run = 0; run < 3; ++run)
      Print("FeedStore index, 100 feeds differ", Run(ra, rb, o));
  }
  std::filesystem::remove_all(dir);
}

int Main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--feeds" && i + 1 < argc) {
      g_feeds = std::stoul(argv[++i]);
    } else if (a == "--entries" && i + 1 < argc) {
      g_entries = std::stoul(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      g_seed = std::stoull(argv[++i]);
    } else if (a == "--store") {
      g_store = true;
    } else if (a == "--verbose") {
      g_verbose = true;
    } else {
      std::fprintf(stderr,
                   "usage: reconcile_bench [--feeds N] [--entries N] [--seed "
                   "S] [--store]\n");
      return 2;
    }
  }
  std::mt19937_64 rng(g_seed);
  std::printf(
      "reconcile_bench: %zu feeds x %zu entries (%zu entries), seed %llu (load "
      "%.2f)\n",
      g_feeds, g_entries, g_feeds * g_entries,
      static_cast<unsigned long long>(g_seed), LoadAverage1());
  std::printf(
      "goal: stores of 1M entries differing in 100 reconcile in <= 3 round "
      "trips and < 10 KB\n");
  const World w = MakeWorld(g_feeds, g_entries, rng);
  const std::vector<size_t> full(g_feeds, g_entries);
  const ReconcileOptions o;
  std::printf(
      "\ndefaults (fingerprints %u B, first split 2^%u, then 2^%u, items at <= "
      "%u feeds)\n",
      o.fingerprint_bytes, o.initial_split_bits, o.split_bits,
      o.max_leaf_items);
  Compare(w, full, full, "identical", o);
  for (size_t feeds : {1u, 10u, 100u}) {
    Compare(w, full, Behind(full, feeds, 100, rng),
            "100 entries differ, in " + std::to_string(feeds) + " feeds", o);
  }
  Compare(w, full, std::vector<size_t>(g_feeds, 0), "first contact: B empty",
          o);
  Compare(w, std::vector<size_t>(g_feeds, 0), full, "first contact: A empty",
          o);
  {
    // The reconnect of scale_bench: each side gets 1 % more entries, all in
    // 1 % of the feeds (disjoint feeds on the two sides).
    World grown = w;
    std::vector<size_t> a = full, b = full;
    const size_t k = std::max<size_t>(1, g_feeds / 100);
    for (size_t i = 0; i < k; ++i) {
      a[i] += g_entries;
      b[k + i] += g_entries;
    }
    for (size_t f = 0; f < g_feeds; ++f) {
      while (grown.ids[f].size() < std::max(a[f], b[f]))
        grown.ids[f].push_back(RandomId(rng));
    }
    Compare(grown, a, b, "each side +1 % entries in 1 % of feeds", o);
  }

  std::printf(
      "\noption grid, heads, 100 entries differ in 100 feeds (bytes, RTT)\n");
  const std::vector<size_t> b100 = Behind(full, 100, 100, rng);
  SortedReconcileSource ha(Heads(w, full)), hb(Heads(w, b100));
  std::printf("  %-8s %-9s %-7s %-5s %10s %4s\n", "fp bytes", "1st split",
              "split", "leaf", "KB", "RTT");
  for (uint32_t fp : {4u, 6u, 8u}) {
    for (uint32_t first : {4u, 8u}) {
      for (uint32_t split : {2u, 3u, 4u}) {
        for (uint32_t leaf : {1u, 2u, 4u, 8u}) {
          ReconcileOptions g;
          g.fingerprint_bytes = fp;
          g.initial_split_bits = first;
          g.split_bits = split;
          g.max_leaf_items = leaf;
          const Cost c = Run(ha, hb, g);
          std::printf("  %-8u 2^%-7u 2^%-5u %-5u %10.1f %4d\n", fp, first,
                      split, leaf,
                      static_cast<double>(c.bytes_ab + c.bytes_ba) / 1e3,
                      c.round_trips);
        }
      }
    }
  }
  if (g_store) RunStores(o);
  return 0;
}

}  // namespace
}  // namespace plumlog::bench

int main(int argc, char** argv) { return plumlog::bench::Main(argc, argv); }
