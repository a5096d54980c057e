"""Differential test: netlab pack/unpack against python3's struct on thousands of random cases.

Seeded and bounded: every case goes through one `pack --batch` and one `unpack --batch` process,
so the suite takes seconds even in the sanitizer build. Compared: the bytes, the values (as text
in netlab's notation), and that errors happen in exactly the same cases.
"""
import math
import os
import random
import struct
import unittest

from netlab_test import run, main

SEED = int(os.environ.get("NETLAB_DIFF_SEED", "20240606"))
CASES = int(os.environ.get("NETLAB_DIFF_CASES", "6000"))

INT_CODES = "bBhHiIlLqQnNP"
CODES = "xcbB?hHiIlLqQnNefdspP"
PREFIXES = ["", "@", "=", "<", ">", "!"]


def escape(data):
    out = []
    for c in data:
        if 0x20 <= c < 0x7F and c != 0x5C:
            out.append(chr(c))
        elif c == 0x5C:
            out.append("\\\\")
        elif c == 10:
            out.append("\\n")
        elif c == 9:
            out.append("\\t")
        elif c == 13:
            out.append("\\r")
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def unescape(text):
    out = bytearray()
    i = 0
    simple = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34}
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode("latin-1")
            i += 1
            continue
        e = text[i + 1]
        if e == "x":
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            out.append(simple[e])
            i += 2
    return bytes(out)


def value_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return escape(value)


def int_bounds(code, native):
    size = struct.calcsize(("@" if native else "<") + code) if code in "nNP" or native else \
        struct.calcsize("<" + code)
    if code == "P":
        return -(1 << 63), (1 << 64) - 1
    if code in "bhilqn":
        return -(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1
    return 0, (1 << (8 * size)) - 1


def int_text(rng, value):
    style = rng.random()
    sign = "-" if value < 0 else ("+" if rng.random() < 0.1 else "")
    magnitude = abs(value)
    if style < 0.6:
        return sign + str(magnitude)
    if style < 0.8:
        return sign + rng.choice(["0x", "0X"]) + format(magnitude, "x")
    if style < 0.9:
        return sign + "0o" + format(magnitude, "o")
    return sign + "0b" + format(magnitude, "b")


def random_int(rng, code, native):
    low, high = int_bounds(code, native)
    pick = rng.random()
    if pick < 0.08:
        return rng.choice([low, high, low - 1, high + 1, 0, -1])
    if pick < 0.1:
        return rng.choice([1 << 64, -(1 << 64), (1 << 63), -(1 << 63) - 1, 1 << 100])
    if pick < 0.75:
        return rng.randint(low, high)
    bits = rng.randint(1, 64)
    value = rng.getrandbits(bits)
    return value if low == 0 and rng.random() < 0.8 else rng.choice([value, -value])


def random_float(rng):
    pick = rng.random()
    if pick < 0.08:
        return rng.choice(["inf", "-inf", "nan", "-0.0", "0.0", "65504", "65520", "65519.99", "1e39",
                           "3.4028235e38", "3.4028236e38", "5.960464477539063e-08", "2.9802322387695312e-08",
                           "1e-320", "1e999", "-1e999", "Infinity", "NaN"])
    if pick < 0.4:
        return repr(rng.uniform(-70000, 70000))
    if pick < 0.5:
        return str(rng.randint(-100000, 100000))
    if pick < 0.9:
        return repr(rng.uniform(-1, 1) * 2.0 ** rng.randint(-30, 20))
    return repr(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])


def random_bytes(rng, length):
    return bytes(rng.choice([rng.randrange(256), rng.randrange(32, 127)]) for _ in range(length))


def random_format(rng):
    prefix = rng.choice(PREFIXES)
    native = prefix in ("", "@")
    items = []
    for _ in range(rng.randint(0, 6)):
        code = rng.choice(CODES)
        if not native and code in "nNP" and rng.random() < 0.85:
            code = rng.choice("bhilq")  # mostly valid formats; some n/N/P stay to check the refusal
        if rng.random() < 0.02:
            code = rng.choice("zZaA%3")
        count = ""
        r = rng.random()
        if code in "sp":
            count = str(rng.randint(0, 12)) if r < 0.85 else ""
        elif r < 0.15:
            count = "0"
        elif r < 0.35:
            count = str(rng.randint(2, 4))
        items.append(count + code)
        if rng.random() < 0.05:
            items.append(" ")
    return prefix + "".join(items), native


def python_value(code, text):
    if code in INT_CODES:
        return int(text, 0)
    if code in "efd":
        return float(text)
    if code == "?":
        return text in ("true", "1")
    return unescape(text)


def make_values(rng, fmt, native):
    """Texts for every value the format takes (per Python), sometimes one too many or too few."""
    try:
        st = struct.Struct(fmt)
    except struct.error:
        return ["1"], None
    codes = []
    body = fmt.lstrip("@=<>!")
    count = ""
    for ch in body:
        if ch.isdigit():
            count += ch
            continue
        if ch.isspace():
            continue
        n = int(count) if count else 1
        count = ""
        if ch == "x":
            continue
        if ch in "sp":
            codes.append((ch, n))
        else:
            codes.extend((ch, 1) for _ in range(n))
    texts = []
    for code, n in codes:
        if code in INT_CODES:
            texts.append(int_text(rng, random_int(rng, code, native)))
        elif code in "efd":
            texts.append(random_float(rng))
        elif code == "?":
            texts.append(rng.choice(["true", "false", "1", "0"]))
        elif code == "c":
            texts.append(escape(random_bytes(rng, 1 if rng.random() < 0.97 else rng.choice([0, 2]))))
        else:
            texts.append(escape(random_bytes(rng, rng.randint(0, n + 3))))
    r = rng.random()
    if r < 0.03:
        texts.append("1")
    elif r < 0.06 and texts:
        texts.pop()
    return texts, st


