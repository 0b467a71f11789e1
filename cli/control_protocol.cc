#include "cli/control_protocol.h"

#include <algorithm>

#include "core/msgpack_reader.h"

namespace plumlog::cli {

using core::AppendMsgpackArrayHeader;
using core::AppendMsgpackBin;
using core::AppendMsgpackBool;
using core::AppendMsgpackMapHeader;
using core::AppendMsgpackStr;
using core::AppendMsgpackUint;
using core::MsgpackReader;

namespace {

// Limits on what a status may hold when decoded (a daemon never sends more;
// they only keep a broken daemon from making the client allocate wildly).
constexpr uint32_t kMaxListItems = 1u << 20;
constexpr size_t kMaxText = 4096;

uint64_t NonNegative(int64_t v) { return v < 0 ? 0 : static_cast<uint64_t>(v); }

Status ReadId(MsgpackReader* r, std::string_view what, FeedId* id) {
  std::string_view raw;
  PLUMLOG_RETURN_IF_ERROR(r->ReadBinExact(what, FeedId::kSize, &raw));
  *id = *FeedId::FromBytes(raw);
  return Status::OK();
}

Status ReadText(MsgpackReader* r, std::string_view what, std::string* out) {
  std::string_view s;
  PLUMLOG_RETURN_IF_ERROR(r->ReadStr(what, kMaxText, &s));
  out->assign(s);
  return Status::OK();
}

Status ReadList(MsgpackReader* r, std::string_view what, uint32_t* n) {
  PLUMLOG_RETURN_IF_ERROR(r->ReadArrayHeader(what, n));
  if (*n > kMaxListItems || *n > r->remaining())
    return Status::Corruption(std::string(what) + ": too many items");
  return Status::OK();
}

}  // namespace

std::string OkResponse(uint32_t results) {
  std::string out;
  AppendMsgpackArrayHeader(&out, 2 + results);
  AppendMsgpackUint(&out, 0);
  AppendMsgpackStr(&out, "");
  return out;
}

std::string ErrorResponse(const Status& status) {
  std::string out;
  AppendMsgpackArrayHeader(&out, 2);
  AppendMsgpackUint(&out, static_cast<uint64_t>(status.code()));
  AppendMsgpackStr(&out, status.message());
  return out;
}

Status StatusFromCode(uint64_t code, std::string message) {
  using Code = Status::Code;
  switch (static_cast<Code>(code)) {
    case Code::kOk:
      return Status::OK();
    case Code::kNotFound:
      return Status::NotFound(message);
    case Code::kInvalidArgument:
      return Status::InvalidArgument(message);
    case Code::kCorruption:
      return Status::Corruption(message);
    case Code::kIOError:
      return Status::IOError(message);
    case Code::kBusy:
      return Status::Busy(message);
    case Code::kAlreadyExists:
      return Status::AlreadyExists(message);
    case Code::kFailedPrecondition:
      return Status::FailedPrecondition(message);
    case Code::kPermissionDenied:
      return Status::PermissionDenied(message);
    case Code::kInvalidEntry:
      return Status::InvalidEntry(message);
    case Code::kForked:
      return Status::Forked(message);
    case Code::kNoSpace:
      return Status::NoSpace(message);
    case Code::kTooLarge:
      return Status::TooLarge(message);
    case Code::kAborted:
      return Status::Aborted(message);
  }
  return Status::IOError(message);
}

const std::vector<CounterField>& CounterFields() {
  static const std::vector<CounterField> kFields = {
      {"connections_accepted", &NodeCounters::connections_accepted},
      {"connections_dialed", &NodeCounters::connections_dialed},
      {"dial_failures", &NodeCounters::dial_failures},
      {"handshakes_ok", &NodeCounters::handshakes_ok},
      {"handshake_failures", &NodeCounters::handshake_failures},
      {"handshake_timeouts", &NodeCounters::handshake_timeouts},
      {"idle_timeouts", &NodeCounters::idle_timeouts},
      {"connections_refused", &NodeCounters::connections_refused},
      {"connections_evicted", &NodeCounters::connections_evicted},
      {"receive_budget_closes", &NodeCounters::receive_budget_closes},
      {"refused_by_peers", &NodeCounters::refused_by_peers},
      {"claims_refused", &NodeCounters::claims_refused},
      {"reconcile_sessions", &NodeCounters::reconcile_sessions},
      {"reconcile_failures", &NodeCounters::reconcile_failures},
      {"first_contact_fallbacks", &NodeCounters::first_contact_fallbacks},
      {"frames_unsendable", &NodeCounters::frames_unsendable},
      {"stream_errors", &NodeCounters::stream_errors},
      {"oversized_frames", &NodeCounters::oversized_frames},
      {"malformed_frames", &NodeCounters::malformed_frames},
      {"invalid_entries", &NodeCounters::invalid_entries},
      {"forks", &NodeCounters::forks},
      {"slow_peer_disconnects", &NodeCounters::slow_peer_disconnects},
      {"throttled", &NodeCounters::throttled},
      {"store_errors", &NodeCounters::store_errors},
      {"entries_received", &NodeCounters::entries_received},
      {"entries_stored", &NodeCounters::entries_stored},
      {"entries_sent", &NodeCounters::entries_sent},
      {"duplicates_received", &NodeCounters::duplicates_received},
      {"frames_sent", &NodeCounters::frames_sent},
      {"frames_received", &NodeCounters::frames_received},
      {"bytes_sent", &NodeCounters::bytes_sent},
      {"bytes_received", &NodeCounters::bytes_received},
      {"entries_verified", &NodeCounters::entries_verified},
  };
  return kFields;
}

// [id, address, uptime, connections, configured, active, passive,
//  members_alive, members, progress start, current, target, feeds, counters,
//  peer progress, verify rate (milli-entries per second), last store error]
void EncodeStatus(const NodeStatus& s, std::string* out) {
  AppendMsgpackBin(out, s.id.view());
  AppendMsgpackStr(out, s.address.port == 0 && s.address.host.empty()
                            ? std::string()
                            : s.address.ToString());
  AppendMsgpackUint(out, NonNegative(s.uptime_ms));
  AppendMsgpackArrayHeader(out, static_cast<uint32_t>(s.connections.size()));
  for (const ConnectionStatus& c : s.connections) {
    AppendMsgpackArrayHeader(out, 8);
    AppendMsgpackBin(out, c.peer.view());
    AppendMsgpackStr(out, c.remote);
    AppendMsgpackBool(out, c.outbound);
    AppendMsgpackBool(out, c.replicating);
    AppendMsgpackUint(out, NonNegative(c.age_ms));
    AppendMsgpackUint(out, c.bytes_sent);
    AppendMsgpackUint(out, c.bytes_received);
    AppendMsgpackUint(out, c.send_queue_bytes);
  }
  AppendMsgpackArrayHeader(out,
                           static_cast<uint32_t>(s.configured_peers.size()));
  for (const PeerAddress& p : s.configured_peers)
    AppendMsgpackStr(out, p.ToString());
  for (const std::vector<FeedId>* view : {&s.active_view, &s.passive_view}) {
    AppendMsgpackArrayHeader(out, static_cast<uint32_t>(view->size()));
    for (const FeedId& id : *view) AppendMsgpackBin(out, id.view());
  }
  AppendMsgpackUint(out, s.members_alive);
  AppendMsgpackArrayHeader(out, static_cast<uint32_t>(s.members.size()));
  for (const auto& [id, state] : s.members) {
    AppendMsgpackArrayHeader(out, 2);
    AppendMsgpackBin(out, id.view());
    AppendMsgpackStr(out, state);
  }
  AppendMsgpackUint(out, s.progress_start);
  AppendMsgpackUint(out, s.progress_current);
  AppendMsgpackUint(out, s.progress_target);
  AppendMsgpackArrayHeader(out, static_cast<uint32_t>(s.feeds.size()));
  for (const FeedProgress& f : s.feeds) {
    AppendMsgpackArrayHeader(out, 3);
    AppendMsgpackBin(out, f.feed.view());
    AppendMsgpackUint(out, f.local);
    AppendMsgpackUint(out, f.remote);
  }
  const auto& fields = CounterFields();
  AppendMsgpackMapHeader(out, static_cast<uint32_t>(fields.size()));
  for (const CounterField& f : fields) {
    AppendMsgpackStr(out, f.name);
    AppendMsgpackUint(out, s.counters.*f.field);
  }
  AppendMsgpackArrayHeader(out, static_cast<uint32_t>(s.peer_progress.size()));
  for (const PeerProgress& p : s.peer_progress) {
    AppendMsgpackArrayHeader(out, 3);
    AppendMsgpackBin(out, p.peer.view());
    AppendMsgpackUint(out, p.behind);
    AppendMsgpackUint(out, p.ahead);
  }
  AppendMsgpackUint(out, s.verify_rate > 0
                             ? static_cast<uint64_t>(s.verify_rate * 1000.0 + 0.5)
                             : 0);
  AppendMsgpackStr(out, s.last_store_error);
}

void EncodePolicy(const ReplicationPolicyStatus& p, std::string* out) {
  AppendMsgpackBool(out, p.replicate_all);
  AppendMsgpackUint(out, p.hops);
  for (const std::vector<FeedId>* ids : {&p.follows, &p.blocks}) {
    AppendMsgpackArrayHeader(out, static_cast<uint32_t>(ids->size()));
    for (const FeedId& id : *ids) AppendMsgpackBin(out, id.view());
  }
  AppendMsgpackArrayHeader(out, static_cast<uint32_t>(p.in_range.size()));
  for (const auto& [id, hops] : p.in_range) {
    AppendMsgpackArrayHeader(out, 2);
    AppendMsgpackBin(out, id.view());
    AppendMsgpackUint(out, hops);
  }
}

Status DecodePolicy(std::string_view data, ReplicationPolicyStatus* p) {
  MsgpackReader r(data);
  PLUMLOG_RETURN_IF_ERROR(r.ReadBool("replicate all", &p->replicate_all));
  uint64_t v = 0;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("hops", &v));
  p->hops = static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX));
  for (std::vector<FeedId>* ids : {&p->follows, &p->blocks}) {
    uint32_t n = 0;
    PLUMLOG_RETURN_IF_ERROR(ReadList(&r, "feeds", &n));
    for (uint32_t i = 0; i < n; ++i) {
      FeedId id;
      PLUMLOG_RETURN_IF_ERROR(ReadId(&r, "feed", &id));
      ids->push_back(id);
    }
  }
  uint32_t n = 0;
  PLUMLOG_RETURN_IF_ERROR(ReadList(&r, "in range", &n));
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t fields = 0;
    PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("in range item", &fields));
    if (fields != 2) return Status::Corruption("in range item: expected 2 fields");
    FeedId id;
    PLUMLOG_RETURN_IF_ERROR(ReadId(&r, "feed", &id));
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("hops", &v));
    p->in_range.emplace_back(id, static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX)));
  }
  return r.ExpectEnd("policy");
}

