#!/usr/bin/python3
"""Slurm tests (CTest label `slurm`): slurm/sweep.sbatch and `scalesweep run` on a real local
Slurm (../shared/slurm-local/start-local-slurm.sh, started by the `slurm.start` fixture with 2
fake nodes). Every test submits real jobs with sbatch, waits for them, and checks the real
SQLite store with the sqlite3 module: statuses, one metric row per step, final losses.

Run one test: slurm_test.py SlurmSweep.test_preemption_requeues_and_resumes
SlurmCli checks `scalesweep slurm` (the script for every option, bad values, --submit).
Environment: SCALESWEEP (the binary), SS_REPO (the repository root).
"""
import json
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

REPO = os.environ.get("SS_REPO", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SCALESWEEP = os.environ.get("SCALESWEEP", os.path.join(REPO, "build", "scalesweep"))
SCALEFIT = os.environ.get("SCALEFIT", os.path.join(REPO, "build", "scalefit"))
# scalesweep whose runs hold at a step until signalled (tests/mpi/hold_sweep_main.cc).
HOLD_SWEEP = os.environ.get("HOLD_SWEEP", os.path.join(REPO, "build", "tests", "mpi", "hold_sweep"))
TEMPLATE = os.path.join(REPO, "slurm", "sweep.sbatch")
SLURM_LOCAL = os.environ.get(
    "SS_SLURM_LOCAL", os.path.join(REPO, "..", "shared", "slurm-local", "start-local-slurm.sh"))

# 4 points (n_layer 1, 2 x d_model 32, 48), checkpoints every 10 steps.
CONFIG = """name = "slurmtest"
[data]
tokenizer = "bytes"
train = "{data}/train.bin"
val = "{data}/val.bin"
[model]
family = "gpt2"
n_layer = [1, 2]
d_model = [32, 48]
d_head = 16
n_ctx = 64
[tokens]
absolute = [{tokens}]
[train]
batch_tokens = 2048
micro_batch = 16
lr = 1e-2
warmup_fraction = 0.05
lr_min_ratio = 0.1
weight_decay = 0.1
grad_clip = 1.0
seeds = [1]
[parallel]
dp = 1
tp = 1
[schedule]
eval_interval = 20
eval_tokens = 4096
checkpoint_interval = 10
keep_checkpoints = 2
max_attempts = 3
"""  # no checkpoint_dir: the checkpoints go beside the store


def run(cmd, timeout=120, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} exited {r.returncode}: {r.stderr.strip()}")
    return r


def job_fields(jid):
    out = run(["scontrol", "show", "job", "-o", str(jid)], check=False).stdout
    return dict(re.findall(r"(\w+)=(\S*)", out))


def wait_for(predicate, timeout, what, step=0.25):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def write_corpus(directory):
    """20 documents of deterministic pseudo-English (an LCG over a word list)."""
    words = ("the of and to in a is that for it as was with be by on not he this are or his "
             "from at which but have an they you were her she there been one all we their "
             "sweep scaling law model token compute budget data loss").split()
    x = 12345
    os.makedirs(directory)
    for doc in range(20):
        out = []
        for _ in range(4000):
            x = (1103515245 * x + 12345) % 2**31
            out.append(words[x % len(words)])
        with open(os.path.join(directory, f"doc{doc:02d}.txt"), "w") as f:
            f.write(" ".join(out) + ".\n")


# The fake nodes share one host name, so Open MPI's shared-memory transport (vader) names its
# segments alike on both "nodes" and crashes (SIGSEGV in mca_btl_vader_poll_handle_frag); on a
# real cluster each node has its own host. Jobs spanning the fake nodes use TCP.
TWO_NODE_ENV = {"OMPI_MCA_btl": "self,tcp"}


class SlurmBase(unittest.TestCase):
    """A temporary directory with a corpus, token shards and helpers; no tests of its own."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ss-slurm-")
        write_corpus(os.path.join(self.dir, "raw"))
        run([SCALESWEEP, "prepare-data", "--input", os.path.join(self.dir, "raw"), "--tokenizer",
             "bytes", "--out", os.path.join(self.dir, "bytes"), "--val-fraction", "0.1"])
        self.env = dict(os.environ, OMP_NUM_THREADS="1", SCALESWEEP=SCALESWEEP,
                        SCALESWEEP_ARGS="--summary-seconds 2")
        self.jobs = []

    def tearDown(self):
        for jid in self.jobs:
            run(["scancel", str(jid)], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- helpers ----------------------------------------------------------------------------
    def config(self, tokens, name="sweep.toml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(CONFIG.format(data=os.path.join(self.dir, "bytes"), tokens=tokens))
        return path

    def sbatch(self, *args, script=TEMPLATE, env=None, chdir=None):
        r = run(["sbatch", "--parsable", "--chdir", chdir or self.dir, "-o",
                 os.path.join(self.dir, "job-%j.out"), *args[:-2], script, *args[-2:]],
                env=env or self.env)
        jid = int(r.stdout.strip().split(";")[0])
        self.jobs.append(jid)
        return jid

    def wait_job(self, jid, timeout=240):
        r = run(["bash", SLURM_LOCAL, "wait", str(jid)], timeout=timeout, check=False)
        return r.returncode

    def log(self, jid):
        with open(os.path.join(self.dir, f"job-{jid}.out")) as f:
            return f.read()

    def db(self, store):
        if not os.path.exists(store):
            raise sqlite3.OperationalError(f"{store}: no such file yet")
        return sqlite3.connect(f"file:{store}?mode=ro", uri=True)

    def checkpoints(self, store):
        """Checkpoint rows so far (0 while the store or its schema does not exist yet)."""
        try:
            return self.db(store).execute("SELECT count(*) FROM checkpoints").fetchone()[0]
        except sqlite3.Error:
            return 0

    def job_processes(self, jid, comms):
        """(pid, environment) of every process of Slurm job `jid` whose command is in `comms`,
        read from /proc (processes that end meanwhile are skipped)."""
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
                with open(f"/proc/{pid}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                continue
            if comm in comms and env.get(b"SLURM_JOB_ID") == str(jid).encode():
                yield int(pid), env

    def assert_all_done_one_row_per_step(self, store):
        con = self.db(store)
        runs = con.execute("SELECT id, status, steps FROM runs").fetchall()
        self.assertEqual(len(runs), 4)
        for run_id, status, steps in runs:
            self.assertEqual(status, "done", f"run {run_id}")
            rows, distinct, lo, hi = con.execute(
                "SELECT count(*), count(DISTINCT step), min(step), max(step) FROM metrics "
                "WHERE run = ?", (run_id,)).fetchone()
            self.assertEqual((rows, distinct), (steps, steps), f"run {run_id}")
            self.assertEqual((lo, hi), (1, steps), f"run {run_id}")
        return con

    def final_losses(self, store):
        con = self.db(store)
        return {p: (t, v) for p, t, v in con.execute(
            "SELECT point, final_train_loss, final_val_loss FROM runs ORDER BY point")}

    def holding_sweep(self, step):
        """A SCALESWEEP for sweep.sbatch whose runs hold after `step` in the job's first start
        (restart 0) until signalled or killed (tests/mpi/hold_sweep_main.cc), so a preemption,
        time limit or node failure always lands mid-run; a requeued start trains through."""
        wrapper = os.path.join(self.dir, "hold.sh")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/bash\nexec {HOLD_SWEEP} --hold-at-step {step} --hold-in-restart 0 "
                    "\"$@\"\n")
        os.chmod(wrapper, 0o755)
        return wrapper

    def wait_holding(self, jid, count, log=None):
        """Waits until `count` runs of job `jid` print that they hold (in `log`, default the
        job's output file)."""
        log = log or os.path.join(self.dir, f"job-{jid}.out")

        def held():
            if not os.path.exists(log):
                return False
            with open(log) as f:
                return f.read().count("holding at step") >= count
        wait_for(held, 600, f"{count} held run(s) in job {jid}")

    def wait_requeued(self, jid, restarts):
        """Waits until the job was requeued `restarts` times. The local Slurm starts it again
        cred_expire + 1 = 21 s later; `scontrol update StartTime=now` sooner fails now and then
        with "Killing non-startable batch job: Job credential revoked"."""
        wait_for(lambda: job_fields(jid).get("Restarts") == str(restarts), 90,
                 f"job {jid} requeued")



class SlurmSweep(SlurmBase):
    """slurm/sweep.sbatch end to end."""

    def test_sbatch_sweep_all_done(self):
        store = os.path.join(self.dir, "results.db")
        jid = self.sbatch("--ntasks-per-node=3", self.config(40960), store)
        self.assertEqual(self.wait_job(jid), 0, self.log(jid))
        self.assert_all_done_one_row_per_step(store)
        self.assertIn("sweep exited 0", self.log(jid))

    def test_two_nodes_ranks_on_both_with_their_gpus(self):
        # A wrapper records where each rank ran and which GPUs it saw, then runs scalesweep.
        wrapper = os.path.join(self.dir, "wrap.sh")
        with open(wrapper, "w") as f:
            f.write("#!/bin/bash\necho \"$SLURMD_NODENAME $SLURM_PROCID $SLURM_LOCALID "
                    f"$CUDA_VISIBLE_DEVICES\" >> {self.dir}/ranks.txt\nexec {SCALESWEEP} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        env = dict(self.env, SCALESWEEP=wrapper, **TWO_NODE_ENV)
        store = os.path.join(self.dir, "results.db")
        jid = self.sbatch("--nodes=2", "--ntasks-per-node=2", "--gpus-per-task=1",
                          self.config(20480), store, env=env)
        self.assertEqual(self.wait_job(jid), 0, self.log(jid))
        self.assert_all_done_one_row_per_step(store)
        with open(os.path.join(self.dir, "ranks.txt")) as f:
            ranks = [line.split() for line in f.read().splitlines()]
        self.assertEqual(len(ranks), 4, ranks)
        self.assertEqual({r[0] for r in ranks}, {"node1", "node2"}, ranks)
        for node in ("node1", "node2"):
            gpus = [r[3] for r in ranks if r[0] == node]
            self.assertEqual(len(gpus), 2, ranks)
            self.assertEqual(len(set(gpus)), 2, f"tasks on {node} share a GPU: {ranks}")

    def test_preemption_requeues_and_resumes(self):
        config = self.config(204800)  # 100 steps per point
        # The uninterrupted reference.
        ref = os.path.join(self.dir, "ref.db")
        jid = self.sbatch("--ntasks-per-node=3", config, ref)
        self.assertEqual(self.wait_job(jid), 0, self.log(jid))
        # The same sweep, preempted once a checkpoint exists. A 600 s lease makes any lease
        # wait visible in the time the second run takes. Submitted from another directory than
        # the store's: the checkpoints go beside the store all the same.
        stores, submit = os.path.join(self.dir, "stores"), os.path.join(self.dir, "submit")
        os.makedirs(stores)
        os.makedirs(submit)
        store = os.path.join(stores, "results.db")
        # Both workers' runs hold after step 25 (checkpoint of step 20 written) until the USR1.
        env = dict(self.env, SCALESWEEP_ARGS="--summary-seconds 2 --lease-seconds 600",
                   SCALESWEEP=self.holding_sweep(25))
        jid = self.sbatch("--ntasks-per-node=3", config, store, env=env, chdir=submit)
        self.wait_holding(jid, 2)
        wait_for(lambda: self.checkpoints(store) >= 2, 60, "the held runs' checkpoints")
        # `scalesweep status` names the Slurm job, step and node holding each running point.
        status = run([SCALESWEEP, "status", store]).stdout
        self.assertRegex(status, rf"lease: Slurm job {jid} step 0 \(restart 0\) on node[12], "
                                 r"run pid \d+ on \S+, expires in \d+s")
        run(["scancel", "-b", "-s", "USR1", str(jid)])
        self.wait_requeued(jid, 1)
        requeued = time.time()
        self.assertEqual(self.wait_job(jid), 0, self.log(jid))
        self.assertLess(time.time() - requeued, 120, "the requeued run waited on a lease")
        log = self.log(jid)
        self.assertIn("sweep exited 3", log)
        self.assertIn("restart 1 on", log)
        self.assertIn("state saved", log)
        con = self.assert_all_done_one_row_per_step(store)
        resumed = con.execute("SELECT count(*) FROM runs WHERE attempts > 1").fetchone()[0]
        self.assertEqual(resumed, 2, "the two held points were interrupted and resumed")
        self.assertEqual(self.final_losses(store), self.final_losses(ref))
        beside = os.path.join(stores, "results-checkpoints", "slurmtest") + os.sep
        paths = [p for (p,) in con.execute("SELECT path FROM checkpoints")]
        self.assertTrue(paths)
        for path in paths:
            self.assertTrue(path.startswith(beside), path)
            self.assertTrue(os.path.exists(path), path)
        self.assertEqual(os.listdir(submit), [])

    def test_time_limit_ends_checkpointed_and_resubmission_finishes(self):
        # The runs hold after step 15 until the time limit's signal, so the sweep cannot end
        # before it on any machine speed.
        config = self.config(204800)
        store = os.path.join(self.dir, "results.db")
        env = dict(self.env, MAX_RESTARTS="0", SCALESWEEP=self.holding_sweep(15))
        # Slurm checks time limits about every 30 s: with -t 1 and a 58 s lead the signal comes
        # 2-32 s after the start, the job is killed at 60 s.
        jid = self.sbatch("--ntasks-per-node=3", "--time=1", "--signal=B:USR1@58", config, store,
                          env=env)
        self.assertEqual(self.wait_job(jid), 3, self.log(jid))
        self.assertIn("USR1 received", self.log(jid))
        con = self.db(store)
        self.assertEqual(con.execute("SELECT count(*) FROM runs WHERE status = 'running'")
                         .fetchone()[0], 0)
        self.assertEqual(con.execute("SELECT count(*) FROM runs WHERE status = 'pending'")
                         .fetchone()[0], 4)  # 2 stopped at step 15, 2 never started
        self.assertEqual(con.execute("SELECT count(*) FROM runs WHERE step > 15")
                         .fetchone()[0], 0)  # none ran past the hold
        jid = self.sbatch("--ntasks-per-node=3", config, store)
        self.assertEqual(self.wait_job(jid), 0, self.log(jid))
        self.assert_all_done_one_row_per_step(store)

    def test_node_failure_requeues_and_resumes_from_checkpoints(self):
        config = self.config(204800)
        store = os.path.join(self.dir, "results.db")
        # The three workers' runs hold after step 25 (checkpoints of step 20 written) until the
        # kill, so node2's ranks always die mid-run.
        jid = self.sbatch("--nodes=2", "--ntasks-per-node=2", config, store,
                          env=dict(self.env, SCALESWEEP=self.holding_sweep(25), **TWO_NODE_ENV))
        self.wait_holding(jid, 3)
        wait_for(lambda: self.checkpoints(store) >= 3, 60, "the held runs' checkpoints")
        # SIGKILL every scalesweep process of this job on node2, as a node failure would.
        killed = []
        for pid, env in self.job_processes(jid, ("scalesweep", "hold_sweep")):
            if env.get(b"SLURMD_NODENAME") == b"node2":
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        self.assertEqual(len(killed), 2, "the job's two ranks on node2")
        self.wait_requeued(jid, 1)
        requeued = time.time()
        self.assertEqual(self.wait_job(jid), 0, self.log(jid))
        self.assertLess(time.time() - requeued, 120, "the requeued run waited on a lease")
        con = self.assert_all_done_one_row_per_step(store)
        events = [t for (t,) in con.execute(
            "SELECT text FROM events WHERE kind = 'lease_reclaimed'")]
        resumed = con.execute(
            "SELECT count(*) FROM runs WHERE attempts > 1").fetchone()[0]
        self.assertGreater(resumed, 0)
        # The points the dead ranks held were taken back at once (same job, next restart).
        self.assertGreater(len(events), 0, "no lease taken back from the killed run")
        for text in events:
            self.assertIn("requeued", text)

    def test_hang_requeues_and_resumes(self):
        """A worker that stops answering (SIGSTOP) under --hang-seconds 3: rank 0 releases its
        point and ends the step with MPI_Abort(4), which srun returns as 4; sweep.sbatch
        requeues on 4 (it used to requeue only on 3 and a dead step) and the requeued job
        finishes every point with one metric row per step."""
        config = self.config(204800)
        store = os.path.join(self.dir, "results.db")
        env = dict(self.env, SCALESWEEP_ARGS="--summary-seconds 2 --hang-seconds 3",
                   SCALESWEEP=self.holding_sweep(25))
        jid = self.sbatch("--ntasks-per-node=3", config, store, env=env)
        self.wait_holding(jid, 2)
        wait_for(lambda: self.checkpoints(store) >= 2, 60, "the held runs' checkpoints")
        stopped = []
        for pid, penv in self.job_processes(jid, ("hold_sweep",)):
            if penv.get(b"SLURM_PROCID") == b"2":
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        self.assertEqual(len(stopped), 1, "the job's worker rank 2")
        try:
            self.wait_requeued(jid, 1)
        finally:
            for pid in stopped:  # srun -K1 kills it; a leftover must not stay stopped
                try:
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self.assertEqual(self.wait_job(jid), 0, self.log(jid))
        log = self.log(jid)
        self.assertIn("sweep exited 4", log)
        self.assertIn("requeueing job", log)
        self.assertIn("restart 1 on", log)
        self.assert_all_done_one_row_per_step(store)

    def test_array_tasks_share_the_grid(self):
        store = os.path.join(self.dir, "results.db")
        config = self.config(40960)
        # Register first, so the three tasks start on the same points.
        run([SCALESWEEP, "plan", config, "--store", store], cwd=self.dir)
        jid = self.sbatch("--array=0-2", "--ntasks-per-node=2", config, store)
        for task in range(3):
            self.assertEqual(self.wait_job(f"{jid}_{task}"), 0)
        con = self.assert_all_done_one_row_per_step(store)
        self.assertEqual(con.execute("SELECT max(attempts) FROM runs").fetchone()[0], 1,
                         "a point was trained twice")


class SlurmQuickstart(SlurmBase):
    """configs/quickstart-quick.toml (11 runs, the Gutenberg corpus) as one job written and
    submitted by `scalesweep slurm --submit`, preempted once, then fitted by scalefit.
    (The full configs/quickstart.toml: slurm/acceptance.sh, by hand; numbers in docs/slurm.md.)"""

    def test_quick_sweep_preempted_requeued_and_fitted(self):
        # The config's data paths are relative to the job's directory: prepare them there.
        raw = os.path.join(REPO, "data", "gutenberg", "raw")
        run([SCALESWEEP, "prepare-data", "--input", raw, "--tokenizer", "bytes", "--out",
             os.path.join(self.dir, "data", "gutenberg", "bytes")], timeout=300)
        os.makedirs(os.path.join(self.dir, "stores"))
        store = os.path.join(self.dir, "stores", "results.db")
        config = os.path.join(REPO, "configs", "quickstart-quick.toml")
        # The runs longer than 500 steps hold at their checkpoint of step 500 until the USR1
        # (hold_sweep, first start only), so the preemption always lands mid-run.
        env = dict(self.env, SCALESWEEP_ARGS="--summary-seconds 10",
                   SCALESWEEP=self.holding_sweep(500))
        r = run([SCALESWEEP, "slurm", config, "--store", store, "--ranks-per-gpu", "2",
                 "--time", "01:00:00", "--submit"], cwd=self.dir, env=env)
        jid = int(re.match(r"submitted job (\d+) ", r.stdout).group(1))
        self.jobs.append(jid)
        log = os.path.join(self.dir, f"scalesweep-{jid}.out")
        self.wait_holding(jid, 1, log)
        wait_for(lambda: self.checkpoints(store) > 0, 60, "the held run's checkpoint")
        run(["scancel", "-b", "-s", "USR1", str(jid)])
        self.wait_requeued(jid, 1)
        self.assertEqual(self.wait_job(jid, timeout=1200), 0, open(log).read())
        with open(log) as f:
            text = f.read()
        self.assertIn("sweep exited 3", text)
        self.assertIn("restart 1 on", text)
        self.assertEqual(job_fields(jid).get("Restarts"), "1")
        con = self.db(store)
        runs = con.execute("SELECT id, status, steps, attempts FROM runs").fetchall()
        self.assertEqual(len(runs), 11)  # the file's header: 11 runs
        for run_id, status, steps, _ in runs:
            self.assertEqual(status, "done", f"run {run_id}")
            self.assertEqual(con.execute(
                "SELECT count(*), count(DISTINCT step), min(step), max(step) FROM metrics "
                "WHERE run = ?", (run_id,)).fetchone(), (steps, steps, 1, steps), f"run {run_id}")
        self.assertGreater(sum(1 for r in runs if r[3] > 1), 0, "no point was preempted")
        beside = os.path.join(self.dir, "stores", "results-checkpoints", "quickstart-quick")
        for (path,) in con.execute("SELECT path FROM checkpoints"):
            self.assertTrue(path.startswith(beside + os.sep), path)
        report = os.path.join(self.dir, "report")
        r = run([SCALEFIT, store, "--out", report], timeout=600, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertGreater(os.path.getsize(os.path.join(report, "report.md")), 0)


class SlurmCli(SlurmBase):
    """`scalesweep slurm`: the script it writes for every option, bad values, submission."""

    def slurm(self, *args):
        return run([SCALESWEEP, "slurm", *args], check=False, cwd=self.dir, env=self.env)

    def test_dry_run_every_option(self):
        config = self.config(40960)
        r = self.slurm(config, "--store", "r.db", "--nodes", "2", "--gpus-per-node", "4",
                       "--ranks-per-gpu", "2", "--time", "1-02:30:00", "--partition", "gpu",
                       "--account", "proj_1", "--qos", "high", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        script = r.stdout
        lines = script.splitlines()
        sbatch = [line for line in lines if line.startswith("#SBATCH")]
        self.assertEqual(sbatch, [
            "#SBATCH --job-name=scalesweep-slurmtest", "#SBATCH --nodes=2",
            "#SBATCH --ntasks=17",  # 2 nodes x 4 GPUs x 2 ranks + rank 0
            "#SBATCH --gpus-per-node=4", "#SBATCH --time=1-02:30:00",
            "#SBATCH --partition=gpu", "#SBATCH --account=proj_1", "#SBATCH --qos=high",
            "#SBATCH --requeue", "#SBATCH --open-mode=append",
            "#SBATCH --output=scalesweep-%j.out", "#SBATCH --signal=B:USR1@120",
            f"#SBATCH --chdir={os.path.realpath(self.dir)}"])
        self.assertIn(f"SCALESWEEP_CONFIG=${{SCALESWEEP_CONFIG:-'{config}'}}", lines)
        self.assertIn(f"SCALESWEEP_STORE=${{SCALESWEEP_STORE:-'{os.path.realpath(self.dir)}/r.db'}}",
                      lines)
        self.assertIn("GPUS_PER_NODE=${GPUS_PER_NODE:-4}", lines)
        self.assertIn("RANKS_PER_GPU=${RANKS_PER_GPU:-2}", lines)
        self.assertTrue(any(line.startswith("srun --mpi=pmix") for line in lines))
        # #SBATCH lines must come before the first command, and the script must parse.
        first_command = next(i for i, line in enumerate(lines)
                             if line and not line.startswith("#"))
        self.assertLess(max(i for i, line in enumerate(lines) if line.startswith("#SBATCH")),
                        first_command)
        run(["bash", "-n"], input=script)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "r.db")))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "r.sbatch")))

    def test_dry_run_array(self):
        config = self.config(40960)
        r = self.slurm(config, "--store", "r.db", "--array", "3", "--gpus-per-node", "4",
                       "--time", "00:30:00")
        self.assertEqual(r.returncode, 0, r.stderr)
        sbatch = [line for line in r.stdout.splitlines() if line.startswith("#SBATCH")]
        # One group (dp*tp = 1) per task: 1 worker + rank 0, 1 GPU, 3 tasks.
        self.assertEqual(sbatch[:6], [
            "#SBATCH --job-name=scalesweep-slurmtest", "#SBATCH --nodes=1", "#SBATCH --ntasks=2",
            "#SBATCH --array=0-2", "#SBATCH --gpus-per-node=1", "#SBATCH --time=00:30:00"])
        self.assertIn("GPUS_PER_NODE=${GPUS_PER_NODE:-1}", r.stdout.splitlines())
        r = self.slurm(config, "--store", "r.db", "--array", "3", "--nodes", "2")
        self.assertEqual(r.returncode, 2)
        self.assertIn("each array task runs on one node", r.stderr)

    def test_time_limit_from_the_plan(self):
        config = self.config(40960)
        points = json.loads(run([SCALESWEEP, "plan", config, "--format", "json"]).stdout)["points"]
        seconds = [p["flops_exact"] / 1e6 for p in points]
        # 3 workers on 1 node, groups of 1: 3 points at a time.
        limit = max(max(seconds), sum(seconds) / 3) * 1.5 + 300
        minutes = math.ceil(limit / 60)
        r = self.slurm(config, "--store", "r.db", "--ranks-per-gpu", "3",
                       "--flops-per-second", "1e6")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"#SBATCH --time={minutes // 60:02d}:{minutes % 60:02d}:00\n", r.stdout)
        self.assertIn("#SBATCH --ntasks=4\n", r.stdout)
        self.assertFalse([line for line in r.stdout.splitlines()
                          if line.startswith("#SBATCH --gpus-per-node")])

    def test_bad_values_exit_2_with_one_line(self):
        config = self.config(40960)
        cases = {
            ("--time", "25h"): "--time '25h'",
            ("--time", "1:75:00"): "--time '1:75:00'",
            ("--partition", "a b"): "--partition 'a b'",
            ("--account", "x;rm"): "--account 'x;rm'",
            ("--qos", "q'"): "--qos 'q''",
            ("--nodes", "0"): "--nodes: 0 is not positive",  # ss/cli_checks.h's wording
            ("--ranks-per-gpu", "0"): "--ranks-per-gpu",
            ("--gpus-per-node", "-1"): "--gpus-per-node: -1 is not >= 0",
            ("--submit", "--dry-run"): "--dry-run",
            ("--array", "0"): "--array: 0 is not positive",
        }
        for args, expected in cases.items():
            r = self.slurm(config, "--store", "r.db", *args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            first = r.stderr.splitlines()[0] if r.stderr else ""
            self.assertIn(expected, first, args)
            self.assertEqual(r.stdout, "", args)
        # A grid that needs more workers than the job has.
        with open(config) as f:
            text = f.read().replace("dp = 1", "dp = 2")
        with open(config, "w") as f:
            f.write(text)
        r = self.slurm(config, "--store", "r.db", "--ranks-per-gpu", "1")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("needs dp*tp = 2 worker ranks", r.stderr)
        self.assertEqual(os.listdir(self.dir).count("r.db"), 0)

    def test_submit_prints_the_job_id_and_the_sweep_finishes(self):
        config = self.config(40960)
        # Slurm's refusal comes back as one line; nothing is submitted.
        r = self.slurm(config, "--store", "r.db", "--partition", "nosuch", "--submit")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("sbatch refused", r.stderr)
        self.assertIn("invalid partition", r.stderr.lower())
        # A file scalesweep did not write is never replaced.
        with open(os.path.join(self.dir, "mine.sbatch"), "w") as f:
            f.write("#!/bin/bash\necho mine\n")
        r = self.slurm(config, "--store", "mine.db", "--submit")
        self.assertEqual(r.returncode, 2)
        self.assertIn("not written by scalesweep slurm", r.stderr)
        with open(os.path.join(self.dir, "mine.sbatch")) as f:
            self.assertEqual(f.read(), "#!/bin/bash\necho mine\n")
        r = self.slurm(config, "--store", "r.db", "--ranks-per-gpu", "2", "--time", "00:10:00",
                       "--submit")
        self.assertEqual(r.returncode, 0, r.stderr)
        jid = int(re.match(r"submitted job (\d+) ", r.stdout).group(1))
        self.jobs.append(jid)
        self.assertEqual(self.wait_job(jid), 0)
        self.assert_all_done_one_row_per_step(os.path.join(self.dir, "r.db"))


if __name__ == "__main__":
    unittest.main()
