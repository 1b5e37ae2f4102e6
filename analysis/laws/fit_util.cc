// Input checks, log-space least squares and curve grouping shared by the laws (fit_util.h).
#include "analysis/laws/fit_util.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "ss/error.h"

namespace ss::laws::detail {

namespace {
bool positive(double v) {
  return std::isfinite(v) && v > 0;
}
}  // namespace

void check_input(const LawInput& input) {
  for (std::size_t i = 0; i < input.points.size(); ++i) {
    const FinalPoint& p = input.points[i];
    auto bad = [&](const char* what, double v) {
      throw InputError(fmt::format(
          "laws: point {} (run {}): {} must be finite and > 0, got {}; fix or drop that run", i,
          p.run, what, v));
    };
    if (!positive(p.n)) bad("N", p.n);
    if (!positive(p.d)) bad("D", p.d);
    if (!positive(p.loss)) bad("loss", p.loss);
    if (!(std::isfinite(p.c) && p.c >= 0)) bad("C (0 means 6ND)", p.c);
    if (p.steps && !positive(*p.steps)) bad("S (steps)", *p.steps);
    if (p.batch_tokens && !positive(*p.batch_tokens)) bad("B (batch tokens)", *p.batch_tokens);
    if (p.budget && !positive(*p.budget)) bad("planned budget", *p.budget);
  }
  for (std::size_t i = 0; i < input.curves.size(); ++i) {
    const CurveStep& s = input.curves[i];
    auto bad = [&](const char* what, double v) {
      throw InputError(fmt::format(
          "laws: curve step {} (run {}, step {}): {} must be finite and {}, got {}; fix or drop "
          "that step",
          i, s.run, s.step, what, what[0] == 'l' || what[0] == 'N' ? "> 0" : ">= 0", v));
    };
    if (!positive(s.n)) bad("N", s.n);
    if (!positive(s.loss)) bad("loss", s.loss);
    if (!(std::isfinite(s.tokens) && s.tokens >= 0)) bad("tokens", s.tokens);
    if (!(std::isfinite(s.flops) && s.flops >= 0)) bad("flops", s.flops);
    if (!(std::isfinite(s.step) && s.step >= 0)) bad("step", s.step);
  }
}

void require_count(const std::string& law, std::size_t got, std::size_t min,
                   const std::string& what) {
  if (got < min)
    throw InputError(fmt::format("{}: needs at least {} {}, got {}; add runs or drop this law", law,
                                 min, what, got));
}

double flops_of(const FinalPoint& point) {
  return point.c > 0 ? point.c : 6.0 * point.n * point.d;
}
double flops_of(const CurveStep& step) {
  return step.flops > 0 ? step.flops : 6.0 * step.n * step.tokens;
}

LineFit fit_line(const std::string& law, const std::vector<double>& x,
                 const std::vector<double>& y) {
  const std::size_t n = x.size();
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  // Relative spread test: all x equal (e.g. one model size) leaves the slope undefined.
  if (n < 2 || sxx <= 1e-12 * std::max(1.0, mx * mx) * static_cast<double>(n))
    throw InputError(fmt::format(
        "{}: the points span a single value of the fitted variable; add runs of other sizes", law));
  LineFit line;
  line.slope = sxy / sxx;
  line.intercept = my - line.slope * mx;
  double ss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = y[i] - line.intercept - line.slope * x[i];
    ss += r * r;
  }
  line.rms = std::sqrt(ss / static_cast<double>(n));
  line.r2 = r_squared(y, ss);
  return line;
}

double r_squared(const std::vector<double>& y, double ss_res) {
  double mean = 0;
  for (double v : y) mean += v;
  mean /= static_cast<double>(y.size());
  double ss_tot = 0;
  for (double v : y) ss_tot += (v - mean) * (v - mean);
  return ss_tot > 0 ? 1.0 - ss_res / ss_tot : 1.0;
}

std::map<std::int64_t, std::vector<CurveStep>> curves_by_run(const LawInput& input) {
  std::map<std::int64_t, std::vector<CurveStep>> runs;
  for (const CurveStep& s : input.curves)
    if (flops_of(s) > 0) runs[s.run].push_back(s);
  for (auto& [run, steps] : runs)
    std::sort(steps.begin(), steps.end(),
              [](const CurveStep& a, const CurveStep& b) { return flops_of(a) < flops_of(b); });
  return runs;
}

}  // namespace ss::laws::detail
