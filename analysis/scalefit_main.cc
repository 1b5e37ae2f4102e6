// scalefit: fits scaling laws to a ScaleSweep store or a CSV, flags overfitting, computes
// compute-optimal allocations and writes fits rows / a report directory; `scalefit reproduce`
// is reproduce_cli.h's, `propose` propose_cli.h's, `shape` shape_cli.h's. Invariant: every
// input is read and every fit is done BEFORE anything is written, so bad input (exit 2) or a
// failed fit (exit 1) leaves no out dir, no fits rows and no run_flags rows behind; --out is
// checked first and never replaces anything scalefit did not write (report_dir.h).
#include <fmt/core.h>
#include <glog/logging.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "analysis/csv_input.h"
#include "analysis/fit_data.h"
#include "analysis/fit_input.h"
#include "analysis/inference_cli.h"
#include "analysis/law_runner.h"
#include "analysis/overfit_flags.h"
#include "analysis/progress.h"
#include "analysis/propose_cli.h"
#include "analysis/report_dir.h"
#include "analysis/report_writer.h"
#include "analysis/reproduce_cli.h"
#include "analysis/shape_cli.h"
#include "analysis/store_input.h"
#include "analysis/svg_plot.h"
#include "ss/cli_checks.h"
#include "ss/error.h"
#include "ss/log.h"
#include "store/store.h"

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

struct Options {
  std::string input;
  std::string columns;
  std::vector<std::string> laws{"all"};
  int drop_highest = 0;
  std::string where = "status=done";
  double min_tokens = 0;
  int bootstrap = 1000;
  std::uint64_t seed = 0;
  int threads = 0;
  std::vector<double> budgets;
  std::vector<double> inference_tokens;
  std::string out;
  double overfit_gap = 0.1;
  bool no_store_write = false;
  bool quiet = false;
};

// --budget values: a FLOP count, finite and > 0 (checked per comma-separated item).
const CLI::Validator kFlopBudget = cli::number_check(
    "FLOPS", "a positive FLOP count", [](double v) { return v > 0; }, "a positive FLOP count",
    "; write e.g. --budget 1e21,1e23");

// --law values: the law table's names or "all", in the order given, without repeats.
std::vector<std::string> resolve_laws(const std::vector<std::string>& given) {
  std::vector<std::string> laws;
  for (const auto& name : given)
    for (const auto& law : name == "all" ? laws::law_names() : std::vector<std::string>{name})
      if (std::find(laws.begin(), laws.end(), law) == laws.end()) laws.push_back(law);
  if (laws.empty()) throw InputError("--law: empty list; name at least one law, or all");
  return laws;
}

FitData read_input(const Options& o) {
  return read_fit_input({o.input, o.columns, o.where, o.min_tokens});
}

// A fit the quality rules reject: one line per failed rule, then its values marked as no result.
void print_not_identifiable(const laws::LawFit& f) {
  for (const auto& reason : f.quality.reasons)
    fmt::print("{:<13} NOT IDENTIFIABLE: {}\n", f.law, quality_text(reason));
  std::string values;
  for (const auto& [name, value] : f.params)
    values += fmt::format(" {}={}", name, format_number(value));
  fmt::print("{:<13}   (fitted values, not a result:{})\n", "", values);
}

void print_summary(const LawRunResult& result) {
  for (const auto& f : result.fits) {
    if (!f.quality.identifiable) {
      print_not_identifiable(f);
      continue;
    }
    std::string line = fmt::format("{:<13} n={:<4}", f.law, f.n_points);
    for (const auto& [name, value] : f.params)
      line += fmt::format(" {}={}", name, format_number(value));
    fmt::print("{}\n", line);
    for (const auto& [name, range] : f.ci)
      fmt::print("{:<13}   {} 95% CI [{}, {}]\n", "", name, format_number(range.first),
                 format_number(range.second));
    for (const auto& a : allocations_of(result.allocations, f.law))
      fmt::print("{:<13}   C={}: N_opt={} D_opt={} D/N={} loss={}\n", "", format_number(a.budget),
                 format_number(a.n_opt), format_number(a.d_opt), format_number(a.d_opt / a.n_opt),
                 a.loss ? format_number(*a.loss) : "-");
  }
  for (const auto& s : result.skipped) fmt::print("{:<13} not fitted: {}\n", s.law, s.reason);
}

