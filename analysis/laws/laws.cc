// ss_laws entry points (laws.h): the law table, fit_law with the bootstrap, predictions,
// compute-optimal allocation and JSON. Bootstrap: resample i draws runs (final points, with their
// curves and budget labels) with replacement from its own generator seeded by (seed, i) and is
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

struct LawSpec {
  const char* name;
  int min_points;
  detail::CoreFn fit;
};

const std::vector<LawSpec>& law_table() {
  static const std::vector<LawSpec> table{
      {"kaplan-n", 3, detail::fit_kaplan_n},        {"kaplan-d", 3, detail::fit_kaplan_d},
      {"kaplan-c", 3, detail::fit_kaplan_c},        {"kaplan-nd", 5, detail::fit_kaplan_nd},
      {"kaplan-ns", 6, detail::fit_kaplan_ns},      {"chinchilla-1", 3, detail::fit_chinchilla1},
      {"chinchilla-2", 6, detail::fit_chinchilla2}, {"chinchilla-3", 8, detail::fit_chinchilla3}};
  return table;
}

const LawSpec& find_law(const std::string& law) {
  for (const LawSpec& spec : law_table())
    if (law == spec.name) return spec;
  std::string known;
  for (const LawSpec& spec : law_table())
    known += (known.empty() ? "" : ", ") + std::string(spec.name);
  throw InputError(fmt::format("laws: unknown law '{}'; use one of {}", law, known));
}

// splitmix64: decorrelates the generator seeds of neighbouring resamples.
std::uint64_t mix_seed(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Resample i: runs drawn with replacement; copy k gets run id k so duplicated runs stay apart.
LawInput resample(const LawInput& input, std::uint64_t seed, std::size_t index) {
  std::mt19937_64 generator(mix_seed(seed ^ mix_seed(index + 1)));
  std::uniform_int_distribution<std::size_t> pick(0, input.points.size() - 1);
  std::map<std::int64_t, std::vector<const CurveStep*>> curve_of;
  for (const CurveStep& s : input.curves) curve_of[s.run].push_back(&s);
  LawInput out;
  for (std::size_t k = 0; k < input.points.size(); ++k) {
    const std::size_t i = pick(generator);
    FinalPoint p = input.points[i];
    p.run = static_cast<std::int64_t>(k);
    out.points.push_back(p);
    if (!input.budget_labels.empty()) out.budget_labels.push_back(input.budget_labels[i]);
    if (auto it = curve_of.find(input.points[i].run); it != curve_of.end())
      for (const CurveStep* s : it->second) {
        CurveStep copy = *s;
        copy.run = static_cast<std::int64_t>(k);
        out.curves.push_back(copy);
      }
  }
  return out;
}

// numpy's default (linear) percentile of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double get(const LawFit& fit, const char* name) {
  return fit.param(name);
}

}  // namespace

double LawFit::param(const std::string& name) const {
  for (const auto& [key, value] : params)
    if (key == name) return value;
  throw std::out_of_range("LawFit " + law + ": no parameter " + name);
}

const std::vector<std::string>& law_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const LawSpec& spec : law_table()) out.emplace_back(spec.name);
    return out;
  }();
  return names;
}

