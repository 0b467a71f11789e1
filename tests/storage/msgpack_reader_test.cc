// The strict msgpack reader and the Append* writers (core/msgpack_reader.h),
// cross-checked against msgpack-c.
#include "core/msgpack_reader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <msgpack.hpp>
#include <string>
#include <vector>

namespace plumlog::core {
namespace {

std::string B(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

std::string Hex(std::string_view s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    out.push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    out.push_back(kDigits[static_cast<uint8_t>(c) & 15]);
  }
  return out;
}

std::string Packed(uint64_t v) {
  std::string s;
  AppendMsgpackUint(&s, v);
  return s;
}

// ---- ReadUint ----

TEST(MsgpackReader, ReadUintShortestForms) {
  struct Case {
    uint64_t v;
    std::string bytes;
  } cases[] = {
      {0, B({0x00})},
      {1, B({0x01})},
      {127, B({0x7f})},
      {128, B({0xcc, 0x80})},
      {255, B({0xcc, 0xff})},
      {256, B({0xcd, 0x01, 0x00})},
      {65535, B({0xcd, 0xff, 0xff})},
      {65536, B({0xce, 0x00, 0x01, 0x00, 0x00})},
      {0xffffffffu, B({0xce, 0xff, 0xff, 0xff, 0xff})},
      {uint64_t{1} << 32, B({0xcf, 0, 0, 0, 1, 0, 0, 0, 0})},
      {std::numeric_limits<uint64_t>::max(),
       B({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Hex(Packed(c.v)), Hex(c.bytes)) << c.v;
    MsgpackReader r(c.bytes);
    uint64_t got = 12345;
    ASSERT_TRUE(r.ReadUint("n", &got).ok()) << c.v;
    EXPECT_EQ(got, c.v);
    EXPECT_TRUE(r.at_end());
    EXPECT_TRUE(r.ExpectEnd("n").ok());
  }
}

TEST(MsgpackReader, ReadUintRejectsNonShortestForms) {
  const std::string longer[] = {
      B({0xcc, 0x00}),
      B({0xcc, 0x7f}),
      B({0xcd, 0x00, 0xff}),
      B({0xcd, 0x00, 0x01}),
      B({0xce, 0x00, 0x00, 0xff, 0xff}),
      B({0xce, 0x00, 0x00, 0x00, 0x05}),
      B({0xcf, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff}),
      B({0xcf, 0, 0, 0, 0, 0, 0, 0, 1}),
  };
  for (const std::string& bytes : longer) {
    MsgpackReader r(bytes);
    uint64_t v = 99;
    Status st = r.ReadUint("seq", &v);
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << Hex(bytes);
    EXPECT_NE(st.message().find("shortest"), std::string::npos) << st.message();
    EXPECT_EQ(v, 99u);
    EXPECT_EQ(r.offset(), 0u);  // nothing consumed
  }
}

TEST(MsgpackReader, ReadUintRejectsOtherTypes) {
  const std::string others[] = {
      B({0xff}),        // negative fixint -1
      B({0xe0}),        // -32
      B({0xd0, 0x01}),  // int8 1: not an unsigned encoding
      B({0xd3, 0, 0, 0, 0, 0, 0, 0, 1}),
      B({0xca, 0, 0, 0, 0}),  // float32
      B({0xcb, 0, 0, 0, 0, 0, 0, 0, 0}),
      B({0xc0}),
      B({0xc2}),
      B({0xc3}),
      B({0xa1, 'x'}),
      B({0x90}),
      B({0x80}),
      B({0xc4, 0x00}),
      B({0xc1}),
  };
  for (const std::string& bytes : others) {
    MsgpackReader r(bytes);
    uint64_t v;
    Status st = r.ReadUint("seq", &v);
    EXPECT_FALSE(st.ok()) << Hex(bytes);
    EXPECT_EQ(r.offset(), 0u) << Hex(bytes);
  }
}

TEST(MsgpackReader, ReadUintTruncated) {
  const std::string cut[] = {"", B({0xcc}), B({0xcd, 0x01}), B({0xce, 1, 2, 3}),
                             B({0xcf, 1, 2, 3, 4, 5, 6, 7})};
  for (const std::string& bytes : cut) {
    MsgpackReader r(bytes);
    uint64_t v;
    Status st = r.ReadUint("seq", &v);
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << Hex(bytes);
    EXPECT_NE(st.message().find("truncated"), std::string::npos)
        << st.message();
  }
}

TEST(MsgpackReader, ErrorsNameTheFieldAndOffset) {
  const std::string bytes = B({0x01, 0x02, 0xc0});
  MsgpackReader r(bytes);
  uint64_t v;
  ASSERT_TRUE(r.ReadUint("a", &v).ok());
  ASSERT_TRUE(r.ReadUint("b", &v).ok());
  Status st = r.ReadUint("entry lamport", &v);
  EXPECT_EQ(st.message(),
            "entry lamport: expected an unsigned integer at byte 2");
}

// ---- ReadInt ----

TEST(MsgpackReader, ReadIntAllEncodings) {
  struct Case {
    std::string bytes;
    int64_t v;
  } cases[] = {
      {B({0x00}), 0},
      {B({0x7f}), 127},
      {B({0xff}), -1},
      {B({0xe0}), -32},
      {B({0xcc, 0xff}), 255},
      {B({0xcd, 0xff, 0xff}), 65535},
      {B({0xce, 0xff, 0xff, 0xff, 0xff}), 0xffffffffll},
      {B({0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
       std::numeric_limits<int64_t>::max()},
      {B({0xd0, 0x80}), -128},
      {B({0xd0, 0x01}), 1},  // non-shortest is fine for ReadInt
      {B({0xd1, 0x80, 0x00}), -32768},
      {B({0xd2, 0x80, 0x00, 0x00, 0x00}), std::numeric_limits<int32_t>::min()},
      {B({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}),
       std::numeric_limits<int64_t>::min()},
      {B({0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}), -2},
  };
  for (const Case& c : cases) {
    MsgpackReader r(c.bytes);
    int64_t got = 0;
    ASSERT_TRUE(r.ReadInt("i", &got).ok()) << Hex(c.bytes);
    EXPECT_EQ(got, c.v) << Hex(c.bytes);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(MsgpackReader, ReadIntRejects) {
  {
    const std::string big = B({0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0});  // 2^63
    MsgpackReader r(big);
    int64_t v;
    Status st = r.ReadInt("i", &v);
    EXPECT_NE(st.message().find("out of range"), std::string::npos)
        << st.ToString();
    EXPECT_EQ(r.offset(), 0u);
  }
  for (const std::string& bytes :
       {std::string(), B({0xc0}), B({0xca, 0, 0, 0, 0}), B({0xa0}), B({0xd0}),
        B({0xd1, 0}), B({0xd2, 0, 0, 0}), B({0xd3, 0, 0, 0, 0, 0, 0, 0}),
        B({0xcc}), B({0xcf, 0})}) {
    MsgpackReader r(bytes);
    int64_t v;
    EXPECT_FALSE(r.ReadInt("i", &v).ok()) << Hex(bytes);
  }
}

// ---- bin, str, bool, nil ----

TEST(MsgpackReader, ReadBinForms) {
  std::string bytes = B({0xc4, 0x03}) + "abc";
  bytes += B({0xc5, 0x00, 0x02}) + "de";
  bytes += B({0xc6, 0x00, 0x00, 0x00, 0x01}) + "f";
  bytes += B({0xc4, 0x00});
  MsgpackReader r(bytes);
  std::string_view v;
  ASSERT_TRUE(r.ReadBin("b", 100, &v).ok());
  EXPECT_EQ(v, "abc");
  ASSERT_TRUE(r.ReadBin("b", 100, &v).ok());
  EXPECT_EQ(v, "de");
  ASSERT_TRUE(r.ReadBin("b", 100, &v).ok());
  EXPECT_EQ(v, "f");
  ASSERT_TRUE(r.ReadBin("b", 0, &v).ok());
  EXPECT_EQ(v, "");
  EXPECT_TRUE(r.at_end());
}

TEST(MsgpackReader, ReadBinRejects) {
  std::string_view v;
  {
    const std::string s = B({0xc4, 0x03}) + "abc";
    MsgpackReader r(s);
    Status st = r.ReadBin("blob", 2, &v);
    EXPECT_NE(st.message().find("too long (3 > 2)"), std::string::npos)
        << st.message();
    EXPECT_EQ(r.offset(), 0u);
  }
  for (const std::string& bad :
       {std::string(), B({0xc4}), B({0xc5, 0x00}), B({0xc6, 0, 0, 0}),
        B({0xc4, 0x03, 'a', 'b'}), B({0xc6, 0xff, 0xff, 0xff, 0xff, 'a'}),
        B({0xa3, 'a', 'b', 'c'}), B({0xc0})}) {
    MsgpackReader r(bad);
    EXPECT_FALSE(r.ReadBin("blob", 1 << 20, &v).ok()) << Hex(bad);
  }
}

TEST(MsgpackReader, ReadBinExact) {
  std::string_view v;
  const std::string k32 = B({0xc4, 0x20}) + std::string(32, 'k');
  {
    MsgpackReader r(k32);
    ASSERT_TRUE(r.ReadBinExact("author", 32, &v).ok());
    EXPECT_EQ(v, std::string(32, 'k'));
  }
  // The same 32 bytes behind a bin16 or bin32 header: not the shortest form.
  for (const std::string& longer :
       {B({0xc5, 0x00, 0x20}) + std::string(32, 'k'),
        B({0xc6, 0, 0, 0, 0x20}) + std::string(32, 'k')}) {
    MsgpackReader r(longer);
    Status st = r.ReadBinExact("author", 32, &v);
    EXPECT_NE(st.message().find("shortest"), std::string::npos)
        << st.ToString();
    EXPECT_EQ(r.offset(), 0u);
    MsgpackReader r2(longer);
    EXPECT_TRUE(
        r2.ReadBin("any", 32, &v).ok());  // plain ReadBin takes any header
  }
  {
    // 256 bytes need bin16; that is its shortest form.
    std::string s;
    AppendMsgpackBin(&s, std::string(256, 'k'));
    MsgpackReader r(s);
    EXPECT_TRUE(r.ReadBinExact("big", 256, &v).ok());
  }
  for (size_t n : {0, 1, 31, 33, 64}) {
    std::string s;
    AppendMsgpackBin(&s, std::string(n, 'k'));
    MsgpackReader r(s);
    Status st = r.ReadBinExact("author", 32, &v);
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << n;
    EXPECT_EQ(r.offset(), 0u);
  }
}

TEST(MsgpackReader, ReadStrForms) {
  std::string bytes = B({0xa0});
  bytes += B({0xa5}) + "hello";
  bytes += B({0xd9, 0x02}) + "hi";
  bytes += B({0xda, 0x00, 0x01}) + "x";
  bytes += B({0xdb, 0x00, 0x00, 0x00, 0x01}) + "y";
  MsgpackReader r(bytes);
  std::string_view v;
  for (std::string_view expect : {"", "hello", "hi", "x", "y"}) {
    ASSERT_TRUE(r.ReadStr("s", 100, &v).ok()) << expect;
    EXPECT_EQ(v, expect);
  }
  EXPECT_TRUE(r.at_end());
  for (const std::string& bad :
       {std::string(), B({0xa5, 'a'}), B({0xd9}), B({0xda, 0}),
        B({0xdb, 0, 0, 0}), B({0xc4, 0x00}), B({0x01})}) {
    MsgpackReader r2(bad);
    EXPECT_FALSE(r2.ReadStr("s", 100, &v).ok()) << Hex(bad);
  }
  const std::string longstr = B({0xa5}) + "hello";
  MsgpackReader r3(longstr);
  EXPECT_FALSE(r3.ReadStr("s", 4, &v).ok());
  EXPECT_EQ(r3.offset(), 0u);
}

TEST(MsgpackReader, ReadBoolAndNil) {
  const std::string bytes = B({0xc3, 0xc2, 0xc0, 0x00});
  MsgpackReader r(bytes);
  bool b = false;
  ASSERT_TRUE(r.ReadBool("b", &b).ok());
  EXPECT_TRUE(b);
  ASSERT_TRUE(r.ReadBool("b", &b).ok());
  EXPECT_FALSE(b);
  EXPECT_FALSE(r.ReadBool("b", &b).ok());  // nil is not a bool
  EXPECT_EQ(r.offset(), 2u);
  EXPECT_TRUE(r.TryReadNil());
  EXPECT_FALSE(r.TryReadNil());  // 0x00 is not nil
  EXPECT_EQ(r.offset(), 3u);
  EXPECT_FALSE(r.ExpectEnd("x").ok());
  uint64_t v;
  ASSERT_TRUE(r.ReadUint("u", &v).ok());
  EXPECT_FALSE(r.TryReadNil());  // at the end
  EXPECT_FALSE(r.ReadBool("b", &b).ok());
  EXPECT_TRUE(r.ExpectEnd("x").ok());
}

// ---- array and map headers ----

TEST(MsgpackReader, ArrayAndMapHeaders) {
  struct Case {
    std::string bytes;
    bool array;
    uint32_t n;
  } cases[] = {
      {B({0x90}), true, 0},
      {B({0x9f}), true, 15},
      {B({0xdc, 0x01, 0x00}), true, 256},
      {B({0xdd, 0x00, 0x01, 0x00, 0x00}), true, 65536},
      {B({0x80}), false, 0},
      {B({0x8f}), false, 15},
      {B({0xde, 0x00, 0x10}), false, 16},
      {B({0xdf, 0xff, 0xff, 0xff, 0xff}), false, 0xffffffffu},
  };
  for (const Case& c : cases) {
    MsgpackReader r(c.bytes);
    uint32_t n = 7;
    Status st = c.array ? r.ReadArrayHeader("a", &n) : r.ReadMapHeader("m", &n);
    ASSERT_TRUE(st.ok()) << Hex(c.bytes) << st.ToString();
    EXPECT_EQ(n, c.n);
    EXPECT_TRUE(r.at_end());
    // The other kind of header is refused without consuming anything.
    MsgpackReader r2(c.bytes);
    st = c.array ? r2.ReadMapHeader("m", &n) : r2.ReadArrayHeader("a", &n);
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(r2.offset(), 0u);
  }
  for (const std::string& bad :
       {std::string(), B({0xdc}), B({0xdc, 0}), B({0xdd, 0, 0, 0}),
        B({0xde, 0}), B({0xdf, 0, 0}), B({0xc0}), B({0x01})}) {
    // Truncated headers of either kind, and scalars, are refused by both.
    uint32_t n;
    MsgpackReader ra(bad);
    EXPECT_FALSE(ra.ReadArrayHeader("a", &n).ok()) << Hex(bad);
    MsgpackReader rm(bad);
    EXPECT_FALSE(rm.ReadMapHeader("m", &n).ok()) << Hex(bad);
  }
}

// ---- SkipValue ----

// One example of every msgpack type, concatenated in an array.
std::string EveryType() {
  std::string s;
  std::vector<std::string> values = {
      B({0x05}),
      B({0xe5}),
      B({0xc0}),
      B({0xc2}),
      B({0xc3}),
      B({0xcc, 0xff}),
      B({0xcd, 1, 2}),
      B({0xce, 1, 2, 3, 4}),
      B({0xcf, 1, 2, 3, 4, 5, 6, 7, 8}),
      B({0xd0, 0x80}),
      B({0xd1, 1, 2}),
      B({0xd2, 1, 2, 3, 4}),
      B({0xd3, 1, 2, 3, 4, 5, 6, 7, 8}),
      B({0xca, 0x3f, 0x80, 0, 0}),
      B({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}),
      B({0xa3, 'a', 'b', 'c'}),
      B({0xd9, 1, 'a'}),
      B({0xda, 0, 1, 'a'}),
      B({0xdb, 0, 0, 0, 1, 'a'}),
      B({0xc4, 1, 'a'}),
      B({0xc5, 0, 1, 'a'}),
      B({0xc6, 0, 0, 0, 1, 'a'}),
      B({0xd4, 0x01, 0xaa}),                    // fixext1
      B({0xd5, 0x01, 0xaa, 0xbb}),              // fixext2
      B({0xd6, 0xff, 1, 2, 3, 4}),              // fixext4 (timestamp32)
      B({0xd7, 0x02, 1, 2, 3, 4, 5, 6, 7, 8}),  // fixext8
      B({0xd8, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
         16}),                                  // fixext16
      B({0xc7, 0x02, 0x05, 'x', 'y'}),          // ext8: len, type, data
      B({0xc8, 0x00, 0x01, 0x05, 'x'}),         // ext16
      B({0xc9, 0x00, 0x00, 0x00, 0x00, 0x05}),  // ext32, empty
      B({0x92, 0x01, 0x02}),
      B({0xdc, 0, 1, 0x01}),
      B({0xdd, 0, 0, 0, 1, 0x01}),
      B({0x81, 0x01, 0x02}),
      B({0xde, 0, 1, 0xa1, 'k', 0xc0}),
      B({0xdf, 0, 0, 0, 1, 0x01, 0x90}),
      B({0x90}),
      B({0x80}),
  };
  AppendMsgpackArrayHeader(&s, static_cast<uint32_t>(values.size()));
  for (const auto& v : values) s += v;
  return s;
}

TEST(MsgpackReader, SkipValueEveryType) {
  const std::string all = EveryType();
  MsgpackReader r(all);
  ASSERT_TRUE(r.SkipValue("content", 32).ok())
      << r.SkipValue("content", 32).ToString();
  EXPECT_TRUE(r.at_end());
  // msgpack-c agrees that it is one complete value.
  std::size_t off = 0;
  msgpack::object_handle oh = msgpack::unpack(all.data(), all.size(), off);
  EXPECT_EQ(off, all.size());
  EXPECT_EQ(oh.get().type, msgpack::type::ARRAY);
}

TEST(MsgpackReader, SkipValueTruncatedAtEveryPrefix) {
  const std::string all = EveryType();
  for (size_t n = 0; n < all.size(); ++n) {
    MsgpackReader r(std::string_view(all).substr(0, n));
    Status st = r.SkipValue("content", 32);
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << "prefix " << n;
  }
}

TEST(MsgpackReader, SkipValueStopsAfterOneValue) {
  const std::string two = B({0x01, 0x02});
  MsgpackReader r(two);
  ASSERT_TRUE(r.SkipValue("v", 4).ok());
  EXPECT_EQ(r.offset(), 1u);
  Status st = r.ExpectEnd("content");
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("1 trailing bytes"), std::string::npos)
      << st.message();
}

std::string Nested(int depth, bool maps) {
  std::string s;
  for (int i = 0; i < depth; ++i) {
    if (maps) {
      s += B({0x81, 0x01});  // {1: ...}
    } else {
      s += B({0x91});
    }
  }
  s += B({0xc0});
  return s;
}

TEST(MsgpackReader, SkipValueDepthLimit) {
  for (bool maps : {false, true}) {
    {
      const std::string ok = Nested(32, maps);
      MsgpackReader r(ok);
      EXPECT_TRUE(r.SkipValue("content", 32).ok()) << maps;
      EXPECT_TRUE(r.at_end());
    }
    {
      const std::string deep = Nested(33, maps);
      MsgpackReader r(deep);
      Status st = r.SkipValue("content", 32);
      EXPECT_EQ(st.code(), Status::Code::kCorruption);
      EXPECT_NE(st.message().find("nested deeper than 32"), std::string::npos)
          << st.message();
    }
  }
  // The innermost empty array counts as a level too.
  std::string empty_inner(32, static_cast<char>(0x91));
  empty_inner.push_back(static_cast<char>(0x90));
  MsgpackReader r(empty_inner);
  EXPECT_FALSE(r.SkipValue("content", 32).ok());
  MsgpackReader r2(std::string_view(empty_inner).substr(1));
  EXPECT_TRUE(r2.SkipValue("content", 32).ok());
  // Siblings do not add depth: [[[...]], [[...]]] at depth 32 each.
  std::string siblings = B({0x92}) + Nested(31, false) + Nested(31, false);
  MsgpackReader r3(siblings);
  EXPECT_TRUE(r3.SkipValue("content", 32).ok());
  EXPECT_TRUE(r3.at_end());
  // A scalar needs no depth at all.
  const std::string one = B({0x01});
  MsgpackReader r4(one);
  EXPECT_TRUE(r4.SkipValue("content", 0).ok());
  const std::string arr = B({0x90});
  MsgpackReader r5(arr);
  EXPECT_FALSE(r5.SkipValue("content", 0).ok());
}

TEST(MsgpackReader, SkipValueDeepHostileNestingIsRejectedQuickly) {
  const std::string deep(1 << 20,
                         static_cast<char>(0x91));  // a million open arrays
  MsgpackReader r(deep);
  EXPECT_FALSE(r.SkipValue("content", 32).ok());
  EXPECT_LE(r.offset(), 40u);
}

TEST(MsgpackReader, SkipValueHostileCountsRejectedFast) {
  const std::string hostile[] = {
      // array32 claiming 2^32-1 elements in 10 bytes.
      B({0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x01, 0x01, 0x01}),
      B({0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x01, 0x01, 0x01}),  // map32
      B({0xdc, 0xff, 0xff, 0x01}),                   // array16
      B({0xde, 0xff, 0xff, 0x01}),                   // map16
      B({0x9f, 0x01}),                               // fixarray 15
      B({0x82, 0x01, 0x01, 0x01}),                   // fixmap 2 in 3 bytes
      B({0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}),        // str32
      B({0xc6, 0xff, 0xff, 0xff, 0xff, 'a'}),        // bin32
      B({0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 'a'}),  // ext32
      B({0xc9, 0xff, 0xff, 0xff, 0xff}),             // ext32 without type
  };
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& bytes : hostile) {
    MsgpackReader r(bytes);
    Status st = r.SkipValue("content", 32);
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << Hex(bytes);
  }
  // Nested hostile counts, 32 levels of array32 each claiming 2^32-1.
  std::string nested;
  for (int i = 0; i < 32; ++i) nested += B({0xdd, 0xff, 0xff, 0xff, 0xff});
  MsgpackReader r(nested);
  EXPECT_FALSE(r.SkipValue("content", 32).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(200));
}

TEST(MsgpackReader, SkipValueRejectsNeverUsedByte) {
  for (const std::string& bytes :
       {B({0xc1}), B({0x91, 0xc1}), B({0x81, 0x01, 0xc1})}) {
    MsgpackReader r(bytes);
    Status st = r.SkipValue("content", 32);
    EXPECT_EQ(st.code(), Status::Code::kCorruption);
    EXPECT_NE(st.message().find("invalid msgpack byte"), std::string::npos)
        << st.message();
  }
}

TEST(MsgpackReader, SkipValueAcceptsEveryValidLeadingByte) {
  // Every leading byte except 0xc1 starts a valid value once followed by enough
  // zero bytes (zero lengths and counts; fixmap 15 needs 30 children).
  for (int b = 0; b < 256; ++b) {
    std::string bytes(1, static_cast<char>(b));
    bytes += std::string(40, '\0');
    MsgpackReader r(bytes);
    Status st = r.SkipValue("v", 32);
    if (b == 0xc1) {
      EXPECT_FALSE(st.ok());
      continue;
    }
    EXPECT_TRUE(st.ok()) << std::hex << b << " " << st.ToString();
    // msgpack-c consumes the same number of bytes.
    std::size_t off = 0;
    msgpack::object_handle oh =
        msgpack::unpack(bytes.data(), bytes.size(), off);
    EXPECT_EQ(off, r.offset()) << std::hex << b;
  }
}

// ---- writers ----

TEST(MsgpackWriters, StrBoundaries) {
  struct Case {
    size_t n;
    size_t header;
    uint8_t lead;
  } cases[] = {{0, 1, 0xa0},    {31, 1, 0xbf},  {32, 2, 0xd9},
               {255, 2, 0xd9},  {256, 3, 0xda}, {65535, 3, 0xda},
               {65536, 5, 0xdb}};
  for (const Case& c : cases) {
    std::string s;
    AppendMsgpackStr(&s, std::string(c.n, 'z'));
    ASSERT_EQ(s.size(), c.header + c.n) << c.n;
    EXPECT_EQ(static_cast<uint8_t>(s[0]), c.lead) << c.n;
    MsgpackReader r(s);
    std::string_view v;
    ASSERT_TRUE(r.ReadStr("s", 1 << 20, &v).ok());
    EXPECT_EQ(v.size(), c.n);
    EXPECT_TRUE(r.at_end());
    msgpack::object_handle oh = msgpack::unpack(s.data(), s.size());
    ASSERT_EQ(oh.get().type, msgpack::type::STR);
    EXPECT_EQ(oh.get().as<std::string>(), std::string(c.n, 'z'));
  }
}

TEST(MsgpackWriters, BinBoundaries) {
  struct Case {
    size_t n;
    size_t header;
    uint8_t lead;
  } cases[] = {{0, 2, 0xc4},
               {255, 2, 0xc4},
               {256, 3, 0xc5},
               {65535, 3, 0xc5},
               {65536, 5, 0xc6}};
  for (const Case& c : cases) {
    std::string s;
    AppendMsgpackBin(&s, std::string(c.n, '\x01'));
    ASSERT_EQ(s.size(), c.header + c.n) << c.n;
    EXPECT_EQ(static_cast<uint8_t>(s[0]), c.lead) << c.n;
    MsgpackReader r(s);
    std::string_view v;
    ASSERT_TRUE(r.ReadBin("b", 1 << 20, &v).ok());
    EXPECT_EQ(v, std::string(c.n, '\x01'));
    msgpack::object_handle oh = msgpack::unpack(s.data(), s.size());
    ASSERT_EQ(oh.get().type, msgpack::type::BIN);
    EXPECT_EQ(oh.get().via.bin.size, c.n);
  }
}

TEST(MsgpackWriters, ArrayAndMapBoundaries) {
  for (uint32_t n : {0u, 15u, 16u, 65535u, 65536u}) {
    std::string a, m;
    AppendMsgpackArrayHeader(&a, n);
    AppendMsgpackMapHeader(&m, n);
    const size_t header = n <= 15 ? 1 : n <= 65535 ? 3 : 5;
    EXPECT_EQ(a.size(), header);
    EXPECT_EQ(m.size(), header);
    uint32_t got;
    MsgpackReader ra(a);
    ASSERT_TRUE(ra.ReadArrayHeader("a", &got).ok());
    EXPECT_EQ(got, n);
    MsgpackReader rm(m);
    ASSERT_TRUE(rm.ReadMapHeader("m", &got).ok());
    EXPECT_EQ(got, n);
    // Complete them with nils and let msgpack-c count.
    a += std::string(n, static_cast<char>(0xc0));
    m += std::string(2 * size_t{n}, static_cast<char>(0xc0));
    msgpack::object_handle oa = msgpack::unpack(a.data(), a.size());
    ASSERT_EQ(oa.get().type, msgpack::type::ARRAY);
    EXPECT_EQ(oa.get().via.array.size, n);
    msgpack::object_handle om = msgpack::unpack(m.data(), m.size());
    ASSERT_EQ(om.get().type, msgpack::type::MAP);
    EXPECT_EQ(om.get().via.map.size, n);
    MsgpackReader rs(a);
    EXPECT_TRUE(rs.SkipValue("a", 1).ok());
    EXPECT_TRUE(rs.at_end());
  }
}

TEST(MsgpackWriters, UintNilBoolAgreeWithMsgpackC) {
  const uint64_t values[] = {
      0,           1,          127,
      128,         255,        256,
      65535,       65536,      0xffffffff,
      0x100000000, 1ull << 62, std::numeric_limits<uint64_t>::max()};
  for (uint64_t v : values) {
    const std::string ours = Packed(v);
    msgpack::object_handle oh = msgpack::unpack(ours.data(), ours.size());
    ASSERT_EQ(oh.get().type, msgpack::type::POSITIVE_INTEGER) << v;
    EXPECT_EQ(oh.get().as<uint64_t>(), v);
    // msgpack-c also writes the shortest form: byte-identical.
    msgpack::sbuffer sb;
    msgpack::pack(sb, v);
    EXPECT_EQ(Hex(std::string(sb.data(), sb.size())), Hex(ours)) << v;
  }
  std::string s;
  AppendMsgpackNil(&s);
  AppendMsgpackBool(&s, true);
  AppendMsgpackBool(&s, false);
  EXPECT_EQ(Hex(s), "c0c3c2");
  std::size_t off = 0;
  EXPECT_TRUE(msgpack::unpack(s.data(), s.size(), off).get().is_nil());
  EXPECT_EQ(msgpack::unpack(s.data(), s.size(), off).get().as<bool>(), true);
  EXPECT_EQ(msgpack::unpack(s.data(), s.size(), off).get().as<bool>(), false);
}

TEST(MsgpackWriters, ReaderAcceptsWhatMsgpackCWrites) {
  msgpack::sbuffer sb;
  msgpack::packer<msgpack::sbuffer> pk(&sb);
  pk.pack_array(4);
  pk.pack(uint64_t{300});
  pk.pack(std::string(40, 's'));
  pk.pack_bin(3);
  pk.pack_bin_body("xyz", 3);
  pk.pack_map(1);
  pk.pack(std::string("k"));
  pk.pack_int64(-5);
  MsgpackReader r(std::string_view(sb.data(), sb.size()));
  uint32_t n;
  ASSERT_TRUE(r.ReadArrayHeader("a", &n).ok());
  EXPECT_EQ(n, 4u);
  uint64_t u;
  ASSERT_TRUE(r.ReadUint("u", &u).ok());
  EXPECT_EQ(u, 300u);
  std::string_view sv;
  ASSERT_TRUE(r.ReadStr("s", 100, &sv).ok());
  EXPECT_EQ(sv, std::string(40, 's'));
  ASSERT_TRUE(r.ReadBin("b", 100, &sv).ok());
  EXPECT_EQ(sv, "xyz");
  ASSERT_TRUE(r.ReadMapHeader("m", &n).ok());
  EXPECT_EQ(n, 1u);
  ASSERT_TRUE(r.ReadStr("k", 10, &sv).ok());
  int64_t i;
  ASSERT_TRUE(r.ReadInt("i", &i).ok());
  EXPECT_EQ(i, -5);
  EXPECT_TRUE(r.ExpectEnd("all").ok());
}

}  // namespace
}  // namespace plumlog::core
