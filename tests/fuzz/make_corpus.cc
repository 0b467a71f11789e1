// Writes the seed inputs of the fuzz corpora (tests/fuzz/corpus/<target>/):
// valid entries, export streams, ids, msgpack values, a secret key file and
// replication frames of every type, application frame streams, control socket
// requests and responses, chat content and signature-verifier cases, all from
// a fixed key so the output is the same on every run.
//
//   plumlog_fuzz_make_corpus OUT_DIR
//
// Creates OUT_DIR/<target>/seed-<name> for every target; existing seeds are
// overwritten. Not part of the test suite: run it by hand when the formats
// change, then merge the result into the corpus (see scripts/fuzz).
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/control_protocol.h"
#include "crypto/keypair.h"
#include "net/control_frame.h"
#include "net/frame_decoder.h"
#include "node/contact.h"
#include "node/refusal.h"
#include "plumlog/chat.h"
#include "plumlog/node.h"
#include "plumlog/types.h"
#include "replication/membership_message.h"
#include "replication/message.h"
#include "replication/note.h"
#include "replication/range_reconciler.h"
#include "replication/reconcile_message.h"
#include "replication/reconcile_session.h"
#include "replication/sorted_reconcile_source.h"
#include "format/entry_codec.h"
#include "storage/export_stream.h"
#include "core/msgpack_reader.h"

namespace {

namespace fs = std::filesystem;
using plumlog::Entry;
using plumlog::EntryCodec;
using plumlog::crypto::KeyPair;
namespace mp = plumlog::core;
namespace rep = plumlog::replication;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "make_corpus: %s\n", why.c_str());
  std::exit(1);
}

void WriteSeed(const fs::path& dir, const std::string& name,
               std::string_view bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) Die("cannot write " + (dir / ("seed-" + name)).string());
}

KeyPair FixedKey(uint8_t fill) {
  std::array<uint8_t, 32> seed;
  for (size_t i = 0; i < seed.size(); ++i)
    seed[i] = static_cast<uint8_t>(fill + i);
  return KeyPair::FromSeed(seed);
}

