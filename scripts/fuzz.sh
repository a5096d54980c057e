#!/usr/bin/env bash
# Runs every libFuzzer target for a while (default 60 s each): scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNETLAB_SANITIZE=ON \
  -DNETLAB_FUZZ=ON -DNETLAB_FUZZ_SECONDS="$seconds" -DBUILD_TESTING=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)"
(cd build-fuzz && ctest -R '^fuzz:' --output-on-failure)
