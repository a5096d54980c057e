#!/usr/bin/env bash
# Installs every Debian package netlab needs to build, test and package itself.
# Idempotent: packages already present are skipped by apt-get.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config ninja-build
  libcli11-dev libfmt-dev libuv1-dev nlohmann-json3-dev catch2 libssh-dev libssl-dev
  # sanitizer and fuzzing builds
  clang libclang-rt-14-dev
  # scripts/format-check.sh
  clang-format
  # real peers the end-to-end tests talk to
  python3 openssl socat ncat netcat-openbsd openssh-server openssh-client procps iproute2 tmux
  # shells for completion tests, man page and packaging checks
  bash-completion zsh fish groff man-db dpkg-dev file lintian
  # peers only the hand-run benchmarks in bench/ compare against
  pssh
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: installed ${missing[*]}"
