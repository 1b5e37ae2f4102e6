// The --out directory: fits.json shape (params under their names, ci, n_points, allocations),
// points.csv rows, report.md sections and embeds, replacement of an earlier report only (never
// of the user's files), and a failed write leaving nothing behind. The LawFit here is built by
// hand (a chinchilla-3 law with Epoch's published parameters, a/b/G from the closed form), so
// the expected numbers come from the formula, not from the code under test.
#include "analysis/report_writer.h"
#include "ss/error.h"
#include "tests/analysis/fit_points.h"
#include "tests/analysis/laws/synthetic.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ReportWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (std::string("scalefit_report_") + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data_.source = "grid.csv";
    for (double n : {1e8, 3e8, 1e9})
      for (double d : {2e9, 6e9, 2e10})
        data_.points.push_back(
            testing::fit_point(static_cast<std::int64_t>(data_.points.size() + 1), n, d, 6 * n * d,
                               loss(n, d), "csv"));
    laws::LawFit f;
    f.law = "chinchilla-3";
    // a, b, G from Hoffmann's closed form: a = beta/(alpha+beta), b = alpha/(alpha+beta),
    // G = (alpha A / (beta B))^(1/(alpha+beta)).
    const double alpha = 0.348, beta = 0.366;
    f.params = {{"E", 1.817},
                {"A", 482.0},
                {"B", 2085.0},
                {"alpha", alpha},
                {"beta", beta},
                {"a", beta / (alpha + beta)},
                {"b", alpha / (alpha + beta)},
                {"G", std::pow(alpha * 482.0 / (beta * 2085.0), 1.0 / (alpha + beta))}};
    f.ci = {{"alpha", {0.317, 0.373}}};
    f.n_points = 9;
    f.residual = 0.01;
    input_.data = &data_;
    input_.fits = {f};
    input_.skipped = {{"kaplan-ns", "needs steps and batch size"}};
    input_.allocations = {{"chinchilla-3", 1e21, 1e9, 1e21 / 6e9, 1e21 / 6e9 / 1e9, 2.5, ""}};
    input_.flags = compute_overfit_flags(data_, {});
    input_.budgets = {1e21};
    input_.command_line = "scalefit grid.csv";
    input_.bootstrap = 10;
  }
  void TearDown() override { fs::remove_all(dir_); }
  static double loss(double n, double d) { return ss::laws::testing::kEpoch2024(n, d); }
  fs::path dir_;
  FitData data_;
  ReportInput input_;
};

TEST_F(ReportWriterTest, WritesEveryFileWithTheContractedShape) {
  const fs::path out = dir_ / "r";
  write_report_dir(dir_ / "r/", input_);  // trailing slash: same directory
  const auto j = nlohmann::json::parse(slurp(out / "fits.json"));
  const auto& f = j.at("fits").at("chinchilla-3");
  EXPECT_DOUBLE_EQ(f.at("A").get<double>(), 482.0);
  EXPECT_DOUBLE_EQ(f.at("ci").at("alpha")[1].get<double>(), 0.373);
  EXPECT_EQ(f.at("n_points").get<int>(), 9);
  EXPECT_DOUBLE_EQ(f.at("allocations")[0].at("tokens_per_param").get<double>(), 1e21 / 6e9 / 1e9);
  EXPECT_EQ(j.at("skipped").at("kaplan-ns").get<std::string>(), "needs steps and batch size");
  const std::string csv = slurp(out / "points.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 10);  // header + 9 points
  // Point 7: N = 1e9, D = 2e9, r = 2e9 / (5e3 * 1e9^0.74) = 2e9 / 2.2854e10 = 0.08751 < 1.
  EXPECT_NE(csv.find("\n7,1000000000,2000000000,1.2e+19,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",csv,0.0875105,1,"), std::string::npos) << csv;
  const std::string md = slurp(out / "report.md");
  EXPECT_NE(md.find("| chinchilla-3 |"), std::string::npos);
  EXPECT_NE(md.find("alpha = 0.348 (0.317 – 0.373)"), std::string::npos) << md;
  EXPECT_NE(md.find("not fitted: **kaplan-ns**"), std::string::npos);
  EXPECT_NE(md.find("![](loss_vs_n.svg)"), std::string::npos);
  EXPECT_NE(md.find("![](overfit_map.svg)"), std::string::npos);
  EXPECT_NE(md.find("`loss_curves.svg` not drawn"), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "loss_vs_n.svg"));
  EXPECT_FALSE(fs::exists(out / "loss_curves.svg"));
}

TEST_F(ReportWriterTest, ReplacesAnEarlierReportAndLeavesNoSibling) {
  const fs::path out = dir_ / "r";
  write_report_dir(out, input_);
  std::ofstream(out / "fits.json") << "stale";  // an earlier report's file, rewritten
  write_report_dir(out, input_);
  EXPECT_NE(slurp(out / "fits.json"), "stale");
  EXPECT_EQ(slurp(out / ".scalefit-report").rfind("scalefit report\n", 0), 0u);
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename(), "r") << "leftover " << e.path();
}

TEST_F(ReportWriterTest, RefusesADirectoryWithFilesItDidNotWrite) {
  const fs::path out = dir_ / "r";
  fs::create_directories(out);
  std::ofstream(out / "notes.txt") << "mine";
  EXPECT_THROW(write_report_dir(out, input_), InputError);
  EXPECT_EQ(slurp(out / "notes.txt"), "mine");
  // An earlier report to which the user added a file is refused too.
  fs::remove(out / "notes.txt");
  write_report_dir(out, input_);
  std::ofstream(out / "notes.txt") << "mine";
  EXPECT_THROW(write_report_dir(out, input_), InputError);
  EXPECT_EQ(slurp(out / "notes.txt"), "mine");
  EXPECT_TRUE(fs::exists(out / "fits.json"));
}

TEST_F(ReportWriterTest, FailureLeavesNothing) {
  std::ofstream(dir_ / "file") << "x";
  EXPECT_ANY_THROW(write_report_dir(dir_ / "file" / "r", input_));  // parent is a file
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename(), "file") << "leftover " << e.path();
}

}  // namespace
}  // namespace ss::analysis
