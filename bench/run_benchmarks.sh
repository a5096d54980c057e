#!/usr/bin/env bash
# Runs netlab bench against netlab's servers and against peers, in one run, and prints markdown
# tables with ratios for docs/benchmarks.md. Run by hand, not by the test suite.
#
#   bench/run_benchmarks.sh [BUILD_DIR]         (default: build)
#   DURATION=2 CONNS="1 10 100 1000" bench/run_benchmarks.sh build-io
#   SECTIONS="stream udp" bench/run_benchmarks.sh       (any of: rr stream workers udp idle)
#
# Servers are pinned to CPU 0 and the load generator to CPU 1 (SERVER_CPU/CLIENT_CPU), so the
# two never share a core; on a 2-core machine that is all there is. Peers without a real
# multi-connection mode (socat, ncat fork per connection) are measured up to PEER_MAX_CONNS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
netlab=$(cd "$build" && pwd)/netlab
duration=${DURATION:-2}
conns_list=${CONNS:-"1 10 100 1000"}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}
peer_max_conns=${PEER_MAX_CONNS:-100}
idle_conns=${IDLE_CONNS:-10000}
sections=" ${SECTIONS:-rr stream workers udp idle} "
work=$(mktemp -d)
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -o "$work/raw_epoll_echo" "$here/raw_epoll_echo.c"
cc -O2 -o "$work/raw_udp_echo" "$here/raw_udp_echo.c"
ulimit -n "$(ulimit -Hn)" || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start NAME CMD... : starts a server pinned to the server CPU, waits until its port answers.
start() {
  local port=$1; shift
  taskset -c "$server_cpu" "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  "$netlab" probe "$port" --wait 10 >/dev/null
}
start_udp() {
  taskset -c "$server_cpu" "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  sleep 0.3 # UDP has no handshake to probe; the servers bind at once
}
stop() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }

# measure ARGS... : one bench run on the client CPU; prints "msgs/s p99_us MB/s" or "- - -".
measure() {
  local json
  if json=$(taskset -c "$client_cpu" "$netlab" bench "$@" --duration "$duration" --json 2>>"$work/bench.err"); then
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%.0f %.0f %.1f" % (r["msgs_per_s"], r["latency_us"]["p99"], r["mb_per_s"]))' "$json"
  else
    echo "- - -"
  fi
}

declare -A rr
servers=(echo-server raw-epoll socat ncat)
for model in blocking threads nonblocking select poll epoll uv; do servers+=("select-$model"); done

start_server() {
  local name=$1 port=$2
  case $name in
    echo-server) start "$port" "$netlab" echo-server "$port" ;;
    echo-server-w1) start "$port" "$netlab" echo-server "$port" --workers 1 ;;
    echo-server-w2) start "$port" taskset -c 0,1 "$netlab" echo-server "$port" --workers 2 ;;
    raw-epoll) start "$port" "$work/raw_epoll_echo" "$port" ;;
    socat) start "$port" socat "TCP-LISTEN:$port,fork,reuseaddr,backlog=4096" PIPE ;;
    ncat) start "$port" ncat -l -k -m 100000 127.0.0.1 "$port" --exec /bin/cat ;;
    select-*) start "$port" "$netlab" select-server "$port" --model "${name#select-}" ;;
  esac
}

if [[ $sections == *" rr "* ]]; then
echo "## TCP request/response, 64-byte messages, ${duration} s per cell"
echo
echo "msgs/s (p99 µs). Server on CPU $server_cpu, netlab bench on CPU $client_cpu."
echo
printf '| server |'; for c in $conns_list; do printf ' %s conns |' "$c"; done; echo
printf '|---|'; for c in $conns_list; do printf -- '---|'; done; echo
for name in "${servers[@]}"; do
  command -v "${name%%-*}" >/dev/null 2>&1 || [[ $name != socat && $name != ncat ]] || continue
  printf '| %s |' "$name"
  for c in $conns_list; do
    if [[ ($name == socat || $name == ncat) && $c -gt $peer_max_conns ]]; then printf ' skipped |'; continue; fi
    port=$(free_port)
    start_server "$name" "$port"
    read -r mps p99 _ <<<"$(measure tcp "$port" --conns "$c")"
    stop
    rr[$name,$c]=$mps
    printf ' %s (%s) |' "$mps" "$p99"
  done
  echo
done
echo
for c in $conns_list; do
  ref=${rr[raw-epoll,$c]:--}; ours=${rr[echo-server,$c]:--}
  [[ $ref == - || $ours == - ]] && continue
  line="echo-server / raw-epoll at $c conns: $(python3 -c "print(f'{$ours/$ref:.2f}x')")"
  for peer in socat ncat; do
    p=${rr[$peer,$c]:--}
    [[ $p == - || $p == 0 ]] || line+=", echo-server / $peer: $(python3 -c "print(f'{$ours/$p:.2f}x')")"
  done
  echo "- $line"
done
fi

if [[ $sections == *" stream "* ]]; then
echo
echo "## TCP streaming, 1 connection, 64 KiB writes"
echo
echo "| server | MB/s |"
echo "|---|---|"
for name in echo-server raw-epoll select-epoll; do
  port=$(free_port); start_server "$name" "$port"
  read -r _ _ mbs <<<"$(measure tcp "$port" --mode stream)"
  stop
  echo "| $name | $mbs |"
done
fi

if [[ $sections == *" workers "* ]]; then
echo
echo "## echo-server --workers 2 vs --workers 1 (100 conns, bench with 2 threads on CPU $client_cpu)"
echo
echo "| workers | msgs/s | p99 µs |"
echo "|---|---|---|"
for name in echo-server-w1 echo-server-w2; do
  port=$(free_port); start_server "$name" "$port"
  read -r mps p99 _ <<<"$(measure tcp "$port" --conns 100 --threads 2)"
  stop
  echo "| ${name#echo-server-w} | $mps | $p99 |"
done
fi

if [[ $sections == *" udp "* ]]; then
echo
echo "## UDP, 64-byte datagrams, 10 sockets"
echo
echo "| server | datagrams/s | p99 µs |"
echo "|---|---|---|"
for name in udp-echo raw-udp socat; do
  port=$(free_port)
  case $name in
    udp-echo) start_udp "$netlab" udp-echo "$port" ;;
    raw-udp) start_udp "$work/raw_udp_echo" "$port" ;;
    socat) command -v socat >/dev/null || continue; start_udp socat "UDP-RECVFROM:$port,fork,reuseaddr" PIPE ;;
  esac
  read -r mps p99 _ <<<"$(measure udp "$port" --conns 10 --timeout 0.2)"
  stop
  echo "| $name | $mps | $p99 |"
done
fi

if [[ $sections == *" idle "* ]]; then
echo
echo "## $idle_conns idle connections held by echo-server"
echo
port=$(free_port); start_server echo-server "$port"
before=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
python3 - "$port" "$idle_conns" <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
held = []
for _ in range(n):
    held.append(socket.create_connection(("127.0.0.1", port)))
open("/tmp/netlab-idle-ready", "w").close()
time.sleep(30)
PY
holder=$!
pids+=("$holder")
for _ in $(seq 300); do [[ -e /tmp/netlab-idle-ready ]] && break; sleep 0.1; done
sleep 1
after=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
rm -f /tmp/netlab-idle-ready
kill "$holder" 2>/dev/null || true
stop
echo "RSS before ${before} KiB, with $idle_conns connections ${after} KiB: $(( (after - before) * 1024 / idle_conns )) bytes per connection"
fi
