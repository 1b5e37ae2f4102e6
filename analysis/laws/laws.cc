// ss_laws entry points (laws.h): the law table, fit_law with the bootstrap, predictions,
// compute-optimal allocation and JSON. Bootstrap: resample i draws runs (final points with their
// planned budgets, and their curves when the law reads curves) with replacement from its own
// generator seeded by (seed, i) and is
// refitted single-threaded; resamples run in parallel and write to slot i, so the CIs are
// identical for any thread count. A resample the law cannot fit (InputError) is counted in
// bootstrap_failed and left out of the percentiles.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "analysis/laws/fit_util.h"
#include "analysis/laws/laws.h"
#include "ss/error.h"

namespace ss::laws {
namespace {

[[noreturn]] void throw_unknown(std::string_view law) {
  std::string known;
  for (const LawSpec& spec : law_table())
    known += (known.empty() ? "" : ", ") + std::string(spec.name);
  throw InputError(fmt::format("laws: unknown law '{}'; use one of {}", law, known));
}

// The table's promise: a fit's parameters are the spec's, in its order.
void check_param_names(const LawSpec& spec, const LawFit& fit) {
  bool same = fit.params.size() == spec.params.size();
  for (std::size_t i = 0; same && i < spec.params.size(); ++i)
    same = fit.params[i].first == spec.params[i];
  if (!same)
    throw std::logic_error(
        fmt::format("laws: {} returned parameters that differ from its table row", spec.name));
}

// splitmix64: decorrelates the generator seeds of neighbouring resamples.
std::uint64_t mix_seed(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Each run's curve steps, by run id: built once per bootstrap, not once per resample.
using CurveIndex = std::map<std::int64_t, std::vector<const CurveStep*>>;
CurveIndex index_curves(const LawInput& input) {
  CurveIndex curve_of;
  for (const CurveStep& s : input.curves) curve_of[s.run].push_back(&s);
  return curve_of;
}

// Resample i: runs drawn with replacement; copy k gets run id k so duplicated runs stay apart.
// curve_of: the input's curves by run (empty for a law that does not read curves).
LawInput resample(const LawInput& input, const CurveIndex& curve_of, std::uint64_t seed,
                  std::size_t index) {
  std::mt19937_64 generator(mix_seed(seed ^ mix_seed(index + 1)));
  std::uniform_int_distribution<std::size_t> pick(0, input.points.size() - 1);
  std::vector<std::size_t> picked(input.points.size());
  std::size_t steps = 0;
  for (std::size_t& i : picked) {
    i = pick(generator);
    if (auto it = curve_of.find(input.points[i].run); it != curve_of.end())
      steps += it->second.size();
  }
  LawInput out;
  out.points.reserve(picked.size());
  out.curves.reserve(steps);  // one allocation: the curves are most of the copied bytes
  for (std::size_t k = 0; k < picked.size(); ++k) {
    const std::size_t i = picked[k];
    FinalPoint p = input.points[i];
    p.run = static_cast<std::int64_t>(k);
    out.points.push_back(p);
    if (auto it = curve_of.find(input.points[i].run); it != curve_of.end())
      for (const CurveStep* s : it->second) {
        CurveStep copy = *s;
        copy.run = static_cast<std::int64_t>(k);
        out.curves.push_back(copy);
      }
  }
  return out;
}

}  // namespace

double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double LawFit::param(const std::string& name) const {
  for (const auto& [key, value] : params)
    if (key == name) return value;
  throw std::out_of_range("LawFit " + law + ": no parameter " + name);
}

namespace {

// ---- the laws' predictions and allocations, named by the table below ----------------------

double loss_kaplan_n(const LawFit& f, double n, double) {
  return std::pow(f.param("Nc") / n, f.param("alpha_N"));
}
double loss_kaplan_d(const LawFit& f, double, double d) {
  return std::pow(f.param("Dc") / d, f.param("alpha_D"));
}
double loss_kaplan_c(const LawFit& f, double n, double d) {
  return predict_loss_compute(f, 6.0 * n * d);
}
double loss_kaplan_nd(const LawFit& f, double n, double d) {
  const double an = f.param("alpha_N"), ad = f.param("alpha_D");
  return std::pow(std::pow(f.param("Nc") / n, an / ad) + f.param("Dc") / d, ad);
}
double loss_chinchilla3(const LawFit& f, double n, double d) {
  return f.param("E") + f.param("A") / std::pow(n, f.param("alpha")) +
         f.param("B") / std::pow(d, f.param("beta"));
}

double optimal_n_power(const LawFit& f, double c) {
  return f.param("k_N") * std::pow(c, f.param("a"));
}
double optimal_n_chinchilla3(const LawFit& f, double c) {
  return f.param("G") * std::pow(c / 6.0, f.param("a"));
}
// L^(1/alpha_D) = P N^-k + Q N with k = alpha_N/alpha_D, P = Nc^k, Q = 6 Dc / C: its derivative
// vanishes at N = (k P / Q)^(1/(1+k)), the one minimum of L(N, C/(6N)) over N.
double optimal_n_kaplan_nd(const LawFit& f, double c) {
  const double k = f.param("alpha_N") / f.param("alpha_D");
  const double log_p = k * std::log(f.param("Nc"));
  const double log_q = std::log(6.0 * f.param("Dc") / c);
  return std::exp((std::log(k) + log_p - log_q) / (1.0 + k));
}

}  // namespace

const std::vector<LawSpec>& law_table() {
  using namespace detail;
  // Kaplan's intercepts (Nc, Dc, Cc, Sc, B*) below 1 parameter, token, FLOP or step have
  // collapsed; their CIs are not checked (an intercept far outside the data spans decades
  // whenever its exponent is small), their exponents' are.
  const std::vector<ParamBound> kaplan_exponents{{"alpha_N", 1e-3, 5.0}, {"alpha_D", 1e-3, 5.0}};
  static const std::vector<LawSpec> table{
      {.name = "kaplan-n",
       .params = {"Nc", "alpha_N"},
       .min_points = 3,
       .fit = fit_kaplan_n,
       .loss = loss_kaplan_n,
       .quality = {.floors = {{"Nc", 1.0}}, .ci_width = {"alpha_N"}}},
      {.name = "kaplan-d",
       .params = {"Dc", "alpha_D"},
       .min_points = 3,
       .fit = fit_kaplan_d,
       .loss = loss_kaplan_d,
       .quality = {.floors = {{"Dc", 1.0}}, .ci_width = {"alpha_D"}, .axis = RangeAxis::D}},
      {.name = "kaplan-c",
       .params = {"Cc", "alpha_C"},
       .min_points = 3,
       .fit = fit_kaplan_c,
       .loss = loss_kaplan_c,
       .uses_curves = true,
       .smooth_curves = true,
       .quality = {.floors = {{"Cc", 1.0}}, .ci_width = {"alpha_C"}, .axis = RangeAxis::C}},
      {.name = "kaplan-nd",
       .params = {"Nc", "Dc", "alpha_N", "alpha_D"},
       .min_points = 5,
       .fit = fit_kaplan_nd,
       .loss = loss_kaplan_nd,
       .optimal_n = optimal_n_kaplan_nd,
       .allocation_note = "argmin over N of L(N, C/(6N)) (closed form)",
       .quality = {.bounds = kaplan_exponents,
                   .floors = {{"Nc", 1.0}, {"Dc", 1.0}},
                   .ci_width = {"alpha_N", "alpha_D"}}},
      {.name = "kaplan-ns",
       .params = {"Nc", "alpha_N", "Sc", "alpha_S", "B_star", "alpha_B"},
       .min_points = 6,
       .fit = fit_kaplan_ns,
       .uses_curves = true,
       .quality = {.bounds = {{"alpha_N", 1e-3, 5.0},
                              {"alpha_S", 1e-3, 5.0},
                              {"alpha_B", 0.02, 2.0}},
                   .floors = {{"Nc", 1.0}, {"Sc", 1.0}, {"B_star", 1.0}},
                   .ci_width = {"alpha_N", "alpha_S"}}},
      {.name = "chinchilla-1",
       .params = {"a", "b", "k_N", "k_D"},
       .min_points = 3,
       .fit = fit_chinchilla1,
       .optimal_n = optimal_n_power,
       .loss_from = "chinchilla-3",
       .allocation_note = "N_opt = k_N C^a; D_opt = C/(6 N_opt)",
       .uses_curves = true,
       .smooth_curves = true,
       .quality = {.floors = {{"a", 0.05}, {"b", 0.05}}, .ci_width = {"a", "b"}, .min_budgets = 3}},
      {.name = "chinchilla-2",
       .params = {"a", "b", "k_N", "k_D"},
       .min_points = 6,
       .fit = fit_chinchilla2,
       .optimal_n = optimal_n_power,
       .loss_from = "chinchilla-3",
       .allocation_note = "N_opt = k_N C^a; D_opt = C/(6 N_opt)",
       .quality = {.floors = {{"a", 0.05}, {"b", 0.05}}, .ci_width = {"a", "b"}, .min_budgets = 3}},
      {.name = "chinchilla-3",
       .params = {"E", "A", "B", "alpha", "beta", "a", "b", "G"},
       .min_points = 8,
       .fit = fit_chinchilla3,
       .loss = loss_chinchilla3,
       .optimal_n = optimal_n_chinchilla3,
       .allocation_note = "N_opt = G (C/6)^a (closed form); D_opt = C/(6 N_opt)",
       .quality = {.floors = {{"E", 0.01}, {"alpha", 0.01}, {"beta", 0.01}},
                   .ci_ratio = {"E", "A", "B"},
                   .ci_width = {"alpha", "beta"}}}};
  return table;
}

const std::vector<std::string>& law_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const LawSpec& spec : law_table()) out.emplace_back(spec.name);
    return out;
  }();
  return names;
}

