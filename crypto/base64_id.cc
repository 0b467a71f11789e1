// Text form of 32-byte ids: sigil + padded standard base64 (44 chars) + suffix.
#include <sodium.h>

#include <string>

#include "crypto/sodium_init.h"
#include "plumlog/types.h"

namespace plumlog {

template <typename Tag>
std::string Id32<Tag>::ToString() const {
  char b64[sodium_base64_ENCODED_LEN(kSize, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, bytes_.data(), kSize,
                    sodium_base64_VARIANT_ORIGINAL);
  std::string out(Tag::kSigil);
  out += b64;
  out += Tag::kSuffix;
  return out;
}

template <typename Tag>
Result<Id32<Tag>> Id32<Tag>::Parse(std::string_view text) {
  constexpr size_t kB64Len = 44;
  const std::string what(Tag::kWhat);
  const std::string form = std::string(Tag::kSigil) + "<44 base64 chars>" +
                           std::string(Tag::kSuffix);
  if (text.size() != Tag::kSigil.size() + kB64Len + Tag::kSuffix.size() ||
      !text.starts_with(Tag::kSigil) || !text.ends_with(Tag::kSuffix)) {
    return Status::InvalidArgument("malformed " + what + " (expected " + form +
                                   ")");
  }
  std::string_view b64 = text.substr(Tag::kSigil.size(), kB64Len);
  Id32 id;
  size_t bin_len = 0;
  const char* end = nullptr;
  crypto::EnsureSodium();
  if (sodium_base642bin(id.bytes_.data(), kSize, b64.data(), b64.size(),
                        nullptr, &bin_len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      bin_len != kSize || end != b64.data() + b64.size()) {
    return Status::InvalidArgument("malformed " + what + ": bad base64");
  }
  // Only the canonical spelling is accepted, so each id has one text form.
  if (id.ToString() != text) {
    return Status::InvalidArgument("malformed " + what +
                                   ": non-canonical base64");
  }
  return id;
}

template class Id32<FeedIdTag>;
template class Id32<EntryIdTag>;

}  // namespace plumlog
