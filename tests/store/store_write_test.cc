// The Store's write paths on a real file: idempotent registration, leases (claim order,
// renewal, expiry), outcomes and retries, (run, step) idempotence of metrics, checkpoints,
// fits, events and the status summary.
#include <gtest/gtest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "store/sqlite_check.h"
#include "store/store.h"
#include "tests/support/store_rows.h"
#include "tests/support/temp_dir.h"

namespace ss::store {
namespace {

using ss::testing::TempDir;

// tests/support/store_rows.h's plan with the exact counts of its shape (4 heads), a seed per
// point and the given planned FLOPs (the claim order).
RunPlan make_point(std::int64_t sweep_id, int index, double flops) {
  RunPlan p = ss::testing::run_plan(sweep_id, index, 98304, 1000000);
  p.n_head = 4;
  p.n_params_embedding = 20480;
  p.n_params_total = 119552;
  p.batch_tokens = 8192;
  p.steps = 123;
  p.seed = index;
  p.flops = flops;
  return p;
}

class StoreWrite : public ::testing::Test {
 protected:
  StoreWrite() : store_(dir_ / "s.db", StoreOptions{.create_if_missing = true}) {
    sweep_ = store_.register_sweep("t", "t.toml", "x = 1", "hash-1");
    points_ = {make_point(sweep_, 0, 1e12), make_point(sweep_, 1, 3e12),
               make_point(sweep_, 2, 2e12)};
    EXPECT_EQ(store_.register_points(points_), 3);
  }
  std::int64_t run_id(const std::string& point) {
    RunFilter filter;
    filter.points = {point};
    return store_.list_runs(filter).at(0).id;
  }
  TempDir dir_;
  Store store_;
  std::int64_t sweep_ = 0;
  std::vector<RunPlan> points_;
};

TEST_F(StoreWrite, RegistrationIsIdempotent) {
  EXPECT_EQ(store_.register_sweep("t", "t.toml", "x = 1", "hash-1"), sweep_);
  EXPECT_NE(store_.register_sweep("u", "u.toml", "x = 2", "hash-2"), sweep_);
  EXPECT_EQ(store_.register_points(points_), 0);
  std::vector<RunPlan> more = points_;
  more.push_back(make_point(sweep_, 3, 5e11));
  EXPECT_EQ(store_.register_points(more), 1);
  EXPECT_EQ(store_.list_runs().size(), 4u);
  EXPECT_EQ(store_.list_sweeps().size(), 2u);
  const auto run = store_.list_runs().at(1);
  EXPECT_EQ(run.plan.point, "point-1");
  EXPECT_EQ(run.plan.n_params_total, 119552);
  EXPECT_EQ(run.status, "pending");
  EXPECT_EQ(run.attempts, 0);
}

TEST_F(StoreWrite, SweepAndPointsRegisterTogetherOrNotAtAll) {
  std::vector<RunPlan> plans = {make_point(0, 0, 1.0), make_point(0, 1, 2.0)};
  plans[0].point = "new-a";
  plans[1].point = "new-b";
  const auto first = store_.register_sweep_and_points("u", "u.toml", "x = 2", "hash-2", plans);
  EXPECT_NE(first.sweep_id, sweep_);
  EXPECT_EQ(first.new_points, 2);
  RunFilter filter;
  filter.sweep_id = first.sweep_id;
  EXPECT_EQ(store_.list_runs(filter).size(), 2u);  // sweep_id 0 in the plans was replaced
  const auto again = store_.register_sweep_and_points("u", "u.toml", "x = 2", "hash-2", plans);
  EXPECT_EQ(again.sweep_id, first.sweep_id);
  EXPECT_EQ(again.new_points, 0);
  // A point the database refuses (a trigger added by the test stands for any failure, e.g. a
  // full disk): the sweep row must not stay behind without its points.
  {
    SQLite::Database raw((dir_ / "s.db").string(), SQLite::OPEN_READWRITE);
    raw.exec(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON runs WHEN NEW.point = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'refused by test'); END");
  }
  std::vector<RunPlan> bad = {make_point(0, 5, 1.0), make_point(0, 6, 1.0)};
  bad[0].point = "fine";
  bad[1].point = "poison";
  const auto sweeps_before = store_.list_sweeps().size();
  const auto runs_before = store_.list_runs().size();
  EXPECT_THROW(store_.register_sweep_and_points("v", "v.toml", "x = 3", "hash-3", bad), StoreError);
  EXPECT_EQ(store_.list_sweeps().size(), sweeps_before);
  EXPECT_EQ(store_.list_runs().size(), runs_before);
}

// A file with the same points as a registered sweep (another comment, another max_attempts)
// continues that sweep and writes nothing; one new point makes it a sweep of its own.
TEST_F(StoreWrite, TheSamePointsUnderAnotherFileContinueTheirSweep) {
  const auto sweeps = store_.list_sweeps().size();
  const auto same = store_.register_sweep_and_points("t", "t.toml", "# edited\nx = 1",
                                                     "hash-edited", points_);
  EXPECT_TRUE(same.earlier_sweep);
  EXPECT_EQ(same.sweep_id, sweep_);
  EXPECT_EQ(same.new_points, 0);
  EXPECT_EQ(store_.list_sweeps().size(), sweeps);
  std::vector<RunPlan> more = points_;
  more.push_back(make_point(0, 3, 5e11));
  const auto grown = store_.register_sweep_and_points("t", "t.toml", "x = 3", "hash-grown", more);
  EXPECT_FALSE(grown.earlier_sweep);
  EXPECT_NE(grown.sweep_id, sweep_);
  EXPECT_EQ(grown.new_points, 1);
  EXPECT_EQ(store_.list_sweeps().size(), sweeps + 1);
}

TEST_F(StoreWrite, ClaimTakesLargestFlopsFirstAndCountsAttempts) {
  const auto first = store_.claim_point("job-a", 60, {}, 1000);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->plan.point, "point-1");  // 3e12
  EXPECT_EQ(first->status, "running");
  EXPECT_EQ(first->attempts, 1);
  EXPECT_EQ(first->lease_owner, "job-a");
  EXPECT_DOUBLE_EQ(*first->lease_expires, 1060);
  EXPECT_DOUBLE_EQ(*first->started, 1000);
  EXPECT_EQ(store_.claim_point("job-a", 60, {}, 1001)->plan.point, "point-2");
  EXPECT_EQ(store_.claim_point("job-a", 60, {}, 1002)->plan.point, "point-0");
  EXPECT_FALSE(store_.claim_point("job-a", 60, {}, 1003));
}

TEST_F(StoreWrite, ClaimHonoursPointAndSweepFilters) {
  RunFilter only;
  only.points = {"point-0"};
  EXPECT_EQ(store_.claim_point("a", 60, only, 1000)->plan.point, "point-0");
  EXPECT_FALSE(store_.claim_point("a", 60, only, 1000));
  RunFilter other_sweep;
  other_sweep.sweep_id = sweep_ + 100;
  EXPECT_FALSE(store_.claim_point("a", 60, other_sweep, 1000));
}

TEST_F(StoreWrite, ExpiredLeaseReturnsThePointToPending) {
  const auto claimed = store_.claim_point("job-a", 60, {}, 1000);
  ASSERT_TRUE(claimed);
  EXPECT_EQ(store_.expire_leases(1059), 0);  // not yet expired
  EXPECT_EQ(store_.find_run(claimed->id)->status, "running");
  EXPECT_EQ(store_.expire_leases(1061), 1);
  const auto run = store_.find_run(claimed->id);
  EXPECT_EQ(run->status, "pending");
  EXPECT_FALSE(run->lease_owner);
  // The next claim picks it again (largest flops) and counts a second attempt.
  const auto again = store_.claim_point("job-b", 60, {}, 1100);
  EXPECT_EQ(again->id, claimed->id);
  EXPECT_EQ(again->attempts, 2);
  EXPECT_EQ(again->lease_owner, "job-b");
}

TEST_F(StoreWrite, ClaimTakesOverAnExpiredRunningRowDirectly) {
  RunFilter only;
  only.points = {"point-0"};
  const auto a = store_.claim_point("job-a", 10, only, 1000);
  EXPECT_FALSE(store_.claim_point("job-b", 10, only, 1005));  // lease still valid
  const auto b = store_.claim_point("job-b", 10, only, 1011);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, a->id);
  EXPECT_EQ(b->attempts, 2);
  // job-a lost the lease: it cannot renew or release it.
  EXPECT_FALSE(store_.renew_lease(a->id, "job-a", 10, 1012));
  EXPECT_FALSE(store_.release_point(a->id, "job-a"));
  EXPECT_TRUE(store_.renew_lease(a->id, "job-b", 100, 1012));
  EXPECT_DOUBLE_EQ(*store_.find_run(a->id)->lease_expires, 1112);
  EXPECT_TRUE(store_.release_point(a->id, "job-b"));
  EXPECT_EQ(store_.find_run(a->id)->status, "pending");
}

