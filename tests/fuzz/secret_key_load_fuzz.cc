// Fuzz target: KeyPair::Load, which reads the secret key file (docs/format.md
// section 3): exactly one line, "plumlog-secret-v2 " <base64 of the 32-byte
// seed> " " <the feed id of its public key> "\n", or the older
// "plumlog-secret-v1 " <base64 seed> "\n".
//
// Each input is written to a private temporary file (mode 0600) and loaded.
// Whatever Load accepts must be exactly the file Save would write for the
// loaded key, and the key must work.
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/keypair.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::string* g_dir = nullptr;
std::string* g_path = nullptr;

void RemoveTempFiles() {
  if (g_path != nullptr) ::unlink(g_path->c_str());
  if (g_dir != nullptr) ::rmdir(g_dir->c_str());
}

const std::string& KeyPath() {
  if (g_path == nullptr) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
        "/plumlog-fuzz-key-XXXXXX";
    FUZZ_CHECK(::mkdtemp(templ.data()) != nullptr);
    g_dir = new std::string(templ);
    g_path = new std::string(templ + "/secret");
    std::atexit(RemoveTempFiles);
  }
  return *g_path;
}

void WriteFile(const std::string& path, std::string_view bytes) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(::fchmod(fd, 0600) == 0);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    FUZZ_CHECK(n > 0);
    done += static_cast<size_t>(n);
  }
  FUZZ_CHECK(::close(fd) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string& path = KeyPath();
  WriteFile(path, input);
  int version = 0;
  plumlog::Result<plumlog::crypto::KeyPair> kp =
      plumlog::crypto::KeyPair::Load(path, &version);
  if (!kp.ok()) {
    FUZZ_CHECK(kp.status().code() == plumlog::Status::Code::kCorruption);
    return 0;
  }

  // The one canonical spelling of this key.
  char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, kp->seed().data(), kp->seed().size(),
                    sodium_base64_VARIANT_ORIGINAL);
  const std::string canonical =
      version == 2 ? std::string("plumlog-secret-v2 ") + b64 + " " +
                         kp->public_key().ToString() + "\n"
                   : std::string("plumlog-secret-v1 ") + b64 + "\n";
  FUZZ_CHECK(version == 1 || version == 2);
  FUZZ_CHECK(input == canonical);

  // The loaded key is the key of its seed, and it signs.
  const plumlog::crypto::KeyPair same =
      plumlog::crypto::KeyPair::FromSeed(kp->seed());
  FUZZ_CHECK(same.public_key() == kp->public_key());
  const plumlog::crypto::Signature sig = kp->Sign("fuzz\n", input);
  FUZZ_CHECK(
      plumlog::crypto::KeyPair::Verify(kp->public_key(), "fuzz\n", input, sig));
  return 0;
}
