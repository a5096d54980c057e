#!/usr/bin/env bash
# ssh-exec against OpenSSH on loopback: wall time to run `true` on 20 sessions (netlab -j 20,
# a shell loop of ssh, a backgrounded ssh per session, parallel-ssh if installed), and SFTP
# throughput for one file (netlab --put/--get vs sftp and scp). Starts its own sshd on a free
# port with keys in a temporary folder; touches no ~/.ssh. Needs root (sshd logs in as root).
# With DELAY_MS=N it also repeats the SFTP runs through bench/delay_proxy.py, which adds N ms each
# way (a 2N ms round trip), to show how each tool copes with latency.
# Not a test: prints a table and ratios. Usage: [DELAY_MS=N] bench/ssh_bench.sh [NETLAB] [SESSIONS] [MB]
set -euo pipefail

NETLAB=${1:-${NETLAB:-build/netlab}}
SESSIONS=${2:-20}
MB=${3:-200}
TMP=$(mktemp -d)
SSHD_PID=""
PROXY_PID=""
DELAY_MS=${DELAY_MS:-0}
cleanup() {
  [[ -n $SSHD_PID ]] && kill "$SSHD_PID" 2>/dev/null || true
  [[ -n $PROXY_PID ]] && kill "$PROXY_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

ssh-keygen -q -t ed25519 -N "" -f "$TMP/host_key"
ssh-keygen -q -t ed25519 -N "" -f "$TMP/id"
cp "$TMP/id.pub" "$TMP/authorized_keys"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p /run/sshd
cat > "$TMP/sshd_config" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $TMP/host_key
PidFile $TMP/sshd.pid
AuthorizedKeysFile $TMP/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
Subsystem sftp internal-sftp
MaxStartups 200
MaxSessions 200
LogLevel ERROR
CONF
# Where a private mount namespace can be made, an empty folder is mounted over root's home for
# sshd and its sessions only, as the tests do: the remote shell then reads no start-up files,
# which on some machines cost more than everything measured here.
SSHD=(/usr/sbin/sshd -D -e -f "$TMP/sshd_config")
mkdir -p "$TMP/empty_home"
if command -v unshare >/dev/null && unshare --mount --propagation private mount --bind "$TMP/empty_home" ~root 2>/dev/null; then
  SSHD=(unshare --mount --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$TMP/empty_home" ~root "${SSHD[@]}")
fi
"${SSHD[@]}" 2>"$TMP/sshd.log" &
SSHD_PID=$!
for _ in $(seq 200); do
  if python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$PORT),1); sys.exit(0 if s.recv(4)==b'SSH-' else 1)" 2>/dev/null; then
    break
  fi
  sleep 0.05
done
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$TMP/host_key.pub")" > "$TMP/known_hosts"
mkdir -p "$TMP/home"
export HOME=$TMP/home
unset SSH_AUTH_SOCK
SSH_OPTS=(-q -o BatchMode=yes -o UserKnownHostsFile="$TMP/known_hosts" -o StrictHostKeyChecking=yes -i "$TMP/id" -p "$PORT")
HOSTS=()
for _ in $(seq "$SESSIONS"); do HOSTS+=("root@127.0.0.1:$PORT"); done

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
printf "%-40s %10s\n" "fan-out: true on $SESSIONS sessions" "seconds"

start=$(now)
"$NETLAB" ssh-exec --known-hosts "$TMP/known_hosts" -i "$TMP/id" -j "$SESSIONS" "${HOSTS[@]}" -- true >/dev/null
t_netlab=$(secs "$start" "$(now)")
printf "%-40s %10s\n" "netlab ssh-exec -j $SESSIONS" "$t_netlab"

start=$(now)
for _ in $(seq "$SESSIONS"); do ssh "${SSH_OPTS[@]}" root@127.0.0.1 true; done
t_loop=$(secs "$start" "$(now)")
printf "%-40s %10s\n" "shell loop of ssh" "$t_loop"

start=$(now)
for _ in $(seq "$SESSIONS"); do ssh "${SSH_OPTS[@]}" root@127.0.0.1 true & done
wait_pids=$(jobs -p | grep -v "^$SSHD_PID$" || true)
for pid in $wait_pids; do wait "$pid"; done
t_bg=$(secs "$start" "$(now)")
printf "%-40s %10s\n" "ssh & per session (shell-parallel)" "$t_bg"

t_pssh=""
PSSH=$(command -v parallel-ssh || command -v pssh || true)
if [[ -n $PSSH ]]; then
  for _ in $(seq "$SESSIONS"); do echo "root@127.0.0.1:$PORT"; done > "$TMP/pssh_hosts"
  start=$(now)
  "$PSSH" -p "$SESSIONS" -h "$TMP/pssh_hosts" -x "-i $TMP/id -o UserKnownHostsFile=$TMP/known_hosts" true >/dev/null
  t_pssh=$(secs "$start" "$(now)")
  printf "%-40s %10s\n" "parallel-ssh -p $SESSIONS" "$t_pssh"
