// The report's plots that show a fit: isoflop.svg and the frontier's measured minima are the
// chinchilla-2 fit's own profiles (its grouping, parabolas and vertices), so the plotted minimum
// is the fitted one by construction; checked here number for number against the fit's
// budget_minima (the points its N_opt = k_N C^a line was fitted to).
#include "analysis/report_plots.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "analysis/law_runner.h"
#include "tests/analysis/laws/synthetic.h"

namespace ss::analysis {
namespace {

double truth(double n, double d) {
  return laws::testing::kHoffmann2022(n, d);
}

// 3 planned budgets x 5 sizes; each run's actual C is off its budget by -15%..+15% (a spread of
// 0.13 decade, wider than the 0.05-decade window used without planned budgets).
FitData planned_isoflop_runs() {
  FitData data;
  data.source = "synthetic";
  for (double budget : {1e18, 1e19, 1e20})
    for (int k = 0; k < 5; ++k) {
      FitPoint p;
      p.run = static_cast<std::int64_t>(data.points.size());
      p.n = 1e7 * std::pow(10.0, 0.5 * k) * std::sqrt(budget / 1e18);
      p.c = budget * (0.85 + 0.075 * k);
      p.d = p.c / (6 * p.n);
      p.loss = truth(p.n, p.d);
      p.loss_kind = "val";
      p.budget = budget;
      data.points.push_back(p);
    }
  return data;
}

const PlotSeries& series(const std::vector<NamedPlot>& plots, const std::string& file,
                         const std::string& label) {
  const auto plot =
      std::find_if(plots.begin(), plots.end(), [&](const NamedPlot& p) { return p.file == file; });
  EXPECT_NE(plot, plots.end()) << file;
  const auto& all = plot->spec.series;
  const auto s =
      std::find_if(all.begin(), all.end(), [&](const PlotSeries& x) { return x.label == label; });
  EXPECT_NE(s, all.end()) << file << ": " << label;
  return *s;
}

TEST(ReportPlots, IsoflopPlotDrawsTheFittedMinima) {
  const FitData data = planned_isoflop_runs();
  laws::FitOptions options;
  options.bootstrap = 0;
  const laws::LawFit fit = laws::fit_law("chinchilla-2", to_law_input(data), options);
  const auto& rows = fit.details.at("budget_minima");
  ASSERT_EQ(rows.size(), 3u);  // one per planned budget, despite the scattered C
  std::vector<PlotSkip> skipped;
  const auto plots = build_report_plots(data, {fit}, {}, skipped);
  const PlotSeries& minima = series(plots, "isoflop.svg", "parabola minima");
  const PlotSeries& frontier = series(plots, "compute_frontier.svg", "isoFLOP minima");
  ASSERT_EQ(minima.x.size(), 3u);
  ASSERT_EQ(frontier.x.size(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(minima.x[k], rows[k].at("n_opt").get<double>());
    EXPECT_EQ(minima.y[k], rows[k].at("loss").get<double>());
    EXPECT_EQ(frontier.x[k], rows[k].at("C").get<double>());
    EXPECT_EQ(frontier.y[k], rows[k].at("n_opt").get<double>());
  }
  // Each drawn parabola passes through its vertex's neighbourhood and never below it.
  const auto isoflop = std::find_if(plots.begin(), plots.end(),
                                    [](const NamedPlot& p) { return p.file == "isoflop.svg"; });
  std::size_t curves = 0;
  for (const PlotSeries& s : isoflop->spec.series) {
    if (!s.line) continue;
    const double lowest = *std::min_element(s.y.begin(), s.y.end());
    EXPECT_GE(lowest, minima.y[curves] - 1e-12);
    EXPECT_NEAR(lowest, minima.y[curves], 1e-3);
    ++curves;
  }
  EXPECT_EQ(curves, 3u);
  EXPECT_TRUE(std::none_of(skipped.begin(), skipped.end(),
                           [](const PlotSkip& s) { return s.file == "isoflop.svg"; }));
}

// Without a chinchilla-2 fit (e.g. --law chinchilla-3) the plot shows the same profiles,
// computed by ss_laws' one grouping: the minima are those a chinchilla-2 fit would have.
TEST(ReportPlots, WithoutAChinchilla2FitTheSameProfilesAreDrawn) {
  const FitData data = planned_isoflop_runs();
  laws::FitOptions options;
  options.bootstrap = 0;
  const laws::LawFit fit = laws::fit_law("chinchilla-2", to_law_input(data), options);
  std::vector<PlotSkip> skipped;
  const auto with_fit = build_report_plots(data, {fit}, {}, skipped);
  const auto without = build_report_plots(data, {}, {}, skipped);
  const PlotSeries& a = series(with_fit, "isoflop.svg", "parabola minima");
  const PlotSeries& b = series(without, "isoflop.svg", "parabola minima");
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.y, b.y);
  // Runs of one C each: no budget has 3 sizes, so no plot, with the reason.
  FitData scattered = data;
  for (std::size_t i = 0; i < scattered.points.size(); ++i) {
    scattered.points[i].budget.reset();
    scattered.points[i].c *= std::pow(10.0, 0.1 * static_cast<double>(i));
  }
  skipped.clear();
  const auto none = build_report_plots(scattered, {}, {}, skipped);
  EXPECT_TRUE(std::none_of(none.begin(), none.end(),
                           [](const NamedPlot& p) { return p.file == "isoflop.svg"; }));
  EXPECT_TRUE(std::any_of(skipped.begin(), skipped.end(),
                          [](const PlotSkip& s) { return s.file == "isoflop.svg"; }));
}

}  // namespace
}  // namespace ss::analysis
