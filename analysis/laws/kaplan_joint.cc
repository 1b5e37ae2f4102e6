// Kaplan's two-variable laws, fitted by Ceres (autodiff residuals ln L_pred - ln L_obs,
// Levenberg-Marquardt) from a small grid of starts in parallel; the lowest cost wins, ties keep
// the earlier start (thread-count independent). Bootstrap refits start from the full-data
// optimum and a few grid points.
// - kaplan-nd: L(N, D) = [(Nc/N)^(alpha_N/alpha_D) + Dc/D]^alpha_D on all final points.
// - kaplan-ns: L(N, S) = (Nc/N)^alpha_N + (Sc/S_min)^alpha_S, S_min = S / (1 + B_crit/B),
//   B_crit(L) = B* / L^(1/alpha_B) evaluated at the observed loss (as Kaplan does). alpha_B is
//   fixed at Kaplan's 0.21 unless FitOptions::fit_alpha_b. Uses loss-curve steps (step > 0 with
//   batch tokens; at most 32 per run, evenly spaced in ln S) when there are any, else final
//   points, which then all need S and B. Needs >= 2 distinct batch sizes B: B_crit is not
//   identifiable from one (require_batch_sizes), so such data is refused, not fitted.
#include <ceres/ceres.h>
#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "analysis/laws/fit_util.h"
#include "ss/error.h"

namespace ss::laws::detail {
namespace {

constexpr double kKaplanAlphaB = 0.21;

struct NdResidual {
  double log_n, log_d, log_loss;
  template <typename T>
  bool operator()(const T* p, T* residual) const {
    // p = (ln Nc, ln Dc, alpha_N, alpha_D); ln L = alpha_D * LSE(u, v).
    const T u = p[2] / p[3] * (p[0] - log_n);
    const T v = p[1] - log_d;
    const T m = u > v ? u : v;
    residual[0] = p[3] * (m + log(exp(u - m) + exp(v - m))) - log_loss;
    return ceres::isfinite(residual[0]);  // false: Ceres rejects the step quietly
  }
};

struct NsResidual {
  double log_n, steps, batch, loss;
  template <typename T>
  bool operator()(const T* p, const T* alpha_b, T* residual) const {
    // p = (ln Nc, alpha_N, ln Sc, alpha_S, ln B*).
    const T b_crit = exp(p[4]) / pow(T(loss), 1.0 / alpha_b[0]);
    const T s_min = T(steps) / (1.0 + b_crit / batch);
    const T predicted = exp(p[1] * (p[0] - log_n)) + exp(p[3] * (p[2] - log(s_min)));
    residual[0] = log(predicted) - std::log(loss);
    return ceres::isfinite(residual[0]);  // false: Ceres rejects the step quietly
  }
};

template <std::size_t K>
struct Outcome {
  std::array<double, K> p{};
  double alpha_b = kKaplanAlphaB;
  double cost = INFINITY;
};

ceres::Solver::Options lm_options() {
  ceres::Solver::Options o;
  o.linear_solver_type = ceres::DENSE_QR;
  o.max_num_iterations = 200;
  o.function_tolerance = 1e-12;
  o.parameter_tolerance = 1e-12;
  o.gradient_tolerance = 1e-14;
  o.logging_type = ceres::SILENT;
  o.num_threads = 1;
  return o;
}

// Picks the lowest finite cost, earliest on ties.
template <std::size_t K>
const Outcome<K>& best_of(const std::string& law, const std::vector<Outcome<K>>& outcomes) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < outcomes.size(); ++i)
    if (outcomes[i].cost < outcomes[best].cost) best = i;
  if (!std::isfinite(outcomes[best].cost))
    throw InputError(fmt::format("{}: no start converged; check the losses", law));
  return outcomes[best];
}

