// Overfitting flags (see overfit_flags.h).
#include "analysis/overfit_flags.h"

#include <cmath>
#include <map>

namespace ss::analysis {

double kaplan_overfit_tokens(double n) {
  return 5e3 * std::pow(n, 0.74);
}

double kaplan_overfit_ratio(double n, double d) {
  return d / kaplan_overfit_tokens(n);
}

std::optional<std::int64_t> find_val_turn(const LossCurve& curve, double rise_threshold) {
  // The evals: steps that logged val loss. Train loss at an eval is the one logged at the same
  // step, else the latest logged before it (train is logged more often than val).
  struct Eval {
    std::int64_t step;
    double val;
    std::optional<double> train;
  };
  std::vector<Eval> evals;
  std::optional<double> last_train;
  for (const auto& s : curve.steps) {
    if (s.train_loss) last_train = s.train_loss;
    if (s.val_loss) evals.push_back({s.step, *s.val_loss, last_train});
  }
  if (evals.size() < 2) return std::nullopt;
  std::size_t best = 0;
  for (std::size_t i = 1; i < evals.size(); ++i)
    if (evals[i].val < evals[best].val) best = i;
  const Eval& last = evals.back();
  if (best == evals.size() - 1) return std::nullopt;
  if (!(last.val - evals[best].val > rise_threshold)) return std::nullopt;
  if (!last.train || !evals[best].train || !(*last.train < *evals[best].train)) return std::nullopt;
  return evals[best].step;
}

std::vector<RunOverfit> compute_overfit_flags(const FitData& data, const OverfitOptions& options) {
  std::map<std::int64_t, const LossCurve*> curves;
  for (const auto& c : data.curves) curves[c.run] = &c;
  std::vector<RunOverfit> flags;
  for (const auto& p : data.points) {
    RunOverfit f;
    f.run = p.run;
    f.n = p.n;
    f.d = p.d;
    f.kaplan_ratio = kaplan_overfit_ratio(p.n, p.d);
    f.kaplan_flag = f.kaplan_ratio < 1.0;
    if (auto it = curves.find(p.run); it != curves.end()) {
      const LossCurve& curve = *it->second;
      std::optional<double> final_train, final_val;
      for (const auto& s : curve.steps) {
        if (s.train_loss) final_train = s.train_loss;
        if (s.val_loss) final_val = s.val_loss;
      }
      if (final_train && final_val) f.val_train_gap = *final_val - *final_train;
      f.val_turn_step = find_val_turn(curve, options.rise_threshold);
    }
    f.measured_flag = f.val_turn_step.has_value() ||
                      (f.val_train_gap && *f.val_train_gap > options.gap_threshold);
    flags.push_back(f);
  }
  return flags;
}

}  // namespace ss::analysis
