#include "crypto/secret_handshake.h"

#include <sodium.h>

#include <algorithm>
#include <utility>

#include "crypto/sodium_init.h"

namespace plumlog::crypto {

namespace {

static_assert(crypto_auth_BYTES == 32 && crypto_auth_KEYBYTES == 32);
static_assert(crypto_scalarmult_BYTES == 32 &&
              crypto_scalarmult_SCALARBYTES == 32);
static_assert(crypto_hash_sha256_BYTES == 32);

using Key32 = std::array<uint8_t, 32>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
std::string_view View(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}
template <size_t N>
std::string_view View(const std::array<uint8_t, N>& a) {
  return View(a.data(), N);
}

Key32 Sha256(std::string_view data) {
  Key32 out;
  crypto_hash_sha256(out.data(), Bytes(data), data.size());
  return out;
}

// SHA-256 of the concatenation of parts, without building the concatenation.
template <typename... Parts>
Key32 Sha256Of(const Parts&... parts) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  (crypto_hash_sha256_update(&st, parts.data(), parts.size()), ...);
  Key32 out;
  crypto_hash_sha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

// X25519; fails on a low-order point (an all-zero shared secret).
bool ScalarMult(const Key32& scalar, const Key32& point, Key32* out) {
  return crypto_scalarmult(out->data(), scalar.data(), point.data()) == 0;
}

// Ed25519 public key -> Curve25519; fails when the bytes are not a valid point.
bool CurvePublic(const FeedId& ed, Key32* out) {
  return crypto_sign_ed25519_pk_to_curve25519(out->data(), ed.bytes().data()) ==
         0;
}

Key32 CurveSecret(const KeyPair& kp) {
  unsigned char ed_sk[crypto_sign_SECRETKEYBYTES];
  std::copy(kp.seed().begin(), kp.seed().end(), ed_sk);
  std::copy(kp.public_key().bytes().begin(), kp.public_key().bytes().end(),
            ed_sk + 32);
  Key32 out;
  crypto_sign_ed25519_sk_to_curve25519(out.data(), ed_sk);
  sodium_memzero(ed_sk, sizeof ed_sk);
  return out;
}

const unsigned char kZeroNonce[crypto_secretbox_NONCEBYTES] = {};

}  // namespace

SecretHandshake::SecretHandshake(Role role, const KeyPair& local,
                                 const NetworkKey& network_key,
                                 std::optional<EphemeralSecret> ephemeral)
    : role_(role),
      state_(role == Role::kClient ? State::kAwaitServerHello
                                   : State::kAwaitClientHello),
      local_(local),
      network_key_(network_key) {
  EnsureSodium();
  if (ephemeral) {
    eph_secret_ = *ephemeral;
  } else {
    randombytes_buf(eph_secret_.data(), eph_secret_.size());
  }
  crypto_scalarmult_base(eph_public_.data(), eph_secret_.data());
  crypto_auth(local_hello_mac_.data(), eph_public_.data(), eph_public_.size(),
              network_key_.data());
}

SecretHandshake SecretHandshake::Client(
    const KeyPair& local, const NetworkKey& network_key, const FeedId& server,
    std::optional<EphemeralSecret> ephemeral) {
  SecretHandshake hs(Role::kClient, local, network_key, ephemeral);
  hs.remote_ = server;
  hs.output_ = hs.MakeHello();
  return hs;
}

SecretHandshake SecretHandshake::Server(
    const KeyPair& local, const NetworkKey& network_key,
    std::optional<EphemeralSecret> ephemeral) {
  return SecretHandshake(Role::kServer, local, network_key, ephemeral);
}

SecretHandshake::~SecretHandshake() {
  // The session keys too: the box-stream encoder and decoder keep their own
  // copies (wiped when they go), so nothing of the session stays in memory
  // once the handshake object is gone.
  Wipe();
  sodium_memzero(&keys_, sizeof keys_);
  sodium_memzero(network_key_.data(), network_key_.size());
}
SecretHandshake::SecretHandshake(SecretHandshake&&) noexcept = default;
SecretHandshake& SecretHandshake::operator=(SecretHandshake&&) noexcept =
    default;

void SecretHandshake::Wipe() {
  sodium_memzero(eph_secret_.data(), eph_secret_.size());
  sodium_memzero(ab_.data(), ab_.size());
  sodium_memzero(ab_hash_.data(), ab_hash_.size());
  sodium_memzero(a_b_long_.data(), a_b_long_.size());
  sodium_memzero(secret3_.data(), secret3_.size());
}

std::string SecretHandshake::MakeHello() const {
  std::string hello;
  hello.reserve(64);
  hello.append(View(local_hello_mac_));
  hello.append(View(eph_public_));
  return hello;
}

size_t SecretHandshake::Expected() const {
  switch (state_) {
    case State::kAwaitServerHello:
      return kServerHelloSize;
    case State::kAwaitServerAccept:
      return kServerAcceptSize;
    case State::kAwaitClientHello:
      return kClientHelloSize;
    case State::kAwaitClientAuth:
      return kClientAuthSize;
    case State::kDone:
    case State::kFailed:
      break;
  }
  return 0;
}

Status SecretHandshake::Fail(Status status) {
  state_ = State::kFailed;
  error_ = status;
  // A failed handshake sends nothing more, not even what was queued.
  output_.clear();
  input_.clear();
  Wipe();
  return status;
}

Status SecretHandshake::Receive(std::string_view data) {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kDone) {
    return Status::FailedPrecondition("secret handshake: already complete");
  }
  while (!data.empty() && state_ != State::kDone) {
    const size_t want = Expected();
    const size_t take = std::min(want - input_.size(), data.size());
    input_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (input_.size() < want) break;
    std::string message = std::move(input_);
    input_.clear();
    Status st = Step(message);
    sodium_memzero(message.data(), message.size());
    if (!st.ok()) return Fail(st);
  }
  if (state_ == State::kDone) remainder_.append(data);
  return Status::OK();
}

