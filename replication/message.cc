#include "replication/message.h"

#include <cassert>

#include "replication/note.h"
#include "replication/reconcile_message.h"
#include "replication/wire.h"
#include "core/msgpack_reader.h"

namespace plumlog::replication {

using core::MsgpackReader;

namespace {

void AppendInt(std::string* out, int64_t v) {
  if (v >= 0) {
    core::AppendMsgpackUint(out, static_cast<uint64_t>(v));
  } else if (v >= -32) {
    out->push_back(static_cast<char>(static_cast<int8_t>(v)));
  } else {
    out->push_back(static_cast<char>(0xd3));
    uint64_t u = static_cast<uint64_t>(v);
    for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  }
}



Status ReadSeqList(MsgpackReader& r, std::string_view what, size_t max,
                   std::vector<std::pair<FeedId, uint64_t>>* out) {
  uint32_t n;
  PLUMLOG_RETURN_IF_ERROR(ReadCount(r, what, max, 36, &n));
  out->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t k;
    PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader(what, &k));
    if (k != 2) return Status::Corruption(std::string(what) + ": item must be [feed, seq]");
    FeedId f;
    uint64_t seq;
    PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, what, &f));
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint(what, &seq));
    if (seq > kMaxNoteSeq) return Status::Corruption(std::string(what) + ": sequence out of range");
    out->emplace_back(f, seq);
  }
  return Status::OK();
}

void WriteSeqList(std::string* out, const std::vector<std::pair<FeedId, uint64_t>>& list) {
  core::AppendMsgpackArrayHeader(out, static_cast<uint32_t>(list.size()));
  for (const auto& [feed, seq] : list) {
    core::AppendMsgpackArrayHeader(out, 2);
    core::AppendMsgpackBin(out, feed.view());
    core::AppendMsgpackUint(out, seq);
  }
}

}  // namespace

uint64_t HeadPrefix(const EntryId& id) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | id.bytes()[i];
  return v;
}

MessageType TypeOf(const Message& m) {
  return static_cast<MessageType>(m.index() + 1);
}

const char* MessageTypeName(MessageType t) {
  switch (t) {
    case MessageType::kNotes: return "notes";
    case MessageType::kEntries: return "entries";
    case MessageType::kDigest: return "digest";
    case MessageType::kWant: return "want";
    case MessageType::kForkProof: return "fork proof";
    case MessageType::kReconcile:
      return "reconcile";
  }
  return "unknown";
}

std::string EncodeMessage(const Message& m) {
  std::string out;
  if (const auto* notes = std::get_if<NotesMessage>(&m)) {
    assert(notes->notes.size() <= kMaxNotesPerMessage);
    out.reserve(8 + notes->notes.size() * 42);
    core::AppendMsgpackArrayHeader(&out, 2);
    core::AppendMsgpackUint(&out, static_cast<uint64_t>(MessageType::kNotes));
    core::AppendMsgpackArrayHeader(&out, static_cast<uint32_t>(notes->notes.size()));
    for (const NoteItem& n : notes->notes) {
      core::AppendMsgpackArrayHeader(&out, 3);
      core::AppendMsgpackBin(&out, n.feed.view());
      AppendInt(&out, n.note);
      core::AppendMsgpackUint(&out, n.hops);
    }
  } else if (const auto* es = std::get_if<EntriesMessage>(&m)) {
    assert(es->entries.size() <= kMaxEntriesPerMessage);
    core::AppendMsgpackArrayHeader(&out, 4);
    core::AppendMsgpackUint(&out, static_cast<uint64_t>(MessageType::kEntries));
    core::AppendMsgpackUint(&out, es->hops);
    core::AppendMsgpackBool(&out, es->repair);
    core::AppendMsgpackArrayHeader(&out, static_cast<uint32_t>(es->entries.size()));
    for (const Entry& e : es->entries) core::AppendMsgpackBin(&out, e.encoded());
  } else if (const auto* d = std::get_if<DigestMessage>(&m)) {
    assert(d->clock.size() <= kMaxDigestItems);
    core::AppendMsgpackArrayHeader(&out, 5);
    core::AppendMsgpackUint(&out, static_cast<uint64_t>(MessageType::kDigest));
    core::AppendMsgpackUint(&out, d->round);
    core::AppendMsgpackBin(&out, d->lo.view());
    core::AppendMsgpackBin(&out, d->hi.view());
    core::AppendMsgpackArrayHeader(&out, static_cast<uint32_t>(d->clock.size()));
    for (const DigestItem& item : d->clock) {
      core::AppendMsgpackArrayHeader(&out, 3);
      core::AppendMsgpackBin(&out, item.feed.view());
      core::AppendMsgpackUint(&out, item.seq);
      core::AppendMsgpackUint(&out, item.head_prefix);
    }
  } else if (const auto* w = std::get_if<WantMessage>(&m)) {
    assert(w->after.size() <= kMaxWantItems);
    core::AppendMsgpackArrayHeader(&out, 2);
    core::AppendMsgpackUint(&out, static_cast<uint64_t>(MessageType::kWant));
    WriteSeqList(&out, w->after);
  } else if (const auto* rm = std::get_if<ReconcileMessage>(&m)) {
    out = EncodeReconcileMessage(*rm);
  } else if (const auto* f = std::get_if<ForkProofMessage>(&m)) {
    core::AppendMsgpackArrayHeader(&out, 3);
    core::AppendMsgpackUint(&out, static_cast<uint64_t>(MessageType::kForkProof));
    core::AppendMsgpackBin(&out, f->first.encoded());
    core::AppendMsgpackBin(&out, f->second.encoded());
  }
  return out;
}

