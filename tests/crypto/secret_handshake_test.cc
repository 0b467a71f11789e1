// Tests of the secret handshake core (crypto/secret_handshake.h): C++ to C++
// handshakes, and rejection of every kind of bad input without a crash.
#include "crypto/secret_handshake.h"

#include <gtest/gtest.h>

#include <new>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <string>

#include "crypto/box_stream.h"
#include "crypto/keypair.h"

namespace plumlog::crypto {
namespace {

using Role = SecretHandshake::Role;

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

// Runs a handshake between two cores, passing every message whole.
void Pump(SecretHandshake& client, SecretHandshake& server) {
  for (int i = 0; i < 4; ++i) {
    const std::string to_server = client.TakeOutput();
    if (!to_server.empty()) (void)server.Receive(to_server);
    const std::string to_client = server.TakeOutput();
    if (!to_client.empty()) (void)client.Receive(to_client);
  }
}

struct Transcript {
  std::string client_hello, server_hello, client_auth, server_accept;
};

// The four messages of a successful deterministic handshake.
Transcript Record() {
  auto client = SecretHandshake::Client(Key(1), kPlumlogNetworkKey,
                                        Key(2).public_key(), Eph(3));
  auto server = SecretHandshake::Server(Key(2), kPlumlogNetworkKey, Eph(4));
  Transcript t;
  t.client_hello = client.TakeOutput();
  EXPECT_TRUE(server.Receive(t.client_hello).ok());
  t.server_hello = server.TakeOutput();
  EXPECT_TRUE(client.Receive(t.server_hello).ok());
  t.client_auth = client.TakeOutput();
  EXPECT_TRUE(server.Receive(t.client_auth).ok());
  t.server_accept = server.TakeOutput();
  EXPECT_TRUE(client.Receive(t.server_accept).ok());
  EXPECT_TRUE(client.done());
  EXPECT_TRUE(server.done());
  return t;
}

TEST(SecretHandshakeTest, CompletesAndAgreesOnKeys) {
  auto client =
      SecretHandshake::Client(Key(1), kPlumlogNetworkKey, Key(2).public_key());
  auto server = SecretHandshake::Server(Key(2), kPlumlogNetworkKey);
  Pump(client, server);
  ASSERT_TRUE(client.done()) << client.error().ToString();
  ASSERT_TRUE(server.done()) << server.error().ToString();
  EXPECT_EQ(client.remote(), Key(2).public_key());
  EXPECT_EQ(server.remote(), Key(1).public_key());
  EXPECT_EQ(client.keys().encrypt.key, server.keys().decrypt.key);
  EXPECT_EQ(client.keys().encrypt.nonce, server.keys().decrypt.nonce);
  EXPECT_EQ(client.keys().decrypt.key, server.keys().encrypt.key);
  EXPECT_EQ(client.keys().decrypt.nonce, server.keys().encrypt.nonce);
  EXPECT_NE(client.keys().encrypt.key, client.keys().decrypt.key);
  EXPECT_TRUE(client.End().ok());
  EXPECT_TRUE(server.End().ok());
}

// Issue 12: the session keys stayed in the handshake's memory after it was
// destroyed. Build one in storage we own, finish it, destroy it, and look.
TEST(SecretHandshakeTest, DestroyingTheHandshakeWipesItsSecrets) {
  auto server = SecretHandshake::Server(Key(2), kPlumlogNetworkKey, Eph(4));
  alignas(SecretHandshake) unsigned char storage[sizeof(SecretHandshake)];
  auto* client = new (storage) SecretHandshake(SecretHandshake::Client(
      Key(1), kPlumlogNetworkKey, Key(2).public_key(), Eph(3)));
  Pump(*client, server);
  ASSERT_TRUE(client->done());
  const BoxStreamKeys keys = client->keys();
  auto contains = [&](const auto& secret) {
    const std::string_view hay(reinterpret_cast<const char*>(storage),
                               sizeof storage);
    const std::string_view needle(reinterpret_cast<const char*>(secret.data()),
                                  secret.size());
    return hay.find(needle) != std::string_view::npos;
  };
  ASSERT_TRUE(contains(keys.encrypt.key));  // the search works
  ASSERT_TRUE(contains(keys.decrypt.key));
  client->~SecretHandshake();
  EXPECT_FALSE(contains(keys.encrypt.key));
  EXPECT_FALSE(contains(keys.decrypt.key));
  EXPECT_FALSE(contains(kPlumlogNetworkKey));
}

TEST(SecretHandshakeTest, MessageSizes) {
  const Transcript t = Record();
  EXPECT_EQ(t.client_hello.size(), 64u);
  EXPECT_EQ(t.server_hello.size(), 64u);
  EXPECT_EQ(t.client_auth.size(), 112u);
  EXPECT_EQ(t.server_accept.size(), 80u);
  // Deterministic with injected ephemeral keys.
  const Transcript again = Record();
  EXPECT_EQ(t.client_auth, again.client_auth);
  EXPECT_EQ(t.server_accept, again.server_accept);
}

TEST(SecretHandshakeTest, ByteByByteAndCoalescedWithBoxStream) {
  auto client =
      SecretHandshake::Client(Key(1), kPlumlogNetworkKey, Key(2).public_key());
  auto server = SecretHandshake::Server(Key(2), kPlumlogNetworkKey);
  for (char c : client.TakeOutput())
    ASSERT_TRUE(server.Receive(std::string(1, c)).ok());
  for (char c : server.TakeOutput())
    ASSERT_TRUE(client.Receive(std::string(1, c)).ok());
  for (char c : client.TakeOutput())
    ASSERT_TRUE(server.Receive(std::string(1, c)).ok());
  ASSERT_TRUE(server.done());
  // The server's accept and its first box-stream frames arrive together.
  std::string wire = server.TakeOutput();
  BoxStreamEncoder enc(server.keys().encrypt);
  ASSERT_TRUE(enc.Encode("hello client", &wire).ok());
  ASSERT_TRUE(enc.Goodbye(&wire).ok());
  ASSERT_TRUE(client.Receive(wire).ok());
  ASSERT_TRUE(client.done());
  BoxStreamDecoder dec(client.keys().decrypt);
  std::string plain;
  ASSERT_TRUE(dec.Feed(client.TakeRemainder(), &plain).ok());
  EXPECT_EQ(plain, "hello client");
  EXPECT_TRUE(dec.goodbye());
  EXPECT_FALSE(client.Receive("x").ok());  // after completion
}

TEST(SecretHandshakeTest, WrongNetworkKeyServerSendsNothing) {
  NetworkKey other = kPlumlogNetworkKey;
  other[0] ^= 1;
  auto client = SecretHandshake::Client(Key(1), other, Key(2).public_key());
  auto server = SecretHandshake::Server(Key(2), kPlumlogNetworkKey);
  const Status st = server.Receive(client.TakeOutput());
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("hello HMAC mismatch"), std::string::npos)
      << st.ToString();
  EXPECT_TRUE(server.failed());
  EXPECT_TRUE(server.TakeOutput().empty());
  // The client sees the connection close.
  const Status end = client.End();
  EXPECT_FALSE(end.ok());
  EXPECT_NE(end.message().find("truncated"), std::string::npos)
      << end.ToString();
}

TEST(SecretHandshakeTest, WrongNetworkKeyClientRejectsServerHello) {
  NetworkKey other = kSsbMainNetworkKey;
  auto client =
      SecretHandshake::Client(Key(1), kPlumlogNetworkKey, Key(2).public_key());
  auto server = SecretHandshake::Server(Key(2), other);
  // A server that answers anyway (a hostile one): forge its hello with our key.
  auto honest = SecretHandshake::Server(Key(2), other);
  ASSERT_FALSE(honest.Receive(client.TakeOutput()).ok());
  auto other_client =
      SecretHandshake::Client(Key(1), other, Key(2).public_key());
  ASSERT_TRUE(server.Receive(other_client.TakeOutput()).ok());
  const Status st = client.Receive(server.TakeOutput());
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("hello HMAC mismatch"), std::string::npos);
  EXPECT_TRUE(client.TakeOutput().empty());
}