// Writes fits and run_flags rows; opening for writing migrates a v1 store to v2. False (with a
// warning) when the store may not be written (read-only file or directory).
bool write_store(const FitData& data, const LawRunResult& result,
                 const std::vector<RunOverfit>& flags) {
  store::StoreOptions options;
  options.read_only = false;
  options.create_if_missing = false;
  std::optional<store::Store> opened;
  try {
    opened.emplace(data.source, options);
  } catch (const InputError& e) {  // e.g. a store in a read-only place: the fit stands
    log::warn("{}; fits and run_flags rows not written back (--no-store-write hides this)",
              e.what());
    return false;
  }
  store::Store& db = *opened;
  const double now = store::unix_now();
  for (const auto& f : result.fits) {
    store::FitRecord record;
    record.law = f.law;
    record.source = data.source;
    record.params = laws::params_json(f).dump();
    record.ci = laws::ci_json(f).dump();
    record.n_points = f.n_points;
    record.residual = f.residual;
    record.created = now;
    db.write_fit(record);
  }
  std::vector<store::RunFlagsRecord> rows;
  for (const auto& f : flags) {
    rows.push_back(f);  // the run_flags row RunOverfit extends
    rows.back().updated = now;
  }
  db.write_run_flags(rows);
  return true;
}

int run(const Options& o, const std::string& command_line) {
  if (o.input.empty())
    throw InputError(
        "no INPUT: name a ScaleSweep store or a CSV, or a command (scalefit "
        "reproduce chinchilla); see scalefit --help");
  const std::vector<std::string> laws = resolve_laws(o.laws);
  const bool explicit_laws =
      std::find(o.laws.begin(), o.laws.end(), std::string("all")) == o.laws.end();
  if (o.bootstrap < 0)
    throw InputError(fmt::format("--bootstrap {}: must be >= 0 (0 = no CIs)", o.bootstrap));
  if (o.threads < 0) throw InputError(fmt::format("--threads {}: must be >= 0", o.threads));
  check_inference_request(o.inference_tokens, o.budgets, laws);
  if (!o.out.empty()) check_report_target(o.out, o.input);
  FitData data = read_input(o);
  drop_highest_loss(data, o.drop_highest);
  const auto flags = compute_overfit_flags(data, {.gap_threshold = o.overfit_gap});

  ProgressLine progress(!o.quiet);
  LawRunOptions run_options;
  run_options.bootstrap = o.bootstrap;
  run_options.seed = o.seed;
  run_options.threads = o.threads;
  run_options.budgets = o.budgets;
  LawRunResult result = run_laws(data, laws, run_options, progress);
  if (explicit_laws && !result.skipped.empty()) {
    const auto& s = result.skipped.front();
    throw InputError(
        fmt::format("--law {}: cannot be fitted to {}: {}", s.law, data.source, s.reason));
  }
  if (result.fits.empty())
    throw InputError(fmt::format("{}: no law could be fitted ({} ...); see --law", data.source,
                                 result.skipped.empty() ? "" : result.skipped.front().reason));
  const auto inference = inference_rows(o.inference_tokens, o.budgets, result.fits);
  print_summary(result);
  print_inference(inference);

  if (!o.out.empty()) {
    ReportInput report;
    report.data = &data;
    report.fits = result.fits;
    report.skipped = result.skipped;
    report.allocations = result.allocations;
    report.flags = flags;
    report.budgets = o.budgets;
    report.command_line = command_line;
    report.bootstrap = o.bootstrap;
    report.overfit_gap = o.overfit_gap;
    if (!inference.empty()) report.sections.push_back(inference_section(inference));
    write_report_dir(o.out, report);
    log::info("report written to {}", o.out);
  }
  if (data.from_store && !o.no_store_write) {
    if (write_store(data, result, flags))
      log::info("{} fits and {} run_flags rows written to {}", result.fits.size(), flags.size(),
                data.source);
  }
  return 0;
}

}  // namespace
}  // namespace ss::analysis

