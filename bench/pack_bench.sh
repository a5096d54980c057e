#!/usr/bin/env bash
# pack/unpack against Python's struct, and frame packing of a large file against cat, in
# interleaved rounds (bench/pairs.py; wall time, lower is better for netlab). The Python peers
# produce the same text netlab does (or read the same), so both sides do the same work.
# Prints markdown rows for docs/benchmarks-pack.md. Not a test.
#   bench/pack_bench.sh [NETLAB] [RECORDS] [FILE_MB]        (1,000,000 records, 256 MiB)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
NETLAB=$(realpath "${1:-build/netlab}")
RECORDS=${2:-1000000}
FILE_MB=${3:-256}
P=("$here/pairs.py" --pairs "${PAIRS:-9}")
row() { "${P[@]}" "$@" || true; }
FORMAT='!IHq8s'
WORK=$(mktemp -d "${TMPDIR:-/tmp}/netlab-pack-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

python3 - "$WORK/records.bin" "$RECORDS" "$FORMAT" <<'PY'
import struct, sys
path, n, fmt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = struct.Struct(fmt)
with open(path, "wb") as f:
    f.write(b"".join(s.pack(i, i & 0xFFFF, -i * 977, b"rec%05d" % (i % 100000)) for i in range(n)))
PY

# The Python peers produce the same text netlab does, so both sides do the same work.
cat > "$WORK/py_unpack.py" <<'PY'
import struct, sys
fmt = sys.argv[1]
table = {c: (chr(c) if 0x20 <= c < 0x7F and c != 0x5C else "\\x%02x" % c) for c in range(256)}
table.update({0x5C: "\\\\", 10: "\\n", 9: "\\t", 13: "\\r"})
esc = lambda b: "".join(table[c] for c in b)
data = open(sys.argv[2], "rb").read()
out = sys.stdout.write
for a, b, c, d in struct.iter_unpack(fmt, data):
    out(f"{a}\t{b}\t{c}\t{esc(d)}\n")
PY
cat > "$WORK/py_iter_only.py" <<'PY'
import struct, sys
data = open(sys.argv[2], "rb").read()
for _ in struct.iter_unpack(sys.argv[1], data):
    pass
PY
cat > "$WORK/py_pack.py" <<'PY'
import struct, sys
s = struct.Struct(sys.argv[1])
simple = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92}
def unesc(t):
    if "\\" not in t:
        return t.encode("latin-1")
    out, i = bytearray(), 0
    while i < len(t):
        if t[i] != "\\":
            out.append(ord(t[i])); i += 1
        elif t[i + 1] == "x":
            out.append(int(t[i + 2:i + 4], 16)); i += 4
        else:
            out.append(simple[t[i + 1]]); i += 2
    return bytes(out)
w = sys.stdout.buffer.write
for line in sys.stdin:
    a, b, c, d = line.rstrip("\n").split("\t")
    w(s.pack(int(a, 0), int(b, 0), int(c, 0), unesc(d)))
PY

"$NETLAB" unpack --iter "$FORMAT" "$WORK/records.bin" > "$WORK/records.txt"
"$NETLAB" pack --iter "$FORMAT" < "$WORK/records.txt" | cmp - "$WORK/records.bin"
python3 "$WORK/py_pack.py" "$FORMAT" < "$WORK/records.txt" | cmp - "$WORK/records.bin"
head -c $((FILE_MB * 1024 * 1024)) /dev/urandom > "$WORK/big.bin"

"${P[@]}" --header
row --label "unpack --iter, $RECORDS records of '$FORMAT' (s)" --target "vs same text out <= 0.1x (10x)" \
  "netlab unpack=$NETLAB unpack --iter '$FORMAT' $WORK/records.bin > /dev/null" \
  "python struct, same text out=python3 $WORK/py_unpack.py '$FORMAT' $WORK/records.bin > /dev/null" \
  "python struct.iter_unpack, no output=python3 $WORK/py_iter_only.py '$FORMAT' $WORK/records.bin"
row --label "pack --iter, $RECORDS records of '$FORMAT' (s)" --target "<= 0.1x (10x)" \
  "netlab pack=$NETLAB pack --iter '$FORMAT' < $WORK/records.txt > /dev/null" \
  "python struct.pack, same text in=python3 $WORK/py_pack.py '$FORMAT' < $WORK/records.txt > /dev/null"
# Frame packing of a large file against cat: both read the file and write a pipe to /dev/null.
row --label "pack --frame of $FILE_MB MiB (s)" \
  "netlab pack --frame=$NETLAB pack --frame $WORK/big.bin | cat > /dev/null" \
  "cat=cat $WORK/big.bin | cat > /dev/null"
row --label "pack --frame piped to unpack --frame --list, $FILE_MB MiB (s)" \
  "netlab pack, unpack=$NETLAB pack --frame $WORK/big.bin | $NETLAB unpack --frame --list > /dev/null" \
  "cat=cat $WORK/big.bin | cat > /dev/null"
