#include "format/entry_codec.h"

#include <sodium.h>

#include "crypto/hash.h"
#include "crypto/sodium_init.h"
#include "core/msgpack_reader.h"

namespace plumlog {

using core::MsgpackReader;

namespace {

Status CheckFields(const EntryCodec::Fields& f) {
  if (f.seq == 0) return Status::InvalidEntry("sequence must be at least 1");
  if (f.seq > kMaxClockValue) return Status::InvalidEntry("sequence out of range");
  if ((f.seq == 1) != !f.previous.has_value()) {
    return Status::InvalidEntry(f.seq == 1 ? "entry 1 must not have a previous id"
                                           : "entry after 1 must have a previous id");
  }
  if (f.lamport == 0 || f.lamport > kMaxClockValue) {
    return Status::InvalidEntry("lamport clock out of range (1 .. 2^63-1)");
  }
  if (f.timestamp_ms > kMaxClockValue) return Status::InvalidEntry("timestamp out of range");
  return Status::OK();
}

}  // namespace

Result<std::string> EntryCodec::EncodeSigned(const Fields& f) {
  PLUMLOG_RETURN_IF_ERROR(CheckFields(f));
  if (f.content.size() > kMaxEntryBytes) {
    return Status::TooLarge("content is " + std::to_string(f.content.size()) +
                            " bytes; an entry is at most " + std::to_string(kMaxEntryBytes));
  }
  MsgpackReader content(f.content);
  Status st = content.SkipValue("content", kMaxContentDepth);
  if (st.ok()) st = content.ExpectEnd("content");
  if (!st.ok()) {
    return Status::InvalidArgument("content must be exactly one msgpack value: " +
                                   st.message());
  }
  std::string out;
  out.reserve(f.content.size() + 128);
  core::AppendMsgpackArrayHeader(&out, kFieldCount);
  core::AppendMsgpackUint(&out, kEntryFormatVersion);
  core::AppendMsgpackBin(&out, f.author.view());
  core::AppendMsgpackUint(&out, f.seq);
  if (f.previous) {
    core::AppendMsgpackBin(&out, f.previous->view());
  } else {
    core::AppendMsgpackNil(&out);
  }
  core::AppendMsgpackUint(&out, f.lamport);
  core::AppendMsgpackUint(&out, f.timestamp_ms);
  out.append(f.content);
  if (out.size() + kSignatureTrailer > kMaxEntryBytes) {
    return Status::TooLarge("entry would be " + std::to_string(out.size() + kSignatureTrailer) +
                            " bytes; the limit is " + std::to_string(kMaxEntryBytes) +
                            " (content " + std::to_string(f.content.size()) + " bytes)");
  }
  return out;
}

EntryId EntryCodec::IdOf(std::string_view signed_bytes) {
  return EntryId(crypto::Blake2b256(signed_bytes));
}

crypto::Signature EntryCodec::SignBytes(const crypto::KeyPair& key,
                                        std::string_view signed_bytes) {
  return key.Sign(kSignaturePrefix, signed_bytes);
}

Entry EntryCodec::Assemble(std::string_view signed_bytes, const crypto::Signature& sig,
                           const EntryId& id) {
  std::string bytes;
  bytes.reserve(signed_bytes.size() + kSignatureTrailer);
  bytes.append(signed_bytes);
  core::AppendMsgpackBin(&bytes, std::string_view(reinterpret_cast<const char*>(sig.data()),
                                                     sig.size()));
  Entry e;
  Status st = Parse(bytes, &e);
  // Signed bytes come from EncodeSigned, so they always parse.
  if (!st.ok()) std::abort();
  e.bytes_ = std::move(bytes);
  e.id_ = id;
  return e;
}

Result<Entry> EntryCodec::Build(const crypto::KeyPair& key, const Fields& fields) {
  PLUMLOG_ASSIGN_OR_RETURN(std::string signed_bytes, EncodeSigned(fields));
  EntryId id = IdOf(signed_bytes);
  return Assemble(signed_bytes, SignBytes(key, signed_bytes), id);
}

Status EntryCodec::Parse(std::string_view encoded, Entry* e) {
  if (encoded.size() > kMaxEntryBytes) {
    return Status::TooLarge("entry is " + std::to_string(encoded.size()) +
                            " bytes; the limit is " + std::to_string(kMaxEntryBytes));
  }
  MsgpackReader r(encoded);
  uint32_t n = 0;
  PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("entry", &n));
  // Like every integer in the entry, the field count must use its shortest form
  // (fixarray 0x97), so one set of fields has one encoding.
  if (r.offset() != 1) {
    return Status::Corruption("entry: field array header not in its shortest form");
  }
  if (n != kFieldCount) {
    return Status::Corruption("entry: expected " + std::to_string(kFieldCount) +
                              " fields, got " + std::to_string(n));
  }
  uint64_t version = 0;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("entry version", &version));
  if (version != kEntryFormatVersion) {
    return Status::Corruption("entry: unsupported format version " + std::to_string(version));
  }
  std::string_view raw;
  PLUMLOG_RETURN_IF_ERROR(r.ReadBinExact("entry author", FeedId::kSize, &raw));
  e->author_ = *FeedId::FromBytes(raw);
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("entry sequence", &e->seq_));
  if (r.TryReadNil()) {
    e->previous_.reset();
  } else {
    PLUMLOG_RETURN_IF_ERROR(r.ReadBinExact("entry previous", EntryId::kSize, &raw));
    e->previous_ = EntryId::FromBytes(raw);
  }
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("entry lamport", &e->lamport_));
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("entry timestamp", &e->timestamp_ms_));
  e->content_offset_ = r.offset();
  PLUMLOG_RETURN_IF_ERROR(r.SkipValue("entry content", kMaxContentDepth));
  e->content_size_ = r.offset() - e->content_offset_;
  e->signed_size_ = r.offset();
  PLUMLOG_RETURN_IF_ERROR(r.ReadBinExact("entry signature", 64, &raw));
  PLUMLOG_RETURN_IF_ERROR(r.ExpectEnd("entry"));
  Fields f;
  f.seq = e->seq_;
  f.previous = e->previous_;
  f.lamport = e->lamport_;
  f.timestamp_ms = e->timestamp_ms_;
  Status st = CheckFields(f);
  if (!st.ok()) return Status::Corruption("entry: " + st.message());
  return Status::OK();
}

Result<Entry> EntryCodec::Decode(std::string_view encoded) {
  Entry e;
  PLUMLOG_RETURN_IF_ERROR(Parse(encoded, &e));
  e.bytes_.assign(encoded);
  e.id_ = IdOf(e.signed_bytes());
  return e;
}

Result<Entry> EntryCodec::DecodeStored(std::string_view encoded, const EntryId& id) {
  Entry e;
  PLUMLOG_RETURN_IF_ERROR(Parse(encoded, &e));
  e.bytes_.assign(encoded);
  e.id_ = id;
  return e;
}

bool EntryCodec::Verify(const Entry& entry) {
  return crypto::KeyPair::Verify(entry.author(), kSignaturePrefix, entry.signed_bytes(),
                                 entry.signature());
}

crypto::SignatureVerifier::Item EntryCodec::SignatureItem(const Entry& entry) {
  crypto::SignatureVerifier::Item item;
  item.public_key = entry.author().bytes().data();
  item.prefix = kSignaturePrefix;
  item.message = entry.signed_bytes();
  item.signature = entry.signature().data();
  return item;
}

}  // namespace plumlog
