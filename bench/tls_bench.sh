#!/usr/bin/env bash
# TLS echo: netlab echo-server --tls against socat OPENSSL-LISTEN (fork) and `ncat --ssl -k --exec
# /bin/cat`, all driven by the same client (netlab bench tcp --tls, which verifies every echoed
# byte) in one interleaved run per row (netlab, socat, ncat, netlab, socat, ncat, ...; bench/pairs.py):
# request/response at 1 and 100 connections, streaming on one connection; handshakes per second
# (bench --mode handshake, nothing echoed) against `openssl s_server`; and netlab's TLS streaming
# against its own plain streaming. Ratios are netlab/peer of messages/s, MB/s or handshakes/s:
# higher is better for netlab, the target is >= 1 (>= 0.6 for TLS over plain streaming).
# Prints markdown rows for docs/benchmarks-tls.md. Not a test.
#   bench/tls_bench.sh [NETLAB] [SECONDS_PER_RUN]        (PAIRS=9 rounds by default)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
NETLAB=$(realpath "${1:-${NETLAB:-build/netlab}}")
SECONDS_PER_RUN=${2:-1}
P=("$here/pairs.py" --pairs "${PAIRS:-9}")
# A row whose peer failed every round prints "n/a" and its reason; the other rows still run.
row() { "${P[@]}" "$@" || true; }
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  # ncat --exec and socat fork a process per connection: stop those first (by parent id, never by
  # name), while they are still the servers' children, then the servers.
  for pid in "${PIDS[@]}"; do pkill -P "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

for program in openssl socat ncat; do
  command -v "$program" >/dev/null || { echo "tls_bench: $program not installed (bench/install-bench-deps.sh)" >&2; exit 1; }
done

# Servers on CPU 0, the client on CPU 1: the two never share a core (forked children inherit it).
PIN_SERVER=() PIN_CLIENT=""
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
  PIN_SERVER=(taskset -c 0) PIN_CLIENT="taskset -c 1"
fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/key.pem" \
  -out "$TMP/cert.pem" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 400); do "$NETLAB" probe --timeout 0.2 "127.0.0.1:$1" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "tls_bench: nothing listens on $1" >&2; exit 1
}
wait_file() {
  for _ in $(seq 400); do [[ -s $1 ]] && return 0; sleep 0.05; done
  echo "tls_bench: $1 never appeared" >&2; exit 1
}

"${PIN_SERVER[@]}" "$NETLAB" echo-server 127.0.0.1:0 --tls --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" \
  --port-file "$TMP/netlab.port" 2>"$TMP/netlab.err" &
PIDS+=($!)
"${PIN_SERVER[@]}" "$NETLAB" echo-server 127.0.0.1:0 --port-file "$TMP/plain.port" 2>"$TMP/plain.err" &
PIDS+=($!)
SOCAT_PORT=$(free_port)
"${PIN_SERVER[@]}" socat "OPENSSL-LISTEN:$SOCAT_PORT,bind=127.0.0.1,reuseaddr,fork,backlog=1024,cert=$TMP/cert.pem,key=$TMP/key.pem,verify=0" \
  PIPE 2>/dev/null &
PIDS+=($!)
NCAT_PORT=$(free_port)
"${PIN_SERVER[@]}" ncat -l -k -m 10000 127.0.0.1 "$NCAT_PORT" --ssl --ssl-cert "$TMP/cert.pem" --ssl-key "$TMP/key.pem" \
  --exec /bin/cat 2>/dev/null &
PIDS+=($!)
SSERVER_PORT=$(free_port)
# s_server answers one connection at a time and echoes nothing: measured in handshake mode only.
# No session tickets, as netlab's server sends none.
"${PIN_SERVER[@]}" openssl s_server -quiet -accept "127.0.0.1:$SSERVER_PORT" -cert "$TMP/cert.pem" -key "$TMP/key.pem" \
  -num_tickets 0 </dev/null >/dev/null 2>&1 &
PIDS+=($!)
wait_file "$TMP/netlab.port"
wait_file "$TMP/plain.port"
NETLAB_PORT=$(cat "$TMP/netlab.port")
PLAIN_PORT=$(cat "$TMP/plain.port")
wait_port "$SOCAT_PORT"
wait_port "$NCAT_PORT"
wait_port "$SSERVER_PORT"

# bench PORT ARGS...: the command line of one client run over TLS (JSON on stdout).
bench() {
  local port=$1
  shift
  echo "$PIN_CLIENT $NETLAB bench tcp localhost:$port --tls --tls-ca $TMP/cert.pem --json -d $SECONDS_PER_RUN $*"
}

"${P[@]}" --header
row --label "TLS rr, 1 connection, 64 B (msgs/s)" --metric json:msgs_per_s --target ">= 1x" \
  "netlab=$(bench "$NETLAB_PORT" --mode rr -c 1)" \
  "socat=$(bench "$SOCAT_PORT" --mode rr -c 1)" \
  "ncat=$(bench "$NCAT_PORT" --mode rr -c 1)"
row --label "TLS rr, 100 connections, 64 B (msgs/s)" --metric json:msgs_per_s --target ">= 1x" \
  "netlab=$(bench "$NETLAB_PORT" --mode rr -c 100)" \
  "socat=$(bench "$SOCAT_PORT" --mode rr -c 100)" \
  "ncat=$(bench "$NCAT_PORT" --mode rr -c 100)"
row --label "TLS stream, 1 connection, 64 KiB writes (MB/s)" --metric json:mb_per_s --target ">= 1x" \
  "netlab=$(bench "$NETLAB_PORT" --mode stream -c 1)" \
  "socat=$(bench "$SOCAT_PORT" --mode stream -c 1)" \
  "ncat=$(bench "$NCAT_PORT" --mode stream -c 1)"
row --label "TLS handshakes/s, 4 connections at once" --metric json:connects_per_s --target ">= 1x" \
  "netlab=$(bench "$NETLAB_PORT" --mode handshake -c 4)" \
  "s_server=$(bench "$SSERVER_PORT" --mode handshake -c 4)"
row --label "netlab stream, TLS over plain (MB/s)" --metric json:mb_per_s --target ">= 0.6x" \
  "TLS=$(bench "$NETLAB_PORT" --mode stream -c 1)" \
  "plain=$PIN_CLIENT $NETLAB bench tcp localhost:$PLAIN_PORT --json -d $SECONDS_PER_RUN --mode stream -c 1"
