#!/usr/bin/env bash
# Fresh machine to a running netlab: install the Debian packages, build, and show an echo
# exchange on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"

demo=$(mktemp -d)
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$demo"' EXIT
./build/netlab echo-server 127.0.0.1:0 --upper --port-file "$demo/port" &
server=$!
for _ in $(seq 100); do [ -s "$demo/port" ] && break; sleep 0.05; done
port=$(cat "$demo/port")
echo "\$ netlab echo-client 127.0.0.1:$port --message 'hello from netlab'"
./build/netlab echo-client "127.0.0.1:$port" --message "hello from netlab"
echo "netlab is built: ./build/netlab --help lists every command"