// kaplan-ns's observations: (N, S, B, loss) per curve step or per final point.
struct NsSample {
  double n, steps, batch, loss;
};
struct NsSamples {
  std::vector<NsSample> samples;
  bool from_curves = false;
  std::size_t runs = 0;  // runs with curves
};

// B_crit(L) says how steps trade against batch size, so it is only measured where the batch size
// varies: with one B, S_min = S / (1 + B_crit/B) is a fixed rescaling of S at each L and B*
// trades off against Sc (B_crit << B leaves B* free, B_crit >> B fixes only Sc B*). Kaplan et al.
// measured B_crit from runs over a range of batch sizes (their section 5.1). So one batch size is
// not fitted (an InputError, reported as "not fitted" with this reason), not fitted into a
// degenerate B*.
void require_batch_sizes(const std::string& law, const NsSamples& data) {
  std::set<double> batches;
  for (const NsSample& s : data.samples) batches.insert(s.batch);
  if (batches.size() >= 2 || data.samples.empty()) return;
  const double b = *batches.begin();
  throw InputError(fmt::format(
      "{}: needs runs at >= 2 batch sizes: every {} uses B = {:g} tokens per step, and B_crit "
      "(so B* and S_min) is not identifiable from one batch size; add batch_tokens = [{:g}, "
      "{:g}, {:g}] to a sweep's [train] table",
      law, data.from_curves ? "loss-curve step" : "run", b, b / 2, b, 2 * b));
}

// Curve steps with step > 0 and batch tokens (at most 32 per run, evenly spaced in ln S) when
// any run has them; else every final point, which then must carry S and B.
NsSamples ns_samples(const LawInput& input, const std::string& law) {
  NsSamples out;
  const auto runs = curves_by_run(input);
  out.runs = runs.size();
  for (const auto& [run, steps] : runs) {
    std::vector<const CurveStep*> usable;
    for (const CurveStep& s : steps)
      if (s.step > 0 && s.batch_tokens) usable.push_back(&s);
    if (usable.empty()) continue;
    out.from_curves = true;
    std::sort(usable.begin(), usable.end(),
              [](const CurveStep* a, const CurveStep* b) { return a->step < b->step; });
    const double lo = std::log(usable.front()->step), hi = std::log(usable.back()->step);
    double next = lo;
    for (const CurveStep* s : usable)
      if (std::log(s->step) >= next - 1e-12) {
        out.samples.push_back({s->n, s->step, *s->batch_tokens, s->loss});
        next = std::log(s->step) + (hi - lo) / 31.0;
      }
  }
  if (!out.from_curves)
    for (std::size_t i = 0; i < input.points.size(); ++i) {
      const FinalPoint& p = input.points[i];
      if (!p.steps || !p.batch_tokens)
        throw InputError(fmt::format(
            "{}: needs optimizer steps S and batch tokens B; point {} (run {}) lacks {} and "
            "there are no loss curves with batch tokens; give S and B or drop this law",
            law, i, p.run, p.steps ? "B" : "S"));
      out.samples.push_back({p.n, *p.steps, *p.batch_tokens, p.loss});
    }
  require_batch_sizes(law, out);
  return out;
}

// (ln Nc, alpha_N, ln Sc, alpha_S, ln B*) starts: a 72-point grid, or for a bootstrap refit the
// full-data optimum and 2 grid points.
std::vector<std::array<double, 5>> ns_starts(const LawFit* full) {
  std::vector<std::array<double, 5>> starts;
  if (full)
    starts.push_back({std::log(full->param("Nc")), full->param("alpha_N"),
                      std::log(full->param("Sc")), full->param("alpha_S"),
                      std::log(full->param("B_star"))});
  for (double ln_nc : {20.0, 32.0})
    for (double an : {0.076, 0.3})
      for (double ln_sc : {5.0, 8.0, 12.0})
        for (double as : {0.4, 0.8})
          for (double ln_b : {15.0, 19.0, 23.0})
            if (!full || (an == 0.076 && as == 0.8 && ln_b == 19.0))
              starts.push_back({ln_nc, an, ln_sc, as, ln_b});
  return starts;
}

