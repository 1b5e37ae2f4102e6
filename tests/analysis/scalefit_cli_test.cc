// scalefit end to end: the built binary run on the Chinchilla CSV (Epoch's CIs), on a store
// built in the test through the store API (fits and run_flags rows written back), and on each
// kind of bad input (exit 2, one line on stderr, no out dir, no fits rows).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "analysis/overfit_flags.h"
#include "store/migrations.h"
#include "store/store.h"
#include "tests/analysis/laws/synthetic.h"
#include "tests/support/cli_run.h"
#include "tests/support/store_rows.h"

#include <SQLiteCpp/Database.h>

#ifndef SCALEFIT_BIN
#error "SCALEFIT_BIN must name the scalefit binary"
#endif

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

const fs::path kChinchillaCsv = CHINCHILLA_CSV;

// $SCALEFIT_BIN overrides the built-in path (to run these tests on another build of it).
std::string scalefit_bin() {
  const char* override_bin = std::getenv("SCALEFIT_BIN");
  return override_bin ? override_bin : SCALEFIT_BIN;
}

using ss::testing::CliResult;
using ss::testing::read_bytes;

class ScalefitCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (std::string("scalefit_cli_") + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  // Runs scalefit with `args` (already shell-quoted), capturing stdout and stderr.
  CliResult scalefit(const std::string& args) {
    return ss::testing::run_cli(scalefit_bin() + " " + args, dir_);
  }
  fs::path write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // Bad input: exit 2, exactly one stderr line, and no out dir.
  void expect_bad_input(const std::string& args, const std::string& needle) {
    const fs::path out = dir_ / "report";
    ss::testing::expect_refused(scalefit(args + " -q --bootstrap 5 --out " + out.string()), args,
                                needle, out, dir_);
  }
  fs::path dir_;
};

bool svg_parses(const fs::path& p) {
  const std::string cmd =
      "/usr/bin/python3 -c \"import sys, xml.etree.ElementTree as E; "
      "r = E.parse(sys.argv[1]).getroot(); sys.exit(0 if r.tag.endswith('svg') else 1)\" " +
      p.string();
  return std::system(cmd.c_str()) == 0;
}

TEST_F(ScalefitCli, ChinchillaCsvApproach3WritesTheWholeReport) {
  ASSERT_TRUE(fs::exists(kChinchillaCsv))
      << "no " << kChinchillaCsv << " (configure with -DSS_CHINCHILLA_CSV=PATH)";
  const fs::path out = dir_ / "r";
  // 40 resamples instead of 1000: the point estimate does not depend on it, and the CI check
  // below only needs the intervals to exist and to bracket the estimate.
  const CliResult r = scalefit(kChinchillaCsv.string() +
                               " --columns 'N=\"Model Size\",C=\"Training FLOP\",loss=loss'"
                               " --drop-highest 5 --law chinchilla-3 --bootstrap 40 --seed 1"
                               " --budget 1e21,1e23 --out " +
                               out.string() + "/");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("ETA"), std::string::npos) << "no progress lines: " << r.err;
  const auto fits = nlohmann::json::parse(read_bytes(out / "fits.json"));
  const auto& f = fits.at("fits").at("chinchilla-3");
  // The CLI's plumbing (columns, --drop-highest, the fit's fields, CIs, allocations, files).
  // Whether the refit lands inside Epoch AI's intervals is tested once, in
  // tests/analysis/laws/chinchilla3_test.cc's EpochRefitOfChinchillaData.
  EXPECT_EQ(f.at("n_points").get<int>(), 240);
  // N_opt ∝ C^a with a = beta / (alpha + beta), as written.
  EXPECT_NEAR(f.at("a").get<double>(),
              f.at("beta").get<double>() / (f.at("alpha").get<double>() + f.at("beta").get<double>()),
              1e-9);
  for (const char* name : {"A", "B", "E", "alpha", "beta"}) {
    const auto& ci = f.at("ci").at(name);
    EXPECT_LE(ci[0].get<double>(), f.at(name).get<double>()) << name;
    EXPECT_GE(ci[1].get<double>(), f.at(name).get<double>()) << name;
  }
  ASSERT_EQ(f.at("allocations").size(), 2u);
  const double c = f.at("allocations")[0].at("budget").get<double>();
  const double n = f.at("allocations")[0].at("N_opt").get<double>();
  const double d = f.at("allocations")[0].at("D_opt").get<double>();
  EXPECT_NEAR(6 * n * d / c, 1.0, 1e-6);  // C = 6 N D
  for (const char* file : {"points.csv", "report.md", "loss_vs_n.svg", "loss_vs_d.svg",
                           "isoflop.svg", "compute_frontier.svg", "overfit_map.svg"})
    EXPECT_TRUE(fs::exists(out / file)) << file;
  for (const auto& entry : fs::directory_iterator(out))
    if (entry.path().extension() == ".svg") {
      EXPECT_TRUE(svg_parses(entry.path())) << entry.path();
    }
  const std::string report = read_bytes(out / "report.md");
  EXPECT_NE(report.find("![](loss_vs_n.svg)"), std::string::npos);
  EXPECT_NE(report.find("`loss_curves.svg` not drawn"), std::string::npos);  // CSV: no curves
  EXPECT_FALSE(fs::exists(out / "loss_curves.svg"));
  // points.csv: header + 240 rows.
  const std::string points = read_bytes(out / "points.csv");
  EXPECT_EQ(std::count(points.begin(), points.end(), '\n'), 241);
}

