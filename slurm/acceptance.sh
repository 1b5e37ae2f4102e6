#!/usr/bin/env bash
# slurm/acceptance.sh: the Slurm acceptance of issue 11 by hand, on any Slurm (the local one of
# ../shared/slurm-local, or a real cluster): submits the quickstart sweep as one job through
# `scalesweep slurm --submit`, preempts it once (`scancel -b -s USR1`) after its first
# checkpoint, lets the requeued job finish, then checks the store and fits it with scalefit.
# Prints how long each phase took; exit 0 only when every check holds.
#
#   slurm/acceptance.sh [--quick] [--workers W] [--template] [DIR]
#
#   --quick    configs/quickstart-quick.toml (11 runs) instead of configs/quickstart.toml (16)
#   --workers  worker ranks of the job (default 2: one per core of a 2-core machine)
#   --template submit the template as is, the issue's command: `sbatch slurm/sweep.sbatch
#              CONFIG STORE` (its 3 tasks per node and 1 h limit) instead of `scalesweep slurm`
#   DIR        where the store (DIR/results.db), its checkpoints (DIR/results-checkpoints/),
#              the sbatch script and the report go; default a new /tmp/ss-acceptance.XXXXXX.
#              It must not hold a results.db yet.
#
# Runs from the repository root (the config's data paths are relative to it): builds nothing,
# needs build/scalesweep, build/scalefit (or SCALESWEEP, SCALEFIT) and data/gutenberg/bytes
# (scripts/quickstart.sh makes them). The job's log is scalesweep-JOBID.out in the repository root. Checks: the job ran twice
# (restart 1) and its first run ended checkpointed (exit 3); every run is done, with one metric
# row per step 1..steps; at least one point resumed (attempts > 1); every checkpoint is beside
# the store; `scalefit` exits 0 and writes its report. Measured numbers: docs/slurm.md.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=configs/quickstart.toml
WORKERS=2
TEMPLATE=0
DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) CONFIG=configs/quickstart-quick.toml ;;
    --workers) WORKERS=$2; shift ;;
    --template) TEMPLATE=1 ;;
    *) DIR=$1 ;;
  esac
  shift
done
fail() { echo "acceptance: FAILED: $*" >&2; exit 1; }
SS=${SCALESWEEP:-build/scalesweep}
FIT=${SCALEFIT:-build/scalefit}
for f in "$SS" "$FIT" data/gutenberg/bytes/train.bin; do
  [ -e "$f" ] || { echo "acceptance: $f is missing; run scripts/quickstart.sh --quick once" >&2; exit 2; }
done
DIR=$(realpath -m "${DIR:-$(mktemp -d /tmp/ss-acceptance.XXXXXX)}")
mkdir -p "$DIR"
STORE=$DIR/results.db
[ ! -e "$STORE" ] || { echo "acceptance: $STORE exists; give a new DIR" >&2; exit 2; }
q() { sqlite3 -readonly "$STORE" "$1"; }
field() { scontrol show job -o "$1" | grep -o "\b$2=[^ ]*" | head -1 | cut -d= -f2; }

# One thread per rank; progress every 30 s in the log.
export OMP_NUM_THREADS=1 SCALESWEEP_ARGS="--summary-seconds 30"
t0=$SECONDS
if [ "$TEMPLATE" = 1 ]; then
  export SCALESWEEP=$(realpath "$SS")
  out=$(sbatch --parsable slurm/sweep.sbatch "$CONFIG" "$STORE")
  jid=${out%%;*}
else
  out=$("$SS" slurm "$CONFIG" --store "$STORE" --ranks-per-gpu "$WORKERS" \
          --time 04:00:00 --submit)
  jid=$(sed -n 's/^submitted job \([0-9]*\) .*/\1/p' <<<"$out")
fi
echo "$out"
[ -n "$jid" ] || fail "no job id in: $out"
log=$(pwd)/scalesweep-$jid.out

# Preempt once, as soon as the store records a checkpoint.
until [ -e "$STORE" ] && [ "$(q 'select count(*) from checkpoints' 2>/dev/null || echo 0)" -gt 0 ]; do
  state=$(field "$jid" JobState)
  case "$state" in PENDING|RUNNING|CONFIGURING) sleep 2 ;; *) fail "job $jid $state before a checkpoint" ;; esac
done
t_preempt=$SECONDS
echo "acceptance: first checkpoint after $((t_preempt - t0)) s; scancel -b -s USR1 $jid"
scancel -b -s USR1 "$jid"
until [ "$(field "$jid" Restarts)" = 1 ] && [ "$(field "$jid" JobState)" = RUNNING ]; do
  case "$(field "$jid" JobState)" in
    COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) fail "job $jid ended without a requeue; see $log" ;;
  esac
  sleep 1
done
t_resumed=$SECONDS
echo "acceptance: requeued and running again $((t_resumed - t_preempt)) s after the signal"
while :; do
  state=$(field "$jid" JobState)
  case "$state" in PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUED) sleep 5 ;; *) break ;; esac
done
t_done=$SECONDS
[ "$state" = COMPLETED ] || fail "job $jid ended $state (ExitCode $(field "$jid" ExitCode)); see $log"
echo "acceptance: job $jid $state; second run took $((t_done - t_resumed)) s"

grep -q "sweep exited 3" "$log" || fail "the first run did not end checkpointed (exit 3): $log"
grep -q "restart 1 on" "$log" || fail "no second run (restart 1) in $log"
[ "$(field "$jid" Restarts)" = 1 ] || fail "job $jid restarted $(field "$jid" Restarts) times, not once"
echo "acceptance: sqlite3 $STORE 'select status, count(*) from runs group by status'"
q 'select status, count(*) from runs group by status'
total=$(q 'select count(*) from runs')
[ "$total" -gt 0 ] && [ "$(q "select count(*) from runs where status = 'done'")" = "$total" ] ||
  fail "not every run is done"
[ "$(q 'select count(*) from runs r where (select count(*) from metrics m where m.run = r.id)
        != r.steps or (select count(distinct step) from metrics m where m.run = r.id) != r.steps
        or (select min(step) from metrics m where m.run = r.id) != 1
        or (select max(step) from metrics m where m.run = r.id) != r.steps')" = 0 ] ||
  fail "a run lacks or repeats metric rows"
resumed=$(q 'select count(*) from runs where attempts > 1')
[ "$resumed" -gt 0 ] || fail "no run was interrupted and resumed"
[ "$(q "select count(*) from checkpoints where path not like '$DIR/results-checkpoints/%'")" = 0 ] ||
  fail "checkpoints outside $DIR/results-checkpoints"

t_fit=$SECONDS
"$FIT" "$STORE" --out "$DIR/report" >"$DIR/scalefit.log" 2>&1 ||
  fail "scalefit exited $?: $DIR/scalefit.log"
[ -s "$DIR/report/report.md" ] || fail "scalefit wrote no $DIR/report/report.md"
t_end=$SECONDS
echo "acceptance: PASSED for $CONFIG: $total runs done ($resumed resumed after the preemption)," \
     "one metric row per step, checkpoints beside the store"
echo "time: first checkpoint $((t_preempt - t0)) s, requeue $((t_resumed - t_preempt)) s," \
     "second run $((t_done - t_resumed)) s, sweep in all $((t_done - t0)) s, scalefit $((t_end - t_fit)) s"
echo "store: $STORE   report: $DIR/report/report.md   log: $log"
