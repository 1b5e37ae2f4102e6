// The bridge between scalefit and analysis/laws (ss_laws): which laws exist, which points each
// uses, running the fits with bootstrap and turning ss_laws' results into LawFit. Invariant: a
// law the data cannot support is a LawSkip with a one-line reason, never a fit on bad data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/fit_data.h"
#include "analysis/law_fit.h"
#include "analysis/progress.h"

namespace ss::analysis {

// Every law name scalefit accepts, in report order.
const std::vector<std::string>& known_law_names();

// Parses --law (a comma list, or "all"). Throws ss::InputError on an unknown name.
std::vector<std::string> parse_law_list(const std::string& text);

struct LawRunOptions {
  int bootstrap = 1000;
  std::uint64_t seed = 0;
  int threads = 0;  // 0: all hardware threads
  std::vector<double> budgets;
};

struct LawRunResult {
  std::vector<LawFit> fits;
  std::vector<LawSkip> skipped;
};

// Fits each law of `laws` to `data`, with allocations for options.budgets.
LawRunResult run_laws(const FitData& data, const std::vector<std::string>& laws,
                      const LawRunOptions& options, ProgressLine& progress);

}  // namespace ss::analysis