// ---- a store built here --------------------------------------------------------------------

struct SyntheticRun {
  double n, d;
  bool turns_up;  // val loss rises over the last evals while train keeps falling
};

// Chinchilla-3 truth used for the synthetic losses.
double truth_loss(double n, double d) {
  return ss::laws::testing::kHoffmann2022(n, d);
}

fs::path build_store(const fs::path& path, const std::vector<SyntheticRun>& runs,
                     bool finish = true) {
  store::StoreOptions options;
  options.create_if_missing = true;
  store::Store db(path, options);
  const auto sweep = db.register_sweep("test", "test.toml", "# test", "hash-test");
  std::vector<store::RunPlan> plans;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    store::RunPlan p =
        ss::testing::run_plan(sweep, static_cast<std::int64_t>(i), runs[i].n, runs[i].d);
    p.n_params_embedding = 1000;
    p.n_params_total = p.n_params + 1000;
    plans.push_back(p);
  }
  db.register_points(plans);
  if (!finish) return path;
  while (auto claimed = db.claim_point("test", 60)) {
    const auto i = static_cast<std::size_t>(claimed->plan.point_index);
    const SyntheticRun& run = runs[i];
    const double final_loss = truth_loss(run.n, run.d);
    std::vector<store::MetricRow> rows;
    for (int s = 1; s <= 10; ++s) {
      const auto tokens = static_cast<std::int64_t>(run.d * s / 10);
      // Train falls towards final_loss; val tracks it (+0.02) unless the run turns up after
      // step 6, where val rises by 0.05 per step while train keeps falling.
      const double train = final_loss + 2.0 / s - 0.2;
      double val = train + 0.02;
      if (run.turns_up && s > 6) val = final_loss + 2.0 / 6 - 0.18 + 0.05 * (s - 6);
      rows.push_back(ss::testing::metric_row(claimed->id, s, tokens, 6 * run.n * tokens, train,
                                             s % 2 == 0 ? std::optional(val) : std::nullopt));
    }
    db.insert_metrics(rows);
    store::RunOutcome outcome;
    outcome.step = 10;
    outcome.tokens_seen = claimed->plan.tokens;
    outcome.final_train_loss = rows.back().train_loss;
    outcome.final_val_loss = rows.back().val_loss;
    db.mark_done(claimed->id, outcome);
  }
  return path;
}

std::vector<SyntheticRun> synthetic_grid() {
  std::vector<SyntheticRun> runs;
  // N x D grid: small D at large N lies below Kaplan's line (r < 1).
  for (double n : {1e6, 3e6, 1e7, 3e7})
    for (double d : {3e7, 3e8, 3e9}) runs.push_back({n, d, false});
  runs[4].turns_up = true;  // N = 3e6, D = 3e8
  return runs;
}