// One content value of every msgpack kind, by name.
std::vector<std::pair<std::string, std::string>> Contents() {
  std::vector<std::pair<std::string, std::string>> c;
  c.emplace_back("text", plumlog::TextContent("hello, plumlog"));
  {
    std::string m;
    mp::AppendMsgpackMapHeader(&m, 2);
    mp::AppendMsgpackStr(&m, "type");
    mp::AppendMsgpackStr(&m, "post");
    mp::AppendMsgpackStr(&m, "text");
    mp::AppendMsgpackStr(&m, "hi there");
    c.emplace_back("map", m);
  }
  c.emplace_back("nil", std::string(1, '\xc0'));
  c.emplace_back("true", std::string(1, '\xc3'));
  c.emplace_back("negint",
                 std::string("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9));
  c.emplace_back("float32", std::string("\xca\x3f\x80\x00\x00", 5));
  c.emplace_back("float64",
                 std::string("\xcb\x40\x09\x21\xfb\x54\x44\x2d\x18", 9));
  {
    std::string b;
    mp::AppendMsgpackBin(&b, std::string(300, '\x5a'));
    c.emplace_back("bin16", b);
  }
  c.emplace_back("fixext4", std::string("\xd6\x01\xde\xad\xbe\xef", 6));
  c.emplace_back("ext8", std::string("\xc7\x03\x02\x01\x02\x03", 6));
  {
    std::string a;
    mp::AppendMsgpackArrayHeader(&a, 20);
    for (int i = 0; i < 20; ++i)
      mp::AppendMsgpackUint(&a, uint64_t{1} << (i * 3));
    c.emplace_back("array16", a);
  }
  {
    // Nested exactly kMaxContentDepth deep: the deepest content allowed.
    std::string d;
    for (int i = 0; i < plumlog::kMaxContentDepth; ++i) {
      i % 2 == 0 ? mp::AppendMsgpackArrayHeader(&d, 1)
                 : mp::AppendMsgpackMapHeader(&d, 1);
      if (i % 2 == 1) mp::AppendMsgpackStr(&d, "k");
    }
    mp::AppendMsgpackNil(&d);
    c.emplace_back("deep", d);
  }
  c.emplace_back("str8", plumlog::TextContent(std::string(200, 'x')));
  c.emplace_back("str16", plumlog::TextContent(std::string(3000, 'y')));
  return c;
}

Entry Build(const KeyPair& key, uint64_t seq,
            const std::optional<plumlog::EntryId>& prev, uint64_t lamport,
            uint64_t ts, std::string_view content) {
  EntryCodec::Fields f;
  f.author = key.public_key();
  f.seq = seq;
  f.previous = prev;
  f.lamport = lamport;
  f.timestamp_ms = ts;
  f.content = content;
  plumlog::Result<Entry> e = EntryCodec::Build(key, f);
  if (!e.ok()) Die("cannot build an entry: " + e.status().ToString());
  return std::move(e).value();
}

std::string Export(const std::vector<Entry>& entries) {
  std::ostringstream out;
  plumlog::storage::ExportWriter w(&out);
  for (const Entry& e : entries) {
    if (!w.Write(e).ok()) Die("export write");
  }
  if (!w.Finish().ok()) Die("export finish");
  return out.str();
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// The msgpack_skip_fuzz input layout: depth byte, op count, ops, data.
std::string MsgpackInput(int max_depth, std::string_view ops,
                         std::string_view data) {
  std::string s;
  s.push_back(static_cast<char>(max_depth + 1));
  s.push_back(static_cast<char>(ops.size()));
  s.append(ops);
  s.append(data);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out(argv[1]);
  const KeyPair alice = FixedKey(1);
  const KeyPair bob = FixedKey(101);
  constexpr uint64_t kTs = 1700000000000;

  // ---- entries ----
  std::vector<Entry> chain;
  std::optional<plumlog::EntryId> prev;
  uint64_t seq = 0;
  for (const auto& [name, content] : Contents()) {
    ++seq;
    Entry e = Build(alice, seq, prev, seq * 2, kTs + seq, content);
    WriteSeed(out / "entry_decode", "entry-" + name, e.encoded());
    prev = e.id();
    chain.push_back(e);
  }
  const plumlog::EntryId some_id = chain.back().id();
  const Entry max_fields =
      Build(bob, plumlog::kMaxClockValue, some_id, plumlog::kMaxClockValue,
            plumlog::kMaxClockValue, std::string(1, '\x7f'));
  WriteSeed(out / "entry_decode", "entry-max-fields", max_fields.encoded());
  const Entry min_fields =
      Build(bob, 1, std::nullopt, 1, 0, std::string(1, '\x00'));
  WriteSeed(out / "entry_decode", "entry-min-fields", min_fields.encoded());
  const Entry wide_ints =
      Build(bob, 0x80, some_id, 0x10000, 0x100000000, "\x90");
  WriteSeed(out / "entry_decode", "entry-wide-ints", wide_ints.encoded());

  // ---- export streams ----
  WriteSeed(out / "export_stream", "export-empty", Export({}));
  WriteSeed(out / "export_stream", "export-one", Export({chain[0]}));
  WriteSeed(out / "export_stream", "export-chain",
            Export({chain[0], chain[1], chain[2], chain[3]}));
  WriteSeed(out / "export_stream", "export-two-authors",
            Export({min_fields, chain[0]}));

  // ---- msgpack ----
  for (const auto& [name, content] : Contents()) {
    if (content.size() > 1024) continue;
    WriteSeed(out / "msgpack_skip", "value-" + name,
              MsgpackInput(32, "", content));
  }
  // Typed reads in the order the entry decoder does them (op = kind + 11 *
  // param).
  const std::string entry_ops = Bytes({
      0,            // array header
      2,            // version
      4 + 11 * 3,   // author: bin exactly 32
      2,            // sequence
      8,            // nil previous
      2,            // lamport
      2,            // timestamp
      9 + 11 * 22,  // content: skip with depth 21
      4 + 11 * 4,   // signature: bin exactly 64
      10,           // end
  });
  WriteSeed(out / "msgpack_skip", "entry-reads",
            MsgpackInput(32, entry_ops, chain[0].encoded()));
  WriteSeed(
      out / "msgpack_skip", "ints",
      MsgpackInput(4, Bytes({2, 3, 3, 3, 7, 1, 5 + 11 * 6, 6 + 11 * 2}),
                   Bytes({0xcd, 0x01, 0x00, 0xd0, 0x80, 0xe5, 0xd1, 0xff, 0x00,
                          0xc2, 0x81, 0xc4, 0x02, 'a', 'b', 0xa2, 'h', 'i'})));

  // ---- ids ----
  WriteSeed(out / "id_parse", "feed-id", alice.public_key().ToString());
  WriteSeed(out / "id_parse", "entry-id", chain[0].id().ToString());
  WriteSeed(out / "id_parse", "raw-32", chain[1].id().view());

  // ---- secret key ----
  const fs::path key_dir = out / "secret_key_load";
  fs::create_directories(key_dir);
  fs::remove(key_dir / "seed-valid");
  plumlog::Status st = alice.Save((key_dir / "seed-valid").string());
  if (!st.ok()) Die("cannot save the key: " + st.ToString());
  {
    // The older format without the feed id, still read.
    std::ifstream in(key_dir / "seed-valid", std::ios::binary);
    std::string v2((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
    if (v2.size() < 62) Die("short key file");
    WriteSeed(key_dir, "valid-v1",
              "plumlog-secret-v1 " + v2.substr(18, 44) + "\n");
  }

  // ---- replication frames (replication/message.h) ----
  const fs::path frames = out / "replication_message";
  auto frame = [&](const std::string& name, const rep::Message& m) {
    WriteSeed(frames, "frame-" + name, rep::EncodeMessage(m));
  };
  const plumlog::FeedId a = alice.public_key();
  const plumlog::FeedId b = bob.public_key();
  const plumlog::FeedId c = *plumlog::FeedId::FromBytes(some_id.view());
  const plumlog::FeedId lo = a < b ? a : b;
  const plumlog::FeedId hi = a < b ? b : a;
  frame("notes-empty", rep::NotesMessage{});
  frame("notes", rep::NotesMessage{{{a, 11 << 1, 0},              // replicate, send
                                    {b, (3 << 1) | 1, 2},         // replicate, don't send
                                    {c, -1, 0},                    // don't replicate
                                    {lo, int64_t{1} << 40, rep::kMaxHops}}});
  frame("entries-empty", rep::EntriesMessage{});
  frame("entries-push", rep::EntriesMessage{1, false, {chain[0], chain[1], chain[2]}});
  frame("entries-repair",
        rep::EntriesMessage{rep::kMaxHops, true, {min_fields, wide_ints, chain[7]}});
  {
    std::vector<rep::DigestItem> clock = {
        {lo, 11, rep::HeadPrefix(chain[10].id())},
        {hi, rep::kMaxNoteSeq, rep::HeadPrefix(max_fields.id())}};
    for (size_t i = 0; i < 2; ++i) {
      frame("digest-" + std::to_string(i), rep::SplitDigest(7 + i, clock)[0]);
      clock.pop_back();
    }
    frame("digest-empty", rep::SplitDigest(0, {})[0]);
    rep::DigestMessage narrow;  // a part of a split clock: [lo, lo]
    narrow.round = uint64_t{1} << 33;
    narrow.lo = lo;
    narrow.hi = lo;
    narrow.clock = {{lo, 1, 0x0102030405060708}};
    frame("digest-narrow", narrow);
  }
  frame("want-empty", rep::WantMessage{});
  frame("want", rep::WantMessage{{{a, 0}, {b, 5}, {c, rep::kMaxNoteSeq}}});
  {
    const Entry other = Build(alice, 1, std::nullopt, 2, kTs + 1, "\xc2");
    frame("fork-proof", rep::ForkProofMessage{chain[0], other});
    const Entry other_max =
        Build(bob, plumlog::kMaxClockValue, chain[1].id(), plumlog::kMaxClockValue,
              plumlog::kMaxClockValue, std::string(1, '\x7e'));
    frame("fork-proof-max", rep::ForkProofMessage{max_fields, other_max});
  }
  // Longer array headers, which the decoder accepts (array32 for fixarray).
  WriteSeed(frames, "frame-want-long-headers",
            Bytes({0xdd, 0, 0, 0, 2, 4, 0xdd, 0, 0, 0, 0}));

  // ---- reconcile frames (replication/reconcile_message.h): every message of
  // a session between two sets of 2,000 feeds differing in 40, plus the
  // opening of a small set (items) and a session's end ----
  {
    const fs::path dir = out / "reconcile_message";
    std::mt19937_64 rng(5);
    std::vector<rep::SortedReconcileSource::Item> x, y;
    auto item = [&] {
      rep::SortedReconcileSource::Item it;
      for (auto& byte : it.key.mutable_bytes())
        byte = static_cast<uint8_t>(rng());
      for (auto& byte : it.hash.mutable_bytes())
        byte = static_cast<uint8_t>(rng());
      it.seq = 1 + rng() % 1000;
      return it;
    };
    for (int i = 0; i < 2000; ++i) {
      x.push_back(item());
      y.push_back(x.back());
    }
    for (int i = 0; i < 40; ++i) {
      if (i % 2) {
        y[rng() % 2000] = item();
      } else {
        x.push_back(item());
      }
    }
    const rep::SortedReconcileSource sx(x), sy(y);
    const rep::RangeReconciler rx(&sx, rep::ReconcileOptions()),
        ry(&sy, rep::ReconcileOptions());
    rep::ReconcileSession sa(&rx, 77, true), sb(&ry, 77, false);
    std::optional<rep::ReconcileMessage> m = sa.Start().value();
    for (int n = 0; m; ++n) {
      WriteSeed(dir, "session-" + std::to_string(n),
                rep::EncodeReconcileMessage(*m));
      m = (n % 2 == 0 ? sb : sa).OnMessage(*m).value().send;
    }
    const rep::SortedReconcileSource small({x[0], x[1]});
    const rep::RangeReconciler rs(&small, rep::ReconcileOptions());
    WriteSeed(dir, "open-small",
              rep::EncodeReconcileMessage(rs.Initiate(1).value()));
    rep::ReconcileMessage
        wide;  // 16-byte fingerprints, 8-bit splits, truncated
    wide.session = ~uint64_t{0};
    wide.round = rep::kMaxReconcileRound;
    wide.fingerprint_bytes = rep::kMaxFingerprintBytes;
    wide.truncated = true;
    rep::ReconcilePart part;
    part.range = plumlog::FeedRange::Of(x[5].key, 248);
    part.split_bits = 8;
    part.fingerprints = std::string(256 * 16, '\x5a');
    wide.parts.push_back(part);
    WriteSeed(dir, "wide", rep::EncodeReconcileMessage(wide));
  }

  // ---- application frame streams (net/frame_decoder.h), as app_frames reads
  // them: [h][chunk sizes][limit?][stream] ----
  {
    const fs::path dir = out / "app_frames";
    std::string repl;
    for (const rep::Message& m :
         {rep::Message{rep::NotesMessage{{{a, 11 << 1, 0}, {b, (3 << 1) | 1, 2}}}},
          rep::Message{rep::EntriesMessage{1, false, {chain[0], chain[1]}}},
          rep::Message{rep::WantMessage{{{a, 0}, {b, 5}}}},
          rep::Message{rep::SplitDigest(3, {{lo, 11, 7}})[0]}}) {
      plumlog::net::AppendFrame(rep::EncodeMessage(m), &repl);
    }
    std::string memb;
    for (const rep::MembershipMessage& m :
         {rep::MembershipMessage{rep::JoinMessage{"127.0.0.1:4000"}},
          rep::MembershipMessage{rep::PingMessage{
              7, {{b, 3, rep::MemberState::kSuspect, "10.0.0.2:9", a}}}},
          rep::MembershipMessage{rep::ShuffleMessage{a, "[::1]:5", 4, {{b, "h:1"}}}},
          rep::MembershipMessage{rep::LeaveMessage{9}}}) {
      plumlog::net::AppendFrame(rep::EncodeMembershipMessage(m), &memb);
    }
    WriteSeed(dir, "replication-whole", std::string(1, '\0') + repl);
    WriteSeed(dir, "replication-chunks", Bytes({0x03, 1, 7, 200}) + repl);
    WriteSeed(dir, "membership-bytewise", Bytes({0x01, 1}) + memb);
    WriteSeed(dir, "mixed-chunks", Bytes({0x02, 5, 64}) + memb + repl);
    WriteSeed(dir, "small-limit-oversized",
              Bytes({0x11, 3, 4}) + memb.substr(0, 40));  // limit 17
    WriteSeed(dir, "zero-length", Bytes({0x00, 0, 0, 0, 0}));
    WriteSeed(dir, "truncated", std::string(1, '\0') + repl.substr(0, repl.size() - 3));
  }

  // ---- Refused frames (net/refusal.h) ----
  {
    namespace net = plumlog::node;
    const fs::path dir = out / "refusal";
    WriteSeed(dir, "full", net::EncodeRefusal({"8 connections of unknown peers from 10.0.0.0/24",
                                               10000}));
    WriteSeed(dir, "empty-reason", net::EncodeRefusal({"", 0}));
    WriteSeed(dir, "long-reason", net::EncodeRefusal({std::string(300, 'r'), 86400000}));
    WriteSeed(dir, "control-chars", net::EncodeRefusal({"a\x1b[2J\n", 1}));
  }

  // ---- control socket (cli/control_protocol.h): byte 0 = mode ----
  {
    namespace cli = plumlog::cli;
    const fs::path dir = out / "control_protocol";
    auto request = [](std::string_view method, std::initializer_list<std::string> args) {
      std::string r;
      mp::AppendMsgpackArrayHeader(&r, static_cast<uint32_t>(1 + args.size()));
      mp::AppendMsgpackStr(&r, method);
      for (const std::string& v : args) r += v;
      return plumlog::net::ControlFrame(r);
    };
    auto bin = [](std::string_view v) {
      std::string r;
      mp::AppendMsgpackBin(&r, v);
      return r;
    };
    auto str = [](std::string_view v) {
      std::string r;
      mp::AppendMsgpackStr(&r, v);
      return r;
    };
    std::string entries;
    mp::AppendMsgpackArrayHeader(&entries, 2);
    mp::AppendMsgpackBin(&entries, chain[0].encoded());
    mp::AppendMsgpackBin(&entries, chain[1].encoded());
    const std::string addr = "net:127.0.0.1:8008~shs:" + a.ToString().substr(1, 44);
    WriteSeed(dir, "requests",
              std::string(1, '\0') + request(cli::kHello, {}) +
                  request(cli::kStatus, {}) +
                  request(cli::kAppend, {bin(plumlog::TextContent("hi"))}) +
                  request(cli::kFollow, {bin(a.view())}) +
                  request(cli::kInSync, {bin(b.view())}) +
                  request(cli::kConnect, {str(addr)}) +
                  request(cli::kPeersAdd, {str("[::1]:9~shs:" + b.ToString().substr(1, 44))}) +
                  request(cli::kStop, {}) + request(cli::kEvents, {}));
    std::string contents;
    mp::AppendMsgpackArrayHeader(&contents, 2);
    mp::AppendMsgpackBin(&contents, plumlog::TextContent("one"));
    mp::AppendMsgpackBin(&contents, plumlog::TextContent("two"));
    WriteSeed(dir, "request-append-batch",
              std::string(1, '\0') + request(cli::kAppendBatch, {contents}));
    WriteSeed(dir, "request-ingest", std::string(1, '\0') + request(cli::kIngest, {entries}));
    WriteSeed(dir, "request-unknown", std::string(1, '\0') + request("frobnicate", {str("x")}));
    WriteSeed(dir, "request-bad-length", Bytes({0x00, 0xff, 0xff, 0xff, 0xff, 0x91}));
    plumlog::NodeStatus status;
    status.id = a;
    status.address = plumlog::PeerAddress{"127.0.0.1", 8008, a};
    status.uptime_ms = 12345;
    status.connections.push_back(
        plumlog::ConnectionStatus{b, "127.0.0.1:5000", true, true, true, 77, 1, 2, 3});
    status.configured_peers.push_back(plumlog::PeerAddress{"::1", 9, b});
    status.active_view = {b};
    status.passive_view = {c};
    status.members_alive = 2;
    status.members = {{b, "alive"}};
    status.progress_start = 1;
    status.progress_current = 5;
    status.progress_target = 9;
    status.feeds.push_back(plumlog::FeedProgress{a, 3, 4});
    status.counters.handshakes_ok = 2;
    status.counters.entries_verified = 7;
    status.peer_progress.push_back(plumlog::PeerProgress{b, 4, 1});
    status.verify_rate = 12.5;
    std::string encoded;
    cli::EncodeStatus(status, &encoded);
    WriteSeed(dir, "status", "\x02" + encoded);
    WriteSeed(dir, "response-status",
              "\x01" + cli::OkResponse(cli::kStatusResults) + encoded);
    WriteSeed(dir, "response-error",
              "\x01" + cli::ErrorResponse(plumlog::Status::NotFound("no such feed")));
    WriteSeed(dir, "response-hello", "\x01" + cli::OkResponse(3) + bin(a.view()) + str(addr) +
                                         Bytes({0xcd, 0x12, 0x34}));
    WriteSeed(dir, "event-stored", "\x03" + cli::EncodeStoredEvent());
    WriteSeed(dir, "event-member",
              "\x03" + cli::EncodeMemberEvent(plumlog::MemberEvent{
                           plumlog::MemberEventKind::kSuspect, b, 7}));
    std::string later_event;
    mp::AppendMsgpackArrayHeader(&later_event, 2);
    mp::AppendMsgpackStr(&later_event, "from-the-future");
    mp::AppendMsgpackUint(&later_event, 1);
    WriteSeed(dir, "event-unknown", "\x03" + later_event);
  }

  // ---- chat content (include/plumlog/chat.h) ----
  {
    const fs::path dir = out / "chat_content";
    WriteSeed(dir, "message", *plumlog::chat::EncodeMessage("general", "hello, room"));
    WriteSeed(dir, "message-utf8",
              *plumlog::chat::EncodeMessage("a.b_c-9", "gr\xc3\xbc\xc3\x9f \xf0\x9f\x8c\xb3"));
    WriteSeed(dir, "nick", *plumlog::chat::EncodeNick("alice"));
    WriteSeed(dir, "action", *plumlog::chat::EncodeAction("general", "waves"));
    WriteSeed(dir, "topic",
              *plumlog::chat::EncodeTopic("general", "plans for friday"));
    WriteSeed(dir, "topic-cleared", *plumlog::chat::EncodeTopic("general", ""));
    std::string extra;  // keys in another order, an unknown key with a map value
    mp::AppendMsgpackMapHeader(&extra, 4);
    mp::AppendMsgpackStr(&extra, "text");
    mp::AppendMsgpackStr(&extra, "hi");
    mp::AppendMsgpackStr(&extra, "reply_to");
    mp::AppendMsgpackMapHeader(&extra, 1);
    mp::AppendMsgpackStr(&extra, "seq");
    mp::AppendMsgpackUint(&extra, 3);
    mp::AppendMsgpackStr(&extra, "room");
    mp::AppendMsgpackStr(&extra, "r");
    mp::AppendMsgpackStr(&extra, "type");
    mp::AppendMsgpackStr(&extra, plumlog::chat::kMessageType);
    WriteSeed(dir, "message-extra-keys", extra);
    WriteSeed(dir, "text-content", plumlog::TextContent("not chat"));
    WriteSeed(dir, "post-map", Contents()[1].second);
  }

  // ---- the chat's text and line editor (cli/line_editor.h): byte 0 = mode
  {
    const fs::path dir = out / "chat_text";
    WriteSeed(dir, "text",
              std::string(1, '\0') + "hello, w\xc3\xb6rld \xe6\x97\xa5");
    WriteSeed(dir, "text-controls",
              std::string(1, '\0') + "a\x1b[2Jb\xc2\x9b\x7f\t");
    WriteSeed(dir, "text-invalid",
              std::string(1, '\0') + "\xff\xc0\x80\xed\xa0\x80");
    // Type "hello wörld", Home, Right, Backspace, Up, Enter.
    WriteSeed(dir, "keys",
              std::string(1, '\1') + "hello w\xc3\xb6rld" +
                  std::string(1, '\x02') + std::string(1, '\x01') +
                  std::string(1, '\x04') + std::string(1, '\x0b') +
                  std::string(1, '\x0d'));
  }

  // ---- the web chat's POST bodies (cli/web_request.h): byte 0 = path, type
  {
    const fs::path dir = out / "web_request";
    WriteSeed(dir, "send",
              std::string(1, '\0') + R"({"room":"lobby","text":"hi"})");
    WriteSeed(dir, "send-action",
              std::string(1, '\0') +
                  R"({"room":"lobby","text":"waves","action":true})");
    WriteSeed(dir, "nick", std::string(1, '\1') + R"({"name":"alice"})");
    WriteSeed(dir, "topic",
              std::string(1, '\2') + R"({"room":"lobby","topic":"plans"})");
    WriteSeed(dir, "not-json-type",
              std::string(1, '\4') + R"({"room":"lobby","text":"hi"})");
    WriteSeed(dir, "bad-json",
              std::string(1, '\0') + R"({"room":"lobby","text":)");
    WriteSeed(dir, "wrong-types",
              std::string(1, '\0') + R"({"room":1,"text":[]})");
  }

  // ---- content as the CLI shows it (cli/content_json.h) ----
  {
    const fs::path dir = out / "content_text";
    for (const auto& [name, content] : Contents()) WriteSeed(dir, "content-" + name, content);
    WriteSeed(dir, "text-invalid-utf8", plumlog::TextContent("caf\xe9 \xff ok"));
    WriteSeed(dir, "text-control", plumlog::TextContent("tab\there\nnewline"));
    std::string typed;  // {"n": 1, "type": "post"}, type not first
    mp::AppendMsgpackMapHeader(&typed, 2);
    mp::AppendMsgpackStr(&typed, "n");
    mp::AppendMsgpackUint(&typed, 1);
    mp::AppendMsgpackStr(&typed, "type");
    mp::AppendMsgpackStr(&typed, "post");
    WriteSeed(dir, "typed-map", typed);
    std::string odd_keys;  // {1: "x", "type": "post"}: JSON cannot hold it
    mp::AppendMsgpackMapHeader(&odd_keys, 2);
    mp::AppendMsgpackUint(&odd_keys, 1);
    mp::AppendMsgpackStr(&odd_keys, "x");
    mp::AppendMsgpackStr(&odd_keys, "type");
    mp::AppendMsgpackStr(&odd_keys, "post");
    WriteSeed(dir, "non-string-key", odd_keys);
    std::string bin;
    mp::AppendMsgpackBin(&bin, std::string("\x00\x01\xfe", 3));
    WriteSeed(dir, "bin", bin);
  }

  // ---- contact entries (node/contact.h) ----
  {
    const fs::path dir = out / "contact_content";
    const plumlog::FeedId someone = plumlog::crypto::KeyPair::FromSeed(std::array<uint8_t, 32>{7})
                                        .public_key();
    WriteSeed(dir, "follow", plumlog::node::EncodeContact(someone, true));
    WriteSeed(dir, "unfollow", plumlog::node::EncodeContact(someone, false));
    std::string ssb;  // SSB's shape with "blocking" and keys in another order
    mp::AppendMsgpackMapHeader(&ssb, 4);
    mp::AppendMsgpackStr(&ssb, "blocking");
    mp::AppendMsgpackBool(&ssb, false);
    mp::AppendMsgpackStr(&ssb, "following");
    mp::AppendMsgpackBool(&ssb, true);
    mp::AppendMsgpackStr(&ssb, "contact");
    mp::AppendMsgpackStr(&ssb, someone.ToString());
    mp::AppendMsgpackStr(&ssb, "type");
    mp::AppendMsgpackStr(&ssb, "contact");
    WriteSeed(dir, "ssb-shape", ssb);
    WriteSeed(dir, "chat", *plumlog::chat::EncodeMessage("general", "not a contact"));
    WriteSeed(dir, "text-content", plumlog::TextContent("contact"));
  }

  // ---- signature verification (crypto/signature_verifier.h) ----
  // Layout in signature_verify_fuzz.cc: mode byte, then raw key || signature
  // || message (mode 0) or seed (32) || two parameters || message.
  {
    const fs::path dir = out / "signature_verify";
    auto seeded = [](uint8_t mode, uint8_t fill, uint8_t p1, uint8_t p2, std::string_view msg) {
      std::string s(1, static_cast<char>(mode));
      for (int i = 0; i < 32; ++i) s.push_back(static_cast<char>(fill + i));
      s.push_back(static_cast<char>(p1));
      s.push_back(static_cast<char>(p2));
      s.append(msg);
      return s;
    };
    std::string raw(1, '\0');
    for (int i = 0; i < 96; ++i) raw.push_back(static_cast<char>(i * 7));
    raw += "hello";
    WriteSeed(dir, "raw-garbage", raw);
    WriteSeed(dir, "honest", seeded(1, 0x10, 8, 0, "an honest message"));
    WriteSeed(dir, "flip-r", seeded(1, 0x20, 3, 0x40, "flip a bit of R"));
    WriteSeed(dir, "flip-s", seeded(1, 0x30, 40, 0x01, "flip a bit of s"));
    WriteSeed(dir, "flip-key", seeded(1, 0x40, 70, 0x10, "flip a bit of the key"));
    WriteSeed(dir, "s-plus-l", seeded(2, 0x50, 0, 0, "non-canonical s"));
    for (uint8_t k = 0; k < 5; ++k) {
      WriteSeed(dir, "torsion-" + std::to_string(k),
                seeded(3, static_cast<uint8_t>(0x60 + 16 * k), k, k, "torsion key"));
    }
    WriteSeed(dir, "torsion-signbit", seeded(3, 0xc0, 0x83, 1, "sign bit"));
  }

  std::printf("seeds written under %s\n", out.c_str());
  return 0;
}