Status DecodeStatus(std::string_view data, NodeStatus* s) {
  MsgpackReader r(data);
  PLUMLOG_RETURN_IF_ERROR(ReadId(&r, "id", &s->id));
  std::string address;
  PLUMLOG_RETURN_IF_ERROR(ReadText(&r, "address", &address));
  if (!address.empty()) {
    Result<PeerAddress> a = PeerAddress::Parse(address);
    if (a.ok()) s->address = *a;
  }
  uint64_t v = 0;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("uptime", &v));
  s->uptime_ms = static_cast<int64_t>(std::min<uint64_t>(v, INT64_MAX));
  uint32_t n = 0;
  PLUMLOG_RETURN_IF_ERROR(ReadList(&r, "connections", &n));
  for (uint32_t i = 0; i < n; ++i) {
    ConnectionStatus c;
    uint32_t fields = 0;
    PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("connection", &fields));
    if (fields != 8) return Status::Corruption("connection: expected 8 fields");
    PLUMLOG_RETURN_IF_ERROR(ReadId(&r, "connection peer", &c.peer));
    PLUMLOG_RETURN_IF_ERROR(ReadText(&r, "connection remote", &c.remote));
    PLUMLOG_RETURN_IF_ERROR(r.ReadBool("outbound", &c.outbound));
    PLUMLOG_RETURN_IF_ERROR(r.ReadBool("replicating", &c.replicating));
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("age", &v));
    c.age_ms = static_cast<int64_t>(std::min<uint64_t>(v, INT64_MAX));
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("bytes sent", &c.bytes_sent));
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("bytes received", &c.bytes_received));
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("send queue", &v));
    c.send_queue_bytes = static_cast<size_t>(v);
    s->connections.push_back(std::move(c));
  }
  PLUMLOG_RETURN_IF_ERROR(ReadList(&r, "configured peers", &n));
  for (uint32_t i = 0; i < n; ++i) {
    std::string text;
    PLUMLOG_RETURN_IF_ERROR(ReadText(&r, "configured peer", &text));
    Result<PeerAddress> a = PeerAddress::Parse(text);
    if (!a.ok()) return a.status().WithContext("configured peer");
    s->configured_peers.push_back(*a);
  }
  for (std::vector<FeedId>* view : {&s->active_view, &s->passive_view}) {
    PLUMLOG_RETURN_IF_ERROR(ReadList(&r, "view", &n));
    for (uint32_t i = 0; i < n; ++i) {
      FeedId id;
      PLUMLOG_RETURN_IF_ERROR(ReadId(&r, "view member", &id));
      view->push_back(id);
    }
  }
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("members alive", &v));
  s->members_alive = static_cast<size_t>(v);
  PLUMLOG_RETURN_IF_ERROR(ReadList(&r, "members", &n));
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t fields = 0;
    PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("member", &fields));
    if (fields != 2) return Status::Corruption("member: expected 2 fields");
    FeedId id;
    std::string state;
    PLUMLOG_RETURN_IF_ERROR(ReadId(&r, "member id", &id));
    PLUMLOG_RETURN_IF_ERROR(ReadText(&r, "member state", &state));
    s->members.emplace_back(id, std::move(state));
  }
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("progress start", &s->progress_start));
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("progress current", &s->progress_current));
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("progress target", &s->progress_target));
  PLUMLOG_RETURN_IF_ERROR(ReadList(&r, "feeds", &n));
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t fields = 0;
    PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("feed", &fields));
    if (fields != 3) return Status::Corruption("feed: expected 3 fields");
    FeedProgress f;
    PLUMLOG_RETURN_IF_ERROR(ReadId(&r, "feed id", &f.feed));
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("feed local", &f.local));
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("feed remote", &f.remote));
    s->feeds.push_back(f);
  }
  PLUMLOG_RETURN_IF_ERROR(r.ReadMapHeader("counters", &n));
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view name;
    PLUMLOG_RETURN_IF_ERROR(r.ReadStr("counter name", 64, &name));
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("counter", &v));
    for (const CounterField& f : CounterFields()) {
      if (name == f.name) s->counters.*f.field = v;
    }
  }
  PLUMLOG_RETURN_IF_ERROR(ReadList(&r, "peer progress", &n));
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t fields = 0;
    PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("peer progress", &fields));
    if (fields != 3) return Status::Corruption("peer progress: expected 3 fields");
    PeerProgress p;
    PLUMLOG_RETURN_IF_ERROR(ReadId(&r, "peer", &p.peer));
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("behind", &p.behind));
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("ahead", &p.ahead));
    s->peer_progress.push_back(p);
  }
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("verify rate", &v));
  s->verify_rate = static_cast<double>(v) / 1000.0;
  PLUMLOG_RETURN_IF_ERROR(ReadText(&r, "last store error", &s->last_store_error));
  return r.ExpectEnd("status");
}