int main(int argc, char** argv) {
  // Ceres logs through glog; its line-search warnings (e.g. a degenerate interpolation step in
  // one of 4,500 starts) are noise on the terminal: keep only glog's errors.
  google::InitGoogleLogging(argv[0]);
  FLAGS_minloglevel = google::GLOG_ERROR;
  ss::analysis::Options o;
  CLI::App app{"scalefit: fit Kaplan / Chinchilla scaling laws to a ScaleSweep store or a CSV"};
  app.add_option("input", o.input, "ScaleSweep store (.db) or CSV file");
  app.add_option("--columns", o.columns,
                 "CSV only: ROLE=HEADER list, roles N, D, C, loss, run "
                 "(e.g. N=\"Model Size\",C=\"Training FLOP\",loss=loss)");
  std::vector<std::string> law_choices = ss::laws::law_names();
  law_choices.emplace_back("all");
  app.add_option("--law", o.laws, "comma list of laws, or all")
      ->delimiter(',')
      ->check(CLI::IsMember(law_choices))
      ->capture_default_str();
  app.add_option("--drop-highest", o.drop_highest, "drop the K highest-loss points");
  app.add_option("--where", o.where, "store only: status=done|all|failed|...")
      ->capture_default_str();
  app.add_option("--min-tokens", o.min_tokens, "leave out runs trained on fewer tokens")
      ->check(ss::cli::kNonNegative);
  app.add_option("--bootstrap", o.bootstrap, "bootstrap resamples for the CIs")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "bootstrap seed")->capture_default_str();
  app.add_option("--threads", o.threads, "worker threads (0: all cores)")->capture_default_str();
  app.add_option("--budget", o.budgets,
                 "FLOP budgets for the compute-optimal table, e.g. 1e21,1e23")
      ->delimiter(',')
      ->check(ss::analysis::kFlopBudget);
  ss::analysis::add_inference_option(app, o.inference_tokens);
  app.add_option("--out", o.out, "report directory (fits.json, points.csv, report.md, SVGs)");
  app.add_option("--overfit-gap", o.overfit_gap, "flag runs whose final val - train exceeds this")
      ->check(ss::cli::kPositive)
      ->capture_default_str();
  app.add_flag("--no-store-write", o.no_store_write, "store input: write no fits / run_flags rows");
  app.add_flag("-q,--quiet", o.quiet, "no progress lines");
  ss::analysis::ReproduceOptions reproduce_options;
  CLI::App* reproduce = ss::analysis::add_reproduce_command(app, reproduce_options);
  ss::analysis::ProposeArgs propose_options;
  CLI::App* propose = ss::analysis::add_propose_command(app, propose_options);
  ss::analysis::ShapeArgs shape_options;
  CLI::App* shape = ss::analysis::add_shape_command(app, shape_options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    ss::log::error("{}", ss::cli::parse_error_line(e));  // one line: option, value, what is wrong
    return ss::kExitBadInput;
  }
  std::string command_line = "scalefit";
  for (int i = 1; i < argc; ++i) command_line += std::string(" ") + argv[i];
  try {
    if (reproduce->parsed()) return ss::analysis::run_reproduce(reproduce_options, command_line);
    if (propose->parsed()) return ss::analysis::run_propose(propose_options, command_line);
    if (shape->parsed()) return ss::analysis::run_shape(shape_options, command_line);
    return ss::analysis::run(o, command_line);
  } catch (const ss::InputError& e) {
    ss::log::error("{}", e.what());
    return ss::kExitBadInput;
  } catch (const std::exception& e) {
    ss::log::error("{}", e.what());
    return 1;
  }
}
