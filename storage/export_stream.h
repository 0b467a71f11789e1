// The export stream (docs/format.md): how feeds move between machines offline.
//
//   magic    "PLUMLOG-EXPORT/1\n"                      17 bytes
//   record*  length (u32 big-endian, 1..65536) entry    one encoded entry each
//   end      length 0 (u32), count (u64 BE), digest     digest = BLAKE2b-256 of
//                                                       every byte before it
// Nothing may follow the digest. The digest catches truncation and accidental
// damage; signatures (checked on import) catch forgery.
#ifndef PLUMLOG_STORAGE_EXPORT_STREAM_H_
#define PLUMLOG_STORAGE_EXPORT_STREAM_H_

#include <cstdint>
#include <istream>
#include <ostream>

#include "crypto/hash.h"
#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog::storage {

inline constexpr std::string_view kExportMagic = "PLUMLOG-EXPORT/1\n";

class ExportWriter {
 public:
  explicit ExportWriter(std::ostream* out);
  Status Write(const Entry& entry);
  // Writes the end record. The stream is incomplete (and import refuses it)
  // until Finish succeeds.
  Status Finish();
  uint64_t count() const { return count_; }

 private:
  Status Put(std::string_view bytes);
  std::ostream* out_;
  crypto::Blake2b256Hasher hasher_;
  uint64_t count_ = 0;
};

class ExportReader {
 public:
  explicit ExportReader(std::istream* in);
  // Reads the next entry (structure-checked, signature not verified). Sets
  // *done at the end record, after checking the count, the digest and that
  // nothing follows. Corruption (with the byte offset) on anything else.
  Status Next(Entry* entry, bool* done);
  uint64_t count() const { return count_; }
  uint64_t offset() const { return offset_; }

 private:
  Status Read(size_t n, std::string* out, std::string_view what);
  std::istream* in_;
  crypto::Blake2b256Hasher hasher_;
  uint64_t count_ = 0;
  uint64_t offset_ = 0;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace plumlog::storage

#endif  // PLUMLOG_STORAGE_EXPORT_STREAM_H_
