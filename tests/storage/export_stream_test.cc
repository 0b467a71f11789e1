// The export stream (storage/export_stream.h, docs/format.md).
#include "storage/export_stream.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "format/entry_codec.h"
#include "storage/keys.h"

namespace plumlog::storage {
namespace {

std::vector<Entry> Chain(int n, size_t content_size = 10) {
  std::array<uint8_t, 32> seed{};
  seed[0] = 0x42;
  crypto::KeyPair key = crypto::KeyPair::FromSeed(seed);
  std::vector<Entry> out;
  for (int i = 1; i <= n; ++i) {
    const std::string content =
        TextContent(std::string(content_size, static_cast<char>('a' + i % 26)));
    EntryCodec::Fields f;
    f.author = key.public_key();
    f.seq = static_cast<uint64_t>(i);
    if (i > 1) f.previous = out.back().id();
    f.lamport = static_cast<uint64_t>(i);
    f.timestamp_ms = 1000 + static_cast<uint64_t>(i);
    f.content = content;
    Result<Entry> e = EntryCodec::Build(key, f);
    EXPECT_TRUE(e.ok());
    out.push_back(*e);
  }
  return out;
}

std::string Export(const std::vector<Entry>& entries) {
  std::ostringstream out;
  ExportWriter w(&out);
  for (const Entry& e : entries) EXPECT_TRUE(w.Write(e).ok());
  EXPECT_TRUE(w.Finish().ok());
  EXPECT_EQ(w.count(), entries.size());
  return out.str();
}

// Reads the whole stream; returns the first error, or OK with *entries filled.
Status ReadAll(const std::string& bytes, std::vector<Entry>* entries) {
  std::istringstream in(bytes);
  ExportReader r(&in);
  for (int guard = 0; guard < 100000; ++guard) {
    Entry e;
    bool done = false;
    PLUMLOG_RETURN_IF_ERROR(r.Next(&e, &done));
    if (done) return Status::OK();
    entries->push_back(std::move(e));
  }
  return Status::Aborted("reader never finished");
}

std::string U32(uint32_t v) {
  std::string s;
  for (int i = 3; i >= 0; --i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

std::string WithDigest(std::string body) {
  auto d = crypto::Blake2b256(body);
  body.append(reinterpret_cast<const char*>(d.data()), d.size());
  return body;
}

TEST(ExportStream, RoundTrip) {
  const std::vector<Entry> entries = Chain(20);
  const std::string bytes = Export(entries);
  ASSERT_TRUE(bytes.starts_with("PLUMLOG-EXPORT/1\n"));
  std::vector<Entry> got;
  Status st = ReadAll(bytes, &got);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(got.size(), entries.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], entries[i]);
    EXPECT_EQ(got[i].id(), entries[i].id());
  }
}

TEST(ExportStream, Layout) {
  const std::vector<Entry> entries = Chain(2);
  const std::string bytes = Export(entries);
  size_t pos = 17;
  for (const Entry& e : entries) {
    EXPECT_EQ(bytes.substr(pos, 4),
              U32(static_cast<uint32_t>(e.encoded().size())));
    EXPECT_EQ(bytes.substr(pos + 4, e.encoded().size()), e.encoded());
    pos += 4 + e.encoded().size();
  }
  std::string end = U32(0);
  PutU64BE(&end, 2);
  EXPECT_EQ(bytes.substr(pos, 12), end);
  EXPECT_EQ(bytes.size(), pos + 12 + 32);
  EXPECT_EQ(bytes, WithDigest(bytes.substr(0, pos + 12)));
}

TEST(ExportStream, EmptyExport) {
  std::ostringstream out;
  ExportWriter w(&out);
  ASSERT_TRUE(w.Finish().ok());
  const std::string bytes = out.str();
  std::string body = "PLUMLOG-EXPORT/1\n" + U32(0);
  PutU64BE(&body, 0);
  EXPECT_EQ(bytes, WithDigest(body));
  EXPECT_EQ(bytes.size(), 61u);
  std::istringstream in(bytes);
  ExportReader r(&in);
  Entry e;
  bool done = false;
  ASSERT_TRUE(r.Next(&e, &done).ok());
  EXPECT_TRUE(done);
  EXPECT_EQ(r.count(), 0u);
  // Asking again keeps answering done.
  done = false;
  ASSERT_TRUE(r.Next(&e, &done).ok());
  EXPECT_TRUE(done);
}

TEST(ExportStream, TruncatedAtEveryLength) {
  const std::string bytes = Export(Chain(3));
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<Entry> got;
    Status st = ReadAll(bytes.substr(0, n), &got);
    EXPECT_EQ(st.code(), Status::Code::kCorruption)
        << "length " << n << ": " << st.ToString();
  }
}

TEST(ExportStream, FlippedByteAnywhereIsCaught) {
  const std::string bytes = Export(Chain(3));
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] = static_cast<char>(b[i] ^ 0x01);
    std::vector<Entry> got;
    Status st = ReadAll(b, &got);
    EXPECT_FALSE(st.ok()) << "byte " << i;
  }
}

