// Inference-aware allocation (inference_budget.h). Along the iso-loss curve, with K = L - E and
// u = ln N, N runs from N_min = (A/K)^(1/alpha) (where D would be infinite) to infinity (where D
// falls to (B/K)^(1/beta)). With delta = u - ln N_min, A/N^alpha = K e^(-alpha delta), so
// ln D = (ln B - ln K - ln(1 - e^(-alpha delta))) / beta, computed with expm1 so that delta near
// 0 keeps its digits. The optimum's condition in logs,
//   phi = ln(6 + 2T/D) + ln(beta B) - beta ln D - ln(6 alpha A) + alpha u,
// is strictly increasing in delta (each term is: D falls as N grows), -> -inf at delta -> 0 and
// -> +inf at delta -> inf, so it has exactly one root, bracketed by halving / doubling delta.
#include "analysis/inference_budget.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "analysis/svg_plot.h"
#include "ss/error.h"

namespace ss::analysis {
namespace {

// ln D on the iso-loss curve at delta = ln N - ln N_min.
double log_d_at(const LossSurface& s, double k, double delta) {
  return (std::log(s.b) - std::log(k) - std::log(-std::expm1(-s.alpha * delta))) / s.beta;
}

void check_finite_positive(double v, const char* what) {
  if (!(std::isfinite(v) && v > 0))
    throw InputError(fmt::format("{} = {}: must be a finite number > 0", what, v));
}

}  // namespace

double LossSurface::loss(double n, double d) const {
  return e + a / std::pow(n, alpha) + b / std::pow(d, beta);
}

LossSurface loss_surface_of(const laws::LawFit& f) {
  if (f.law != "chinchilla-3")
    throw InputError(fmt::format(
        "inference-aware allocation needs the chinchilla-3 law L = E + A/N^alpha + B/D^beta, "
        "not {}",
        f.law));
  return {f.param("E"), f.param("A"), f.param("B"), f.param("alpha"), f.param("beta")};
}

LifetimePlan inference_optimal(const LossSurface& s, double loss, double inference_tokens) {
  check_finite_positive(s.a, "A");
  check_finite_positive(s.b, "B");
  check_finite_positive(s.alpha, "alpha");
  check_finite_positive(s.beta, "beta");
  if (!(std::isfinite(s.e) && s.e >= 0))
    throw InputError(fmt::format("E = {}: must be a finite number >= 0", s.e));
  if (!(std::isfinite(inference_tokens) && inference_tokens >= 0))
    throw InputError(fmt::format("inference tokens = {}: must be a finite number >= 0",
                                 inference_tokens));
  if (!(std::isfinite(loss) && loss > s.e))
    throw InputError(fmt::format("target loss {} is not above the law's E = {}: no finite model "
                                 "reaches it",
                                 loss, s.e));
  const double k = loss - s.e;
  const double log_n_min = (std::log(s.a) - std::log(k)) / s.alpha;
  const double t = inference_tokens;
  const double log_rhs = std::log(6.0 * s.alpha * s.a);
  auto phi = [&](double delta) {
    const double log_d = log_d_at(s, k, delta);
    return std::log(6.0 + 2.0 * t * std::exp(-log_d)) + std::log(s.beta * s.b) -
           s.beta * log_d - log_rhs + s.alpha * (log_n_min + delta);
  };
  double lo = 1.0, hi = 1.0;
  for (int i = 0; phi(lo) >= 0; ++i) {
    if (i == 200) throw std::runtime_error("inference_optimal: no lower bracket (phi >= 0)");
    lo /= 16.0;
  }
  for (int i = 0; phi(hi) <= 0; ++i) {
    if (i == 200) throw std::runtime_error("inference_optimal: no upper bracket (phi <= 0)");
    hi *= 2.0;
  }
  for (int i = 0; i < 300 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (phi(mid) < 0 ? lo : hi) = mid;
  }
  const double delta = 0.5 * (lo + hi);
  LifetimePlan plan;
  plan.n = std::exp(log_n_min + delta);
  plan.d = std::exp(log_d_at(s, k, delta));
  plan.train_flops = 6.0 * plan.n * plan.d;
  plan.total_flops = plan.train_flops + 2.0 * plan.n * t;
  return plan;
}

std::vector<InferenceAllocation> inference_allocations(const laws::LawFit& chinchilla3,
                                                       const std::vector<double>& budgets,
                                                       const std::vector<double>& inference_tokens) {
  const LossSurface s = loss_surface_of(chinchilla3);
  std::vector<InferenceAllocation> rows;
  for (double c : budgets) {
    const laws::Allocation a = laws::allocate_compute({chinchilla3}, c).at(0);
    for (double t : inference_tokens) {
      InferenceAllocation row;
      row.surface = s;
      row.budget = c;
      row.inference_tokens = t;
      row.target_loss = s.loss(a.n_opt, a.d_opt);
      row.chinchilla = {.n = a.n_opt, .d = a.d_opt, .train_flops = 6.0 * a.n_opt * a.d_opt,
                        .total_flops = 6.0 * a.n_opt * a.d_opt + 2.0 * a.n_opt * t};
      row.optimal = inference_optimal(s, row.target_loss, t);
      rows.push_back(row);
    }
  }
  return rows;
}

std::optional<NamedPlot> inference_plot(const std::vector<InferenceAllocation>& rows) {
  double t_lo = INFINITY, t_hi = 0;
  std::vector<const InferenceAllocation*> budgets;  // the first row of each budget
  for (const auto& r : rows) {
    if (r.inference_tokens > 0)
      t_lo = std::min(t_lo, r.inference_tokens), t_hi = std::max(t_hi, r.inference_tokens);
    if (budgets.empty() || budgets.back()->budget != r.budget) budgets.push_back(&r);
  }
  if (t_hi == 0) return std::nullopt;
  NamedPlot plot;
  plot.file = "inference_allocation.svg";
  plot.caption =
      "Inference-aware model size: for each budget's Chinchilla-optimal loss, the N with the "
      "least training + inference FLOPs against the tokens served T (line; markers: the rows "
      "above), and the Chinchilla-optimal N (dashed).";
  plot.spec.title = "Inference-aware allocation";
  plot.spec.x_label = "T (inference tokens over the model's life)";
  plot.spec.y_label = "N (parameters)";
  const double lo = std::log(t_lo / 100), hi = std::log(t_hi * 100);
  for (std::size_t i = 0; i < budgets.size(); ++i) {
    const InferenceAllocation& b = *budgets[i];
    const std::string color = color_scale(budgets.size() > 1 ? i / (budgets.size() - 1.0) : 0.0);
    PlotSeries sweep{.label = "C = " + format_number(b.budget), .color = color, .line = true,
                     .marker = Marker::kNone};
    PlotSeries chinchilla{.color = color, .line = true, .dashed = true, .marker = Marker::kNone};
    for (int k = 0; k <= 48; ++k) {
      const double t = std::exp(lo + (hi - lo) * k / 48.0);
      sweep.x.push_back(t);
      sweep.y.push_back(inference_optimal(b.surface, b.target_loss, t).n);
      chinchilla.x.push_back(t);
      chinchilla.y.push_back(b.chinchilla.n);
    }
    PlotSeries asked{.color = color, .marker = Marker::kCircle, .marker_size = 5};
    for (const auto& r : rows)
      if (r.budget == b.budget && r.inference_tokens > 0)
        asked.x.push_back(r.inference_tokens), asked.y.push_back(r.optimal.n);
    plot.spec.series.insert(plot.spec.series.end(), {sweep, chinchilla, asked});
  }
  return plot;
}

// The saving in percent, two decimals; rounding noise at T = 0 prints as 0.00%, not -0.00%.
std::string saving_percent(const InferenceAllocation& r) {
  const double pct = 100.0 * r.saving();
  return fmt::format("{:.2f}%", std::abs(pct) < 0.005 ? 0.0 : pct);
}

std::string inference_markdown(const std::vector<InferenceAllocation>& rows) {
  std::string md =
      "## Inference-aware allocation\n\n"
      "Sardana et al. 2024: for the loss L that chinchilla-3's compute-optimal model reaches at "
      "budget C, the (N, D) with L(N, D) = L that minimises lifetime FLOPs 6·N·D + 2·N·T for T "
      "inference tokens. Chinchilla: N_opt(C), D_opt(C) serving the same T. Saving = 1 − "
      "total / Chinchilla's total.\n\n"
      "| C | T | L | N (Chinchilla) | N | D | D/N | training FLOPs | total FLOPs | Chinchilla "
      "total | saving |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows)
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                      format_number(r.budget), format_number(r.inference_tokens),
                      format_number(r.target_loss), format_number(r.chinchilla.n),
                      format_number(r.optimal.n), format_number(r.optimal.d),
                      format_number(r.optimal.tokens_per_param()),
                      format_number(r.optimal.train_flops), format_number(r.optimal.total_flops),
                      format_number(r.chinchilla.total_flops), saving_percent(r));
  return md;
}

nlohmann::json inference_json(const std::vector<InferenceAllocation>& rows) {
  auto plan_json = [](const LifetimePlan& p) {
    return nlohmann::json{{"N", p.n},
                          {"D", p.d},
                          {"tokens_per_param", p.tokens_per_param()},
                          {"train_flops", p.train_flops},
                          {"total_flops", p.total_flops}};
  };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows)
    out.push_back({{"budget", r.budget},
                   {"inference_tokens", r.inference_tokens},
                   {"target_loss", r.target_loss},
                   {"chinchilla", plan_json(r.chinchilla)},
                   {"optimal", plan_json(r.optimal)},
                   {"flops_saved", r.flops_saved()},
                   {"saving", r.saving()}});
  return out;
}

}  // namespace ss::analysis
