// Entry format v1 (docs/format.md): golden vectors, the strict decoder, and
// the encoder's rules and limits.
#include "format/entry_codec.h"

#include <gtest/gtest.h>

#include <msgpack.hpp>
#include <string>

#include "crypto/hash.h"
#include "plumlog/types.h"
#include "core/msgpack_reader.h"

namespace plumlog {
namespace {

std::string Hex(std::string_view s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    out.push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    out.push_back(kDigits[static_cast<uint8_t>(c) & 15]);
  }
  return out;
}

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string B(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

crypto::KeyPair GoldenKey() {
  std::array<uint8_t, 32> seed;
  for (size_t i = 0; i < seed.size(); ++i)
    seed[i] = static_cast<uint8_t>(i + 1);  // 0x01..0x20
  return crypto::KeyPair::FromSeed(seed);
}

// ---- golden vectors (docs/format.md, "Golden vectors") ----
//
// Key: Ed25519 seed 01 02 03 ... 20. Entry 1: seq 1, no previous, lamport 1,
// timestamp 1700000000000, content "hello" (msgpack str). Entry 2: seq 2,
// previous = id of entry 1, lamport 2, timestamp 1700000000001, content the
// map {"type": "post", "n": 42}. Ed25519 signatures are deterministic, so the
// bytes are fixed forever; the signatures and ids were also checked with
// OpenSSL's Ed25519 and Python's hashlib.blake2b.
constexpr std::string_view kGoldenAuthor =
    "@ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=.ed25519";
constexpr std::string_view kGolden1Hex =
    "97"  // array of 7
    "01"  // version 1
    "c420"
    "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"  // author
    "01"                                                                // seq 1
    "c0"                  // previous nil
    "01"                  // lamport 1
    "cf0000018bcfe56800"  // timestamp
    "a568656c6c6f"        // "hello"
    "c440"                // signature
    "a1cc7a8e43728ce238cefdda466ceb31fb94d20168943c0d8346ae985616b8c2"
    "9fb778929bfd7049677f871066f0d5789daf6e165e118b519ad6a53b7244e70e";
constexpr std::string_view kGolden1Id =
    "%JM9ah8Kc4rzZShpekUptor2PF09wHdHkMTVGcSzLUTk=.blake2b";
constexpr std::string_view kGolden2Hex =
    "97"
    "01"
    "c420"
    "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"
    "02"  // seq 2
    "c420"
    "24cf5a87c29ce2bcd94a1a5e914a6da2bd8f174f701dd1e4313546712ccb5139"  // previous
    "02"                            // lamport 2
    "cf0000018bcfe56801"            // timestamp
    "82a474797065a4706f7374a16e2a"  // {"type":"post","n":42}
    "c440"
    "7d9b94f9591a907ba703a527492fb71790c3e160973b1de0b8d616d2ed15f5fd"
    "4aaffa6a8db4e0fa90a67797be1854a2efa61b1e27ccb2cf84097886a9d61a0f";
constexpr std::string_view kGolden2Id =
    "%d8sNvtImF2hT46weo1M0aZ59qmwzKowPIH1RyDapvRI=.blake2b";

const std::string kMapContent = B({0x82, 0xa4, 't', 'y', 'p', 'e', 0xa4, 'p',
                                   'o', 's', 't', 0xa1, 'n', 0x2a});

Entry BuildGolden1() {
  crypto::KeyPair key = GoldenKey();
  const std::string content = TextContent("hello");
  EntryCodec::Fields f;
  f.author = key.public_key();
  f.seq = 1;
  f.lamport = 1;
  f.timestamp_ms = 1700000000000;
  f.content = content;
  Result<Entry> e = EntryCodec::Build(key, f);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return *e;
}

Entry BuildGolden2(const EntryId& previous) {
  crypto::KeyPair key = GoldenKey();
  EntryCodec::Fields f;
  f.author = key.public_key();
  f.seq = 2;
  f.previous = previous;
  f.lamport = 2;
  f.timestamp_ms = 1700000000001;
  f.content = kMapContent;
  Result<Entry> e = EntryCodec::Build(key, f);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return *e;
}

TEST(EntryGolden, AuthorId) {
  EXPECT_EQ(GoldenKey().public_key().ToString(), kGoldenAuthor);
}

TEST(EntryGolden, Entry1BytesAndId) {
  Entry e = BuildGolden1();
  EXPECT_EQ(Hex(e.encoded()), kGolden1Hex);
  EXPECT_EQ(e.id().ToString(), kGolden1Id);
  EXPECT_EQ(e.encoded().size(), 120u);
  EXPECT_EQ(e.signed_bytes().size(), 54u);
  // The id is BLAKE2b-256 of the signed bytes, which are the encoding minus the
  // 66-byte signature trailer.
  EXPECT_EQ(e.id(), EntryId(crypto::Blake2b256(e.encoded().substr(0, 54))));
  EXPECT_TRUE(e.VerifySignature());
  // The signature is Ed25519 over "plumlog-entry-v1\n" || signed bytes.
  crypto::Signature sig;
  std::copy(e.signature().begin(), e.signature().end(), sig.begin());
  EXPECT_EQ(sig, GoldenKey().Sign(
                     "", "plumlog-entry-v1\n" + std::string(e.signed_bytes())));
}

TEST(EntryGolden, Entry2BytesAndId) {
  Entry e1 = BuildGolden1();
  Entry e2 = BuildGolden2(e1.id());
  EXPECT_EQ(Hex(e2.encoded()), kGolden2Hex);
  EXPECT_EQ(e2.id().ToString(), kGolden2Id);
  EXPECT_EQ(e2.encoded().size(), 161u);
  EXPECT_TRUE(e2.VerifySignature());
}

TEST(EntryGolden, DecodeGivesTheFields) {
  Result<Entry> r1 = Entry::Decode(Unhex(kGolden1Hex));
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->format_version(), 1);
  EXPECT_EQ(r1->author().ToString(), kGoldenAuthor);
  EXPECT_EQ(r1->seq(), 1u);
  EXPECT_FALSE(r1->previous().has_value());
  EXPECT_EQ(r1->lamport(), 1u);
  EXPECT_EQ(r1->timestamp_ms(), 1700000000000u);
  EXPECT_EQ(r1->content(), TextContent("hello"));
  EXPECT_EQ(r1->id().ToString(), kGolden1Id);
  EXPECT_TRUE(r1->VerifySignature());
  EXPECT_EQ(*r1, BuildGolden1());

  Result<Entry> r2 = Entry::Decode(Unhex(kGolden2Hex));
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->seq(), 2u);
  ASSERT_TRUE(r2->previous().has_value());
  EXPECT_EQ(r2->previous()->ToString(), kGolden1Id);
  EXPECT_EQ(r2->lamport(), 2u);
  EXPECT_EQ(r2->timestamp_ms(), 1700000000001u);
  EXPECT_EQ(r2->content(), kMapContent);
  EXPECT_EQ(r2->id().ToString(), kGolden2Id);
  EXPECT_TRUE(r2->VerifySignature());
}

