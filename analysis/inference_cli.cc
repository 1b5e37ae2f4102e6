// scalefit --inference-tokens (inference_cli.h).
#include "analysis/inference_cli.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "analysis/law_runner.h"
#include "analysis/svg_plot.h"
#include "ss/error.h"

namespace ss::analysis {

void add_inference_option(CLI::App& app, std::vector<double>& tokens) {
  static const CLI::Validator kTokens(
      [](std::string& text) {
        std::size_t used = 0;
        double value = -1;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == text.size() && value >= 0 && std::isfinite(value)) return std::string();
        return fmt::format(
            "'{}' is not a token count >= 0; write e.g. --inference-tokens 1e11,2e12", text);
      },
      "TOKENS");
  app.add_option("--inference-tokens", tokens,
                 "inference tokens served over the model's life, e.g. 1e11,2e12: with --budget, "
                 "the model of the same loss with the least training + inference FLOPs "
                 "(needs chinchilla-3)")
      ->delimiter(',')
      ->check(kTokens);
}

void check_inference_request(const std::vector<double>& tokens, const std::vector<double>& budgets,
                             const std::vector<std::string>& laws) {
  if (tokens.empty()) return;
  if (budgets.empty())
    throw InputError(
        "--inference-tokens needs --budget C (the training budget whose Chinchilla-optimal loss "
        "is the target), e.g. --budget 1e23 --inference-tokens 2e12");
  if (std::find(laws.begin(), laws.end(), "chinchilla-3") == laws.end())
    throw InputError(
        "--inference-tokens needs the chinchilla-3 law (L = E + A/N^alpha + B/D^beta); add it "
        "to --law");
}

std::vector<InferenceAllocation> inference_rows(const std::vector<double>& tokens,
                                                const std::vector<double>& budgets,
                                                const std::vector<laws::LawFit>& fits) {
  if (tokens.empty()) return {};
  const auto fit = std::find_if(fits.begin(), fits.end(),
                                [](const laws::LawFit& f) { return f.law == "chinchilla-3"; });
  if (fit == fits.end())
    throw InputError(
        "--inference-tokens needs a chinchilla-3 fit, and chinchilla-3 could not be fitted to "
        "this input (see the skipped laws); drop --inference-tokens or add runs");
  if (!fit->quality.identifiable)
    throw InputError(fmt::format(
        "--inference-tokens needs an identifiable chinchilla-3 fit, and chinchilla-3 is not "
        "identifiable on this input ({}); drop --inference-tokens or add runs",
        quality_text(fit->quality.reasons.front())));
  return inference_allocations(*fit, budgets, tokens);
}

void print_inference(const std::vector<InferenceAllocation>& rows) {
  for (const auto& r : rows)
    fmt::print(
        "inference     C={} T={}: L={} N={} D={} D/N={} train={} total={} (Chinchilla N={} "
        "total={}) saving={}\n",
        format_number(r.budget), format_number(r.inference_tokens), format_number(r.target_loss),
        format_number(r.optimal.n), format_number(r.optimal.d),
        format_number(r.optimal.tokens_per_param()), format_number(r.optimal.train_flops),
        format_number(r.optimal.total_flops), format_number(r.chinchilla.n),
        format_number(r.chinchilla.total_flops), saving_percent(r));
}

ReportSection inference_section(const std::vector<InferenceAllocation>& rows) {
  ReportSection section{
      .markdown = inference_markdown(rows), .json_key = "inference", .json = inference_json(rows)};
  if (auto plot = inference_plot(rows)) {
    section.markdown += fmt::format("\n{}\n\n![]({})\n", plot->caption, plot->file);
    section.plots.push_back(std::move(*plot));
  }
  return section;
}

}  // namespace ss::analysis
