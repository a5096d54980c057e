#!/usr/bin/env bash
# Regenerates the checked-in completion scripts from the built binary (tests diff them).
set -euo pipefail
cd "$(dirname "$0")/.."
netlab=${NETLAB:-build/netlab}
"$netlab" completions bash > completions/netlab.bash
"$netlab" completions zsh > completions/_netlab
"$netlab" completions fish > completions/netlab.fish
echo "completions/ regenerated from $netlab"
