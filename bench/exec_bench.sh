#!/usr/bin/env bash
# netlab exec-server/exec-client against OpenSSH and ncat, in interleaved pairs (bench/pairs.py):
#   - N x `exec-client ADDR -- true`, a new connection each, against N x a fresh `ssh HOST true` to a
#     local sshd started here (and N x `ncat` to `ncat --exec /bin/true`); target <= 0.02x (50x);
#   - N commands over one exec-client connection (its REPL fed by a pipe) against one
#     ControlMaster-multiplexed ssh running the same N commands through `sh`; target <= 1.0x.
# Prints markdown rows for docs/benchmarks-exec.md. Needs root for sshd. Not a test.
#   bench/exec_bench.sh [NETLAB] [N]          (N default 200)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
NETLAB=$(realpath "${1:-${NETLAB:-build/netlab}}")
N=${2:-200}
P=("$here/pairs.py" --pairs "${PAIRS:-9}")
# A row whose command failed every round prints "n/a" and its reason; the other rows still run.
row() { "${P[@]}" "$@" || true; }
SSHD_TMP=$(mktemp -d)
TMP=$SSHD_TMP
source "$here/lib_sshd.sh"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  sshd_cleanup
}
trap cleanup EXIT

wait_for_file() {
  for _ in $(seq 400); do [[ -s $1 ]] && return 0; sleep 0.05; done
  echo "exec_bench: $1 never appeared" >&2; exit 1
}

sshd_start
export HOME=$TMP/home
unset SSH_AUTH_SOCK
SSH="ssh -F $TMP/ssh_config"

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$TMP/token"
chmod 600 "$TMP/token"
"$NETLAB" exec-server 127.0.0.1:0 --token-file "$TMP/token" --port-file "$TMP/port" 2>"$TMP/server.err" &
PIDS+=($!)
wait_for_file "$TMP/port"
PORT=$(cat "$TMP/port")
CLIENT="$NETLAB exec-client 127.0.0.1:$PORT --token-file $TMP/token"

NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ncat -l -k 127.0.0.1 "$NPORT" --exec /bin/true 2>/dev/null &
PIDS+=($!)
for _ in $(seq 200); do ncat -z 127.0.0.1 "$NPORT" 2>/dev/null && break; sleep 0.05; done

# /bin/true, not true: sh would run its builtin and start no process, exec-server starts one per line.
for _ in $(seq "$N"); do echo /bin/true; done > "$TMP/commands"
$CLIENT < "$TMP/commands" > /dev/null || { echo "exec_bench: exec-client failed: $(cat "$TMP/server.err")" >&2; exit 1; }
$SSH h1 true || { echo "exec_bench: ssh to the local sshd failed" >&2; exit 1; }
$SSH h1-cm true   # starts the ControlMaster (ControlPersist keeps it)

loop() { echo "i=0; while [ \$i -lt $N ]; do $1 || exit 1; i=\$((i+1)); done"; }

"${P[@]}" --header
row --label "$N x true, new connection each" --target "vs ssh <= 0.02x (50x)" \
  "exec-client=$(loop "$CLIENT --no-stdin -- true")" \
  "ssh=$(loop "$SSH h1 true")" \
  "ncat=$(loop "ncat 127.0.0.1 $NPORT </dev/null >/dev/null")"
# What start-up alone costs: an empty program linked to the shared libraries netlab needs (their
# loading and relocation, the bound on the row above), and the same program linked to libc only.
needed=$(readelf -d "$NETLAB" | sed -n 's/.*Shared library: \[\(lib[^]]*\)\].*/-l:\1/p' | tr '\n' ' ')
echo 'int main() { return 0; }' > "$TMP/empty.c"
if cc -O2 -o "$TMP/empty_libs" "$TMP/empty.c" -Wl,--no-as-needed $needed 2>/dev/null &&
   cc -O2 -o "$TMP/empty" "$TMP/empty.c"; then
  row --label "$N x start-up floor: an empty program with netlab's libraries" \
    "exec-client=$(loop "$CLIENT --no-stdin -- true")" \
    "empty-with-libs=$(loop "$TMP/empty_libs")" \
    "empty=$(loop "$TMP/empty")"
else
  echo "exec_bench: cc could not link the empty programs; floor row skipped" >&2
fi
row --label "$N x /bin/true over one connection" --target "<= 1.0x" \
  "exec-client=$CLIENT < $TMP/commands > /dev/null" \
  "ssh-ControlMaster=$SSH h1-cm sh < $TMP/commands > /dev/null"
