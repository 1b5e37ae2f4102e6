// Preflight checks (see preflight.h). Shards are validated by io::Shard itself (magic, version,
// length, every token < the shard's vocabulary); this file adds what only the sweep knows.
#include "runner/preflight.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "model/io/shard.h"
#include "ss/error.h"

namespace ss::runner {
namespace {

namespace fs = std::filesystem;

// "" for an absolute path; " (= /cwd/p, relative to the working directory /cwd)" otherwise.
std::string resolved_note(const std::string& path) {
  if (fs::path(path).is_absolute()) return "";
  std::error_code ec;
  return fmt::format(" (= {}, relative to the working directory {})",
                     fs::absolute(path, ec).lexically_normal().string(),
                     fs::current_path(ec).string());
}

std::string shown(const std::string& path) {
  return path + resolved_note(path);
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  for (; b >= 1024 && u < 5; ++u) b /= 1024;
  return fmt::format("{:.1f} {}", b, units[u]);
}

// The number after `key` in /proc/meminfo (kB), in bytes; nullopt when absent.
std::optional<std::int64_t> meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string name;
  std::int64_t kb = 0;
  std::string unit;
  while (in >> name >> kb) {
    std::getline(in, unit);
    if (name == key + ":") return kb * 1024;
  }
  return std::nullopt;
}

// First integer in `path` ("max" or unreadable -> nullopt).
std::optional<std::int64_t> read_number(const fs::path& path) {
  std::ifstream in(path);
  std::int64_t v = 0;
  if (in >> v) return v;
  return std::nullopt;
}

// What the cgroup this process is in still allows (limit - usage); nullopt when unlimited.
std::optional<std::int64_t> cgroup_room() {
  for (const auto& [limit, usage] :
       {std::pair{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
        std::pair{"/sys/fs/cgroup/memory/memory.limit_in_bytes",
                  "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    const auto l = read_number(limit);
    const auto u = read_number(usage);
    // v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages).
    if (l && u && *l < (std::int64_t{1} << 60)) return std::max<std::int64_t>(0, *l - *u);
  }
  return std::nullopt;
}

}  // namespace

std::uint64_t check_data_shard(const std::string& path, const char* role,
                               const std::string& tokenizer, std::int64_t model_vocab,
                               std::int64_t n_ctx, const std::string& config) {
  if (path.empty())
    throw InputError(
        fmt::format("{}: [data] {} is not set; training needs token shards (write "
                    "them with `scalesweep prepare-data`)",
                    config, role));
  std::error_code ec;
  const bool exists = fs::exists(path, ec);
  // Not readable by this user (mode 000, a directory without x): io::Shard would fail inside
  // the mmap code with a line naming its source file.
  if (ec || (exists && ::access(path.c_str(), R_OK) != 0))
    throw InputError(
        fmt::format("{}: [data] {} = \"{}\"{} cannot be read ({}); make it readable to the user "
                    "who runs the sweep (chmod a+r, and a+x on its directories)",
                    config, role, path, resolved_note(path),
                    ec ? ec.message() : std::strerror(errno)));
  if (!exists)
    throw InputError(
        fmt::format("{}: [data] {} = \"{}\"{}: no such file; run `scalesweep "
                    "prepare-data` first or fix the path",
                    config, role, path, resolved_note(path)));
  const io::Shard shard = [&] {
    try {
      return io::Shard(fs::absolute(path, ec));  // magic, version, length, tokens < vocab
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}: [data] {} = \"{}\": {}", config, role, path, e.what()));
    }
  }();
  const std::int64_t tokenizer_words = tokenizer_vocab(tokenizer);
  if (tokenizer_words > 0 && static_cast<std::int64_t>(shard.vocab()) != tokenizer_words)
    throw InputError(fmt::format(
        "{}: [data] {} shard {} has a vocabulary of {} but tokenizer = \"{}\" has {}; "
        "prepare the shards with `scalesweep prepare-data --tokenizer {}` or set the tokenizer "
        "the shards were made with",
        config, role, shown(path), shard.vocab(), tokenizer, tokenizer_words, tokenizer));
  if (static_cast<std::int64_t>(shard.vocab()) > model_vocab)
    throw InputError(
        fmt::format("{}: [data] {} shard {} has a vocabulary of {}, larger than the "
                    "model's {}; prepare it with the config's tokenizer",
                    config, role, shown(path), shard.vocab(), model_vocab));
  // A training step and an eval each need at least one window of n_ctx + 1 tokens.
  if (shard.size() < static_cast<std::uint64_t>(n_ctx) + 2)
    throw InputError(
        fmt::format("{}: [data] {} shard {} holds {} tokens; a window of n_ctx = "
                    "{} needs at least {}: use more text",
                    config, role, shown(path), shard.size(), n_ctx, n_ctx + 2));
  return shard.size();
}

