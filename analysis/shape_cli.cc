// `scalefit shape STORE [--where] [--n-tolerance] [--out DIR]` (shape_cli.h): prints the
// groups and the verdict; with --out writes report.md, fits.json ("shape") and shape.svg.
#include "analysis/shape_cli.h"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <fstream>

#include "analysis/report_dir.h"
#include "analysis/shape_report.h"
#include "analysis/svg_plot.h"
#include "ss/cli_checks.h"
#include "ss/error.h"
#include "ss/log.h"

namespace ss::analysis {
namespace {}  // namespace

int run_shape(const ShapeArgs& a, const std::string& command_line) {
  if (!a.out.empty()) check_report_target(a.out, a.store);
  const ShapeReport report = shape_report(read_shape_runs(a.store, a.where), a.n_tolerance);
  for (const auto& g : report.groups)
    fmt::print("N ~ {}: {} runs, {} aspect ratios {:.3g}-{:.3g}, spread {:.1f}%, heads {:.1f}%{}\n",
               format_number(g.n), g.runs.size(), g.aspects, g.runs.front().aspect(),
               g.runs.back().aspect(), 100 * g.spread, 100 * g.head_spread,
               g.fit ? fmt::format(", curvature c2 {:.4f}, fitted penalty over 40x {:.1f}%",
                                   g.fit->c2, 100 * g.fit->penalty_40x)
                     : "");
  fmt::print("{}\n", report.verdict);
  if (a.out.empty()) return 0;
  publish_report_dir(a.out, a.store, [&](const std::filesystem::path& dir) {
    write_report_file(dir / "report.md", "# Shape report\n\nCommand: `" + command_line + "`.\n\n" +
                                             shape_markdown(report));
    write_report_file(
        dir / "fits.json",
        nlohmann::json{{"source", a.store}, {"shape", shape_json(report)}}.dump(2) + "\n");
    write_report_file(dir / "shape.svg", shape_svg(report));
  });
  log::info("report written to {}", a.out);
  return 0;
}

CLI::App* add_shape_command(CLI::App& main_app, ShapeArgs& a) {
  CLI::App& app = *main_app.add_subcommand(
      "shape",
      "loss against aspect ratio and heads at fixed N (Kaplan et al. 2020, Fig. 5), e.g. "
      "of configs/shape.toml (docs/scalefit.md)");
  app.add_option("store", a.store, "ScaleSweep store (e.g. of configs/shape.toml)")->required();
  app.add_option("--where", a.where, "which runs: status=done|all|...")->capture_default_str();
  app.add_option("--n-tolerance", a.n_tolerance,
                 "runs whose N is within this fraction of a group's smallest N share the group")
      ->check(cli::number_check("FRACTION", "within [1e-6, 1]",
                                [](double v) { return v >= 1e-6 && v <= 1.0; }))
      ->capture_default_str();
  app.add_option("--out", a.out, "report directory (report.md, fits.json, shape.svg)");
  return &app;
}

}  // namespace ss::analysis
