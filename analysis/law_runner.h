// The bridge between scalefit and analysis/laws (ss_laws): FitData becomes the laws' input, each
// requested law is fitted with bootstrap, and compute-optimal allocations are computed for the
// --budget values. The fits are ss::laws::LawFit (one type from the law to the report).
// Invariant: a law the data cannot support is a LawSkip with a one-line reason, never a fit on
// bad data; a fit the quality rules call not identifiable is never shown as a result.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/fit_data.h"
#include "analysis/laws/laws.h"
#include "analysis/progress.h"

namespace ss::analysis {

// A law that could not be fitted to this data, with the reason (one line).
struct LawSkip {
  std::string law;
  std::string reason;
};

struct LawRunOptions {
  int bootstrap = 1000;
  std::uint64_t seed = 0;
  int threads = 0;  // 0: all hardware threads
  std::vector<double> budgets;
};

struct LawRunResult {
  std::vector<laws::LawFit> fits;
  std::vector<LawSkip> skipped;
  // laws::allocate_compute of the identifiable fits for each budget, budgets in the order
  // given: a fit that is not identifiable has no allocation and lends no loss.
  std::vector<laws::Allocation> allocations;
};

// The fits whose quality is identifiable, in order: the ones shown as results (values, CIs,
// allocations, plotted curves).
std::vector<laws::LawFit> identifiable_fits(const std::vector<laws::LawFit>& fits);

// One failed rule as the console and report.md print it: "<rule>: <evidence>; <advice>".
std::string quality_text(const laws::QualityReason& reason);

// The laws' input for `data`: final points (with S, B and planned budgets) and train-loss curves.
laws::LawInput to_law_input(const FitData& data);

// Fits each law of `laws` to `data`, with allocations for options.budgets.
LawRunResult run_laws(const FitData& data, const std::vector<std::string>& laws,
                      const LawRunOptions& options, ProgressLine& progress);

// The rows of `allocations` that belong to `law`, in budget order.
std::vector<laws::Allocation> allocations_of(const std::vector<laws::Allocation>& allocations,
                                             const std::string& law);

}  // namespace ss::analysis
