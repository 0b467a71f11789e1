// SSB secret handshake, version 1 (docs/protocol.md section 16), as a sans-IO
// core: bytes from the peer go in through Receive(), bytes for the peer come
// out of TakeOutput(), and nothing here touches a socket or a clock.
//
//   client -> server  64 bytes   hello:  HMAC(K, a) || a          (a: client
//   ephemeral) server -> client  64 bytes   hello:  HMAC(K, b) || b (b: server
//   ephemeral) client -> server 112 bytes   auth:   secretbox(sig_A || A) (A:
//   client long-term) server -> client  80 bytes   accept: secretbox(sig_B) (B:
//   server long-term)
//
// On success both ends know each other's long-term key and share the
// box-stream keys (crypto/box_stream.h). Any malformed, truncated or
// unauthentic message fails the handshake with a Status; the core never
// crashes on any input, and a server that fails never sends another byte (in
// particular, a client with the wrong network key learns nothing).
#ifndef PLUMLOG_CRYPTO_SECRET_HANDSHAKE_H_
#define PLUMLOG_CRYPTO_SECRET_HANDSHAKE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/box_stream.h"
#include "crypto/keypair.h"
#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog::crypto {

using NetworkKey = std::array<uint8_t, 32>;

// plumlog's own default network key: BLAKE2b-256 of "plumlog network key v1".
// Nodes with different network keys cannot complete a handshake.
inline constexpr NetworkKey kPlumlogNetworkKey = {
    0xfa, 0x43, 0xdf, 0x10, 0x2e, 0x76, 0xdc, 0x72, 0x70, 0xc2, 0x2e,
    0xdf, 0x50, 0x4a, 0x87, 0xe1, 0x97, 0xd5, 0x1f, 0x4e, 0x96, 0x0a,
    0x1e, 0xd7, 0xe2, 0x56, 0xe0, 0x27, 0xcf, 0x8f, 0xd4, 0xc2};

// SSB's main network key (base64 1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=).
// For interoperability tests only; plumlog never uses it by default.
inline constexpr NetworkKey kSsbMainNetworkKey = {
    0xd4, 0xa1, 0xcb, 0x88, 0xa6, 0x6f, 0x02, 0xf8, 0xdb, 0x63, 0x5c,
    0xe2, 0x64, 0x41, 0xcc, 0x5d, 0xac, 0x1b, 0x08, 0x42, 0x0c, 0xea,
    0xac, 0x23, 0x08, 0x39, 0xb7, 0x55, 0x84, 0x5a, 0x9f, 0xfb};

class SecretHandshake {
 public:
  static constexpr size_t kClientHelloSize = 64;
  static constexpr size_t kServerHelloSize = 64;
  static constexpr size_t kClientAuthSize = 112;
  static constexpr size_t kServerAcceptSize = 80;

  enum class Role : uint8_t { kClient, kServer };
  enum class State : uint8_t {
    kAwaitServerHello,   // client: hello sent
    kAwaitServerAccept,  // client: auth sent
    kAwaitClientHello,   // server: nothing sent yet
    kAwaitClientAuth,    // server: hello sent
    kDone,
    kFailed,
  };

  // A Curve25519 secret scalar for the ephemeral key; random when absent.
  // Injected only by tests and the shs1-test adapter, for determinism.
  using EphemeralSecret = std::array<uint8_t, 32>;

  // The client knows whom it is calling: `server` is the long-term key it
  // expects. The client hello is ready in TakeOutput() at once.
  static SecretHandshake Client(
      const KeyPair& local, const NetworkKey& network_key, const FeedId& server,
      std::optional<EphemeralSecret> ephemeral = std::nullopt);
  // The server learns the client's key from the client auth message.
  static SecretHandshake Server(
      const KeyPair& local, const NetworkKey& network_key,
      std::optional<EphemeralSecret> ephemeral = std::nullopt);

  ~SecretHandshake();
  SecretHandshake(SecretHandshake&&) noexcept;
  SecretHandshake& operator=(SecretHandshake&&) noexcept;
  SecretHandshake(const SecretHandshake&) = delete;
  SecretHandshake& operator=(const SecretHandshake&) = delete;

  // Feeds bytes received from the peer, in pieces of any size. Bytes after the
  // last handshake message (the start of the box-stream) are kept for
  // TakeRemainder(). Returns the failure (and keeps returning it) once the
  // handshake has failed; FailedPrecondition if called after success.
  Status Receive(std::string_view data);
  // The peer closed the connection. An error unless the handshake is done.
  Status End();

  // Bytes to send to the peer now (empty when there is nothing to send).
  std::string TakeOutput();
  // Bytes that arrived after the handshake's last message, for the
  // box-stream decoder.
  std::string TakeRemainder();

  Role role() const { return role_; }
  State state() const { return state_; }
  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kFailed; }
  const Status& error() const { return error_; }

  // Valid once done(): the peer's long-term key and the session keys. The
  // destructor wipes the keys (and every other secret of the handshake):
  // copy them into the box-stream coders, then drop the handshake.
  const FeedId& remote() const { return remote_; }
  const BoxStreamKeys& keys() const { return keys_; }

 private:
  SecretHandshake(Role role, const KeyPair& local,
                  const NetworkKey& network_key,
                  std::optional<EphemeralSecret> ephemeral);

  size_t Expected() const;
  Status Step(std::string_view message);
  Status OnClientHello(std::string_view message);
  Status OnServerHello(std::string_view message);
  Status OnClientAuth(std::string_view message);
  Status OnServerAccept(std::string_view message);
  std::string MakeHello() const;
  void DeriveSessionKeys();
  Status Fail(Status status);
  void Wipe();

  Role role_;
  State state_;
  KeyPair local_;
  NetworkKey network_key_;
  std::array<uint8_t, 32> eph_secret_{};
  std::array<uint8_t, 32> eph_public_{};
  std::array<uint8_t, 32> local_hello_mac_{};
  std::array<uint8_t, 32> remote_eph_{};
  std::array<uint8_t, 32> remote_hello_mac_{};
  std::array<uint8_t, 32> ab_{};       // ephemeral x ephemeral
  std::array<uint8_t, 32> ab_hash_{};  // sha256(ab)
  std::array<uint8_t, 32>
      a_b_long_{};  // client ephemeral x server long-term (aB)
  std::array<uint8_t, 32> secret3_{};  // sha256(K || ab || aB || Ab)
  std::array<uint8_t, 64>
      client_sig_{};  // the client's detached signature (sig_A)
  FeedId remote_;
  BoxStreamKeys keys_;
  std::string input_;   // the incomplete current message
  std::string output_;  // not yet taken by the caller
  std::string remainder_;
  Status error_;
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_SECRET_HANDSHAKE_H_
