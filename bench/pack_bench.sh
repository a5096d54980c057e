#!/bin/sh
# pack/unpack against Python's struct in one run: records/s, MB/s and the ratio; and frame
# packing of a large file against cat. Run by hand: bench/pack_bench.sh [NETLAB] [RECORDS] [FILE_MB]
set -eu

NETLAB=${1:-build/netlab}
RECORDS=${2:-1000000}
FILE_MB=${3:-1024}
FORMAT='!IHq8s'
WORK=$(mktemp -d "${TMPDIR:-/tmp}/netlab-pack-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

# date, not python: a timer that costs 20 ms to start would be a large share of netlab's time.
now() { date +%s.%N; }
# Prints the wall time in seconds of the command given.
timed() {
  start=$(now)
  "$@"
  end=$(now)
  python3 -c "print(f'{$end - $start:.3f}')"
}

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
BYTES=$(wc -c < "$WORK/records.bin")

t_nl_unpack=$(timed sh -c "'$NETLAB' unpack --iter '$FORMAT' '$WORK/records.bin' > /dev/null")
t_py_unpack=$(timed sh -c "python3 '$WORK/py_unpack.py' '$FORMAT' '$WORK/records.bin' > /dev/null")
t_py_iter=$(timed python3 "$WORK/py_iter_only.py" "$FORMAT" "$WORK/records.bin")
t_nl_pack=$(timed sh -c "'$NETLAB' pack --iter '$FORMAT' < '$WORK/records.txt' > '$WORK/nl.bin'")
t_py_pack=$(timed sh -c "python3 '$WORK/py_pack.py' '$FORMAT' < '$WORK/records.txt' > '$WORK/py.bin'")
cmp "$WORK/nl.bin" "$WORK/records.bin"
cmp "$WORK/py.bin" "$WORK/records.bin"

report() { # name seconds
  python3 -c "r=$RECORDS; b=$BYTES; t=$2; print(f'{\"$1\":<42} {t:8.3f} s {r/t/1e6:8.2f} M records/s {b/t/1e6:9.1f} MB/s')"
}
echo "records: $RECORDS of '$FORMAT' ($BYTES bytes)"
report "netlab unpack --iter (text out)" "$t_nl_unpack"
report "python struct.iter_unpack (same text out)" "$t_py_unpack"
report "python struct.iter_unpack (no output)" "$t_py_iter"
report "netlab pack --iter (text in)" "$t_nl_pack"
report "python struct.pack loop (same text in)" "$t_py_pack"
python3 -c "print(f'ratio unpack: {$t_py_unpack/$t_nl_unpack:.1f}x python (same output), {$t_py_iter/$t_nl_unpack:.1f}x python with no output at all')"
python3 -c "print(f'ratio pack:   {$t_py_pack/$t_nl_pack:.1f}x python (same input)')"

# Frame packing of a large file against cat (both read the file and write a pipe to /dev/null).
head -c $((FILE_MB * 1024 * 1024)) /dev/urandom > "$WORK/big.bin"
t_cat=$(timed sh -c "cat '$WORK/big.bin' | cat > /dev/null")
t_frame=$(timed sh -c "'$NETLAB' pack --frame '$WORK/big.bin' | cat > /dev/null")
t_unframe=$(timed sh -c "'$NETLAB' pack --frame '$WORK/big.bin' | '$NETLAB' unpack --frame --list > /dev/null")
python3 -c "
mb = $FILE_MB * 1.048576
for name, t in (('cat', $t_cat), ('netlab pack --frame', $t_frame), ('pack --frame | unpack --frame --list', $t_unframe)):
    print(f'{name:<42} {t:8.3f} s {mb/t:9.1f} MB/s')
print(f'ratio frame packing: {$t_cat/$t_frame:.2f}x the speed of cat')"
