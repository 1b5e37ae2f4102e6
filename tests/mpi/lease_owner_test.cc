// Lease owners (runner/lease_owner.h): the owner line round-trips, the "holder is gone" rule
// (requeued Slurm job, dead or reused pid on this host, other hosts left alone) with real
// processes, and reclaim_dead_leases on a real SQLite store.
#include "runner/lease_owner.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "store/store.h"
#include "tests/support/store_rows.h"
#include "tests/support/fake_env.h"
#include "tests/support/temp_dir.h"

namespace ss::runner {
namespace {

using ss::test::env_of;

// A child that sleeps until killed; reaped by kill_child.
pid_t sleeping_child() {
  const pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  return pid;
}
void kill_child(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
}

TEST(LeaseOwner, LineRoundTrips) {
  const LeaseOwner self = this_process_owner("run", env_of({{"SLURM_JOB_ID", "17"},
                                                            {"SLURM_RESTART_COUNT", "1"},
                                                            {"SLURM_STEP_ID", "0"},
                                                            {"SLURMD_NODENAME", "node2"}}));
  EXPECT_EQ(self.pid, getpid());
  EXPECT_GT(self.start_ticks, 0);
  EXPECT_EQ(self.boot.size(), 8u);
  const std::string line = self.to_string();
  EXPECT_NE(line.find("job=17 restart=1 step=0 node=node2"), std::string::npos) << line;
  const auto back = LeaseOwner::parse(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to_string(), line);
  EXPECT_EQ(back->slurm_job, 17);
  EXPECT_EQ(back->node, "node2");
  EXPECT_EQ(describe_owner(line),
            fmt::format("Slurm job 17 step 0 (restart 1) on node2, run pid {} on {}", getpid(),
                        self.host));
  // Outside Slurm: no job fields, the node is the host, restart is not recorded.
  const LeaseOwner plain = this_process_owner("train", env_of({}));
  EXPECT_FALSE(plain.slurm_job);
  EXPECT_FALSE(plain.slurm_restart);
  EXPECT_EQ(plain.node, plain.host);
  // Lines of older builds ("host:pid:ms") or garbage are not owners this code can judge.
  EXPECT_FALSE(LeaseOwner::parse("vm:4242:1764550000000"));
  EXPECT_FALSE(LeaseOwner::parse("run host=vm pid=abc"));
  EXPECT_FALSE(LeaseOwner::parse(""));
  EXPECT_EQ(describe_owner("vm:4242:1"), "vm:4242:1");
}

TEST(LeaseOwner, RequeuedJobTakesBackItsOwnLeases) {
  LeaseOwner holder =
      this_process_owner("run", env_of({{"SLURM_JOB_ID", "17"}, {"SLURM_RESTART_COUNT", "0"}}));
  holder.host = "another-host";  // even from another node: Slurm ended every task first
  const LeaseOwner self =
      this_process_owner("run", env_of({{"SLURM_JOB_ID", "17"}, {"SLURM_RESTART_COUNT", "1"}}));
  const auto why = holder_gone(holder, self);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("requeued"), std::string::npos);
  // Another job, or the same restart on another host: may be alive.
  LeaseOwner other_job = holder;
  other_job.slurm_job = 18;
  EXPECT_FALSE(holder_gone(other_job, self));
  LeaseOwner same_restart = holder;
  same_restart.slurm_restart = 1;
  EXPECT_FALSE(holder_gone(same_restart, self));
}

TEST(LeaseOwner, DeadOrReusedPidOnThisHostIsGone) {
  const LeaseOwner self = this_process_owner("run", env_of({}));
  const pid_t child = sleeping_child();
  ASSERT_GT(child, 0);
  LeaseOwner holder = self;
  holder.pid = child;
  holder.start_ticks = process_start_ticks(child).value_or(-1);
  ASSERT_GT(holder.start_ticks, 0);
  EXPECT_FALSE(holder_gone(holder, self));  // alive
  LeaseOwner reused = holder;
  reused.start_ticks -= 1;  // the pid now belongs to a process that started at another time
  EXPECT_TRUE(holder_gone(reused, self));
  kill(child, SIGKILL);  // a zombie until reaped: already gone
  for (int i = 0; i < 200 && process_start_ticks(child); ++i) usleep(10000);
  EXPECT_TRUE(holder_gone(holder, self));
  kill_child(child);
  const auto why = holder_gone(holder, self);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("is gone"), std::string::npos);
  EXPECT_FALSE(holder_gone(self, self));  // this process itself
  // A dead pid on another host, or from an earlier boot, proves nothing here.
  LeaseOwner elsewhere = holder;
  elsewhere.host = "another-host";
  EXPECT_FALSE(holder_gone(elsewhere, self));
  LeaseOwner earlier_boot = holder;
  earlier_boot.boot = "00000000";
  EXPECT_FALSE(holder_gone(earlier_boot, self));
}

store::RunPlan plan_of(std::int64_t sweep, int index) {
  store::RunPlan p = ss::testing::run_plan(sweep, index);
  p.flops = 1e9 * (index + 1);
  return p;
}

TEST(LeaseOwner, ReclaimDeadLeasesOnARealStore) {
  ss::testing::TempDir dir;
  store::Store db(dir / "s.db", store::StoreOptions{.create_if_missing = true});
  const auto sweep = db.register_sweep("t", "t.toml", "x = 1", "h");
  db.register_points(std::vector<store::RunPlan>{plan_of(sweep, 0), plan_of(sweep, 1)});
  const LeaseOwner self = this_process_owner("run", env_of({}));
  // Point 1 (largest flops, claimed first) by a process that then dies on this host; point 0
  // by a live holder on another host.
  const pid_t child = sleeping_child();
  LeaseOwner dead = self;
  dead.pid = child;
  dead.start_ticks = process_start_ticks(child).value_or(-1);
  LeaseOwner remote = self;
  remote.host = "another-host";
  const auto first = db.claim_point(dead.to_string(), 120);
  const auto second = db.claim_point(remote.to_string(), 120);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->plan.point, "point-1");
  kill_child(child);

  store::RunFilter scope;
  scope.sweep_id = sweep;
  const LeaseSweep result = reclaim_dead_leases(db, self, scope);
  EXPECT_EQ(result.reclaimed, 1);
  ASSERT_EQ(result.live.size(), 1u);
  EXPECT_EQ(result.live[0].run_id, second->id);
  EXPECT_EQ(result.live[0].owner, remote.to_string());
  EXPECT_GT(result.live[0].expires_in, 100);
  EXPECT_NE(describe_live_lease(result.live[0]).find("lease expires in"), std::string::npos);
  EXPECT_EQ(db.find_run(first->id)->status, store::kStatusPending);
  EXPECT_FALSE(db.find_run(first->id)->lease_owner);
  EXPECT_EQ(db.find_run(second->id)->status, store::kStatusRunning);
  int events = 0;
  for (const auto& e : db.list_events()) events += e.kind == "lease_reclaimed";
  EXPECT_EQ(events, 1);
  // The point is claimable again at once.
  const auto again = db.claim_point(self.to_string(), 120);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, first->id);
}

}  // namespace
}  // namespace ss::runner