Result<Message> DecodeMessage(std::string_view frame) {
  if (frame.size() > kMaxFrameBytes) {
    return Status::TooLarge("frame of " + std::to_string(frame.size()) + " bytes (limit " +
                            std::to_string(kMaxFrameBytes) + ")");
  }
  if (IsReconcileFrame(frame)) {
    PLUMLOG_ASSIGN_OR_RETURN(ReconcileMessage rm, DecodeReconcileMessage(frame));
    return Message(std::move(rm));
  }
  MsgpackReader r(frame);
  uint32_t fields;
  PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("message", &fields));
  uint64_t type;
  if (fields == 0) return Status::Corruption("message: empty");
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("message type", &type));
  auto expect_fields = [&](uint32_t n) -> Status {
    if (fields != n) {
      return Status::Corruption(std::string(MessageTypeName(static_cast<MessageType>(type))) +
                                " message: expected " + std::to_string(n) + " fields, got " +
                                std::to_string(fields));
    }
    return Status::OK();
  };
  Message out;
  switch (type) {
    case static_cast<uint64_t>(MessageType::kNotes): {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(2));
      NotesMessage m;
      uint32_t n;
      PLUMLOG_RETURN_IF_ERROR(ReadCount(r, "notes", kMaxNotesPerMessage, 37, &n));
      m.notes.reserve(n);
      for (uint32_t i = 0; i < n; ++i) {
        uint32_t k;
        PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("note", &k));
        if (k != 3) return Status::Corruption("note: must be [feed, note, hops]");
        NoteItem item;
        PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, "note feed", &item.feed));
        PLUMLOG_RETURN_IF_ERROR(r.ReadInt("note value", &item.note));
        if (item.note < -1 || NoteSeq(item.note) > kMaxNoteSeq) {
          return Status::Corruption("note value out of range: " + std::to_string(item.note));
        }
        uint64_t hops;
        PLUMLOG_RETURN_IF_ERROR(r.ReadUint("note hops", &hops));
        if (hops > kMaxHops) return Status::Corruption("note hops out of range");
        item.hops = static_cast<uint32_t>(hops);
        m.notes.push_back(item);
      }
      out = std::move(m);
      break;
    }
    case static_cast<uint64_t>(MessageType::kEntries): {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(4));
      EntriesMessage m;
      uint64_t hops;
      PLUMLOG_RETURN_IF_ERROR(r.ReadUint("entries hops", &hops));
      if (hops > kMaxHops) return Status::Corruption("entries hops out of range");
      m.hops = static_cast<uint32_t>(hops);
      PLUMLOG_RETURN_IF_ERROR(r.ReadBool("entries repair flag", &m.repair));
      uint32_t n;
      PLUMLOG_RETURN_IF_ERROR(ReadCount(r, "entries", kMaxEntriesPerMessage, 2, &n));
      m.entries.reserve(n);
      for (uint32_t i = 0; i < n; ++i) {
        std::string_view raw;
        PLUMLOG_RETURN_IF_ERROR(r.ReadBin("entry", kMaxEntryBytes, &raw));
        Result<Entry> e = Entry::Decode(raw);
        if (!e.ok()) return e.status().WithContext("entry " + std::to_string(i));
        m.entries.push_back(std::move(e).value());
      }
      out = std::move(m);
      break;
    }
    case static_cast<uint64_t>(MessageType::kDigest): {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(5));
      DigestMessage m;
      PLUMLOG_RETURN_IF_ERROR(r.ReadUint("digest round", &m.round));
      PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, "digest lo", &m.lo));
      PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, "digest hi", &m.hi));
      if (m.hi < m.lo) return Status::Corruption("digest: empty range");
      uint32_t n;
      PLUMLOG_RETURN_IF_ERROR(ReadCount(r, "digest clock", kMaxDigestItems, 37, &n));
      m.clock.reserve(n);
      for (uint32_t i = 0; i < n; ++i) {
        uint32_t k;
        PLUMLOG_RETURN_IF_ERROR(r.ReadArrayHeader("digest item", &k));
        if (k != 3) return Status::Corruption("digest item: must be [feed, seq, head]");
        DigestItem item;
        PLUMLOG_RETURN_IF_ERROR(ReadFeed(r, "digest feed", &item.feed));
        PLUMLOG_RETURN_IF_ERROR(r.ReadUint("digest seq", &item.seq));
        PLUMLOG_RETURN_IF_ERROR(r.ReadUint("digest head", &item.head_prefix));
        if (item.seq > kMaxNoteSeq) return Status::Corruption("digest: sequence out of range");
        m.clock.push_back(item);
      }
      for (size_t i = 0; i < m.clock.size(); ++i) {
        const FeedId& f = m.clock[i].feed;
        if (f < m.lo || m.hi < f || (i > 0 && !(m.clock[i - 1].feed < f))) {
          return Status::Corruption("digest: feeds out of order or out of range");
        }
      }
      out = std::move(m);
      break;
    }
    case static_cast<uint64_t>(MessageType::kWant): {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(2));
      WantMessage m;
      PLUMLOG_RETURN_IF_ERROR(ReadSeqList(r, "want", kMaxWantItems, &m.after));
      out = std::move(m);
      break;
    }
    case static_cast<uint64_t>(MessageType::kForkProof): {
      PLUMLOG_RETURN_IF_ERROR(expect_fields(3));
      ForkProofMessage m;
      for (Entry* e : {&m.first, &m.second}) {
        std::string_view raw;
        PLUMLOG_RETURN_IF_ERROR(r.ReadBin("fork proof entry", kMaxEntryBytes, &raw));
        Result<Entry> d = Entry::Decode(raw);
        if (!d.ok()) return d.status().WithContext("fork proof entry");
        *e = std::move(d).value();
      }
      if (m.first.author() != m.second.author() || m.first.seq() != m.second.seq() ||
          m.first.id() == m.second.id()) {
        return Status::Corruption("fork proof: entries must share author and sequence and differ");
      }
      out = std::move(m);
      break;
    }
    default:
      return Status::Corruption("unknown message type " + std::to_string(type));
  }
  PLUMLOG_RETURN_IF_ERROR(r.ExpectEnd("message"));
  return out;
}

std::vector<DigestMessage> SplitDigest(uint64_t round, const std::vector<DigestItem>& sorted) {
  std::vector<DigestMessage> parts;
  FeedId min_id;
  FeedId max_id;
  max_id.mutable_bytes().fill(0xff);
  size_t i = 0;
  do {
    DigestMessage d;
    d.round = round;
    d.lo = parts.empty() ? min_id : parts.back().hi;
    if (!parts.empty()) {
      // Next range starts just after the previous one's hi.
      auto& b = d.lo.mutable_bytes();
      for (int k = 31; k >= 0 && ++b[k] == 0; --k) {
      }
    }
    size_t end = std::min(sorted.size(), i + kMaxDigestItems);
    d.clock.assign(sorted.begin() + i, sorted.begin() + end);
    d.hi = end == sorted.size() ? max_id : sorted[end - 1].feed;
    i = end;
    parts.push_back(std::move(d));
  } while (i < sorted.size());
  return parts;
}

}  // namespace plumlog::replication