TEST(EntryGolden, MsgpackCReadsTheEntryAsSevenFieldsPlusSignature) {
  const std::string bytes = Unhex(kGolden2Hex);
  std::size_t off = 0;
  msgpack::object_handle fields =
      msgpack::unpack(bytes.data(), bytes.size(), off);
  EXPECT_EQ(off, 95u);
  const msgpack::object& a = fields.get();
  ASSERT_EQ(a.type, msgpack::type::ARRAY);
  ASSERT_EQ(a.via.array.size, 7u);
  EXPECT_EQ(a.via.array.ptr[0].as<uint64_t>(), 1u);
  EXPECT_EQ(a.via.array.ptr[1].type, msgpack::type::BIN);
  EXPECT_EQ(a.via.array.ptr[1].via.bin.size, 32u);
  EXPECT_EQ(a.via.array.ptr[2].as<uint64_t>(), 2u);
  EXPECT_EQ(a.via.array.ptr[3].via.bin.size, 32u);
  EXPECT_EQ(a.via.array.ptr[4].as<uint64_t>(), 2u);
  EXPECT_EQ(a.via.array.ptr[5].as<uint64_t>(), 1700000000001u);
  EXPECT_EQ(a.via.array.ptr[6].type, msgpack::type::MAP);
  msgpack::object_handle sig = msgpack::unpack(bytes.data(), bytes.size(), off);
  EXPECT_EQ(off, bytes.size());
  EXPECT_EQ(sig.get().type, msgpack::type::BIN);
  EXPECT_EQ(sig.get().via.bin.size, 64u);
}

