// The report's plots (see report_plots.h). Colours: runs are coloured by log N (or log D) on
// the viridis scale; fitted laws get fixed distinct colours so they read the same in every plot.
// The isoFLOP plot and the frontier's measured minima are chinchilla-2's own profiles
// (laws::isoflop_profiles): the same grouping, parabolas and vertices as the fit.
#include "analysis/report_plots.h"

#include "analysis/law_runner.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <set>

namespace ss::analysis {
namespace {

const std::array<const char*, 8> kLawColors = {"#d62728", "#1f77b4", "#ff7f0e", "#2ca02c",
                                               "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::vector<double> log_space(double lo, double hi, int count) {
  std::vector<double> v;
  for (int i = 0; i < count; ++i)
    v.push_back(std::pow(
        10.0, std::log10(lo) + (std::log10(hi) - std::log10(lo)) * i / std::max(1, count - 1)));
  return v;
}

std::pair<double, double> range_of(const std::vector<FitPoint>& pts, double FitPoint::*field) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& p : pts) lo = std::min(lo, p.*field), hi = std::max(hi, p.*field);
  return {lo, hi};
}

PlotSeries law_curve(const laws::LawFit& fit, std::size_t index, std::vector<double> x,
                     std::vector<double> y, const std::string& suffix) {
  PlotSeries s;
  s.label = fit.law + suffix;
  s.color = kLawColors[index % kLawColors.size()];
  s.x = std::move(x);
  s.y = std::move(y);
  s.line = true;
  s.marker = Marker::kNone;
  s.line_width = 2;
  return s;
}

// Final loss against N (by_n) or D, points coloured by the other variable; each law that
// predicts loss is drawn at the median of the other variable.
NamedPlot loss_vs(const FitData& data, const std::vector<laws::LawFit>& fits, bool by_n) {
  NamedPlot plot;
  plot.file = by_n ? "loss_vs_n.svg" : "loss_vs_d.svg";
  const std::string var = by_n ? "N" : "D";
  const std::string other = by_n ? "D" : "N";
  auto x_of = [&](const FitPoint& p) { return by_n ? p.n : p.d; };
  auto o_of = [&](const FitPoint& p) { return by_n ? p.d : p.n; };
  const auto [olo, ohi] = range_of(data.points, by_n ? &FitPoint::d : &FitPoint::n);
  const auto [xlo, xhi] = range_of(data.points, by_n ? &FitPoint::n : &FitPoint::d);
  plot.spec.title = fmt::format("Final loss vs {}", var);
  plot.spec.x_label = by_n ? "N (non-embedding parameters)" : "D (training tokens)";
  plot.spec.y_label = "final loss";
  plot.spec.log_y = true;
  for (const auto& p : data.points) {
    PlotSeries s;
    s.x = {x_of(p)};
    s.y = {p.loss};
    s.color = color_scale(log_fraction(o_of(p), olo, ohi));
    s.opacity = 0.85;
    plot.spec.series.push_back(s);
  }
  plot.spec.color_bar = ColorBar{other + (by_n ? " (tokens)" : " (params)"), olo, ohi};
  std::vector<double> others;
  for (const auto& p : data.points) others.push_back(o_of(p));
  std::nth_element(others.begin(), others.begin() + others.size() / 2, others.end());
  const double median = others[others.size() / 2];
  for (std::size_t i = 0; i < fits.size(); ++i) {
    const laws::LawSpec& spec = laws::find_law(fits[i].law);
    if (!spec.loss) continue;
    const auto xs = log_space(xlo, xhi, 80);
    std::vector<double> ys;
    for (double x : xs)
      ys.push_back(by_n ? spec.loss(fits[i], x, median) : spec.loss(fits[i], median, x));
    plot.spec.series.push_back(
        law_curve(fits[i], i, xs, ys, fmt::format(" ({}={})", other, format_number(median))));
  }
  plot.caption = fmt::format(
      "Final loss of each run against {}; colour: {}. Lines: each law's prediction at the median "
      "{} ({}).",
      var, other, other, format_number(median));
  return plot;
}

