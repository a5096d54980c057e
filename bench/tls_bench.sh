#!/usr/bin/env bash
# TLS echo throughput: netlab echo-server --tls against socat OPENSSL-LISTEN (fork) and
# `ncat --ssl -k --exec /bin/cat`, all driven by the same client (netlab bench tcp --tls, which
# verifies every echoed byte), in interleaved pairs (netlab, peer, netlab, peer, ...) so drift in
# machine load hits both sides alike. Rows: request/response at 1 and 100 connections, streaming on
# one connection, handshakes per second (connect mode); plus TLS streaming against netlab's own
# plain streaming. Prints per row the median ratio netlab/peer with min-max over the pairs, and the
# 1-minute load average before and after ("busy" above 0.5: the figures are then less reliable).
# Not a test. Usage: bench/tls_bench.sh [NETLAB] [PAIRS] [SECONDS_PER_RUN]
set -euo pipefail

NETLAB=${1:-${NETLAB:-build/netlab}}
PAIRS=${2:-9}
SECONDS_PER_RUN=${3:-1}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  # ncat --exec forks a process per connection: stop those first (by parent id, never by name),
  # while they are still the server's children, then the servers.
  for pid in "${PIDS[@]}"; do pkill -P "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

for program in openssl socat ncat; do
  command -v "$program" >/dev/null || { echo "tls_bench: $program not installed" >&2; exit 1; }
done

PIN_SERVER=() PIN_CLIENT=()
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
  PIN_SERVER=(taskset -c 0) PIN_CLIENT=(taskset -c 1)
fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/key.pem" \
  -out "$TMP/cert.pem" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do "$NETLAB" probe --timeout 0.2 "127.0.0.1:$1" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "tls_bench: nothing listens on $1" >&2; exit 1
}
load() { cut -d' ' -f1 /proc/loadavg; }

"${PIN_SERVER[@]}" "$NETLAB" echo-server 127.0.0.1:0 --tls --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" \
  --port-file "$TMP/netlab.port" 2>"$TMP/netlab.err" &
PIDS+=($!)
"${PIN_SERVER[@]}" "$NETLAB" echo-server 127.0.0.1:0 --port-file "$TMP/plain.port" 2>"$TMP/plain.err" &
PIDS+=($!)
SOCAT_PORT=$(free_port)
"${PIN_SERVER[@]}" socat "OPENSSL-LISTEN:$SOCAT_PORT,bind=127.0.0.1,reuseaddr,fork,cert=$TMP/cert.pem,key=$TMP/key.pem,verify=0" \
  PIPE 2>/dev/null &
PIDS+=($!)
NCAT_PORT=$(free_port)
"${PIN_SERVER[@]}" ncat -l -k 127.0.0.1 "$NCAT_PORT" --ssl --ssl-cert "$TMP/cert.pem" --ssl-key "$TMP/key.pem" \
  --exec /bin/cat 2>/dev/null &
PIDS+=($!)
for _ in $(seq 200); do [[ -s $TMP/netlab.port && -s $TMP/plain.port ]] && break; sleep 0.05; done
NETLAB_PORT=$(cat "$TMP/netlab.port")
PLAIN_PORT=$(cat "$TMP/plain.port")
wait_port "$SOCAT_PORT"
wait_port "$NCAT_PORT"

# One bench run; prints the row's figure (messages/s, MB/s or connects/s), or "fail" when the run
# had an error or a mismatch (then the pair is left out and counted).
measure() { # PORT FIELD TLS(yes/no) ARGS...
  local port=$1 field=$2 tls=$3
  shift 3
  local tls_args=()
  [[ $tls == yes ]] && tls_args=(--tls --tls-ca "$TMP/cert.pem")
  if ! "${PIN_CLIENT[@]}" "$NETLAB" bench tcp "localhost:$port" "${tls_args[@]}" --json -d "$SECONDS_PER_RUN" "$@" \
      >"$TMP/run.json" 2>/dev/null; then
    echo fail
    return
  fi
  python3 -c "import json,sys; r=json.load(open('$TMP/run.json')); print(r['$field'])"
}

# Pairs A B A B ...; prints "median min max" of A/B.
pairs() { # PORT_A TLS_A PORT_B TLS_B FIELD ARGS...
  local a=$1 tls_a=$2 b=$3 tls_b=$4 field=$5
  shift 5
  local ratios=() failed=0
  for _ in $(seq "$PAIRS"); do
    local x y
    x=$(measure "$a" "$field" "$tls_a" "$@")
    y=$(measure "$b" "$field" "$tls_b" "$@")
    if [[ $x == fail || $y == fail ]]; then
      failed=$((failed + 1))
      continue
    fi
    ratios+=("$(awk -v x="$x" -v y="$y" 'BEGIN { printf "%.4f", x / y }')")
  done
  if [[ ${#ratios[@]} -eq 0 ]]; then
    echo "n/a n/a n/a $failed"
    return
  fi
  printf '%s\n' "${ratios[@]}" | sort -g |
    awk -v failed="$failed" '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f %d", v[int((NR + 1) / 2)], v[1], v[NR], failed }'
}

row() { # LABEL PEER_NAME PEER_PORT FIELD ARGS...
  local label=$1 peer=$2 port=$3 field=$4
  shift 4
  local before after stats busy
  before=$(load)
  stats=$(pairs "$NETLAB_PORT" yes "$port" yes "$field" "$@")
  after=$(load)
  busy=$(awk -v a="$before" -v b="$after" 'BEGIN { print (a > 0.5 || b > 0.5) ? "busy" : "quiet" }')
  read -r median low high failed <<<"$stats"
  printf '%-36s %-6s %6sx  (%s-%s)  load %s/%s %s%s\n' "$label" "$peer" "$median" "$low" "$high" "$before" "$after" \
    "$busy" "$([[ $failed -gt 0 ]] && echo ", $failed pair(s) failed")"
}

echo "netlab/peer, median of $PAIRS interleaved pairs of ${SECONDS_PER_RUN}s runs (min-max); higher is better for netlab"
for peer in socat ncat; do
  port=$SOCAT_PORT
  [[ $peer == ncat ]] && port=$NCAT_PORT
  row "tls rr, 1 connection, 64 B" "$peer" "$port" msgs_per_s --mode rr -c 1
  row "tls rr, 100 connections, 64 B" "$peer" "$port" msgs_per_s --mode rr -c 100
  row "tls stream, 1 connection, 64 KiB" "$peer" "$port" mb_per_s --mode stream -c 1
  row "tls connect (handshakes/s), 4 conns" "$peer" "$port" connects_per_s --mode connect -c 4
done
before=$(load)
stats=$(pairs "$NETLAB_PORT" yes "$PLAIN_PORT" no mb_per_s --mode stream -c 1)
after=$(load)
read -r median low high failed <<<"$stats"
busy=$(awk -v a="$before" -v b="$after" 'BEGIN { print (a > 0.5 || b > 0.5) ? "busy" : "quiet" }')
printf '%-36s %-6s %6sx  (%s-%s)  load %s/%s %s\n' "netlab tls stream / plain stream" "netlab" "$median" "$low" "$high" \
  "$before" "$after" "$busy"