TEST(EntryCodec, DecodeStoredTrustsTheGivenId) {
  const std::string bytes = Unhex(kGolden1Hex);
  EntryId other;
  other.mutable_bytes()[0] = 9;
  Result<Entry> e = EntryCodec::DecodeStored(bytes, other);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->id(), other);
  EXPECT_EQ(e->seq(), 1u);
  EXPECT_FALSE(EntryCodec::DecodeStored(bytes + "x", other).ok());
}

TEST(EntryCodec, BuildIsDeterministicAndVerifies) {
  Entry a = BuildGolden1();
  Entry b = BuildGolden1();
  EXPECT_EQ(a.encoded(), b.encoded());
  // The id does not depend on the signature: Assemble with a zero signature
  // keeps the id but fails verification.
  Result<std::string> sb = EntryCodec::EncodeSigned([&] {
    EntryCodec::Fields f;
    f.author = a.author();
    f.seq = 1;
    f.lamport = 1;
    f.timestamp_ms = 1700000000000;
    f.content = a.content();
    return f;
  }());
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ(*sb, a.signed_bytes());
  Entry unsigned_entry =
      EntryCodec::Assemble(*sb, crypto::Signature{}, EntryCodec::IdOf(*sb));
  EXPECT_EQ(unsigned_entry.id(), a.id());
  EXPECT_FALSE(unsigned_entry.VerifySignature());
  EXPECT_FALSE(EntryCodec::Verify(unsigned_entry));
}

// ---- decoder rejections ----

// Hand-assembled entries. The signature is 64 zero bytes: Decode checks
// structure only.
struct RawEntry {
  std::string header = B({0x97});
  std::string version = B({0x01});
  std::string author = B({0xc4, 0x20}) + std::string(32, 'A');
  std::string seq = B({0x01});
  std::string previous = B({0xc0});
  std::string lamport = B({0x01});
  std::string timestamp = B({0x05});
  std::string content = B({0xc0});
  std::string signature = B({0xc4, 0x40}) + std::string(64, '\0');
  std::string Bytes() const {
    return header + version + author + seq + previous + lamport + timestamp +
           content + signature;
  }
};

Status DecodeStatus(const RawEntry& r) {
  return Entry::Decode(r.Bytes()).status();
}

TEST(EntryDecode, HandBuiltBaselineDecodes) {
  RawEntry r;
  Result<Entry> e = Entry::Decode(r.Bytes());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->content(), B({0xc0}));
  EXPECT_FALSE(e->VerifySignature());
  RawEntry r2;
  r2.seq = B({0x02});
  r2.previous = B({0xc4, 0x20}) + std::string(32, 'P');
  r2.lamport = B({0xcd, 0x01, 0x00});
  EXPECT_TRUE(Entry::Decode(r2.Bytes()).ok());
}

void ExpectCorrupt(const RawEntry& r, std::string_view why,
                   std::string_view message_part = "") {
  Status st = DecodeStatus(r);
  EXPECT_EQ(st.code(), Status::Code::kCorruption)
      << why << ": " << st.ToString();
  if (!message_part.empty()) {
    EXPECT_NE(st.message().find(message_part), std::string::npos)
        << why << ": " << st.message();
  }
}

TEST(EntryDecode, RejectsTrailingBytes) {
  EXPECT_EQ(
      Entry::Decode(Unhex(kGolden1Hex) + std::string(1, '\0')).status().code(),
      Status::Code::kCorruption);
  RawEntry r;
  r.signature += B({0xc0});
  ExpectCorrupt(r, "trailing nil", "trailing");
}

