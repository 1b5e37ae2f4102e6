// assess_quality (laws.h): the six rules that say when a fit means nothing, each a row of one
// table (rule name, check). Invariant: the thresholds come only from the law's QualityRules in
// law_table(); a failed rule adds one QualityReason with the numbers that failed it and what to
// add to the sweep; a fit with no reason is identifiable.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "analysis/laws/fit_util.h"
#include "analysis/laws/laws.h"

namespace ss::laws {
namespace {

using Reasons = std::vector<QualityReason>;

// What a rule sees: the law's rules, the fit and the values of the range axis among the points
// the fit used.
struct Case {
  const QualityRules& rules;
  const LawFit& fit;
  std::vector<double> axis;  // sorted
};

std::string_view axis_name(RangeAxis axis) {
  static constexpr std::string_view names[] = {"N", "D", "C"};
  return names[static_cast<int>(axis)];
}

// What to add when the axis is too short or too sparse.
std::string_view axis_advice(RangeAxis axis) {
  static constexpr std::string_view advice[] = {
      "add model sizes (more sizes, spread over more decades of N)",
      "add runs with larger D (and smaller), so D spans more decades",
      "add runs at larger and smaller FLOP budgets, so C spans more decades"};
  return advice[static_cast<int>(axis)];
}

void check_bound(const Case& c, Reasons& out) {
  for (const ParamBound& b : c.rules.bounds) {
    const double v = c.fit.param(std::string(b.param));
    const double tol = c.rules.bound_tolerance;
    const bool at_lo = v <= b.lo + tol * std::abs(b.lo), at_hi = v >= b.hi - tol * std::abs(b.hi);
    if (at_lo || at_hi)
      out.push_back({"bound",
                     fmt::format("{} = {:.4g} sits on its fit bound {:g} (bounds [{:g}, {:g}])",
                                 b.param, v, at_lo ? b.lo : b.hi, b.lo, b.hi),
                     "the data do not pin it: add model sizes over more decades of N and "
                     "runs with larger D, so the loss bends within the data"});
  }
}

void check_floor(const Case& c, Reasons& out) {
  for (const ParamFloor& f : c.rules.floors) {
    const double v = c.fit.param(std::string(f.param));
    if (!(v >= f.min))
      out.push_back({"floor",
                     fmt::format("{} = {:.3g} has collapsed below {:g}", f.param, v, f.min),
                     f.param == "E" ? "the loss shows no floor yet: add runs with larger D "
                                      "(past the plateau) and larger N"
                                    : "add model sizes and larger D, so the trend this "
                                      "parameter describes is visible"});
  }
}

void check_ci(const Case& c, Reasons& out) {
  const LawFit& fit = c.fit;
  if (fit.ci.empty()) return;  // no bootstrap: nothing to judge
  const std::string advice = "add model sizes, budgets and larger D so the resamples agree";
  const auto total =
      static_cast<double>(fit.bootstrap_params.size()) + static_cast<double>(fit.bootstrap_failed);
  if (total > 0 && static_cast<double>(fit.bootstrap_failed) > c.rules.max_bootstrap_failed * total)
    out.push_back({"ci",
                   fmt::format("{} of {:g} bootstrap resamples could not be fitted",
                               fit.bootstrap_failed, total),
                   advice});
  auto ci_of = [&](std::string_view name) {
    for (const auto& [key, range] : fit.ci)
      if (key == name) return range;
    throw std::logic_error(fmt::format("quality: {} has no CI for {}", fit.law, name));
  };
  for (std::string_view p : c.rules.ci_ratio) {
    const auto [lo, hi] = ci_of(p);
    if (!(lo > 0 && hi / lo <= c.rules.max_ci_ratio))
      out.push_back(
          {"ci",
           fmt::format("{}'s 95% CI [{:.3g}, {:.3g}] spans {} (limit {:g}x)", p, lo, hi,
                       lo > 0 ? fmt::format("{:.3g}x", hi / lo) : "to 0", c.rules.max_ci_ratio),
           advice});
  }
  for (std::string_view p : c.rules.ci_width) {
    const auto [lo, hi] = ci_of(p);
    if (!(hi - lo <= c.rules.max_ci_width))
      out.push_back({"ci",
                     fmt::format("{}'s 95% CI [{:.3g}, {:.3g}] is {:.3g} wide (limit {:g})", p, lo,
                                 hi, hi - lo, c.rules.max_ci_width),
                     advice});
  }
}

void check_r2(const Case& c, Reasons& out) {
  if (c.rules.min_r2 <= 0 || std::isnan(c.fit.r2)) return;
  if (!(c.fit.r2 >= c.rules.min_r2))
    out.push_back(
        {"r2", fmt::format("R^2 in log space = {:.3f} (need >= {:g})", c.fit.r2, c.rules.min_r2),
         "the law does not describe these points: add runs with larger D (off the "
         "loss plateau) and more model sizes"});
}

void check_budgets(const Case& c, Reasons& out) {
  if (c.rules.min_budgets > 0) {
    const nlohmann::json& minima = c.fit.details.value("budget_minima", nlohmann::json::array());
    std::set<double> n_opts;
    for (const auto& row : minima) n_opts.insert(row.at("n_opt").get<double>());
    std::string of_profiles;
    if (c.fit.details.contains("profiles"))
      of_profiles = fmt::format(" of {}", c.fit.details.at("profiles").size());
    if (static_cast<int>(minima.size()) < c.rules.min_budgets ||
        static_cast<int>(n_opts.size()) < c.rules.min_budgets)
      out.push_back({"budgets",
                     fmt::format("{}{} FLOP budgets usable with {} distinct N_opt (need {})",
                                 minima.size(), of_profiles, n_opts.size(), c.rules.min_budgets),
                     "add isoFLOP budgets, each with >= 3 model sizes around its minimum"});
  }
  const std::set<double> distinct(c.axis.begin(), c.axis.end());
  if (c.rules.min_values > 0 && static_cast<int>(distinct.size()) < c.rules.min_values)
    out.push_back({"budgets",
                   fmt::format("{} distinct {} values among the points used (need {})",
                               distinct.size(), axis_name(c.rules.axis), c.rules.min_values),
                   std::string(axis_advice(c.rules.axis))});
}

void check_range(const Case& c, Reasons& out) {
  if (c.rules.min_decades <= 0 || c.axis.empty()) return;
  const double decades = std::log10(c.axis.back() / c.axis.front());
  if (!(decades >= c.rules.min_decades))
    out.push_back({"range",
                   fmt::format("{} spans {:.2f} decades ({:.3g} to {:.3g}; need >= {:g})",
                               axis_name(c.rules.axis), decades, c.axis.front(), c.axis.back(),
                               c.rules.min_decades),
                   std::string(axis_advice(c.rules.axis))});
}

struct Rule {
  std::string_view name;
  void (*check)(const Case&, Reasons&);
};
constexpr Rule kRules[] = {{"bound", check_bound},     {"floor", check_floor},
                           {"ci", check_ci},           {"r2", check_r2},
                           {"budgets", check_budgets}, {"range", check_range}};

// The axis values of the points the fit used: its details["points"] (x of the selected (X, L)
// pairs: kaplan-n, -d, -c), else every final point's N, D or C.
std::vector<double> axis_values(const QualityRules& rules, const LawFit& fit,
                                const LawInput& input) {
  std::vector<double> values;
  if (fit.details.contains("points")) {
    for (const auto& xy : fit.details.at("points")) values.push_back(xy.at(0).get<double>());
  } else {
    for (const FinalPoint& p : input.points)
      values.push_back(rules.axis == RangeAxis::N   ? p.n
                       : rules.axis == RangeAxis::D ? p.d
                                                    : detail::flops_of(p));
  }
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace

const std::vector<std::string>& quality_rule_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Rule& r : kRules) out.emplace_back(r.name);
    return out;
  }();
  return names;
}

FitQuality assess_quality(const LawFit& fit, const LawInput& input) {
  const QualityRules& rules = find_law(fit.law).quality;
  const Case c{rules, fit, axis_values(rules, fit, input)};
  FitQuality quality;
  for (const Rule& r : kRules) r.check(c, quality.reasons);
  quality.identifiable = quality.reasons.empty();
  return quality;
}

}  // namespace ss::laws
