#!/usr/bin/env bash
# Runs every test: unit and end-to-end suites on a release build, then the same suites on a
# clang build with AddressSanitizer + UndefinedBehaviorSanitizer, where any report fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc)

echo "== release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900)

echo "== sanitizer build (ASan + UBSan)"
CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DNETLAB_SANITIZE=ON \
  -DNETLAB_FUZZ=ON -DNETLAB_FUZZ_SECONDS=5 -DBUILD_TESTING=ON >/dev/null
cmake --build build-asan -j "$jobs"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export NETLAB_SANITIZED=1
(cd build-asan && ctest --output-on-failure -j "$jobs" --timeout 1800)