TEST(EntryDecode, RejectsWrongFieldCount) {
  for (int h : {0x90, 0x96, 0x98, 0x9f}) {
    RawEntry r;
    r.header = B({h});
    ExpectCorrupt(r, "field count", "fields");
  }
  for (const std::string& h :
       {B({0xdc, 0x00, 0x07}), B({0xdd, 0x00, 0x00, 0x00, 0x07})}) {
    RawEntry r;  // array16/array32 spellings of 7
    r.header = h;
    ExpectCorrupt(r, "non-shortest field count", "shortest");
  }
  RawEntry r;
  r.header = B({0x87});  // a map, not an array
  ExpectCorrupt(r, "map header");
  r.header = "";
  ExpectCorrupt(r, "no header");
}

TEST(EntryDecode, RejectsOtherVersions) {
  for (const std::string& v : {B({0x00}), B({0x02}), B({0x7f}), B({0xcc, 0xff}),
                               B({0xff}), B({0xc0}), B({0xa1, '1'})}) {
    RawEntry r;
    r.version = v;
    ExpectCorrupt(r, "version " + Hex(v));
  }
  RawEntry r;
  r.version = B({0x02});
  ExpectCorrupt(r, "version 2", "unsupported format version 2");
}

TEST(EntryDecode, RejectsBadAuthor) {
  for (size_t n : {0, 1, 31, 33, 64}) {
    RawEntry r;
    r.author.clear();
    core::AppendMsgpackBin(&r.author, std::string(n, 'A'));
    ExpectCorrupt(r, "author of " + std::to_string(n) + " bytes",
                  "entry author");
  }
  RawEntry r;
  r.author = B({0xd9, 0x20}) + std::string(32, 'A');  // str, not bin
  ExpectCorrupt(r, "author as str");
  r.author = B({0xc5, 0x00, 0x20}) +
             std::string(32, 'A');  // bin16: not the shortest form
  ExpectCorrupt(r, "author as bin16");
}

TEST(EntryDecode, RejectsSequenceRules) {
  {
    RawEntry r;
    r.seq = B({0x00});
    ExpectCorrupt(r, "seq 0", "sequence");
  }
  {
    RawEntry r;  // seq 1 with a previous id
    r.previous = B({0xc4, 0x20}) + std::string(32, 'P');
    ExpectCorrupt(r, "seq 1 with previous", "previous");
  }
  {
    RawEntry r;  // seq 2 without one
    r.seq = B({0x02});
    ExpectCorrupt(r, "seq 2 without previous", "previous");
  }
  {
    RawEntry r;  // seq 2^63 is beyond the clock range
    r.seq = B({0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0});
    r.previous = B({0xc4, 0x20}) + std::string(32, 'P');
    ExpectCorrupt(r, "seq 2^63");
  }
  {
    RawEntry r;
    r.seq = B({0xff});  // -1
    ExpectCorrupt(r, "negative seq");
  }
}

TEST(EntryDecode, RejectsBadPrevious) {
  for (size_t n : {0, 31, 33}) {
    RawEntry r;
    r.seq = B({0x02});
    r.previous.clear();
    core::AppendMsgpackBin(&r.previous, std::string(n, 'P'));
    ExpectCorrupt(r, "previous of " + std::to_string(n), "entry previous");
  }
  RawEntry r;
  r.seq = B({0x02});
  r.previous = B({0xc2});  // false is not nil
  ExpectCorrupt(r, "previous false");
}

TEST(EntryDecode, RejectsLamportAndTimestampOutOfRange) {
  {
    RawEntry r;
    r.lamport = B({0x00});
    ExpectCorrupt(r, "lamport 0", "lamport");
  }
  {
    RawEntry r;
    r.lamport = B({0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0});
    ExpectCorrupt(r, "lamport 2^63", "lamport");
  }
  {
    RawEntry r;
    r.lamport = B({0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                   0xff});  // 2^63-1 is fine
    EXPECT_TRUE(DecodeStatus(r).ok());
  }
  {
    RawEntry r;
    r.timestamp = B({0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0});
    ExpectCorrupt(r, "timestamp 2^63", "timestamp");
  }
  {
    RawEntry r;
    r.timestamp = B({0x00});  // 0 is a valid (if odd) timestamp
    EXPECT_TRUE(DecodeStatus(r).ok());
  }
}

