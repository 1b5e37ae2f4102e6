// scalefit's own fallback fits of the laws (analysis/laws/, the designated ss_laws library, was
// not available when this was written; see docs/scalefit.md). Power laws that are linear in
// log space (kaplan-n, kaplan-d, kaplan-c, chinchilla-1, chinchilla-2) are fitted by ordinary
// least squares on logs; chinchilla-3 by chinchilla3_fit.h. Bootstrap: runs resampled with
// replacement, resample i seeded with seed + i (independent of the thread count), 2.5/97.5
// percentiles. kaplan-nd and kaplan-ns are not implemented here (reported as skipped).
#include "analysis/law_runner.h"

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <thread>

#include "analysis/chinchilla3_fit.h"
#include "analysis/report_plots.h"
#include "ss/error.h"

namespace ss::analysis {
namespace {

// A fitted law's numbers: named parameters, or why it cannot be fitted.
struct Estimate {
  std::vector<std::pair<std::string, double>> params;
  std::optional<double> residual;
  std::string residual_kind;
  std::int64_t n_points = 0;
  std::string points_used;
  std::string failure;  // non-empty: could not be fitted
};

// y = c0 + c1 x by least squares; returns nullopt with < 3 points or no spread in x.
struct Line {
  double c0, c1, rms;
};
std::optional<Line> fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  const std::size_t n = x.size();
  if (n < 3) return std::nullopt;
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < n; ++i) mx += x[i] / n, my += y[i] / n;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i)
    sxx += (x[i] - mx) * (x[i] - mx), sxy += (x[i] - mx) * (y[i] - my);
  if (sxx < 1e-12) return std::nullopt;
  Line line{my - sxy / sxx * mx, sxy / sxx, 0};
  double ss = 0;
  for (std::size_t i = 0; i < n; ++i) ss += std::pow(y[i] - line.c0 - line.c1 * x[i], 2);
  line.rms = std::sqrt(ss / n);
  return line;
}

// L = (X_c / X)^alpha from (X, L) pairs: log L = alpha log X_c - alpha log X.
Estimate fit_power_law(const std::vector<std::pair<double, double>>& xl, const std::string& xname,
                       const std::string& alpha_name, const std::string& used) {
  Estimate e;
  e.points_used = used;
  e.n_points = static_cast<std::int64_t>(xl.size());
  std::vector<double> x, y;
  for (const auto& [xv, lv] : xl) x.push_back(std::log(xv)), y.push_back(std::log(lv));
  const auto line = fit_line(x, y);
  if (!line) {
    e.failure = fmt::format("needs >= 3 points with different {} ({} available)", xname, xl.size());
    return e;
  }
  const double alpha = -line->c1;
  if (!(alpha > 0)) {
    e.failure =
        fmt::format("loss does not fall with {} in these points (slope {:.3g})", xname, line->c1);
    return e;
  }
  e.params = {{xname + "c", std::exp(line->c0 / alpha)}, {alpha_name, alpha}};
  e.residual = line->rms;
  e.residual_kind = "RMS of log-loss residuals";
  return e;
}

// Per distinct value of `key`, the point with the largest `other` (closest to convergence).
std::vector<std::pair<double, double>> best_per(const std::vector<FitPoint>& points, bool by_n) {
  std::map<double, const FitPoint*> chosen;
  for (const auto& p : points) {
    const double key = by_n ? p.n : p.d;
    auto& slot = chosen[key];
    if (!slot || (by_n ? p.d > slot->d : p.n > slot->n)) slot = &p;
  }
  std::vector<std::pair<double, double>> out;
  for (const auto& [key, p] : chosen) out.emplace_back(key, p->loss);
  return out;
}

