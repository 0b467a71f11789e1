#include "storage/export_stream.h"

#include "storage/keys.h"

namespace plumlog::storage {
namespace {

void PutU32BE(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32BE(std::string_view in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

}  // namespace

ExportWriter::ExportWriter(std::ostream* out) : out_(out) {}

Status ExportWriter::Put(std::string_view bytes) {
  hasher_.Update(bytes);
  out_->write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!*out_) return Status::IOError("cannot write the export stream");
  return Status::OK();
}

Status ExportWriter::Write(const Entry& entry) {
  // Length 0 marks the end record; an empty (default-constructed) Entry would
  // end the stream early.
  if (entry.encoded().empty()) return Status::InvalidArgument("cannot export an empty entry");
  if (count_ == 0) PLUMLOG_RETURN_IF_ERROR(Put(kExportMagic));
  std::string len;
  PutU32BE(&len, static_cast<uint32_t>(entry.encoded().size()));
  PLUMLOG_RETURN_IF_ERROR(Put(len));
  PLUMLOG_RETURN_IF_ERROR(Put(entry.encoded()));
  ++count_;
  return Status::OK();
}

Status ExportWriter::Finish() {
  if (count_ == 0) PLUMLOG_RETURN_IF_ERROR(Put(kExportMagic));
  std::string end;
  PutU32BE(&end, 0);
  PutU64BE(&end, count_);
  PLUMLOG_RETURN_IF_ERROR(Put(end));
  auto digest = hasher_.Final();
  out_->write(reinterpret_cast<const char*>(digest.data()), digest.size());
  out_->flush();
  if (!*out_) return Status::IOError("cannot write the export stream");
  return Status::OK();
}

ExportReader::ExportReader(std::istream* in) : in_(in) {}

Status ExportReader::Read(size_t n, std::string* out, std::string_view what) {
  out->resize(n);
  in_->read(out->data(), static_cast<std::streamsize>(n));
  size_t got = static_cast<size_t>(in_->gcount());
  if (got != n) {
    return Status::Corruption("export stream truncated in " + std::string(what) + " at byte " +
                              std::to_string(offset_ + got));
  }
  offset_ += n;
  return Status::OK();
}

Status ExportReader::Next(Entry* entry, bool* done) {
  *done = false;
  if (finished_) {
    *done = true;
    return Status::OK();
  }
  std::string buf;
  if (!started_) {
    Status st = Read(kExportMagic.size(), &buf, "the header");
    if (!st.ok() || buf != kExportMagic) {
      return Status::Corruption("not a plumlog export stream (bad header)");
    }
    hasher_.Update(buf);
    started_ = true;
  }
  const uint64_t record_at = offset_;
  PLUMLOG_RETURN_IF_ERROR(Read(4, &buf, "a record length"));
  hasher_.Update(buf);
  const uint32_t len = GetU32BE(buf);
  if (len == 0) {
    PLUMLOG_RETURN_IF_ERROR(Read(8, &buf, "the end record"));
    hasher_.Update(buf);
    const uint64_t declared = GetU64BE(buf);
    PLUMLOG_RETURN_IF_ERROR(Read(32, &buf, "the digest"));
    auto digest = hasher_.Final();
    if (std::string_view(reinterpret_cast<const char*>(digest.data()), 32) != buf) {
      return Status::Corruption("export stream digest mismatch: the stream was altered");
    }
    if (declared != count_) {
      return Status::Corruption("export stream says " + std::to_string(declared) +
                                " entries but holds " + std::to_string(count_));
    }
    if (in_->peek() != std::char_traits<char>::eof()) {
      return Status::Corruption("unexpected bytes after the end of the export stream");
    }
    finished_ = true;
    *done = true;
    return Status::OK();
  }
  if (len > kMaxEntryBytes) {
    return Status::Corruption("export stream record at byte " + std::to_string(record_at) +
                              " claims " + std::to_string(len) + " bytes (limit " +
                              std::to_string(kMaxEntryBytes) + ")");
  }
  PLUMLOG_RETURN_IF_ERROR(Read(len, &buf, "an entry"));
  hasher_.Update(buf);
  Result<Entry> e = Entry::Decode(buf);
  if (!e.ok()) {
    return e.status().WithContext("export stream entry " + std::to_string(count_ + 1) +
                                  " (byte " + std::to_string(record_at) + ")");
  }
  *entry = std::move(e).value();
  ++count_;
  return Status::OK();
}

}  // namespace plumlog::storage