TEST_F(StoreWrite, FailedRunsAreRetriedUpToMaxAttempts) {
  RunFilter only;
  only.points = {"point-2"};
  const RetryPolicy policy{.max_attempts = 2};
  const auto id = store_.claim_point("a", 60, only, 1000)->id;
  const auto first = store_.mark_failed(id, "bad token 300 in shard", false, policy, 1001);
  EXPECT_EQ(first.status, "pending");
  EXPECT_FALSE(first.retry_after);  // deterministic: retried at once
  EXPECT_EQ(store_.find_run(id)->error, "bad token 300 in shard");
  EXPECT_EQ(store_.find_run(id)->error_transient, false);
  ASSERT_TRUE(store_.claim_point("a", 60, only, 1001));
  EXPECT_EQ(store_.mark_failed(id, "bad token 300 again", false, policy, 1003).status, "failed");
  const auto run = store_.find_run(id);
  EXPECT_EQ(run->status, "failed");
  EXPECT_EQ(run->attempts, 2);
  EXPECT_EQ(run->transient_failures, 0);
  EXPECT_DOUBLE_EQ(*run->finished, 1003);
  EXPECT_FALSE(store_.claim_point("a", 60, only, 1004));
}

TEST_F(StoreWrite, BackoffDoublesPerTransientFailureUpToItsCap) {
  const RetryPolicy policy{.backoff_seconds = 30, .backoff_max_seconds = 600};
  const std::vector<double> expected = {30, 60, 120, 240, 480, 600, 600};
  for (std::size_t n = 1; n <= expected.size(); ++n)
    EXPECT_DOUBLE_EQ(backoff_delay(policy, static_cast<std::int64_t>(n)), expected[n - 1]) << n;
  EXPECT_DOUBLE_EQ(backoff_delay(policy, 1000000), 600);  // no overflow
}

