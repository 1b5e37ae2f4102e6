// `scalesweep slurm CONFIG --store DB [...] [--submit | --dry-run]`: the sbatch script for a
// sweep, sized from its plan, printed or submitted. The script is slurm/sweep.sbatch (compiled
// in, so there is one template) with its #SBATCH lines replaced by the sized ones and the
// sweep's paths set as defaults. Invariants: every flag is checked before anything is written
// (exit 2, one line); --submit writes only STORE-stem.sbatch, and never over a file it did not
// write; Slurm's own refusal comes back as one line (exit 2).
#include "runner/cli_slurm.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "runner/config.h"
#include "runner/grid.h"
#include "runner/slurm_template.h"
#include "ss/cli_checks.h"
#include "ss/error.h"

namespace ss::runner {
namespace {

namespace fs = std::filesystem;

struct SlurmOptions {
  std::string config, store;
  int nodes = 1;
  int gpus_per_node = 0;
  int ranks_per_gpu = 1;
  std::string time, partition, account, qos;
  double flops_per_second = 2e9;
  bool submit = false;
  bool dry_run = false;
  int array = 0;  // > 0: that many array tasks, each one single-group `scalesweep run`
};

constexpr int kSignalLeadSeconds = 120;
constexpr const char* kMarker = "# Written by `scalesweep slurm`";

// The job's size: worker ranks per node, tasks (workers + rank 0), time limit.
struct JobShape {
  int workers_per_node = 1;
  int gpus_per_node = 0;
  int tasks = 2;
  std::string time;
  std::string time_source;  // "--time" or how it was estimated
};

std::string slurm_time(double seconds) {
  const auto s = static_cast<long long>(std::ceil(seconds / 60.0) * 60.0);
  const long long days = s / 86400, h = (s % 86400) / 3600, m = (s % 3600) / 60;
  return days > 0 ? fmt::format("{}-{:02}:{:02}:00", days, h, m)
                  : fmt::format("{:02}:{:02}:00", h, m);
}

void check_name(const std::string& flag, const std::string& value) {
  static const std::regex kName("[A-Za-z0-9._-]+");
  if (!value.empty() && !std::regex_match(value, kName)) {
    throw InputError(
        fmt::format("{} '{}': not a Slurm name; use letters, digits, '.', '_', '-'", flag, value));
  }
}

void check_time(const std::string& value) {
  static const std::regex kTime("(\\d+-)?\\d{1,3}:[0-5]\\d:[0-5]\\d");
  if (!value.empty() && !std::regex_match(value, kTime)) {
    throw InputError(fmt::format(
        "--time '{}': not a time limit; use HH:MM:SS or D-HH:MM:SS, e.g. --time 04:00:00", value));
  }
}

// Single-quoted for the script; a quote or a line break in a path cannot be written safely.
std::string shell_quoted(const std::string& flag, const std::string& value) {
  if (value.find_first_of("'\n\r") != std::string::npos) {
    throw InputError(
        fmt::format("{} '{}': a path with a quote or line break cannot go into an "
                    "sbatch script; rename it",
                    flag, value));
  }
  return "'" + value + "'";
}

JobShape size_job(const SlurmOptions& o, const std::vector<Point>& points) {
  std::int64_t group = 1;
  double longest = 0, total = 0;
  for (const Point& p : points) {
    group = std::max<std::int64_t>(group, p.dp * p.tp);
    longest = std::max(longest, p.flops_exact / o.flops_per_second);
    total += p.flops_exact / o.flops_per_second;
  }
  JobShape shape;
  shape.gpus_per_node = o.gpus_per_node;
  shape.workers_per_node =
      o.gpus_per_node > 0 ? o.gpus_per_node * o.ranks_per_gpu : o.ranks_per_gpu;
  if (o.array > 0) {  // one group per array task, on one node
    if (o.nodes != 1) {
      throw InputError(
          fmt::format("--array {} with --nodes {}: each array task runs on one node; drop --nodes",
                      o.array, o.nodes));
    }
    shape.workers_per_node = static_cast<int>(group);
    if (o.gpus_per_node > 0) {
      shape.gpus_per_node = static_cast<int>((group + o.ranks_per_gpu - 1) / o.ranks_per_gpu);
    }
  }
  const int workers = o.nodes * shape.workers_per_node;
  shape.tasks = workers + 1;
  if (group > workers) {
    throw InputError(fmt::format(
        "{}: a point needs dp*tp = {} worker ranks but --nodes {} x {} worker(s) per node gives "
        "{}; raise --nodes, --gpus-per-node or --ranks-per-gpu",
        o.config, group, o.nodes, shape.workers_per_node, workers));
  }
  if (!o.time.empty()) {
    shape.time = o.time;
    shape.time_source = "--time";
    return shape;
  }
  const double slots = static_cast<double>(o.array > 0 ? o.array : workers / group);
  const double seconds = std::max(longest, total / slots) * 1.5 + 2 * kSignalLeadSeconds + 60;
  shape.time = slurm_time(seconds);
  shape.time_source =
      fmt::format("plan estimate at {:.3g} FLOP/s per point (--flops-per-second) x 1.5, plus {} s",
                  o.flops_per_second, 2 * kSignalLeadSeconds + 60);
  return shape;
}

std::string sbatch_lines(const SlurmOptions& o, const SweepSpec& spec, const JobShape& shape) {
  std::string out = fmt::format(
      "#SBATCH --job-name=scalesweep-{}\n#SBATCH --nodes={}\n"
      "#SBATCH --ntasks={}\n",
      spec.name, o.nodes, shape.tasks);
  if (o.array > 0) out += fmt::format("#SBATCH --array=0-{}\n", o.array - 1);
  if (shape.gpus_per_node > 0) {
    out += fmt::format("#SBATCH --gpus-per-node={}\n", shape.gpus_per_node);
  }
  out += fmt::format("#SBATCH --time={}\n", shape.time);
  if (!o.partition.empty()) out += fmt::format("#SBATCH --partition={}\n", o.partition);
  if (!o.account.empty()) out += fmt::format("#SBATCH --account={}\n", o.account);
  if (!o.qos.empty()) out += fmt::format("#SBATCH --qos={}\n", o.qos);
  out += fmt::format(
      "#SBATCH --requeue\n#SBATCH --open-mode=append\n#SBATCH --output=scalesweep-%j.out\n"
      "#SBATCH --signal=B:USR1@{}\n#SBATCH --chdir={}\n",
      kSignalLeadSeconds, fs::current_path().string());
  return out;
}

std::string defaults_block(const SlurmOptions& o, const JobShape& shape, std::size_t points) {
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  return fmt::format(
      "{} for {} ({} points): {} node(s) x {} worker rank(s) + rank 0; time: {}.\n"
      "SCALESWEEP_CONFIG=${{SCALESWEEP_CONFIG:-{}}}\n"
      "SCALESWEEP_STORE=${{SCALESWEEP_STORE:-{}}}\n"
      "SCALESWEEP=${{SCALESWEEP:-{}}}\n"
      "GPUS_PER_NODE=${{GPUS_PER_NODE:-{}}}\nRANKS_PER_GPU=${{RANKS_PER_GPU:-{}}}\n",
      kMarker, o.config, points, o.nodes, shape.workers_per_node, shape.time_source,
      shell_quoted("config", fs::absolute(o.config).string()),
      shell_quoted("--store", fs::absolute(o.store).string()), shell_quoted("scalesweep", self),
      shape.gpus_per_node, o.ranks_per_gpu);
}

// The template with its #SBATCH lines replaced by `sbatch` and `defaults` after them.
std::string fill_template(const std::string& sbatch, const std::string& defaults) {
  std::istringstream in{std::string(kSweepSbatchTemplate)};
  std::string out, line;
  bool placed = false;
  while (std::getline(in, line)) {
    if (line.rfind("#SBATCH", 0) == 0) {
      if (!placed) out += sbatch + defaults;
      placed = true;
      continue;
    }
    out += line + "\n";
  }
  return out;
}

// Runs sbatch on `script`; the job id, or InputError with Slurm's last error line.
std::string submit(const fs::path& script) {
  const std::string command = fmt::format("sbatch --parsable '{}' 2>&1", script.string());
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run sbatch");
  std::string output;
  std::array<char, 512> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) output += buffer.data();
  const int status = pclose(pipe.release());
  std::istringstream lines(output);
  std::string line, last_error, id;
  while (std::getline(lines, line)) {
    if (line.find("error:") != std::string::npos) last_error = line;
    if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0]))) id = line;
  }
  if (status != 0 || id.empty()) {
    const auto at = last_error.find("error:");
    const std::string reason = at != std::string::npos ? last_error.substr(at + 7)
                               : output.empty()        ? "sbatch not found or not runnable"
                                                       : output;
    throw InputError(fmt::format("sbatch refused {}: {}", script.string(), reason));
  }
  return id.substr(0, id.find(';'));
}

