// ss_laws public API: scaling laws (Kaplan 2020, Chinchilla/Hoffmann 2022) fitted to plain
// structs (no SQLite), bootstrap CIs and compute-optimal allocation. Invariant: every fit says
// which points it used (LawFit::points_used); bad input (too few points, non-positive values,
// unknown law, missing S/B or one batch size for kaplan-ns) throws ss::InputError with one line
// and no side effect.
//
// Fitting choices (why):
// - kaplan-n, kaplan-d, kaplan-c, chinchilla-1/2 power laws are linear in log space: ordinary
//   least squares on logs (exact, no start dependence).
// - kaplan-nd, kaplan-ns: Ceres Problem (autodiff, Levenberg-Marquardt) on log-loss residuals from
//   a small grid of starts; kaplan-ns fixes alpha_B = 0.21 (Kaplan's value) unless
//   FitOptions::fit_alpha_b (B* is always fitted).
// - chinchilla-3: Epoch/Hoffmann parameterisation x = (a, b, e, alpha, beta), predicted
//   log L = LSE(a - alpha log N, b - beta log D, e), Huber (delta 1e-3) on log residuals, summed;
//   minimised by Ceres GradientProblem with L-BFGS line search and an analytic gradient, from
//   Epoch's 4,500-start grid in parallel threads; ties keep the earlier start, so the result is
//   independent of the thread count.
// - Bootstrap: runs resampled with replacement; resample i uses its own generator seeded from
//   (seed, i), so results are identical for any thread count. chinchilla-3 refits start from the
//   full-data optimum, 8 perturbations of it and 32 evenly spaced points of Epoch's grid.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ss::laws {

// One run's final result.
struct FinalPoint {
  std::int64_t run = -1;
  double n = 0;                        // non-embedding parameters N
  double d = 0;                        // training tokens D
  double c = 0;                        // training FLOPs; 0 means "use 6 N D"
  double loss = 0;                     // final loss
  std::optional<double> steps;         // S (optimizer steps), needed by kaplan-ns
  std::optional<double> batch_tokens;  // B (tokens per step), needed by kaplan-ns
  // The isoFLOP budget C the run was planned for (store schema v3: runs.budget); chinchilla-2
  // groups runs by it, and runs without it by a window of C (FitOptions::isoflop_tolerance).
  std::optional<double> budget;
};

// One logged step of a run's loss curve.
struct CurveStep {
  std::int64_t run = -1;
  double n = 0;
  double step = 0;
  double tokens = 0;
  double flops = 0;  // 0 means "use 6 N tokens"
  double loss = 0;
  std::optional<double> batch_tokens;
};

// Everything the laws may use. Curves are optional (kaplan-c then uses the final points).
struct LawInput {
  std::vector<FinalPoint> points;
  std::vector<CurveStep> curves;  // any order; grouped by run internally
};

// Progress of a long stage: (stage, done, total). Called from worker threads, serialised.
using ProgressFn = std::function<void(const std::string&, std::size_t, std::size_t)>;

struct FitOptions {
  int bootstrap = 1000;  // resamples; 0 disables CIs
  std::uint64_t seed = 0;
  int threads = 0;                  // 0: std::thread::hardware_concurrency()
  // chinchilla-2, runs without a planned budget: a budget holds the runs whose log10 C is
  // within this of its smallest log10 C.
  double isoflop_tolerance = 0.05;
  // chinchilla-1 from final points only (no curves): log-spaced FLOP budgets over their C. With
  // loss curves the budgets are a fixed grid, 1/40 decade apart (chinchilla12.cc says why).
  int approach1_budgets = 12;
  bool fit_alpha_b = false;         // kaplan-ns: fit alpha_B too (else fixed 0.21)
  ProgressFn progress;              // may be empty
};

// One failed quality rule of a fit: which rule, the numbers that failed it, and what to add to
// the sweep.
struct QualityReason {
  std::string rule;      // a quality_rule_names() name: bound, floor, ci, r2, budgets, range
  std::string evidence;  // the numbers, one line
  std::string advice;    // what to add to the sweep, one line
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(QualityReason, rule, evidence, advice)

// A fit's verdict: identifiable when no rule failed. A fit that is not identifiable is reported
// as such (console, report.md, fits.json), never as a result.
struct FitQuality {
  bool identifiable = true;
  std::vector<QualityReason> reasons;  // empty when identifiable
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(FitQuality, identifiable, reasons)

struct LawFit {
  std::string law;                                                    // a law_table() name
  std::vector<std::pair<std::string, double>> params;                 // the spec's order
  std::vector<std::pair<std::string, std::pair<double, double>>> ci;  // 2.5/97.5 percentiles
  std::int64_t n_points = 0;
  double residual = 0;                // see residual_kind
  std::string residual_kind;          // e.g. "RMS of log-loss residuals", "Huber objective (sum)"
  std::string points_used;            // one line
  std::string description;            // the law's formula and any caveat, one line
  nlohmann::json details = nlohmann::json::object();  // plotting data: per-budget profiles, ...
  std::int64_t bootstrap_failed = 0;  // resamples the law could not be fitted to (skipped)
  // Each successful resample's parameters, in `params` order (not in to_json): the ensemble
  // that `scalefit propose` uses as the fit's uncertainty.
  std::vector<std::vector<double>> bootstrap_params;

