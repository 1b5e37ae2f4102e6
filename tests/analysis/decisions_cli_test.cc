// scalefit's decision commands end to end, on the real binary and real files: --inference-tokens
// (rows checked against the fitted law in fits.json: on the iso-loss curve, at the optimum's
// condition, T = 0 equal to the compute-optimal allocation) and each bad input (exit 2, one
// stderr line, no report directory).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

const fs::path kChinchillaCsv = CHINCHILLA_CSV;
const std::string kColumns = " --columns 'N=\"Model Size\",C=\"Training FLOP\",loss=loss'";

// A scalefit run: exit status, stdout, stderr.
struct Outcome {
  int rc = -1;
  std::string out, err;
};

class DecisionsCli : public ::testing::Test {
 protected:
  Outcome scalefit(const std::string& args) {
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    Outcome r;
    r.rc = ss::testing::run_command(std::string(SCALEFIT_BIN) + " " + args + " > " +
                                    out.string() + " 2> " + err.string())
               .rc;
    r.out = ss::testing::read_bytes(out);
    r.err = ss::testing::read_bytes(err);
    return r;
  }
  // Exit 2, one stderr line naming `needle`, and no report directory.
  void expect_bad_input(const std::string& args, const std::string& needle) {
    const fs::path out = dir_ / "report";
    const Outcome r = scalefit(args + " -q --bootstrap 0 --out " + out.string());
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
  }
  ss::testing::TempDir dir_;
};

TEST_F(DecisionsCli, InferenceTokensRowsSolveTheFittedLaw) {
  ASSERT_TRUE(fs::exists(kChinchillaCsv)) << kChinchillaCsv;
  const fs::path out = dir_ / "r";
  const Outcome r = scalefit(kChinchillaCsv.string() + kColumns +
                               " --drop-highest 5 --law chinchilla-3 --bootstrap 0 -q"
                               " --budget 1e21,1e23 --inference-tokens 0,1e11,2e12 --out " +
                               out.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_GE(std::count(r.out.begin(), r.out.end(), '\n'), 7) << r.out;  // fit + 6 rows
  const auto fits = nlohmann::json::parse(ss::testing::read_bytes(out / "fits.json"));
  const auto& law = fits.at("fits").at("chinchilla-3");
  const double e = law.at("E"), a = law.at("A"), b = law.at("B");
  const double alpha = law.at("alpha"), beta = law.at("beta");
  auto loss = [&](double n, double d) { return e + a / std::pow(n, alpha) + b / std::pow(d, beta); };
  const auto& rows = fits.at("inference");
  ASSERT_EQ(rows.size(), 6u);
  double previous_n = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const double c = row.at("budget"), t = row.at("inference_tokens");
    EXPECT_EQ(c, i < 3 ? 1e21 : 1e23);
    const double n = row.at("optimal").at("N"), d = row.at("optimal").at("D");
    const double nc = row.at("chinchilla").at("N"), dc = row.at("chinchilla").at("D");
    // The Chinchilla model is the compute-optimal allocation at C; the optimum reaches its loss.
    EXPECT_NEAR(6 * nc * dc / c, 1.0, 1e-9);
    EXPECT_NEAR(loss(nc, dc), row.at("target_loss").get<double>(), 1e-12);
    EXPECT_NEAR(loss(n, d), row.at("target_loss").get<double>(), 1e-9);
    const double lhs = (6 * d + 2 * t) * beta * b * std::pow(d, -beta - 1);
    EXPECT_NEAR(lhs / (6 * alpha * a * std::pow(n, -alpha)), 1.0, 1e-8);
    EXPECT_NEAR(row.at("optimal").at("total_flops").get<double>(), 6 * n * d + 2 * n * t,
                1e-9 * (6 * n * d + 2 * n * t));
    EXPECT_GE(row.at("saving").get<double>(), -1e-12);
    if (t == 0) EXPECT_NEAR(n / nc, 1.0, 1e-9);
    if (t > 0) EXPECT_LT(n, previous_n);  // more inference, smaller model
    previous_n = n;
  }
  const std::string md = ss::testing::read_bytes(out / "report.md");
  EXPECT_NE(md.find("## Inference-aware allocation"), std::string::npos);
}

TEST_F(DecisionsCli, InferenceTokensBadInput) {
  const std::string csv = kChinchillaCsv.string() + kColumns;
  expect_bad_input(csv + " --inference-tokens 2e12", "needs --budget");
  expect_bad_input(csv + " --budget 1e21 --inference-tokens -5", "'-5' is not a token count");
  expect_bad_input(csv + " --budget 1e21 --inference-tokens 1e12,x", "'x' is not a token count");
  expect_bad_input(csv + " --budget 1e21 --inference-tokens nan", "'nan' is not a token count");
  expect_bad_input(csv + " --budget 1e21 --law chinchilla-2 --inference-tokens 1e12",
                   "needs the chinchilla-3 law");
  // chinchilla-3 requested through "all" but not fittable (5 points < its 8).
  const fs::path small = dir_ / "small.csv";
  ss::testing::write_text(small, "N,D,loss\n1e6,1e8,4\n2e6,1e8,3.8\n4e6,2e8,3.5\n8e6,4e8,3.2\n"
                                 "1.6e7,8e8,3.0\n");
  expect_bad_input(small.string() + " --columns N=N,D=D,loss=loss --budget 1e18"
                                    " --inference-tokens 1e12",
                   "chinchilla-3 could not be fitted");
}

}  // namespace
}  // namespace ss::analysis
