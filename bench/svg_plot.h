// SvgPlot: a small, dependency-free SVG line-chart writer for the experiment
// programs in bench/ (docs/replication.md). Axes with "nice" ticks, axis labels,
// a title, a legend, several series (solid or dashed lines, optional point
// markers) and optional shaded bands (e.g. min..max around a median).
#ifndef PLUMLOG_BENCH_SVG_PLOT_H_
#define PLUMLOG_BENCH_SVG_PLOT_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace plumlog::bench {

struct PlotSeries {
  std::string name;                              // legend text
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in this order
  bool dashed = false;
  bool markers = true;
  int color = -1;  // index into the palette; -1: next colour
};

// A filled area between `lower` and `upper` (same x values), drawn under the
// lines in a light shade of the series' colour.
struct PlotBand {
  std::string name;  // legend text ("" = not in the legend)
  std::vector<double> x;
  std::vector<double> lower;
  std::vector<double> upper;
  int color = 0;
};

struct PlotOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  // Axis ranges; unset: from the data (padded to nice ticks).
  std::optional<double> x_min, x_max, y_min, y_max;
  // Tick label suffix for y (e.g. "%").
  std::string y_suffix;
  std::string x_suffix;
  int width = 720;
  int height = 440;
  // Legend corner inside the plot area.
  enum class Legend { kTopLeft, kTopRight, kBottomLeft, kBottomRight };
  Legend legend = Legend::kTopLeft;
};

class SvgPlot {
 public:
  explicit SvgPlot(PlotOptions options);

  void AddSeries(PlotSeries series);
  void AddBand(PlotBand band);

  // The whole document.
  std::string Render() const;
  // Writes Render() to `path`; false (and a message on stderr) on failure.
  bool WriteFile(const std::string& path) const;

  // "Nice" tick positions covering [lo, hi] (about `target` ticks).
  static std::vector<double> NiceTicks(double lo, double hi, int target);

 private:
  PlotOptions options_;
  std::vector<PlotSeries> series_;
  std::vector<PlotBand> bands_;
};

}  // namespace plumlog::bench

#endif  // PLUMLOG_BENCH_SVG_PLOT_H_