const ParamBound& bound_of(const LawSpec& spec, std::string_view param) {
  for (const ParamBound& b : spec.quality.bounds)
    if (b.param == param) return b;
  throw std::logic_error(fmt::format("laws: {} has no bound for {}", spec.name, param));
}

const LawSpec& find_law(std::string_view name) {
  for (const LawSpec& spec : law_table())
    if (name == spec.name) return spec;
  throw_unknown(name);
}

namespace {

// The bootstrap of fit_law: bootstrap_params, bootstrap_failed and the CIs of `fit`.
void add_bootstrap(const LawSpec& spec, const LawInput& input, const FitOptions& options,
                   const FitOptions& serial, int threads, LawFit& fit) {
  // The full-data fit the resamples start from: nothing changes `fit` while they run, and
  // afterwards only its params are read, which this function never changes.
  const LawFit& full = fit;

  const auto count = static_cast<std::size_t>(options.bootstrap);
  std::vector<std::vector<double>> samples(count);  // empty: that resample failed
  std::atomic<std::size_t> done{0};
  FitOptions quiet = options;
  quiet.progress = nullptr;
  const std::string stage = fmt::format("{} bootstrap", spec.name);
  const CurveIndex curve_of = spec.uses_curves ? index_curves(input) : CurveIndex{};
  detail::parallel_for(count, threads, [&](std::size_t i) {
    try {
      const LawFit refit = spec.fit(resample(input, curve_of, options.seed, i), quiet, &full, 1);
      std::vector<double> values;
      for (const auto& [name, value] : refit.params) values.push_back(value);
      if (values.size() == full.params.size() &&
          std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); }))
        samples[i] = std::move(values);
    } catch (const InputError&) {
      // Counted below: a resample can lose the spread a law needs (e.g. one model size).
    }
    const std::size_t finished = ++done;
    if (serial.progress && (finished % 10 == 0 || finished == count))
      serial.progress(stage, finished, count);
  });
  std::size_t ok = 0;
  for (const auto& s : samples) ok += s.empty() ? 0 : 1;
  fit.bootstrap_failed = static_cast<std::int64_t>(count - ok);
  for (auto& s : samples)
    if (!s.empty()) fit.bootstrap_params.push_back(std::move(s));
  if (ok == 0) return;
  for (std::size_t p = 0; p < full.params.size(); ++p) {
    std::vector<double> values;
    for (const auto& s : fit.bootstrap_params) values.push_back(s[p]);
    std::sort(values.begin(), values.end());
    fit.ci.push_back(
        {full.params[p].first, {percentile(values, 0.025), percentile(values, 0.975)}});
  }
}

}  // namespace

