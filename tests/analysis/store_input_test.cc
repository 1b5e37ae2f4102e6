// Reading a store built here through the store API: N/D/C/loss conventions (val loss, else
// train; tokens_seen, else target tokens; flops scaled to D), --where and --min-tokens
// selection, curves from metrics, and the bad-input messages.
#include "analysis/store_input.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "ss/error.h"
#include "store/store.h"
#include "tests/support/store_rows.h"

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

class StoreInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (std::string("scalefit_store_input_") + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "s.db";
    store::StoreOptions options;
    options.create_if_missing = true;
    store::Store db(path_, options);
    const auto sweep = db.register_sweep("t", "t.toml", "#", "h");
    std::vector<store::RunPlan> plans;
    for (int i = 0; i < 3; ++i) {
      store::RunPlan p = ss::testing::run_plan(sweep, i, 1e6 * (i + 1), 1e8);
      p.batch_tokens = 1000000;
      p.steps = 100;
      plans.push_back(p);
    }
    db.register_points(plans);
    // Run of point 0: val and train loss, 5e7 of the 1e8 tokens seen.
    // Run of point 1: train loss only. Point 2 stays pending.
    for (int k = 0; k < 2; ++k) {
      store::RunFilter filter;
      filter.points = {"point-" + std::to_string(k)};
      auto claimed = db.claim_point("t", 60, filter);
      ASSERT_TRUE(claimed.has_value());
      store::RunOutcome out;
      out.step = 50;
      out.tokens_seen = k == 0 ? 50000000 : 100000000;
      out.final_train_loss = 3.0 - k;
      if (k == 0) out.final_val_loss = 3.1;
      std::vector<store::MetricRow> rows;
      for (int s = 0; s < 2; ++s)
        rows.push_back(ss::testing::metric_row(claimed->id, 10 * (s + 1), 1000000 * (s + 1),
                                               6e12 * (s + 1), 4.0 - s));
      db.insert_metrics(rows);
      db.mark_done(claimed->id, out);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_, path_;
};

TEST_F(StoreInputTest, ConventionsForNDCAndLoss) {
  const FitData data = read_store_points(path_, {});
  ASSERT_EQ(data.points.size(), 2u);
  EXPECT_TRUE(data.from_store);
  const FitPoint& a = data.points[0];
  EXPECT_DOUBLE_EQ(a.n, 1e6);
  EXPECT_DOUBLE_EQ(a.d, 5e7);                  // tokens_seen, not the target 1e8
  EXPECT_DOUBLE_EQ(a.c, 6.0 * 1e6 * 1e8 / 2);  // planned flops scaled to the tokens seen
  EXPECT_DOUBLE_EQ(a.loss, 3.1);
  EXPECT_EQ(a.loss_kind, "val");
  EXPECT_DOUBLE_EQ(*a.batch_tokens, 1e6);
  const FitPoint& b = data.points[1];
  EXPECT_DOUBLE_EQ(b.loss, 2.0);
  EXPECT_EQ(b.loss_kind, "train");
  ASSERT_EQ(data.curves.size(), 2u);
  EXPECT_EQ(data.curves[0].steps.size(), 2u);
  EXPECT_DOUBLE_EQ(*data.curves[0].steps[1].train_loss, 3.0);
}

TEST_F(StoreInputTest, WhereAndMinTokensSelect) {
  EXPECT_EQ(read_store_points(path_, {.status = "done", .min_tokens = 6e7}).points.size(), 1u);
  // status=all includes the pending run, but it has no loss: left out with a note.
  const FitData all = read_store_points(path_, {.status = "all", .min_tokens = 0});
  EXPECT_EQ(all.points.size(), 2u);
  ASSERT_FALSE(all.notes.empty());
  EXPECT_NE(all.notes[0].find("no final loss"), std::string::npos);
  EXPECT_THROW(read_store_points(path_, {.status = "failed", .min_tokens = 0}), InputError);
  EXPECT_THROW(read_store_points(path_, {.status = "done", .min_tokens = 1e9}), InputError);
}

TEST(ParseWhere, AcceptsStatusValuesOnly) {
  EXPECT_EQ(parse_where("status=all").status, "all");
  EXPECT_EQ(parse_where("status=diverged").status, "diverged");
  EXPECT_THROW(parse_where("status=finished"), InputError);
  EXPECT_THROW(parse_where("n_layer=2"), InputError);
  EXPECT_THROW(parse_where("done"), InputError);
}

}  // namespace
}  // namespace ss::analysis
