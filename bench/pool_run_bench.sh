#!/bin/sh
# pool-run against xargs -P and GNU parallel, same inputs, same run, printing ratios.
#
#   bench/pool_run_bench.sh [NETLAB_BINARY] [JOBS...]
#
# Not a test: numbers depend on the machine. GNU parallel is optional (apt-get install
# parallel); without it its column is skipped. Each row is the best of 3 runs.
set -eu

netlab=${1:-build/netlab}
[ $# -gt 0 ] && shift
counts=${*:-2000 10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

best_of_3() { # prints the best wall time in seconds of running "$@"
  best=
  for _ in 1 2 3; do
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    best=$(echo "$start $end ${best:-}" | awk '{t = $2 - $1; if ($3 == "" || t < $3) print t; else print $3}')
  done
  echo "$best"
}

have_parallel=no
command -v parallel >/dev/null 2>&1 && have_parallel=yes

printf '%-26s %8s %9s %9s %11s %11s\n' "case" "jobs" "pool-run" "xargs" "pool/xargs" "parallel/pool"
for n in $counts; do
  seq "$n" > "$tmp/in"
  pool=$(best_of_3 sh -c "'$netlab' pool-run -j 2 true < '$tmp/in'")
  xargs=$(best_of_3 sh -c "xargs -P 2 -n 1 true < '$tmp/in'")
  par=-
  if [ "$have_parallel" = yes ]; then
    par=$(best_of_3 sh -c "parallel -j 2 true < '$tmp/in'")
  fi
  # The floor: spawning `true` from a shell loop, one at a time (fork/exec and wait alone).
  floor=$(best_of_3 sh -c "i=0; while [ \$i -lt $n ]; do /bin/true; i=\$((i+1)); done")
  awk -v n="$n" -v p="$pool" -v x="$xargs" -v g="$par" -v f="$floor" 'BEGIN {
    printf "%-26s %8d %8.2fs %8.2fs %10.2fx %11s\n", "true", n, p, x, p / x, (g == "-" ? "-" : sprintf("%.2fx", g / p))
    printf "  per job: pool-run %.3f ms, xargs %.3f ms%s, serial spawn floor %.3f ms (x2 cores: %.3f ms)\n",
      p * 1000 / n, x * 1000 / n, (g == "-" ? "" : sprintf(", parallel %.3f ms", g * 1000 / n)), f * 1000 / n, f * 500 / n
  }'
done

# Output handling: each job prints 1 MB (grouped and spilled by pool-run, passed through by xargs).
n=${OUTPUT_JOBS:-200}
seq "$n" > "$tmp/in"
pool=$(best_of_3 sh -c "'$netlab' pool-run -j 2 -- head -c 1000000 /dev/zero < '$tmp/in'")
xargs=$(best_of_3 sh -c "xargs -P 2 -I{} head -c 1000000 /dev/zero < '$tmp/in'")
par=-
if [ "$have_parallel" = yes ]; then
  par=$(best_of_3 sh -c "parallel -j 2 head -c 1000000 /dev/zero < '$tmp/in'")
fi
awk -v n="$n" -v p="$pool" -v x="$xargs" -v g="$par" 'BEGIN {
  printf "%-26s %8d %8.2fs %8.2fs %10.2fx %11s\n", "1 MB output each", n, p, x, p / x, (g == "-" ? "-" : sprintf("%.2fx", g / p))
}'

# Start-up: one job.
pool=$(best_of_3 sh -c "'$netlab' pool-run true ::: 1")
xargs=$(best_of_3 sh -c "echo 1 | xargs true")
awk -v p="$pool" -v x="$xargs" 'BEGIN {
  printf "%-26s %8d %8.3fs %8.3fs %10.2fx\n", "start-up (one job)", 1, p, x, p / x
}'
