// The --out directory (see report_writer.h): JSON via nlohmann-json, Markdown tables, plots via
// report_plots.h. Where DIR may be and how it is published: report_dir.h.
#include "analysis/report_writer.h"

#include <fmt/core.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "analysis/report_dir.h"
#include "analysis/report_plots.h"
#include "analysis/svg_plot.h"

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

nlohmann::json json_number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out)
    throw std::runtime_error(
        fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
}

std::string opt_number(const std::optional<double>& v) {
  return v ? format_number(*v) : std::string("–");
}

// The fits the quality rules reject: each failed rule with its numbers and what to add; their
// fitted values only in fits.json, never in a table of results.
std::string not_identifiable_markdown(const std::vector<laws::LawFit>& fits) {
  std::string md;
  for (const auto& f : fits) {
    if (f.quality.identifiable) continue;
    md += fmt::format("\n- **NOT IDENTIFIABLE: {}** (its numbers in fits.json are no result):",
                      f.law);
    for (const auto& reason : f.quality.reasons)
      md += fmt::format("\n  - {}", quality_text(reason));
  }
  return md.empty()
             ? md
             : "\n\n### Not identifiable\n\nA fit whose parameter sits on a bound, collapses "
               "to 0, has a 95% CI over the limit, a low R^2 in log space, too few "
               "budgets or sizes, or too narrow a range (docs/scalefit.md).\n" +
                   md;
}

std::string report_markdown(const ReportInput& in, const std::vector<NamedPlot>& plots,
                            const std::vector<PlotSkip>& plot_skips) {
  const FitData& data = *in.data;
  std::string md = "# Scaling-law fits\n\n";
  md += fmt::format("Input: `{}` ({}, {} points). Command: `{}`.\n\n", data.source,
                    data.from_store ? "ScaleSweep store" : "CSV", data.points.size(),
                    in.command_line);
  for (const auto& note : data.notes) md += fmt::format("- {}\n", note);
  if (!data.notes.empty()) md += "\n";
  md += fmt::format(
      "## Fitted laws\n\nIntervals: 95% bootstrap percentiles over {} resamples of "
      "the runs.\n\n",
      in.bootstrap);
  md += "| law | parameters (95% CI) | points | residual | points used |\n|---|---|---|---|---|\n";
  for (const auto& f : in.fits) {
    if (!f.quality.identifiable) {
      md += fmt::format("| {} | **not identifiable** (below) | {} | – | {} |\n", f.law, f.n_points,
                        f.points_used);
      continue;
    }
    std::map<std::string, std::pair<double, double>> ci(f.ci.begin(), f.ci.end());
    std::string params;
    for (const auto& [name, value] : f.params) {
      params += fmt::format("{}{} = {}", params.empty() ? "" : "<br>", name, format_number(value));
      if (auto it = ci.find(name); it != ci.end())
        params += fmt::format(" ({} – {})", format_number(it->second.first),
                              format_number(it->second.second));
    }
    md += fmt::format("| {} | {} | {} | {} | {} |\n", f.law, params, f.n_points,
                      fmt::format("{} ({})", format_number(f.residual), f.residual_kind),
                      f.points_used);
  }
  for (const auto& s : in.skipped) md += fmt::format("\n- not fitted: **{}**: {}", s.law, s.reason);
  md += not_identifiable_markdown(in.fits);
  md += "\n\n## Compute-optimal allocation\n\n";
  if (in.budgets.empty()) {
    md += "No budgets given (`--budget 1e21,1e23`).\n";
  } else {
    md +=
        "D = C / (6 N). chinchilla-1 and chinchilla-2 give N_opt(C) only; their L is "
        "chinchilla-3's prediction at that (N, D) when chinchilla-3 was fitted.\n\n| law |";
    std::string rule = "|---|";
    for (double b : in.budgets) md += fmt::format(" C = {} |", format_number(b)), rule += "---|";
    md += "\n" + rule + "\n";
    if (in.allocations.empty()) md += "| (no identifiable fit gives an allocation) |\n";
    for (const auto& f : in.fits) {
      const auto rows = allocations_of(in.allocations, f.law);
      if (rows.empty()) continue;
      md += fmt::format("| {} |", f.law);
      for (const auto& a : rows)
        md += fmt::format(" N = {}, D = {}, D/N = {}, L = {} |", format_number(a.n_opt),
                          format_number(a.d_opt), format_number(a.d_opt / a.n_opt),
                          opt_number(a.loss));
      md += "\n";
    }
  }
  md += fmt::format(
      "\n## Overfitting\n\nr = D / (5e3 N^0.74) (Kaplan et al.: r < 1 expects overfitting). "
      "Measured: val loss turned up while train kept falling, or final val - train > {}.\n\n",
      in.overfit_gap);
  md +=
      "| run | N | D | r | r < 1 | val - train | val turned at step | measured |\n"
      "|---|---|---|---|---|---|---|---|\n";
  for (const auto& f : in.flags)
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", f.run, format_number(f.n),
                      format_number(f.d), format_number(f.kaplan_ratio),
                      f.kaplan_flag ? "**yes**" : "no", opt_number(f.val_train_gap),
                      f.val_turn_step ? std::to_string(*f.val_turn_step) : "–",
                      f.measured_flag ? "**yes**" : (data.from_store ? "no" : "n/a (CSV)"));
  for (const auto& section : in.sections) md += "\n" + section.markdown;
  md += "\n## Plots\n\n";
  for (const auto& p : plots) md += fmt::format("{}\n\n![]({})\n\n", p.caption, p.file);
  for (const auto& s : plot_skips) md += fmt::format("- `{}` not drawn: {}\n", s.file, s.reason);
  return md;
}

}  // namespace