std::string EncodeStoredEvent() {
  std::string out;
  AppendMsgpackArrayHeader(&out, 1);
  AppendMsgpackStr(&out, kStoredEvent);
  return out;
}

std::string EncodeMemberEvent(const MemberEvent& event) {
  std::string out;
  AppendMsgpackArrayHeader(&out, 4);
  AppendMsgpackStr(&out, kMemberEvent);
  AppendMsgpackUint(&out, static_cast<uint64_t>(event.kind));
  AppendMsgpackBin(&out, event.peer.view());
  AppendMsgpackUint(&out, event.incarnation);
  return out;
}

Result<ControlEvent> DecodeEvent(std::string_view payload) {
  MsgpackReader r(payload);
  uint32_t n = 0;
  std::string_view name;
  PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("event", &n));
  if (n == 0) return Status::Corruption("event: empty array");
  PLUMLOG_RETURN_IF_ERROR(r.ReadStr("event name", 64, &name));
  ControlEvent e;
  if (name == kStoredEvent) {
    if (n != 1) return Status::Corruption("stored event: expected no fields");
    e.kind = ControlEvent::Kind::kStored;
  } else if (name == kMemberEvent) {
    if (n != 4) return Status::Corruption("member event: expected 3 fields");
    uint64_t kind = 0;
    std::string_view peer;
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("member event kind", &kind));
    if (kind < static_cast<uint64_t>(MemberEventKind::kNeighborUp) ||
        kind > static_cast<uint64_t>(MemberEventKind::kLeft)) {
      return Status::Corruption("member event: unknown kind " +
                                std::to_string(kind));
    }
    PLUMLOG_RETURN_IF_ERROR(
        r.ReadBinExact("member event peer", FeedId::kSize, &peer));
    PLUMLOG_RETURN_IF_ERROR(
        r.ReadUint("member event incarnation", &e.member.incarnation));
    e.kind = ControlEvent::Kind::kMember;
    e.member.kind = static_cast<MemberEventKind>(kind);
    e.member.peer = *FeedId::FromBytes(peer);
  } else {
    return e;  // a later daemon's event: the reader skips it
  }
  PLUMLOG_RETURN_IF_ERROR(r.ExpectEnd("event"));
  return e;
}

