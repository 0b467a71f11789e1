// Fuzz target: MsgpackReader, the strict msgpack reader under every decoder of
// outside input.
//
// Input layout:
//   byte 0        max_depth for the whole-buffer SkipValue: (byte % 42) - 1
//   byte 1        number of typed reads k (low 4 bits)
//   k bytes       one op byte per typed read: kind = op % 11, param = op / 11
//   the rest      msgpack bytes
//
// Checks:
//  - SkipValue agrees with an independent recursive reference skipper written
//    from the msgpack spec (accept/reject and, on success, the end offset);
//  - a sequence of typed reads never reads out of bounds, never moves
//    backwards, and returns values that match the bytes consumed (ReadUint
//    only accepts the shortest encoding, i.e. what AppendMsgpackUint writes);
//  - the Append* writers round-trip through the reader.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "core/msgpack_reader.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using plumlog::core::MsgpackReader;

// ---- reference implementation, straight from the msgpack spec ----

class RefReader {
 public:
  explicit RefReader(std::string_view data) : data_(data) {}
  size_t pos() const { return pos_; }

  bool Byte(uint8_t* b) {
    if (pos_ >= data_.size()) return false;
    *b = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool BigEndian(int bytes, uint64_t* v) {
    *v = 0;
    for (int i = 0; i < bytes; ++i) {
      uint8_t b;
      if (!Byte(&b)) return false;
      *v = (*v << 8) | b;
    }
    return true;
  }
  bool Skip(uint64_t n) {
    if (n > data_.size() - pos_) return false;
    pos_ += n;
    return true;
  }

  // One value; `open` containers enclose it. A container may open only while
  // fewer than max_depth containers are open.
  bool SkipValue(int open, int max_depth) {
    uint8_t b;
    if (!Byte(&b)) return false;
    uint64_t n = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      return true;
    }
    if (b >= 0xa0 && b <= 0xbf) return Skip(b & 0x1f);
    if (b >= 0x90 && b <= 0x9f) return Children(b & 0x0f, open, max_depth);
    if (b >= 0x80 && b <= 0x8f) {
      return Children(uint64_t{b & 0x0fu} * 2, open, max_depth);
    }
    switch (b) {
      case 0xc4:
      case 0xd9:
        return BigEndian(1, &n) && Skip(n);
      case 0xc5:
      case 0xda:
        return BigEndian(2, &n) && Skip(n);
      case 0xc6:
      case 0xdb:
        return BigEndian(4, &n) && Skip(n);
      case 0xc7:  // ext 8: length, type, data
        return BigEndian(1, &n) && Skip(1) && Skip(n);
      case 0xc8:
        return BigEndian(2, &n) && Skip(1) && Skip(n);
      case 0xc9:
        return BigEndian(4, &n) && Skip(1) && Skip(n);
      case 0xca:
        return Skip(4);  // float 32
      case 0xcb:
        return Skip(8);  // float 64
      case 0xcc:
      case 0xd0:
        return Skip(1);
      case 0xcd:
      case 0xd1:
        return Skip(2);
      case 0xce:
      case 0xd2:
        return Skip(4);
      case 0xcf:
      case 0xd3:
        return Skip(8);
      case 0xd4:
        return Skip(1 + 1);  // fixext N: type, N bytes
      case 0xd5:
        return Skip(1 + 2);
      case 0xd6:
        return Skip(1 + 4);
      case 0xd7:
        return Skip(1 + 8);
      case 0xd8:
        return Skip(1 + 16);
      case 0xdc:
        return BigEndian(2, &n) && Children(n, open, max_depth);
      case 0xdd:
        return BigEndian(4, &n) && Children(n, open, max_depth);
      case 0xde:
        return BigEndian(2, &n) && Children(n * 2, open, max_depth);
      case 0xdf:
        return BigEndian(4, &n) && Children(n * 2, open, max_depth);
      default:
        return false;  // 0xc1: never used
    }
  }

 private:
  bool Children(uint64_t n, int open, int max_depth) {
    if (open + 1 > max_depth) return false;
    for (uint64_t i = 0; i < n; ++i) {
      if (!SkipValue(open + 1, max_depth)) return false;
    }
    return true;
  }

  std::string_view data_;
  size_t pos_ = 0;
};

