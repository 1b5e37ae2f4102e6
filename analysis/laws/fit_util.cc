// Input checks, log-space least squares, curve grouping and smoothing shared by the laws
// (fit_util.h).
#include "analysis/laws/fit_util.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
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

namespace {

// One run's curve ready for smoothing: x = ln C - ln C_end (<= 0) and y = loss per step, in
// order of C, with prefix sums of 1, x, y, x^2, x y (index k: the sums over steps < k).
struct PrefixCurve {
  std::vector<double> x, y;
  std::vector<std::array<double, 5>> sums;
};

PrefixCurve prefix_curve(const std::vector<CurveStep>& steps, double log_end) {
  PrefixCurve r;
  r.sums.push_back({0, 0, 0, 0, 0});
  for (const CurveStep& s : steps) {
    const double x = std::log(flops_of(s)) - log_end;
    r.x.push_back(x);
    r.y.push_back(s.loss);
    std::array<double, 5> next = r.sums.back();
    const double terms[5] = {1, x, s.loss, x * x, x * s.loss};
    for (int k = 0; k < 5; ++k) next[k] += terms[k];
    r.sums.push_back(next);
  }
  return r;
}

// The smoothed loss at x0 (within the curve's span): the line through the steps within
// kSmoothHalfWidth, else linear interpolation (smooth_curves' comment).
double smoothed_at(const PrefixCurve& r, double x0) {
  const auto lo = std::lower_bound(r.x.begin(), r.x.end(), x0 - kSmoothHalfWidth) - r.x.begin();
  const auto hi = std::upper_bound(r.x.begin(), r.x.end(), x0 + kSmoothHalfWidth) - r.x.begin();
  double m[5];
  for (int k = 0; k < 5; ++k) m[k] = r.sums[hi][k] - r.sums[lo][k];
  const double spread = m[0] * m[3] - m[1] * m[1];
  if (m[0] >= 3 && spread > 1e-12 * m[0] * m[0]) {
    const double slope = (m[0] * m[4] - m[1] * m[2]) / spread;
    return m[2] / m[0] + slope * (x0 - m[1] / m[0]);
  }
  const auto it = std::lower_bound(r.x.begin(), r.x.end(), x0);
  if (it == r.x.end()) return r.y.back();
  const auto k = it - r.x.begin();
  if (k == 0 || *it <= r.x[k - 1]) return r.y[k];
  const double t = (x0 - r.x[k - 1]) / (*it - r.x[k - 1]);
  return r.y[k - 1] + t * (r.y[k] - r.y[k - 1]);
}

}  // namespace

std::vector<CurveStep> smooth_curves(const LawInput& input) {
  std::vector<CurveStep> out;
  const double per_ln = kCurveGridPerDecade / std::log(10.0);
  for (const auto& [run, steps] : curves_by_run(input)) {
    const CurveStep& last = steps.back();
    const double log_end = std::log(flops_of(last));
    const PrefixCurve curve = prefix_curve(steps, log_end);
    const double log_begin = log_end + curve.x.front();
    auto reading = [&](double log_c) {
      CurveStep s = last;
      const double scale = std::exp(log_c - log_end);
      s.flops = flops_of(last) * scale;
      s.tokens = last.tokens * scale;
      s.step = last.step * scale;
      s.loss = smoothed_at(curve, log_c - log_end);
      return s;
    };
    const auto first = static_cast<long>(std::ceil(log_begin * per_ln - 1e-9));
    const auto final = static_cast<long>(std::floor(log_end * per_ln + 1e-9));
    for (long k = first; k <= final; ++k) {
      CurveStep s = reading(static_cast<double>(k) / per_ln);
      s.flops = std::pow(10.0, static_cast<double>(k) / kCurveGridPerDecade);  // exactly the grid
      out.push_back(s);
    }
    if (out.empty() || out.back().run != run || out.back().flops < flops_of(last))
      out.push_back(reading(log_end));
  }
  return out;
}

}  // namespace ss::laws::detail
