// The SVG writer, checked on the parsed document (python3's xml.etree through svg_elements.py),
// not on its markup: points land where the axes put them (log spacing, inside the plot area),
// lines join them, bad values (NaN, <= 0 on a log axis) are skipped, labels are escaped text.
#include "analysis/svg_plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>
#include <algorithm>

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

// The plot as parsed by tests/analysis/svg_elements.py (python's xml.etree): plot area, data
// elements with pixel coordinates, text labels. Fails the test when the SVG does not parse.
nlohmann::json parse_svg(const std::string& svg) {
  const fs::path dir = fs::temp_directory_path();
  const std::string stem = "scalefit_svg_test_" + std::to_string(::getpid());
  const fs::path in = dir / (stem + ".svg"), out = dir / (stem + ".json");
  std::ofstream(in) << svg;
  const std::string cmd = std::string("/usr/bin/python3 ") + SVG_ELEMENTS_PY + " " +
                          in.string() + " > " + out.string();
  const int rc = std::system(cmd.c_str());
  std::ifstream json(out);
  nlohmann::json parsed = rc == 0 ? nlohmann::json::parse(json) : nlohmann::json();
  fs::remove(in);
  fs::remove(out);
  EXPECT_EQ(rc, 0) << "svg_elements.py could not parse:\n" << svg;
  return parsed;
}

std::vector<nlohmann::json> of_kind(const nlohmann::json& plot, const std::string& kind) {
  std::vector<nlohmann::json> out;
  for (const auto& e : plot["data"])
    if (e["kind"] == kind) out.push_back(e);
  return out;
}

bool contains(const nlohmann::json& texts, const std::string& text) {
  return std::find(texts.begin(), texts.end(), text) != texts.end();
}

// Four points one decade apart on log-log axes, joined by a line, plus a series whose three
// points are all invalid on log axes (NaN, x < 0, y = 0).
PlotSpec decade_plot() {
  PlotSpec spec;
  spec.title = "Loss <vs> N & \"D\"";
  spec.x_label = "N (parameters)";
  spec.y_label = "loss";
  PlotSeries s;
  s.label = "runs <1e9";
  s.color = "#123456";
  s.x = {1e6, 1e7, 1e8, 1e9};
  s.y = {4.0, 3.2, 2.6, 2.2};
  s.line = true;
  spec.series.push_back(s);
  PlotSeries bad;
  bad.x = {std::numeric_limits<double>::quiet_NaN(), -1, 1e7};
  bad.y = {3, 3, 0};
  spec.series.push_back(bad);
  spec.color_bar = ColorBar{"N", 1e6, 1e9};
  return spec;
}

TEST(SvgPlot, PointsLandWhereTheAxesSayAndBadValuesAreSkipped) {
  const std::string svg = render_svg(decade_plot());
  const nlohmann::json plot = parse_svg(svg);
  ASSERT_TRUE(plot.is_object());
  const auto area = plot["area"].get<std::vector<double>>();  // x0, y0 (top), x1, y1 (bottom)
  const auto circles = of_kind(plot, "circle");
  const auto lines = of_kind(plot, "line");
  ASSERT_EQ(circles.size(), 4u);  // the invalid series draws nothing
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(lines[0]["points"].size(), 4u);
  EXPECT_EQ(lines[0]["color"], "#123456");
  std::vector<double> xs, ys;
  for (const auto& c : circles) {
    EXPECT_EQ(c["color"], "#123456");
    xs.push_back(c["points"][0][0].get<double>());
    ys.push_back(c["points"][0][1].get<double>());
    EXPECT_EQ(c["points"][0], lines[0]["points"][xs.size() - 1]);  // the line joins the points
  }
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_GT(xs[i], area[0]);
    EXPECT_LT(xs[i], area[2]);
    EXPECT_GT(ys[i], area[1]);
    EXPECT_LT(ys[i], area[3]);
  }
  // Log x axis: one decade is the same width everywhere (0.1 px rounding in the file), and the
  // data span (3 decades + 4% padding each side) fills the plot width.
  for (std::size_t i = 1; i < 4; ++i) EXPECT_NEAR(xs[i] - xs[i - 1], xs[1] - xs[0], 0.2);
  EXPECT_NEAR((xs[3] - xs[0]) / (area[2] - area[0]), 1.0 / 1.08, 1e-3);
  // Falling loss: lower on the page (SVG y grows downwards), spaced by log ratios.
  for (std::size_t i = 1; i < 4; ++i) EXPECT_GT(ys[i], ys[i - 1]);
  const double per_log = (ys[3] - ys[0]) / std::log10(4.0 / 2.2);
  EXPECT_NEAR(ys[1] - ys[0], per_log * std::log10(4.0 / 3.2), 0.2);
  // Labels: decade ticks as 10^k, escaped title and legend text, the colour bar.
  for (const char* tick : {"10^6", "10^7", "10^8", "10^9"})
    EXPECT_TRUE(contains(plot["texts"], tick)) << tick;
  EXPECT_TRUE(contains(plot["texts"], "Loss <vs> N & \"D\""));
  EXPECT_TRUE(contains(plot["legend_and_bar"], "runs <1e9"));
  EXPECT_TRUE(plot["gradient"].get<bool>());
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

TEST(SvgPlot, MarkersAndDashedLinesAreDrawnAsAsked) {
  PlotSpec spec = decade_plot();
  spec.series[0].line = false;
  spec.series[0].marker = Marker::kDiamond;
  PlotSeries dashed;
  dashed.x = {1e6, 1e9};
  dashed.y = {3, 3};
  dashed.line = true;
  dashed.dashed = true;
  dashed.marker = Marker::kSquare;
  spec.series.push_back(dashed);
  const nlohmann::json plot = parse_svg(render_svg(spec));
  EXPECT_EQ(of_kind(plot, "diamond").size(), 4u);
  EXPECT_EQ(of_kind(plot, "circle").size(), 0u);
  EXPECT_EQ(of_kind(plot, "square").size(), 2u);
  const auto lines = of_kind(plot, "line");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0]["dashed"].get<bool>());
  // A constant y: a horizontal line.
  EXPECT_EQ(lines[0]["points"][0][1], lines[0]["points"][1][1]);
}

TEST(SvgPlot, EmptyAndSinglePointPlotsStillRender) {
  PlotSpec spec;
  spec.title = "empty";
  EXPECT_TRUE(parse_svg(render_svg(spec))["data"].empty());
  PlotSeries one;
  one.x = {5};
  one.y = {5};
  spec.series.push_back(one);
  const nlohmann::json plot = parse_svg(render_svg(spec));
  ASSERT_EQ(of_kind(plot, "circle").size(), 1u);
  const auto area = plot["area"].get<std::vector<double>>();
  // One point: the axes centre it.
  EXPECT_NEAR(of_kind(plot, "circle")[0]["points"][0][0].get<double>(), (area[0] + area[2]) / 2,
              0.1);
}

TEST(SvgPlot, ColourScaleEndsAndLogFraction) {
  EXPECT_EQ(color_scale(0), "#440154");
  EXPECT_EQ(color_scale(1), "#fde725");
  EXPECT_EQ(color_scale(-3), color_scale(0));
  EXPECT_DOUBLE_EQ(log_fraction(1e7, 1e6, 1e8), 0.5);
  EXPECT_EQ(format_number(1.5e21), "1.5e+21");
  EXPECT_EQ(format_number(1.817), "1.817");
}

}  // namespace
}  // namespace ss::analysis
