// The daemon's control socket protocol (docs/cli.md, "Control socket").
//
// A frame is a 4-byte big-endian length (1..kMaxControlFrameBytes) followed by
// that many bytes of msgpack. Requests and responses are msgpack arrays:
//
//   request:  [method: str, args...]
//   response: [code: uint, message: str, results...]   code 0 = ok
//
// `code` is a Status::Code; on an error `message` says why and there are no
// results. Each method's arguments and results are listed in kMethods' doc
// comments below. Everything here is pure encoding (no I/O); the daemon side
// is ControlServer + serve_command.cc, the client side ControlClient.
#ifndef PLUMLOG_CLI_CONTROL_PROTOCOL_H_
#define PLUMLOG_CLI_CONTROL_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plumlog/node.h"
#include "plumlog/status.h"
#include "plumlog/types.h"

namespace plumlog::cli {

// Largest frame payload either side sends or accepts. An ingest request holds
// entries of at most kMaxEntryBytes each; kMaxIngestFrameBytes keeps a batch
// well below this.
inline constexpr size_t kMaxControlFrameBytes = size_t{16} << 20;
inline constexpr size_t kMaxIngestFrameBytes = size_t{4} << 20;
// Most entries in one ingest request.
inline constexpr size_t kMaxIngestEntries = 10000;
// Longest peer address accepted in a request.
inline constexpr size_t kMaxAddressBytes = 1024;

// Method names (the first element of a request).
//   hello               -> [id: bin32, address: str, pid: uint]
//   append [content: bin]        -> [seq: uint, id: bin32]
//   append.batch [[content: bin, ...]] (at most kMaxIngestEntries)
//                                -> [first seq: uint, [id: bin32, ...]]
//                                   (all stored, consecutive seqs, or none)
//   ingest [[entry: bin, ...]]   -> [stored, duplicates, failed_index|nil,
//                                    failure code, failure message]
//   status              -> [status...] (EncodeStatus)
//   peers.add [address: str]     -> []
//   peers.remove [feed: bin32]   -> []
//   follow|unfollow|block [feed: bin32] -> []
//   connect [address: str]       -> []
//   insync [feed: bin32] -> [in_sync: bool, connected: bool,
//                            progress start, current, target: uint]
//   stop                -> []  (the daemon then shuts down as on SIGTERM)
inline constexpr std::string_view kHello = "hello";
inline constexpr std::string_view kAppend = "append";
inline constexpr std::string_view kAppendBatch = "append.batch";
inline constexpr std::string_view kIngest = "ingest";
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kPeersAdd = "peers.add";
inline constexpr std::string_view kPeersRemove = "peers.remove";
inline constexpr std::string_view kFollow = "follow";
inline constexpr std::string_view kUnfollow = "unfollow";
inline constexpr std::string_view kBlock = "block";
inline constexpr std::string_view kConnect = "connect";
inline constexpr std::string_view kInSync = "insync";
inline constexpr std::string_view kStop = "stop";

// Prepends the 4-byte big-endian length to `payload`.
std::string Frame(std::string_view payload);
// Reads the length prefix of `data` (at least 4 bytes).
uint32_t FrameLength(std::string_view data);

// Response builders.
// [0, "", then `results` values the caller appends].
std::string OkResponse(uint32_t results);
// [code, message].
std::string ErrorResponse(const Status& status);
// The Status with `code` (a Status::Code value) and `message`.
Status StatusFromCode(uint64_t code, std::string message);

// The counters of NodeCounters by name, in a fixed order (status output and
// the wire encoding both use it).
struct CounterField {
  const char* name;
  uint64_t NodeCounters::*field;
};
const std::vector<CounterField>& CounterFields();

// Status results (the part after code and message): this many values.
inline constexpr uint32_t kStatusResults = 16;
void EncodeStatus(const NodeStatus& status, std::string* out);
Status DecodeStatus(std::string_view data, NodeStatus* status);

// A request as the daemon reads it: the method and its validated arguments
// (which of the fields is set depends on the method).
struct ParsedRequest {
  std::string method;
  std::string content;         // kAppend: one msgpack value
  std::vector<std::string> contents;  // kAppendBatch: msgpack values
  std::vector<Entry> entries;  // kIngest: decoded (signatures not yet checked)
  PeerAddress address;         // kPeersAdd, kConnect
  FeedId feed;                 // kPeersRemove, kFollow, kUnfollow, kBlock, kInSync
};
// Parses a request payload [method, args...]: the arity, types, limits and
// trailing bytes of every method are checked here, so the daemon only acts.
Result<ParsedRequest> ParseRequest(std::string_view payload);

// Parses a response frame: on code 0 returns OK and leaves `results` holding
// the bytes after the message; otherwise the error it carries.
Status ParseResponse(std::string_view payload, uint32_t* result_count,
                     std::string_view* results);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_CONTROL_PROTOCOL_H_
