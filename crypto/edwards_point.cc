#include "crypto/edwards_point.h"

#include <vector>

namespace plumlog::crypto {
namespace {

struct Constants {
  Fe25519 d;
  Fe25519 d2;
  Fe25519 sqrt_m1;
};

Fe25519 Small(uint64_t v) { return Fe25519::FromLimbs(v, 0, 0, 0, 0); }

// this^(2^253 - 5) = this^((p - 1) / 4), through the same kind of ladder as
// Fe25519::Invert. For this = 2, a non-square since p = 5 mod 8, the result
// squares to 2^((p - 1) / 2) = -1.
Fe25519 PowPm1Over4(const Fe25519& z) {
  // (p - 5) / 8 * 2 = 2^253 - 6, plus 1 gives 2^253 - 5.
  return z.Pow22523().Square() * z;
}

const Constants& Curve() {
  static const Constants c = [] {
    Constants k;
    // d = -121665 / 121666 (RFC 8032 section 5.1).
    k.d = (Fe25519::Zero() - Small(121665)) * Small(121666).Invert();
    k.d2 = k.d + k.d;
    k.sqrt_m1 = PowPm1Over4(Small(2));
    return k;
  }();
  return c;
}

}  // namespace

const Fe25519& EdwardsPoint::D() { return Curve().d; }
const Fe25519& EdwardsPoint::D2() { return Curve().d2; }
const Fe25519& EdwardsPoint::SqrtM1() { return Curve().sqrt_m1; }

EdwardsPoint EdwardsPoint::Identity() {
  EdwardsPoint p;
  p.x_ = Fe25519::Zero();
  p.y_ = Fe25519::One();
  p.z_ = Fe25519::One();
  p.t_ = Fe25519::Zero();
  return p;
}

const EdwardsPoint& EdwardsPoint::Base() {
  static const EdwardsPoint b = [] {
    std::array<uint8_t, 32> enc =
        (Small(4) * Small(5).Invert()).ToBytes();  // x even: bit 255 clear
    return *Decompress(enc);
  }();
  return b;
}

std::optional<EdwardsPoint> EdwardsPoint::Decompress(
    std::span<const uint8_t, 32> s) {
  const Constants& c = Curve();
  Fe25519 y = Fe25519::FromBytes(s.data());
  Fe25519 yy = y.Square();
  Fe25519 u = yy - Fe25519::One();        // y^2 - 1
  Fe25519 v = c.d * yy + Fe25519::One();  // d y^2 + 1
  // x = u v^3 (u v^7)^((p - 5) / 8) is a square root of u / v if one exists.
  Fe25519 v3 = v.Square() * v;
  Fe25519 x = u * v3 * (u * v3.Square() * v).Pow22523();
  Fe25519 vxx = v * x.Square();
  if (!(vxx - u).IsZero()) {
    if (!(vxx + u).IsZero()) return std::nullopt;
    x = x * c.sqrt_m1;
  }
  if (x.IsNegative() != ((s[31] >> 7) != 0)) x = -x;
  EdwardsPoint p;
  p.x_ = x;
  p.y_ = y;
  p.z_ = Fe25519::One();
  p.t_ = x * y;
  return p;
}

std::array<uint8_t, 32> EdwardsPoint::Compress() const {
  Fe25519 zi = z_.Invert();
  Fe25519 x = x_ * zi;
  std::array<uint8_t, 32> out = (y_ * zi).ToBytes();
  out[31] |= static_cast<uint8_t>(x.IsNegative() ? 0x80 : 0);
  return out;
}

namespace {

// inv[i] = 1 / z[i] for all i with one inversion: prefix products, invert the
// total, walk back. Every z must be nonzero (true for points on the curve).
void InvertAll(const std::vector<Fe25519>& z, std::vector<Fe25519>* inv) {
  size_t n = z.size();
  inv->resize(n);
  if (n == 0) return;
  std::vector<Fe25519> prefix(n);
  prefix[0] = z[0];
  for (size_t i = 1; i < n; ++i) prefix[i] = prefix[i - 1] * z[i];
  Fe25519 acc = prefix[n - 1].Invert();
  for (size_t i = n - 1; i > 0; --i) {
    (*inv)[i] = acc * prefix[i - 1];
    acc = acc * z[i];
  }
  (*inv)[0] = acc;
}

}  // namespace

void EdwardsPoint::CompressBatch(std::span<const EdwardsPoint> points,
                                 std::span<std::array<uint8_t, 32>> out) {
  std::vector<Fe25519> z(points.size()), inv;
  for (size_t i = 0; i < points.size(); ++i) z[i] = points[i].z_;
  InvertAll(z, &inv);
  for (size_t i = 0; i < points.size(); ++i) {
    Fe25519 x = points[i].x_ * inv[i];
    out[i] = (points[i].y_ * inv[i]).ToBytes();
    out[i][31] |= static_cast<uint8_t>(x.IsNegative() ? 0x80 : 0);
  }
}

void EdwardsPoint::ToNielsBatch(std::span<const EdwardsPoint> points,
                                std::span<NielsPoint> out) {
  std::vector<Fe25519> z(points.size()), inv;
  for (size_t i = 0; i < points.size(); ++i) z[i] = points[i].z_;
  InvertAll(z, &inv);
  const Fe25519& d2 = D2();
  for (size_t i = 0; i < points.size(); ++i) {
    Fe25519 x = points[i].x_ * inv[i];
    Fe25519 y = points[i].y_ * inv[i];
    out[i].y_plus_x = y + x;
    out[i].y_minus_x = y - x;
    out[i].xy2d = x * y * d2;
  }
}

// Every formula here ends the same way (Hisil et al.): X = EF, Y = GH,
// T = EH, Z = FG.
EdwardsPoint EdwardsPoint::FromEFGH(const Fe25519& e, const Fe25519& f,
                                    const Fe25519& g, const Fe25519& h) {
  EdwardsPoint r;
  r.x_ = e * f;
  r.y_ = g * h;
  r.t_ = e * h;
  r.z_ = f * g;
  return r;
}

EdwardsPoint EdwardsPoint::Double() const {
  // dbl-2008-hwcd with a = -1, every intermediate negated (same result).
  // Lazy sums: every one of them only feeds a product (bounds in field25519.h).
  Fe25519 a = x_.Square();
  Fe25519 b = y_.Square();
  Fe25519 c = z_.Square();
  c = Fe25519::AddLazy(c, c);                                          // < 2^53
  Fe25519 h = Fe25519::AddLazy(a, b);                                  // < 2^53
  Fe25519 e = Fe25519::SubLazy(h, Fe25519::AddLazy(x_, y_).Square());  // < 2^54
  Fe25519 g = Fe25519::SubLazy(a, b);  // < 2^53.33
  Fe25519 f = Fe25519::AddLazy(c, g);  // < 1.75 * 2^53
  return FromEFGH(e, f, g, h);
}

EdwardsPoint EdwardsPoint::operator+(const EdwardsPoint& q) const {
  // add-2008-hwcd-3 with k = 2d.
  Fe25519 a = (y_ - x_) * (q.y_ - q.x_);
  Fe25519 b = (y_ + x_) * (q.y_ + q.x_);
  Fe25519 c = t_ * D2() * q.t_;
  Fe25519 zz = z_ * q.z_;
  Fe25519 d = zz + zz;
  Fe25519 e = b - a, f = d - c, g = d + c, h = b + a;
  return FromEFGH(e, f, g, h);
}

EdwardsPoint EdwardsPoint::operator-() const {
  EdwardsPoint r = *this;
  r.x_ = -x_;
  r.t_ = -t_;
  return r;
}

// The mixed additions run about 95 times per signature check. Coordinates
// and table entries are carried values (< 2^52), so every sum and difference
// below may stay lazy: each feeds only a product. Adding -q = (-x, y) swaps
// y + x with y - x and negates 2dxy, which swaps f and g.
template <bool kSubtract>
EdwardsPoint EdwardsPoint::MixedAdd(const NielsPoint& q) const {
  const Fe25519& ymx = kSubtract ? q.y_plus_x : q.y_minus_x;
  const Fe25519& ypx = kSubtract ? q.y_minus_x : q.y_plus_x;
  Fe25519 a = Fe25519::SubLazy(y_, x_) * ymx;
  Fe25519 b = Fe25519::AddLazy(y_, x_) * ypx;
  Fe25519 c = t_ * q.xy2d;
  Fe25519 d = Fe25519::AddLazy(z_, z_);
  Fe25519 e = Fe25519::SubLazy(b, a), h = Fe25519::AddLazy(b, a);
  Fe25519 f = kSubtract ? Fe25519::AddLazy(d, c) : Fe25519::SubLazy(d, c);
  Fe25519 g = kSubtract ? Fe25519::SubLazy(d, c) : Fe25519::AddLazy(d, c);
  return FromEFGH(e, f, g, h);
}

EdwardsPoint EdwardsPoint::AddNiels(const NielsPoint& q) const {
  return MixedAdd<false>(q);
}
EdwardsPoint EdwardsPoint::SubNiels(const NielsPoint& q) const {
  return MixedAdd<true>(q);
}

bool EdwardsPoint::IsIdentity() const {
  return x_.IsZero() && (y_ - z_).IsZero();
}

bool EdwardsPoint::Equals(const EdwardsPoint& q) const {
  return (x_ * q.z_ - q.x_ * z_).IsZero() && (y_ * q.z_ - q.y_ * z_).IsZero();
}

}  // namespace plumlog::crypto
