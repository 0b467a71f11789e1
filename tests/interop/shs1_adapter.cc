// Adapter that lets shs1-test (https://github.com/AljoschaMeyer/shs1-test)
// drive plumlog's secret handshake core over stdin/stdout.
//
//   server role: shs1_adapter NETWORK_KEY SERVER_SK SERVER_PK   (hex; sk is 64
//   bytes) client role: shs1_adapter NETWORK_KEY SERVER_PK             (hex)
//
// It performs the handshake, then writes the 112-byte outcome (encryption
// key, encryption nonce, decryption key, decryption nonce) and exits 0. On
// any failure it writes nothing more and exits 1, as the suite requires.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/keypair.h"
#include "crypto/secret_handshake.h"

namespace {

using plumlog::crypto::KeyPair;
using plumlog::crypto::SecretHandshake;

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

bool WriteAll(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

int Fail(const std::string& why) {
  std::fprintf(stderr, "shs1_adapter: %s\n", why.c_str());
  return 1;
}

int Run(SecretHandshake hs) {
  char buf[256];
  while (true) {
    if (!WriteAll(hs.TakeOutput())) return Fail("write failed");
    if (hs.done()) break;
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail("read failed");
    if (n == 0) return Fail(hs.End().ToString());
    const plumlog::Status st =
        hs.Receive(std::string_view(buf, static_cast<size_t>(n)));
    if (!st.ok()) return Fail(st.ToString());
  }
  const auto& k = hs.keys();
  std::string outcome;
  for (const auto* part : {&k.encrypt, &k.decrypt}) {
    outcome.append(reinterpret_cast<const char*>(part->key.data()),
                   part->key.size());
    outcome.append(reinterpret_cast<const char*>(part->nonce.data()),
                   part->nonce.size());
  }
  return WriteAll(outcome) ? 0 : Fail("write failed");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    return Fail(
        "usage: shs1_adapter NETWORK_KEY SERVER_SK SERVER_PK | NETWORK_KEY "
        "SERVER_PK");
  }
  const auto net = FromHex(argv[1]);
  if (!net || net->size() != 32) return Fail("bad network key");
  plumlog::crypto::NetworkKey network_key;
  std::copy(net->begin(), net->end(), network_key.begin());

  if (argc == 4) {
    const auto sk = FromHex(argv[2]);
    const auto pk = FromHex(argv[3]);
    if (!sk || sk->size() != 64 || !pk || pk->size() != 32)
      return Fail("bad server keys");
    std::array<uint8_t, 32> seed;
    std::copy(sk->begin(), sk->begin() + 32, seed.begin());
    const KeyPair server = KeyPair::FromSeed(seed);
    if (server.public_key().view() != *pk)
      return Fail("server sk and pk do not match");
    return Run(SecretHandshake::Server(server, network_key));
  }
  const auto pk = FromHex(argv[2]);
  if (!pk) return Fail("bad server key");
  const auto server = plumlog::FeedId::FromBytes(*pk);
  if (!server) return Fail("bad server key");
  return Run(
      SecretHandshake::Client(KeyPair::Generate(), network_key, *server));
}
