// scalefit's --out directory: fits.json, points.csv, report.md and the SVG plots. Invariant:
// everything is written into a temporary sibling directory first and renamed onto DIR at the
// end (report_dir.h), so a failure leaves either the earlier report or nothing, never a
// half-written one, and nothing scalefit did not write is ever removed.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/fit_data.h"
#include "analysis/law_runner.h"
#include "analysis/overfit_flags.h"
#include "analysis/report_plots.h"

namespace ss::analysis {

// A section a command adds to the report (e.g. --inference-tokens, reproduce): its report.md
// text, placed before the plots, its fits.json value under json_key, and its own plots (written
// beside report.md; the markdown embeds them).
struct ReportSection {
  std::string markdown;
  std::string json_key;
  nlohmann::json json;
  std::vector<NamedPlot> plots;
};

struct ReportInput {
  const FitData* data = nullptr;
  std::vector<laws::LawFit> fits;
  std::vector<LawSkip> skipped;
  std::vector<laws::Allocation> allocations;  // LawRunResult::allocations
  std::vector<RunOverfit> flags;
  std::vector<double> budgets;
  std::string command_line;  // how scalefit was called, for the report header
  int bootstrap = 0;
  double overfit_gap = 0.1;
  std::vector<ReportSection> sections;  // in report order
};

// The fits.json document (an object `fits` keyed by law name).
std::string fits_json_text(const ReportInput& input);

// points.csv: one row per point with its overfitting flags.
std::string points_csv_text(const ReportInput& input);

// Writes the whole directory atomically (see above). Throws ss::InputError when DIR may not
// hold a report (check_report_target), std::runtime_error / filesystem_error on I/O failure
// (after removing the temporary directory).
void write_report_dir(const std::filesystem::path& out_dir, const ReportInput& input);

}  // namespace ss::analysis