TEST(EntryDecode, RejectsNonShortestIntegers) {
  const std::pair<std::string RawEntry::*, std::string> cases[] = {
      {&RawEntry::version, B({0xcc, 0x01})},
      {&RawEntry::seq, B({0xcc, 0x01})},
      {&RawEntry::seq, B({0xcd, 0x00, 0x01})},
      {&RawEntry::lamport, B({0xce, 0x00, 0x00, 0x00, 0x01})},
      {&RawEntry::timestamp, B({0xcf, 0, 0, 0, 0, 0, 0, 0, 5})},
      {&RawEntry::timestamp, B({0xcd, 0x00, 0xff})},
  };
  for (const auto& [field, bytes] : cases) {
    RawEntry r;
    r.*field = bytes;
    ExpectCorrupt(r, "non-shortest " + Hex(bytes), "shortest");
  }
  // Signed-int encodings of the same numbers are wrong types.
  RawEntry r;
  r.lamport = B({0xd0, 0x01});
  ExpectCorrupt(r, "int8 lamport");
}

TEST(EntryDecode, RejectsBadContent) {
  {
    RawEntry r;  // 33 levels of nesting
    r.content = std::string(33, static_cast<char>(0x91)) + B({0xc0});
    ExpectCorrupt(r, "content too deep", "nested deeper than 32");
  }
  {
    RawEntry r;  // 32 levels is the maximum and fine
    r.content = std::string(32, static_cast<char>(0x91)) + B({0xc0});
    EXPECT_TRUE(DecodeStatus(r).ok()) << DecodeStatus(r).ToString();
  }
  {
    RawEntry r;
    r.content = B({0xc1});
    ExpectCorrupt(r, "0xc1 content");
  }
  {
    RawEntry r;  // no content: the signature is taken as content, then nothing
                 // follows
    r.content = "";
    ExpectCorrupt(r, "missing content");
  }
  {
    RawEntry
        r;  // an array that claims more than is there swallows the signature
    r.content = B({0xdd, 0xff, 0xff, 0xff, 0xff});
    ExpectCorrupt(r, "hostile count");
  }
}

TEST(EntryDecode, RejectsBadSignatureField) {
  const std::string bad[] = {
      "",
      B({0xc4, 0x3f}) + std::string(63, '\0'),
      B({0xc4, 0x41}) + std::string(65, '\0'),
      B({0xc4, 0x40}) + std::string(63, '\0'),
      B({0xd9, 0x40}) + std::string(64, '\0'),  // str8
      // bin16 / bin32 spellings of the same 64 bytes: only bin8 (c4 40) is the
      // signature trailer, so nobody can re-wrap a valid entry's signature.
      B({0xc5, 0x00, 0x40}) + std::string(64, '\0'),
      B({0xc6, 0x00, 0x00, 0x00, 0x40}) + std::string(64, '\0'),
  };
  for (const std::string& s : bad) {
    RawEntry r;
    r.signature = s;
    ExpectCorrupt(r, "signature " + Hex(s.substr(0, 3)));
  }
}

TEST(EntryDecode, RewrappedSignatureOfARealEntryIsRejected) {
  const std::string good = Unhex(kGolden1Hex);
  std::string rewrapped =
      good.substr(0, 54) + B({0xc5, 0x00, 0x40}) + good.substr(56);
  ASSERT_EQ(rewrapped.size(), 121u);
  EXPECT_EQ(Entry::Decode(rewrapped).status().code(),
            Status::Code::kCorruption);
}

TEST(EntryDecode, TruncatedAtEveryPrefix) {
  for (std::string_view hex : {kGolden1Hex, kGolden2Hex}) {
    const std::string bytes = Unhex(hex);
    for (size_t n = 0; n < bytes.size(); ++n) {
      Result<Entry> e = Entry::Decode(std::string_view(bytes).substr(0, n));
      EXPECT_FALSE(e.ok()) << "prefix " << n;
      if (!e.ok()) {
        EXPECT_EQ(e.status().code(), Status::Code::kCorruption) << n;
      }
    }
  }
}

