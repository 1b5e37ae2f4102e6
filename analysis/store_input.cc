// Store reading for scalefit (see store_input.h). The store is opened read_only so a bad input
// leaves the file exactly as it was; writes happen later, in scalefit_main, after every fit.
#include "analysis/store_input.h"

#include <fmt/core.h>

#include <array>
#include <cstring>
#include <fstream>
#include <set>

#include "ss/error.h"
#include "store/store.h"

namespace ss::analysis {

StoreSelection parse_where(const std::string& where, StoreSelection base) {
  const auto eq = where.find('=');
  const std::string key = where.substr(0, eq);
  if (eq == std::string::npos || key != "status")
    throw InputError(fmt::format(
        "--where '{}': only status=VALUE is supported (VALUE: done, all, pending, running, "
        "failed, diverged)",
        where));
  const std::string value = where.substr(eq + 1);
  static const std::set<std::string> kAllowed = {"done",    "all",    "pending",
                                                 "running", "failed", "diverged"};
  if (!kAllowed.contains(value))
    throw InputError(fmt::format(
        "--where status={}: unknown status; use done, all, pending, running, failed or diverged",
        value));
  base.status = value;
  return base;
}

bool looks_like_sqlite(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 16> header{};
  in.read(header.data(), header.size());
  return in.gcount() == 16 && std::memcmp(header.data(), "SQLite format 3", 16) == 0;
}

namespace {

// The one line when no run is left to fit: what was selected, and only the fixes that could
// help (`--where status=all` used to be told to pass --where status=all).
[[noreturn]] void throw_no_points(const std::filesystem::path& path, std::size_t runs,
                                  const StoreSelection& selection, int matching, int without_loss,
                                  int below_min_tokens) {
  const bool all = selection.status == "all";
  std::string none = all ? "" : "with status " + selection.status;
  if (matching != 0)
    none += fmt::format("{} a final loss and D >= {:g} ({} lack a loss, {} have fewer tokens)",
                        none.empty() ? "with" : " and", selection.min_tokens, without_loss,
                        below_min_tokens);
  std::string fix = "wait for runs to finish";
  if (!all) fix += " or pass --where status=all";
  if (below_min_tokens > 0) fix += " or a lower --min-tokens";
  throw InputError(fmt::format("store {} has {} runs but none {}; {}", path.string(), runs,
                               none.empty() ? "to fit" : none, fix));
}

}  // namespace

FitData read_store_points(const std::filesystem::path& path, const StoreSelection& selection) {
  store::StoreOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  store::Store db(path, options);
  const auto all_runs = db.list_runs();
  if (all_runs.empty())
    throw InputError(fmt::format(
        "store {} has no runs; plan and run a sweep into it first (`scalesweep plan CONFIG "
        "--store {}`, then `scalesweep run`)",
        path.string(), path.string()));
  FitData data;
  data.source = path.string();
  data.from_store = true;
  int without_loss = 0;
  int below_min_tokens = 0;
  int matching = 0;
  for (const auto& run : all_runs) {
    if (selection.status != "all" && run.status != selection.status) continue;
    ++matching;
    const double d = static_cast<double>(run.tokens_seen > 0 ? run.tokens_seen : run.plan.tokens);
    if (d < selection.min_tokens) {
      ++below_min_tokens;
      continue;
    }
    const auto loss = run.final_val_loss ? run.final_val_loss : run.final_train_loss;
    if (!loss || !(*loss > 0)) {
      ++without_loss;
      continue;
    }
    FitPoint p;
    p.run = run.id;
    p.n = static_cast<double>(run.plan.n_params);
    p.d = d;
    // runs.flops is planned for the target tokens; scale it to the tokens actually seen.
    p.c = run.plan.tokens > 0 ? run.plan.flops * d / static_cast<double>(run.plan.tokens)
                              : 6.0 * p.n * d;
    p.loss = *loss;
    p.loss_kind = run.final_val_loss ? "val" : "train";
    p.steps = static_cast<double>(run.step > 0 ? run.step : run.plan.steps);
    p.batch_tokens = static_cast<double>(run.plan.batch_tokens);
    p.budget = run.plan.budget;
    if (!(p.n > 0) || !(p.d > 0) || !(p.c > 0))
      throw InputError(fmt::format(
          "store {}: run {} has N={}, D={}, C={}; every run needs N, D and C > 0 (fix the sweep "
          "config)",
          path.string(), run.id, p.n, p.d, p.c));
    data.points.push_back(p);
    LossCurve curve;
    curve.run = run.id;
    curve.n = p.n;
    curve.d = p.d;
    for (const auto& m : db.run_metrics(run.id)) {
      CurvePoint cp;
      cp.step = m.step;
      cp.tokens = static_cast<double>(m.tokens);
      cp.flops = m.flops;
      cp.train_loss = m.train_loss;
      cp.val_loss = m.val_loss;
      curve.steps.push_back(cp);
    }
    data.curves.push_back(std::move(curve));
  }
  if (data.points.empty())
    throw_no_points(path, all_runs.size(), selection, matching, without_loss, below_min_tokens);
  if (without_loss > 0)
    data.notes.push_back(
        fmt::format("{} selected runs have no final loss and were left out", without_loss));
  if (below_min_tokens > 0)
    data.notes.push_back(fmt::format("{} runs with D < --min-tokens {:g} were left out",
                                     below_min_tokens, selection.min_tokens));
  return data;
}

}  // namespace ss::analysis
