#!/bin/sh
# pool-run against xargs -P and GNU parallel, measured in interleaved pairs by bench/pairs.py
# (A B A B ..., median of the per-pair ratios, load average, busy/idle label). Prints markdown rows
# ready for docs/benchmarks-pool-run.md. Not a test: run by hand.
#
#   bench/pool_run_bench.sh [NETLAB] [JOBS]          (JOBS default 2000)
#   PAIRS=15 PARALLEL_JOBS=500 OUTPUT_JOBS=200 bench/pool_run_bench.sh build/netlab
#
# GNU parallel (apt-get install parallel; bench/install-bench-deps.sh) is optional: without it its
# row is skipped. Its row uses PARALLEL_JOBS jobs (default 500): at several ms per job, 2,000 would
# take minutes per round; the per-job ratio does not depend on the count. pool-run --ssh against
# `parallel -S` is in bench/pool_ssh_bench.sh.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
netlab=$(realpath "${1:-build/netlab}")
jobs=${2:-2000}
pairs=${PAIRS:-9}
parallel_jobs=${PARALLEL_JOBS:-500}
output_jobs=${OUTPUT_JOBS:-200}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
P="$here/pairs.py --pairs $pairs"
# A row whose command failed every round prints "n/a" and its reason; the other rows still run.
row() { $P "$@" || true; }

seq "$jobs" > "$tmp/in"
seq "$parallel_jobs" > "$tmp/in_par"
head -c 1000000 /dev/zero > "$tmp/1mb"
for _ in $(seq "$output_jobs"); do echo "$tmp/1mb"; done > "$tmp/in_out"

$P --header
row --label "$jobs x true, -j 2" --target "<= 0.85x" \
  "pool-run=$netlab pool-run -j 2 -- true < $tmp/in" \
  "xargs=xargs -P 2 -n 1 true < $tmp/in"
if command -v parallel >/dev/null 2>&1; then
  row --label "$parallel_jobs x true, -j 2" --target "<= 0.2x (parallel 5x slower)" \
    "pool-run=$netlab pool-run -j 2 -- true < $tmp/in_par" \
    "parallel=parallel -j 2 true < $tmp/in_par"
else
  echo "pool_run_bench: GNU parallel not installed, its row skipped (bench/install-bench-deps.sh)" >&2
fi
# Each job prints 1 MB (cat of a 1 MB file): pool-run groups (and spills) every job's output, xargs
# lets the jobs write to its stdout directly.
row --label "$output_jobs x 1 MB output, -j 2" --target "<= 1.2x" \
  "pool-run=$netlab pool-run -j 2 -- cat < $tmp/in_out > /dev/null" \
  "xargs=xargs -P 2 -n 1 cat < $tmp/in_out > /dev/null"
# The same into a pipe whose reader discards it, as when pool-run feeds another program: pool-run
# splices each job's pages on to the pipe, xargs' jobs write into it directly.
row --label "$output_jobs x 1 MB output into a pipe, -j 2" --target "<= 1.2x" \
  "pool-run=$netlab pool-run -j 2 -- cat < $tmp/in_out | cat > /dev/null" \
  "xargs=xargs -P 2 -n 1 cat < $tmp/in_out | cat > /dev/null"
row --label "start-up, one job" \
  "pool-run=$netlab pool-run true ::: 1" \
  "xargs=echo 1 | xargs true"
