// A small SVG writer for scalefit's plots: scatter / line series on linear or log axes with
// decade ticks and labels, a legend, and an optional colour bar for a log-scaled colour scale.
// Invariant: render_svg returns a well-formed, self-contained SVG document (all text escaped,
// non-finite or non-positive-on-log-axis values skipped, never NaN coordinates).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace ss::analysis {

enum class Marker { kNone, kCircle, kCross, kSquare, kDiamond };

struct PlotSeries {
  std::string label;  // empty (or no points): not shown in the legend
  std::string color = "#1f77b4";
  std::vector<double> x, y;
  bool line = false;  // connect the points (in the order given)
  bool dashed = false;
  Marker marker = Marker::kCircle;
  double line_width = 1.5;
  double marker_size = 3.5;
  double opacity = 1.0;
};

// A colour bar at the right: what the colours of the series mean.
struct ColorBar {
  std::string label;
  double min = 1, max = 10;  // log scale
};

struct PlotSpec {
  std::string title;
  std::string x_label, y_label;
  bool log_x = true, log_y = true;
  std::vector<PlotSeries> series;
  std::optional<ColorBar> color_bar;
  int width = 760, height = 520;
};

// Colour for t in [0, 1] on a viridis-like scale (dark blue -> green -> yellow).
std::string color_scale(double t);

// Position of `value` in [min, max] on a log scale, clamped to [0, 1].
double log_fraction(double value, double min, double max);

// "1e+21" style numbers as "10²¹"-like SVG text is done inside; this gives the plain text
// used in tables: 3 significant digits.
std::string format_number(double value);

std::string render_svg(const PlotSpec& spec);

}  // namespace ss::analysis
