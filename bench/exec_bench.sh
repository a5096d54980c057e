#!/usr/bin/env bash
# Round trips per second of `true` through netlab exec-server: over one persistent connection
# (exec-client's REPL fed by a pipe) and over a new connection per command (one exec-client
# process each), beside `ncat --exec` per connection and `ssh localhost true` where available.
# Not a test: prints a table and ratios. Usage: bench/exec_bench.sh [NETLAB] [N_PERSISTENT] [N_CONNECT]
set -euo pipefail

NETLAB=${1:-${NETLAB:-build/netlab}}
N_PERSISTENT=${2:-3000}
N_CONNECT=${3:-300}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

wait_for_file() {
  for _ in $(seq 200); do [[ -s $1 ]] && return 0; sleep 0.05; done
  echo "exec_bench: $1 never appeared" >&2; exit 1
}

# Pinning server and clients apart keeps the numbers comparable between runs (toolchain.md).
PIN_SERVER=() PIN_CLIENT=()
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
  PIN_SERVER=(taskset -c 0) PIN_CLIENT=(taskset -c 1)
fi

"${PIN_SERVER[@]}" "$NETLAB" exec-server 127.0.0.1:0 --port-file "$TMP/port" 2>"$TMP/server.err" &
PIDS+=($!)
wait_for_file "$TMP/port"
PORT=$(cat "$TMP/port")

declare -A RESULT

awk -v n="$N_PERSISTENT" 'BEGIN { for (i = 0; i < n; i++) print "true" }' >"$TMP/commands"
start=$(now)
"${PIN_CLIENT[@]}" "$NETLAB" exec-client "$PORT" <"$TMP/commands" >/dev/null
end=$(now)
RESULT[persistent]=$(rate "$N_PERSISTENT" "$start" "$end")

start=$(now)
for _ in $(seq "$N_CONNECT"); do "${PIN_CLIENT[@]}" "$NETLAB" exec-client "$PORT" --no-stdin -- true; done
end=$(now)
RESULT[per_connection]=$(rate "$N_CONNECT" "$start" "$end")

if command -v ncat >/dev/null; then
  NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "${PIN_SERVER[@]}" ncat -l -k 127.0.0.1 "$NPORT" --exec /bin/true 2>/dev/null &
  PIDS+=($!)
  for _ in $(seq 100); do ncat -z 127.0.0.1 "$NPORT" 2>/dev/null && break; sleep 0.05; done
  start=$(now)
  for _ in $(seq "$N_CONNECT"); do "${PIN_CLIENT[@]}" ncat 127.0.0.1 "$NPORT" </dev/null >/dev/null; done
  end=$(now)
  RESULT[ncat]=$(rate "$N_CONNECT" "$start" "$end")
else
  RESULT[ncat]="n/a (ncat not installed)"
fi

if command -v ssh >/dev/null && ssh -o BatchMode=yes -o ConnectTimeout=2 localhost true 2>/dev/null; then
  N_SSH=$(( N_CONNECT < 50 ? N_CONNECT : 50 ))
  start=$(now)
  for _ in $(seq "$N_SSH"); do ssh -o BatchMode=yes localhost true; done
  end=$(now)
  RESULT[ssh]=$(rate "$N_SSH" "$start" "$end")
else
  RESULT[ssh]="n/a (no passwordless ssh to localhost)"
fi

printf '%-46s %s\n' "what" "round trips/s"
printf '%-46s %s\n' "netlab exec, one persistent connection" "${RESULT[persistent]}"
printf '%-46s %s\n' "netlab exec-client, new connection each" "${RESULT[per_connection]}"
printf '%-46s %s\n' "ncat --exec /bin/true, new connection each" "${RESULT[ncat]}"
printf '%-46s %s\n' "ssh localhost true" "${RESULT[ssh]}"
printf 'ratio persistent / per connection: %s\n' \
  "$(awk -v a="${RESULT[persistent]}" -v b="${RESULT[per_connection]}" 'BEGIN { printf "%.1fx", a / b }')"
if [[ ${RESULT[ncat]} =~ ^[0-9]+$ ]]; then
  printf 'ratio netlab per connection / ncat: %s\n' \
    "$(awk -v a="${RESULT[per_connection]}" -v b="${RESULT[ncat]}" 'BEGIN { printf "%.2fx", a / b }')"
fi
