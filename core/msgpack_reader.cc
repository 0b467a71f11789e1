#include "core/msgpack_reader.h"

#include <cstring>
#include <vector>

namespace plumlog::core {

Status MsgpackReader::Error(std::string_view what, std::string_view problem) const {
  std::string m(what);
  m += ": ";
  m += problem;
  m += " at byte ";
  m += std::to_string(pos_);
  return Status::Corruption(m);
}

bool MsgpackReader::Take(size_t n, const char** p) {
  if (data_.size() - pos_ < n) return false;
  *p = data_.data() + pos_;
  pos_ += n;
  return true;
}

template <typename T>
bool MsgpackReader::ReadBE(T* v) {
  const char* p;
  if (!Take(sizeof(T), &p)) return false;
  T x = 0;
  for (size_t i = 0; i < sizeof(T); ++i) x = static_cast<T>((x << 8) | static_cast<uint8_t>(p[i]));
  *v = x;
  return true;
}

Status MsgpackReader::ReadArrayHeader(std::string_view what, uint32_t* size) {
  if (at_end()) return Error(what, "truncated, expected an array");
  uint8_t b = static_cast<uint8_t>(data_[pos_]);
  size_t start = pos_;
  ++pos_;
  if ((b & 0xf0) == 0x90) {
    *size = b & 0x0f;
    return Status::OK();
  }
  if (b == 0xdc) {
    uint16_t n;
    if (!ReadBE(&n)) return Error(what, "truncated array header");
    *size = n;
    return Status::OK();
  }
  if (b == 0xdd) {
    uint32_t n;
    if (!ReadBE(&n)) return Error(what, "truncated array header");
    *size = n;
    return Status::OK();
  }
  pos_ = start;
  return Error(what, "expected an array");
}

bool PeekFrameType(std::string_view frame, uint64_t* type) {
  MsgpackReader r(frame);
  uint32_t fields = 0;
  return r.ReadArrayHeader("frame", &fields).ok() && fields > 0 &&
         r.ReadUint("frame type", type).ok();
}

Status MsgpackReader::ReadMapHeader(std::string_view what, uint32_t* size) {
  if (at_end()) return Error(what, "truncated, expected a map");
  uint8_t b = static_cast<uint8_t>(data_[pos_]);
  size_t start = pos_;
  ++pos_;
  if ((b & 0xf0) == 0x80) {
    *size = b & 0x0f;
    return Status::OK();
  }
  if (b == 0xde) {
    uint16_t n;
    if (!ReadBE(&n)) return Error(what, "truncated map header");
    *size = n;
    return Status::OK();
  }
  if (b == 0xdf) {
    uint32_t n;
    if (!ReadBE(&n)) return Error(what, "truncated map header");
    *size = n;
    return Status::OK();
  }
  pos_ = start;
  return Error(what, "expected a map");
}

Status MsgpackReader::ReadUint(std::string_view what, uint64_t* value) {
  if (at_end()) return Error(what, "truncated, expected an unsigned integer");
  size_t start = pos_;
  uint8_t b = static_cast<uint8_t>(data_[pos_++]);
  uint64_t v = 0;
  uint64_t min = 0;
  bool ok = true;
  if (b <= 0x7f) {
    *value = b;
    return Status::OK();
  } else if (b == 0xcc) {
    uint8_t x;
    ok = ReadBE(&x);
    v = x;
    min = 0x80;
  } else if (b == 0xcd) {
    uint16_t x;
    ok = ReadBE(&x);
    v = x;
    min = 0x100;
  } else if (b == 0xce) {
    uint32_t x;
    ok = ReadBE(&x);
    v = x;
    min = 0x10000;
  } else if (b == 0xcf) {
    ok = ReadBE(&v);
    min = uint64_t{1} << 32;
  } else {
    pos_ = start;
    return Error(what, "expected an unsigned integer");
  }
  if (!ok) return Error(what, "truncated integer");
  if (v < min) {
    pos_ = start;
    return Error(what, "integer not in its shortest encoding");
  }
  *value = v;
  return Status::OK();
}

Status MsgpackReader::ReadInt(std::string_view what, int64_t* value) {
  if (at_end()) return Error(what, "truncated, expected an integer");
  size_t start = pos_;
  uint8_t b = static_cast<uint8_t>(data_[pos_]);
  if (b <= 0x7f || (b >= 0xcc && b <= 0xcf)) {
    pos_++;
    uint64_t v = 0;
    bool ok = true;
    switch (b) {
      case 0xcc: { uint8_t x; ok = ReadBE(&x); v = x; break; }
      case 0xcd: { uint16_t x; ok = ReadBE(&x); v = x; break; }
      case 0xce: { uint32_t x; ok = ReadBE(&x); v = x; break; }
      case 0xcf: ok = ReadBE(&v); break;
      default: v = b;
    }
    if (!ok) return Error(what, "truncated integer");
    if (v > static_cast<uint64_t>(INT64_MAX)) {
      pos_ = start;
      return Error(what, "integer out of range");
    }
    *value = static_cast<int64_t>(v);
    return Status::OK();
  }
  pos_++;
  bool ok = true;
  int64_t v = 0;
  if (b >= 0xe0) {
    v = static_cast<int8_t>(b);
  } else if (b == 0xd0) {
    uint8_t x; ok = ReadBE(&x); v = static_cast<int8_t>(x);
  } else if (b == 0xd1) {
    uint16_t x; ok = ReadBE(&x); v = static_cast<int16_t>(x);
  } else if (b == 0xd2) {
    uint32_t x; ok = ReadBE(&x); v = static_cast<int32_t>(x);
  } else if (b == 0xd3) {
    uint64_t x; ok = ReadBE(&x); v = static_cast<int64_t>(x);
  } else {
    pos_ = start;
    return Error(what, "expected an integer");
  }
  if (!ok) return Error(what, "truncated integer");
  *value = v;
  return Status::OK();
}

Status MsgpackReader::ReadBin(std::string_view what, size_t max_size, std::string_view* out) {
  if (at_end()) return Error(what, "truncated, expected bytes");
  size_t start = pos_;
  uint8_t b = static_cast<uint8_t>(data_[pos_++]);
  uint32_t n = 0;
  bool ok = true;
  if (b == 0xc4) {
    uint8_t x; ok = ReadBE(&x); n = x;
  } else if (b == 0xc5) {
    uint16_t x; ok = ReadBE(&x); n = x;
  } else if (b == 0xc6) {
    ok = ReadBE(&n);
  } else {
    pos_ = start;
    return Error(what, "expected bytes (msgpack bin)");
  }
  if (!ok) return Error(what, "truncated length");
  if (n > max_size) {
    pos_ = start;
    return Error(what, "too long (" + std::to_string(n) + " > " + std::to_string(max_size) + ")");
  }
  const char* p;
  if (!Take(n, &p)) return Error(what, "truncated bytes");
  *out = std::string_view(p, n);
  return Status::OK();
}

Status MsgpackReader::ReadBinExact(std::string_view what, size_t size, std::string_view* out) {
  size_t start = pos_;
  std::string_view v;
  PLUMLOG_RETURN_IF_ERROR(ReadBin(what, size, &v));
  if (v.size() != size) {
    pos_ = start;
    return Error(what, "must be exactly " + std::to_string(size) + " bytes, got " +
                           std::to_string(v.size()));
  }
  // Only the shortest bin header, so the value has one encoding: otherwise anyone
  // could re-wrap an entry's signature (bin8 -> bin16) into different bytes that
  // still verify under the same id.
  const size_t shortest_header = size <= 0xff ? 2 : size <= 0xffff ? 3 : 5;
  if (pos_ - start != shortest_header + size) {
    pos_ = start;
    return Error(what, "bytes not in their shortest encoding");
  }
  *out = v;
  return Status::OK();
}

Status MsgpackReader::ReadStr(std::string_view what, size_t max_size, std::string_view* out) {
  if (at_end()) return Error(what, "truncated, expected a string");
  size_t start = pos_;
  uint8_t b = static_cast<uint8_t>(data_[pos_++]);
  uint32_t n = 0;
  bool ok = true;
  if ((b & 0xe0) == 0xa0) {
    n = b & 0x1f;
  } else if (b == 0xd9) {
    uint8_t x; ok = ReadBE(&x); n = x;
  } else if (b == 0xda) {
    uint16_t x; ok = ReadBE(&x); n = x;
  } else if (b == 0xdb) {
    ok = ReadBE(&n);
  } else {
    pos_ = start;
    return Error(what, "expected a string");
  }
  if (!ok) return Error(what, "truncated length");
  if (n > max_size) {
    pos_ = start;
    return Error(what, "too long (" + std::to_string(n) + " > " + std::to_string(max_size) + ")");
  }
  const char* p;
  if (!Take(n, &p)) return Error(what, "truncated string");
  *out = std::string_view(p, n);
  return Status::OK();
}

Status MsgpackReader::ReadBool(std::string_view what, bool* value) {
  if (at_end()) return Error(what, "truncated, expected a boolean");
  uint8_t b = static_cast<uint8_t>(data_[pos_]);
  if (b != 0xc2 && b != 0xc3) return Error(what, "expected a boolean");
  ++pos_;
  *value = b == 0xc3;
  return Status::OK();
}

bool MsgpackReader::TryReadNil() {
  if (!at_end() && static_cast<uint8_t>(data_[pos_]) == 0xc0) {
    ++pos_;
    return true;
  }
  return false;
}

Status MsgpackReader::SkipValue(std::string_view what, int max_depth) {
  // Iterative: `pending` counts values still to skip at each open level, so
  // hostile nesting costs no stack.
  // levels[i] = values still to skip at open level i; levels[0] is the value
  // itself, each further level is an open array or map.
  std::vector<uint64_t> levels;
  levels.reserve(8);
  levels.push_back(1);
  while (!levels.empty()) {
    if (levels.back() == 0) {
      levels.pop_back();
      continue;
    }
    --levels.back();
    if (at_end()) return Error(what, "truncated value");
    uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    uint64_t skip = 0;       // payload bytes to skip
    uint64_t children = 0;   // nested values that follow
    bool container = false;
    bool ok = true;
    auto len8 = [&] { uint8_t x = 0; ok = ReadBE(&x); return uint64_t{x}; };
    auto len16 = [&] { uint16_t x = 0; ok = ReadBE(&x); return uint64_t{x}; };
    auto len32 = [&] { uint32_t x = 0; ok = ReadBE(&x); return uint64_t{x}; };
    if (b <= 0x7f || b >= 0xe0) {
      // fixint
    } else if ((b & 0xf0) == 0x80) {
      children = uint64_t{b & 0x0fu} * 2;
      container = true;
    } else if ((b & 0xf0) == 0x90) {
      children = b & 0x0fu;
      container = true;
    } else if ((b & 0xe0) == 0xa0) {
      skip = b & 0x1fu;
    } else {
      switch (b) {
        case 0xc0: case 0xc2: case 0xc3: break;
        case 0xc4: case 0xd9: skip = len8(); break;
        case 0xc5: case 0xda: skip = len16(); break;
        case 0xc6: case 0xdb: skip = len32(); break;
        case 0xc7: skip = len8() + 1; break;   // ext8: len, type
        case 0xc8: skip = len16() + 1; break;
        case 0xc9: skip = len32() + 1; break;
        case 0xca: skip = 4; break;
        case 0xcb: skip = 8; break;
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xce: case 0xd2: skip = 4; break;
        case 0xcf: case 0xd3: skip = 8; break;
        case 0xd4: skip = 2; break;   // fixext1: type + 1
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
        case 0xdc: children = len16(); container = true; break;
        case 0xdd: children = len32(); container = true; break;
        case 0xde: children = len16() * 2; container = true; break;
        case 0xdf: children = len32() * 2; container = true; break;
        default:  // 0xc1 is never used
          --pos_;
          return Error(what, "invalid msgpack byte");
      }
    }
    if (!ok) return Error(what, "truncated length");
    if (skip > remaining()) return Error(what, "truncated value");
    pos_ += skip;
    if (container) {
      if (static_cast<int>(levels.size()) > max_depth) {
        return Error(what, "nested deeper than " + std::to_string(max_depth));
      }
      // Every child takes at least one byte: a count beyond what is left is a lie.
      if (children > remaining()) return Error(what, "truncated container");
      levels.push_back(children);
    }
  }
  return Status::OK();
}

Status MsgpackReader::ExpectEnd(std::string_view what) const {
  if (!at_end()) {
    return Error(what, std::to_string(remaining()) + " trailing bytes");
  }
  return Status::OK();
}

namespace {
void PutBE(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
}  // namespace

void AppendMsgpackUint(std::string* out, uint64_t v) {
  if (v <= 0x7f) {
    out->push_back(static_cast<char>(v));
  } else if (v <= 0xff) {
    out->push_back(static_cast<char>(0xcc));
    PutBE(out, v, 1);
  } else if (v <= 0xffff) {
    out->push_back(static_cast<char>(0xcd));
    PutBE(out, v, 2);
  } else if (v <= 0xffffffffu) {
    out->push_back(static_cast<char>(0xce));
    PutBE(out, v, 4);
  } else {
    out->push_back(static_cast<char>(0xcf));
    PutBE(out, v, 8);
  }
}

void AppendMsgpackBin(std::string* out, std::string_view bytes) {
  size_t n = bytes.size();
  if (n <= 0xff) {
    out->push_back(static_cast<char>(0xc4));
    PutBE(out, n, 1);
  } else if (n <= 0xffff) {
    out->push_back(static_cast<char>(0xc5));
    PutBE(out, n, 2);
  } else {
    out->push_back(static_cast<char>(0xc6));
    PutBE(out, n, 4);
  }
  out->append(bytes);
}

void AppendMsgpackStr(std::string* out, std::string_view s) {
  size_t n = s.size();
  if (n <= 31) {
    out->push_back(static_cast<char>(0xa0 | n));
  } else if (n <= 0xff) {
    out->push_back(static_cast<char>(0xd9));
    PutBE(out, n, 1);
  } else if (n <= 0xffff) {
    out->push_back(static_cast<char>(0xda));
    PutBE(out, n, 2);
  } else {
    out->push_back(static_cast<char>(0xdb));
    PutBE(out, n, 4);
  }
  out->append(s);
}

void AppendMsgpackArrayHeader(std::string* out, uint32_t n) {
  if (n <= 15) {
    out->push_back(static_cast<char>(0x90 | n));
  } else if (n <= 0xffff) {
    out->push_back(static_cast<char>(0xdc));
    PutBE(out, n, 2);
  } else {
    out->push_back(static_cast<char>(0xdd));
    PutBE(out, n, 4);
  }
}

void AppendMsgpackMapHeader(std::string* out, uint32_t n) {
  if (n <= 15) {
    out->push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    out->push_back(static_cast<char>(0xde));
    PutBE(out, n, 2);
  } else {
    out->push_back(static_cast<char>(0xdf));
    PutBE(out, n, 4);
  }
}

void AppendMsgpackNil(std::string* out) { out->push_back(static_cast<char>(0xc0)); }
void AppendMsgpackBool(std::string* out, bool v) {
  out->push_back(static_cast<char>(v ? 0xc3 : 0xc2));
}

}  // namespace plumlog::core