Status ParseResponse(std::string_view payload, uint32_t* result_count,
                     std::string_view* results) {
  MsgpackReader r(payload);
  uint32_t n = 0;
  PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("response", &n));
  if (n < 2) return Status::Corruption("response: too short");
  uint64_t code = 0;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("response code", &code));
  std::string_view message;
  PLUMLOG_RETURN_IF_ERROR(
      r.ReadStr("response message", kMaxControlFrameBytes, &message));
  if (code != 0) {
    Status st = StatusFromCode(code, std::string(message));
    return st.ok() ? Status::IOError(std::string(message)) : st;
  }
  *result_count = n - 2;
  *results = payload.substr(r.offset());
  return Status::OK();
}

namespace {

Status Arity(std::string_view method, uint32_t got, uint32_t want) {
  if (got == want) return Status::OK();
  return Status::InvalidArgument(std::string(method) + ": expected " + std::to_string(want) +
                                 " arguments, got " + std::to_string(got));
}

}  // namespace

Result<ParsedRequest> ParseRequest(std::string_view payload) {
  MsgpackReader r(payload);
  uint32_t n = 0;
  std::string_view method;
  Status st = r.ReadArrayHeader("request", &n);
  if (st.ok() && n == 0) st = Status::InvalidArgument("request: empty array");
  if (st.ok()) st = r.ReadStr("request method", 64, &method);
  if (!st.ok()) return st.WithContext("malformed request");
  const uint32_t args = n - 1;
  ParsedRequest req;
  req.method = std::string(method);
  if (method == kHello || method == kStatus || method == kStop ||
      method == kEvents || method == kPolicy) {
    PLUMLOG_RETURN_IF_ERROR(Arity(method, args, 0));
  } else if (method == kAppend) {
    PLUMLOG_RETURN_IF_ERROR(Arity(method, args, 1));
    std::string_view content;
    PLUMLOG_RETURN_IF_ERROR(r.ReadBin("content", kMaxControlFrameBytes, &content));
    req.content = std::string(content);
  } else if (method == kAppendBatch) {
    PLUMLOG_RETURN_IF_ERROR(Arity(method, args, 1));
    uint32_t count = 0;
    PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("contents", &count));
    if (count > kMaxIngestEntries) {
      return Status::TooLarge("append.batch: more than " + std::to_string(kMaxIngestEntries) +
                              " entries in one request");
    }
    req.contents.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      std::string_view content;
      PLUMLOG_RETURN_IF_ERROR(r.ReadBin("content", kMaxEntryBytes, &content));
      req.contents.emplace_back(content);
    }
  } else if (method == kIngest) {
    PLUMLOG_RETURN_IF_ERROR(Arity(method, args, 1));
    uint32_t count = 0;
    PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("entries", &count));
    if (count > kMaxIngestEntries) {
      return Status::TooLarge("ingest: more than " + std::to_string(kMaxIngestEntries) +
                              " entries in one request");
    }
    req.entries.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      std::string_view raw;
      PLUMLOG_RETURN_IF_ERROR(r.ReadBin("entry", kMaxEntryBytes, &raw));
      Result<Entry> e = Entry::Decode(raw);
      if (!e.ok()) return e.status().WithContext("ingest: entry " + std::to_string(i));
      req.entries.push_back(std::move(*e));
    }
  } else if (method == kPeersAdd || method == kConnect) {
    PLUMLOG_RETURN_IF_ERROR(Arity(method, args, 1));
    std::string_view text;
    PLUMLOG_RETURN_IF_ERROR(r.ReadStr("address", kMaxAddressBytes, &text));
    PLUMLOG_ASSIGN_OR_RETURN(req.address, PeerAddress::Parse(text));
  } else if (method == kPeersRemove || method == kFollow || method == kUnfollow ||
             method == kBlock || method == kUnblock || method == kPurge || method == kInSync) {
    PLUMLOG_RETURN_IF_ERROR(Arity(method, args, 1));
    std::string_view raw;
    PLUMLOG_RETURN_IF_ERROR(r.ReadBinExact("feed id", FeedId::kSize, &raw));
    req.feed = *FeedId::FromBytes(raw);
  } else {
    return Status::InvalidArgument("unknown control method '" +
                                   std::string(method.substr(0, 64)) + "'");
  }
  PLUMLOG_RETURN_IF_ERROR(r.ExpectEnd("request"));
  return req;
}

}  // namespace plumlog::cli