TEST(ExportStream, FlippedContentByteIsADigestMismatch) {
  const std::vector<Entry> entries = Chain(2);
  std::string bytes = Export(entries);
  // The last content byte of entry 1 is a letter inside a msgpack str: the
  // entry still decodes, so only the digest can notice.
  const size_t pos = 17 + 4 + entries[0].signed_bytes().size() - 1;
  bytes[pos] = static_cast<char>(bytes[pos] ^ 0x02);
  std::vector<Entry> got;
  Status st = ReadAll(bytes, &got);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("digest mismatch"), std::string::npos)
      << st.ToString();
  EXPECT_EQ(got.size(),
            2u);  // entries come out before the end record is checked
  EXPECT_FALSE(got[0].VerifySignature());
}

TEST(ExportStream, BadHeader) {
  std::string bytes = Export(Chain(1));
  bytes[0] = 'X';
  std::vector<Entry> got;
  Status st = ReadAll(bytes, &got);
  EXPECT_NE(st.message().find("bad header"), std::string::npos)
      << st.ToString();
  EXPECT_EQ(ReadAll("", &got).code(), Status::Code::kCorruption);
}

TEST(ExportStream, RecordLengthOverLimit) {
  for (uint32_t len :
       {static_cast<uint32_t>(kMaxEntryBytes + 1), 0xffffffffu}) {
    std::string bytes =
        "PLUMLOG-EXPORT/1\n" + U32(len) + std::string(100, '\0');
    std::vector<Entry> got;
    Status st = ReadAll(bytes, &got);
    EXPECT_EQ(st.code(), Status::Code::kCorruption);
    EXPECT_NE(st.message().find("claims"), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find("byte 17"), std::string::npos) << st.ToString();
  }
}

TEST(ExportStream, RecordThatIsNotAnEntry) {
  std::string body = "PLUMLOG-EXPORT/1\n" + U32(3) + "abc" + U32(0);
  PutU64BE(&body, 1);
  std::vector<Entry> got;
  Status st = ReadAll(WithDigest(body), &got);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("export stream entry 1"), std::string::npos)
      << st.ToString();
}

TEST(ExportStream, TrailingGarbage) {
  for (const std::string& extra : {std::string(1, '\0'), std::string("more")}) {
    std::vector<Entry> got;
    Status st = ReadAll(Export(Chain(2)) + extra, &got);
    EXPECT_EQ(st.code(), Status::Code::kCorruption);
    EXPECT_NE(st.message().find("after the end"), std::string::npos)
        << st.ToString();
  }
}

TEST(ExportStream, CountMismatch) {
  const std::vector<Entry> entries = Chain(2);
  std::string body = "PLUMLOG-EXPORT/1\n";
  for (const Entry& e : entries)
    body += U32(static_cast<uint32_t>(e.encoded().size())) + e.encoded();
  body += U32(0);
  PutU64BE(&body, 3);  // says 3, holds 2; the digest is right
  std::vector<Entry> got;
  Status st = ReadAll(WithDigest(body), &got);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("says 3 entries but holds 2"), std::string::npos)
      << st.ToString();
}

TEST(ExportStream, LargestEntryFits) {
  // An entry of exactly kMaxEntryBytes passes through.
  std::array<uint8_t, 32> seed{};
  crypto::KeyPair key = crypto::KeyPair::FromSeed(seed);
  std::string content;
  const size_t fixed =
      1 + 1 + 34 + 1 + 1 + 1 + 1 + EntryCodec::kSignatureTrailer;
  content.push_back(static_cast<char>(0xc5));
  const size_t payload = kMaxEntryBytes - fixed - 3;
  content.push_back(static_cast<char>(payload >> 8));
  content.push_back(static_cast<char>(payload & 0xff));
  content.append(payload, 'q');
  EntryCodec::Fields f;
  f.author = key.public_key();
  f.seq = 1;
  f.lamport = 1;
  f.timestamp_ms = 5;
  f.content = content;
  Result<Entry> e = EntryCodec::Build(key, f);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_EQ(e->encoded().size(), kMaxEntryBytes);
  std::vector<Entry> got;
  ASSERT_TRUE(ReadAll(Export({*e}), &got).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], *e);
}

TEST(ExportStream, EmptyEntryIsRefused) {
  std::ostringstream out;
  ExportWriter w(&out);
  EXPECT_EQ(w.Write(Entry()).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(w.count(), 0u);
  EXPECT_TRUE(out.str().empty());
  ASSERT_TRUE(w.Write(Chain(1)[0]).ok());
  ASSERT_TRUE(w.Finish().ok());
  std::vector<Entry> got;
  ASSERT_TRUE(ReadAll(out.str(), &got).ok());
  EXPECT_EQ(got.size(), 1u);
}

TEST(ExportStream, WriteToFailedStreamIsIOError) {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  ExportWriter w(&out);
  EXPECT_EQ(w.Write(Chain(1)[0]).code(), Status::Code::kIOError);
  EXPECT_EQ(w.Finish().code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace plumlog::storage
