// The report's plots, assembled from FitData, the fitted laws and the overfitting flags into
// PlotSpecs (svg_plot.h draws them). Invariant: a plot whose data is absent is not returned;
// its file name and the reason go into `skipped` for the report instead.
#pragma once

#include <string>
#include <vector>

#include "analysis/fit_data.h"
#include "analysis/laws/laws.h"
#include "analysis/overfit_flags.h"
#include "analysis/svg_plot.h"

namespace ss::analysis {

struct NamedPlot {
  std::string file;     // e.g. "loss_vs_n.svg"
  std::string caption;  // one line for report.md
  PlotSpec spec;
};

struct PlotSkip {
  std::string file;
  std::string reason;
};

// A group of points trained with about the same FLOP budget, with the parabola
// loss = a (log10 N)^2 + b log10 N + c fitted by least squares when it has >= 3 points and
// opens upward.
struct IsoFlopGroup {
  double budget = 0;                 // geometric mean of the group's C
  std::vector<std::size_t> members;  // indices into FitData::points
  bool has_parabola = false;
  double a = 0, b = 0, c = 0;
  double n_min = 0, loss_min = 0;  // the parabola's minimum
};

// Groups points (sorted by C) whose log10 C lie within `tolerance_decades` of their group's
// smallest C; only groups of >= 3 points with >= 3 distinct N are returned.
std::vector<IsoFlopGroup> group_isoflop(const std::vector<FitPoint>& points,
                                        double tolerance_decades = 0.05);

std::vector<NamedPlot> build_report_plots(const FitData& data, const std::vector<laws::LawFit>& fits,
                                          const std::vector<RunOverfit>& flags,
                                          std::vector<PlotSkip>& skipped);

}  // namespace ss::analysis
