#include "replication/membership_message.h"

#include <cassert>

#include "replication/wire.h"
#include "core/msgpack_reader.h"

namespace plumlog::replication {

using core::MsgpackReader;

namespace {

void PutType(std::string* out, uint32_t fields, MembershipMessageType t) {
  core::AppendMsgpackArrayHeader(out, fields);
  core::AppendMsgpackUint(out, static_cast<uint64_t>(t));
}

void PutAddress(std::string* out, const std::string& a) {
  assert(a.size() <= kMaxAddressBytes);
  core::AppendMsgpackBin(out, a);
}

void PutSamples(std::string* out, const std::vector<PeerSample>& samples) {
  assert(samples.size() <= kMaxShuffleEntries);
  core::AppendMsgpackArrayHeader(out, static_cast<uint32_t>(samples.size()));
  for (const PeerSample& s : samples) {
    core::AppendMsgpackArrayHeader(out, 2);
    core::AppendMsgpackBin(out, s.id.view());
    PutAddress(out, s.address);
  }
}

void PutUpdates(std::string* out, const std::vector<MemberUpdate>& updates) {
  assert(updates.size() <= kMaxPiggybackUpdates);
  core::AppendMsgpackArrayHeader(out, static_cast<uint32_t>(updates.size()));
  for (const MemberUpdate& u : updates) {
    core::AppendMsgpackArrayHeader(out, 5);
    core::AppendMsgpackBin(out, u.id.view());
    core::AppendMsgpackUint(out, u.incarnation);
    core::AppendMsgpackUint(out, static_cast<uint64_t>(u.state));
    PutAddress(out, u.address);
    core::AppendMsgpackBin(out, u.by.view());
  }
}


Status ReadAddress(MsgpackReader& r, std::string_view what, std::string* out) {
  std::string_view raw;
  PLUMLOG_RETURN_IF_ERROR(r.ReadBin(what, kMaxAddressBytes, &raw));
  out->assign(raw);
  return Status::OK();
}

Status ReadBounded(MsgpackReader& r, std::string_view what, uint64_t max, uint64_t* v) {
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint(what, v));
  if (*v > max) return Status::Corruption(std::string(what) + ": out of range");
  return Status::OK();
}


Status ReadSamples(MsgpackReader& r, std::vector<PeerSample>* out) {
  uint32_t n;
  // [bin32, bin0]: 1 + 34 + 2 bytes at least.
  PLUMLOG_RETURN_IF_ERROR(ReadCount(r, "samples", kMaxShuffleEntries, 37, &n));
  out->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t k;
    PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("sample", &k));
    if (k != 2) return Status::Corruption("sample: must be [id, address]");
    PeerSample s;
    PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, "sample id", &s.id));
    PLUMLOG_RETURN_IF_ERROR(ReadAddress(r, "sample address", &s.address));
    out->push_back(std::move(s));
  }
  return Status::OK();
}

Status ReadUpdates(MsgpackReader& r, std::vector<MemberUpdate>* out) {
  uint32_t n;
  // [bin32, uint, uint, bin0, bin32]: 1 + 34 + 1 + 1 + 2 + 34 bytes at least.
  PLUMLOG_RETURN_IF_ERROR(ReadCount(r, "updates", kMaxPiggybackUpdates, 73, &n));
  out->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t k;
    PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("update", &k));
    if (k != 5) return Status::Corruption("update: must be [id, incarnation, state, address, by]");
    MemberUpdate u;
    PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, "update id", &u.id));
    PLUMLOG_RETURN_IF_ERROR(ReadBounded(r, "update incarnation", kMaxIncarnation, &u.incarnation));
    uint64_t state;
    PLUMLOG_RETURN_IF_ERROR(
        ReadBounded(r, "update state", static_cast<uint64_t>(MemberState::kLeft), &state));
    u.state = static_cast<MemberState>(state);
    PLUMLOG_RETURN_IF_ERROR(ReadAddress(r, "update address", &u.address));
    PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, "update by", &u.by));
    out->push_back(std::move(u));
  }
  return Status::OK();
}

}  // namespace

const char* MemberStateName(MemberState s) {
  switch (s) {
    case MemberState::kAlive: return "alive";
    case MemberState::kSuspect: return "suspect";
    case MemberState::kDead: return "dead";
    case MemberState::kLeft: return "left";
  }
  return "unknown";
}

MembershipMessageType TypeOf(const MembershipMessage& m) {
  return static_cast<MembershipMessageType>(m.index() + 16);
}