int law_min_points(const std::string& law) {
  return find_law(law).min_points;
}

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

  const detail::CoreFit full = spec.fit(input, serial, nullptr, threads);
  LawFit fit;
  fit.law = spec.name;
  fit.params = full.params;
  fit.n_points = full.n_points;
  fit.residual = full.residual;
  fit.residual_kind = full.residual_kind;
  fit.points_used = full.points_used;
  fit.description = full.description;
  fit.details = full.details;
  if (options.bootstrap == 0) return fit;

  const auto count = static_cast<std::size_t>(options.bootstrap);
  std::vector<std::vector<double>> samples(count);  // empty: that resample failed
  std::atomic<std::size_t> done{0};
  FitOptions quiet = options;
  quiet.progress = nullptr;
  const std::string stage = fmt::format("{} bootstrap", spec.name);
  detail::parallel_for(count, threads, [&](std::size_t i) {
    try {
      const detail::CoreFit refit = spec.fit(resample(input, options.seed, i), quiet, &full, 1);
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
  if (ok == 0) return fit;
  for (std::size_t p = 0; p < full.params.size(); ++p) {
    std::vector<double> values;
    for (const auto& s : samples)
      if (!s.empty()) values.push_back(s[p]);
    std::sort(values.begin(), values.end());
    fit.ci.push_back(
        {full.params[p].first, {percentile(values, 0.025), percentile(values, 0.975)}});
  }
  return fit;
}

std::optional<double> predict_loss(const LawFit& fit, double n, double d) {
  if (fit.law == "kaplan-n") return std::pow(get(fit, "Nc") / n, get(fit, "alpha_N"));
  if (fit.law == "kaplan-d") return std::pow(get(fit, "Dc") / d, get(fit, "alpha_D"));
  if (fit.law == "kaplan-c") return predict_loss_compute(fit, 6.0 * n * d);
  if (fit.law == "kaplan-nd") {
    const double an = get(fit, "alpha_N"), ad = get(fit, "alpha_D");
    return std::pow(std::pow(get(fit, "Nc") / n, an / ad) + get(fit, "Dc") / d, ad);
  }
  if (fit.law == "chinchilla-3")
    return get(fit, "E") + get(fit, "A") / std::pow(n, get(fit, "alpha")) +
           get(fit, "B") / std::pow(d, get(fit, "beta"));
  return std::nullopt;
}

double predict_loss_ns(const LawFit& fit, double n, double steps, double batch_tokens) {
  const double term_n = std::pow(get(fit, "Nc") / n, get(fit, "alpha_N"));
  const double sc = get(fit, "Sc"), as = get(fit, "alpha_S");
  const double b_star = get(fit, "B_star"), ab = get(fit, "alpha_B");
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
  return std::pow(get(fit, "Cc") / c, get(fit, "alpha_C"));
}

std::vector<Allocation> allocate_compute(const std::vector<LawFit>& fits, double budget) {
  if (!(std::isfinite(budget) && budget > 0))
    throw InputError(fmt::format("laws: FLOP budget must be finite and > 0, got {}", budget));
  const LawFit* approach3 = nullptr;
  for (const LawFit& f : fits)
    if (f.law == "chinchilla-3") approach3 = &f;
  std::vector<Allocation> rows;
  for (const LawFit& f : fits) {
    Allocation row;
    row.law = f.law;
    row.budget = budget;
    if (f.law == "chinchilla-1" || f.law == "chinchilla-2") {
      row.n_opt = get(f, "k_N") * std::pow(budget, get(f, "a"));
      row.note = "N_opt = k_N C^a; D_opt = C/(6 N_opt)";
      row.note += approach3 ? "; loss from chinchilla-3" : "; no loss (fit chinchilla-3 too)";
    } else if (f.law == "chinchilla-3") {
      row.n_opt = get(f, "G") * std::pow(budget / 6.0, get(f, "a"));
      row.note = "N_opt = G (C/6)^a (closed form); D_opt = C/(6 N_opt)";
    } else if (f.law == "kaplan-nd") {
      // L^(1/alpha_D) = P N^-k + Q N with k = alpha_N/alpha_D, P = Nc^k, Q = 6 Dc / C: its
      // derivative vanishes at N = (k P / Q)^(1/(1+k)), the one minimum (the exact solution of
      // the numerical minimisation over N).
      const double k = get(f, "alpha_N") / get(f, "alpha_D");
      const double log_p = k * std::log(get(f, "Nc"));
      const double log_q = std::log(6.0 * get(f, "Dc") / budget);
      row.n_opt = std::exp((std::log(k) + log_p - log_q) / (1.0 + k));
      row.note = "argmin over N of L(N, C/(6N)) (closed form)";
    } else {
      continue;
    }
    row.d_opt = budget / (6.0 * row.n_opt);
    row.tokens_per_param = row.d_opt / row.n_opt;
    if (f.law == "chinchilla-1" || f.law == "chinchilla-2") {
      if (approach3) row.loss = predict_loss(*approach3, row.n_opt, row.d_opt);
    } else {
      row.loss = predict_loss(f, row.n_opt, row.d_opt);
    }
    rows.push_back(row);
  }
  return rows;
}

nlohmann::json to_json(const LawFit& fit) {
  nlohmann::json params = nlohmann::json::object(), ci = nlohmann::json::object();
  nlohmann::json order = nlohmann::json::array();
  for (const auto& [name, value] : fit.params) {
    params[name] = value;
    order.push_back(name);
  }
  for (const auto& [name, range] : fit.ci) ci[name] = {range.first, range.second};
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