Status SecretHandshake::End() {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kDone) return Status::OK();
  const char* what = "";
  switch (state_) {
    case State::kAwaitServerHello:
      what = "server hello";
      break;
    case State::kAwaitServerAccept:
      what = "server accept";
      break;
    case State::kAwaitClientHello:
      what = "client hello";
      break;
    case State::kAwaitClientAuth:
      what = "client auth";
      break;
    default:
      break;
  }
  const bool client_auth_rejected =
      state_ == State::kAwaitServerAccept && input_.empty();
  return Fail(Status::Corruption(
      std::string("secret handshake truncated: connection closed after ") +
      std::to_string(input_.size()) + " of " + std::to_string(Expected()) +
      " bytes of the " + what +
      (client_auth_rejected
           ? " (the server rejected our auth: wrong server key or network key?)"
           : "")));
}

std::string SecretHandshake::TakeOutput() {
  return std::exchange(output_, std::string());
}
std::string SecretHandshake::TakeRemainder() {
  return std::exchange(remainder_, std::string());
}

Status SecretHandshake::Step(std::string_view message) {
  switch (state_) {
    case State::kAwaitClientHello:
      return OnClientHello(message);
    case State::kAwaitServerHello:
      return OnServerHello(message);
    case State::kAwaitClientAuth:
      return OnClientAuth(message);
    case State::kAwaitServerAccept:
      return OnServerAccept(message);
    case State::kDone:
    case State::kFailed:
      break;
  }
  return Status::Aborted("secret handshake: no message expected");
}

// Both hellos: HMAC-SHA-512-256(K, eph_pk) || eph_pk. Also derives ab.
static Status CheckHello(std::string_view message,
                         const NetworkKey& network_key,
                         std::array<uint8_t, 32>* mac,
                         std::array<uint8_t, 32>* eph) {
  if (crypto_auth_verify(Bytes(message), Bytes(message) + 32, 32,
                         network_key.data()) != 0) {
    return Status::PermissionDenied(
        "secret handshake: hello HMAC mismatch (the peer uses another network "
        "key)");
  }
  std::copy(message.begin(), message.begin() + 32, mac->begin());
  std::copy(message.begin() + 32, message.begin() + 64, eph->begin());
  return Status::OK();
}

Status SecretHandshake::OnClientHello(std::string_view message) {
  PLUMLOG_RETURN_IF_ERROR(
      CheckHello(message, network_key_, &remote_hello_mac_, &remote_eph_));
  if (!ScalarMult(eph_secret_, remote_eph_, &ab_)) {
    return Status::Corruption(
        "secret handshake: client ephemeral key is a low-order point");
  }
  ab_hash_ = Sha256(View(ab_));
  output_.append(MakeHello());
  state_ = State::kAwaitClientAuth;
  return Status::OK();
}

Status SecretHandshake::OnServerHello(std::string_view message) {
  PLUMLOG_RETURN_IF_ERROR(
      CheckHello(message, network_key_, &remote_hello_mac_, &remote_eph_));
  if (!ScalarMult(eph_secret_, remote_eph_, &ab_)) {
    return Status::Corruption(
        "secret handshake: server ephemeral key is a low-order point");
  }
  ab_hash_ = Sha256(View(ab_));
  Key32 server_curve;
  if (!CurvePublic(remote_, &server_curve) ||
      !ScalarMult(eph_secret_, server_curve, &a_b_long_)) {
    return Status::InvalidArgument(
        "secret handshake: the expected server key is not usable");
  }
  // sig_A = sign_A(K || B || sha256(ab)); auth = secretbox(sig_A || A).
  const Signature sig =
      local_.Sign(View(network_key_), std::string(View(remote_.bytes())) +
                                          std::string(View(ab_hash_)));
  std::copy(sig.begin(), sig.end(), client_sig_.begin());
  unsigned char plain[96];
  std::copy(sig.begin(), sig.end(), plain);
  std::copy(local_.public_key().bytes().begin(),
            local_.public_key().bytes().end(), plain + 64);
  Key32 box_key = Sha256Of(network_key_, ab_, a_b_long_);
  std::string auth(kClientAuthSize, '\0');
  crypto_secretbox_easy(reinterpret_cast<unsigned char*>(auth.data()), plain,
                        sizeof plain, kZeroNonce, box_key.data());
  sodium_memzero(box_key.data(), box_key.size());
  output_.append(auth);
  state_ = State::kAwaitServerAccept;
  return Status::OK();
}

