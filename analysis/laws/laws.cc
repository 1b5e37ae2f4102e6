// fit_law: input validation, dispatch to the estimators and the bootstrap. Invariant: the
// bootstrap resample i draws from its own generator seeded by (seed, i), and its result goes to
// slot i, so the CIs do not depend on the thread count or scheduling.
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "analysis/laws/laws_internal.h"
#include "ss/error.h"

namespace ss::laws {

double LawFit::param(const std::string& name) const {
  for (const auto& [key, value] : params)
    if (key == name) return value;
  throw std::out_of_range(fmt::format("LawFit({}): no parameter '{}'", law, name));
}

const std::vector<std::string>& law_names() {
  static const std::vector<std::string> kNames = {"kaplan-n",     "kaplan-d",    "kaplan-c",
                                                  "kaplan-nd",    "kaplan-ns",   "chinchilla-1",
                                                  "chinchilla-2", "chinchilla-3"};
  return kNames;
}

int law_min_points(const std::string& law) {
  if (law == "kaplan-n" || law == "kaplan-d" || law == "kaplan-c") return 3;
  if (law == "kaplan-nd") return 6;
  if (law == "kaplan-ns" || law == "chinchilla-3") return 8;
  if (law == "chinchilla-1" || law == "chinchilla-2") return 9;  // 3 budgets x 3 runs
  throw InputError(fmt::format("unknown law '{}'; use one of kaplan-n, kaplan-d, kaplan-c, "
                               "kaplan-nd, kaplan-ns, chinchilla-1, chinchilla-2, chinchilla-3",
                               law));
}

namespace {

void check_positive(double v, const char* what, std::size_t index, std::int64_t run,
                    const char* kind) {
  if (!(std::isfinite(v) && v > 0))
    throw InputError(fmt::format("laws: {} {} (run {}): {} = {} must be finite and > 0; fix or "
                                 "drop that row",
                                 kind, index, run, what, v));
}

// Validated copy with C filled in (6 N D when not given).
LawInput validated(const LawInput& in) {
  LawInput out = in;
  for (std::size_t i = 0; i < out.points.size(); ++i) {
    auto& p = out.points[i];
    check_positive(p.n, "N", i, p.run, "point");
    check_positive(p.d, "D", i, p.run, "point");
    check_positive(p.loss, "loss", i, p.run, "point");
    if (p.c == 0) p.c = 6 * p.n * p.d;
    check_positive(p.c, "C", i, p.run, "point");
    if (p.steps) check_positive(*p.steps, "S", i, p.run, "point");
    if (p.batch_tokens) check_positive(*p.batch_tokens, "B", i, p.run, "point");
  }
  for (std::size_t i = 0; i < out.curves.size(); ++i) {
    auto& s = out.curves[i];
    check_positive(s.n, "N", i, s.run, "curve step");
    check_positive(s.tokens, "tokens", i, s.run, "curve step");
    check_positive(s.loss, "loss", i, s.run, "curve step");
    if (s.flops == 0) s.flops = 6 * s.n * s.tokens;
    check_positive(s.flops, "flops", i, s.run, "curve step");
  }
  if (!out.budget_labels.empty() && out.budget_labels.size() != out.points.size())
    throw InputError(fmt::format("laws: {} budget labels for {} points; give one label per point "
                                 "or none",
                                 out.budget_labels.size(), out.points.size()));
  if (out.points.empty())
    throw InputError("laws: no final points to fit; give at least one finished run");
  return out;
}

LawFit estimate(const std::string& law, const LawInput& in, const FitOptions& options,
                const detail::EstimatorContext& context) {
  using namespace detail;
  if (law == "kaplan-n") return estimate_kaplan_n(in);
  if (law == "kaplan-d") return estimate_kaplan_d(in);
  if (law == "kaplan-c") return estimate_kaplan_c(in);
  if (law == "kaplan-nd") return estimate_kaplan_nd(in);
  if (law == "kaplan-ns") return estimate_kaplan_ns(in, options);
  if (law == "chinchilla-1") return estimate_chinchilla_1(in, options);
  if (law == "chinchilla-2") return estimate_chinchilla_2(in, options);
  if (law == "chinchilla-3") return estimate_chinchilla_3(in, context);
  law_min_points(law);  // throws the unknown-law message
  throw InputError(fmt::format("unknown law '{}'", law));
}

// Linear-interpolated percentile of sorted values (numpy's default).
double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

// Resamples runs with replacement; a run's curve steps follow it (curves of a run drawn twice
// are kept once: duplicates do not change an envelope).
LawInput resample(const LawInput& in, const std::map<std::int64_t, std::vector<std::size_t>>& steps,
                  std::mt19937_64& rng) {
  LawInput out;
  std::uniform_int_distribution<std::size_t> pick(0, in.points.size() - 1);
  std::map<std::int64_t, bool> taken;
  for (std::size_t k = 0; k < in.points.size(); ++k) {
    const std::size_t i = pick(rng);
    out.points.push_back(in.points[i]);
    if (!in.budget_labels.empty()) out.budget_labels.push_back(in.budget_labels[i]);
    if (auto it = steps.find(in.points[i].run); it != steps.end() && !taken[it->first]) {
      taken[it->first] = true;
      for (auto s : it->second) out.curves.push_back(in.curves[s]);
    }
  }
  return out;
}

}  // namespace

LawFit fit_law(const std::string& law, const LawInput& raw, const FitOptions& options) {
  law_min_points(law);  // unknown law -> InputError before any work
  if (options.bootstrap < 0)
    throw InputError(fmt::format("bootstrap = {}: must be >= 0 (0 disables CIs)",
                                 options.bootstrap));
  const LawInput in = validated(raw);
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  detail::EstimatorContext full_context{{}, threads, options.progress};
  LawFit fit = estimate(law, in, options, full_context);
  if (options.bootstrap == 0) return fit;

  detail::EstimatorContext refit_context;
  if (law == "chinchilla-3") refit_context.c3_starts = detail::chinchilla3_bootstrap_starts(fit);
  std::map<std::int64_t, std::vector<std::size_t>> steps;
  for (std::size_t i = 0; i < in.curves.size(); ++i) steps[in.curves[i].run].push_back(i);

  const auto count = static_cast<std::size_t>(options.bootstrap);
  std::vector<std::vector<double>> samples(count);
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex progress_mutex;
  auto worker = [&] {
    for (std::size_t i = next++; i < count; i = next++) {
      std::seed_seq seq{static_cast<std::uint32_t>(options.seed),
                        static_cast<std::uint32_t>(options.seed >> 32),
                        static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32)};
      std::mt19937_64 rng(seq);
      try {
        const LawFit refit = estimate(law, resample(in, steps, rng), options, refit_context);
        for (const auto& [name, value] : refit.params) samples[i].push_back(value);
      } catch (const InputError&) {
        // The resample cannot support the law (e.g. too few distinct N): counted, skipped.
      }
      const std::size_t finished = ++done;
      if (options.progress) {
        std::lock_guard lock(progress_mutex);
        options.progress(law + " bootstrap", finished, count);
      }
    }
  };
  {
    std::vector<std::jthread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
  }
  for (const auto& s : samples)
    if (s.size() != fit.params.size()) ++fit.bootstrap_failed;
  for (std::size_t k = 0; k < fit.params.size(); ++k) {
    std::vector<double> values;
    for (const auto& s : samples)
      if (s.size() == fit.params.size() && std::isfinite(s[k])) values.push_back(s[k]);
    if (values.size() < 2) continue;
    std::sort(values.begin(), values.end());
    fit.ci.emplace_back(fit.params[k].first,
                        std::make_pair(percentile(values, 0.025), percentile(values, 0.975)));
  }
  fit.details["bootstrap"] = {{"resamples", count},
                              {"failed", fit.bootstrap_failed},
                              {"seed", options.seed}};
  return fit;
}

nlohmann::json to_json(const LawFit& fit) {
  nlohmann::json params = nlohmann::json::object(), ci = nlohmann::json::object();
  for (const auto& [name, value] : fit.params) params[name] = value;
  for (const auto& [name, range] : fit.ci) ci[name] = {range.first, range.second};
  nlohmann::json order = nlohmann::json::array();
  for (const auto& [name, value] : fit.params) order.push_back(name);
  return {{"law", fit.law},
          {"params", params},
          {"param_order", order},
          {"ci", ci},
          {"n_points", fit.n_points},
          {"residual", fit.residual},
          {"residual_kind", fit.residual_kind},
          {"points_used", fit.points_used},
          {"description", fit.description},
          {"bootstrap_failed", fit.bootstrap_failed},
          {"details", fit.details}};
}

}  // namespace ss::laws