def python_pack(fmt, texts):
    try:
        objs = [python_value(code, text) for code, text in zip(value_codes(fmt), texts)]
        if len(texts) != len(objs):
            objs += [0] * (len(texts) - len(objs))
        return struct.pack(fmt, *objs)
    except Exception:  # struct.error, OverflowError, SystemError: all are "an error"
        return None


def value_codes(fmt):
    codes = []
    count = ""
    for ch in fmt.lstrip("@=<>!"):
        if ch.isdigit():
            count += ch
        elif ch.isspace():
            continue
        else:
            n = int(count) if count else 1
            count = ""
            if ch in "sp":
                codes.append(ch)
            elif ch != "x":
                codes.extend(ch * n)
    return codes


def python_unpack(fmt, data):
    try:
        return "\t".join(value_text(v) for v in struct.unpack(fmt, data))
    except Exception:
        return None


class Differential(unittest.TestCase):
    def test_pack_and_unpack_match_python_struct(self):
        rng = random.Random(SEED)
        pack_cases = []
        for _ in range(CASES):
            fmt, native = random_format(rng)
            texts, _ = make_values(rng, fmt, native)
            pack_cases.append((fmt, texts))
        lines = "".join("\t".join([fmt, *texts]) + "\n" for fmt, texts in pack_cases)
        proc = run("pack", "--batch", "-o", "-", input=lines.encode(), timeout=300)
        self.assertIn(proc.returncode, (0, 1), proc.stderr)
        got = proc.stdout.decode().splitlines()
        self.assertEqual(len(got), len(pack_cases))

        unpack_cases = []
        errors = 0
        for (fmt, texts), line in zip(pack_cases, got):
            expected = python_pack(fmt, texts)
            where = f"pack {fmt!r} {texts!r}"
            if expected is None:
                errors += 1
                self.assertTrue(line.startswith("error: "), f"{where}: python raised, netlab gave {line!r}")
                continue
            self.assertEqual(line, expected.hex(), where)
            unpack_cases.append((fmt, expected))
            # Random bytes of the right size reach values packing cannot (NaN payloads, bools of 2).
            unpack_cases.append((fmt, random_bytes(rng, len(expected))))
            if rng.random() < 0.05:
                unpack_cases.append((fmt, random_bytes(rng, len(expected) + rng.choice([-1, 1]))))
        # Both outcomes must be well represented, or the test proves little.
        self.assertGreater(errors, CASES // 20)
        self.assertGreater(len(pack_cases) - errors, CASES // 3)

        lines = "".join(f"{fmt}\t{data.hex()}\n" for fmt, data in unpack_cases)
        proc = run("unpack", "--batch", input=lines.encode(), timeout=300)
        self.assertIn(proc.returncode, (0, 1), proc.stderr)
        got = proc.stdout.decode().split("\n")[:-1]
        self.assertEqual(len(got), len(unpack_cases))
        for (fmt, data), line in zip(unpack_cases, got):
            expected = python_unpack(fmt, data)
            where = f"unpack {fmt!r} {data.hex()}"
            if expected is None:
                self.assertTrue(line.startswith("error: "), f"{where}: python raised, netlab gave {line!r}")
            else:
                self.assertEqual(line, expected, where)

    def test_printed_values_pack_back_to_the_same_bytes(self):
        rng = random.Random(SEED + 1)
        cases = []
        for _ in range(CASES // 4):
            fmt, native = random_format(rng)
            try:
                size = struct.calcsize(fmt)
            except struct.error:
                continue
            if "0p" in fmt:
                continue
            data = random_bytes(rng, size)
            values = struct.unpack(fmt, data)
            if any(isinstance(v, float) and math.isnan(v) for v in values):
                continue  # NaN payloads are not kept through text, as in Python
            cases.append((fmt, data))
        lines = "".join(f"{fmt}\t{data.hex()}\n" for fmt, data in cases)
        proc = run("unpack", "--batch", input=lines.encode(), timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        printed = proc.stdout.decode().split("\n")[:-1]
        back = "".join(f"{fmt}\t{line}\n" if value_codes(fmt) else f"{fmt}\n"
                       for (fmt, _), line in zip(cases, printed))
        proc = run("pack", "--batch", "-o", "-", input=back.encode(), timeout=300)
        got = proc.stdout.decode().splitlines()
        for (fmt, data), line in zip(cases, got):
            # 'p' keeps only the counted bytes and pads, so compare through Python's own round trip.
            expected = struct.pack(fmt, *struct.unpack(fmt, data)).hex()
            self.assertEqual(line, expected, f"{fmt!r} {data.hex()}")


if __name__ == "__main__":
    main()