// STORE's stem + .sbatch beside it; refuses a file that scalesweep slurm did not write.
fs::path script_path(const std::string& store) {
  fs::path path = fs::path(store);
  path.replace_extension(".sbatch");
  if (fs::exists(path)) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find(kMarker) == std::string::npos) {
      throw InputError(
          fmt::format("{} exists and was not written by scalesweep slurm; move it "
                      "or choose another --store",
                      path.string()));
    }
  }
  return path;
}

void run_slurm(const SlurmOptions& o) {
  check_time(o.time);
  check_name("--partition", o.partition);
  check_name("--account", o.account);
  check_name("--qos", o.qos);
  const SweepSpec spec = load_sweep_spec(o.config);
  const std::vector<Point> points = expand_grid(spec);
  const JobShape shape = size_job(o, points);
  const std::string script =
      fill_template(sbatch_lines(o, spec, shape), defaults_block(o, shape, points.size()));
  if (!o.submit) {
    fmt::print("{}", script);
    return;
  }
  const fs::path path = script_path(o.store);
  {
    std::ofstream out(path);
    out << script;
    if (!out) throw InputError(fmt::format("{}: cannot write the sbatch script", path.string()));
  }
  const std::string id = submit(path);
  fmt::print("submitted job {} ({}); watch: squeue -j {}; scalesweep status {}\n", id,
             path.string(), id, o.store);
}

}  // namespace

