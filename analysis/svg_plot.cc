// The SVG writer (see svg_plot.h). Layout: title on top, plot area with axes on the left, the
// legend and the colour bar in a column to the right of the plot area so they never hide data.
#include "analysis/svg_plot.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace ss::analysis {
namespace {

constexpr double kLeft = 78, kRight = 190, kTop = 44, kBottom = 62;

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

// One axis: maps data values to pixels and knows its ticks.
struct Axis {
  bool log = true;
  double lo = 0, hi = 1;  // in transformed space (log10 for log axes)
  double pixel_lo = 0, pixel_hi = 1;

  double transform(double v) const { return log ? std::log10(v) : v; }
  bool accepts(double v) const { return std::isfinite(v) && (!log || v > 0); }
  double to_pixel(double v) const {
    return pixel_lo + (transform(v) - lo) / (hi - lo) * (pixel_hi - pixel_lo);
  }
};

struct Tick {
  double value;
  std::string svg_label;  // SVG text content (may hold a tspan), empty for minor ticks
  bool major;
};

double nice_step(double range, int target) {
  const double raw = range / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

std::string decade_label(int exponent) {
  if (exponent == 0) return "1";
  if (exponent == 1) return "10";
  return fmt::format("10<tspan dy=\"-7\" font-size=\"10\">{}</tspan>", exponent);
}

std::vector<Tick> axis_ticks(const Axis& axis) {
  std::vector<Tick> ticks;
  if (axis.log) {
    const int first = static_cast<int>(std::ceil(axis.lo - 1e-9));
    const int last = static_cast<int>(std::floor(axis.hi + 1e-9));
    if (last - first >= 1) {
      const int stride = std::max(1, (last - first + 1) / 8);  // at most ~8 labelled decades
      for (int e = first - 1; e <= last; ++e) {
        if (e >= first && (e - first) % stride == 0)
          ticks.push_back({std::pow(10.0, e), decade_label(e), true});
        else if (e >= first)
          ticks.push_back({std::pow(10.0, e), "", false});
        if (axis.hi - axis.lo < 7)
          for (int m = 2; m <= 9; ++m) {
            const double v = m * std::pow(10.0, e);
            const double t = std::log10(v);
            if (t > axis.lo && t < axis.hi) ticks.push_back({v, "", false});
          }
      }
      return ticks;
    }
    // Less than two decades in view (e.g. losses 1.8..5): plain numbers at log positions.
    const double vlo = std::pow(10.0, axis.lo), vhi = std::pow(10.0, axis.hi);
    const double step = nice_step(vhi - vlo, 6);
    for (double v = std::ceil(vlo / step) * step; v <= vhi; v += step)
      ticks.push_back({v, format_number(v), true});
    return ticks;
  }
  const double step = nice_step(axis.hi - axis.lo, 6);
  for (double v = std::ceil(axis.lo / step) * step; v <= axis.hi + step * 1e-9; v += step)
    ticks.push_back({std::abs(v) < step * 1e-9 ? 0.0 : v, format_number(v), true});
  return ticks;
}

// Fits the axis range to the data of every series (with 4% padding).
Axis fit_axis(const PlotSpec& spec, bool is_x, double pixel_lo, double pixel_hi) {
  Axis axis;
  axis.log = is_x ? spec.log_x : spec.log_y;
  axis.pixel_lo = pixel_lo;
  axis.pixel_hi = pixel_hi;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : spec.series) {
    const auto& values = is_x ? s.x : s.y;
    const auto& other = is_x ? s.y : s.x;
    for (std::size_t i = 0; i < values.size() && i < other.size(); ++i) {
      if (!axis.accepts(values[i])) continue;
      const double t = axis.transform(values[i]);
      lo = std::min(lo, t);
      hi = std::max(hi, t);
    }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
  const double pad = 0.04 * (hi - lo);
  axis.lo = lo - pad;
  axis.hi = hi + pad;
  return axis;
}

std::string marker_svg(Marker marker, double x, double y, double r, const std::string& color,
                       double opacity) {
  switch (marker) {
    case Marker::kNone:
      return "";
    case Marker::kCircle:
      return fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" fill=\"{}\" fill-opacity=\"{:.2f}\" "
          "stroke=\"#222\" stroke-width=\"0.4\"/>\n",
          x, y, r, color, opacity);
    case Marker::kSquare:
      return fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
          "fill-opacity=\"{:.2f}\" stroke=\"#222\" stroke-width=\"0.4\"/>\n",
          x - r, y - r, 2 * r, 2 * r, color, opacity);
    case Marker::kDiamond:
      return fmt::format(
          "<polygon points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\" "
          "fill=\"{}\" fill-opacity=\"{:.2f}\" stroke=\"#222\" stroke-width=\"0.5\"/>\n",
          x, y - 1.4 * r, x + 1.4 * r, y, x, y + 1.4 * r, x - 1.4 * r, y, color, opacity);
    case Marker::kCross:
      return fmt::format(
          "<path d=\"M{:.1f},{:.1f}L{:.1f},{:.1f}M{:.1f},{:.1f}L{:.1f},{:.1f}\" stroke=\"{}\" "
          "stroke-width=\"2\" stroke-opacity=\"{:.2f}\"/>\n",
          x - r, y - r, x + r, y + r, x - r, y + r, x + r, y - r, color, opacity);
  }
  return "";
}

}  // namespace

