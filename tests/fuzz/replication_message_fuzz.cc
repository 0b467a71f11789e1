// Fuzz target: DecodeMessage, which reads every replication frame a peer
// sends: notes, entries, digest, want, fork proof and reconcile
// (docs/protocol.md; reconcile_message_fuzz.cc checks reconcile in depth).
//
// Checks:
//  - the decoder never crashes and rejects with a message;
//  - whatever it accepts respects every limit and invariant the replication
//    core relies on (counts, note and sequence ranges, hops, digest ranges in
//    order, fork proofs of one author and sequence with different ids), and
//    re-encodes to a frame no longer than the input that decodes to the same
//    message (the encoder's form is canonical; the reader accepts longer
//    integer and array headers).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "replication/message.h"
#include "replication/note.h"
#include "replication/reconcile_message.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace plumlog::replication;

void CheckLimits(const Message& m) {
  if (const auto* n = std::get_if<NotesMessage>(&m)) {
    FUZZ_CHECK(n->notes.size() <= kMaxNotesPerMessage);
    for (const NoteItem& item : n->notes) {
      FUZZ_CHECK(item.note >= -1);
      FUZZ_CHECK(NoteSeq(item.note) <= kMaxNoteSeq);
      FUZZ_CHECK(item.hops <= kMaxHops);
    }
  } else if (const auto* es = std::get_if<EntriesMessage>(&m)) {
    FUZZ_CHECK(es->entries.size() <= kMaxEntriesPerMessage);
    FUZZ_CHECK(es->hops <= kMaxHops);
    for (const plumlog::Entry& e : es->entries) {
      FUZZ_CHECK(e.encoded().size() <= plumlog::kMaxEntryBytes);
    }
  } else if (const auto* d = std::get_if<DigestMessage>(&m)) {
    FUZZ_CHECK(d->clock.size() <= kMaxDigestItems);
    FUZZ_CHECK(!(d->hi < d->lo));
    for (size_t i = 0; i < d->clock.size(); ++i) {
      const DigestItem& item = d->clock[i];
      FUZZ_CHECK(!(item.feed < d->lo) && !(d->hi < item.feed));
      FUZZ_CHECK(i == 0 || d->clock[i - 1].feed < item.feed);
      FUZZ_CHECK(item.seq <= kMaxNoteSeq);
    }
  } else if (const auto* w = std::get_if<WantMessage>(&m)) {
    FUZZ_CHECK(w->after.size() <= kMaxWantItems);
    for (const auto& [feed, seq] : w->after) FUZZ_CHECK(seq <= kMaxNoteSeq);
  } else if (const auto* f = std::get_if<ForkProofMessage>(&m)) {
    FUZZ_CHECK(f->first.author() == f->second.author());
    FUZZ_CHECK(f->first.seq() == f->second.seq());
    FUZZ_CHECK(f->first.id() != f->second.id());
  } else if (const auto* r = std::get_if<ReconcileMessage>(&m)) {
    FUZZ_CHECK(r->round <= kMaxReconcileRound);
    FUZZ_CHECK(r->fingerprint_bytes >= kMinFingerprintBytes &&
               r->fingerprint_bytes <= kMaxFingerprintBytes);
    FUZZ_CHECK(r->parts.size() <= kMaxReconcileParts);
    size_t items = 0;
    for (const ReconcilePart& part : r->parts) items += part.items.size();
    FUZZ_CHECK(items <= kMaxReconcileItems);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  plumlog::Result<Message> m = DecodeMessage(input);
  if (!m.ok()) {
    FUZZ_CHECK(!m.status().message().empty());
    return 0;
  }
  CheckLimits(*m);
  const auto t = static_cast<uint8_t>(TypeOf(*m));
  FUZZ_CHECK(t >= 1 && t <= 6);
  FUZZ_CHECK(std::string_view(MessageTypeName(TypeOf(*m))) != "unknown");
  const std::string again = EncodeMessage(*m);
  FUZZ_CHECK(again.size() <= input.size());
  plumlog::Result<Message> m2 = DecodeMessage(again);
  FUZZ_CHECK(m2.ok());
  FUZZ_CHECK(m2->index() == m->index());
  FUZZ_CHECK(EncodeMessage(*m2) == again);
  return 0;
}