// One Levenberg-Marquardt solve of kaplan-ns from `start` (alpha_B held at alpha_b unless
// fit_alpha_b).
Outcome<5> solve_ns(const std::vector<NsSample>& samples, const std::array<double, 5>& start,
                    double alpha_b, bool fit_alpha_b) {
  Outcome<5> o;
  o.p = start;
  o.alpha_b = alpha_b;
  ceres::Problem problem;
  for (const NsSample& sm : samples)
    problem.AddResidualBlock(new ceres::AutoDiffCostFunction<NsResidual, 1, 5, 1>(
                                 new NsResidual{std::log(sm.n), sm.steps, sm.batch, sm.loss}),
                             nullptr, o.p.data(), &o.alpha_b);
  const LawSpec& spec = find_law("kaplan-ns");  // the bounds of the law's table row
  for (int k : {1, 3}) {
    const ParamBound& b = bound_of(spec, k == 1 ? "alpha_N" : "alpha_S");
    problem.SetParameterLowerBound(o.p.data(), k, b.lo);
    problem.SetParameterUpperBound(o.p.data(), k, b.hi);
  }
  const ParamBound& b = bound_of(spec, "alpha_B");
  problem.SetParameterLowerBound(&o.alpha_b, 0, b.lo);
  problem.SetParameterUpperBound(&o.alpha_b, 0, b.hi);
  if (!fit_alpha_b) problem.SetParameterBlockConstant(&o.alpha_b);
  ceres::Solver::Summary summary;
  ceres::Solve(lm_options(), &problem, &summary);
  if (summary.IsSolutionUsable() && std::isfinite(summary.final_cost)) o.cost = summary.final_cost;
  return o;
}

}  // namespace

LawFit fit_kaplan_nd(const LawInput& input, const FitOptions&, const LawFit* full, int threads) {
  const std::string law = "kaplan-nd";
  const LawSpec& spec = find_law(law);
  require_count(law, input.points.size(), static_cast<std::size_t>(find_law(law).min_points),
                "runs (final points)");
  std::set<double> sizes, tokens;
  for (const FinalPoint& p : input.points) sizes.insert(p.n), tokens.insert(p.d);
  require_count(law, sizes.size(), 2, "distinct model sizes N");
  require_count(law, tokens.size(), 2, "distinct token counts D");

  std::vector<std::array<double, 4>> starts;
  if (full)
    starts.push_back({std::log(full->param("Nc")), std::log(full->param("Dc")),
                      full->param("alpha_N"), full->param("alpha_D")});
  for (double ln_nc : {15.0, 25.0, 35.0})
    for (double ln_dc : {15.0, 25.0, 35.0})
      for (double an : {0.05, 0.2, 0.5})
        for (double ad : {0.05, 0.2, 0.5})
          if (!full || (an == 0.2 && ad == 0.2)) starts.push_back({ln_nc, ln_dc, an, ad});

  std::vector<Outcome<4>> outcomes(starts.size());
  parallel_for(starts.size(), threads, [&](std::size_t s) {
    Outcome<4>& o = outcomes[s];
    o.p = starts[s];
    ceres::Problem problem;
    for (const FinalPoint& pt : input.points)
      problem.AddResidualBlock(new ceres::AutoDiffCostFunction<NdResidual, 1, 4>(new NdResidual{
                                   std::log(pt.n), std::log(pt.d), std::log(pt.loss)}),
                               nullptr, o.p.data());
    for (int k : {2, 3}) {  // alpha_N, alpha_D: the bounds of the law's table row
      const ParamBound& b = bound_of(spec, k == 2 ? "alpha_N" : "alpha_D");
      problem.SetParameterLowerBound(o.p.data(), k, b.lo);
      problem.SetParameterUpperBound(o.p.data(), k, b.hi);
    }
    ceres::Solver::Summary summary;
    ceres::Solve(lm_options(), &problem, &summary);
    if (summary.IsSolutionUsable() && std::isfinite(summary.final_cost))
      o.cost = summary.final_cost;
  });
  const Outcome<4>& best = best_of(law, outcomes);
  LawFit fit;
  fit.params = {{"Nc", std::exp(best.p[0])},
                {"Dc", std::exp(best.p[1])},
                {"alpha_N", best.p[2]},
                {"alpha_D", best.p[3]}};
  fit.n_points = static_cast<std::int64_t>(input.points.size());
  fit.residual = std::sqrt(2 * best.cost / static_cast<double>(input.points.size()));
  std::vector<double> log_loss;
  for (const FinalPoint& pt : input.points) log_loss.push_back(std::log(pt.loss));
  fit.r2 = r_squared(log_loss, 2 * best.cost);
  fit.residual_kind = "RMS of ln L residuals";
  fit.points_used = fmt::format("all {} runs' final (N, D, loss) points", input.points.size());
  fit.description =
      "L(N,D) = [(Nc/N)^(alpha_N/alpha_D) + Dc/D]^alpha_D, least squares on ln L (Ceres LM)";
  fit.details["starts"] = starts.size();
  return fit;
}