std::string color_scale(double t) {
  // Viridis sampled at 6 stops, linearly interpolated.
  static constexpr std::array<std::array<double, 3>, 6> kStops = {
      {{68, 1, 84}, {65, 68, 135}, {42, 120, 142}, {34, 168, 132}, {122, 209, 81}, {253, 231, 37}}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0);
  const double pos = t * (kStops.size() - 1);
  const std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(pos), kStops.size() - 2);
  const double f = pos - i;
  std::array<int, 3> rgb{};
  for (int k = 0; k < 3; ++k)
    rgb[k] = static_cast<int>(std::lround(kStops[i][k] * (1 - f) + kStops[i + 1][k] * f));
  return fmt::format("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
}

double log_fraction(double value, double min, double max) {
  if (!(value > 0) || !(min > 0) || !(max > min)) return 0.5;
  return std::clamp(std::log10(value / min) / std::log10(max / min), 0.0, 1.0);
}

std::string format_number(double value) {
  if (!std::isfinite(value)) return "n/a";
  const double a = std::abs(value);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) return fmt::format("{:.3g}", value);
  return fmt::format("{:.4g}", value);
}

namespace {

// The frame of a plot: pixel corners of the plot area and its two axes.
struct Frame {
  double px0, px1, py0, py1;  // left, right, bottom, top (SVG y grows downwards)
  Axis ax, ay;
};

// Grid lines (under the data), then the plot-area border, tick marks and tick labels.
std::string axes_svg(const Frame& f) {
  std::string grid = "<g stroke=\"#ddd\" stroke-width=\"0.8\">\n", labels;
  for (const auto& t : axis_ticks(f.ax)) {
    const double x = f.ax.to_pixel(t.value);
    if (x < f.px0 - 0.5 || x > f.px1 + 0.5) continue;
    if (t.major)
      grid += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>\n",
                          x, f.py0, f.py1);
    labels += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>\n", x,
        f.py0, f.py0 + (t.major ? 6 : 3));
    if (!t.svg_label.empty())
      labels += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x,
                            f.py0 + 20, t.svg_label);
  }
  for (const auto& t : axis_ticks(f.ay)) {
    const double y = f.ay.to_pixel(t.value);
    if (y > f.py0 + 0.5 || y < f.py1 - 0.5) continue;
    if (t.major)
      grid += fmt::format("<line x1=\"{1:.1f}\" y1=\"{0:.1f}\" x2=\"{2:.1f}\" y2=\"{0:.1f}\"/>\n",
                          y, f.px0, f.px1);
    labels += fmt::format(
        "<line x1=\"{1:.1f}\" y1=\"{0:.1f}\" x2=\"{2:.1f}\" y2=\"{0:.1f}\" stroke=\"#333\"/>\n", y,
        f.px0 - (t.major ? 6 : 3), f.px0);
    if (!t.svg_label.empty())
      labels += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                            f.px0 - 9, y + 4, t.svg_label);
  }
  grid += "</g>\n";
  return grid +
         fmt::format(
             "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
             "stroke=\"#333\"/>\n",
             f.px0, f.py1, f.px1 - f.px0, f.py0 - f.py1) +
         labels;
}

// Every series' line and markers, clipped to the plot area; invalid values are skipped.
std::string data_svg(const PlotSpec& spec, const Frame& f) {
  std::string out = "<g clip-path=\"url(#plot-area)\">\n";
  for (const auto& s : spec.series) {
    std::vector<std::pair<double, double>> pts;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (f.ax.accepts(s.x[i]) && f.ay.accepts(s.y[i]))
        pts.emplace_back(f.ax.to_pixel(s.x[i]), f.ay.to_pixel(s.y[i]));
    if (s.line && pts.size() >= 2) {
      std::string d;
      for (const auto& [x, y] : pts)
        d += fmt::format("{}{:.1f},{:.1f}", d.empty() ? "M" : "L", x, y);
      out += fmt::format(
          "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{:.1f}\" "
          "stroke-opacity=\"{:.2f}\"{}/>\n",
          d, s.color, s.line_width, s.opacity, s.dashed ? " stroke-dasharray=\"6,4\"" : "");
    }
    for (const auto& [x, y] : pts)
      out += marker_svg(s.marker, x, y, s.marker_size, s.color, s.opacity);
  }
  return out + "</g>\n";
}