// Train (solid) and val (dashed) loss against tokens, one pair of lines per run, coloured by N.
std::optional<NamedPlot> loss_curves_plot(const FitData& data, std::vector<PlotSkip>& skipped) {
  const bool any_curve = std::any_of(data.curves.begin(), data.curves.end(),
                                     [](const LossCurve& c) { return c.steps.size() >= 2; });
  if (!any_curve) {
    skipped.push_back({"loss_curves.svg", data.from_store
                                              ? "no run has >= 2 rows in the store's metrics"
                                              : "a CSV holds final losses only, no curves"});
    return std::nullopt;
  }
  NamedPlot plot;
  plot.file = "loss_curves.svg";
  plot.spec.title = "Loss curves (solid: train, dashed: val)";
  plot.spec.x_label = "tokens seen";
  plot.spec.y_label = "loss";
  const auto [nlo, nhi] = range_of(data.points, &FitPoint::n);
  for (const auto& curve : data.curves) {
    PlotSeries train, val;
    train.color = val.color = color_scale(log_fraction(curve.n, nlo, nhi));
    train.line = val.line = true;
    train.marker = Marker::kNone;
    val.dashed = true;
    val.marker = Marker::kCircle;
    val.marker_size = 2;
    for (const auto& s : curve.steps) {
      if (s.train_loss) train.x.push_back(s.tokens), train.y.push_back(*s.train_loss);
      if (s.val_loss) val.x.push_back(s.tokens), val.y.push_back(*s.val_loss);
    }
    plot.spec.series.push_back(train);
    plot.spec.series.push_back(val);
  }
  plot.spec.color_bar = ColorBar{"N (params)", nlo, nhi};
  plot.caption = "Train (solid) and val (dashed) loss against tokens; colour: N.";
  return plot;
}

// The chinchilla-2 fit's profiles or, without that fit, the same profiles computed by ss_laws
// (same grouping and parabolas); only budgets with >= 3 distinct N (the others say nothing
// about a minimum).
std::vector<laws::IsoFlopProfile> drawn_profiles(const FitData& data,
                                                 const std::vector<laws::LawFit>& fits) {
  const auto c2 = std::find_if(fits.begin(), fits.end(),
                               [](const laws::LawFit& f) { return f.law == "chinchilla-2"; });
  auto all = c2 != fits.end()
                 ? laws::isoflop_profiles(*c2)
                 : laws::isoflop_profiles(to_law_input(data), laws::FitOptions{}.isoflop_tolerance);
  std::erase_if(all, [](const laws::IsoFlopProfile& p) {
    return std::set<double>(p.n.begin(), p.n.end()).size() < 3;
  });
  return all;
}

// chinchilla-2's isoFLOP profiles as fitted: each budget's runs, its parabola and its vertex.
NamedPlot isoflop_plot(const std::vector<laws::IsoFlopProfile>& profiles, bool fitted) {
  NamedPlot plot;
  plot.file = "isoflop.svg";
  plot.spec.title = "IsoFLOP profiles (chinchilla-2: parabola in log N per budget)";
  plot.spec.x_label = "N (non-embedding parameters)";
  plot.spec.y_label = "final loss";
  const double clo = profiles.front().c, chi = profiles.back().c;
  PlotSeries minima;
  minima.label = "parabola minima";
  minima.color = "#d62728";
  minima.marker = Marker::kDiamond;
  minima.marker_size = 5;
  std::size_t planned = 0;
  for (const auto& profile : profiles) {
    PlotSeries pts;
    pts.color = color_scale(log_fraction(profile.c, clo, chi));
    pts.x = profile.n;
    pts.y = profile.loss;
    plot.spec.series.push_back(pts);
    if (profile.planned_budget > 0) ++planned;
    if (!profile.fitted) continue;
    PlotSeries curve;
    curve.color = pts.color;
    curve.line = true;
    curve.marker = Marker::kNone;
    const auto [nlo, nhi] = std::minmax_element(profile.n.begin(), profile.n.end());
    const auto& q = profile.parabola_log10n;
    for (double n : log_space(*nlo, *nhi, 60)) {
      const double x = std::log10(n);
      curve.x.push_back(n);
      curve.y.push_back(q[0] + q[1] * x + q[2] * x * x);
    }
    plot.spec.series.push_back(curve);
    minima.x.push_back(profile.n_opt);
    minima.y.push_back(profile.loss_min);
  }
  plot.spec.series.push_back(minima);
  plot.spec.color_bar = ColorBar{"C (FLOPs)", clo, std::max(chi, clo * 1.01)};
  plot.caption = fmt::format(
      "{} FLOP budgets ({} grouped by their planned budget, the others by C within a window); "
      "each parabola in log N and its minimum (red diamonds) {}.",
      profiles.size(), planned,
      fitted ? "are the chinchilla-2 fit's own"
             : "are chinchilla-2's profiles (chinchilla-2 itself was not fitted)");
  return plot;
}

