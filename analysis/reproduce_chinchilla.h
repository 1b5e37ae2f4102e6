// `scalefit reproduce chinchilla`: Hoffmann et al. 2022's three approaches refitted to Epoch AI's
// extraction of their runs, set beside the published numbers (analysis/data/
// chinchilla_published.json): Table 2's exponents, Table 3 / A3's compute-optimal parameters and
// tokens at the published budgets, and Epoch AI's refit of approach 3 with its 95% intervals;
// plus each approach fitted to noise-free losses from our approach-3 law at the same points, which
// measures how much of a difference the method itself makes on this grid. Invariant: every
// published number comes from the data file, every "ours" from a fit of this run; nothing here
// fits or writes (the CLI, reproduce_cli.h, does).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/fit_data.h"
#include "analysis/laws/laws.h"
#include "analysis/report_writer.h"

namespace ss::analysis {

using Interval = std::pair<double, double>;

// One published number beside ours.
struct Compared {
  double published = 0;
  std::optional<Interval> published_interval;
  double ours = 0;
  std::optional<Interval> ours_interval;  // our 95% bootstrap CI
  double diff() const { return ours - published; }
  double ratio() const { return ours / published; }
};

// Table 2: one approach's exponents.
struct ExponentRow {
  int approach = 0;
  std::string name;  // the paper's name of the approach
  std::string law;   // ours: chinchilla-1/2/3
  Compared a, b;
};

// Table 3 / A3: one model size's published budget, and our N_opt, D_opt at that budget.
struct AllocationRow {
  int approach = 0;
  std::string table;
  double budget = 0;     // published FLOPs
  Compared n, d;         // published params / tokens beside ours at `budget`
  bool consistent = true;  // the published row has 6 N D within 5% of its FLOPs
};

// Epoch AI's refit: one parameter of approach 3.
struct ParamRow {
  std::string name;
  Compared value;
  bool inside_published_interval() const;
};

// One approach fitted to noise-free losses from our chinchilla-3 law at the data's (N, D).
struct MethodCheck {
  std::string law;
  double a_noise_free = 0;  // the approach's a on those losses
  double a_exact = 0;       // beta / (alpha + beta) of the law that made them
};

struct Reproduction {
  std::string csv;          // the input, as given
  int points = 0;           // points fitted
  int dropped = 0;          // highest-loss points left out (Epoch's choice)
  int bootstrap = 0;        // resamples behind our CIs
  double c_min = 0, c_max = 0;  // the smallest and largest training FLOPs in the data
  std::map<std::string, std::string> sources;  // data-file block -> its "source" line
  std::vector<ExponentRow> exponents;
  std::vector<AllocationRow> allocations;
  std::vector<ParamRow> epoch;
  std::vector<MethodCheck> method;
};

// The laws reproduce fits, approach k at index k - 1.
const std::vector<std::string>& reproduce_laws();

// Approaches 1 and 2 fitted (no bootstrap) to `data` with each loss replaced by chinchilla-3's
// prediction at the point's (N, D).
std::vector<MethodCheck> method_checks(const FitData& data, const laws::LawFit& chinchilla3);

// Sets `fits` (reproduce_laws(), all fitted) beside `published` (chinchilla_published()).
// Throws std::out_of_range if the data file lacks a block it needs.
Reproduction compare_with_published(const std::vector<laws::LawFit>& fits,
                                    const nlohmann::json& published);

// The comparison as text tables (stdout), a report section, and fits.json "reproduce".
std::string reproduction_text(const Reproduction& r);
// The section's plot draws each fit's N_opt(C); `fits` are the ones compared.
ReportSection reproduction_section(const Reproduction& r, const std::vector<laws::LawFit>& fits);

}  // namespace ss::analysis
