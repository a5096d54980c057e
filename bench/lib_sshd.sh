# Sourced by bench scripts (bash): local OpenSSH sshd "hosts" for benchmarks, as the test fixture
# tests/e2e/sshd_fixture.py makes them: each on 127.0.0.1 on a free port, with its own host key, all
# trusting one client key through their own authorized_keys file, everything in "$SSHD_TMP" (made
# by the caller, removed by sshd_cleanup). Needs root (sshd switches to the login user).
#
#   SSHD_TMP=$(mktemp -d); source bench/lib_sshd.sh; trap sshd_cleanup EXIT
#   sshd_start; sshd_start             # two hosts: ports in SSHD_PORTS, pids in SSHD_PIDS
#   ssh -F "$SSHD_TMP/ssh_config" h1 true       # Host h1, h2, ... ; hN-cm: the same with ControlMaster
#   "$SSHD_TMP/id"  "$SSHD_TMP/known_hosts"     # for netlab's -i / --known-hosts
# Where a private mount namespace can be made, an empty folder is mounted over root's home for
# sshd and its sessions only: the remote shell then reads no start-up files, the same for every
# client measured.
SSHD_PORTS=()
SSHD_PIDS=()

sshd_cleanup() {
  local pid
  if [[ -f $SSHD_TMP/ssh_config ]]; then
    local i
    for i in "${!SSHD_PORTS[@]}"; do
      ssh -F "$SSHD_TMP/ssh_config" -O exit "h$((i + 1))-cm" 2>/dev/null || true
    done
  fi
  for pid in "${SSHD_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SSHD_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$SSHD_TMP"
}

sshd_start() {
  [[ $(id -u) == 0 ]] || { echo "bench: sshd benchmarks need root" >&2; exit 1; }
  local n=$(( ${#SSHD_PORTS[@]} + 1 ))
  local dir=$SSHD_TMP/sshd$n
  mkdir -p "$dir" /run/sshd "$SSHD_TMP/home" "$SSHD_TMP/empty_home"
  if [[ ! -f $SSHD_TMP/id ]]; then
    ssh-keygen -q -t ed25519 -N "" -f "$SSHD_TMP/id"
    cp "$SSHD_TMP/id.pub" "$SSHD_TMP/authorized_keys"
  fi
  ssh-keygen -q -t ed25519 -N "" -f "$dir/host_key"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $SSHD_TMP/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
Subsystem sftp internal-sftp
MaxStartups 500
MaxSessions 500
LogLevel ERROR
CONF
  local cmd=(/usr/sbin/sshd -D -e -f "$dir/sshd_config")
  if command -v unshare >/dev/null && unshare --mount --propagation private mount --bind "$SSHD_TMP/empty_home" ~root 2>/dev/null; then
    cmd=(unshare --mount --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$SSHD_TMP/empty_home" ~root "${cmd[@]}")
  fi
  "${cmd[@]}" 2>"$dir/sshd.log" &
  SSHD_PIDS+=($!)
  local ok=
  for _ in $(seq 400); do
    if python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$port),1); sys.exit(0 if s.recv(4)==b'SSH-' else 1)" 2>/dev/null; then
      ok=1; break
    fi
    sleep 0.05
  done
  [[ -n $ok ]] || { echo "bench: sshd on $port never answered: $(cat "$dir/sshd.log")" >&2; exit 1; }
  SSHD_PORTS+=("$port")
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub")" >> "$SSHD_TMP/known_hosts"
  {
    printf 'Host h%d\n  HostName 127.0.0.1\n  Port %d\n  User root\n' "$n" "$port"
    printf 'Host h%d-cm\n  HostName 127.0.0.1\n  Port %d\n  User root\n' "$n" "$port"
    printf '  ControlMaster auto\n  ControlPath %s/cm-%%C\n  ControlPersist 600\n' "$SSHD_TMP"
  } >> "$SSHD_TMP/ssh_config.hosts"
  {
    cat "$SSHD_TMP/ssh_config.hosts"
    printf 'Host *\n  IdentityFile %s/id\n  IdentitiesOnly yes\n  UserKnownHostsFile %s/known_hosts\n' "$SSHD_TMP" "$SSHD_TMP"
    printf '  StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n'
  } > "$SSHD_TMP/ssh_config"
}
