// Helpers for the reconciliation tests: random sets of feed heads with
// chosen differences, and a whole session run between two reconcilers in
// memory, every message through the wire codec.
#ifndef PLUMLOG_TESTS_REPLICATION_RECONCILE_TEST_UTIL_H_
#define PLUMLOG_TESTS_REPLICATION_RECONCILE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "replication/range_reconciler.h"
#include "replication/reconcile_message.h"
#include "replication/reconcile_session.h"
#include "replication/sorted_reconcile_source.h"

namespace plumlog::replication::testing {

using Item = SortedReconcileSource::Item;

inline FeedId RandomFeed(std::mt19937_64& rng) {
  FeedId id;
  for (auto& b : id.mutable_bytes()) b = static_cast<uint8_t>(rng());
  return id;
}
inline EntryId RandomHead(std::mt19937_64& rng) {
  EntryId id;
  for (auto& b : id.mutable_bytes()) b = static_cast<uint8_t>(rng());
  return id;
}

// Two sets: `common` shared items, then `diffs` differences of every kind
// spread over them (only in a, only in b, b ahead, a ahead, forked). As in a
// store, a feed's head id changes whenever its sequence does.
struct SetPair {
  std::vector<Item> a, b;
};
inline SetPair MakeSets(uint64_t seed, size_t common, size_t diffs) {
  std::mt19937_64 rng(seed);
  SetPair p;
  for (size_t i = 0; i < common; ++i) {
    Item it{RandomFeed(rng), 1 + rng() % 100, RandomHead(rng)};
    p.a.push_back(it);
    p.b.push_back(it);
  }
  for (size_t i = 0; i < diffs; ++i) {
    const int kind = static_cast<int>(rng() % 5);
    if (kind == 0) {
      p.a.push_back({RandomFeed(rng), 1 + rng() % 100, RandomHead(rng)});
    } else if (kind == 1) {
      p.b.push_back({RandomFeed(rng), 1 + rng() % 100, RandomHead(rng)});
    } else if (common > 0) {
      // Change a common item on one side (a feed may be hit twice; the
      // expected difference is computed from the final sets).
      const size_t k = rng() % common;
      Item& x = kind == 2 ? p.b[k] : p.a[k];
      if (kind == 4) {
        x.hash = RandomHead(rng);  // same sequence, another head: a fork
      } else {
        x.seq += 1 + rng() % 5;
        x.hash = RandomHead(rng);
      }
    }
  }
  return p;
}

// The differences as the side holding `ours` should see them.
inline std::map<FeedId, ReconcileDiff> ExpectedDiffs(
    const std::vector<Item>& ours, const std::vector<Item>& theirs) {
  std::map<FeedId, std::pair<const Item*, const Item*>> all;
  for (const Item& i : ours) all[i.key].first = &i;
  for (const Item& i : theirs) all[i.key].second = &i;
  std::map<FeedId, ReconcileDiff> out;
  for (const auto& [feed, pr] : all) {
    ReconcileDiff d{feed, 0, 0, 0, 0};
    if (pr.first) {
      d.local_seq = pr.first->seq;
      d.local_head = HeadPrefix(pr.first->hash);
    }
    if (pr.second) {
      d.remote_seq = pr.second->seq;
      d.remote_head = HeadPrefix(pr.second->hash);
    }
    if (d.local_seq == d.remote_seq && d.local_head == d.remote_head) continue;
    out[feed] = d;
  }
  return out;
}

inline ReconcileDiff Flip(const ReconcileDiff& d) {
  return {d.feed, d.remote_seq, d.remote_head, d.local_seq, d.local_head};
}

struct SessionRun {
  std::vector<ReconcileDiff> a_diffs, b_diffs;  // as each side saw them
  int messages = 0;
  size_t bytes_a_to_b = 0, bytes_b_to_a = 0;
  bool truncated = false;
  bool a_done = false, b_done = false;
};

// A whole session, `a` initiating; every message is encoded and decoded.
inline SessionRun RunSession(const RangeReconciler& a, const RangeReconciler& b,
                             uint64_t id = 42) {
  SessionRun run;
  ReconcileSession sa(&a, id, true), sb(&b, id, false);
  Result<ReconcileMessage> first = sa.Start();
  EXPECT_TRUE(first.ok()) << first.status().ToString();
  if (!first.ok()) return run;
  std::optional<ReconcileMessage> msg = *first;
  bool to_b = true;
  while (msg) {
    const std::string wire = EncodeReconcileMessage(*msg);
    (to_b ? run.bytes_a_to_b : run.bytes_b_to_a) += wire.size();
    ++run.messages;
    Result<ReconcileMessage> decoded = DecodeReconcileMessage(wire);
    EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
    if (!decoded.ok()) break;
    EXPECT_EQ(*decoded, *msg);
    ReconcileSession& s = to_b ? sb : sa;
    Result<ReconcileSession::Step> step = s.OnMessage(*decoded);
    EXPECT_TRUE(step.ok()) << step.status().ToString();
    if (!step.ok()) break;
    auto& diffs = to_b ? run.b_diffs : run.a_diffs;
    diffs.insert(diffs.end(), step->diffs.begin(), step->diffs.end());
    msg = std::move(step->send);
    to_b = !to_b;
    if (run.messages > 2 * static_cast<int>(kMaxReconcileRound)) {
      ADD_FAILURE() << "session does not end";
      break;
    }
  }
  run.truncated = sa.truncated() || sb.truncated();
  run.a_done = sa.done();
  run.b_done = sb.done();
  return run;
}

// Every expected difference was found by one side, correctly, and nothing
// else was reported.
inline void ExpectFound(const SessionRun& run, const std::vector<Item>& a,
                        const std::vector<Item>& b) {
  const std::map<FeedId, ReconcileDiff> want = ExpectedDiffs(a, b);
  std::map<FeedId, ReconcileDiff> got;
  for (const ReconcileDiff& d : run.a_diffs) got[d.feed] = d;
  for (const ReconcileDiff& d : run.b_diffs) {
    EXPECT_FALSE(got.count(d.feed)) << "found by both sides";
    got[d.feed] = Flip(d);
  }
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [feed, d] : want) {
    auto it = got.find(feed);
    if (it == got.end()) {
      ADD_FAILURE() << "difference not found: " << feed.ToString();
      continue;
    }
    EXPECT_EQ(it->second, d);
  }
}

}  // namespace plumlog::replication::testing

#endif  // PLUMLOG_TESTS_REPLICATION_RECONCILE_TEST_UTIL_H_
