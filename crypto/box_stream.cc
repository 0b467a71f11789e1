#include "crypto/box_stream.h"

#include <sodium.h>

#include <algorithm>

#include "crypto/sodium_init.h"

namespace plumlog::crypto {

namespace {

static_assert(crypto_secretbox_KEYBYTES == 32);
static_assert(crypto_secretbox_NONCEBYTES == 24);
static_assert(crypto_secretbox_MACBYTES == 16);

constexpr size_t kMacSize = crypto_secretbox_MACBYTES;
constexpr size_t kHeaderPlainSize = 2 + kMacSize;  // body length, body MAC

// Box-stream nonces are 24-byte big-endian counters (libsodium's
// sodium_increment is little-endian, so it does not fit).
void IncrementNonce(std::array<uint8_t, 24>* nonce) {
  for (size_t i = nonce->size(); i-- > 0;) {
    if (++(*nonce)[i] != 0) break;
  }
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

// ---- encoder ----

BoxStreamEncoder::BoxStreamEncoder(const BoxStreamKey& key)
    : key_(key.key), nonce_(key.nonce) {
  EnsureSodium();
}

BoxStreamEncoder::~BoxStreamEncoder() {
  sodium_memzero(key_.data(), key_.size());
}

Status BoxStreamEncoder::Encode(std::string_view plaintext, std::string* out) {
  if (closed_)
    return Status::FailedPrecondition("box-stream: encode after goodbye");
  while (!plaintext.empty()) {
    const std::string_view body =
        plaintext.substr(0, std::min(plaintext.size(), kBoxStreamMaxBodySize));
    plaintext.remove_prefix(body.size());

    std::array<uint8_t, 24> body_nonce = nonce_;
    IncrementNonce(&body_nonce);

    unsigned char header[kHeaderPlainSize];
    header[0] = static_cast<unsigned char>(body.size() >> 8);
    header[1] = static_cast<unsigned char>(body.size() & 0xff);

    const size_t start = out->size();
    out->resize(start + kBoxStreamHeaderSize + body.size());
    auto* dst = reinterpret_cast<unsigned char*>(out->data()) + start;
    // The body goes after the header; its MAC goes inside the header.
    crypto_secretbox_detached(dst + kBoxStreamHeaderSize, header + 2,
                              Bytes(body), body.size(), body_nonce.data(),
                              key_.data());
    crypto_secretbox_easy(dst, header, sizeof header, nonce_.data(),
                          key_.data());

    IncrementNonce(&nonce_);
    IncrementNonce(&nonce_);
  }
  return Status::OK();
}

Status BoxStreamEncoder::Goodbye(std::string* out) {
  if (closed_)
    return Status::FailedPrecondition("box-stream: goodbye sent twice");
  closed_ = true;
  const unsigned char zeros[kHeaderPlainSize] = {};
  const size_t start = out->size();
  out->resize(start + kBoxStreamHeaderSize);
  crypto_secretbox_easy(reinterpret_cast<unsigned char*>(out->data()) + start,
                        zeros, sizeof zeros, nonce_.data(), key_.data());
  return Status::OK();
}

// ---- decoder ----

BoxStreamDecoder::BoxStreamDecoder(const BoxStreamKey& key)
    : key_(key.key), nonce_(key.nonce) {
  EnsureSodium();
  pending_.reserve(kBoxStreamHeaderSize);
}

BoxStreamDecoder::~BoxStreamDecoder() {
  sodium_memzero(key_.data(), key_.size());
}

Status BoxStreamDecoder::Fail(Status status) {
  error_ = status;
  pending_.clear();
  pending_.shrink_to_fit();
  return status;
}

Status BoxStreamDecoder::Feed(std::string_view data, std::string* plaintext) {
  if (!error_.ok()) return error_;
  if (goodbye_) {
    if (data.empty()) return Status::OK();
    return Fail(Status::Corruption("box-stream: data after goodbye"));
  }
  while (!data.empty()) {
    const size_t want = in_body_ ? body_size_ : kBoxStreamHeaderSize;
    const size_t take = std::min(want - pending_.size(), data.size());
    pending_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (pending_.size() < want) break;

    if (!in_body_) {
      unsigned char header[kHeaderPlainSize];
      if (crypto_secretbox_open_easy(header, Bytes(pending_),
                                     kBoxStreamHeaderSize, nonce_.data(),
                                     key_.data()) != 0) {
        return Fail(
            Status::Corruption("box-stream: header does not authenticate"));
      }
      pending_.clear();
      if (std::all_of(std::begin(header), std::end(header),
                      [](unsigned char b) { return b == 0; })) {
        goodbye_ = true;
        if (!data.empty())
          return Fail(Status::Corruption("box-stream: data after goodbye"));
        break;
      }
      body_size_ = (size_t{header[0]} << 8) | header[1];
      if (body_size_ > kBoxStreamMaxBodySize) {
        return Fail(Status::TooLarge("box-stream: frame body of " +
                                     std::to_string(body_size_) +
                                     " bytes is over the 4096-byte limit"));
      }
      std::copy(header + 2, header + kHeaderPlainSize, body_mac_.begin());
      IncrementNonce(&nonce_);
      in_body_ = true;
      pending_.reserve(body_size_);
      // A zero-length body is complete at once; fall through the loop check.
      if (body_size_ != 0) continue;
    }

    // pending_ holds the whole body.
    const size_t start = plaintext->size();
    plaintext->resize(start + body_size_);
    if (crypto_secretbox_open_detached(
            reinterpret_cast<unsigned char*>(plaintext->data()) + start,
            Bytes(pending_), body_mac_.data(), body_size_, nonce_.data(),
            key_.data()) != 0) {
      plaintext->resize(start);
      return Fail(
          Status::Corruption("box-stream: frame body does not authenticate"));
    }
    IncrementNonce(&nonce_);
    pending_.clear();
    in_body_ = false;
    body_size_ = 0;
  }
  return Status::OK();
}

Status BoxStreamDecoder::End() {
  if (!error_.ok()) return error_;
  if (goodbye_) return Status::OK();
  if (in_body_ || !pending_.empty()) {
    return Fail(Status::Corruption("box-stream: stream ended inside a frame"));
  }
  return Fail(Status::Corruption("box-stream: stream ended without goodbye"));
}

}  // namespace plumlog::crypto
