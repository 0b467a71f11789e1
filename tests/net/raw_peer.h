// A hand-driven peer over a blocking socket for node tests: it can speak the
// secret handshake and box-stream honestly, or send whatever bytes a test
// wants (garbage, stalls, oversized frames, forged entries).
#ifndef PLUMLOG_TESTS_NET_RAW_PEER_H_
#define PLUMLOG_TESTS_NET_RAW_PEER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/box_stream.h"
#include "crypto/keypair.h"
#include "crypto/secret_handshake.h"
#include "plumlog/status.h"

namespace plumlog::testing {

// The default network key (plumlog::DefaultNetworkKey()) as the handshake
// takes it.
crypto::NetworkKey DefaultNet();

// VmRSS of a process in KiB ("self", or a pid as text); 0 if it is gone.
long RssKiBOf(const std::string& process);

class RawPeer {
 public:
  // Connects to 127.0.0.1:port, from `source` (an IPv4 address such as
  // 127.0.3.7: all of 127/8 is local) when given; null if that failed.
  static std::unique_ptr<RawPeer> Connect(uint16_t port, const char* source = nullptr);
  ~RawPeer();

  int fd() const { return fd_; }
  bool SendRaw(std::string_view bytes);
  // Returns what the first read within timeout_ms brings (at most `max`
  // bytes; empty on timeout). Sets *closed when the other side closed or
  // reset the connection.
  std::string Recv(size_t max, int timeout_ms, bool* closed);
  // Waits until the other side closes (true) or timeout_ms passes (false),
  // discarding anything it sends meanwhile.
  bool WaitClosed(int timeout_ms);

  // The client side of the handshake, then box-stream keys are set up.
  Status Handshake(const crypto::KeyPair& key, const crypto::NetworkKey& network,
                   const FeedId& server);
  // Box-stream encrypts `plaintext` (after Handshake) and sends it.
  bool SendBoxed(std::string_view plaintext);
  // An application frame (4-byte length + bytes) inside box-stream.
  bool SendFrame(std::string_view frame);
  // Decrypts whatever arrives within timeout_ms into *plaintext.
  Status ReceiveBoxed(int timeout_ms, std::string* plaintext, bool* closed);

 private:
  explicit RawPeer(int fd) : fd_(fd) {}
  int fd_;
  std::unique_ptr<crypto::BoxStreamEncoder> enc_;
  std::unique_ptr<crypto::BoxStreamDecoder> dec_;
};

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_NET_RAW_PEER_H_