TEST(EntryDecode, EveryFlippedBitIsRejectedOrFailsVerification) {
  const std::string bytes = Unhex(kGolden2Hex);
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string b = bytes;
    b[bit / 8] = static_cast<char>(b[bit / 8] ^ (1 << (bit % 8)));
    Result<Entry> e = Entry::Decode(b);
    if (e.ok()) {
      EXPECT_FALSE(e->VerifySignature()) << "bit " << bit;
    }
  }
}

TEST(EntryDecode, RejectsOverSizeInput) {
  const std::string big(kMaxEntryBytes + 1, '\0');
  EXPECT_EQ(Entry::Decode(big).status().code(), Status::Code::kTooLarge);
  std::string huge = Unhex(kGolden1Hex);
  huge.resize(kMaxEntryBytes + 100, '\0');
  EXPECT_EQ(Entry::Decode(huge).status().code(), Status::Code::kTooLarge);
}

TEST(EntryDecode, ArbitraryBytesNeverCrash) {
  // Every single byte and pair of bytes, plus a spread of lengths of noise.
  for (int a = 0; a < 256; ++a) {
    std::string one(1, static_cast<char>(a));
    EXPECT_FALSE(Entry::Decode(one).ok());
    for (int b = 0; b < 256; b += 17) {
      EXPECT_FALSE(Entry::Decode(one + static_cast<char>(b)).ok());
    }
  }
  uint32_t x = 2463534242u;
  for (size_t len = 0; len < 400; len += 7) {
    std::string noise = B({0x97, 0x01, 0xc4, 0x20});
    for (size_t i = 0; i < len; ++i) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      noise.push_back(static_cast<char>(x));
    }
    (void)Entry::Decode(noise);
  }
}

// ---- encoder rules and limits ----

EntryCodec::Fields BaseFields(std::string_view content) {
  EntryCodec::Fields f;
  f.author = GoldenKey().public_key();
  f.seq = 1;
  f.lamport = 1;
  f.timestamp_ms = 1700000000000;
  f.content = content;
  return f;
}

TEST(EntryEncode, ContentMustBeExactlyOneValue) {
  const std::string bad[] = {
      "",                   // nothing
      B({0x01, 0x02}),      // two values
      B({0xa5, 'h', 'i'}),  // truncated
      B({0x92, 0x01}),      // array missing an element
      B({0xc1}),            // never-used byte
      std::string(33, static_cast<char>(0x91)) + B({0xc0}),  // too deep
  };
  for (const std::string& c : bad) {
    Result<std::string> r = EntryCodec::EncodeSigned(BaseFields(c));
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << Hex(c);
    EXPECT_NE(r.status().message().find("exactly one msgpack value"),
              std::string::npos);
    EXPECT_EQ(EntryCodec::Build(GoldenKey(), BaseFields(c)).status().code(),
              Status::Code::kInvalidArgument);
  }
  for (const std::string& c :
       {B({0xc0}), B({0x90}), B({0x80}), TextContent(""),
        std::string(32, static_cast<char>(0x91)) + B({0xc0}),
        B({0xd6, 0xff, 0, 0, 0, 1})}) {
    EXPECT_TRUE(EntryCodec::EncodeSigned(BaseFields(c)).ok()) << Hex(c);
  }
}