  // R^2 of the fit in log space (1 - SS_res / SS_tot of ln y over the points the fit used: ln L,
  // or ln N_opt for chinchilla-1/2); NaN when the law does not say.
  double r2 = std::numeric_limits<double>::quiet_NaN();
  FitQuality quality;  // filled by fit_law (assess_quality)

  // Parameter by name; throws std::out_of_range if absent.
  double param(const std::string& name) const;
};

// A fitted parameter's bound: the fit keeps it in [lo, hi] (the fit reads it from the table) and
// the bound rule flags a fit that ends within QualityRules::bound_tolerance of either end.
struct ParamBound {
  std::string_view param;
  double lo = 0, hi = 0;
};

// A parameter below `min` has collapsed (E -> 0, an intercept of 1e-150, an exponent of 1e-30).
struct ParamFloor {
  std::string_view param;
  double min = 0;
};

// The variable whose spread the range rule (and the distinct-value count) measures.
enum class RangeAxis { N, D, C };

// A law's fit-quality thresholds (docs/scalefit.md, "When a fit means nothing"). A rule with an
// empty list or a zero threshold does not apply to the law.
struct QualityRules {
  std::vector<ParamBound> bounds;  // bound rule: the fit's own parameter bounds
  double bound_tolerance = 0.01;   // relative distance to a bound that counts as on it
  std::vector<ParamFloor> floors;  // floor rule
  // ci rule: the scale parameters whose 95% CI may span at most max_ci_ratio (hi / lo), the
  // exponents whose CI may be at most max_ci_width wide, and at most max_bootstrap_failed of
  // the resamples may fail to fit.
  std::vector<std::string_view> ci_ratio;
  double max_ci_ratio = 100;
  std::vector<std::string_view> ci_width;
  double max_ci_width = 0.5;
  double max_bootstrap_failed = 0.5;
  double min_r2 = 0.9;      // r2 rule: LawFit::r2 (log space) at least this
  int min_budgets = 0;      // budgets rule: usable isoFLOP budgets (chinchilla-1/2)
  int min_values = 4;       // budgets rule: distinct values of `axis` among the points used
  RangeAxis axis = RangeAxis::N;
  double min_decades = 1.0;  // range rule: log10(max / min) of `axis` over the points used
};

// One law's entry in the law table: everything known about a law besides its fitted numbers.
// Adding a law is adding one row to law_table() (laws.cc). Per-law metadata (e.g. its fit-quality
// rules, QualityRules) belongs here.
struct LawSpec {
  // full: nullptr for the full-data fit; for a bootstrap refit, the full-data result (warm
  // starts). threads: how many threads this one fit may use (1 inside the bootstrap). Returns
  // a complete fit (law, ci, bootstrap_failed are filled by fit_law) or throws ss::InputError.
  using FitFn = LawFit (*)(const LawInput& input, const FitOptions& options, const LawFit* full,
                           int threads);
  using LossFn = double (*)(const LawFit& fit, double n, double d);
  using OptimalNFn = double (*)(const LawFit& fit, double c);