// The compute frontier: points (C, L) that lower the running minimum of L over increasing C;
// from loss curves (train loss) when there are any, else from the final points.
std::vector<std::pair<double, double>> compute_frontier(const FitData& data, bool& from_curves) {
  std::vector<std::pair<double, double>> all;
  for (const auto& c : data.curves)
    for (const auto& s : c.steps)
      if (s.train_loss && s.flops > 0 && *s.train_loss > 0)
        all.emplace_back(s.flops, *s.train_loss);
  from_curves = !all.empty();
  if (!from_curves)
    for (const auto& p : data.points) all.emplace_back(p.c, p.loss);
  std::sort(all.begin(), all.end());
  std::vector<std::pair<double, double>> frontier;
  double best = INFINITY;
  for (const auto& [c, l] : all)
    if (l < best) best = l, frontier.emplace_back(c, l);
  return frontier;
}

// N_opt = k_N C^a from (C, N_opt) pairs; D_opt = C / (6 N_opt) gives b = 1 - a, k_D = 1/(6 k_N).
Estimate fit_allocation_law(const std::vector<std::pair<double, double>>& cn,
                            const std::string& used) {
  Estimate e;
  e.points_used = used;
  e.n_points = static_cast<std::int64_t>(cn.size());
  std::vector<double> x, y;
  for (const auto& [c, n] : cn) x.push_back(std::log(c)), y.push_back(std::log(n));
  const auto line = fit_line(x, y);
  if (!line) {
    e.failure = fmt::format("needs >= 3 FLOP budgets with a minimum ({} found)", cn.size());
    return e;
  }
  const double k_n = std::exp(line->c0);
  e.params = {{"a", line->c1}, {"b", 1 - line->c1}, {"k_N", k_n}, {"k_D", 1 / (6 * k_n)}};
  e.residual = line->rms;
  e.residual_kind = "RMS of log N_opt residuals";
  return e;
}

Estimate estimate_law(const std::string& law, const FitData& data, const LawRunOptions& options,
                      ProgressLine* progress, const std::vector<Chinchilla3Params>* starts) {
  if (law == "kaplan-n")
    return fit_power_law(best_per(data.points, true), "N", "alpha_N",
                         "per distinct N, the run with the largest D (closest to convergence)");
  if (law == "kaplan-d")
    return fit_power_law(best_per(data.points, false), "D", "alpha_D",
                         "per distinct D, the run with the largest N");
  if (law == "kaplan-c") {
    bool from_curves = false;
    const auto frontier = compute_frontier(data, from_curves);
    return fit_power_law(frontier, "C", "alpha_C",
                         from_curves ? "the compute frontier: lower envelope of all runs' train "
                                       "loss curves against FLOPs"
                                     : "the lower envelope of the final points against C (no "
                                       "loss curves in this input)");
  }
  if (law == "chinchilla-1" || law == "chinchilla-2") {
    const auto groups = group_isoflop(data.points);
    std::vector<std::pair<double, double>> cn;
    for (const auto& g : groups) {
      if (law == "chinchilla-2") {
        if (g.has_parabola) cn.emplace_back(g.budget, g.n_min);
      } else {
        const auto best = *std::min_element(
            g.members.begin(), g.members.end(),
            [&](auto a, auto b) { return data.points[a].loss < data.points[b].loss; });
        cn.emplace_back(g.budget, data.points[best].n);
      }
    }
    return fit_allocation_law(
        cn, law == "chinchilla-2"
                ? "isoFLOP groups (C within 0.05 decade, >= 3 runs): minimum of a parabola in "
                  "log N per group"
                : "isoFLOP groups (C within 0.05 decade, >= 3 runs): the lowest-loss run per "
                  "group (final points; not the per-step envelope)");
  }
  if (law == "chinchilla-3") {
    Estimate e;
    e.points_used = "every point (final loss of each run)";
    e.n_points = static_cast<std::int64_t>(data.points.size());
    std::map<double, int> ns, ds;
    for (const auto& p : data.points) ++ns[p.n], ++ds[p.d];
    if (data.points.size() < 6 || ns.size() < 2 || ds.size() < 2) {
      e.failure = fmt::format(
          "needs >= 6 points with >= 2 distinct N and D for 5 parameters ({} points, {} N, {} D)",
          data.points.size(), ns.size(), ds.size());
      return e;
    }
    std::vector<double> ln, ld, ll;
    for (const auto& p : data.points)
      ln.push_back(std::log(p.n)), ld.push_back(std::log(p.d)), ll.push_back(std::log(p.loss));
    const auto result =
        fit_chinchilla3(ln, ld, ll, *starts, progress ? options.threads : 1,
                        [&](std::size_t done, std::size_t total) {
                          if (progress) progress->report("chinchilla-3 multi-start", done, total);
                        });
    if (!std::isfinite(result.objective)) {
      e.failure = "no start converged";
      return e;
    }
    const auto& x = result.x;
    const double alpha = x[3], beta = x[4];
    e.params = {{"E", std::exp(x[2])},
                {"A", std::exp(x[0])},
                {"B", std::exp(x[1])},
                {"alpha", alpha},
                {"beta", beta},
                {"a", beta / (alpha + beta)},
                {"b", alpha / (alpha + beta)}};
    e.residual = result.objective;
    e.residual_kind = "Huber objective (delta 1e-3, sum over points)";
    return e;
  }
  Estimate e;
  e.failure = "not implemented in this build (scalefit's fallback fitter; awaits ss_laws)";
  return e;
}