TEST(SecretHandshakeTest, ClientExpectingAnotherServerIsRejected) {
  auto client =
      SecretHandshake::Client(Key(1), kPlumlogNetworkKey, Key(9).public_key());
  auto server = SecretHandshake::Server(Key(2), kPlumlogNetworkKey);
  ASSERT_TRUE(server.Receive(client.TakeOutput()).ok());
  ASSERT_TRUE(client.Receive(server.TakeOutput()).ok());
  const Status st = server.Receive(client.TakeOutput());
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("client auth"), std::string::npos)
      << st.ToString();
  EXPECT_TRUE(server.TakeOutput().empty());
  EXPECT_FALSE(client.End().ok());
}

TEST(SecretHandshakeTest, EveryTruncationPointFails) {
  const Transcript t = Record();
  // Server side: the client's bytes cut at every point.
  const std::string from_client = t.client_hello + t.client_auth;
  for (size_t cut = 0; cut < from_client.size(); ++cut) {
    auto server = SecretHandshake::Server(Key(2), kPlumlogNetworkKey, Eph(4));
    ASSERT_TRUE(server.Receive(from_client.substr(0, cut)).ok()) << cut;
    const Status st = server.End();
    EXPECT_FALSE(st.ok()) << cut;
    EXPECT_NE(st.message().find("truncated"), std::string::npos)
        << st.ToString();
    EXPECT_FALSE(server.done());
  }
  // Client side: the server's bytes cut at every point.
  const std::string from_server = t.server_hello + t.server_accept;
  for (size_t cut = 0; cut < from_server.size(); ++cut) {
    auto client = SecretHandshake::Client(Key(1), kPlumlogNetworkKey,
                                          Key(2).public_key(), Eph(3));
    ASSERT_TRUE(client.Receive(from_server.substr(0, cut)).ok()) << cut;
    EXPECT_FALSE(client.End().ok()) << cut;
    EXPECT_FALSE(client.done());
  }
}

