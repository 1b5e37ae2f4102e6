// The report's plots, assembled from FitData, the fitted laws and the overfitting flags into
// PlotSpecs (svg_plot.h draws them). Invariant: a plot whose data is absent is not returned;
// its file name and the reason go into `skipped` for the report instead; a fitted quantity is
// drawn from the fit itself, never refitted here.
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

// The report's plots. isoflop.svg (and the frontier's measured minima) are drawn from the
// chinchilla-2 fit in `fits` (laws::isoflop_profiles); without one, from the same profiles
// computed by ss_laws.
std::vector<NamedPlot> build_report_plots(const FitData& data, const std::vector<laws::LawFit>& fits,
                                          const std::vector<RunOverfit>& flags,
                                          std::vector<PlotSkip>& skipped);

}  // namespace ss::analysis
