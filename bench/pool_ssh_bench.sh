#!/usr/bin/env bash
# pool-run --ssh against GNU parallel -S: N short jobs (`true`) spread over two local sshd "hosts"
# (started here, see bench/lib_sshd.sh), -j 2 per host on both sides, in interleaved rounds
# (bench/pairs.py): netlab, parallel -S without ssh ControlMaster, parallel -S with ControlMaster
# (masters started before the run and kept). Target: at least 5x faster than parallel -S without
# ControlMaster (ratio <= 0.2x). Prints markdown rows for docs/benchmarks-pool-run.md. Needs root
# (sshd) and GNU parallel. Not a test.
#   bench/pool_ssh_bench.sh [NETLAB] [N]          (N default 500)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
NETLAB=$(realpath "${1:-${NETLAB:-build/netlab}}")
N=${2:-500}
P=("$here/pairs.py" --pairs "${PAIRS:-9}")
# A row whose command failed every round prints "n/a" and its reason; the other rows still run.
row() { "${P[@]}" "$@" || true; }
command -v parallel >/dev/null || { echo "pool_ssh_bench: GNU parallel not installed (bench/install-bench-deps.sh)" >&2; exit 1; }
SSHD_TMP=$(mktemp -d)
TMP=$SSHD_TMP
source "$here/lib_sshd.sh"
trap sshd_cleanup EXIT
sshd_start
sshd_start
export HOME=$TMP/home
unset SSH_AUTH_SOCK
mkdir -p "$HOME/.parallel"
touch "$HOME/.parallel/will-cite"
SSH="ssh -F $TMP/ssh_config"
$SSH h1-cm true
$SSH h2-cm true
seq "$N" > "$TMP/in"

NETLAB_CMD="$NETLAB pool-run -j 2 --no-agent -i $TMP/id --known-hosts $TMP/known_hosts"
NETLAB_CMD+=" --ssh root@127.0.0.1:${SSHD_PORTS[0]} --ssh root@127.0.0.1:${SSHD_PORTS[1]} -- true < $TMP/in"
$NETLAB_CMD > /dev/null || { echo "pool_ssh_bench: pool-run --ssh failed" >&2; exit 1; }

"${P[@]}" --header
row --label "$N x true over 2 sshd hosts, -j 2 per host" --target "vs parallel -S <= 0.2x (5x)" \
  "pool-run --ssh=$NETLAB_CMD" \
  "parallel -S=parallel -j 2 --ssh '$SSH' -S h1,h2 true < $TMP/in" \
  "parallel -S ControlMaster=parallel -j 2 --ssh '$SSH' -S h1-cm,h2-cm true < $TMP/in"
