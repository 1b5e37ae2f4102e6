// `scalefit propose` and `scalefit shape` end to end with the built binaries: --help, the
// proposed sweep files accepted as is by the real `scalesweep plan` and by the runner's parser
// (their N and D are the reported ones), the shape report on a real store made through the
// store API, and every bad input refused with one line, exit 2 and nothing written.
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "runner/config.h"
#include "runner/grid.h"
#include "store/store.h"
#include "tests/support/cli_run.h"

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

using ss::testing::CliResult;
using ss::testing::read_bytes;

class DecideCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (std::string("decide_cli_") + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  CliResult run(const std::string& binary, const std::string& args) {
    return ss::testing::run_cli(binary + " " + args, dir_);
  }
  CliResult scalefit(const std::string& args) { return run(SCALEFIT_BIN, args); }
  fs::path write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // A 4 x 4 grid at quickstart scale from L = 1.2 + 40/N^0.35 + 60/D^0.3, 1% noise, seed 2.
  fs::path synthetic_csv() {
    std::mt19937_64 rng(2);
    std::normal_distribution<double> noise(0.0, 0.01);
    std::string csv = "N,D,loss\n";
    for (double n : {3e3, 6e3, 1.2e4, 2.4e4})
      for (double d : {1e5, 3e5, 1e6, 3e6})
        csv += fmt::format(
            "{},{},{}\n", n, d,
            (1.2 + 40 / std::pow(n, 0.35) + 60 / std::pow(d, 0.3)) * std::exp(noise(rng)));
    return write("synthetic.csv", csv);
  }
  // Bad input: exit 2, one stderr line containing `needle`, no out dir, no temp dir left.
  void expect_bad_input(const std::string& args, const std::string& needle) {
    const fs::path out = dir_ / "report";
    ss::testing::expect_refused(scalefit(args + " --out " + out.string()), args, needle, out, dir_);
  }
  fs::path dir_;
};

const std::string kQuickstart = std::string(SS_SOURCE_DIR) + "/configs/quickstart.toml";

