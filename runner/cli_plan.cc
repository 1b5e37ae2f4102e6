// `scalesweep plan`: load + validate the sweep file, expand the grid, print it, and with
// --store register the sweep and its points. Invariant: everything is validated before the
// store is opened, so a broken config never creates or touches a store.
#include "runner/cli_plan.h"

#include <fmt/core.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "runner/config.h"
#include "runner/grid.h"
#include "ss/cli_checks.h"
#include "store/store.h"

namespace ss::runner {
namespace {

struct PlanOptions {
  std::string config;
  std::string format = "table";
  std::string store;
  std::string journal = "auto";
  double flops_per_second = 2e9;  // effective training throughput per point, for est. time
};

// 1234567 -> "1.23M" (table only; csv/json print exact numbers).
std::string human(double v) {
  const char* units[] = {"", "K", "M", "G", "T", "P", "E", "Z"};
  int u = 0;
  while (std::abs(v) >= 1000 && u < 7) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}", v) : fmt::format("{:.3g}{}", v, units[u]);
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return fmt::format("{:.1f}{}", b, units[u]);
}

std::string human_seconds(double s) {
  if (s < 120) return fmt::format("{:.0f}s", s);
  if (s < 7200) return fmt::format("{:.1f}m", s / 60);
  if (s < 172800) return fmt::format("{:.1f}h", s / 3600);
  return fmt::format("{:.1f}d", s / 86400);
}

void print_table(const SweepSpec& spec, const std::vector<Point>& points, double rate) {
  fmt::print("sweep {} ({}): {} points, tokenizer {}, vocab {}, dp {}, tp {}\n", spec.name,
             spec.config_path, points.size(), spec.data.tokenizer, spec.vocab, spec.dp, spec.tp);
  fmt::print(
      "{:>5} {:<16} {:>7} {:>7} {:>6} {:>6} {:>5} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>9} "
      "{:>9} {:>7} {:>9} {:>5} {:>7}\n",
      "index", "key", "n_layer", "d_model", "n_head", "d_ff", "n_ctx", "N", "N_total", "D", "D/N",
      "batch", "steps", "lr", "FLOPs", "est", "mem/rank", "seed", "overfit");
  double total_flops = 0, total_seconds = 0;
  for (const Point& p : points) {
    total_flops += p.flops;
    total_seconds += p.flops_exact / rate;
    fmt::print(
        "{:>5} {:<16} {:>7} {:>7} {:>6} {:>6} {:>5} {:>8} {:>8} {:>8} {:>8.3g} {:>7} {:>7} "
        "{:>9.3g} {:>9.3g} {:>7} {:>9} {:>5} {:>7}\n",
        p.index, p.key, p.shape.n_layer, p.shape.d_model, p.shape.n_head, p.shape.d_ff,
        p.shape.n_ctx, human(static_cast<double>(p.params.non_embedding)),
        human(static_cast<double>(p.params.total)), human(static_cast<double>(p.tokens)),
        p.tokens_per_param, p.batch_tokens, p.steps, p.lr, p.flops,
        human_seconds(p.flops_exact / rate), human_bytes(static_cast<double>(p.memory.total())),
        p.seed, p.kaplan_overfit ? "yes" : "no");
  }
  fmt::print(
      "total {:.3g} FLOPs (6N+attention)D; est {} one point at a time at {:.3g} FLOP/s "
      "(--flops-per-second), exact parameter count; overfit: Kaplan's D < 5e3 N^0.74\n",
      total_flops, human_seconds(total_seconds), rate);
}

void print_csv(const std::vector<Point>& points) {
  fmt::print(
      "index,key,n_layer,d_model,n_head,d_ff,n_ctx,vocab,n_params,n_params_embedding,"
      "n_params_total,tokens,tokens_per_param,batch_tokens,micro_batch,grad_accum,steps,"
      "lr,warmup_steps,seed,dp,tp,flops,flops_exact,memory_bytes,kaplan_ratio,kaplan_overfit\n");
  for (const Point& p : points) {
    fmt::print("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
               p.index, p.key, p.shape.n_layer, p.shape.d_model, p.shape.n_head, p.shape.d_ff,
               p.shape.n_ctx, p.vocab, p.params.non_embedding, p.params.embedding, p.params.total,
               p.tokens, p.tokens_per_param, p.batch_tokens, p.micro_batch, p.grad_accum, p.steps,
               p.lr, p.warmup_steps, p.seed, p.dp, p.tp, p.flops, p.flops_exact, p.memory.total(),
               p.kaplan_ratio, p.kaplan_overfit ? 1 : 0);
  }
}

void print_json(const SweepSpec& spec, const std::vector<Point>& points) {
  nlohmann::json rows = nlohmann::json::array();
  for (const Point& p : points) {
    rows.push_back({{"index", p.index},
                    {"key", p.key},
                    {"n_layer", p.shape.n_layer},
                    {"d_model", p.shape.d_model},
                    {"n_head", p.shape.n_head},
                    {"d_ff", p.shape.d_ff},
                    {"n_ctx", p.shape.n_ctx},
                    {"vocab", p.vocab},
                    {"n_params", p.params.non_embedding},
                    {"n_params_embedding", p.params.embedding},
                    {"n_params_total", p.params.total},
                    {"tokens", p.tokens},
                    {"tokens_per_param", p.tokens_per_param},
                    {"batch_tokens", p.batch_tokens},
                    {"micro_batch", p.micro_batch},
                    {"grad_accum", p.grad_accum},
                    {"steps", p.steps},
                    {"lr", p.lr},
                    {"warmup_steps", p.warmup_steps},
                    {"seed", p.seed},
                    {"dp", p.dp},
                    {"tp", p.tp},
                    {"flops", p.flops},
                    {"flops_exact", p.flops_exact},
                    {"memory_bytes", p.memory.total()},
                    {"kaplan_ratio", p.kaplan_ratio},
                    {"kaplan_overfit", p.kaplan_overfit}});
  }
  const nlohmann::json doc = {{"sweep", spec.name},
                              {"config", spec.config_path},
                              {"config_hash", spec.config_hash},
                              {"points", rows}};
  fmt::print("{}\n", doc.dump(2));
}

// The store is written before anything is printed: a store that cannot be opened (a missing
// directory, a read-only place) ends with its one line and no table above it.
void run_plan(const PlanOptions& options) {
  // Validate everything first: the journal flag, the config and the whole grid.
  const store::JournalMode journal = store::parse_journal_mode(options.journal);
  const SweepSpec spec = load_sweep_spec(options.config);
  const std::vector<Point> points = expand_grid(spec);
  std::optional<store::Store::Registration> registered;
  if (!options.store.empty()) {
    store::StoreOptions store_options;
    store_options.create_if_missing = true;
    store_options.journal = journal;
    store::Store db(options.store, store_options);
    registered = register_sweep_points(db, spec, points);
  }
  if (options.format == "csv") {
    print_csv(points);
  } else if (options.format == "json") {
    print_json(spec, points);
  } else {
    print_table(spec, points, options.flops_per_second);
  }
  if (!registered) return;
  std::fflush(stdout);
  if (registered->earlier_sweep) {
    fmt::print(stderr,
               "store {}: sweep {}: all {} points are registered already, by sweep id {} (the "
               "same grid; the file differs in comments or settings outside the points): "
               "nothing new registered, `run` continues that sweep\n",
               options.store, spec.name, points.size(), registered->sweep_id);
    return;
  }
  fmt::print(stderr, "store {}: sweep {} (id {}), {} new points, {} already registered\n",
             options.store, spec.name, registered->sweep_id, registered->new_points,
             static_cast<std::int64_t>(points.size()) - registered->new_points);
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto options = std::make_shared<PlanOptions>();
  CLI::App* plan = app.add_subcommand(
      "plan", "Print every point of a sweep's grid; with --store, register them as pending");
  plan->add_option("config", options->config, "sweep file (TOML), e.g. configs/quickstart.toml")
      ->required();
  plan->add_option("--format", options->format, "output format")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  plan->add_option("--store", options->store,
                   "SQLite store to create/update with the sweep and its points (idempotent)");
  plan->add_option("--store-journal", options->journal,
                   "journal mode of a store: auto (wal on a local disk, delete on "
                   "NFS/Lustre/GPFS), wal or delete")
      ->check(CLI::IsMember({"auto", "wal", "delete"}))
      ->capture_default_str();
  plan->add_option("--flops-per-second", options->flops_per_second,
                   "effective training FLOP/s per point, for the table's time estimate")
      ->check(cli::kPositive)
      ->capture_default_str();
  plan->callback([options] { run_plan(*options); });
}

}  // namespace ss::runner
