// Entry format v1 (docs/format.md): build, sign and decode entries.
#ifndef PLUMLOG_FORMAT_ENTRY_CODEC_H_
#define PLUMLOG_FORMAT_ENTRY_CODEC_H_

#include <optional>
#include <string>
#include <string_view>

#include "crypto/keypair.h"
#include "crypto/signature_verifier.h"
#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog {

class EntryCodec {
 public:
  // Signatures cover kSignaturePrefix || signed bytes, so an entry signature can
  // never be replayed as a signature over anything else plumlog signs.
  static constexpr std::string_view kSignaturePrefix = "plumlog-entry-v1\n";
  // Number of fields in the signed array.
  static constexpr uint32_t kFieldCount = 7;
  // Bytes the signature adds after the signed bytes: bin8 header (0xc4 0x40) + 64.
  static constexpr size_t kSignatureTrailer = 66;

  struct Fields {
    FeedId author;
    uint64_t seq = 0;
    std::optional<EntryId> previous;
    uint64_t lamport = 0;
    uint64_t timestamp_ms = 0;
    std::string_view content;  // exactly one msgpack value
  };

  // Checks content (one well-formed msgpack value, nesting <= kMaxContentDepth)
  // and every field rule, then returns the signed bytes. TooLarge if the whole
  // entry would exceed kMaxEntryBytes.
  static Result<std::string> EncodeSigned(const Fields& fields);
  // BLAKE2b-256 of the signed bytes.
  static EntryId IdOf(std::string_view signed_bytes);
  static crypto::Signature SignBytes(const crypto::KeyPair& key, std::string_view signed_bytes);
  // Joins signed bytes (from EncodeSigned) and their signature into an Entry.
  static Entry Assemble(std::string_view signed_bytes, const crypto::Signature& sig,
                        const EntryId& id);
  // EncodeSigned + IdOf + SignBytes + Assemble.
  static Result<Entry> Build(const crypto::KeyPair& key, const Fields& fields);

  // The strict decoder behind Entry::Decode.
  static Result<Entry> Decode(std::string_view encoded);
  // For bytes this store wrote itself with their id: skips re-hashing. Still
  // fully structure-checked (Corruption on any problem).
  static Result<Entry> DecodeStored(std::string_view encoded, const EntryId& id);

  // The entry's signature, checked by libsodium.
  static bool Verify(const Entry& entry);
  // The same check as one item for crypto::SignatureVerifier (which decides
  // exactly as Verify does). Points into the entry.
  static crypto::SignatureVerifier::Item SignatureItem(const Entry& entry);

 private:
  static Status Parse(std::string_view encoded, Entry* entry);
};

}  // namespace plumlog

#endif  // PLUMLOG_FORMAT_ENTRY_CODEC_H_
