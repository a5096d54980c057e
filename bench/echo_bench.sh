#!/usr/bin/env bash
# netlab's echo servers against a minimal C epoll server, socat and ncat (TCP), select-server's
# models, echo-server --workers, and udp-echo against a minimal C server and socat, all driven by
# the same client (netlab bench). Every comparison is one interleaved run (A B C A B C ...;
# bench/pairs.py): all servers run at once on their own ports and each round runs the client once
# against each. Ratios are echo-server/other of messages/s or MB/s: higher is better for netlab.
# Prints markdown rows for docs/benchmarks.md. Not a test.
#
#   bench/echo_bench.sh [NETLAB]
#   DURATION=2 CONNS="1 10 100 1000" SECTIONS="rr models stream workers udp idle" bench/echo_bench.sh build/netlab
#
# Servers are pinned to CPU 0 and the load generator to CPU 1 (SERVER_CPU/CLIENT_CPU), so the two
# never share a core; on a 2-core machine that is all there is. Peers that fork per connection
# (socat, ncat) are measured up to PEER_MAX_CONNS connections.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
netlab=$(realpath "${1:-build/netlab}")
duration=${DURATION:-1}
conns_list=${CONNS:-"1 10 100 1000"}
models_conns=${MODELS_CONNS:-100}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}
peer_max_conns=${PEER_MAX_CONNS:-100}
idle_conns=${IDLE_CONNS:-10000}
sections=" ${SECTIONS:-rr models stream workers udp idle} "
P=("$here/pairs.py" --pairs "${PAIRS:-9}")
row() { "${P[@]}" "$@" || true; }
work=$(mktemp -d)
pids=()