void check_eval_tokens(const ScheduleSpec& schedule, std::int64_t n_ctx,
                       const std::string& val_path, std::uint64_t val_tokens,
                       const std::string& config) {
  const std::int64_t windows = eval_windows(schedule.eval_tokens, n_ctx);
  const std::int64_t disjoint = disjoint_eval_windows(val_tokens, n_ctx);
  if (windows <= disjoint) return;
  throw InputError(fmt::format(
      "{}: [schedule] eval_tokens = {} asks for {} validation windows of n_ctx = {} tokens but "
      "the val shard {} holds {} tokens, {} windows without overlap; set eval_tokens <= {} or "
      "use a larger val shard",
      config, schedule.eval_tokens, windows, n_ctx, shown(val_path), val_tokens, disjoint,
      disjoint * n_ctx));
}

void check_checkpoint_dir(const ScheduleSpec& schedule, const std::string& config) {
  const std::string& dir = schedule.checkpoint_dir;
  if (dir.empty()) return;
  const std::string what =
      schedule.checkpoint_dir_beside_store
          ? fmt::format("checkpoint directory \"{}\" (the default, beside the store)", dir)
          : fmt::format("[schedule] checkpoint_dir = \"{}\"", dir);
  std::error_code ec;
  const fs::path abs = fs::absolute(dir, ec).lexically_normal();
  for (fs::path up = abs;; up = up.parent_path()) {
    const bool exists = fs::exists(up, ec);
    if (!exists && up != up.root_path()) continue;
    if (!fs::is_directory(up, ec))
      throw InputError(fmt::format(
          "{}: {}: {} is {}, not a directory; choose another [schedule] checkpoint_dir", config,
          what, up == abs ? shown(dir) : up.string(), "a file"));
    if (::access(up.c_str(), W_OK | X_OK) != 0)
      throw InputError(fmt::format(
          "{}: {}: directory {} is not writable ({}); choose a [schedule] checkpoint_dir you "
          "may write to",
          config, what, up == abs ? shown(dir) : up.string(), std::strerror(errno)));
    return;
  }
}

std::optional<MemoryBudget> available_memory() {
  std::optional<MemoryBudget> budget;
  if (const auto avail = meminfo_bytes("MemAvailable")) budget = {*avail, "MemAvailable"};
  if (const auto room = cgroup_room(); room && (!budget || *room < budget->bytes))
    budget = MemoryBudget{*room, "the cgroup's memory limit less its usage"};
  return budget;
}

void check_memory(std::span<const Point> points, int workers_on_node, const std::string& config) {
  const auto budget = available_memory();
  if (!budget || points.empty()) return;
  const int sharing = std::max(1, workers_on_node);
  const std::int64_t per_rank = budget->bytes / sharing;
  const auto largest = std::max_element(
      points.begin(), points.end(),
      [](const auto& a, const auto& b) { return a.memory.total() < b.memory.total(); });
  if (largest->memory.total() <= per_rank) return;
  throw InputError(fmt::format(
      "{}: point {} (index {}, n_layer {}, d_model {}) needs about {} per rank (the grid's "
      "estimate, see `scalesweep plan`) but a rank on this node has about {} ({} {} shared by "
      "{} worker rank(s)); use fewer ranks per node, a smaller micro_batch, more tp or smaller "
      "models",
      config, largest->key, largest->index, largest->shape.n_layer, largest->shape.d_model,
      human_bytes(static_cast<double>(largest->memory.total())),
      human_bytes(static_cast<double>(per_rank)), budget->source,
      human_bytes(static_cast<double>(budget->bytes)), sharing));
}

void preflight_sweep(const SweepSpec& spec, std::span<const Point> points, int workers_on_node) {
  std::int64_t n_ctx = 0, model_vocab = spec.vocab;
  std::set<std::int64_t> contexts;
  for (const auto& p : points) {
    n_ctx = std::max(n_ctx, p.shape.n_ctx);
    model_vocab = std::min(model_vocab, p.vocab);
    contexts.insert(p.shape.n_ctx);
  }
  check_data_shard(spec.data.train, "train", spec.data.tokenizer, model_vocab, n_ctx,
                   spec.config_path);
  const std::uint64_t val_tokens = check_data_shard(spec.data.val, "val", spec.data.tokenizer,
                                                    model_vocab, n_ctx, spec.config_path);
  // The smallest n_ctx asks for the most windows (eval_tokens / n_ctx) and fits the fewest
  // disjoint ones relative to them; every n_ctx is checked, each once.
  for (const std::int64_t ctx : contexts)
    check_eval_tokens(spec.schedule, ctx, spec.data.val, val_tokens, spec.config_path);
  check_checkpoint_dir(spec.schedule, spec.config_path);
  check_memory(points, workers_on_node, spec.config_path);
}

}  // namespace ss::runner