// A transient failure uses no try: the run waits its backoff (claims before retry_after skip
// it, `train`'s ignore_backoff does not), the wait doubles, a deterministic failure in between
// counts only the deterministic tries, and the max_transient_failures-th transient failure
// ends the run as failed; `retry` clears the whole retry state.
TEST_F(StoreWrite, TransientFailuresBackOffWithoutUsingTries) {
  RunFilter only;
  only.points = {"point-2"};
  const RetryPolicy policy{.max_attempts = 1, .max_transient_failures = 3,
                           .backoff_seconds = 10, .backoff_max_seconds = 15};
  const auto id = store_.claim_point("a", 60, only, 1000)->id;
  const auto first = store_.mark_failed(id, "No space left on device", true, policy, 1001);
  EXPECT_EQ(first.status, "pending");  // max_attempts = 1, yet not failed
  EXPECT_EQ(first.transient_failures, 1);
  ASSERT_TRUE(first.retry_after);
  EXPECT_DOUBLE_EQ(*first.retry_after, 1011);
  auto run = store_.find_run(id);
  EXPECT_EQ(run->retry_after, 1011);
  EXPECT_EQ(run->error_transient, true);
  EXPECT_FALSE(run->finished);
  EXPECT_FALSE(store_.claim_point("a", 60, only, 1010.5));  // still backing off
  RunFilter now_please = only;
  now_please.ignore_backoff = true;
  ASSERT_TRUE(store_.claim_point("train", 60, now_please, 1005));  // `train POINT`
  EXPECT_EQ(store_.find_run(id)->retry_after, std::nullopt);         // cleared by the claim
  const auto second = store_.mark_failed(id, "Input/output error", true, policy, 1006);
  EXPECT_EQ(second.status, "pending");
  EXPECT_DOUBLE_EQ(*second.retry_after, 1006 + 15);  // 20, capped at 15
  ASSERT_TRUE(store_.claim_point("a", 60, only, 1021));
  EXPECT_EQ(store_.find_run(id)->attempts, 3);
  const auto third = store_.mark_failed(id, "std::bad_alloc", true, policy, 1022);
  EXPECT_EQ(third.status, "failed");  // the 3rd transient failure of 3
  EXPECT_FALSE(third.retry_after);
  run = store_.find_run(id);
  EXPECT_EQ(run->transient_failures, 3);
  EXPECT_EQ(run->retry_after, std::nullopt);
  EXPECT_DOUBLE_EQ(*run->finished, 1022);

  const std::vector<std::string> failed = {"failed"};
  ASSERT_EQ(store_.reset_runs(failed, {}).size(), 1u);
  run = store_.find_run(id);
  EXPECT_EQ(run->status, "pending");
  EXPECT_EQ(run->attempts, 0);
  EXPECT_EQ(run->transient_failures, 0);
  EXPECT_EQ(run->error_transient, std::nullopt);
  EXPECT_EQ(run->retry_after, std::nullopt);

  // After transient failures, deterministic tries are attempts - transient_failures.
  ASSERT_TRUE(store_.claim_point("a", 60, only, 2000));
  EXPECT_EQ(store_.mark_failed(id, "No space left on device", true, policy, 2001).status,
            "pending");
  ASSERT_TRUE(store_.claim_point("a", 60, only, 2100));
  EXPECT_EQ(store_.mark_failed(id, "bad data", false, policy, 2101).status, "failed");
  EXPECT_EQ(store_.find_run(id)->attempts, 2);
}

