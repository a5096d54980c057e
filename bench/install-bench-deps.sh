#!/bin/sh
# Installs from Debian 12 what the scripts in bench/ compare netlab against. Benchmarks are run by
# hand, not by the test suite, so scripts/install-deps.sh does not carry these.
#   sudo bench/install-bench-deps.sh
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  parallel socat ncat openssh-server openssh-client openssl python3 procps util-linux \
  linux-perf strace