Status SecretHandshake::OnClientAuth(std::string_view message) {
  Key32 my_curve = CurveSecret(local_);
  const bool ok_ab = ScalarMult(my_curve, remote_eph_, &a_b_long_);
  sodium_memzero(my_curve.data(), my_curve.size());
  Key32 box_key = Sha256Of(network_key_, ab_, a_b_long_);
  unsigned char plain[96];
  const bool opened =
      ok_ab && crypto_secretbox_open_easy(plain, Bytes(message), message.size(),
                                          kZeroNonce, box_key.data()) == 0;
  sodium_memzero(box_key.data(), box_key.size());
  if (!opened) {
    return Status::PermissionDenied(
        "secret handshake: client auth does not decrypt (the client expects "
        "another "
        "server key)");
  }
  std::copy(plain, plain + 64, client_sig_.begin());
  const FeedId client = *FeedId::FromBytes(View(plain + 64, 32));
  const std::string signed_tail =
      std::string(View(local_.public_key().bytes())) +
      std::string(View(ab_hash_));
  if (!KeyPair::Verify(client, View(network_key_), signed_tail,
                       std::span<const uint8_t, 64>(client_sig_))) {
    return Status::PermissionDenied(
        "secret handshake: client signature does not verify");
  }
  Key32 client_curve;
  Key32 b_a_long;  // server ephemeral x client long-term (Ab)
  if (!CurvePublic(client, &client_curve) ||
      !ScalarMult(eph_secret_, client_curve, &b_a_long)) {
    return Status::Corruption(
        "secret handshake: client long-term key is not a valid point");
  }
  secret3_ = Sha256Of(network_key_, ab_, a_b_long_, b_a_long);
  sodium_memzero(b_a_long.data(), b_a_long.size());
  remote_ = client;

  // sig_B = sign_B(K || sig_A || A || sha256(ab)); accept = secretbox(sig_B).
  const Signature sig =
      local_.Sign(View(network_key_), std::string(View(client_sig_)) +
                                          std::string(View(client.bytes())) +
                                          std::string(View(ab_hash_)));
  std::string accept(kServerAcceptSize, '\0');
  crypto_secretbox_easy(reinterpret_cast<unsigned char*>(accept.data()),
                        sig.data(), sig.size(), kZeroNonce, secret3_.data());
  output_.append(accept);
  DeriveSessionKeys();
  state_ = State::kDone;
  return Status::OK();
}

Status SecretHandshake::OnServerAccept(std::string_view message) {
  Key32 my_curve = CurveSecret(local_);
  Key32 b_a_long;
  const bool ok_ab = ScalarMult(my_curve, remote_eph_, &b_a_long);
  sodium_memzero(my_curve.data(), my_curve.size());
  if (!ok_ab) {
    return Status::Corruption(
        "secret handshake: server ephemeral key is a low-order point");
  }
  secret3_ = Sha256Of(network_key_, ab_, a_b_long_, b_a_long);
  sodium_memzero(b_a_long.data(), b_a_long.size());
  std::array<uint8_t, 64> sig;
  if (crypto_secretbox_open_easy(sig.data(), Bytes(message), message.size(),
                                 kZeroNonce, secret3_.data()) != 0) {
    return Status::PermissionDenied(
        "secret handshake: server accept does not decrypt");
  }
  const std::string signed_tail =
      std::string(View(client_sig_)) +
      std::string(View(local_.public_key().bytes())) +
      std::string(View(ab_hash_));
  if (!KeyPair::Verify(remote_, View(network_key_), signed_tail, sig)) {
    return Status::PermissionDenied(
        "secret handshake: server signature does not verify");
  }
  DeriveSessionKeys();
  state_ = State::kDone;
  return Status::OK();
}

// Box-stream keys: sha256(sha256(sha256(K||ab||aB||Ab)) || pk) where pk is the
// receiver's long-term key; starting nonce: the first 24 bytes of the
// receiver's hello HMAC.
void SecretHandshake::DeriveSessionKeys() {
  // secret3_ already is the innermost hash.
  Key32 session = Sha256(View(secret3_));
  keys_.encrypt.key = Sha256Of(session, remote_.bytes());
  keys_.decrypt.key = Sha256Of(session, local_.public_key().bytes());
  std::copy(remote_hello_mac_.begin(), remote_hello_mac_.begin() + 24,
            keys_.encrypt.nonce.begin());
  std::copy(local_hello_mac_.begin(), local_hello_mac_.begin() + 24,
            keys_.decrypt.nonce.begin());
  sodium_memzero(session.data(), session.size());
  Wipe();
}

}  // namespace plumlog::crypto
