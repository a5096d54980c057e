#!/usr/bin/env bash
# ssh-exec against OpenSSH on loopback, in interleaved rounds (bench/pairs.py), against a local sshd
# started here (bench/lib_sshd.sh; touches no ~/.ssh; needs root):
#   - fan-out: `true` on SESSIONS sessions: netlab ssh-exec -j SESSIONS, a shell loop of ssh, one
#     backgrounded ssh per session, and parallel-ssh when installed (wall time, lower is better);
#   - SFTP of one MB-megabyte file: netlab --put against sftp put and scp, netlab --get against
#     sftp get (wall time; netlab's includes its SHA-256 verification);
#   - with DELAY_MS=N, the SFTP rows again through bench/delay_proxy.py (N ms each way).
# Prints markdown rows for docs/benchmarks-ssh.md. Not a test.
#   [DELAY_MS=N] bench/ssh_bench.sh [NETLAB] [SESSIONS] [MB]        (20 sessions, 100 MB)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
NETLAB=$(realpath "${1:-${NETLAB:-build/netlab}}")
SESSIONS=${2:-20}
MB=${3:-100}
DELAY_MS=${DELAY_MS:-0}
P=("$here/pairs.py" --pairs "${PAIRS:-9}")
row() { "${P[@]}" "$@" || true; }
SSHD_TMP=$(mktemp -d)
TMP=$SSHD_TMP
source "$here/lib_sshd.sh"
PROXY_PID=""
cleanup() {
  [[ -n $PROXY_PID ]] && kill "$PROXY_PID" 2>/dev/null || true
  [[ -n $PROXY_PID ]] && wait "$PROXY_PID" 2>/dev/null || true
  sshd_cleanup
}
trap cleanup EXIT
sshd_start
PORT=${SSHD_PORTS[0]}
export HOME=$TMP/home
unset SSH_AUTH_SOCK
SSH="ssh -F $TMP/ssh_config"
NL="$NETLAB ssh-exec --known-hosts $TMP/known_hosts -i $TMP/id --no-agent"

hosts=""
for _ in $(seq "$SESSIONS"); do hosts+=" root@127.0.0.1:$PORT"; echo "root@127.0.0.1:$PORT"; done > "$TMP/pssh_hosts"
loop="i=0; while [ \$i -lt $SESSIONS ]; do $SSH h1 true || exit 1; i=\$((i+1)); done"
background="i=0; while [ \$i -lt $SESSIONS ]; do $SSH h1 true & i=\$((i+1)); done; wait"
fanout=("netlab ssh-exec=$NL -j $SESSIONS $hosts -- true > /dev/null" "ssh loop=$loop" "ssh &=$background")
if command -v parallel-ssh >/dev/null; then
  fanout+=("parallel-ssh=parallel-ssh -p $SESSIONS -h $TMP/pssh_hosts -x '-F $TMP/ssh_config' true > /dev/null")
fi

"${P[@]}" --header
row --label "fan-out: true on $SESSIONS sessions (s)" --target "vs parallel-ssh <= 1x" "${fanout[@]}"

head -c "$((MB << 20))" /dev/urandom > "$TMP/big"
mkdir -p "$TMP/remote"

# sftp_rows PORT TAG: --put against sftp put and scp, --get against sftp get, through PORT.
sftp_rows() {
  local port=$1 tag=$2
  local sftp="sftp -q -b - -F $TMP/ssh_config -P $port root@127.0.0.1 > /dev/null"
  "$NETLAB" ssh-exec --known-hosts "$TMP/known_hosts" -i "$TMP/id" --no-agent \
    --put "$TMP/big" "$TMP/remote/source" "root@127.0.0.1:$port" > /dev/null
  row --label "SFTP upload, $MB MB$tag (s)" --target ">= 0.8x the speed: <= 1.25x" \
    "netlab --put=$NL --put $TMP/big $TMP/remote/netlab root@127.0.0.1:$port > /dev/null" \
    "sftp put=echo 'put $TMP/big $TMP/remote/sftp' | $sftp" \
    "scp=scp -q -F $TMP/ssh_config -P $port $TMP/big root@127.0.0.1:$TMP/remote/scp"
  row --label "SFTP download, $MB MB$tag (s)" --target "<= 1.25x" \
    "netlab --get=$NL --get $TMP/remote/source $TMP/back_netlab root@127.0.0.1:$port > /dev/null" \
    "sftp get=echo 'get $TMP/remote/source $TMP/back_sftp' | $sftp"
  cmp -s "$TMP/big" "$TMP/back_netlab" && cmp -s "$TMP/big" "$TMP/back_sftp" ||
    { echo "ssh_bench: copies differ" >&2; exit 1; }
}
sftp_rows "$PORT" ""

if ((DELAY_MS > 0)); then
  PROXY_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 "$here/delay_proxy.py" "$PROXY_PORT" "$PORT" "$DELAY_MS" &
  PROXY_PID=$!
  for _ in $(seq 200); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PROXY_PORT), 1)" 2>/dev/null && break
    sleep 0.05
  done
  echo "[127.0.0.1]:$PROXY_PORT $(cut -d' ' -f1,2 "$TMP/sshd1/host_key.pub")" >> "$TMP/known_hosts"
  sftp_rows "$PROXY_PORT" ", ${DELAY_MS} ms each way"
fi