const char* MembershipMessageTypeName(MembershipMessageType t) {
  switch (t) {
    case MembershipMessageType::kJoin: return "join";
    case MembershipMessageType::kForwardJoin: return "forward join";
    case MembershipMessageType::kNeighbor: return "neighbor";
    case MembershipMessageType::kNeighborReply: return "neighbor reply";
    case MembershipMessageType::kDisconnect: return "disconnect";
    case MembershipMessageType::kShuffle: return "shuffle";
    case MembershipMessageType::kShuffleReply: return "shuffle reply";
    case MembershipMessageType::kPing: return "ping";
    case MembershipMessageType::kAck: return "ack";
    case MembershipMessageType::kPingReq: return "ping-req";
    case MembershipMessageType::kLeave: return "leave";
  }
  return "unknown";
}

bool IsMembershipFrame(std::string_view frame) {
  uint64_t t = 0;
  return core::PeekFrameType(frame, &t) && t >= 16 && t <= 63;
}

std::string EncodeMembershipMessage(const MembershipMessage& m) {
  std::string out;
  const MembershipMessageType t = TypeOf(m);
  if (const auto* j = std::get_if<JoinMessage>(&m)) {
    PutType(&out, 2, t);
    PutAddress(&out, j->address);
  } else if (const auto* fj = std::get_if<ForwardJoinMessage>(&m)) {
    assert(fj->ttl <= kMaxWalkLength);
    PutType(&out, 4, t);
    core::AppendMsgpackBin(&out, fj->node.view());
    PutAddress(&out, fj->address);
    core::AppendMsgpackUint(&out, fj->ttl);
  } else if (const auto* n = std::get_if<NeighborMessage>(&m)) {
    PutType(&out, 3, t);
    core::AppendMsgpackBool(&out, n->high_priority);
    PutAddress(&out, n->address);
  } else if (const auto* nr = std::get_if<NeighborReplyMessage>(&m)) {
    PutType(&out, 2, t);
    core::AppendMsgpackBool(&out, nr->accepted);
  } else if (const auto* d = std::get_if<DisconnectMessage>(&m)) {
    PutType(&out, 2, t);
    core::AppendMsgpackBool(&out, d->alive);
  } else if (const auto* s = std::get_if<ShuffleMessage>(&m)) {
    assert(s->ttl <= kMaxWalkLength);
    PutType(&out, 5, t);
    core::AppendMsgpackBin(&out, s->origin.view());
    PutAddress(&out, s->origin_address);
    core::AppendMsgpackUint(&out, s->ttl);
    PutSamples(&out, s->samples);
  } else if (const auto* sr = std::get_if<ShuffleReplyMessage>(&m)) {
    PutType(&out, 2, t);
    PutSamples(&out, sr->samples);
  } else if (const auto* p = std::get_if<PingMessage>(&m)) {
    PutType(&out, 3, t);
    core::AppendMsgpackUint(&out, p->seq);
    PutUpdates(&out, p->updates);
  } else if (const auto* a = std::get_if<AckMessage>(&m)) {
    PutType(&out, 3, t);
    core::AppendMsgpackUint(&out, a->seq);
    PutUpdates(&out, a->updates);
  } else if (const auto* pr = std::get_if<PingReqMessage>(&m)) {
    PutType(&out, 5, t);
    core::AppendMsgpackUint(&out, pr->seq);
    core::AppendMsgpackBin(&out, pr->target.view());
    PutAddress(&out, pr->target_address);
    PutUpdates(&out, pr->updates);
  } else if (const auto* l = std::get_if<LeaveMessage>(&m)) {
    PutType(&out, 2, t);
    core::AppendMsgpackUint(&out, l->incarnation);
  }
  assert(out.size() <= kMaxMembershipFrameBytes);
  return out;
}

