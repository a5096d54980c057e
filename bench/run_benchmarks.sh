#!/usr/bin/env bash
# Every benchmark in bench/, one after the other, each comparison in interleaved rounds
# (bench/pairs.py): the markdown rows for docs/benchmarks*.md on stdout, under a heading per page,
# and every row as JSON in RESULTS (default bench-results.jsonl in the current folder). Takes
# about 20 minutes on an idle 2-core machine. Needs root (sshd "hosts") and the peers
# (bench/install-bench-deps.sh). Not a test.
#
#   bench/run_benchmarks.sh build/netlab > bench-results.md
#   ONLY="tls exec" bench/run_benchmarks.sh build/netlab       (any of: echo tls exec pool pool-ssh ssh pack)
#   PAIRS=15 bench/run_benchmarks.sh build/netlab              (more rounds per row; 9 at least)
#
# Each row says "idle" only when the 1-minute load average stayed at or below 0.5 before and all
# through its run; otherwise "busy". Leave the machine alone while it runs.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
netlab=$(realpath "${1:-build/netlab}")
only=" ${ONLY:-echo tls exec pool pool-ssh ssh pack} "
export PAIRS=${PAIRS:-9}
export PAIRS_JSON=$(realpath -m "${RESULTS:-bench-results.jsonl}")

section() { # NAME PAGE SCRIPT ARGS...
  local name=$1 page=$2
  shift 2
  [[ $only == *" $name "* ]] || return 0
  local start=$SECONDS
  echo
  echo "## $name: $page ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  "$@" || echo "run_benchmarks: $1 failed (exit $?)" >&2
  echo
  echo "($name took $((SECONDS - start)) s)"
}

echo "# netlab benchmarks: $("$netlab" --version 2>/dev/null | head -1), $(uname -r)"
echo "JSON rows: $PAIRS_JSON"
total=$SECONDS
section echo docs/benchmarks.md "$here/echo_bench.sh" "$netlab"
section tls docs/benchmarks-tls.md "$here/tls_bench.sh" "$netlab"
section exec docs/benchmarks-exec.md "$here/exec_bench.sh" "$netlab"
section pool docs/benchmarks-pool-run.md "$here/pool_run_bench.sh" "$netlab"
section pool-ssh docs/benchmarks-pool-run.md "$here/pool_ssh_bench.sh" "$netlab"
section ssh docs/benchmarks-ssh.md "$here/ssh_bench.sh" "$netlab"
section pack docs/benchmarks-pack.md "$here/pack_bench.sh" "$netlab"
echo
echo "(all took $((SECONDS - total)) s)"
