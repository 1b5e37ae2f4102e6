// The SVG writer: documents parse as XML (python3's xml.etree, a real parser), log axes carry
// decade labels, text is escaped, and bad values (NaN, <= 0 on a log axis) are skipped.
#include "analysis/svg_plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

bool parses_as_xml(const std::string& svg) {
  const fs::path p =
      fs::temp_directory_path() / ("scalefit_svg_test_" + std::to_string(::getpid()) + ".svg");
  std::ofstream(p) << svg;
  const std::string cmd =
      "/usr/bin/python3 -c \"import sys, xml.etree.ElementTree as E; "
      "r = E.parse(sys.argv[1]).getroot(); sys.exit(0 if r.tag.endswith('svg') else 1)\" " +
      p.string();
  const int rc = std::system(cmd.c_str());
  fs::remove(p);
  return rc == 0;
}

TEST(SvgPlot, WellFormedWithDecadeTicksLegendAndColourBar) {
  PlotSpec spec;
  spec.title = "Loss <vs> N & \"D\"";
  spec.x_label = "N (parameters)";
  spec.y_label = "loss";
  PlotSeries s;
  s.label = "runs <1e9";
  s.x = {1e6, 1e7, 1e8, 1e9};
  s.y = {4.0, 3.2, 2.6, 2.2};
  s.line = true;
  spec.series.push_back(s);
  PlotSeries bad;
  bad.x = {std::numeric_limits<double>::quiet_NaN(), -1, 1e7};
  bad.y = {3, 3, 0};  // all three invalid on log axes
  spec.series.push_back(bad);
  spec.color_bar = ColorBar{"N", 1e6, 1e9};
  const std::string svg = render_svg(spec);
  EXPECT_TRUE(parses_as_xml(svg));
  EXPECT_NE(svg.find("Loss &lt;vs&gt; N &amp; &quot;D&quot;"), std::string::npos);
  EXPECT_NE(svg.find("10<tspan dy=\"-7\" font-size=\"10\">7</tspan>"), std::string::npos);
  EXPECT_NE(svg.find("runs &lt;1e9"), std::string::npos);
  EXPECT_NE(svg.find("linearGradient"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

TEST(SvgPlot, EmptyAndSinglePointPlotsStillRender) {
  PlotSpec spec;
  spec.title = "empty";
  EXPECT_TRUE(parses_as_xml(render_svg(spec)));
  PlotSeries one;
  one.x = {5};
  one.y = {5};
  spec.series.push_back(one);
  EXPECT_TRUE(parses_as_xml(render_svg(spec)));
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
