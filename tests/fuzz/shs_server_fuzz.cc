// Fuzz target: the secret handshake's server role fed bytes from a hostile
// client (crypto/secret_handshake.h).
//
// Input: one mode byte, then the client's bytes. Mode bit 0 set: a valid
// client hello (for the target's fixed keys) is sent first, so the fuzzer
// reaches the client auth; mode bits 1..7 choose the chunk size input is fed
// in. Invariants: no crash; a failed server never outputs another byte; the
// server only ever outputs its 64-byte hello and 80-byte accept.
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

  auto server = SecretHandshake::Server(server_key, kPlumlogNetworkKey, Eph(4));
  std::string wire;
  if (mode & 1) {
    auto client = SecretHandshake::Client(client_key, kPlumlogNetworkKey,
                                          server_key.public_key(), Eph(3));
    wire = client.TakeOutput();
  }
  wire.append(input);
  const size_t chunk = (mode >> 1) + 1;
  size_t sent = 0;
  for (size_t i = 0; i < wire.size(); i += chunk) {
    const bool was_failed = server.failed();
    const plumlog::Status st =
        server.Receive(std::string_view(wire).substr(i, chunk));
    const std::string out = server.TakeOutput();
    if (was_failed || !st.ok()) {
      FUZZ_CHECK(out.empty());
      FUZZ_CHECK(server.failed() || server.done());
    }
    if (!out.empty()) {
      FUZZ_CHECK((sent == 0 && out.size() == 64) ||
                 (sent == 64 && out.size() == 80));
      sent += out.size();
    }
    if (server.done()) {
      FUZZ_CHECK(sent == 144);
      break;
    }
  }
  if (!server.done()) FUZZ_CHECK(!server.End().ok());
  return 0;
}
