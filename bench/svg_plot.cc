#include "bench/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

namespace plumlog::bench {
namespace {

// Colour-blind-friendly palette (Okabe-Ito).
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#000000", "#F0E442"};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

// Tick label: as few decimals as the step needs.
std::string TickLabel(double v, double step) {
  int decimals = 0;
  while (decimals < 6 && std::fabs(step * std::pow(10, decimals) -
                                   std::round(step * std::pow(10, decimals))) > 1e-9) {
    ++decimals;
  }
  if (std::fabs(v) < step * 1e-9) v = 0;
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  std::string s = buf;
  // Thousands separators for big integers (10000 -> 10,000).
  if (decimals == 0 && std::fabs(v) >= 10000) {
    std::string digits = s, out;
    bool neg = digits[0] == '-';
    if (neg) digits.erase(0, 1);
    for (size_t i = 0; i < digits.size(); ++i) {
      if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
      out += digits[i];
    }
    s = (neg ? "-" : "") + out;
  }
  return s;
}

}  // namespace

SvgPlot::SvgPlot(PlotOptions options) : options_(std::move(options)) {}

void SvgPlot::AddSeries(PlotSeries series) { series_.push_back(std::move(series)); }
void SvgPlot::AddBand(PlotBand band) { bands_.push_back(std::move(band)); }

std::vector<double> SvgPlot::NiceTicks(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9) * step;
  for (double t = first; t <= hi + step * 0.5; t += step) {
    ticks.push_back(t);
    if (t >= hi - step * 1e-9) break;
  }
  return ticks;
}

