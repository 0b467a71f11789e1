// Box-stream (SSB's encrypted framing, see docs/protocol.md section 16): a byte
// stream cut into frames of at most 4096 bytes, each sent as a 34-byte
// encrypted header (body length and body MAC) followed by the encrypted body,
// and closed by a "goodbye" header over 18 zero bytes.
//
// Both classes are sans-IO: they turn bytes into bytes and never touch a
// socket. Keys and starting nonces come from the secret handshake
// (crypto/secret_handshake.h).
#ifndef PLUMLOG_CRYPTO_BOX_STREAM_H_
#define PLUMLOG_CRYPTO_BOX_STREAM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plumlog/status.h"

namespace plumlog::crypto {

// One direction's key and starting nonce.
struct BoxStreamKey {
  std::array<uint8_t, 32> key{};
  std::array<uint8_t, 24> nonce{};
};

// The session keys a successful handshake yields: what we encrypt with and
// what the peer encrypts with (our decryption side).
struct BoxStreamKeys {
  BoxStreamKey encrypt;
  BoxStreamKey decrypt;
};

inline constexpr size_t kBoxStreamHeaderSize =
    34;  // 16 MAC + 2 length + 16 body MAC
inline constexpr size_t kBoxStreamMaxBodySize =
    4096;  // plaintext bytes per frame

// Turns plaintext into frames.
class BoxStreamEncoder {
 public:
  explicit BoxStreamEncoder(const BoxStreamKey& key);
  ~BoxStreamEncoder();
  BoxStreamEncoder(const BoxStreamEncoder&) = delete;
  BoxStreamEncoder& operator=(const BoxStreamEncoder&) = delete;

  // Appends the frames carrying `plaintext` to *out (bodies over 4096 bytes
  // are split; an empty plaintext adds nothing). FailedPrecondition after
  // Goodbye().
  Status Encode(std::string_view plaintext, std::string* out);
  // Appends the goodbye frame; nothing may be encoded afterwards.
  Status Goodbye(std::string* out);

  bool closed() const { return closed_; }

 private:
  std::array<uint8_t, 32> key_;
  std::array<uint8_t, 24> nonce_;
  bool closed_ = false;
};

// Turns frames back into plaintext. Input may arrive in pieces of any size;
// at most one incomplete frame (34 + 4096 bytes) is buffered.
class BoxStreamDecoder {
 public:
  explicit BoxStreamDecoder(const BoxStreamKey& key);
  ~BoxStreamDecoder();
  BoxStreamDecoder(const BoxStreamDecoder&) = delete;
  BoxStreamDecoder& operator=(const BoxStreamDecoder&) = delete;

  // Decrypts what `data` completes and appends the plaintext to *plaintext.
  // Fails (and stays failed) on a header or body that does not authenticate,
  // a header announcing more than 4096 bytes, or any byte after the goodbye.
  Status Feed(std::string_view data, std::string* plaintext);
  // The peer closed the connection. OK only after a goodbye; a stream that
  // ends without one (or inside a frame) is truncated.
  Status End();

  bool goodbye() const { return goodbye_; }
  // Bytes buffered of an incomplete frame (for tests of the memory bound).
  size_t buffered() const { return pending_.size(); }

 private:
  Status Fail(Status status);

  std::array<uint8_t, 32> key_;
  std::array<uint8_t, 24> nonce_;
  std::string pending_;  // the incomplete header, then the incomplete body
  bool in_body_ = false;
  size_t body_size_ = 0;
  std::array<uint8_t, 16> body_mac_{};
  bool goodbye_ = false;
  Status error_;
};

}  // namespace plumlog::crypto

#endif  // PLUMLOG_CRYPTO_BOX_STREAM_H_