LawFit fit_law(const std::string& law, const LawInput& input, const FitOptions& options) {
  const LawSpec& spec = find_law(law);
  detail::check_input(input);
  if (options.bootstrap < 0)
    throw InputError(fmt::format("{}: bootstrap = {} resamples; use 0 (no CIs) or more", law,
                                 options.bootstrap));
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The caller's callback is serialised: worker threads report through this mutex.
  std::mutex progress_mutex;
  FitOptions serial = options;
  if (options.progress)
    serial.progress = [&](const std::string& stage, std::size_t done, std::size_t total) {
      const std::lock_guard lock(progress_mutex);
      options.progress(stage, done, total);
    };

  // Smoothing is per run, so smoothing once here equals smoothing every bootstrap resample.
  LawInput smoothed;
  if (spec.smooth_curves) {
    smoothed.points = input.points;
    smoothed.curves = detail::smooth_curves(input);
  }
  const LawInput& used = spec.smooth_curves ? smoothed : input;
  LawFit fit = spec.fit(used, serial, nullptr, threads);
  fit.law = spec.name;
  check_param_names(spec, fit);
  fit.ci.clear();
  fit.bootstrap_failed = 0;
  if (options.bootstrap > 0) add_bootstrap(spec, used, options, serial, threads, fit);
  fit.quality = assess_quality(fit, used);
  return fit;
}