TEST_F(StoreWrite, DoneClearsTheRetryState) {
  RunFilter only;
  only.points = {"point-1"};
  const RetryPolicy policy{.backoff_seconds = 5};
  const auto id = store_.claim_point("a", 60, only, 1000)->id;
  store_.mark_failed(id, "No space left on device", true, policy, 1001);
  ASSERT_TRUE(store_.claim_point("a", 60, only, 1006));
  RunOutcome outcome;
  outcome.step = 123;
  store_.mark_done(id, outcome, 1010);
  const auto run = store_.find_run(id);
  EXPECT_EQ(run->status, "done");
  EXPECT_EQ(run->error, std::nullopt);
  EXPECT_EQ(run->error_transient, std::nullopt);
  EXPECT_EQ(run->retry_after, std::nullopt);
  EXPECT_EQ(run->transient_failures, 1);  // history: it did fail once
}

TEST_F(StoreWrite, DoneAndDivergedRecordTheirFields) {
  const auto a = store_.claim_point("a", 60, {}, 1000)->id;
  const auto b = store_.claim_point("a", 60, {}, 1000)->id;
  store_.update_progress(a, 50, 409600, 12.5);
  EXPECT_EQ(store_.find_run(a)->tokens_seen, 409600);
  RunOutcome outcome;
  outcome.step = 123;
  outcome.tokens_seen = 1007616;
  outcome.final_train_loss = 2.5;
  outcome.final_val_loss = 2.6;
  outcome.best_train_loss = 2.4;
  outcome.best_val_loss = 2.55;
  outcome.wall_seconds = 30;
  store_.mark_done(a, outcome, 1030);
  const auto done = store_.find_run(a);
  EXPECT_EQ(done->status, "done");
  EXPECT_EQ(done->step, 123);
  EXPECT_DOUBLE_EQ(*done->best_val_loss, 2.55);
  EXPECT_FALSE(done->lease_owner);
  store_.mark_diverged(b, 17, 1031);
  EXPECT_EQ(store_.find_run(b)->status, "diverged");
  EXPECT_EQ(store_.find_run(b)->diverged_step, 17);

  const StatusSummary summary = store_.status_summary();
  EXPECT_EQ(summary.runs_total, 3);
  EXPECT_EQ(summary.runs_by_status.at("done"), 1);
  EXPECT_EQ(summary.runs_by_status.at("diverged"), 1);
  EXPECT_EQ(summary.runs_by_status.at("pending"), 1);
  EXPECT_EQ(summary.runs_by_status.at("running"), 0);
  EXPECT_EQ(summary.tokens_target, 3000000);
  EXPECT_EQ(summary.tokens_seen, 1007616);
  EXPECT_DOUBLE_EQ(*summary.best_val_loss, 2.55);
  EXPECT_EQ(summary.best_val_run, a);
  RunFilter done_only;
  done_only.status = "done";
  EXPECT_EQ(store_.list_runs(done_only).size(), 1u);
}