cleanup() {
  for pid in "${pids[@]}"; do pkill -P "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -o "$work/raw_epoll_echo" "$here/raw_epoll_echo.c"
cc -O2 -o "$work/raw_udp_echo" "$here/raw_udp_echo.c"
ulimit -n "$(ulimit -Hn)" || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_udp_port() { python3 -c 'import socket; s=socket.socket(type=socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

declare -A port
# serve NAME PORT CMD...: starts a TCP server pinned to the server CPU and waits until it answers.
serve() {
  local name=$1 p=$2
  shift 2
  taskset -c "$server_cpu" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  port[$name]=$p
  "$netlab" probe "127.0.0.1:$p" --wait 10 >/dev/null
}
# serve_udp NAME PORT CMD...: UDP has no handshake to probe; waits for the socket in /proc.
serve_udp() {
  local name=$1 p=$2
  shift 2
  taskset -c "$server_cpu" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  port[$name]=$p
  local hex
  hex=$(printf '%04X' "$p")
  for _ in $(seq 200); do grep -q ":$hex " /proc/net/udp && return 0; sleep 0.05; done
  echo "echo_bench: nothing bound udp port $p" >&2; exit 1
}

# cmd NAME ARGS...: the client command line for one run against server NAME (JSON out).
cmd() {
  local name=$1
  shift
  echo "taskset -c $client_cpu $netlab bench $* 127.0.0.1:${port[$name]} --duration $duration --json"
}

if [[ $sections == *" rr "* || $sections == *" stream "* || $sections == *" models "* ]]; then
  p=$(free_port); serve echo-server "$p" "$netlab" echo-server "127.0.0.1:$p"
  p=$(free_port); serve raw-epoll "$p" "$work/raw_epoll_echo" "$p"
  p=$(free_port); serve socat "$p" socat "TCP-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr,backlog=4096" PIPE
  p=$(free_port); serve ncat "$p" ncat -l -k -m 100000 127.0.0.1 "$p" --exec /bin/cat
fi

"${P[@]}" --header
if [[ $sections == *" rr "* ]]; then
  for c in $conns_list; do
    others=("raw-epoll=$(cmd raw-epoll tcp --conns "$c")")
    if ((c <= peer_max_conns)); then
      others+=("socat=$(cmd socat tcp --conns "$c")" "ncat=$(cmd ncat tcp --conns "$c")")
    fi
    row --label "TCP rr, 64 B, $c conns (msgs/s)" --metric json:msgs_per_s \
      "echo-server=$(cmd echo-server tcp --conns "$c")" "${others[@]}"
  done
fi

if [[ $sections == *" models "* ]]; then
  models=()
  for model in blocking threads nonblocking select poll epoll uv; do
    p=$(free_port); serve "select-$model" "$p" "$netlab" select-server "127.0.0.1:$p" --model "$model"
    models+=("select-$model=$(cmd "select-$model" tcp --conns "$models_conns")")
  done
  row --label "TCP rr, 64 B, $models_conns conns: select-server models (msgs/s)" --metric json:msgs_per_s \
    "echo-server=$(cmd echo-server tcp --conns "$models_conns")" "${models[@]}"
fi

if [[ $sections == *" stream "* ]]; then
  row --label "TCP stream, 1 conn, 64 KiB writes (MB/s)" --metric json:mb_per_s \
    "echo-server=$(cmd echo-server tcp --mode stream)" \
    "raw-epoll=$(cmd raw-epoll tcp --mode stream)" \
    "socat=$(cmd socat tcp --mode stream)"
fi

if [[ $sections == *" workers "* ]]; then
  p=$(free_port); serve w1 "$p" "$netlab" echo-server "127.0.0.1:$p" --workers 1
  p=$(free_port); serve w2 "$p" taskset -c 0,1 "$netlab" echo-server "127.0.0.1:$p" --workers 2
  # The client gets both CPUs too (2 threads), as a real load generator would; the workers then
  # compete with it: see docs/benchmarks.md for when workers help.
  row --label "echo-server --workers 2 vs 1, 100 conns, bench --threads 2 (msgs/s)" --metric json:msgs_per_s \
    "workers-2=taskset -c 0,1 $netlab bench tcp 127.0.0.1:${port[w2]} --conns 100 --threads 2 --duration $duration --json" \
    "workers-1=taskset -c 0,1 $netlab bench tcp 127.0.0.1:${port[w1]} --conns 100 --threads 2 --duration $duration --json"
fi

if [[ $sections == *" udp "* ]]; then
  p=$(free_udp_port); serve_udp udp-echo "$p" "$netlab" udp-echo "127.0.0.1:$p"
  p=$(free_udp_port); serve_udp raw-udp "$p" "$work/raw_udp_echo" "$p"
  p=$(free_udp_port); serve_udp socat-udp "$p" socat "UDP-RECVFROM:$p,bind=127.0.0.1,fork,reuseaddr" PIPE
  row --label "UDP rr, 64 B, 10 sockets (datagrams/s)" --metric json:msgs_per_s \
    "udp-echo=$(cmd udp-echo udp --conns 10 --timeout 0.2)" \
    "raw-udp=$(cmd raw-udp udp --conns 10 --timeout 0.2)" \
    "socat=$(cmd socat-udp udp --conns 10 --timeout 0.2)"
fi

if [[ $sections == *" idle "* ]]; then
  # Not a comparison: the memory echo-server holds per idle connection.
  p=$(free_port)
  taskset -c "$server_cpu" "$netlab" echo-server "127.0.0.1:$p" >"$work/idle.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  "$netlab" probe "127.0.0.1:$p" --wait 10 >/dev/null
  before=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
  python3 - "$p" "$idle_conns" "$work/idle-ready" <<'PY' &
import socket, sys, time
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
open(ready, "w").close()
time.sleep(60)
PY
  holder=$!
  pids+=("$holder")
  for _ in $(seq 600); do [[ -e $work/idle-ready ]] && break; sleep 0.1; done
  # The server has accepted them all once its RSS stops growing.
  after=0
  for _ in $(seq 50); do
    now=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
    [[ $now == "$after" ]] && break
    after=$now
    sleep 0.2
  done
  kill "$holder" 2>/dev/null || true
  echo
  echo "echo-server RSS: ${before} KiB, with $idle_conns idle connections ${after} KiB:" \
    "$(( (after - before) * 1024 / idle_conns )) bytes per connection (one measurement, not a comparison)"
fi
