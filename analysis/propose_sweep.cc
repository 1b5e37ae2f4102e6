// Realising proposed (N, D) points as sweep files (propose_sweep.h): the template is parsed
// once by the runner's parser, edited as a TOML tree (toml++) and every edited text is parsed
// and expanded again, so what is reported is what `scalesweep plan` will plan.
#include "analysis/propose_sweep.h"

#include <fmt/core.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "runner/config.h"
#include "runner/grid.h"
#include "ss/error.h"
#include "store/store.h"

namespace ss::analysis {
namespace {

// What every proposed sweep file shares, read from the template.
struct Family {
  toml::table root;
  double aspect = 64;
  std::string head_key;  // "n_head" or "d_head"
  std::int64_t head = 1, quantum = 1, n_ctx = 0;
};

Family family_of(const std::string& text, const std::string& origin) {
  const runner::SweepSpec spec = runner::parse_sweep_spec(text, origin);
  Family f;
  f.root = toml::parse(text, origin);
  std::vector<double> aspects;
  for (const auto& s : spec.shapes)
    aspects.push_back(static_cast<double>(s.d_model) / static_cast<double>(s.n_layer));
  std::sort(aspects.begin(), aspects.end());
  f.aspect = aspects[aspects.size() / 2];
  const toml::table& model = *f.root["model"].as_table();
  f.head_key = model.contains("n_head") ? "n_head" : "d_head";
  const runner::ModelShape& first = spec.shapes.front();
  f.head = f.head_key == "n_head" ? first.n_head : first.d_model / first.n_head;
  f.quantum = f.head_key == "n_head" ? f.head : f.head * spec.tp;
  f.n_ctx = first.n_ctx;
  // One value per grid axis of [train], so that each file is exactly one point.
  toml::table& train = *f.root["train"].as_table();
  train.insert_or_assign("batch_tokens", spec.train.batch_tokens.front());
  train.insert_or_assign("seeds", spec.train.seeds.front());
  if (spec.train.lr_rule == runner::LrRule::kFixed)
    train.insert_or_assign("lr", spec.train.lr.front());
  return f;
}

std::string sweep_text(Family& f, std::int64_t n_layer, std::int64_t d_model, std::int64_t tokens) {
  toml::table& model = *f.root["model"].as_table();
  for (const char* key : {"n_layer", "d_model", "target_params", "aspect_ratio", "d_ff", "n_head",
                          "d_head", "n_ctx", "combine"})
    model.erase(key);
  model.insert_or_assign("n_layer", n_layer);
  model.insert_or_assign("d_model", d_model);
  model.insert_or_assign(f.head_key, f.head);
  model.insert_or_assign("n_ctx", f.n_ctx);
  f.root.insert_or_assign("tokens", toml::table{{"absolute", tokens}});
  std::ostringstream out;
  out << toml::toml_formatter(f.root);
  return out.str() + "\n";
}

}  // namespace

RealisedCandidates realise_candidates(const std::string& template_text,
                                      const std::string& template_origin,
                                      const std::vector<Candidate>& ideal, double per_point_limit) {
  Family family = family_of(template_text, template_origin);
  const std::string name = family.root["name"].value_or(std::string("sweep"));
  family.root.insert_or_assign("name", name + "-propose");
  RealisedCandidates out;
  std::set<std::pair<double, double>> seen;
  int refused = 0, over = 0;
  std::string first_refusal;
  for (const Candidate& c : ideal) {
    const auto layers = std::max<std::int64_t>(
        1, std::llround(std::cbrt(c.n / (12.0 * family.aspect * family.aspect))));
    const double width = std::sqrt(c.n / (12.0 * static_cast<double>(layers)));
    const std::int64_t q = family.quantum;
    const std::int64_t d_model = std::max<std::int64_t>(q, std::llround(width / q) * q);
    const std::string text = sweep_text(family, layers, d_model, std::llround(c.d));
    std::vector<runner::Point> points;
    try {
      points = runner::expand_grid(runner::parse_sweep_spec(text, "proposed point"));
    } catch (const InputError& e) {
      if (refused++ == 0) first_refusal = e.what();
      continue;
    }
    const runner::Point& p = points.front();
    const auto n = static_cast<double>(p.params.non_embedding);
    const auto d = static_cast<double>(p.tokens);
    if (p.flops > per_point_limit) {
      ++over;
      continue;
    }
    if (!seen.insert({n, d}).second) continue;
    Candidate& realised = out.candidates.emplace_back();
    realised.n = n, realised.d = d, realised.flops = p.flops, realised.toml = text;
    realised.shape = fmt::format("n_layer {}, d_model {}, n_head {}", p.shape.n_layer,
                                 p.shape.d_model, p.shape.n_head);
  }
  if (refused > 0)
    out.notes.push_back(fmt::format("{} candidates refused by the sweep parser (first: {})",
                                    refused, first_refusal));
  if (over > 0)
    out.notes.push_back(
        fmt::format("{} candidates over the per-point FLOP limit once rounded to a shape", over));
  return out;
}

std::pair<std::string, std::string> store_sweep_template(const std::string& store_path) {
  store::StoreOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  store::Store db(store_path, options);
  const std::vector<store::SweepRecord> sweeps = db.list_sweeps();
  if (sweeps.empty())
    throw InputError(
        fmt::format("{}: the store has no sweep to take a template from; pass "
                    "--config SWEEP.toml",
                    store_path));
  const auto latest = std::max_element(
      sweeps.begin(), sweeps.end(),
      [](const store::SweepRecord& a, const store::SweepRecord& b) { return a.id < b.id; });
  return {latest->config_text, fmt::format("{} (sweep {})", store_path, latest->name)};
}

}  // namespace ss::analysis