TEST_F(ScalefitCli, StoreRunFlagsAndFitsAreWrittenBack) {
  const auto runs = synthetic_grid();
  const fs::path db = build_store(dir_ / "sweep.db", runs);
  const fs::path out = dir_ / "report";
  const CliResult r =
      scalefit(db.string() + " --law chinchilla-3 --bootstrap 10 -q --out " + out.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  store::Store check(db, {.read_only = true});
  EXPECT_EQ(check.schema_version(), store::kSchemaVersion);
  const auto flags = check.list_run_flags();
  ASSERT_EQ(flags.size(), runs.size());
  const auto all_runs = check.list_runs();
  for (const auto& f : flags) {
    const auto run = check.find_run(f.run);
    ASSERT_TRUE(run.has_value());
    const SyntheticRun& truth = runs[static_cast<std::size_t>(run->plan.point_index)];
    // Expected flags from the formula with the planted N and D (hand side: 5e3 N^0.74).
    const double ratio = truth.d / (5e3 * std::pow(truth.n, 0.74));
    EXPECT_NEAR(f.kaplan_ratio, ratio, 1e-9 * ratio);
    EXPECT_EQ(f.kaplan_flag, ratio < 1) << "run " << f.run;
    EXPECT_EQ(f.measured_flag, truth.turns_up) << "run " << f.run;
    if (truth.turns_up) {
      ASSERT_TRUE(f.val_turn_step.has_value());
      EXPECT_EQ(*f.val_turn_step, 6);  // the last eval (even step) before val rises
    } else {
      EXPECT_FALSE(f.val_turn_step.has_value());
      ASSERT_TRUE(f.val_train_gap.has_value());
      EXPECT_NEAR(*f.val_train_gap, 0.02, 1e-9);
    }
  }
  // Both sides of the line are present.
  EXPECT_TRUE(std::any_of(flags.begin(), flags.end(), [](auto& f) { return f.kaplan_flag; }));
  EXPECT_TRUE(std::any_of(flags.begin(), flags.end(), [](auto& f) { return !f.kaplan_flag; }));
  const auto fits = check.list_fits();
  ASSERT_EQ(fits.size(), 1u);
  EXPECT_EQ(fits[0].law, "chinchilla-3");
  EXPECT_EQ(fits[0].source, db.string());
  EXPECT_EQ(fits[0].n_points, static_cast<std::int64_t>(runs.size()));
  const auto params = nlohmann::json::parse(fits[0].params);
  EXPECT_TRUE(params.contains("alpha"));
  EXPECT_TRUE(nlohmann::json::parse(fits[0].ci).contains("alpha"));
  EXPECT_TRUE(fs::exists(out / "loss_curves.svg"));
  EXPECT_TRUE(svg_parses(out / "loss_curves.svg"));
  EXPECT_TRUE(svg_parses(out / "overfit_map.svg"));
  const std::string report = read_bytes(out / "report.md");
  EXPECT_NE(report.find("| **yes** |"), std::string::npos);
}

// kaplan-n (a log-linear fit) keeps these store tests fast; what they check does not depend on
// the law.
TEST_F(ScalefitCli, NoStoreWriteLeavesTheStoreAlone) {
  const fs::path db = build_store(dir_ / "sweep.db", synthetic_grid());
  const CliResult r = scalefit(db.string() + " --law kaplan-n --bootstrap 5 -q --no-store-write");
  ASSERT_EQ(r.rc, 0) << r.err;
  store::Store check(db, {.read_only = true});
  EXPECT_TRUE(check.list_fits().empty());
  EXPECT_TRUE(check.list_run_flags().empty());
}

// A v1 store (what an older scalesweep wrote: no run_flags table, none of runs' later columns) is migrated
// to the current version when scalefit opens it for writing, and left at v1 with
// --no-store-write.
void downgrade_to_v1(const fs::path& db) {
  SQLite::Database raw(db.string(), SQLite::OPEN_READWRITE);
  raw.exec("DROP TABLE run_flags");
  for (const char* column : {"budget", "retry_after", "transient_failures", "error_transient"})
    raw.exec(std::string("ALTER TABLE runs DROP COLUMN ") + column);  // added by v3 and v4
  raw.exec("UPDATE meta SET value = '1' WHERE key = 'schema_version'");
}

TEST_F(ScalefitCli, V1StoreIsMigratedWhenWritten) {
  const fs::path db = build_store(dir_ / "v1.db", synthetic_grid());
  downgrade_to_v1(db);
  ASSERT_EQ(scalefit(db.string() + " --law kaplan-n --bootstrap 5 -q --no-store-write").rc, 0);
  {
    store::Store check(db, {.read_only = true});
    EXPECT_EQ(check.schema_version(), 1);
  }
  const CliResult r = scalefit(db.string() + " --law kaplan-n --bootstrap 5 -q");
  ASSERT_EQ(r.rc, 0) << r.err;
  store::Store check(db, {.read_only = true});
  EXPECT_EQ(check.schema_version(), store::kSchemaVersion);
  EXPECT_EQ(check.list_run_flags().size(), synthetic_grid().size());
}

// ---- bad inputs -----------------------------------------------------------------------------

TEST_F(ScalefitCli, EmptyStore) {
  const fs::path db = build_store(dir_ / "empty.db", {}, false);
  expect_bad_input(db.string(), "has no runs");
  store::Store check(db, {.read_only = true});
  EXPECT_TRUE(check.list_fits().empty());
}

TEST_F(ScalefitCli, StoreWithoutFinishedRuns) {
  const fs::path db = build_store(dir_ / "pending.db", synthetic_grid(), false);
  expect_bad_input(db.string(), "none with status done");
  store::Store check(db, {.read_only = true});
  EXPECT_TRUE(check.list_fits().empty());
  EXPECT_TRUE(check.list_run_flags().empty());
}

TEST_F(ScalefitCli, CsvWithMissingColumn) {
  const auto csv = write("a.csv", "n,l\n1e8,3\n");
  expect_bad_input(csv.string() + " --columns N=n,D=d,loss=l", "column \"d\" (role D)");
}

TEST_F(ScalefitCli, NonPositiveValues) {
  expect_bad_input(
      write("n.csv", "n,d,l\n1e8,1e9,3\n-1e8,1e9,3\n").string() + " --columns N=n,D=d,loss=l",
      "n.csv:3:");
  expect_bad_input(write("d.csv", "n,d,l\n1e8,0,3\n").string() + " --columns N=n,D=d,loss=l",
                   "d.csv:2:");
  expect_bad_input(write("l.csv", "n,d,l\n1e8,1e9,0\n").string() + " --columns N=n,D=d,loss=l",
                   "l.csv:2:");
}

TEST_F(ScalefitCli, TooFewPointsForARequestedLaw) {
  const auto csv = write("few.csv", "n,d,l\n1e8,1e9,3\n2e8,2e9,2.8\n4e8,4e9,2.6\n");
  expect_bad_input(csv.string() + " --columns N=n,D=d,loss=l --law chinchilla-3",
                   "--law chinchilla-3: cannot be fitted");
}

TEST_F(ScalefitCli, NonexistentFile) {
  expect_bad_input((dir_ / "nope.db").string(), "no such file");
}

TEST_F(ScalefitCli, NeitherCsvNorStore) {
  const auto junk = write("junk.bin", std::string("\x7f"
                                                  "ELF\x02\x01\x01\0\0\0",
                                                  10));
  expect_bad_input(junk.string(), "not a ScaleSweep store");
  expect_bad_input(junk.string() + " --columns N=n,D=d,loss=l", "neither a CSV");
}

TEST_F(ScalefitCli, UnknownLawAndBadBudget) {
  const auto csv = write("a.csv", "n,d,l\n1e8,1e9,3\n");
  expect_bad_input(csv.string() + " --columns N=n,D=d,loss=l --law chinchilla-9", "chinchilla-9");
  expect_bad_input(csv.string() + " --columns N=n,D=d,loss=l --law kaplan-n,bogus", "bogus");
  expect_bad_input(csv.string() + " --columns N=n,D=d,loss=l --budget 1e21,abc", "--budget");
  for (const char* bad : {"-1e21", "0", "inf", "1e21x", "1e21,-5"})
    expect_bad_input(csv.string() + " --columns N=n,D=d,loss=l --budget " + bad,
                     "is not a positive FLOP count");
}

}  // namespace
}  // namespace ss::analysis