// The legend (labelled, non-empty series; at most 16) in the right column from y = ly down;
// advances ly past it.
std::string legend_svg(const PlotSpec& spec, double lx, double& ly) {
  std::string out;
  int shown = 0;
  for (const auto& s : spec.series) {
    if (s.label.empty() || s.x.empty()) continue;  // an empty series explains nothing
    if (shown == 16) {
      out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">…</text>\n", lx + 26, ly + 4);
      ly += 18;
      break;
    }
    if (s.line)
      out += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
          "stroke-width=\"{:.1f}\"{}/>\n",
          lx, ly, lx + 20, ly, s.color, s.line_width, s.dashed ? " stroke-dasharray=\"6,4\"" : "");
    out += marker_svg(s.marker, lx + 10, ly, s.marker_size, s.color, 1.0);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\">{}</text>\n", lx + 26,
                       ly + 4, escape_xml(s.label));
    ly += 18;
    ++shown;
  }
  return out;
}

// The colour bar between `top` and `bottom` at x = bx, with decade labels; nothing when the
// space left is under 60 px.
std::string color_bar_svg(const ColorBar& bar, double bx, double top, double bottom) {
  if (bottom - top <= 60) return "";
  std::string out = "<defs><linearGradient id=\"color-bar\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  for (int i = 0; i <= 10; ++i)
    out += fmt::format("<stop offset=\"{:.1f}\" stop-color=\"{}\"/>", i / 10.0,
                       color_scale(i / 10.0));
  out += "</linearGradient></defs>\n";
  out += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\">{}</text>\n"
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"{:.1f}\" "
      "fill=\"url(#color-bar)\" stroke=\"#333\"/>\n",
      bx - 4, top - 8, escape_xml(bar.label), bx, top, bottom - top);
  Axis cb;
  cb.log = true;
  cb.lo = std::log10(bar.min);
  cb.hi = std::log10(std::max(bar.max, bar.min * 1.0001));
  cb.pixel_lo = bottom;
  cb.pixel_hi = top;
  for (const auto& t : axis_ticks(cb)) {
    const double y = cb.to_pixel(t.value);
    if (y > bottom + 0.5 || y < top - 0.5 || t.svg_label.empty()) continue;
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#333\"/>\n"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\">{}</text>\n",
        bx + 14, y, bx + 19, y, bx + 22, y + 4, t.svg_label);
  }
  return out;
}

}  // namespace

std::string render_svg(const PlotSpec& spec) {
  const double w = spec.width, h = spec.height;
  Frame f{kLeft, w - kRight, h - kBottom, kTop, {}, {}};
  f.ax = fit_axis(spec, true, f.px0, f.px1);
  f.ay = fit_axis(spec, false, f.py0, f.py1);
  std::string out = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
      "font-size=\"12\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
      w, h);
  out += fmt::format(
      "<text x=\"{:.1f}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" "
      "font-weight=\"bold\">{}</text>\n",
      (f.px0 + f.px1) / 2, escape_xml(spec.title));
  out += fmt::format(
      "<defs><clipPath id=\"plot-area\"><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
      "height=\"{:.1f}\"/></clipPath></defs>\n",
      f.px0, f.py1, f.px1 - f.px0, f.py0 - f.py1);
  out += axes_svg(f);
  out += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"13\">{}</text>\n",
      (f.px0 + f.px1) / 2, h - 16, escape_xml(spec.x_label));
  out += fmt::format(
      "<text transform=\"translate(18,{:.1f}) rotate(-90)\" text-anchor=\"middle\" "
      "font-size=\"13\">{}</text>\n",
      (f.py0 + f.py1) / 2, escape_xml(spec.y_label));
  out += data_svg(spec, f);
  double ly = f.py1 + 4;
  const double lx = f.px1 + 16;
  out += legend_svg(spec, lx, ly);
  if (spec.color_bar)
    out += color_bar_svg(*spec.color_bar, lx + 4, std::max(ly + 24, f.py1 + 20), f.py0);
  return out + "</svg>\n";
}

}  // namespace ss::analysis
