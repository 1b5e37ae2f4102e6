// `scalefit propose` (propose_cli.h): options -> input -> the law's fit with bootstrap ->
// candidates (a sweep template's shapes when there is one) -> greedy design -> table, TOML,
// report directory.
#include "analysis/propose_cli.h"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "analysis/fit_input.h"
#include "analysis/law_runner.h"
#include "analysis/propose.h"
#include "analysis/propose_sweep.h"
#include "analysis/report_dir.h"
#include "analysis/store_input.h"
#include "analysis/svg_plot.h"
#include "runner/config.h"
#include "ss/cli_checks.h"
#include "ss/error.h"
#include "ss/log.h"

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(fmt::format("--config {}: cannot read it; pass an existing sweep file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string file_name(const ProposedPoint& p) {
  return fmt::format("propose-{:02}.toml", p.rank);
}

std::string table_text(const Proposal& p, bool markdown) {
  std::string out = markdown
                        ? "| # | N | D | D/N | FLOPs | shape | step reduction | expected "
                          "interval after |\n|---|---|---|---|---|---|---|---|\n"
                        : fmt::format("{:>3} {:>10} {:>10} {:>8} {:>10} {:>9} {:>12}  {}\n", "#",
                                      "N", "D", "D/N", "FLOPs", "step", "interval", "shape");
  for (const ProposedPoint& q : p.points) {
    const Candidate& c = q.candidate;
    const std::string after =
        fmt::format("x{:.3g} (-{:.1f}%)", std::exp(q.width_after), 100.0 * q.total_reduction);
    out += markdown ? fmt::format("| {} | {} | {} | {} | {} | {} | {:.1f}% | {} |\n", q.rank,
                                  format_number(c.n), format_number(c.d), format_number(c.d / c.n),
                                  format_number(c.flops), c.shape.empty() ? "–" : c.shape,
                                  100.0 * q.step_reduction, after)
                    : fmt::format("{:>3} {:>10} {:>10} {:>8} {:>10} {:>8.1f}% {:>12}  {}\n", q.rank,
                                  format_number(c.n), format_number(c.d), format_number(c.d / c.n),
                                  format_number(c.flops), 100.0 * q.step_reduction, after, c.shape);
  }
  return out;
}

std::string summary_line(const Proposal& p) {
  return fmt::format(
      "{} at C = {}: N_opt = {}, 95% interval [{}, {}] (x{:.3g} wide) over {} bootstrap draws; "
      "noise sd of ln L = {:.3g}; {} candidates{}",
      p.law, format_number(p.budget), format_number(p.n_opt), format_number(p.n_lo),
      format_number(p.n_hi), std::exp(p.width_now), p.draws, p.noise_sd, p.candidates,
      p.compute_cap ? fmt::format(", compute cap {} FLOPs", format_number(*p.compute_cap)) : "");
}

std::string report_markdown(const Proposal& p, const std::string& command_line, bool toml) {
  std::string md =
      "# Proposed runs\n\nCommand: `" + command_line + "`.\n\n" + summary_line(p) + ".\n\n";
  md +=
      "Criterion: each bootstrap draw of the law is a sample of its parameters; a run at (N, D) "
      "observes ln L with the noise above, and conditioning the draws' joint covariance of "
      "(ln N_opt(C), ln L at every candidate) on it lowers Var ln N_opt (linear-Gaussian update, "
      "greedy over K). The expected interval is the bootstrap width scaled by the square root of "
      "the variance ratio (docs/scalefit.md).\n\n";
  md += table_text(p, true) + "\n";
  for (const auto& note : p.notes) md += "- " + note + "\n";
  if (toml)
    md +=
        "\nSweep files (one point each; `scalesweep plan FILE`, `scalesweep run FILE --store "
        "DB`): " +
        [&] {
          std::string list;
          for (const auto& q : p.points) list += (list.empty() ? "" : ", ") + file_name(q);
          return list;
        }() +
        ".\n";
  return md;
}

nlohmann::json proposal_json(const Proposal& p) {
  nlohmann::json points = nlohmann::json::array();
  for (const ProposedPoint& q : p.points)
    points.push_back({{"rank", q.rank},
                      {"N", q.candidate.n},
                      {"D", q.candidate.d},
                      {"flops", q.candidate.flops},
                      {"shape", q.candidate.shape},
                      {"step_reduction", q.step_reduction},
                      {"expected_width_after", q.width_after},
                      {"expected_reduction", q.total_reduction},
                      {"cumulative_flops", q.cumulative_flops},
                      {"sweep_file", q.candidate.toml.empty() ? "" : file_name(q)}});
  return {{"law", p.law},
          {"budget", p.budget},
          {"N_opt", p.n_opt},
          {"N_opt_ci", {p.n_lo, p.n_hi}},
          {"width_ln", p.width_now},
          {"noise_sd", p.noise_sd},
          {"draws", p.draws},
          {"candidates", p.candidates},
          {"compute_cap", p.compute_cap ? nlohmann::json(*p.compute_cap) : nlohmann::json()},
          {"points", points},
          {"notes", p.notes}};
}

}  // namespace

