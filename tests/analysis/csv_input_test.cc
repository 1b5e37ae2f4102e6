// CSV reading: quoted headers with spaces, derived D/C, and every bad-input path (one
// ss::InputError line naming file:line). Real files in a temp dir.
#include "analysis/csv_input.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "analysis/fit_data.h"
#include "ss/error.h"

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

class CsvInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("scalefit_csv_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  fs::path dir_;
};

TEST(ColumnSpec, ParsesQuotedAndUnquotedHeaders) {
  const auto c = parse_column_spec("N=\"Model Size\",C=Training FLOP,loss=loss");
  EXPECT_EQ(c.at("N"), "Model Size");
  EXPECT_EQ(c.at("C"), "Training FLOP");
  EXPECT_EQ(c.at("loss"), "loss");
  EXPECT_FALSE(c.contains("D"));
  // A quoted header may hold a comma.
  EXPECT_EQ(parse_column_spec("N=\"a,b\",D=d,loss=l").at("N"), "a,b");
}

TEST(ColumnSpec, RejectsBadSpecs) {
  EXPECT_THROW(parse_column_spec("N=n,loss=l"), InputError);          // neither D nor C
  EXPECT_THROW(parse_column_spec("N=n,D=d"), InputError);             // no loss
  EXPECT_THROW(parse_column_spec("N=n,D=d,loss=l,X=x"), InputError);  // unknown role
  EXPECT_THROW(parse_column_spec("N=n,N=m,D=d,loss=l"), InputError);  // repeated role
  EXPECT_THROW(parse_column_spec("N,D=d,loss=l"), InputError);        // no '='
}

TEST(CsvRecords, HandlesQuotesDoubledQuotesAndCrlf) {
  const auto r = parse_csv_records("a,\"b c\",\"x \"\"y\"\", z\"\r\n1,2,3\r\n\n4,,6", "t.csv");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0][1], "b c");
  EXPECT_EQ(r[0][2], "x \"y\", z");
  EXPECT_EQ(r[1][2], "3");
  EXPECT_EQ(r[2][1], "");
  EXPECT_THROW(parse_csv_records("a,\"b\n1,2", "t.csv"), InputError);
}

TEST_F(CsvInputTest, DerivesDFromCAndCFromD) {
  const auto p =
      write("a.csv", "\"Model Size\",\"Training FLOP\",loss\n1e8,6e18,3.0\n2e8,2.4e19,2.5\n");
  const auto data = read_csv_points(p, parse_column_spec("N=Model Size,C=Training FLOP,loss=loss"));
  ASSERT_EQ(data.points.size(), 2u);
  EXPECT_DOUBLE_EQ(data.points[0].d, 6e18 / (6 * 1e8));  // 1e10 tokens
  EXPECT_DOUBLE_EQ(data.points[1].d, 2.4e19 / (6 * 2e8));
  EXPECT_DOUBLE_EQ(data.points[1].loss, 2.5);
  const auto q = write("b.csv", "n,d,l\n1e8,1e10,3\n");
  const auto data2 = read_csv_points(q, parse_column_spec("N=n,D=d,loss=l"));
  EXPECT_DOUBLE_EQ(data2.points[0].c, 6e18);
}

TEST_F(CsvInputTest, ReadsTheChinchillaFile) {
  const fs::path file = CHINCHILLA_CSV;
  ASSERT_TRUE(fs::exists(file)) << "no " << file << " (configure with -DSS_CHINCHILLA_CSV=PATH)";
  auto data = read_csv_points(file, parse_column_spec("N=Model Size,C=Training FLOP,loss=loss"));
  EXPECT_EQ(data.points.size(), 245u);
  drop_highest_loss(data, 5);
  EXPECT_EQ(data.points.size(), 240u);
  for (const auto& p : data.points) EXPECT_LT(p.loss, 5.0);
}

// Each bad input: InputError whose single line names the file and line.
void expect_input_error(const fs::path& p, const std::string& spec, const std::string& needle) {
  try {
    read_csv_points(p, parse_column_spec(spec));
    FAIL() << "no error for " << p;
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(needle), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST_F(CsvInputTest, BadInputsNameFileAndLine) {
  expect_input_error(write("m.csv", "n,l\n1,2\n"), "N=n,D=d,loss=l", "m.csv:1: column \"d\"");
  expect_input_error(write("z.csv", "n,d,l\n1e8,1e9,3\n0,1e9,3\n"), "N=n,D=d,loss=l",
                     "z.csv:3: column \"n\" (N) is 0");
  expect_input_error(write("neg.csv", "n,d,l\n1e8,-1e9,3\n"), "N=n,D=d,loss=l", "neg.csv:2:");
  expect_input_error(write("zl.csv", "n,d,l\n1e8,1e9,0\n"), "N=n,D=d,loss=l", "zl.csv:2:");
  expect_input_error(write("nan.csv", "n,d,l\n1e8,1e9,abc\n"), "N=n,D=d,loss=l",
                     "not a finite number");
  expect_input_error(write("short.csv", "n,d,l\n1e8,1e9\n"), "N=n,D=d,loss=l", "short.csv:2:");
  expect_input_error(write("empty.csv", ""), "N=n,D=d,loss=l", "empty");
  expect_input_error(write("head.csv", "n,d,l\n"), "N=n,D=d,loss=l", "no data rows");
  expect_input_error(write("bin.csv", std::string("SQ\0\x01\x02", 5)), "N=n,D=d,loss=l",
                     "neither a CSV");
  expect_input_error(dir_ / "missing.csv", "N=n,D=d,loss=l", "cannot be read");
}

TEST_F(CsvInputTest, DropHighestRejectsTooMany) {
  const auto p = write("a.csv", "n,d,l\n1e8,1e9,3\n2e8,1e9,2\n");
  auto data = read_csv_points(p, parse_column_spec("N=n,D=d,loss=l"));
  EXPECT_THROW(drop_highest_loss(data, 2), InputError);
  EXPECT_THROW(drop_highest_loss(data, -1), InputError);
  drop_highest_loss(data, 1);
  ASSERT_EQ(data.points.size(), 1u);
  EXPECT_DOUBLE_EQ(data.points[0].loss, 2);
}

}  // namespace
}  // namespace ss::analysis