TEST_F(StoreWrite, MetricsAreIdempotentOnRunAndStep) {
  const auto run = run_id("point-0");
  std::vector<MetricRow> rows;
  for (int step = 10; step >= 1; --step)
    rows.push_back(ss::testing::metric_row(
        run, step, step * 8192, step * 1e9, 5.0 - 0.1 * step,
        step % 5 == 0 ? std::optional(5.1 - 0.1 * step) : std::nullopt));
  store_.insert_metrics(rows);
  // A resumed run redoes steps 6..10: same keys, one value changed by the redo.
  std::vector<MetricRow> redo(rows.begin(), rows.begin() + 5);
  redo[0].train_loss = 3.9;  // step 10
  store_.insert_metrics(redo);
  const auto got = store_.run_metrics(run);
  ASSERT_EQ(got.size(), 10u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].step, static_cast<int>(i) + 1);
  EXPECT_DOUBLE_EQ(*got[9].train_loss, 3.9);
  EXPECT_DOUBLE_EQ(*got[4].val_loss, 4.6);
  EXPECT_FALSE(got[3].val_loss);
  SQLite::Database raw((dir_ / "s.db").string());
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM metrics").getInt(), 10);
}

TEST_F(StoreWrite, CheckpointsNewestFirstAndDeletable) {
  const auto run = run_id("point-1");
  for (int step : {100, 300, 200}) {
    store_.record_checkpoint(
        {run, step, "ckpt/" + std::to_string(step) + ".bin", 4096, std::string(64, 'a'), 0});
  }
  auto all = store_.latest_checkpoints(run);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].step, 300);
  EXPECT_EQ(all[2].step, 100);
  EXPECT_EQ(store_.latest_checkpoints(run, 1).at(0).path, "ckpt/300.bin");
  store_.delete_checkpoint(run, 300);
  EXPECT_EQ(store_.latest_checkpoints(run, 1).at(0).step, 200);
}

TEST_F(StoreWrite, FitsEventsAndRunFlags) {
  FitRecord fit;
  fit.law = "chinchilla3";
  fit.source = "s.db";
  fit.params = R"({"E":1.69})";
  fit.ci = R"({"E":[1.6,1.8]})";
  fit.n_points = 12;
  fit.residual = 0.01;
  const auto id = store_.write_fit(fit);
  ASSERT_EQ(store_.list_fits().size(), 1u);
  EXPECT_EQ(store_.list_fits()[0].id, id);
  EXPECT_EQ(store_.list_fits()[0].params, R"({"E":1.69})");
  store_.add_event(0, "start", "hello", 5.0);
  EXPECT_EQ(store_.list_events().at(0).kind, "start");
  const auto run = run_id("point-0");
  RunFlagsRecord flag{run, 2.0, false, std::nullopt, 40, true, 0};
  store_.write_run_flags(std::span(&flag, 1));
  flag.kaplan_ratio = 0.5;
  flag.kaplan_flag = true;
  store_.write_run_flags(std::span(&flag, 1));  // replaces
  const auto flags = store_.list_run_flags();
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_TRUE(flags[0].kaplan_flag);
  EXPECT_EQ(flags[0].val_turn_step, 40);
  EXPECT_FALSE(flags[0].val_train_gap);
}

TEST_F(StoreWrite, AFailedWriteLeavesNothingHalfWritten) {
  // The second row refers to a run that does not exist (foreign key): the whole batch rolls back.
  std::vector<MetricRow> rows(2);
  rows[0].run = run_id("point-0");
  rows[0].step = 1;
  rows[1].run = 999999;
  rows[1].step = 1;
  try {
    store_.insert_metrics(rows);
    ADD_FAILURE() << "a row of a missing run was accepted";
  } catch (const StoreError& e) {
    // The check wrapper names the failing call's source file and line.
    EXPECT_NE(std::string(e.what()).find("store_write.cc:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("FOREIGN KEY"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(store_.run_metrics(rows[0].run).empty());
}

}  // namespace
}  // namespace ss::store