// Everything before the design: checks, the input, the template, the fit.
int run_propose(const ProposeArgs& a, const std::string& command_line) {
  if (!a.out.empty()) check_report_target(a.out, a.input.path);
  FitData data = read_fit_input(a.input);
  std::optional<std::pair<std::string, std::string>> templ;
  if (!a.config.empty())
    templ.emplace(read_text(a.config), a.config);
  else if (data.from_store)
    templ = store_sweep_template(a.input.path);
  if (templ) runner::parse_sweep_spec(templ->first, templ->second);  // fails before fitting

  ProgressLine progress(!a.quiet);
  LawRunOptions fit_options;
  fit_options.bootstrap = a.bootstrap, fit_options.seed = a.seed, fit_options.threads = a.threads;
  LawRunResult fitted = run_laws(data, {a.law}, fit_options, progress);
  if (fitted.fits.empty())
    throw InputError(fmt::format("--law {}: cannot be fitted to {}: {}", a.law, data.source,
                                 fitted.skipped.front().reason));
  const laws::LawFit& fit = fitted.fits.front();
  const double limit = std::min(a.design.budget, a.design.compute_cap.value_or(INFINITY));
  std::vector<Candidate> candidates = candidate_grid(fit, data, a.design.budget, limit, a.grid);
  std::vector<std::string> notes;
  if (templ) {
    RealisedCandidates realised =
        realise_candidates(templ->first, templ->second, candidates, limit);
    candidates = std::move(realised.candidates);
    notes = std::move(realised.notes);
    notes.push_back("shapes and sweep files from " + templ->second);
  } else {
    notes.push_back(
        "no sweep template (a CSV without --config): ideal (N, D), cost 6 N D, no "
        "sweep files");
  }
  Proposal proposal = propose_points(fit, candidates, a.design,
                                     a.design.noise_sd.value_or(log_loss_rms(fit, data)));
  proposal.notes.insert(proposal.notes.begin(), notes.begin(), notes.end());

  fmt::print("{}\n{}", summary_line(proposal), table_text(proposal, false));
  for (const auto& note : proposal.notes) fmt::print("note: {}\n", note);
  if (a.out.empty()) {
    for (const auto& q : proposal.points)
      if (!q.candidate.toml.empty())
        fmt::print("\n# ---- {} ----\n{}", file_name(q), q.candidate.toml);
    return 0;
  }
  publish_report_dir(a.out, a.input.path, [&](const fs::path& dir) {
    write_report_file(dir / "report.md",
                      report_markdown(proposal, command_line, templ.has_value()));
    write_report_file(dir / "fits.json", nlohmann::json{{"source", data.source},
                                                        {"fits", {{fit.law, laws::to_json(fit)}}},
                                                        {"propose", proposal_json(proposal)}}
                                                 .dump(2) +
                                             "\n");
    for (const auto& q : proposal.points)
      if (!q.candidate.toml.empty()) write_report_file(dir / file_name(q), q.candidate.toml);
  });
  log::info("report written to {}", a.out);
  return 0;
}

CLI::App* add_propose_command(CLI::App& main_app, ProposeArgs& a) {
  CLI::App& app = *main_app.add_subcommand(
      "propose",
      "the K new (N, D) runs that shrink the 95% interval of the compute-optimal N at a budget C "
      "the most, as sweep files (docs/scalefit.md)");
  app.add_option("input", a.input.path, "ScaleSweep store (.db) or CSV file")->required();
  app.add_option("--budget", a.design.budget, "FLOP budget C whose N_opt interval should shrink")
      ->required()
      ->check(cli::kPositive);
  app.add_option("--n", a.design.count, "how many points to propose")
      ->required()
      ->check(CLI::Range(1, 100));
  app.add_option("--compute-cap", a.design.compute_cap, "total FLOPs of the proposed runs")
      ->check(cli::kPositive);
  app.add_option("--law", a.law, "law whose bootstrap fits are used")
      ->check(CLI::IsMember(proposable_laws()))
      ->capture_default_str();
  app.add_option("--config", a.config,
                 "sweep file whose family the proposals follow (default: the store's latest "
                 "sweep)");
  app.add_option("--columns", a.input.columns, "CSV only: ROLE=HEADER list (as scalefit)");
  app.add_option("--where", a.input.where, "store only: status=done|all|...")
      ->capture_default_str();
  app.add_option("--bootstrap", a.bootstrap, "bootstrap resamples (the ensemble)")
      ->check(CLI::Range(20, 100000))
      ->capture_default_str();
  app.add_option("--seed", a.seed, "bootstrap seed")->capture_default_str();
  app.add_option("--threads", a.threads, "worker threads (0: all cores)")->check(cli::kNonNegative);
  app.add_option("--noise-sd", a.design.noise_sd,
                 "sd of a new run's ln loss (default: the fit's RMS ln-loss residual)")
      ->check(cli::kPositive);
  app.add_option("--grid", a.grid, "candidate grid: this many N and D values")
      ->check(CLI::Range(2, 64))
      ->capture_default_str();
  app.add_option("--out", a.out, "report directory (report.md, fits.json, propose-NN.toml)");
  app.add_flag("-q,--quiet", a.quiet, "no progress lines");
  return &app;
}

}  // namespace ss::analysis
