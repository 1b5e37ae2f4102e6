// Evaluating fitted laws: predicted loss for plots, and compute-optimal allocation rows.
// Invariant: D_opt is always C / (6 N_opt), so N_opt D_opt 6 = C in every row.
#include <fmt/core.h>

#include <cmath>

#include "analysis/laws/laws.h"

namespace ss::laws {

std::optional<double> predict_loss(const LawFit& f, double n, double d) {
  if (f.law == "kaplan-n") return std::pow(f.param("Nc") / n, f.param("alpha_N"));
  if (f.law == "kaplan-d") return std::pow(f.param("Dc") / d, f.param("alpha_D"));
  if (f.law == "kaplan-c") return predict_loss_compute(f, 6 * n * d);
  if (f.law == "kaplan-nd") {
    const double an = f.param("alpha_N"), ad = f.param("alpha_D");
    return std::pow(std::pow(f.param("Nc") / n, an / ad) + f.param("Dc") / d, ad);
  }
  if (f.law == "chinchilla-3")
    return f.param("E") + f.param("A") / std::pow(n, f.param("alpha")) +
           f.param("B") / std::pow(d, f.param("beta"));
  return std::nullopt;
}

double predict_loss_compute(const LawFit& f, double c) {
  return std::pow(f.param("Cc") / c, f.param("alpha_C"));
}

double predict_loss_ns(const LawFit& f, double n, double steps, double batch_tokens) {
  const double nc = f.param("Nc"), an = f.param("alpha_N"), sc = f.param("Sc");
  const double as = f.param("alpha_S"), bs = f.param("B_star"), ab = f.param("alpha_B");
  // L appears on both sides (through Bcrit(L)); the map L -> rhs(L) is a contraction for
  // sensible parameters, so a fixed-point iteration from the large-batch limit converges.
  const double n_term = std::pow(nc / n, an);
  double loss = n_term + std::pow(sc / steps, as);
  for (int it = 0; it < 200; ++it) {
    const double smin = steps / (1 + bs / std::pow(loss, 1 / ab) / batch_tokens);
    const double next = n_term + std::pow(sc / smin, as);
    if (std::abs(next - loss) < 1e-12 * loss) return next;
    loss = next;
  }
  return loss;
}

std::vector<Allocation> allocate_compute(const std::vector<LawFit>& fits, double budget) {
  const LawFit* c3 = nullptr;
  for (const auto& f : fits)
    if (f.law == "chinchilla-3") c3 = &f;
  std::vector<Allocation> rows;
  for (const auto& f : fits) {
    Allocation row;
    row.law = f.law;
    row.budget = budget;
    if (f.law == "chinchilla-1" || f.law == "chinchilla-2") {
      row.n_opt = f.param("k_N") * std::pow(budget, f.param("a"));
      row.note = c3 ? "N_opt = k_N C^a; loss from chinchilla-3" : "N_opt = k_N C^a";
    } else if (f.law == "chinchilla-3") {
      row.n_opt = f.param("G") * std::pow(budget / 6, f.param("a"));
      row.note = "closed form N_opt = G (C/6)^a";
    } else if (f.law == "kaplan-nd") {
      // L(N, C/6N) = [p N^-r + q N]^alpha_D with r = alpha_N/alpha_D, p = Nc^r, q = 6 Dc / C;
      // the bracket's minimum is where r p N^-(r+1) = q (closed form, no search needed).
      const double r = f.param("alpha_N") / f.param("alpha_D");
      const double log_n = (std::log(r) + r * std::log(f.param("Nc")) -
                            std::log(6 * f.param("Dc") / budget)) /
                           (r + 1);
      row.n_opt = std::exp(log_n);
      row.note = "minimum of L(N, C/6N) from kaplan-nd";
    } else {
      continue;
    }
    row.d_opt = budget / (6 * row.n_opt);
    row.tokens_per_param = row.d_opt / row.n_opt;
    if (f.law == "chinchilla-3" || f.law == "kaplan-nd")
      row.loss = predict_loss(f, row.n_opt, row.d_opt);
    else if (c3)
      row.loss = predict_loss(*c3, row.n_opt, row.d_opt);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace ss::laws