std::string SvgPlot::Render() const {
  // Data range.
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
  double ymin = xmin, ymax = -xmin;
  auto take = [&](double x, double y) {
    xmin = std::min(xmin, x);
    xmax = std::max(xmax, x);
    ymin = std::min(ymin, y);
    ymax = std::max(ymax, y);
  };
  for (const PlotSeries& s : series_) {
    for (auto [x, y] : s.points) take(x, y);
  }
  for (const PlotBand& b : bands_) {
    for (size_t i = 0; i < b.x.size(); ++i) {
      take(b.x[i], b.lower[i]);
      take(b.x[i], b.upper[i]);
    }
  }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  if (options_.x_min) xmin = *options_.x_min;
  if (options_.x_max) xmax = *options_.x_max;
  if (options_.y_min) ymin = *options_.y_min;
  if (options_.y_max) ymax = *options_.y_max;
  if (xmax <= xmin) xmax = xmin + 1;
  if (ymax <= ymin) ymax = ymin + 1;
  std::vector<double> xt = NiceTicks(xmin, xmax, 8);
  std::vector<double> yt = NiceTicks(ymin, ymax, 6);
  if (!options_.x_min) xmin = std::min(xmin, xt.front());
  if (!options_.x_max) xmax = std::max(xmax, xt.back());
  if (!options_.y_min) ymin = std::min(ymin, yt.front());
  if (!options_.y_max) ymax = std::max(ymax, yt.back());
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;

  const int W = options_.width, H = options_.height;
  const double left = 78, right = 20, top = options_.title.empty() ? 20 : 44, bottom = 58;
  const double pw = W - left - right, ph = H - top - bottom;
  auto X = [&](double x) { return left + (x - xmin) / (xmax - xmin) * pw; };
  auto Y = [&](double y) { return top + ph - (y - ymin) / (ymax - ymin) * ph; };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" font-family=\"Helvetica, Arial, sans-serif\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!options_.title.empty()) {
    o << "<text x=\"" << W / 2 << "\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" "
      << "font-weight=\"bold\">" << Escape(options_.title) << "</text>\n";
  }
  o << "<defs><clipPath id=\"plot\"><rect x=\"" << Num(left) << "\" y=\"" << Num(top)
    << "\" width=\"" << Num(pw) << "\" height=\"" << Num(ph) << "\"/></clipPath></defs>\n";
  // Grid and ticks.
  o << "<g font-size=\"12\" fill=\"#333\">\n";
  for (double t : xt) {
    if (t < xmin - 1e-9 || t > xmax + 1e-9) continue;
    o << "<line x1=\"" << Num(X(t)) << "\" y1=\"" << Num(top) << "\" x2=\"" << Num(X(t))
      << "\" y2=\"" << Num(top + ph) << "\" stroke=\"#e5e5e5\"/>\n";
    o << "<line x1=\"" << Num(X(t)) << "\" y1=\"" << Num(top + ph) << "\" x2=\"" << Num(X(t))
      << "\" y2=\"" << Num(top + ph + 5) << "\" stroke=\"#333\"/>\n";
    o << "<text x=\"" << Num(X(t)) << "\" y=\"" << Num(top + ph + 19)
      << "\" text-anchor=\"middle\">" << Escape(TickLabel(t, xstep) + options_.x_suffix)
      << "</text>\n";
  }
  for (double t : yt) {
    if (t < ymin - 1e-9 || t > ymax + 1e-9) continue;
    o << "<line x1=\"" << Num(left) << "\" y1=\"" << Num(Y(t)) << "\" x2=\"" << Num(left + pw)
      << "\" y2=\"" << Num(Y(t)) << "\" stroke=\"#e5e5e5\"/>\n";
    o << "<line x1=\"" << Num(left - 5) << "\" y1=\"" << Num(Y(t)) << "\" x2=\"" << Num(left)
      << "\" y2=\"" << Num(Y(t)) << "\" stroke=\"#333\"/>\n";
    o << "<text x=\"" << Num(left - 8) << "\" y=\"" << Num(Y(t) + 4)
      << "\" text-anchor=\"end\">" << Escape(TickLabel(t, ystep) + options_.y_suffix)
      << "</text>\n";
  }
  o << "</g>\n";
  // Axes box.
  o << "<rect x=\"" << Num(left) << "\" y=\"" << Num(top) << "\" width=\"" << Num(pw)
    << "\" height=\"" << Num(ph) << "\" fill=\"none\" stroke=\"#333\"/>\n";
  // Axis labels.
  o << "<text x=\"" << Num(left + pw / 2) << "\" y=\"" << H - 14
    << "\" text-anchor=\"middle\" font-size=\"13\">" << Escape(options_.x_label) << "</text>\n";
  o << "<text transform=\"translate(18," << Num(top + ph / 2)
    << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">" << Escape(options_.y_label)
    << "</text>\n";

  // Bands, then lines.
  o << "<g clip-path=\"url(#plot)\">\n";
  for (const PlotBand& b : bands_) {
    if (b.x.empty()) continue;
    std::string pts;
    for (size_t i = 0; i < b.x.size(); ++i) pts += Num(X(b.x[i])) + "," + Num(Y(b.upper[i])) + " ";
    for (size_t i = b.x.size(); i-- > 0;) pts += Num(X(b.x[i])) + "," + Num(Y(b.lower[i])) + " ";
    o << "<polygon points=\"" << pts << "\" fill=\"" << kPalette[b.color % kPaletteSize]
      << "\" fill-opacity=\"0.12\" stroke=\"none\"/>\n";
  }
  int next_color = 0;
  std::vector<int> colors;
  for (const PlotSeries& s : series_) {
    const int c = s.color >= 0 ? s.color : next_color++;
    colors.push_back(c);
    const char* col = kPalette[c % kPaletteSize];
    std::string pts;
    for (auto [x, y] : s.points) pts += Num(X(x)) + "," + Num(Y(y)) + " ";
    o << "<polyline points=\"" << pts << "\" fill=\"none\" stroke=\"" << col
      << "\" stroke-width=\"2\"" << (s.dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>\n";
    if (s.markers) {
      for (auto [x, y] : s.points) {
        o << "<circle cx=\"" << Num(X(x)) << "\" cy=\"" << Num(Y(y)) << "\" r=\"3\" fill=\""
          << (s.dashed ? "white" : col) << "\" stroke=\"" << col << "\" stroke-width=\"1.5\"/>\n";
      }
    }
  }
  o << "</g>\n";

  // Legend.
  struct Item {
    std::string name;
    int color;
    bool dashed, markers, band;
  };
  std::vector<Item> items;
  for (const PlotBand& b : bands_) {
    if (!b.name.empty()) items.push_back({b.name, b.color, false, false, true});
  }
  for (size_t i = 0; i < series_.size(); ++i) {
    items.push_back({series_[i].name, colors[i], series_[i].dashed, series_[i].markers, false});
  }
  if (!items.empty()) {
    size_t longest = 0;
    for (const Item& it : items) longest = std::max(longest, it.name.size());
    const double lw = 44 + 6.6 * static_cast<double>(longest), lh = 18.0 * items.size() + 8;
    using L = PlotOptions::Legend;
    const bool at_right = options_.legend == L::kTopRight || options_.legend == L::kBottomRight;
    const bool at_bottom = options_.legend == L::kBottomLeft || options_.legend == L::kBottomRight;
    const double lx = at_right ? left + pw - lw - 8 : left + 8;
    const double ly = at_bottom ? top + ph - lh - 8 : top + 8;
    o << "<g font-size=\"12\">\n<rect x=\"" << Num(lx) << "\" y=\"" << Num(ly) << "\" width=\""
      << Num(lw) << "\" height=\"" << Num(lh)
      << "\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#999\"/>\n";
    for (size_t i = 0; i < items.size(); ++i) {
      const Item& it = items[i];
      const char* col = kPalette[it.color % kPaletteSize];
      const double cy = ly + 13 + 18.0 * i;
      if (it.band) {
        o << "<rect x=\"" << Num(lx + 8) << "\" y=\"" << Num(cy - 6) << "\" width=\"24\" "
          << "height=\"12\" fill=\"" << col << "\" fill-opacity=\"0.15\"/>\n";
      } else {
        o << "<line x1=\"" << Num(lx + 8) << "\" y1=\"" << Num(cy) << "\" x2=\"" << Num(lx + 32)
          << "\" y2=\"" << Num(cy) << "\" stroke=\"" << col << "\" stroke-width=\"2\""
          << (it.dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>\n";
        if (it.markers) {
          o << "<circle cx=\"" << Num(lx + 20) << "\" cy=\"" << Num(cy) << "\" r=\"3\" fill=\""
            << (it.dashed ? "white" : col) << "\" stroke=\"" << col
            << "\" stroke-width=\"1.5\"/>\n";
        }
      }
      o << "<text x=\"" << Num(lx + 38) << "\" y=\"" << Num(cy + 4) << "\">" << Escape(it.name)
        << "</text>\n";
    }
    o << "</g>\n";
  }
  o << "</svg>\n";
  return o.str();
}

bool SvgPlot::WriteFile(const std::string& path) const {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return false;
  }
  f << Render();
  f.close();
  if (!f) {
    std::fprintf(stderr, "error writing %s\n", path.c_str());
    return false;
  }
  return true;
}

}  // namespace plumlog::bench
