#!/usr/bin/env bash
# Soak test, run by hand: MINUTES (default 5) of verified traffic on loopback against
# echo-server (netlab bench tcp, rr and stream), udp-echo (netlab bench udp) and exec-server
# (exec-client requests running `cat`, each output compared with its input: bench speaks only
# the echo protocol, not exec frames). Then it reports lost or corrupted bytes and each
# server's RSS at the start, once under load, and at the end. Exit 0 only if nothing was lost,
# corrupted or refused and no server grew by more than the slack while under steady load.
#
#   bash bench/soak.sh [MINUTES]              MINUTES may be fractional: 0.5 is 30 seconds
#   NETLAB=build-io/netlab bash bench/soak.sh 60
#   SOAK_RSS_SLACK_KIB=16384                  growth allowed between "steady" and "end"
#   SOAK_SUMMARY=summary.json                 also writes every figure as one JSON object
#
# tests/e2e/test_soak.py runs this for 30 seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
minutes=${1:-5}
netlab=${NETLAB:-$here/../build/netlab}
slack_kib=${SOAK_RSS_SLACK_KIB:-16384}
summary=${SOAK_SUMMARY:-}

if ! seconds=$(python3 -c 'import sys; s = round(float(sys.argv[1]) * 60); assert s >= 10; print(s)' "$minutes" 2>/dev/null); then
  echo "usage: soak.sh [MINUTES]   (at least 10 seconds' worth, e.g. 0.5)" >&2
  exit 2
fi
[[ -x $netlab ]] || { echo "soak.sh: no netlab binary at $netlab (set NETLAB)" >&2; exit 2; }