fi
echo "netlab vs shell loop: $(ratio "$t_loop" "$t_netlab")x faster; vs ssh &: $(ratio "$t_bg" "$t_netlab")x"
[[ -n $t_pssh ]] && echo "netlab vs parallel-ssh: $(ratio "$t_pssh" "$t_netlab")x (>= 1 is the target)"

head -c "$((MB << 20))" /dev/urandom > "$TMP/big"
mkdir -p "$TMP/remote"
printf "\n%-40s %10s %10s\n" "SFTP: $MB MB file" "seconds" "MB/s"
mbps() { awk -v mb="$MB" -v t="$1" 'BEGIN { printf "%.0f", mb / t }'; }

# Times netlab --put/--get and OpenSSH sftp put/get of $TMP/big through port $1 (names tagged
# $2), printing a row each; leaves the times in t_put, t_get, t_sftp_put and t_sftp_get.
sftp_round() {
  local port=$1 tag=$2
  start=$(now)
  "$NETLAB" ssh-exec --known-hosts "$TMP/known_hosts" -i "$TMP/id" --put "$TMP/big" "$TMP/remote/netlab$tag" "root@127.0.0.1:$port"
  t_put=$(secs "$start" "$(now)")
  printf "%-40s %10s %10s\n" "netlab --put (incl. SHA-256 verify)" "$t_put" "$(mbps "$t_put")"
  start=$(now)
  "$NETLAB" ssh-exec --known-hosts "$TMP/known_hosts" -i "$TMP/id" --get "$TMP/remote/netlab$tag" "$TMP/back_netlab$tag" "root@127.0.0.1:$port"
  t_get=$(secs "$start" "$(now)")
  printf "%-40s %10s %10s\n" "netlab --get (incl. SHA-256 verify)" "$t_get" "$(mbps "$t_get")"
  start=$(now)
  printf 'put %s %s\n' "$TMP/big" "$TMP/remote/sftp$tag" |
    sftp -q -b - -o UserKnownHostsFile="$TMP/known_hosts" -i "$TMP/id" -P "$port" root@127.0.0.1 >/dev/null
  t_sftp_put=$(secs "$start" "$(now)")
  printf "%-40s %10s %10s\n" "OpenSSH sftp put" "$t_sftp_put" "$(mbps "$t_sftp_put")"
  start=$(now)
  printf 'get %s %s\n' "$TMP/remote/sftp$tag" "$TMP/back_sftp$tag" |
    sftp -q -b - -o UserKnownHostsFile="$TMP/known_hosts" -i "$TMP/id" -P "$port" root@127.0.0.1 >/dev/null
  t_sftp_get=$(secs "$start" "$(now)")
  printf "%-40s %10s %10s\n" "OpenSSH sftp get" "$t_sftp_get" "$(mbps "$t_sftp_get")"
  cmp -s "$TMP/big" "$TMP/back_netlab$tag" && cmp -s "$TMP/big" "$TMP/back_sftp$tag" ||
    { echo "ssh_bench: copies differ" >&2; exit 1; }
}

sftp_round "$PORT" ""

start=$(now)
scp -q -o UserKnownHostsFile="$TMP/known_hosts" -i "$TMP/id" -P "$PORT" "$TMP/big" "root@127.0.0.1:$TMP/remote/scp"
t_scp=$(secs "$start" "$(now)")
printf "%-40s %10s %10s\n" "OpenSSH scp upload" "$t_scp" "$(mbps "$t_scp")"

echo "netlab put vs sftp put: $(ratio "$t_sftp_put" "$t_put")x; get vs sftp get: $(ratio "$t_sftp_get" "$t_get")x (>= 0.8 is the target)"

if ((DELAY_MS > 0)); then
  PROXY_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 "$(dirname "$0")/delay_proxy.py" "$PROXY_PORT" "$PORT" "$DELAY_MS" &
  PROXY_PID=$!
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PROXY_PORT), 1)" 2>/dev/null && break
    sleep 0.05
  done
  echo "[127.0.0.1]:$PROXY_PORT $(cut -d' ' -f1,2 "$TMP/host_key.pub")" >> "$TMP/known_hosts"
  printf "\n%-40s %10s %10s\n" "SFTP through ${DELAY_MS} ms each way" "seconds" "MB/s"
  sftp_round "$PROXY_PORT" _delay
  echo "with ${DELAY_MS} ms each way: netlab put vs sftp put: $(ratio "$t_sftp_put" "$t_put")x; get vs sftp get: $(ratio "$t_sftp_get" "$t_get")x"
fi
