// Device binding from launcher environments (fake lookups, so no process state is touched) and
// the stop-signal watcher with real signals sent to this process.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "runner/device_binding.h"
#include "runner/signals.h"
#include "ss/error.h"
#include "tests/support/fake_env.h"

namespace ss::runner {
namespace {

using ss::test::env_of;

TEST(DeviceBinding, LocalRankFromOpenMpiThenSlurmThenHydra) {
  EXPECT_EQ(node_local_rank(env_of({})), std::nullopt);
  EXPECT_EQ(node_local_rank(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "3"}})), 3);
  EXPECT_EQ(node_local_rank(env_of({{"SLURM_LOCALID", "5"}})), 5);
  EXPECT_EQ(node_local_rank(env_of({{"MPI_LOCALRANKID", "1"}})), 1);
  // Open MPI's variable wins when both are set (mpirun inside an allocation).
  EXPECT_EQ(node_local_rank(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "2"}, {"SLURM_LOCALID", "0"}})),
            2);
}

TEST(DeviceBinding, BadLocalRankIsAnInputError) {
  for (const char* bad : {"", "x", "-1", "2a", "1.5"}) {
    EXPECT_THROW(node_local_rank(env_of({{"SLURM_LOCALID", bad}})), InputError) << bad;
  }
  try {
    node_local_rank(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "abc"}}));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("OMPI_COMM_WORLD_LOCAL_RANK='abc'"), std::string::npos);
  }
}

TEST(DeviceBinding, ChooseDevice) {
  EXPECT_TRUE(choose_device(3, 0, 1).cpu());  // no GPU: CPU backend
  EXPECT_EQ(choose_device(3, 4, 1).cuda_device, 3);
  EXPECT_EQ(choose_device(5, 4, 1).cuda_device, 1);  // wraps around
  // 2 ranks per GPU: local ranks 0,1 -> GPU 0; 2,3 -> GPU 1.
  EXPECT_EQ(choose_device(1, 4, 2).cuda_device, 0);
  EXPECT_EQ(choose_device(2, 4, 2).cuda_device, 1);
  EXPECT_EQ(choose_device(std::nullopt, 2, 1).cuda_device, 0);
  EXPECT_THROW(choose_device(0, 1, 0), InputError);
}

TEST(DeviceBinding, CpuThreadsPerRank) {
  // Unbound ranks share the machine: 16 CPUs / 4 ranks; 2 CPUs / 3 ranks -> at least 1.
  EXPECT_EQ(cpu_threads_per_rank(env_of({}), CpuBudget{16, 16, 4}), 4);
  EXPECT_EQ(cpu_threads_per_rank(env_of({}), CpuBudget{2, 2, 3}), 1);
  EXPECT_EQ(cpu_threads_per_rank(env_of({}), CpuBudget{16, 16, 1}), 16);
  // Bound by the launcher to 4 of 16 CPUs: those 4 are this rank's, whatever the rank count.
  EXPECT_EQ(cpu_threads_per_rank(env_of({}), CpuBudget{16, 4, 4}), 4);
  // The launcher's variables no longer decide (srun --mpi=pmix sets neither).
  EXPECT_EQ(cpu_threads_per_rank(env_of({{"OMPI_COMM_WORLD_LOCAL_SIZE", "1"}}),
                                 CpuBudget{2, 2, 3}),
            1);
  // OMP_NUM_THREADS, when set, wins; a bad value is an input error naming it.
  EXPECT_EQ(cpu_threads_per_rank(env_of({{"OMP_NUM_THREADS", "3"}}), CpuBudget{2, 2, 3}), 3);
  EXPECT_EQ(cpu_threads_per_rank(env_of({{"OMP_NUM_THREADS", "2,1"}}), CpuBudget{8, 8, 1}), 2);
  try {
    cpu_threads_per_rank(env_of({{"OMP_NUM_THREADS", "0"}}), CpuBudget{8, 8, 1});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("OMP_NUM_THREADS='0'"), std::string::npos);
  }
}

TEST(DeviceBinding, ProcessCpuBudget) {
  const CpuBudget cpus = process_cpu_budget(3);
  EXPECT_EQ(cpus.online_cpus, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_GE(cpus.affinity_cpus, 1);
  EXPECT_LE(cpus.affinity_cpus, cpus.online_cpus);
  EXPECT_EQ(cpus.ranks_on_node, 3);
}

bool wait_for(const StopSignalWatcher& w) {
  for (int i = 0; i < 200 && !w.stop_requested(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return w.stop_requested();
}

TEST(StopSignalWatcher, Sigusr1AndSigtermAreCaughtNotFatal) {
  {
    StopSignalWatcher w;
    EXPECT_FALSE(w.stop_requested());
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_TRUE(wait_for(w));
    EXPECT_EQ(w.stop_signal(), SIGUSR1);
    ASSERT_EQ(kill(getpid(), SIGTERM), 0);  // a second signal keeps the first
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(w.stop_signal(), SIGUSR1);
  }
  StopSignalWatcher w2;
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  ASSERT_TRUE(wait_for(w2));
  EXPECT_EQ(w2.stop_signal(), SIGTERM);
}

}  // namespace
}  // namespace ss::runner
