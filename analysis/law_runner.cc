// run_laws on top of ss_laws (analysis/laws/laws.h), the project's law library: FitData is
// converted to ss::laws::LawInput (final points with S and B; train-loss curves), each law is
// fitted with fit_law (an ss::InputError from it becomes a LawSkip with its one-line reason).
// Invariant: the allocation of every law is computed with all fits of this run in view
// (chinchilla-1/2 borrow chinchilla-3's loss).
#include "analysis/law_runner.h"

#include <fmt/core.h>

#include "ss/error.h"

namespace ss::analysis {

laws::LawInput to_law_input(const FitData& data) {
  laws::LawInput input;
  input.points.assign(data.points.begin(), data.points.end());  // each FitPoint is a FinalPoint
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

LawRunResult run_laws(const FitData& data, const std::vector<std::string>& law_list,
                      const LawRunOptions& options, ProgressLine& progress) {
  const laws::LawInput input = to_law_input(data);
  laws::FitOptions fit_options;
  fit_options.bootstrap = options.bootstrap;
  fit_options.seed = options.seed;
  fit_options.threads = options.threads;
  fit_options.progress = [&progress](const std::string& stage, std::size_t done,
                                     std::size_t total) { progress.report(stage, done, total); };
  LawRunResult result;
  for (const auto& law : law_list) {
    try {
      result.fits.push_back(laws::fit_law(law, input, fit_options));
    } catch (const InputError& e) {
      result.skipped.push_back({law, e.what()});
    }
  }
  const std::vector<laws::LawFit> usable = identifiable_fits(result.fits);
  for (double c : options.budgets)
    for (auto& row : laws::allocate_compute(usable, c))
      result.allocations.push_back(std::move(row));
  return result;
}

std::vector<laws::LawFit> identifiable_fits(const std::vector<laws::LawFit>& fits) {
  std::vector<laws::LawFit> out;
  for (const auto& f : fits)
    if (f.quality.identifiable) out.push_back(f);
  return out;
}

std::string quality_text(const laws::QualityReason& reason) {
  return fmt::format("{}: {}; {}", reason.rule, reason.evidence, reason.advice);
}

std::vector<laws::Allocation> allocations_of(const std::vector<laws::Allocation>& allocations,
                                             const std::string& law) {
  std::vector<laws::Allocation> rows;
  for (const auto& row : allocations)
    if (row.law == law) rows.push_back(row);
  return rows;
}

}  // namespace ss::analysis