// The value of one msgpack integer of any encoding, or nullopt if the bytes
// are not exactly one integer that fits in int64.
std::optional<int64_t> RefInt(std::string_view bytes) {
  RefReader r(bytes);
  uint8_t b;
  if (!r.Byte(&b)) return std::nullopt;
  uint64_t v = 0;
  int64_t out = 0;
  if (b <= 0x7f) {
    out = b;
  } else if (b >= 0xe0) {
    out = static_cast<int8_t>(b);
  } else if (b >= 0xcc && b <= 0xcf) {
    if (!r.BigEndian(1 << (b - 0xcc), &v)) return std::nullopt;
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return std::nullopt;
    out = static_cast<int64_t>(v);
  } else if (b >= 0xd0 && b <= 0xd3) {
    const int bytes_n = 1 << (b - 0xd0);
    if (!r.BigEndian(bytes_n, &v)) return std::nullopt;
    // Sign-extend from bytes_n * 8 bits.
    const int shift = 64 - 8 * bytes_n;
    out = static_cast<int64_t>(v << shift) >> shift;
  } else {
    return std::nullopt;
  }
  if (r.pos() != bytes.size()) return std::nullopt;
  return out;
}

// ---- helpers ----

constexpr size_t kSizes[] = {0,
                             1,
                             31,
                             32,
                             64,
                             255,
                             256,
                             4096,
                             65535,
                             65536,
                             std::numeric_limits<size_t>::max()};

int DepthFromByte(uint8_t b) { return static_cast<int>(b % 42) - 1; }

// Checks that `out` lies inside `data` and ends where the reader stands.
void CheckView(std::string_view data, const MsgpackReader& r,
               std::string_view out) {
  FUZZ_CHECK(out.size() <= r.offset());
  if (!out.empty()) {
    FUZZ_CHECK(out.data() >= data.data());
    FUZZ_CHECK(out.data() + out.size() == data.data() + r.offset());
  }
}

void DifferentialSkip(std::string_view data, int max_depth) {
  MsgpackReader r(data);
  const bool ok = r.SkipValue("value", max_depth).ok();
  RefReader ref(data);
  const bool ref_ok = ref.SkipValue(0, max_depth);
  FUZZ_CHECK(ok == ref_ok);
  FUZZ_CHECK(r.offset() <= data.size());
  if (ok) FUZZ_CHECK(r.offset() == ref.pos());
}

void TypedReads(std::string_view ops, std::string_view data) {
  MsgpackReader r(data);
  for (char op_char : ops) {
    const uint8_t op = static_cast<uint8_t>(op_char);
    const int param = op / 11;
    const size_t start = r.offset();
    bool ok = false;
    switch (op % 11) {
      case 0: {
        uint32_t n = 0;
        ok = r.ReadArrayHeader("array", &n).ok();
        if (ok) {
          const size_t used = r.offset() - start;
          FUZZ_CHECK(used == 1 || used == 3 || used == 5);
          if (used == 1) FUZZ_CHECK(n <= 15);
          if (used == 3) FUZZ_CHECK(n <= 0xffff);
        }
        break;
      }
      case 1: {
        uint32_t n = 0;
        ok = r.ReadMapHeader("map", &n).ok();
        if (ok) {
          const size_t used = r.offset() - start;
          FUZZ_CHECK(used == 1 || used == 3 || used == 5);
          if (used == 1) FUZZ_CHECK(n <= 15);
          if (used == 3) FUZZ_CHECK(n <= 0xffff);
        }
        break;
      }
      case 2: {
        uint64_t v = 0;
        ok = r.ReadUint("uint", &v).ok();
        if (ok) {
          std::string shortest;
          plumlog::core::AppendMsgpackUint(&shortest, v);
          FUZZ_CHECK(data.substr(start, r.offset() - start) == shortest);
        }
        break;
      }
      case 3: {
        int64_t v = 0;
        ok = r.ReadInt("int", &v).ok();
        if (ok) {
          const std::optional<int64_t> ref =
              RefInt(data.substr(start, r.offset() - start));
          FUZZ_CHECK(ref.has_value());
          FUZZ_CHECK(*ref == v);
        }
        break;
      }
      case 4: {
        const size_t want = kSizes[param % std::size(kSizes)];
        std::string_view out;
        ok = r.ReadBinExact("bin", want, &out).ok();
        if (ok) {
          FUZZ_CHECK(out.size() == want);
          CheckView(data, r, out);
        }
        break;
      }
      case 5: {
        const size_t max = kSizes[param % std::size(kSizes)];
        std::string_view out;
        ok = r.ReadBin("bin", max, &out).ok();
        if (ok) {
          FUZZ_CHECK(out.size() <= max);
          CheckView(data, r, out);
        }
        break;
      }
      case 6: {
        const size_t max = kSizes[param % std::size(kSizes)];
        std::string_view out;
        ok = r.ReadStr("str", max, &out).ok();
        if (ok) {
          FUZZ_CHECK(out.size() <= max);
          CheckView(data, r, out);
        }
        break;
      }
      case 7: {
        bool v = false;
        ok = r.ReadBool("bool", &v).ok();
        if (ok) {
          FUZZ_CHECK(r.offset() == start + 1);
          FUZZ_CHECK(static_cast<uint8_t>(data[start]) == (v ? 0xc3 : 0xc2));
        } else {
          FUZZ_CHECK(r.offset() == start);
        }
        break;
      }
      case 8: {
        ok = r.TryReadNil();
        if (ok) {
          FUZZ_CHECK(r.offset() == start + 1);
          FUZZ_CHECK(static_cast<uint8_t>(data[start]) == 0xc0);
        } else {
          FUZZ_CHECK(r.offset() == start);
        }
        break;
      }
      case 9: {
        const int max_depth = DepthFromByte(static_cast<uint8_t>(param));
        ok = r.SkipValue("value", max_depth).ok();
        RefReader ref(data.substr(start));
        FUZZ_CHECK(ok == ref.SkipValue(0, max_depth));
        if (ok) FUZZ_CHECK(r.offset() == start + ref.pos());
        break;
      }
      case 10: {
        ok = r.ExpectEnd("end").ok();
        FUZZ_CHECK(ok == (start == data.size()));
        FUZZ_CHECK(r.offset() == start);
        break;
      }
    }
    FUZZ_CHECK(r.offset() >= start);
    FUZZ_CHECK(r.offset() <= data.size());
    FUZZ_CHECK(r.remaining() == data.size() - r.offset());
    FUZZ_CHECK(r.at_end() == (r.offset() == data.size()));
    if (!ok) return;  // positions after an error are unspecified
  }
}