// Each law's N_opt(C), with chinchilla-2's parabola minima and the lowest-loss run per budget.
std::optional<NamedPlot> frontier_plot(const FitData& data,
                                       const std::vector<laws::LawFit>& fits,
                                       const std::vector<laws::IsoFlopProfile>& profiles,
                                       std::vector<PlotSkip>& skipped) {
  NamedPlot plot;
  plot.file = "compute_frontier.svg";
  plot.spec.title = "Compute-optimal model size";
  plot.spec.x_label = "C (training FLOPs)";
  plot.spec.y_label = "N_opt (parameters)";
  PlotSeries measured;
  measured.label = "isoFLOP minima";
  measured.color = "#333333";
  measured.marker = Marker::kDiamond;
  measured.marker_size = 5;
  PlotSeries envelope;
  envelope.label = "lowest loss per budget";
  envelope.color = "#999999";
  envelope.marker = Marker::kSquare;
  for (const auto& profile : profiles) {
    if (profile.fitted) measured.x.push_back(profile.c), measured.y.push_back(profile.n_opt);
    const auto best = std::min_element(profile.loss.begin(), profile.loss.end());
    envelope.x.push_back(profile.c);
    envelope.y.push_back(profile.n[static_cast<std::size_t>(best - profile.loss.begin())]);
  }
  auto [clo, chi] = range_of(data.points, &FitPoint::c);
  bool any_law = false;
  for (std::size_t i = 0; i < fits.size(); ++i) {
    const laws::LawSpec& spec = laws::find_law(fits[i].law);
    if (!spec.optimal_n) continue;
    std::vector<double> xs = log_space(clo, chi * 100, 50), ys;
    for (double c : xs) ys.push_back(spec.optimal_n(fits[i], c));
    plot.spec.series.push_back(law_curve(fits[i], i, xs, ys, " N_opt(C)"));
    any_law = true;
  }
  plot.spec.series.push_back(envelope);
  plot.spec.series.push_back(measured);
  if (!any_law && profiles.empty()) {
    skipped.push_back(
        {"compute_frontier.svg", "no fitted law gives N_opt(C) and there are no isoFLOP profiles"});
    return std::nullopt;
  }
  plot.caption =
      "Fitted N_opt(C) of each law (lines, extrapolated 100x past the data), with chinchilla-2's "
      "isoFLOP parabola minima and the lowest-loss run of each of its budgets.";
  return plot;
}

// N against D, runs marked by Kaplan's indicator and by measured overfitting.
NamedPlot overfit_map_plot(const FitData& data, const std::vector<RunOverfit>& flags) {
  NamedPlot plot;
  plot.file = "overfit_map.svg";
  plot.spec.title = "Overfitting map";
  plot.spec.x_label = "N (non-embedding parameters)";
  plot.spec.y_label = "D (training tokens)";
  PlotSeries ok, kaplan, measured;
  ok.label = "r >= 1";
  ok.color = "#1f77b4";
  kaplan.label = "r < 1 (Kaplan)";
  kaplan.color = "#ff7f0e";
  kaplan.marker = Marker::kSquare;
  measured.label = "measured overfit";
  measured.color = "#d62728";
  measured.marker = Marker::kCross;
  measured.marker_size = 5;
  for (const auto& f : flags) {
    auto& target = f.kaplan_flag ? kaplan : ok;
    target.x.push_back(f.n), target.y.push_back(f.d);
    if (f.measured_flag) measured.x.push_back(f.n), measured.y.push_back(f.d);
  }
  const auto [nlo, nhi] = range_of(data.points, &FitPoint::n);
  PlotSeries line;
  line.label = "D = 5e3 N^0.74";
  line.color = "#444444";
  line.line = true;
  line.dashed = true;
  line.marker = Marker::kNone;
  line.x = log_space(nlo, nhi, 40);
  for (double n : line.x) line.y.push_back(kaplan_overfit_tokens(n));
  plot.spec.series = {line, ok, kaplan, measured};
  plot.caption =
      "Runs by N and D; below the dashed line (r = D / (5e3 N^0.74) < 1) Kaplan et al. expect "
      "overfitting; red crosses: val loss turned up or val - train exceeded --overfit-gap.";
  return plot;
}

}  // namespace

std::vector<NamedPlot> build_report_plots(const FitData& data,
                                          const std::vector<laws::LawFit>& fits,
                                          const std::vector<RunOverfit>& flags,
                                          std::vector<PlotSkip>& skipped) {
  std::vector<NamedPlot> plots;
  if (auto plot = loss_curves_plot(data, skipped)) plots.push_back(std::move(*plot));
  plots.push_back(loss_vs(data, fits, true));
  plots.push_back(loss_vs(data, fits, false));
  const auto profiles = drawn_profiles(data, fits);
  const bool fitted = std::any_of(fits.begin(), fits.end(),
                                  [](const laws::LawFit& f) { return f.law == "chinchilla-2"; });
  if (profiles.empty())
    skipped.push_back({"isoflop.svg",
                       "no isoFLOP budget (planned, or runs within 0.05 decade of C) with >= 3 "
                       "different N"});
  else
    plots.push_back(isoflop_plot(profiles, fitted));
  if (auto plot = frontier_plot(data, fits, profiles, skipped)) plots.push_back(std::move(*plot));
  plots.push_back(overfit_map_plot(data, flags));
  return plots;
}

}  // namespace ss::analysis
