// The report's plots (see report_plots.h). Colours: runs are coloured by log N (or log D) on
// the viridis scale; fitted laws get fixed distinct colours so they read the same in every plot.
#include "analysis/report_plots.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
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

// Solves the 3x3 normal equations of a quadratic least-squares fit; false if singular.
bool fit_parabola(const std::vector<double>& x, const std::vector<double>& y, double& a, double& b,
                  double& c) {
  std::array<std::array<double, 4>, 3> m{};  // augmented [X^T X | X^T y], basis (x^2, x, 1)
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::array<double, 3> row = {x[i] * x[i], x[i], 1.0};
    for (int r = 0; r < 3; ++r) {
      for (int k = 0; k < 3; ++k) m[r][k] += row[r] * row[k];
      m[r][3] += row[r] * y[i];
    }
  }
  for (int col = 0; col < 3; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 3; ++r)
      if (std::abs(m[r][col]) > std::abs(m[pivot][col])) pivot = r;
    if (std::abs(m[pivot][col]) < 1e-12) return false;
    std::swap(m[col], m[pivot]);
    for (int r = 0; r < 3; ++r) {
      if (r == col) continue;
      const double f = m[r][col] / m[col][col];
      for (int k = col; k < 4; ++k) m[r][k] -= f * m[col][k];
    }
  }
  a = m[0][3] / m[0][0];
  b = m[1][3] / m[1][1];
  c = m[2][3] / m[2][2];
  return true;
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

}  // namespace

std::vector<IsoFlopGroup> group_isoflop(const std::vector<FitPoint>& points,
                                        double tolerance_decades) {
  std::vector<std::size_t> order(points.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return points[a].c < points[b].c; });
  std::vector<IsoFlopGroup> groups;
  IsoFlopGroup current;
  auto flush = [&] {
    std::set<double> distinct_n;
    for (auto i : current.members) distinct_n.insert(points[i].n);
    if (current.members.size() >= 3 && distinct_n.size() >= 3) {
      double log_sum = 0;
      std::vector<double> x, y;
      for (auto i : current.members) {
        log_sum += std::log10(points[i].c);
        x.push_back(std::log10(points[i].n));
        y.push_back(points[i].loss);
      }
      current.budget = std::pow(10.0, log_sum / current.members.size());
      double a = 0, b = 0, c = 0;
      if (fit_parabola(x, y, a, b, c) && a > 0) {
        current.has_parabola = true;
        current.a = a, current.b = b, current.c = c;
        const double xm = -b / (2 * a);
        current.n_min = std::pow(10.0, xm);
        current.loss_min = a * xm * xm + b * xm + c;
      }
      groups.push_back(current);
    }
    current = IsoFlopGroup{};
  };
  for (std::size_t k = 0; k < order.size(); ++k) {
    // A window from the group's first (smallest) C, not a chain of neighbours: data spread
    // evenly over C (not an isoFLOP design) must not collapse into one giant group.
    if (!current.members.empty() &&
        std::log10(points[order[k]].c) - std::log10(points[current.members.front()].c) >
            tolerance_decades)
      flush();
    current.members.push_back(order[k]);
  }
  flush();
  return groups;
}

std::vector<NamedPlot> build_report_plots(const FitData& data, const std::vector<laws::LawFit>& fits,
                                          const std::vector<RunOverfit>& flags,
                                          std::vector<PlotSkip>& skipped) {
  std::vector<NamedPlot> plots;
  // 1. Loss curves coloured by N.
  const bool any_curve = std::any_of(data.curves.begin(), data.curves.end(),
                                     [](const LossCurve& c) { return c.steps.size() >= 2; });
  if (!any_curve) {
    skipped.push_back({"loss_curves.svg", data.from_store
                                              ? "no run has >= 2 rows in the store's metrics"
                                              : "a CSV holds final losses only, no curves"});
  } else {
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
    plots.push_back(plot);
  }
  // 2, 3. Final loss vs N and vs D.
  plots.push_back(loss_vs(data, fits, true));
  plots.push_back(loss_vs(data, fits, false));
  // 4. IsoFLOP profiles.
  const auto groups = group_isoflop(data.points);
  if (groups.empty()) {
    skipped.push_back({"isoflop.svg",
                       "no group of >= 3 runs with the same FLOP budget (within 0.05 decade) and "
                       ">= 3 different N"});
  } else {
    NamedPlot plot;
    plot.file = "isoflop.svg";
    plot.spec.title = "IsoFLOP profiles (parabola in log N per budget)";
    plot.spec.x_label = "N (non-embedding parameters)";
    plot.spec.y_label = "final loss";
    const double clo = groups.front().budget, chi = groups.back().budget;
    PlotSeries minima;
    minima.label = "parabola minima";
    minima.color = "#d62728";
    minima.marker = Marker::kDiamond;
    minima.marker_size = 5;
    for (const auto& g : groups) {
      PlotSeries pts;
      pts.color = color_scale(log_fraction(g.budget, clo, chi));
      double nlo = INFINITY, nhi = 0;
      for (auto i : g.members) {
        pts.x.push_back(data.points[i].n);
        pts.y.push_back(data.points[i].loss);
        nlo = std::min(nlo, data.points[i].n), nhi = std::max(nhi, data.points[i].n);
      }
      plot.spec.series.push_back(pts);
      if (g.has_parabola) {
        PlotSeries curve;
        curve.color = pts.color;
        curve.line = true;
        curve.marker = Marker::kNone;
        for (double n : log_space(nlo, nhi, 60)) {
          const double x = std::log10(n);
          curve.x.push_back(n);
          curve.y.push_back(g.a * x * x + g.b * x + g.c);
        }
        plot.spec.series.push_back(curve);
        minima.x.push_back(g.n_min);
        minima.y.push_back(g.loss_min);
      }
    }
    plot.spec.series.push_back(minima);
    plot.spec.color_bar = ColorBar{"C (FLOPs)", clo, std::max(chi, clo * 1.01)};
    plot.caption = fmt::format(
        "{} FLOP budgets (runs grouped by C within 0.05 decade); each parabola fitted by least "
        "squares in log N, red diamonds at its minimum.",
        groups.size());
    plots.push_back(plot);
  }
  // 5. Compute-optimal frontier: N_opt against C.
  {
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
    for (const auto& g : groups)
      if (g.has_parabola) measured.x.push_back(g.budget), measured.y.push_back(g.n_min);
    PlotSeries envelope;
    envelope.label = "lowest loss per budget";
    envelope.color = "#999999";
    envelope.marker = Marker::kSquare;
    for (const auto& g : groups) {
      const auto best = *std::min_element(g.members.begin(), g.members.end(), [&](auto a, auto b) {
        return data.points[a].loss < data.points[b].loss;
      });
      envelope.x.push_back(g.budget);
      envelope.y.push_back(data.points[best].n);
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
    if (!any_law && groups.empty()) {
      skipped.push_back(
          {"compute_frontier.svg", "no fitted law gives N_opt(C) and there are no isoFLOP groups"});
    } else {
      plot.caption =
          "Fitted N_opt(C) of each law (lines, extrapolated 100x past the data), with the "
          "isoFLOP parabola minima and the lowest-loss run of each budget.";
      plots.push_back(plot);
    }
  }
  // 6. Overfitting map.
  {
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
    plots.push_back(plot);
  }
  return plots;
}

}  // namespace ss::analysis
