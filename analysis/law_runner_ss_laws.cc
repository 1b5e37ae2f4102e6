// run_laws on top of ss_laws (analysis/laws/laws.h), the project's law library: FitData is
// converted to ss::laws::LawInput (final points with S and B; train-loss curves), each law is
// fitted with fit_law (an ss::InputError from it becomes a LawSkip with its one-line reason),
// and predictions / allocations are wrapped as callables. Invariant: the allocation of every
// law is computed with all fits of this run in view (chinchilla-1/2 borrow chinchilla-3's loss).
#include <memory>

#include "analysis/law_runner.h"
#include "analysis/laws/laws.h"
#include "ss/error.h"

namespace ss::analysis {
namespace {

laws::LawInput to_law_input(const FitData& data) {
  laws::LawInput input;
  for (const auto& p : data.points) {
    laws::FinalPoint f;
    f.run = p.run;
    f.n = p.n;
    f.d = p.d;
    f.c = p.c;
    f.loss = p.loss;
    f.steps = p.steps;
    f.batch_tokens = p.batch_tokens;
    input.points.push_back(f);
  }
  for (const auto& curve : data.curves)
    for (const auto& s : curve.steps) {
      if (!s.train_loss || !(*s.train_loss > 0) || !(s.tokens > 0)) continue;
      laws::CurveStep c;
      c.run = curve.run;
      c.n = curve.n;
      c.step = static_cast<double>(s.step);
      c.tokens = s.tokens;
      c.flops = s.flops;
      c.loss = *s.train_loss;
      input.curves.push_back(c);
    }
  return input;
}

}  // namespace

LawRunResult run_laws(const FitData& data, const std::vector<std::string>& law_list,
                      const LawRunOptions& options, ProgressLine& progress) {
  const laws::LawInput input = to_law_input(data);
  laws::FitOptions fit_options;
  fit_options.bootstrap = options.bootstrap;
  fit_options.seed = options.seed;
  fit_options.threads = options.threads;
  fit_options.progress = [&progress](const std::string& stage, std::size_t done,
                                     std::size_t total) { progress.report(stage, done, total); };
  auto fitted = std::make_shared<std::vector<laws::LawFit>>();
  LawRunResult result;
  for (const auto& law : law_list) {
    try {
      fitted->push_back(laws::fit_law(law, input, fit_options));
    } catch (const InputError& e) {
      result.skipped.push_back({law, e.what()});
    }
  }
  for (std::size_t i = 0; i < fitted->size(); ++i) {
    const laws::LawFit& lf = (*fitted)[i];
    LawFit f;
    f.law = lf.law;
    f.params = lf.params;
    f.ci = lf.ci;
    f.n_points = lf.n_points;
    f.residual = lf.residual;
    f.residual_kind = lf.residual_kind;
    f.points_used = lf.points_used;
    if (laws::predict_loss(lf, 1e9, 1e10).has_value())
      f.predict_loss = [fitted, i](double n, double d) {
        return laws::predict_loss((*fitted)[i], n, d).value_or(NAN);
      };
    if (!laws::allocate_compute({lf}, 1e21).empty() || lf.law == "chinchilla-1" ||
        lf.law == "chinchilla-2") {
      const std::string name = lf.law;
      f.allocate = [fitted, name](double c) {
        Allocation a;
        a.budget = c;
        a.n_opt = a.d_opt = NAN;
        for (const auto& row : laws::allocate_compute(*fitted, c))
          if (row.law == name) {
            a.n_opt = row.n_opt;
            a.d_opt = row.d_opt;
            a.loss = row.loss;
          }
        return a;
      };
    }
    if (f.allocate)
      for (double c : options.budgets) f.allocations.push_back(f.allocate(c));
    result.fits.push_back(std::move(f));
  }
  return result;
}

}  // namespace ss::analysis