Result<MembershipMessage> DecodeMembershipMessage(std::string_view frame) {
  if (frame.size() > kMaxMembershipFrameBytes) {
    return Status::TooLarge("membership frame of " + std::to_string(frame.size()) +
                            " bytes (limit " + std::to_string(kMaxMembershipFrameBytes) + ")");
  }
  MsgpackReader r(frame);
  uint32_t fields;
  PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("membership message", &fields));
  if (fields == 0) return Status::Corruption("membership message: empty");
  uint64_t type;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("membership message type", &type));
  if (type < 16 || type > static_cast<uint64_t>(MembershipMessageType::kLeave)) {
    return Status::Corruption("membership message: unknown type " + std::to_string(type));
  }
  const auto t = static_cast<MembershipMessageType>(type);
  auto expect_fields = [&](uint32_t n) -> Status {
    if (fields != n) {
      return Status::Corruption(std::string(MembershipMessageTypeName(t)) +
                                " message: expected " + std::to_string(n) + " fields, got " +
                                std::to_string(fields));
    }
    return Status::OK();
  };
  uint64_t v;
  MembershipMessage out;
  switch (t) {
    case MembershipMessageType::kJoin: {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(2));
      JoinMessage m;
      PLUMLOG_RETURN_IF_ERROR(ReadAddress(r, "join address", &m.address));
      out = std::move(m);
      break;
    }
    case MembershipMessageType::kForwardJoin: {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(4));
      ForwardJoinMessage m;
      PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, "forward join node", &m.node));
      PLUMLOG_RETURN_IF_ERROR(ReadAddress(r, "forward join address", &m.address));
      PLUMLOG_RETURN_IF_ERROR(ReadBounded(r, "forward join ttl", kMaxWalkLength, &v));
      m.ttl = static_cast<uint32_t>(v);
      out = std::move(m);
      break;
    }
    case MembershipMessageType::kNeighbor: {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(3));
      NeighborMessage m;
      PLUMLOG_RETURN_IF_ERROR(r.ReadBool("neighbor priority", &m.high_priority));
      PLUMLOG_RETURN_IF_ERROR(ReadAddress(r, "neighbor address", &m.address));
      out = std::move(m);
      break;
    }
    case MembershipMessageType::kNeighborReply: {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(2));
      NeighborReplyMessage m;
      PLUMLOG_RETURN_IF_ERROR(r.ReadBool("neighbor reply", &m.accepted));
      out = m;
      break;
    }
    case MembershipMessageType::kDisconnect: {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(2));
      DisconnectMessage m;
      PLUMLOG_RETURN_IF_ERROR(r.ReadBool("disconnect alive", &m.alive));
      out = m;
      break;
    }
    case MembershipMessageType::kShuffle: {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(5));
      ShuffleMessage m;
      PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, "shuffle origin", &m.origin));
      PLUMLOG_RETURN_IF_ERROR(ReadAddress(r, "shuffle origin address", &m.origin_address));
      PLUMLOG_RETURN_IF_ERROR(ReadBounded(r, "shuffle ttl", kMaxWalkLength, &v));
      m.ttl = static_cast<uint32_t>(v);
      PLUMLOG_RETURN_IF_ERROR(ReadSamples(r, &m.samples));
      out = std::move(m);
      break;
    }
    case MembershipMessageType::kShuffleReply: {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(2));
      ShuffleReplyMessage m;
      PLUMLOG_RETURN_IF_ERROR(ReadSamples(r, &m.samples));
      out = std::move(m);
      break;
    }
    case MembershipMessageType::kPing: {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(3));
      PingMessage m;
      PLUMLOG_RETURN_IF_ERROR(r.ReadUint("ping seq", &m.seq));
      PLUMLOG_RETURN_IF_ERROR(ReadUpdates(r, &m.updates));
      out = std::move(m);
      break;
    }
    case MembershipMessageType::kAck: {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(3));
      AckMessage m;
      PLUMLOG_RETURN_IF_ERROR(r.ReadUint("ack seq", &m.seq));
      PLUMLOG_RETURN_IF_ERROR(ReadUpdates(r, &m.updates));
      out = std::move(m);
      break;
    }
    case MembershipMessageType::kPingReq: {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(5));
      PingReqMessage m;
      PLUMLOG_RETURN_IF_ERROR(r.ReadUint("ping-req seq", &m.seq));
      PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, "ping-req target", &m.target));
      PLUMLOG_RETURN_IF_ERROR(ReadAddress(r, "ping-req target address", &m.target_address));
      PLUMLOG_RETURN_IF_ERROR(ReadUpdates(r, &m.updates));
      out = std::move(m);
      break;
    }
    case MembershipMessageType::kLeave: {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(2));
      LeaveMessage m;
      PLUMLOG_RETURN_IF_ERROR(ReadBounded(r, "leave incarnation", kMaxIncarnation, &m.incarnation));
      out = m;
      break;
    }
  }
  PLUMLOG_RETURN_IF_ERROR(r.ExpectEnd("membership message"));
  return out;
}

}  // namespace plumlog::replication
