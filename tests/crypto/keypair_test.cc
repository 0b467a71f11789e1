// KeyPair: Ed25519 keys, signatures over prefix || message, the secret key
// file.
#include "crypto/keypair.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace plumlog::crypto {
namespace {

namespace fs = std::filesystem;

std::array<uint8_t, 32> SeedOf(uint8_t start) {
  std::array<uint8_t, 32> s;
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(start + i);
  return s;
}

std::array<uint8_t, 32> FromHex32(std::string_view hex) {
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < 32; ++i)
    out[i] = static_cast<uint8_t>(
        std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  return out;
}

std::string Hex(std::span<const uint8_t> b) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s.push_back(kDigits[x >> 4]);
    s.push_back(kDigits[x & 15]);
  }
  return s;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (fs::temp_directory_path() / "plumlog-keytest-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, std::string_view data,
               mode_t mode = 0600) {
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

// ---- keys and signatures ----

TEST(KeyPair, FromSeedIsDeterministic) {
  const auto seed = SeedOf(1);
  KeyPair a = KeyPair::FromSeed(seed);
  KeyPair b = KeyPair::FromSeed(seed);
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_TRUE(std::equal(a.seed().begin(), a.seed().end(), seed.begin()));
  EXPECT_EQ(a.Sign("p", "m"),
            b.Sign("p", "m"));  // Ed25519 signing is deterministic
  EXPECT_NE(KeyPair::FromSeed(SeedOf(2)).public_key(), a.public_key());
}

// RFC 8032 section 7.1, TEST 1: the empty message.
TEST(KeyPair, Rfc8032TestVector1) {
  KeyPair kp = KeyPair::FromSeed(FromHex32(
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  EXPECT_EQ(Hex(kp.public_key().bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  Signature sig = kp.Sign("", "");
  EXPECT_EQ(Hex(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065"
            "224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e"
            "7a100b");
  EXPECT_TRUE(KeyPair::Verify(kp.public_key(), "", "", sig));
}

TEST(KeyPair, GenerateGivesDistinctWorkingKeys) {
  KeyPair a = KeyPair::Generate();
  KeyPair b = KeyPair::Generate();
  EXPECT_NE(a.public_key(), b.public_key());
  Signature sig = a.Sign("ctx", "hello");
  EXPECT_TRUE(KeyPair::Verify(a.public_key(), "ctx", "hello", sig));
  EXPECT_FALSE(KeyPair::Verify(b.public_key(), "ctx", "hello", sig));
  // The seed reproduces the key.
  std::array<uint8_t, 32> seed;
  std::copy(a.seed().begin(), a.seed().end(), seed.begin());
  EXPECT_EQ(KeyPair::FromSeed(seed).public_key(), a.public_key());
}

TEST(KeyPair, SignatureCoversPrefixThenMessage) {
  KeyPair kp = KeyPair::FromSeed(SeedOf(7));
  Signature sig = kp.Sign("plumlog-entry-v1\n", "body");
  EXPECT_TRUE(
      KeyPair::Verify(kp.public_key(), "plumlog-entry-v1\n", "body", sig));
  // Exactly the concatenation is signed: an empty prefix over the joined bytes
  // agrees.
  EXPECT_EQ(sig, kp.Sign("", "plumlog-entry-v1\nbody"));
  EXPECT_TRUE(
      KeyPair::Verify(kp.public_key(), "", "plumlog-entry-v1\nbody", sig));
  // A different prefix, or none, fails.
  EXPECT_FALSE(
      KeyPair::Verify(kp.public_key(), "plumlog-entry-v2\n", "body", sig));
  EXPECT_FALSE(KeyPair::Verify(kp.public_key(), "", "body", sig));
  EXPECT_FALSE(KeyPair::Verify(kp.public_key(), "other", "body", sig));
}

TEST(KeyPair, VerifyFailsOnEveryFlippedBit) {
  KeyPair kp = KeyPair::FromSeed(SeedOf(9));
  const std::string msg = "a message of some length";
  const Signature sig = kp.Sign("pfx", msg);
  ASSERT_TRUE(KeyPair::Verify(kp.public_key(), "pfx", msg, sig));
  for (size_t bit = 0; bit < msg.size() * 8; ++bit) {
    std::string m = msg;
    m[bit / 8] = static_cast<char>(m[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(KeyPair::Verify(kp.public_key(), "pfx", m, sig))
        << "message bit " << bit;
  }
  for (size_t bit = 0; bit < 3 * 8; ++bit) {
    std::string p = "pfx";
    p[bit / 8] = static_cast<char>(p[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(KeyPair::Verify(kp.public_key(), p, msg, sig))
        << "prefix bit " << bit;
  }
  for (size_t bit = 0; bit < sig.size() * 8; ++bit) {
    Signature s = sig;
    s[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
    EXPECT_FALSE(KeyPair::Verify(kp.public_key(), "pfx", msg, s))
        << "signature bit " << bit;
  }
  for (size_t bit = 0; bit < 32 * 8; ++bit) {
    FeedId key = kp.public_key();
    key.mutable_bytes()[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
    EXPECT_FALSE(KeyPair::Verify(key, "pfx", msg, sig)) << "key bit " << bit;
  }
  // Extra or missing bytes.
  EXPECT_FALSE(KeyPair::Verify(kp.public_key(), "pfx", msg + "x", sig));
  EXPECT_FALSE(KeyPair::Verify(kp.public_key(), "pfx", msg.substr(1), sig));
}

TEST(KeyPair, VerifyRejectsAllZeroKeyAndSignature) {
  Signature zero{};
  EXPECT_FALSE(KeyPair::Verify(FeedId(), "", "", zero));
}

// ---- the secret key file ----

TEST(SecretFile, SaveWritesTheDocumentedFormatWithMode0600) {
  TempDir dir;
  const mode_t old =
      ::umask(0);  // even a permissive umask must not widen the mode
  std::array<uint8_t, 32> zero{};
  Status st = KeyPair::FromSeed(zero).Save(dir / "secret");
  ::umask(old);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(ModeOf(dir / "secret"), 0600u);
  // The feed id is the all-zero seed's public key (checked against
  // libsodium below).
  EXPECT_EQ(ReadFile(dir / "secret"),
            "plumlog-secret-v2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "
            "@O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=.ed25519\n");
  unsigned char pk[32], sk[64];
  crypto_sign_seed_keypair(pk, sk, zero.data());
  EXPECT_EQ(KeyPair::FromSeed(zero).public_key(), FeedId(std::to_array(pk)));
  EXPECT_FALSE(fs::exists(dir / "secret.tmp"));
}

TEST(SecretFile, SaveLoadRoundTrip) {
  TempDir dir;
  KeyPair kp = KeyPair::Generate();
  ASSERT_TRUE(kp.Save(dir / "secret").ok());
  Result<KeyPair> loaded = KeyPair::Load(dir / "secret");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->public_key(), kp.public_key());
  EXPECT_TRUE(std::equal(loaded->seed().begin(), loaded->seed().end(),
                         kp.seed().begin()));
  EXPECT_EQ(loaded->Sign("", "x"), kp.Sign("", "x"));
}

TEST(SecretFile, SaveRefusesToOverwrite) {
  TempDir dir;
  KeyPair a = KeyPair::FromSeed(SeedOf(1));
  KeyPair b = KeyPair::FromSeed(SeedOf(2));
  ASSERT_TRUE(a.Save(dir / "secret").ok());
  const std::string before = ReadFile(dir / "secret");
  Status st = b.Save(dir / "secret");
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists) << st.ToString();
  EXPECT_EQ(ReadFile(dir / "secret"), before);
  Result<KeyPair> loaded = KeyPair::Load(dir / "secret");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->public_key(), a.public_key());
  // Not even over a dangling symlink.
  fs::create_symlink(dir / "nowhere", dir / "link");
  EXPECT_EQ(b.Save(dir / "link").code(), Status::Code::kAlreadyExists);
  EXPECT_FALSE(fs::exists(dir / "nowhere"));
}

TEST(SecretFile, SaveIntoMissingDirectoryIsIOError) {
  TempDir dir;
  EXPECT_EQ(KeyPair::Generate().Save(dir / "no/such/dir/secret").code(),
            Status::Code::kIOError);
}

TEST(SecretFile, LoadMissingIsNotFound) {
  TempDir dir;
  EXPECT_EQ(KeyPair::Load(dir / "secret").status().code(),
            Status::Code::kNotFound);
}

TEST(SecretFile, LoadRefusesGroupOrOtherAccess) {
  for (mode_t mode :
       {0640, 0604, 0644, 0660, 0606, 0620, 0602, 0610, 0601, 0666}) {
    TempDir dir;
    ASSERT_TRUE(KeyPair::FromSeed(SeedOf(3)).Save(dir / "secret").ok());
    ASSERT_EQ(::chmod((dir / "secret").c_str(), mode), 0);
    Result<KeyPair> r = KeyPair::Load(dir / "secret");
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied)
        << std::oct << mode;
    EXPECT_NE(r.status().message().find("chmod 600"), std::string::npos)
        << r.status().message();
  }
  // Owner-only modes are fine.
  for (mode_t mode : {0600, 0400}) {
    TempDir dir;
    ASSERT_TRUE(KeyPair::FromSeed(SeedOf(3)).Save(dir / "secret").ok());
    ASSERT_EQ(::chmod((dir / "secret").c_str(), mode), 0);
    EXPECT_TRUE(KeyPair::Load(dir / "secret").ok()) << std::oct << mode;
  }
}

// "plumlog-secret-v1 " + b64 + "\n".
std::string SecretLine(std::string_view b64,
                       std::string_view header = "plumlog-secret-v1 ") {
  std::string s(header);
  s += b64;
  s += '\n';
  return s;
}

// Each text, as a key file, is refused as Corruption.
void ExpectAllRefused(const std::vector<std::string>& bad) {
  for (const std::string& text : bad) {
    TempDir dir;
    WriteFile(dir / "secret", text);
    Result<KeyPair> r = KeyPair::Load(dir / "secret");
    EXPECT_FALSE(r.ok()) << "accepted: " << text;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << text;
    }
  }
}

// Issue 12: a well-formed but altered seed used to load as a new identity.
// Format v2 names the identity, so the change is caught.
TEST(SecretFile, AlteredSeedInAVersion2FileIsRefused) {
  TempDir dir;
  ASSERT_TRUE(KeyPair::FromSeed(SeedOf(1)).Save(dir / "secret").ok());
  std::string text = ReadFile(dir / "secret");
  ASSERT_TRUE(text.starts_with("plumlog-secret-v2 AQIDBAUG"));
  int version = 0;
  ASSERT_TRUE(KeyPair::Load(dir / "secret", &version).ok());
  EXPECT_EQ(version, 2);
  // One base64 character of the seed changed: still a valid seed.
  text[20] = text[20] == 'A' ? 'B' : 'A';
  fs::remove(dir / "secret");
  WriteFile(dir / "secret", text);
  Result<KeyPair> r = KeyPair::Load(dir / "secret");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("damaged"), std::string::npos)
      << r.status().ToString();
  // So is a feed id that is not the seed's.
  fs::remove(dir / "secret");
  std::string other = KeyPair::FromSeed(SeedOf(1)).public_key().ToString();
  std::string swapped =
      "plumlog-secret-v2 " +
      std::string("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=") + " " +
      KeyPair::FromSeed(SeedOf(2)).public_key().ToString() + "\n";
  WriteFile(dir / "secret", swapped);
  EXPECT_EQ(KeyPair::Load(dir / "secret").status().code(),
            Status::Code::kCorruption);
  fs::remove(dir / "secret");
  WriteFile(dir / "secret",
            "plumlog-secret-v2 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA= " +
                other + "\n");
  EXPECT_TRUE(KeyPair::Load(dir / "secret").ok());
}

TEST(SecretFile, Version1FilesAreStillRead) {
  TempDir dir;
  WriteFile(dir / "secret",
            "plumlog-secret-v1 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n");
  int version = 0;
  Result<KeyPair> r = KeyPair::Load(dir / "secret", &version);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(version, 1);
  EXPECT_EQ(r->public_key(), KeyPair::FromSeed(SeedOf(1)).public_key());
}

TEST(SecretFile, LoadRejectsMalformedVersion2Files) {
  const std::string b64 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
  const std::string id = KeyPair::FromSeed(SeedOf(1)).public_key().ToString();
  const std::string good = "plumlog-secret-v2 " + b64 + " " + id + "\n";
  std::vector<std::string> bad = {
      good.substr(0, good.size() - 1),                // no newline
      good + "x",                                     // trailing
      "plumlog-secret-v2 " + b64 + "\t" + id + "\n",  // tab
      "plumlog-secret-v2 " + b64 + "  " + id.substr(1) + "\n",
      "plumlog-secret-v2 " + b64 + " " + id.substr(0, 52) + "x\n",  // suffix
      "plumlog-secret-v2 " + b64 + " %" + id.substr(1) + "\n",      // sigil
      "plumlog-secret-v1 " + b64 + " " + id + "\n",  // v1 header, v2 body
      "plumlog-secret-v2 " + b64 + "\n",             // v2 header, v1 body
  };
  ExpectAllRefused(bad);
}

TEST(SecretFile, LoadRejectsMalformedFiles) {
  const std::string b64 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
  const std::string good = SecretLine(b64);
  {
    TempDir dir;
    WriteFile(dir / "secret", good);
    Result<KeyPair> r = KeyPair::Load(dir / "secret");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->public_key(), KeyPair::FromSeed(SeedOf(1)).public_key());
  }
  std::vector<std::string> bad = {
      "",
      "\n",
      good.substr(0, good.size() - 1),         // no newline
      good.substr(0, good.size() - 2) + "\n",  // truncated base64
      good.substr(0, 30),                      // truncated
      good + "\n",                             // extra newline
      good + "extra bytes",                    // extra bytes
      SecretLine(b64, "plumlog-secret-v3 "),   // wrong header
      SecretLine(b64, "PLUMLOG-SECRET-V1 "),
      SecretLine(b64, "plumlog-secret-v1\t"),
      SecretLine(b64 + "\r"),
      SecretLine(b64 + " "),
      SecretLine("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH!A="),  // bad char
      SecretLine("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAA"),  // 33 bytes
      SecretLine("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH==="),  // 31 bytes
      SecretLine(
          "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyB="),  // unused bits
      std::string(good.size(), '\0'),
      std::string(4096, 'x'),
  };
  // Bytes outside the base64 alphabet, which libsodium 1.0.18's decoder lets
  // through in places (found by the secret_key_load fuzzer), at a few
  // positions.
  for (int high : {0x80, 0xc1, 0xff}) {
    for (size_t pos : {size_t{0}, size_t{20}, size_t{42}}) {
      std::string t = b64;
      t[pos] = static_cast<char>(high);
      bad.push_back(SecretLine(t));
    }
  }
  ExpectAllRefused(bad);
}

TEST(SecretFile, LoadRefusesSymlinkAndDirectory) {
  TempDir dir;
  ASSERT_TRUE(KeyPair::FromSeed(SeedOf(4)).Save(dir / "real").ok());
  fs::create_symlink(dir / "real", dir / "secret");
  EXPECT_FALSE(KeyPair::Load(dir / "secret").ok());
  fs::create_directory(dir / "d");
  ::chmod((dir / "d").c_str(), 0700);
  Result<KeyPair> r = KeyPair::Load(dir / "d");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace plumlog::crypto
