// Fuzz target: the daemon's control socket protocol (cli/control_protocol.h,
// docs/cli.md "Control socket"). cli/control_protocol.cc is not part of the
// library, so it is compiled into this binary (tests/fuzz/CMakeLists.txt).
//
// Input: byte 0 picks what the rest is:
//   0  a byte stream a client writes to the daemon: split into frames exactly
//      as ControlServer::HandleInput does (4-byte length, 1..
//      kMaxControlFrameBytes), each request read by the daemon's request
//      reader (cli::ParseRequest);
//   1  a response payload the client reads: ParseResponse, then DecodeStatus
//      on the results of a kStatusResults-result response (what `status`
//      answers);
//   2  a status payload: DecodeStatus directly.
//
// Checks:
//  - nothing crashes and every rejection carries a message;
//  - framing: Frame() and FrameLength() agree, and the frames the server
//    loop would take re-frame to the same bytes;
//  - ParseResponse of ErrorResponse(st) returns st's code and message for
//    every code StatusFromCode knows, and ParseResponse of OkResponse(n)
//    returns n results;
//  - DecodeStatus: whatever it accepts re-encodes (EncodeStatus) to a payload
//    DecodeStatus accepts again and that encodes to the same bytes (decode and
//    encode are inverse on what the daemon sends).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/control_protocol.h"
#include "plumlog/node.h"
#include "plumlog/status.h"
#include "plumlog/types.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace cli = plumlog::cli;
using plumlog::Status;

// The daemon's own request reader, plus what must hold for what it accepts.
Status CheckRequest(std::string_view request) {
  plumlog::Result<cli::ParsedRequest> req = cli::ParseRequest(request);
  if (!req.ok()) return req.status();
  for (const plumlog::Entry& e : req->entries) {
    FUZZ_CHECK(plumlog::Entry::Decode(e.encoded()).ok());
  }
  FUZZ_CHECK(req->entries.size() <= cli::kMaxIngestEntries);
  FUZZ_CHECK(req->content.size() <= request.size());
  FUZZ_CHECK(req->contents.size() <= cli::kMaxIngestEntries);
  for (const std::string& c : req->contents) FUZZ_CHECK(c.size() <= plumlog::kMaxEntryBytes);
  if (req->method == cli::kPeersAdd || req->method == cli::kConnect) {
    // What the daemon logs and dials parses back to the same peer.
    plumlog::Result<plumlog::PeerAddress> again =
        plumlog::PeerAddress::Parse(req->address.ToString());
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == req->address);
  }
  return Status::OK();
}

// ControlServer::HandleInput's loop over a client's bytes.
void ServerStream(std::string_view in) {
  size_t pos = 0;
  std::string reframed;
  while (in.size() - pos >= 4) {
    const uint32_t len = cli::FrameLength(in.substr(pos));
    if (len == 0 || len > cli::kMaxControlFrameBytes) {
      const std::string err = cli::ErrorResponse(Status::TooLarge("bad control frame length"));
      uint32_t count = 0;
      std::string_view results;
      FUZZ_CHECK(cli::ParseResponse(err, &count, &results).code() == Status::Code::kTooLarge);
      return;
    }
    if (in.size() - pos - 4 < len) break;
    const std::string_view payload = in.substr(pos + 4, len);
    reframed += cli::Frame(payload);
    FUZZ_CHECK(reframed.size() == pos + 4 + len);
    FUZZ_CHECK(std::string_view(reframed).substr(pos) == in.substr(pos, 4 + size_t{len}));
    Status st = CheckRequest(payload);
    if (!st.ok()) {
      FUZZ_CHECK(!st.message().empty());
      // The error goes back as a response the client parses to the same error.
      uint32_t count = 0;
      std::string_view results;
      Status back = cli::ParseResponse(cli::ErrorResponse(st), &count, &results);
      FUZZ_CHECK(back.code() == st.code());
      FUZZ_CHECK(back.message() == st.message());
    }
    pos += 4 + size_t{len};
  }
}

void StatusRoundTrip(std::string_view payload) {
  plumlog::NodeStatus s;
  Status st = cli::DecodeStatus(payload, &s);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty());
    return;
  }
  std::string once;
  cli::EncodeStatus(s, &once);
  plumlog::NodeStatus s2;
  Status st2 = cli::DecodeStatus(once, &s2);
  if (!st2.ok()) std::fprintf(stderr, "re-encoded status rejected: %s\n", st2.ToString().c_str());
  FUZZ_CHECK(st2.ok());
  std::string twice;
  cli::EncodeStatus(s2, &twice);
  FUZZ_CHECK(twice == once);
}

void Response(std::string_view payload) {
  uint32_t count = 0;
  std::string_view results;
  Status st = cli::ParseResponse(payload, &count, &results);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty() || st.code() != Status::Code::kOk);
    return;
  }
  FUZZ_CHECK(results.size() <= payload.size());
  if (count == cli::kStatusResults) StatusRoundTrip(results);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  const auto mode = static_cast<uint8_t>(in[0]) % 3;
  in.remove_prefix(1);

  // Fixed properties, cheap enough to check on every input.
  {
    const std::string f = cli::Frame(in.substr(0, 64));
    FUZZ_CHECK(cli::FrameLength(f) == std::min<size_t>(in.size(), 64));
    uint32_t count = 99;
    std::string_view results;
    FUZZ_CHECK(cli::ParseResponse(cli::OkResponse(3), &count, &results).ok());
    FUZZ_CHECK(count == 3 && results.empty());
    if (!in.empty()) {
      const uint64_t code = static_cast<uint8_t>(in[0]) % 16;
      const Status want = cli::StatusFromCode(code, "why");
      if (!want.ok()) {
        Status back = cli::ParseResponse(cli::ErrorResponse(want), &count, &results);
        FUZZ_CHECK(back.code() == want.code());
        FUZZ_CHECK(back.message() == "why");
      }
    }
  }

  switch (mode) {
    case 0: ServerStream(in); break;
    case 1: Response(in); break;
    case 2: StatusRoundTrip(in); break;
  }
  return 0;
}