std::optional<double> predict_loss(const LawFit& fit, double n, double d) {
  const LawSpec& spec = find_law(fit.law);
  if (!spec.loss) return std::nullopt;
  return spec.loss(fit, n, d);
}

double predict_loss_ns(const LawFit& fit, double n, double steps, double batch_tokens) {
  const double term_n = std::pow(fit.param("Nc") / n, fit.param("alpha_N"));
  const double sc = fit.param("Sc"), as = fit.param("alpha_S");
  const double b_star = fit.param("B_star"), ab = fit.param("alpha_B");
  // rhs(L) = term_n + (Sc / S_min(L))^alpha_S with S_min = S / (1 + B*/(L^(1/alpha_B) B)):
  // decreasing in L, so L = rhs(L) has one root in [term_n, rhs(term_n)]; bisect it.
  auto rhs = [&](double loss) {
    const double s_min = steps / (1.0 + b_star / (std::pow(loss, 1.0 / ab) * batch_tokens));
    return term_n + std::pow(sc / s_min, as);
  };
  double lo = term_n, hi = rhs(term_n);
  for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (rhs(mid) > mid ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double predict_loss_compute(const LawFit& fit, double c) {
  return std::pow(fit.param("Cc") / c, fit.param("alpha_C"));
}

std::vector<Allocation> allocate_compute(const std::vector<LawFit>& fits, double budget) {
  if (!(std::isfinite(budget) && budget > 0))
    throw InputError(fmt::format("laws: FLOP budget must be finite and > 0, got {}", budget));
  std::vector<Allocation> rows;
  for (const LawFit& f : fits) {
    const LawSpec& spec = find_law(f.law);
    if (!spec.optimal_n) continue;
    Allocation row;
    row.law = f.law;
    row.budget = budget;
    row.n_opt = spec.optimal_n(f, budget);
    row.d_opt = budget / (6.0 * row.n_opt);
    row.tokens_per_param = row.d_opt / row.n_opt;
    row.note = spec.allocation_note;
    if (spec.loss) {
      row.loss = spec.loss(f, row.n_opt, row.d_opt);
    } else if (!spec.loss_from.empty()) {
      const auto source = std::find_if(fits.begin(), fits.end(),
                                       [&](const LawFit& g) { return g.law == spec.loss_from; });
      if (source != fits.end()) row.loss = predict_loss(*source, row.n_opt, row.d_opt);
      row.note += source != fits.end() ? fmt::format("; loss from {}", spec.loss_from)
                                       : fmt::format("; no loss (fit {} too)", spec.loss_from);
    }
    rows.push_back(row);
  }
  return rows;
}

nlohmann::json params_json(const LawFit& fit) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [name, value] : fit.params) params[name] = value;
  return params;
}

nlohmann::json ci_json(const LawFit& fit) {
  nlohmann::json ci = nlohmann::json::object();
  for (const auto& [name, range] : fit.ci) ci[name] = {range.first, range.second};
  return ci;
}

nlohmann::json to_json(const LawFit& fit) {
  nlohmann::json j = params_json(fit);
  nlohmann::json order = nlohmann::json::array();
  for (const auto& param : fit.params) order.push_back(param.first);
  j.update({{"law", fit.law},
            {"param_order", order},
            {"ci", ci_json(fit)},
            {"n_points", fit.n_points},
            {"residual", fit.residual},
            {"residual_kind", fit.residual_kind},
            {"points_used", fit.points_used},
            {"description", fit.description},
            {"bootstrap_failed", fit.bootstrap_failed},
            {"details", fit.details},
            {"r2", fit.r2},
            {"quality", fit.quality}});
  return j;
}

}  // namespace ss::laws