TEST(SecretHandshakeTest, EveryByteFlipFails) {
  const Transcript t = Record();
  const std::string from_client = t.client_hello + t.client_auth;
  for (size_t i = 0; i < from_client.size(); ++i) {
    std::string bad = from_client;
    bad[i] ^= 0x01;
    auto server = SecretHandshake::Server(Key(2), kPlumlogNetworkKey, Eph(4));
    EXPECT_FALSE(server.Receive(bad).ok()) << "client byte " << i;
    EXPECT_FALSE(server.done());
  }
  const std::string from_server = t.server_hello + t.server_accept;
  for (size_t i = 0; i < from_server.size(); ++i) {
    std::string bad = from_server;
    bad[i] ^= 0x80;
    auto client = SecretHandshake::Client(Key(1), kPlumlogNetworkKey,
                                          Key(2).public_key(), Eph(3));
    (void)client.TakeOutput();
    EXPECT_FALSE(client.Receive(bad).ok()) << "server byte " << i;
    EXPECT_FALSE(client.done());
  }
}

TEST(SecretHandshakeTest, GarbageFails) {
  std::string garbage(4096, '\0');
  for (size_t i = 0; i < garbage.size(); ++i)
    garbage[i] = static_cast<char>(i * 131 + 7);
  auto server = SecretHandshake::Server(Key(2), kPlumlogNetworkKey);
  EXPECT_FALSE(server.Receive(garbage).ok());
  EXPECT_TRUE(server.TakeOutput().empty());
  EXPECT_FALSE(server.Receive("more").ok());  // stays failed
  auto client =
      SecretHandshake::Client(Key(1), kPlumlogNetworkKey, Key(2).public_key());
  (void)client.TakeOutput();
  EXPECT_FALSE(client.Receive(garbage).ok());
  EXPECT_TRUE(client.TakeOutput().empty());
  // All-zero hello with a valid HMAC over a low-order ephemeral key.
  auto low_order = SecretHandshake::Server(Key(2), kPlumlogNetworkKey);
  std::string hello(64, '\0');
  crypto_auth(reinterpret_cast<unsigned char*>(hello.data()),
              reinterpret_cast<const unsigned char*>(hello.data()) + 32, 32,
              kPlumlogNetworkKey.data());
  const Status st = low_order.Receive(hello);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("low-order"), std::string::npos) << st.ToString();
  EXPECT_TRUE(low_order.TakeOutput().empty());
}

TEST(SecretHandshakeTest, ReplayedClientAuthAgainstFreshServerFails) {
  const Transcript t = Record();
  // Same client hello, but the server picks a new ephemeral key: the old auth
  // message no longer decrypts.
  auto server = SecretHandshake::Server(Key(2), kPlumlogNetworkKey, Eph(5));
  ASSERT_TRUE(server.Receive(t.client_hello).ok());
  EXPECT_EQ(server.TakeOutput().size(), 64u);
  EXPECT_FALSE(server.Receive(t.client_auth).ok());
  EXPECT_TRUE(server.TakeOutput().empty());
}

TEST(SecretHandshakeTest, NetworkKeyConstants) {
  EXPECT_NE(kPlumlogNetworkKey, kSsbMainNetworkKey);
}

}  // namespace
}  // namespace plumlog::crypto