LawFit fit_kaplan_ns(const LawInput& input, const FitOptions& options, const LawFit* full,
                     int threads) {
  const std::string law = "kaplan-ns";
  const NsSamples data = ns_samples(input, law);
  require_count(law, data.samples.size(), static_cast<std::size_t>(find_law(law).min_points),
                data.from_curves ? "curve steps with S and B" : "runs (final points)");
  std::set<double> sizes;
  for (const NsSample& s : data.samples) sizes.insert(s.n);
  require_count(law, sizes.size(), 2, "distinct model sizes N");

  const auto starts = ns_starts(full);
  const double alpha_b0 = full ? full->param("alpha_B") : kKaplanAlphaB;
  std::vector<Outcome<5>> outcomes(starts.size());
  parallel_for(starts.size(), threads, [&](std::size_t s) {
    outcomes[s] = solve_ns(data.samples, starts[s],
                           options.fit_alpha_b ? alpha_b0 : kKaplanAlphaB, options.fit_alpha_b);
  });
  const Outcome<5>& best = best_of(law, outcomes);
  LawFit fit;
  fit.params = {{"Nc", std::exp(best.p[0])},     {"alpha_N", best.p[1]},
                {"Sc", std::exp(best.p[2])},     {"alpha_S", best.p[3]},
                {"B_star", std::exp(best.p[4])}, {"alpha_B", best.alpha_b}};
  fit.n_points = static_cast<std::int64_t>(data.samples.size());
  fit.residual = std::sqrt(2 * best.cost / static_cast<double>(data.samples.size()));
  std::vector<double> log_loss;
  for (const NsSample& sm : data.samples) log_loss.push_back(std::log(sm.loss));
  fit.r2 = r_squared(log_loss, 2 * best.cost);
  fit.residual_kind = "RMS of ln L residuals";
  fit.points_used =
      data.from_curves
          ? fmt::format(
                "{} loss-curve steps (step > 0 with batch tokens, <= 32 per run evenly spaced in "
                "ln S) of {} runs",
                data.samples.size(), data.runs)
          : fmt::format("all {} runs' final (N, S, B, loss) points", data.samples.size());
  fit.description = fmt::format(
      "L(N,S) = (Nc/N)^alpha_N + (Sc/S_min)^alpha_S, S_min = S/(1 + B_crit/B), B_crit = "
      "B*/L^(1/alpha_B) at the observed L; alpha_B {}",
      options.fit_alpha_b ? "fitted" : "fixed at Kaplan's 0.21");
  fit.details["starts"] = starts.size();
  return fit;
}

}  // namespace ss::laws::detail