void WriterRoundTrips(std::string_view data) {
  using namespace plumlog::core;  // NOLINT: the Append* family
  uint64_t u = 0;
  for (size_t i = 0; i < 8 && i < data.size(); ++i) {
    u = (u << 8) | static_cast<uint8_t>(data[i]);
  }
  // Vary the magnitude so every width gets exercised.
  const uint64_t values[] = {u, u >> 8, u >> 24, u >> 40, u >> 56, u & 0xffff};
  std::string buf;
  for (uint64_t v : values) AppendMsgpackUint(&buf, v);
  AppendMsgpackBin(&buf, data);
  AppendMsgpackStr(&buf, data);
  AppendMsgpackArrayHeader(&buf, static_cast<uint32_t>(u));
  AppendMsgpackMapHeader(&buf, static_cast<uint32_t>(u >> 16));
  AppendMsgpackNil(&buf);
  AppendMsgpackBool(&buf, (u & 1) != 0);

  MsgpackReader r(buf);
  for (uint64_t v : values) {
    uint64_t got = 0;
    FUZZ_CHECK(r.ReadUint("uint", &got).ok());
    FUZZ_CHECK(got == v);
  }
  std::string_view got_bytes;
  FUZZ_CHECK(r.ReadBin("bin", data.size(), &got_bytes).ok());
  FUZZ_CHECK(got_bytes == data);
  FUZZ_CHECK(r.ReadStr("str", data.size(), &got_bytes).ok());
  FUZZ_CHECK(got_bytes == data);
  uint32_t n = 0;
  FUZZ_CHECK(r.ReadArrayHeader("array", &n).ok());
  FUZZ_CHECK(n == static_cast<uint32_t>(u));
  FUZZ_CHECK(r.ReadMapHeader("map", &n).ok());
  FUZZ_CHECK(n == static_cast<uint32_t>(u >> 16));
  FUZZ_CHECK(r.TryReadNil());
  bool b = false;
  FUZZ_CHECK(r.ReadBool("bool", &b).ok());
  FUZZ_CHECK(b == ((u & 1) != 0));
  FUZZ_CHECK(r.ExpectEnd("end").ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const int max_depth = DepthFromByte(data[0]);
  const size_t op_count = std::min<size_t>(data[1] & 0x0f, size - 2);
  const std::string_view ops = input.substr(2, op_count);
  const std::string_view msgpack = input.substr(2 + op_count);

  DifferentialSkip(msgpack, max_depth);
  TypedReads(ops, msgpack);
  WriterRoundTrips(msgpack);
  return 0;
}