double param(const LawFit& f, const std::string& name) {
  for (const auto& [n, v] : f.params)
    if (n == name) return v;
  return NAN;
}

// Prediction and allocation callables for a fitted law.
void attach_functions(LawFit& f, const LawFit* chinchilla3) {
  const std::string& law = f.law;
  if (law == "kaplan-n") {
    const double nc = param(f, "Nc"), a = param(f, "alpha_N");
    f.predict_loss = [=](double n, double) { return std::pow(nc / n, a); };
  } else if (law == "kaplan-d") {
    const double dc = param(f, "Dc"), a = param(f, "alpha_D");
    f.predict_loss = [=](double, double d) { return std::pow(dc / d, a); };
  } else if (law == "kaplan-c") {
    const double cc = param(f, "Cc"), a = param(f, "alpha_C");
    f.predict_loss = [=](double n, double d) { return std::pow(cc / (6 * n * d), a); };
  } else if (law == "chinchilla-3") {
    const double E = param(f, "E"), A = param(f, "A"), B = param(f, "B");
    const double al = param(f, "alpha"), be = param(f, "beta");
    auto predict = [=](double n, double d) {
      return E + A / std::pow(n, al) + B / std::pow(d, be);
    };
    f.predict_loss = predict;
    const double g = std::pow(al * A / (be * B), 1 / (al + be));
    const double a = be / (al + be);
    f.allocate = [=](double c) {
      Allocation x;
      x.budget = c;
      x.n_opt = g * std::pow(c / 6, a);
      x.d_opt = c / (6 * x.n_opt);
      x.loss = predict(x.n_opt, x.d_opt);
      return x;
    };
  } else if (law == "chinchilla-1" || law == "chinchilla-2") {
    const double k = param(f, "k_N"), a = param(f, "a");
    std::function<double(double, double)> predict;
    if (chinchilla3) predict = chinchilla3->predict_loss;
    f.allocate = [=](double c) {
      Allocation x;
      x.budget = c;
      x.n_opt = k * std::pow(c, a);
      x.d_opt = c / (6 * x.n_opt);
      if (predict) x.loss = predict(x.n_opt, x.d_opt);
      return x;
    };
  }
}