void add_slurm_command(CLI::App& app) {
  auto o = std::make_shared<SlurmOptions>();
  CLI::App* cmd = app.add_subcommand(
      "slurm",
      "Write the sbatch script (slurm/sweep.sbatch) for a sweep, sized from its plan: print it "
      "(--dry-run, the default) or submit it (--submit) and print the job id");
  cmd->add_option("config", o->config, "sweep file (TOML)")->required();
  cmd->add_option("--store", o->store, "SQLite store the job writes")->required();
  cmd->add_option("--nodes", o->nodes, "nodes (sbatch --nodes)")
      ->check(cli::kPositive)
      ->capture_default_str();
  cmd->add_option("--gpus-per-node", o->gpus_per_node,
                  "GPUs per node (sbatch --gpus-per-node); 0: CPU workers")
      ->check(cli::kNonNegative)
      ->capture_default_str();
  cmd->add_option("--ranks-per-gpu", o->ranks_per_gpu,
                  "worker ranks per GPU (per node with --gpus-per-node 0)")
      ->check(cli::kPositive)
      ->capture_default_str();
  cmd->add_option("--time", o->time,
                  "time limit HH:MM:SS or D-HH:MM:SS (default: from the plan's estimate)");
  cmd->add_option("--flops-per-second", o->flops_per_second,
                  "training FLOP/s per point, for the estimated time limit")
      ->check(cli::kPositive)
      ->capture_default_str();
  cmd->add_option("--partition", o->partition, "sbatch --partition");
  cmd->add_option("--account", o->account, "sbatch --account");
  cmd->add_option("--qos", o->qos, "sbatch --qos");
  cmd->add_option("--array", o->array,
                  "K array tasks, each one node running one group (largest dp*tp) that claims "
                  "points from the shared store (for clusters without MPI across nodes)")
      ->check(cli::kPositive);
  auto* submit_flag = cmd->add_flag("--submit", o->submit, "write STORE-stem.sbatch and sbatch it");
  cmd->add_flag("--dry-run", o->dry_run, "print the script (the default)")->excludes(submit_flag);
  cmd->callback([o] { run_slurm(*o); });
}

}  // namespace ss::runner