std::string fits_json_text(const ReportInput& in) {
  nlohmann::json root;
  root["source"] = in.data->source;
  root["fits"] = nlohmann::json::object();
  for (const auto& f : in.fits) {
    nlohmann::json j = laws::to_json(f);
    nlohmann::json allocations = nlohmann::json::array();
    for (const auto& a : allocations_of(in.allocations, f.law))
      allocations.push_back({{"budget", json_number(a.budget)},
                             {"N_opt", json_number(a.n_opt)},
                             {"D_opt", json_number(a.d_opt)},
                             {"tokens_per_param", json_number(a.d_opt / a.n_opt)},
                             {"loss", a.loss ? json_number(*a.loss) : nlohmann::json(nullptr)}});
    j["allocations"] = allocations;
    root["fits"][f.law] = j;
  }
  root["skipped"] = nlohmann::json::object();
  for (const auto& s : in.skipped) root["skipped"][s.law] = s.reason;
  for (const auto& section : in.sections) root[section.json_key] = section.json;
  return root.dump(2) + "\n";
}

std::string points_csv_text(const ReportInput& in) {
  std::map<std::int64_t, const RunOverfit*> flags;
  for (const auto& f : in.flags) flags[f.run] = &f;
  std::string csv =
      "run,N,D,C,loss,loss_kind,kaplan_ratio,kaplan_flag,val_train_gap,val_turn_step,"
      "measured_flag\n";
  for (const auto& p : in.data->points) {
    csv += fmt::format("{},{:.10g},{:.10g},{:.10g},{:.10g},{}", p.run, p.n, p.d, p.c, p.loss,
                       p.loss_kind);
    if (auto it = flags.find(p.run); it != flags.end()) {
      const RunOverfit& f = *it->second;
      csv += fmt::format(",{:.6g},{},{},{},{}\n", f.kaplan_ratio, f.kaplan_flag ? 1 : 0,
                         f.val_train_gap ? fmt::format("{:.6g}", *f.val_train_gap) : "",
                         f.val_turn_step ? std::to_string(*f.val_turn_step) : "",
                         f.measured_flag ? 1 : 0);
    } else {
      csv += ",,,,,\n";
    }
  }
  return csv;
}

void write_report_dir(const fs::path& out_dir, const ReportInput& input) {
  publish_report_dir(out_dir, input.data->source, [&](const fs::path& tmp) {
    std::vector<PlotSkip> plot_skips;
    const auto plots =
        build_report_plots(*input.data, identifiable_fits(input.fits), input.flags, plot_skips);
    for (const auto& p : plots) write_file(tmp / p.file, render_svg(p.spec));
    for (const auto& section : input.sections)
      for (const auto& p : section.plots) write_file(tmp / p.file, render_svg(p.spec));
    write_file(tmp / "fits.json", fits_json_text(input));
    write_file(tmp / "points.csv", points_csv_text(input));
    write_file(tmp / "report.md", report_markdown(input, plots, plot_skips));
  });
}

}  // namespace ss::analysis