// Bootstrap percentile intervals of every parameter of `law`.
std::vector<std::pair<std::string, std::pair<double, double>>> bootstrap_ci(
    const std::string& law, const FitData& data, const Estimate& full, const LawRunOptions& options,
    ProgressLine& progress) {
  const int count = options.bootstrap;
  if (count <= 0) return {};
  std::map<std::int64_t, const LossCurve*> curves;
  for (const auto& c : data.curves) curves[c.run] = &c;
  // chinchilla-3 refits start from the full-data optimum and 4 nearby points, not the grid.
  std::vector<Chinchilla3Params> starts;
  if (law == "chinchilla-3") {
    double A = 0, B = 0, E = 0, al = 0, be = 0;
    for (const auto& [n, v] : full.params) {
      if (n == "A") A = v;
      if (n == "B") B = v;
      if (n == "E") E = v;
      if (n == "alpha") al = v;
      if (n == "beta") be = v;
    }
    const Chinchilla3Params x = {std::log(A), std::log(B), std::log(E), al, be};
    starts = {x,
              {x[0] + 1, x[1], x[2], x[3] + 0.1, x[4]},
              {x[0], x[1] + 1, x[2], x[3], x[4] + 0.1},
              {x[0] - 1, x[1] - 1, x[2] - 0.1, x[3] - 0.05, x[4] - 0.05},
              {x[0], x[1], x[2] + 0.1, x[3], x[4]}};
  }
  std::vector<std::vector<double>> samples(count);
  std::atomic<int> next{0}, done{0};
  auto worker = [&] {
    for (int i = next++; i < count; i = next++) {
      std::mt19937_64 rng(options.seed + static_cast<std::uint64_t>(i));
      std::uniform_int_distribution<std::size_t> pick(0, data.points.size() - 1);
      FitData sample;
      sample.from_store = data.from_store;
      for (std::size_t k = 0; k < data.points.size(); ++k) {
        const FitPoint& p = data.points[pick(rng)];
        sample.points.push_back(p);
        if (auto it = curves.find(p.run); it != curves.end()) sample.curves.push_back(*it->second);
      }
      const Estimate e = estimate_law(law, sample, options, nullptr, &starts);
      if (e.failure.empty())
        for (const auto& [name, value] : e.params) samples[i].push_back(value);
      progress.report(law + " bootstrap", static_cast<std::size_t>(++done),
                      static_cast<std::size_t>(count));
    }
  };
  {
    const int threads =
        options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::jthread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
  }
  std::vector<std::pair<std::string, std::pair<double, double>>> ci;
  for (std::size_t k = 0; k < full.params.size(); ++k) {
    std::vector<double> values;
    for (const auto& s : samples)
      if (s.size() == full.params.size() && std::isfinite(s[k])) values.push_back(s[k]);
    if (values.size() < 2) continue;
    std::sort(values.begin(), values.end());
    auto quantile = [&](double q) {
      const double pos = q * (values.size() - 1);
      const std::size_t lo = static_cast<std::size_t>(pos);
      const std::size_t hi = std::min(lo + 1, values.size() - 1);
      return values[lo] + (pos - lo) * (values[hi] - values[lo]);
    };
    ci.emplace_back(full.params[k].first, std::make_pair(quantile(0.025), quantile(0.975)));
  }
  return ci;
}

}  // namespace

LawRunResult run_laws(const FitData& data, const std::vector<std::string>& laws,
                      const LawRunOptions& options, ProgressLine& progress) {
  LawRunResult result;
  const auto grid = chinchilla3_start_grid();
  // chinchilla-3 first: chinchilla-1/2 borrow its loss prediction for their allocations.
  std::vector<std::string> order = laws;
  std::stable_partition(order.begin(), order.end(),
                        [](const std::string& l) { return l == "chinchilla-3"; });
  for (const auto& law : order) {
    const Estimate full = estimate_law(law, data, options, &progress, &grid);
    if (!full.failure.empty()) {
      result.skipped.push_back({law, full.failure});
      continue;
    }
    LawFit f;
    f.law = law;
    f.params = full.params;
    f.n_points = full.n_points;
    f.residual = full.residual;
    f.residual_kind = full.residual_kind;
    f.points_used = full.points_used;
    f.ci = bootstrap_ci(law, data, full, options, progress);
    const LawFit* c3 = nullptr;
    for (const auto& g : result.fits)
      if (g.law == "chinchilla-3") c3 = &g;
    attach_functions(f, c3);
    if (f.allocate)
      for (double c : options.budgets) f.allocations.push_back(f.allocate(c));
    result.fits.push_back(std::move(f));
  }
  // Back to the order asked for.
  std::vector<LawFit> ordered;
  for (const auto& law : laws)
    for (auto& f : result.fits)
      if (f.law == law) ordered.push_back(std::move(f));
  result.fits = std::move(ordered);
  return result;
}

}  // namespace ss::analysis
