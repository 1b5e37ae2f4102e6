// `scalefit shape`: loss against model shape at fixed N (Kaplan et al. 2020, section 3.1 and
// Fig. 5: loss depends on shape only weakly, a few percent over a 40x range of aspect ratios).
// Runs are grouped by non-embedding N (a group holds the runs within `n_tolerance` of its
// smallest N); in each group loss is taken relative to the group's best run, and a quadratic in
// ln(aspect ratio), aspect = d_model / n_layer, is fitted to ln(L / L_best) when the group has at
// least 3 aspect ratios. Invariant: the functions here compute from their arguments only; the
// verdict is a function of the numbers reported beside it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/fit_data.h"

namespace ss::analysis {

// One run: its final point and its shape.
struct ShapeRun {
  FitPoint point;
  std::int64_t n_layer = 0, d_model = 0, n_head = 0;
  double aspect() const { return static_cast<double>(d_model) / static_cast<double>(n_layer); }
};

// ln(L / L_best) = c0 + c1 x + c2 x^2, x = ln(aspect).
struct ShapeQuadratic {
  double c0 = 0, c1 = 0, c2 = 0;
  double rms = 0;                     // of the residuals in ln L
  std::optional<double> best_aspect;  // exp(-c1 / (2 c2)) when c2 > 0
  // c2 (ln 40 / 2)^2: the fitted loss increase 20x on either side of the best aspect (40x span)
  double penalty_40x = 0;
};

struct ShapeGroup {
  double n = 0;                // geometric mean N of the members
  double n_mismatch = 0;       // max N / min N - 1 within the group
  std::vector<ShapeRun> runs;  // ordered by aspect ratio, then heads
  double best_loss = 0;
  std::size_t aspects = 0;  // distinct aspect ratios
  double spread = 0;        // max L / min L - 1 over the group's runs
  double head_spread = 0;   // largest (max / min - 1) over heads at one (n_layer, d_model)
  std::optional<ShapeQuadratic> fit;  // >= 3 aspect ratios
};

struct ShapeReport {
  std::vector<ShapeGroup> groups;  // by N; only groups with >= 2 aspect ratios
  double n_tolerance = 0.05;
  std::optional<double> loss_slope;  // d ln L / d ln N across the groups' best runs (>= 2 groups)
  std::string verdict;               // one paragraph
  std::vector<std::string> notes;    // runs left out, singleton groups
};

// Groups and fits. Throws ss::InputError when no N has runs at 2 or more aspect ratios.
ShapeReport shape_report(std::vector<ShapeRun> runs, double n_tolerance);

// The store's runs selected by `where` (store_input.h's policy for N, D and loss) with their
// shapes. Throws ss::InputError for a CSV or an empty selection.
std::vector<ShapeRun> read_shape_runs(const std::string& store_path, const std::string& where);

std::string shape_markdown(const ShapeReport& report);
nlohmann::json shape_json(const ShapeReport& report);
// loss / best - 1 (%) against aspect ratio (log x), one colour per N: runs as markers (circle one
// head count, square another, ...) and the fitted quadratic as a line.
std::string shape_svg(const ShapeReport& report);

}  // namespace ss::analysis
