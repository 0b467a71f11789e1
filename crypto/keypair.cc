#include "crypto/keypair.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "crypto/sodium_init.h"

namespace plumlog::crypto {
namespace {

// Format v2 (written): the seed and the feed id of its public key.
//   "plumlog-secret-v2 " <44 base64 seed> " " <53-char feed id> "\n"
// Format v1 (read only): "plumlog-secret-v1 " <44 base64 seed> "\n".
constexpr std::string_view kSecretHeaderV1 = "plumlog-secret-v1 ";
constexpr std::string_view kSecretHeaderV2 = "plumlog-secret-v2 ";
constexpr size_t kSecretB64Len = 44;
constexpr size_t kFeedIdTextLen = 53;
constexpr size_t kSecretFileLenV1 = kSecretHeaderV1.size() + kSecretB64Len + 1;
constexpr size_t kSecretFileLenV2 =
    kSecretHeaderV2.size() + kSecretB64Len + 1 + kFeedIdTextLen + 1;

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

KeyPair::~KeyPair() { sodium_memzero(secret_.data(), secret_.size()); }

KeyPair KeyPair::Generate() {
  EnsureSodium();
  std::array<uint8_t, kSeedSize> seed;
  randombytes_buf(seed.data(), seed.size());
  KeyPair kp = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return kp;
}

KeyPair KeyPair::FromSeed(std::span<const uint8_t, kSeedSize> seed) {
  EnsureSodium();
  KeyPair kp;
  std::array<uint8_t, 32> pk;
  crypto_sign_seed_keypair(pk.data(), kp.secret_.data(), seed.data());
  kp.public_key_ = FeedId(pk);
  return kp;
}

Signature KeyPair::Sign(std::string_view prefix,
                        std::string_view message) const {
  Signature sig;
  std::string buf;
  const unsigned char* msg =
      reinterpret_cast<const unsigned char*>(message.data());
  size_t len = message.size();
  if (!prefix.empty()) {
    buf.reserve(prefix.size() + message.size());
    buf.append(prefix).append(message);
    msg = reinterpret_cast<const unsigned char*>(buf.data());
    len = buf.size();
  }
  crypto_sign_detached(sig.data(), nullptr, msg, len, secret_.data());
  return sig;
}

bool KeyPair::Verify(const FeedId& key, std::string_view prefix,
                     std::string_view message,
                     std::span<const uint8_t, 64> signature) {
  EnsureSodium();
  std::string buf;
  buf.reserve(prefix.size() + message.size());
  buf.append(prefix).append(message);
  return crypto_sign_verify_detached(
             signature.data(),
             reinterpret_cast<const unsigned char*>(buf.data()), buf.size(),
             key.bytes().data()) == 0;
}

std::string KeyPair::FileText() const {
  char
      b64[sodium_base64_ENCODED_LEN(kSeedSize, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, secret_.data(), kSeedSize,
                    sodium_base64_VARIANT_ORIGINAL);
  std::string text(kSecretHeaderV2);
  text += b64;
  text += ' ';
  text += public_key_.ToString();
  text += '\n';
  sodium_memzero(b64, sizeof b64);
  return text;
}

Status KeyPair::Save(const std::string& path) const {
  std::string text = FileText();

  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    return Status::AlreadyExists("secret key " + path + " already exists");
  }
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp);
  Status st_out;
  if (::fchmod(fd, 0600) != 0) {
    st_out = Errno("cannot chmod", tmp);
  } else if (::write(fd, text.data(), text.size()) !=
             static_cast<ssize_t>(text.size())) {
    st_out = Errno("cannot write", tmp);
  } else if (::fsync(fd) != 0) {
    st_out = Errno("cannot fsync", tmp);
  }
  sodium_memzero(text.data(), text.size());
  ::close(fd);
  if (st_out.ok() && ::link(tmp.c_str(), path.c_str()) != 0) {
    // link() fails if path appeared meanwhile: never clobber a key.
    st_out =
        errno == EEXIST
            ? Status::AlreadyExists("secret key " + path + " already exists")
            : Errno("cannot install", path);
  }
  ::unlink(tmp.c_str());
  return st_out;
}

Result<KeyPair> KeyPair::Load(const std::string& path, int* version) {
  EnsureSodium();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no secret key at " + path);
    return Errno("cannot open secret key", path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = Errno("cannot stat", path);
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Corruption("secret key " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o",
                  static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied(
        "secret key " + path + " has mode " + mode +
        " and is accessible by group or others; run: chmod 600 " + path);
  }
  std::array<char, kSecretFileLenV2 + 1> buf{};
  ssize_t n = ::read(fd, buf.data(), buf.size());
  ::close(fd);
  if (n < 0) return Errno("cannot read secret key", path);
  struct Wipe {
    std::array<char, kSecretFileLenV2 + 1>* buf;
    ~Wipe() { sodium_memzero(buf->data(), buf->size()); }
  } wipe{&buf};
  std::string_view text(buf.data(), static_cast<size_t>(n));
  const Status bad = Status::Corruption(
      "secret key " + path +
      " is malformed (expected one line: plumlog-secret-v2 <base64 seed> "
      "<feed id>, or plumlog-secret-v1 <base64 seed>)");
  int v = 0;
  if (text.size() == kSecretFileLenV2 && text.starts_with(kSecretHeaderV2) &&
      text[kSecretHeaderV2.size() + kSecretB64Len] == ' ' &&
      text.back() == '\n') {
    v = 2;
  } else if (text.size() == kSecretFileLenV1 &&
             text.starts_with(kSecretHeaderV1) && text.back() == '\n') {
    v = 1;
  }
  if (v == 0) return bad;
  std::array<uint8_t, kSeedSize> seed;
  size_t len = 0;
  const char* end = nullptr;
  std::string_view b64 = text.substr(kSecretHeaderV1.size(), kSecretB64Len);
  int rc =
      sodium_base642bin(seed.data(), seed.size(), b64.data(), b64.size(),
                        nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL);
  if (rc != 0 || len != kSeedSize || end != b64.data() + b64.size()) {
    sodium_memzero(seed.data(), seed.size());
    return bad;
  }
  // libsodium 1.0.18 decodes some bytes outside the base64 alphabet
  // (0x80..0xff) without complaint: accept only the canonical spelling of the
  // seed.
  char canon[sodium_base64_ENCODED_LEN(kSeedSize,
                                       sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(canon, sizeof canon, seed.data(), seed.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  const bool canonical = sodium_memcmp(canon, b64.data(), kSecretB64Len) == 0;
  sodium_memzero(canon, sizeof canon);
  if (!canonical) {
    sodium_memzero(seed.data(), seed.size());
    return bad;
  }
  KeyPair kp = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  if (v == 2) {
    // The file names the identity it holds: a seed altered on disk (a bit
    // flip, an edit) is refused instead of becoming a new identity.
    const std::string_view id_text =
        text.substr(kSecretHeaderV2.size() + kSecretB64Len + 1, kFeedIdTextLen);
    Result<FeedId> recorded = FeedId::Parse(id_text);
    if (!recorded.ok()) return bad;
    if (*recorded != kp.public_key()) {
      return Status::Corruption(
          "secret key " + path + " is damaged: its seed is the key of " +
          kp.public_key().ToString() + " but the file says it holds " +
          recorded->ToString() + "; restore the key file from a backup");
    }
  }
  if (version != nullptr) *version = v;
  return kp;
}

}  // namespace plumlog::crypto
