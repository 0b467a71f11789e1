// EBT notes: one feed's replication state as a peer announces it.
//
// As in SSB's epidemic-broadcast-trees (v3 encoding): a note is -1 for "I do not
// replicate this feed", else seq << 1 | dont_send, where seq is the sender's
// latest sequence of the feed and dont_send = 1 asks the receiver NOT to push
// entries (lazy: send only note updates), 0 asks it to push them (eager).
#ifndef PLUMLOG_REPLICATION_NOTE_H_
#define PLUMLOG_REPLICATION_NOTE_H_

#include <cstdint>

namespace plumlog::replication {

inline constexpr int64_t kNoteNotReplicating = -1;
// Largest sequence a note can carry (seq << 1 must fit in int64).
inline constexpr uint64_t kMaxNoteSeq = (uint64_t{1} << 62) - 1;

inline int64_t MakeNote(uint64_t seq, bool want_entries) {
  return static_cast<int64_t>(seq << 1) | (want_entries ? 0 : 1);
}
inline bool NoteReplicates(int64_t note) { return note >= 0; }
inline uint64_t NoteSeq(int64_t note) { return note < 0 ? 0 : static_cast<uint64_t>(note) >> 1; }
inline bool NoteWantsEntries(int64_t note) { return note >= 0 && (note & 1) == 0; }

}  // namespace plumlog::replication

#endif  // PLUMLOG_REPLICATION_NOTE_H_