work=$(mktemp -d)
server_pids=()
load_pids=()
cleanup() {
  # Only what this script started, by PID.
  for pid in "${load_pids[@]}" "${server_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${load_pids[@]}" "${server_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
# So a TERM or Ctrl-C still runs the cleanup above (bash skips EXIT traps when killed outright).
trap 'exit 143' TERM
trap 'exit 130' INT

head -c 32 /dev/urandom | base64 > "$work/token"
chmod 600 "$work/token"

# start NAME ARGS...: starts a netlab server on an ephemeral loopback port; sets $pid.
start() {
  local name=$1
  shift
  "$netlab" "$@" --port-file "$work/$name.port" 2> "$work/$name.log" &
  pid=$!
  server_pids+=("$pid")
  for _ in $(seq 200); do
    [[ -s $work/$name.port ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "soak.sh: $name did not start: $(cat "$work/$name.log")" >&2
  exit 1
}
start echo echo-server 127.0.0.1:0
echo_pid=$pid
start udp udp-echo 127.0.0.1:0
udp_pid=$pid
start exec exec-server 127.0.0.1:0 --token-file "$work/token"
exec_pid=$pid
echo_port=$(cat "$work/echo.port")
udp_port=$(cat "$work/udp.port")
exec_port=$(cat "$work/exec.port")

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# exec_loop N END: `cat` requests of random sizes until END (epoch seconds), output compared
# with input byte for byte; counts go to exec.N.
exec_loop() {
  local n=$1 end=$2 requests=0 bytes=0 failed=0 corrupted=0 size
  local in=$work/exec.$n.in out=$work/exec.$n.out
  while (( $(date +%s) < end )); do
    size=$(( (RANDOM * 32768 + RANDOM) % 262144 ))
    head -c "$size" /dev/urandom > "$in"
    if timeout 120 "$netlab" exec-client "127.0.0.1:$exec_port" --token-file "$work/token" -- cat < "$in" > "$out" \
        2>> "$work/exec.$n.err"; then
      if cmp -s "$in" "$out"; then
        bytes=$(( bytes + size ))
      else
        corrupted=$(( corrupted + 1 ))
      fi
    else
      failed=$(( failed + 1 ))
    fi
    requests=$(( requests + 1 ))
  done
  echo "$requests $bytes $failed $corrupted" > "$work/exec.$n"
}

# Warm-up: one verified exchange each, so "start" is a server that has served once.
"$netlab" bench tcp "127.0.0.1:$echo_port" --messages 100 --json > /dev/null
"$netlab" bench udp "127.0.0.1:$udp_port" --messages 100 --timeout 5 --json > /dev/null
echo warm | "$netlab" exec-client "127.0.0.1:$exec_port" --token-file "$work/token" -- cat > /dev/null
sleep 0.5
rss_start="$(rss "$echo_pid") $(rss "$udp_pid") $(rss "$exec_pid")"

echo "soak: ${seconds}s of verified traffic on loopback (echo-server :$echo_port, udp-echo :$udp_port," \
     "exec-server :$exec_port)"
end=$(( $(date +%s) + seconds ))
"$netlab" bench tcp "127.0.0.1:$echo_port" --mode rr --conns 8 --duration "$seconds" --json > "$work/rr.json" &
load_pids+=($!)
"$netlab" bench tcp "127.0.0.1:$echo_port" --mode stream --conns 2 --duration "$seconds" --json \
  > "$work/stream.json" &
load_pids+=($!)
# A generous --timeout: a datagram is "lost" only if no echo came at all, not if the machine was busy.
"$netlab" bench udp "127.0.0.1:$udp_port" --conns 4 --timeout 5 --duration "$seconds" --json > "$work/udp.json" &
load_pids+=($!)
exec_loop 1 "$end" &
load_pids+=($!)
exec_loop 2 "$end" &
load_pids+=($!)

# "steady": a fifth of the way in, every connection open and every buffer at its working size.
sleep $(( seconds / 5 )) &
wait $!
rss_steady="$(rss "$echo_pid") $(rss "$udp_pid") $(rss "$exec_pid")"

status=0
for pid in "${load_pids[@]}"; do
  wait "$pid" || status=1
done
load_pids=()
rss_end="$(rss "$echo_pid") $(rss "$udp_pid") $(rss "$exec_pid")"
# A graceful stop must succeed too: it is where a sanitizer build reports leaks.
for name in echo udp exec; do
  pid_var=${name}_pid
  pid=${!pid_var}
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "soak: the $name server died during the run: $(tail -c 2000 "$work/$name.log")" >&2
    status=1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait "$pid"; then
    echo "soak: the $name server did not stop cleanly: $(tail -c 2000 "$work/$name.log")" >&2
    status=1
  fi
done
server_pids=()

python3 - "$work" "$seconds" "$slack_kib" "$status" "$summary" "$rss_start" "$rss_steady" "$rss_end" <<'EOF'
import json, os, sys

work, seconds, slack, status, summary = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
servers = ["echo-server", "udp-echo", "exec-server"]
rss = {name: {"start": int(a), "steady": int(b), "end": int(c)}
       for name, a, b, c in zip(servers, *(sys.argv[i].split() for i in (6, 7, 8)))}

def load(name):
    try:
        with open(os.path.join(work, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

problems = [] if status == 0 else ["a load generator or server failed (see above)"]
result = {"seconds": seconds, "rss_kib": rss, "rss_slack_kib": slack}
for key, file in (("echo_rr", "rr.json"), ("echo_stream", "stream.json"), ("udp", "udp.json")):
    r = load(file)
    if r is None:
        problems.append(f"{key}: no result")
        continue
    result[key] = {k: r[k] for k in ("messages", "bytes", "errors", "mismatches", "lost", "late", "conns")}
    print(f"  {key:12} {r['conns']:2} conns  {r['messages']:>10} msgs  {r['bytes']:>14} bytes  "
          f"errors {r['errors']}  mismatches {r['mismatches']}  lost {r['lost']}  late {r['late']}")
    for k in ("errors", "mismatches", "lost"):
        if r[k]:
            problems.append(f"{key}: {r[k]} {k}")
    if r["messages"] == 0:
        problems.append(f"{key}: no traffic")
exec_total = {"requests": 0, "bytes": 0, "failed": 0, "corrupted": 0}
for n in (1, 2):
    try:
        with open(os.path.join(work, f"exec.{n}")) as f:
            for k, v in zip(exec_total, f.read().split()):
                exec_total[k] += int(v)
    except OSError:
        problems.append(f"exec loop {n}: no result")
result["exec"] = exec_total
print(f"  {'exec cat':12}  2 loops  {exec_total['requests']:>10} reqs  {exec_total['bytes']:>14} bytes  "
      f"failed {exec_total['failed']}  corrupted {exec_total['corrupted']}")
if exec_total["failed"] or exec_total["corrupted"]:
    errors = ""
    for n in (1, 2):
        try:
            with open(os.path.join(work, f"exec.{n}.err")) as f:
                errors += f.read()
        except OSError:
            pass
    problems.append(f"exec: {exec_total['failed']} failed, {exec_total['corrupted']} corrupted: {errors[-500:]}")
if exec_total["requests"] == 0:
    problems.append("exec: no requests")
print(f"  RSS KiB      {'start':>8} {'steady':>8} {'end':>8}  (end - steady allowed: {slack})")
for name, r in rss.items():
    print(f"  {name:12} {r['start']:>8} {r['steady']:>8} {r['end']:>8}")
    if r["end"] - r["steady"] > slack:
        problems.append(f"{name}: RSS grew {r['end'] - r['steady']} KiB under steady load")
result["problems"] = problems
result["ok"] = not problems
if summary:
    with open(summary, "w") as f:
        json.dump(result, f)
print("soak: OK, nothing lost or corrupted, RSS stable" if not problems else "soak: FAILED\n  " + "\n  ".join(problems))
sys.exit(0 if not problems else 1)
EOF