TEST_F(DecideCli, HelpOfBothCommands) {
  CliResult r = scalefit("propose --help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("--compute-cap"), std::string::npos) << r.out;
  r = scalefit("shape --help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("--n-tolerance"), std::string::npos) << r.out;
}

TEST_F(DecideCli, ProposedSweepFilesAreAcceptedAsIsAndMatchTheTable) {
  const fs::path out = dir_ / "proposal";
  const double cap = 1e12;
  const CliResult r = scalefit("propose " + synthetic_csv().string() +
                               " --columns N=N,D=D,loss=loss --law kaplan-nd --budget 1e12 --n 3"
                               " --compute-cap 1e12 --bootstrap 60 --threads 2 -q --config " +
                               kQuickstart + " --out " + out.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto json = nlohmann::json::parse(read_bytes(out / "fits.json"));
  const auto& points = json.at("propose").at("points");
  ASSERT_EQ(points.size(), 3u);
  EXPECT_NE(read_bytes(out / "report.md").find("# Proposed runs"), std::string::npos);
  double total = 0, previous_width = json.at("propose").at("width_ln");
  for (const auto& p : points) {
    const fs::path file = out / p.at("sweep_file").get<std::string>();
    // The real scalesweep plan accepts the file as is: one point.
    const CliResult plan = run(SCALESWEEP_BIN, "plan " + file.string());
    EXPECT_EQ(plan.rc, 0) << plan.err;
    EXPECT_NE(plan.out.find(": 1 points"), std::string::npos) << plan.out;
    // The runner's parser gives the reported N, D and FLOPs.
    const auto grid = runner::expand_grid(runner::load_sweep_spec(file));
    ASSERT_EQ(grid.size(), 1u);
    EXPECT_EQ(static_cast<double>(grid[0].params.non_embedding), p.at("N").get<double>());
    EXPECT_EQ(static_cast<double>(grid[0].tokens), p.at("D").get<double>());
    EXPECT_DOUBLE_EQ(grid[0].flops, p.at("flops").get<double>());
    total += grid[0].flops;
    EXPECT_LE(p.at("expected_width_after").get<double>(), previous_width);
    previous_width = p.at("expected_width_after").get<double>();
  }
  EXPECT_LE(total, cap);
}

TEST_F(DecideCli, ProposeRefusesBadInput) {
  const std::string csv = synthetic_csv().string() + " --columns N=N,D=D,loss=loss";
  const std::string base = "propose " + csv + " --law kaplan-nd --bootstrap 40 -q";
  expect_bad_input("propose " + csv + " --n 2", "--budget is required");
  expect_bad_input(base + " --budget -1 --n 2", "--budget: -1 is not positive");  // ss/cli_checks.h
  expect_bad_input(base + " --budget 1e12 --n 0", "--n");
  expect_bad_input(base + " --budget 1e12 --n 2 --compute-cap 0",
                   "--compute-cap: 0 is not positive");
  expect_bad_input("propose " + csv + " --law chinchilla-2 --budget 1e12 --n 2", "--law");
  expect_bad_input(base + " --budget 1e12 --n 2 --bootstrap 5", "--bootstrap");
  expect_bad_input("propose " + (dir_ / "absent.csv").string() + " --budget 1e12 --n 2",
                   "no such file");
  expect_bad_input("propose " + synthetic_csv().string() + " --budget 1e12 --n 2", "--columns");
  expect_bad_input(base + " --budget 1e12 --n 2 --config " + (dir_ / "absent.toml").string(),
                   "cannot read");
  const fs::path bad = write("bad.toml", "name = \"x\"\n[model]\nn_layer = [1\n");
  expect_bad_input(base + " --budget 1e12 --n 2 --config " + bad.string(), "bad.toml");
  expect_bad_input(base + " --budget 1e12 --n 2 --compute-cap 1e3", "compute cap");
  // A file where the report would go is the user's: refused and left as it was.
  const fs::path user = write("user.txt", "mine\n");
  const CliResult r = scalefit(base + " --budget 1e12 --n 2 --out " + user.string());
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_EQ(read_bytes(user), "mine\n");
}

// configs/shape.toml planned into a real store by `scalesweep plan --store`, every run marked
// done with val loss 3 exp(0.02 ln(aspect / 8)^2) (heads make no difference).
TEST_F(DecideCli, ShapeReportOnAPlannedStoreRecoversTheCurvature) {
  const fs::path db = dir_ / "shape.db";
  const CliResult plan = run(SCALESWEEP_BIN, "plan " + std::string(SS_SOURCE_DIR) +
                                                 "/configs/shape.toml --store " + db.string());
  ASSERT_EQ(plan.rc, 0) << plan.err;
  {
    store::Store store(db, {});
    while (auto claimed = store.claim_point("test", 60)) {
      const double aspect = static_cast<double>(claimed->plan.d_model) / claimed->plan.n_layer;
      store::RunOutcome outcome;
      outcome.step = claimed->plan.steps;
      outcome.tokens_seen = claimed->plan.tokens;
      outcome.final_val_loss = 3.0 * std::exp(0.02 * std::pow(std::log(aspect / 8.0), 2));
      store.mark_done(claimed->id, outcome);
    }
  }
  const fs::path out = dir_ / "report";
  const CliResult r = scalefit("shape " + db.string() + " --out " + out.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto json = nlohmann::json::parse(read_bytes(out / "fits.json")).at("shape");
  ASSERT_EQ(json.at("groups").size(), 3u);  // N ~ 19K, 38K, 77K
  for (const auto& g : json.at("groups")) {
    EXPECT_EQ(g.at("runs").size(), 2 * g.at("aspects").get<std::size_t>());
    EXPECT_NEAR(g.at("quadratic").at("c2").get<double>(), 0.02, 1e-9);
    EXPECT_NEAR(g.at("quadratic").at("best_aspect").get<double>(), 8.0, 1e-6);
    EXPECT_EQ(g.at("head_spread").get<double>(), 0.0);
  }
  EXPECT_NE(read_bytes(out / "report.md").find("Loss against shape at fixed N"), std::string::npos);
  const std::string svg = read_bytes(out / "shape.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_EQ(std::system(("/usr/bin/python3 -c \"import sys, xml.etree.ElementTree as E; "
                         "E.parse(sys.argv[1])\" " +
                         (out / "shape.svg").string())
                            .c_str()),
            0);
}

TEST_F(DecideCli, ShapeRefusesBadInput) {
  expect_bad_input("shape " + (dir_ / "absent.db").string(), "no such file");
  expect_bad_input("shape " + synthetic_csv().string(), "not a ScaleSweep store");
  expect_bad_input("shape " + synthetic_csv().string() + " --n-tolerance 0", "--n-tolerance");
  // A store whose sizes each have one aspect ratio (the quickstart: n_layer 2 throughout).
  const fs::path db = dir_ / "quick.db";
  ASSERT_EQ(run(SCALESWEEP_BIN, "plan " + kQuickstart + " --store " + db.string()).rc, 0);
  {
    store::Store store(db, {});
    while (auto claimed = store.claim_point("test", 60)) {
      store::RunOutcome outcome;
      outcome.tokens_seen = claimed->plan.tokens;
      outcome.final_val_loss = 2.0;
      store.mark_done(claimed->id, outcome);
    }
  }
  expect_bad_input("shape " + db.string(), "two or more aspect ratios");
}

}  // namespace
}  // namespace ss::analysis