  std::string_view name;
  std::vector<std::string_view> params;  // a fit's parameter names, in display order
  int min_points = 0;                    // fewest (selected) points the law needs
  FitFn fit = nullptr;
  // Predicted loss at (N, D) (a law without a D term ignores D); nullptr: no loss at (N, D).
  LossFn loss = nullptr;
  // Compute-optimal N for a budget C (D_opt = C / (6 N_opt)); nullptr: the law does not
  // allocate.
  OptimalNFn optimal_n = nullptr;
  // For an allocating law without `loss`: the law whose fit (when present) gives the loss at
  // the optimum.
  std::string_view loss_from;
  std::string_view allocation_note;  // how optimal_n is derived, one line
  // Whether fit reads LawInput::curves; when not, the bootstrap resamples the final points
  // alone (copying every run's curve into each of 1000 resamples dominated the fit time).
  bool uses_curves = false;
  // Whether fit reads the curves smoothed: fit_law replaces them once by their smoothed
  // readings on a log grid of C (one batch's train loss per step is too noisy to take a minimum
  // or an envelope over; analysis/laws/fit_util.h, smooth_curves) before the fit and bootstrap.
  bool smooth_curves = false;
  QualityRules quality;              // when a fit of this law means nothing
};

// The bound of `param` in spec.quality.bounds; throws std::logic_error if the row has none.
const ParamBound& bound_of(const LawSpec& spec, std::string_view param);

// The quality rules' names, in the order their reasons are listed: bound, floor, ci, r2,
// budgets, range.
const std::vector<std::string>& quality_rule_names();

// Applies the law's QualityRules (law_table) to `fit`, a fit of `input` with its CIs (the ci
// rule is skipped without bootstrap). fit_law calls it; exposed for tests and hand-made fits.
FitQuality assess_quality(const LawFit& fit, const LawInput& input);

// One isoFLOP budget of a chinchilla-2 fit: its runs, and the parabola of loss in log10 N whose
// vertex is that budget's (N_opt, loss) in the fit. Stored in LawFit::details["profiles"].
struct IsoFlopProfile {
  double c = 0;                    // geometric mean of the members' C
  double planned_budget = 0;       // the FinalPoint::budget the members share; 0: grouped by C
  std::vector<std::int64_t> runs;  // members' run ids
  std::vector<double> n, loss;     // members' N and final loss
  bool fitted = false;             // >= 3 distinct N and a parabola opening upwards
  std::vector<double> parabola_log10n;  // fitted: loss = q0 + q1 x + q2 x^2, x = log10 N
  double n_opt = 0, loss_min = 0;       // fitted: the vertex
  bool inside_range = false;            // fitted: n_opt within the members' N
  std::string note;                     // why not fitted, or that the vertex is extrapolated
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(IsoFlopProfile, c, planned_budget, runs, n, loss, fitted,
                                   parabola_log10n, n_opt, loss_min, inside_range, note)

// A chinchilla-2 fit's profiles, every budget in order of C (empty for other laws).
std::vector<IsoFlopProfile> isoflop_profiles(const LawFit& fit);

// The same profiles computed from `input` without fitting the law (what chinchilla-2 does before
// its power-law fit): for a plot when chinchilla-2 was not fitted. Never throws for too few
// budgets; throws ss::InputError on bad input like fit_law.
std::vector<IsoFlopProfile> isoflop_profiles(const LawInput& input, double isoflop_tolerance);

// Every law, in report order.
const std::vector<LawSpec>& law_table();

// The table row named `name`; throws ss::InputError naming the known laws otherwise.
const LawSpec& find_law(std::string_view name);

// The law names, in report order.
const std::vector<std::string>& law_names();

// Fits one law (with bootstrap CIs when options.bootstrap > 0). Throws ss::InputError on an
// unknown law, non-positive/non-finite inputs, or too few usable points.
LawFit fit_law(const std::string& law, const LawInput& input, const FitOptions& options);

// Predicted loss at (N, D) for laws whose spec has `loss`: kaplan-n (ignores D), kaplan-d
// (ignores N), kaplan-c (C = 6ND), kaplan-nd, chinchilla-3. nullopt for the others (kaplan-ns:
// see predict_loss_ns; chinchilla-1/2 have no loss).
std::optional<double> predict_loss(const LawFit& fit, double n, double d);

// kaplan-ns: L(N, S, B) with S_min = S / (1 + B_crit(L)/B) solved self-consistently.
double predict_loss_ns(const LawFit& fit, double n, double steps, double batch_tokens);

// kaplan-c on the frontier: L(C).
double predict_loss_compute(const LawFit& fit, double c);

// One compute-optimal allocation row.
struct Allocation {
  std::string law;
  double budget = 0;  // C
  double n_opt = 0;
  double d_opt = 0;  // C / (6 N_opt)
  double tokens_per_param = 0;
  std::optional<double> loss;  // predicted loss at the optimum when some fit predicts it
  std::string note;            // how it was derived
};

// A row per fit whose spec has optimal_n (chinchilla-1/2: N_opt = k_N C^a, loss from the
// chinchilla-3 fit when present in `fits`; chinchilla-3: closed form G (C/6)^a; kaplan-nd:
// argmin over N of L(N, C/(6N)) in closed form). Other laws give no row.
std::vector<Allocation> allocate_compute(const std::vector<LawFit>& fits, double budget);

// numpy's default (linear) percentile q in [0, 1] of sorted, non-empty values: the CIs' rule.
double percentile(const std::vector<double>& sorted, double q);

// A fit as JSON, the one writer of a fit: scalefit's fits.json (one object per law, plus its
// allocations) and the store's fits rows (params_json, ci_json) are written from these. Numbers
// that are not finite are written as null (nlohmann's dump).
// {name: value} in the spec's parameter names.
nlohmann::json params_json(const LawFit& fit);
// {name: [2.5 percentile, 97.5 percentile]}; {} without bootstrap.
nlohmann::json ci_json(const LawFit& fit);
// params_json's entries (the parameters under their own names) and "law", "param_order", "ci",
// "n_points", "residual", "residual_kind", "points_used", "description", "bootstrap_failed",
// "details", "r2" (null when unknown), "quality" ({identifiable, reasons: [{rule, evidence,
// advice}]}) (no law has a parameter of one of these names; LawTable tests it).
nlohmann::json to_json(const LawFit& fit);

}  // namespace ss::laws
