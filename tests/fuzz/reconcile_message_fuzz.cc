// Fuzz target: DecodeReconcileMessage, which reads every Reconcile frame a
// peer sends (docs/protocol.md section 19), and RangeReconciler::Respond on
// whatever it accepts.
//
// Checks:
//  - the decoder never crashes and rejects with a message;
//  - whatever it accepts respects every limit the reconciler relies on (parts
//    disjoint and in order, well-formed ranges, split sizes, fingerprint
//    lengths, items inside their range and ordered, counts), and re-encodes
//    to a frame no longer than the input that decodes to the same message;
//  - the reconciler's answer to it (from a fixed set of 3,000 feeds) stays
//    within the same limits, encodes within a frame and decodes back to
//    itself, and reports each feed at most once.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <string_view>

#include "replication/range_reconciler.h"
#include "replication/reconcile_message.h"
#include "replication/sorted_reconcile_source.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace plumlog::replication;
using plumlog::FeedId;
using plumlog::FeedRange;

void CheckLimits(const ReconcileMessage& m) {
  FUZZ_CHECK(m.round <= kMaxReconcileRound);
  FUZZ_CHECK(m.fingerprint_bytes >= kMinFingerprintBytes &&
             m.fingerprint_bytes <= kMaxFingerprintBytes);
  FUZZ_CHECK(m.parts.size() <= kMaxReconcileParts);
  size_t children = 0, items = 0;
  for (size_t i = 0; i < m.parts.size(); ++i) {
    const ReconcilePart& p = m.parts[i];
    FUZZ_CHECK(p.range.bits <= 256);
    FUZZ_CHECK(FeedRange::Of(p.range.prefix, p.range.bits) == p.range);
    FUZZ_CHECK(i == 0 || m.parts[i - 1].range.Last() < p.range.First());
    if (p.mode == ReconcileMode::kFingerprints) {
      FUZZ_CHECK(p.split_bits >= 1 && p.split_bits <= kMaxReconcileSplitBits);
      FUZZ_CHECK(p.range.bits + p.split_bits <= 256);
      FUZZ_CHECK(p.fingerprints.size() ==
                 (size_t{1} << p.split_bits) * m.fingerprint_bytes);
      children += size_t{1} << p.split_bits;
    } else {
      FUZZ_CHECK(p.mode == ReconcileMode::kItems);
      for (size_t j = 0; j < p.items.size(); ++j) {
        FUZZ_CHECK(p.range.Contains(p.items[j].feed));
        FUZZ_CHECK(j == 0 || p.items[j - 1].feed < p.items[j].feed);
        FUZZ_CHECK(p.items[j].seq >= 1);
      }
      items += p.items.size();
    }
  }
  FUZZ_CHECK(children <= kMaxReconcileChildren);
  FUZZ_CHECK(items <= kMaxReconcileItems);
}

const SortedReconcileSource& Source() {
  static const SortedReconcileSource* source = [] {
    std::mt19937_64 rng(1);
    std::vector<SortedReconcileSource::Item> items;
    for (int i = 0; i < 3000; ++i) {
      SortedReconcileSource::Item it;
      for (auto& b : it.key.mutable_bytes()) b = static_cast<uint8_t>(rng());
      for (auto& b : it.hash.mutable_bytes()) b = static_cast<uint8_t>(rng());
      it.seq = 1 + rng() % 50;
      items.push_back(it);
    }
    return new SortedReconcileSource(std::move(items));
  }();
  return *source;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  plumlog::Result<ReconcileMessage> m = DecodeReconcileMessage(input);
  if (!m.ok()) {
    FUZZ_CHECK(!m.status().message().empty());
    return 0;
  }
  CheckLimits(*m);
  FUZZ_CHECK(IsReconcileFrame(input));
  const std::string again = EncodeReconcileMessage(*m);
  FUZZ_CHECK(again.size() <= input.size());
  plumlog::Result<ReconcileMessage> m2 = DecodeReconcileMessage(again);
  FUZZ_CHECK(m2.ok());
  FUZZ_CHECK(*m2 == *m);

  ReconcileOptions o;
  o.max_resolve_items = 500;
  o.max_resolve_per_message = 2000;
  const RangeReconciler r(&Source(), o);
  plumlog::Result<ReconcileResult> res = r.Respond(*m);
  FUZZ_CHECK(res.ok());
  // Respond answers with the next round; ReconcileSession ends a session
  // before that would pass kMaxReconcileRound, so check the rest here.
  ReconcileMessage reply = res->reply;
  FUZZ_CHECK(reply.round == m->round + 1);
  reply.round = std::min(reply.round, kMaxReconcileRound);
  CheckLimits(reply);
  FUZZ_CHECK(reply.session == m->session);
  FUZZ_CHECK(reply.fingerprint_bytes == m->fingerprint_bytes);
  const std::string wire = EncodeReconcileMessage(reply);
  FUZZ_CHECK(wire.size() <= kMaxFrameBytes);
  plumlog::Result<ReconcileMessage> back = DecodeReconcileMessage(wire);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(*back == reply);
  std::set<FeedId> seen;
  for (const ReconcileDiff& d : res->diffs) {
    FUZZ_CHECK(seen.insert(d.feed).second);
    FUZZ_CHECK(d.local_seq != d.remote_seq || d.local_head != d.remote_head);
  }
  FUZZ_CHECK(seen.size() <= o.max_resolve_per_message + kMaxReconcileItems);
  return 0;
}