TEST(EntryEncode, FieldRules) {
  const std::string c = TextContent("x");
  auto code = [&](auto mutate) {
    EntryCodec::Fields f = BaseFields(c);
    mutate(f);
    return EntryCodec::EncodeSigned(f).status().code();
  };
  EntryId prev;
  prev.mutable_bytes()[0] = 1;
  EXPECT_EQ(code([](auto& f) { f.seq = 0; }), Status::Code::kInvalidEntry);
  EXPECT_EQ(code([&](auto& f) { f.previous = prev; }),
            Status::Code::kInvalidEntry);
  EXPECT_EQ(code([](auto& f) { f.seq = 2; }), Status::Code::kInvalidEntry);
  EXPECT_EQ(code([](auto& f) { f.lamport = 0; }), Status::Code::kInvalidEntry);
  EXPECT_EQ(code([](auto& f) { f.lamport = kMaxClockValue + 1; }),
            Status::Code::kInvalidEntry);
  EXPECT_EQ(code([](auto& f) { f.timestamp_ms = kMaxClockValue + 1; }),
            Status::Code::kInvalidEntry);
  EXPECT_EQ(code([&](auto& f) {
              f.seq = kMaxClockValue + 1;
              f.previous = prev;
            }),
            Status::Code::kInvalidEntry);
  // The top of each range is fine.
  Result<std::string> ok = [&] {
    EntryCodec::Fields f = BaseFields(c);
    f.seq = kMaxClockValue;
    f.previous = prev;
    f.lamport = kMaxClockValue;
    f.timestamp_ms = kMaxClockValue;
    return EntryCodec::EncodeSigned(f);
  }();
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  Entry e =
      EntryCodec::Assemble(*ok, crypto::Signature{}, EntryCodec::IdOf(*ok));
  EXPECT_EQ(e.seq(), kMaxClockValue);
  EXPECT_EQ(e.lamport(), kMaxClockValue);
  ASSERT_TRUE(Entry::Decode(e.encoded()).ok());
}

// The golden-1 fields (seq 1, no previous, lamport 1, a timestamp above 2^32)
// take 48 bytes around the content plus the 66-byte signature trailer, so the
// largest content is 65536 - 114 = 65422 bytes: a bin16 of 65419 bytes.
constexpr size_t kMaxContentForBase = 65422;

std::string BinContent(size_t total) {
  // A bin16 value of `total` bytes including its 3-byte header.
  std::string c;
  core::AppendMsgpackBin(&c, std::string(total - 3, 'z'));
  EXPECT_EQ(c.size(), total);
  return c;
}

TEST(EntryEncode, SizeLimitBoundary) {
  const std::string fits = BinContent(kMaxContentForBase);
  Result<Entry> e = EntryCodec::Build(GoldenKey(), BaseFields(fits));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->encoded().size(), kMaxEntryBytes);
  Result<Entry> d = Entry::Decode(e->encoded());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->VerifySignature());
  EXPECT_EQ(d->content(), fits);

  const std::string over = BinContent(kMaxContentForBase + 1);
  Result<std::string> r = EntryCodec::EncodeSigned(BaseFields(over));
  EXPECT_EQ(r.status().code(), Status::Code::kTooLarge);
  EXPECT_NE(r.status().message().find("65537"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(EntryCodec::Build(GoldenKey(), BaseFields(over)).status().code(),
            Status::Code::kTooLarge);

  // A text content of the same total size behaves the same (str16 header is 3
  // bytes).
  EXPECT_TRUE(
      EntryCodec::EncodeSigned(BaseFields(TextContent(std::string(65419, 'a'))))
          .ok());
  EXPECT_EQ(
      EntryCodec::EncodeSigned(BaseFields(TextContent(std::string(65420, 'a'))))
          .status()
          .code(),
      Status::Code::kTooLarge);

  // Content alone over the limit is refused before it is even parsed.
  const std::string huge(kMaxEntryBytes + 1, '\0');
  EXPECT_EQ(EntryCodec::EncodeSigned(BaseFields(huge)).status().code(),
            Status::Code::kTooLarge);

  // One byte over the limit on the decode side.
  std::string too_big = e->encoded();
  too_big.insert(too_big.begin() + 60, 'z');
  EXPECT_EQ(Entry::Decode(too_big).status().code(), Status::Code::kTooLarge);
}

TEST(EntryEncode, TextContentIsAMsgpackString) {
  EXPECT_EQ(Hex(TextContent("hello")), "a568656c6c6f");
  EXPECT_EQ(Hex(TextContent("")), "a0");
  EXPECT_EQ(TextContent(std::string(40, 'x')).substr(0, 2), B({0xd9, 40}));
}

}  // namespace
}  // namespace plumlog
