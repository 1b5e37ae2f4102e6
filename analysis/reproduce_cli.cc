// scalefit reproduce chinchilla (reproduce_cli.h).
#include "analysis/reproduce_cli.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "analysis/csv_input.h"
#include "analysis/law_runner.h"
#include "analysis/overfit_flags.h"
#include "analysis/progress.h"
#include "analysis/published_data.h"
#include "analysis/report_dir.h"
#include "analysis/report_writer.h"
#include "analysis/reproduce_chinchilla.h"
#include "ss/error.h"
#include "ss/log.h"

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

// Epoch AI's CSV: its file name and the columns the fits read.
constexpr const char* kCsvName = "svg_extracted_data.csv";
constexpr const char* kCsvColumns = "N=Model Size,C=Training FLOP,loss=loss";

// Where the CSV is looked for when --csv is not given, in order: the shared folder beside the
// checkout seen from the working directory (a clean clone run from its root), and the same seen
// from the binary (<checkout>/build/scalefit). Anywhere else: --csv.
std::vector<fs::path> default_csv_places() {
  const fs::path beside = fs::path("..") / "shared" / "data" / "chinchilla" / kCsvName;
  std::vector<fs::path> places{beside};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) places.push_back(exe.parent_path() / ".." / beside);
  return places;
}

fs::path find_csv(const std::string& given) {
  std::error_code ec;
  if (!given.empty()) {
    if (!fs::is_regular_file(given, ec))
      throw InputError(fmt::format(
          "--csv {}: no such file; pass Epoch AI's {} (github.com/epoch-research/"
          "analyzing-chinchilla, data/)",
          given, kCsvName));
    return given;
  }
  std::string tried;
  for (const fs::path& p : default_csv_places()) {
    if (fs::is_regular_file(p, ec)) return p.lexically_normal();
    tried += (tried.empty() ? "" : ", ") + p.lexically_normal().string();
  }
  throw InputError(fmt::format("no Chinchilla CSV at {}; pass --csv PATH to Epoch AI's {}", tried,
                               kCsvName));
}

}  // namespace

CLI::App* add_reproduce_command(CLI::App& app, ReproduceOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "reproduce",
      "refit a published study from its data and print the paper's numbers beside ours: "
      "reproduce chinchilla (Hoffmann et al. 2022 Tables 2, 3, A3; Epoch AI's 2024 refit)");
  sub->add_option("dataset", o.dataset, "the study: chinchilla")
      ->required()
      ->check(CLI::IsMember({"chinchilla"}));
  sub->add_option("--csv", o.csv,
                  "Epoch AI's svg_extracted_data.csv (default: ../shared/data/chinchilla/ beside "
                  "the checkout, seen from here or from the binary)");
  sub->add_option("--bootstrap", o.bootstrap, "bootstrap resamples for our 95% CIs")
      ->capture_default_str();
  sub->add_option("--seed", o.seed, "bootstrap seed")->capture_default_str();
  sub->add_option("--threads", o.threads, "worker threads (0: all cores)")->capture_default_str();
  sub->add_option("--out", o.out, "report directory (report.md, fits.json with \"reproduce\", "
                                  "points.csv, SVGs)");
  sub->add_flag("-q,--quiet", o.quiet, "no progress lines");
  return sub;
}

int run_reproduce(const ReproduceOptions& o, const std::string& command_line) {
  if (o.bootstrap < 0)
    throw InputError(fmt::format("--bootstrap {}: must be >= 0 (0 = no CIs)", o.bootstrap));
  if (o.threads < 0) throw InputError(fmt::format("--threads {}: must be >= 0", o.threads));
  const fs::path csv = find_csv(o.csv);
  if (!o.out.empty()) check_report_target(o.out, csv.string());
  const nlohmann::json& published = chinchilla_published();
  FitData data = read_csv_points(csv, parse_column_spec(kCsvColumns));
  const int dropped = published.at("epoch2024").at("drop_highest");
  drop_highest_loss(data, dropped);

  ProgressLine progress(!o.quiet);
  const LawRunResult result = run_laws(
      data, reproduce_laws(), {.bootstrap = o.bootstrap, .seed = o.seed, .threads = o.threads},
      progress);
  if (!result.skipped.empty())
    throw InputError(fmt::format("{}: {} could not be fitted: {}", csv.string(),
                                 result.skipped.front().law, result.skipped.front().reason));
  Reproduction r = compare_with_published(result.fits, published);
  r.csv = csv.string();
  r.points = static_cast<int>(data.points.size());
  r.dropped = dropped;
  r.bootstrap = o.bootstrap;
  r.c_min = data.points.front().c;
  for (const auto& p : data.points) r.c_min = std::min(r.c_min, p.c), r.c_max = std::max(r.c_max, p.c);
  r.method = method_checks(data, result.fits.at(2));  // reproduce_laws() order, none skipped
  fmt::print("{}", reproduction_text(r));

  if (!o.out.empty()) {
    ReportInput report;
    report.data = &data;
    report.fits = result.fits;
    report.flags = compute_overfit_flags(data, {});
    report.command_line = command_line;
    report.bootstrap = o.bootstrap;
    report.sections.push_back(reproduction_section(r, result.fits));
    write_report_dir(o.out, report);
    log::info("report written to {}", o.out);
  }
  return 0;
}

}  // namespace ss::analysis
