// Fuzz target: the secret handshake's client role fed bytes from a hostile
// server (crypto/secret_handshake.h).
//
// Input: one mode byte, then the server's bytes. Mode bit 0 set: a valid
// server hello (for the target's fixed keys) comes first, so the fuzzer
// reaches the server accept; mode bits 1..7 choose the chunk size. Invariants:
// no crash; nothing is output after a failure; the client only ever outputs
// its 112-byte auth after the initial hello; it never completes on bytes that
// did not come from the real server.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/keypair.h"
#include "crypto/secret_handshake.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using plumlog::crypto::KeyPair;
using plumlog::crypto::kPlumlogNetworkKey;
using plumlog::crypto::SecretHandshake;

KeyPair Key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return KeyPair::FromSeed(seed);
}

SecretHandshake::EphemeralSecret Eph(uint8_t n) {
  SecretHandshake::EphemeralSecret e{};
  e.fill(n);
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const KeyPair server_key = Key(2);
  static const KeyPair client_key = Key(1);

  auto client = SecretHandshake::Client(client_key, kPlumlogNetworkKey,
                                        server_key.public_key(), Eph(3));
  const std::string hello = client.TakeOutput();
  FUZZ_CHECK(hello.size() == 64);
  std::string wire;
  if (mode & 1) {
    auto server =
        SecretHandshake::Server(server_key, kPlumlogNetworkKey, Eph(4));
    FUZZ_CHECK(server.Receive(hello).ok());
    wire = server.TakeOutput();
  }
  wire.append(input);
  const size_t chunk = (mode >> 1) + 1;
  size_t sent = 0;
  for (size_t i = 0; i < wire.size(); i += chunk) {
    const plumlog::Status st =
        client.Receive(std::string_view(wire).substr(i, chunk));
    const std::string out = client.TakeOutput();
    if (!st.ok()) FUZZ_CHECK(out.empty());
    if (!out.empty()) {
      FUZZ_CHECK(sent == 0 && out.size() == 112);
      sent += out.size();
    }
    if (client.done() || client.failed()) break;
  }
  if (client.done()) {
    // Only the real server (fixed keys) can complete: its accept must be
    // exactly what an honest server sends.
    FUZZ_CHECK(client.remote() == server_key.public_key());
  } else {
    FUZZ_CHECK(!client.End().ok());
  }
  return 0;
}
