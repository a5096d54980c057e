"""End-to-end tests for `netlab unpack`: values, --iter, --json, text inputs, errors, and frame
files (round trip of a tree with an empty and a 100 MB file, damage, path escapes)."""
import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
import unittest

from netlab_test import run, main


def frame(header, body=b""):
    header = dict(header, size=len(body))
    text = json.dumps(header).encode()
    return struct.pack("!I", len(text)) + text + body


def file_frame(name, body, **extra):
    return frame(dict({"type": "file", "name": name, "sha256": hashlib.sha256(body).hexdigest()}, **extra), body)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Unpack(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="netlab-unpack-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def test_values_one_per_line(self):
        data = struct.pack("<IH8s?d", 1, 2, b"hi\n", True, 0.1)
        proc = run("unpack", "<IH8s?d", input=data, check=True)
        self.assertEqual(proc.stdout.decode().splitlines(),
                         ["1", "2", "hi\\n\\x00\\x00\\x00\\x00\\x00", "true", "0.1"])
        proc = run("unpack", "--json", "<IH8s?de", input=data + struct.pack("<e", float("inf")), check=True)
        self.assertEqual(json.loads(proc.stdout), [1, 2, "hi\\n\\x00\\x00\\x00\\x00\\x00", True, 0.1, "inf"])

    def test_hex_and_base64_input_and_file_argument(self):
        self.assertEqual(run("unpack", "--hex", "<h", input=b"ff ff\n", check=True).stdout, b"-1\n")
        self.assertEqual(run("unpack", "--base64", "<I", input=b"AQAAAA==\n", check=True).stdout, b"1\n")
        with open(self.path("rec"), "wb") as f:
            f.write(struct.pack(">q", -2))
        self.assertEqual(run("unpack", ">q", self.path("rec"), check=True).stdout, b"-2\n")
        proc = run("unpack", "--hex", "<h", input=b"fg")
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"bad hex digit", proc.stderr)

    def test_wrong_input_size_and_format_errors(self):
        for args, data, message in [(["<h"], b"abc", "unpack requires a buffer of 2 bytes (got more)"),
                                    (["<i"], b"ab", "unpack requires a buffer of 4 bytes (got 2)"),
                                    (["<q"], b"", "unpack requires a buffer of 8 bytes (got 0)"),
                                    (["<z"], b"", "bad char in struct format"),
                                    (["0p"], b"", "'0p' cannot be unpacked")]:
            with self.subTest(args=args):
                proc = run("unpack", *args, input=data)
                self.assertEqual(proc.returncode, 1)
                self.assertEqual(proc.stdout, b"")
                err = proc.stderr.decode()
                self.assertTrue(err.startswith("netlab: unpack: "))
                self.assertIn(message, err)
        self.assertEqual(run("unpack").returncode, 2)
        self.assertEqual(run("unpack", "--list", "h").returncode, 2)

    def test_iter_records_and_partial_record(self):
        fmt = "!IHq8s"
        records = [(i, i & 0xFFFF, i * -7, b"%08d" % i) for i in range(50000)]
        data = b"".join(struct.pack(fmt, *r) for r in records)
        out = run("unpack", "--iter", fmt, input=data, check=True).stdout.decode().splitlines()
        self.assertEqual(len(out), len(records))
        self.assertEqual(out[123], "123\t123\t-861\t00000123")
        proc = run("unpack", "--iter", "--json", fmt, input=data[:44], check=True)
        self.assertEqual([json.loads(line) for line in proc.stdout.splitlines()],
                         [[0, 0, 0, "00000000"], [1, 1, -7, "00000001"]])
        proc = run("unpack", "--iter", fmt, input=data[:22 * 3 + 5])
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(len(proc.stdout.splitlines()), 3)  # whole records are still printed
        self.assertIn(b"5 bytes left over at offset 66", proc.stderr)
        proc = run("unpack", "--iter", "", input=b"")
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"length 0", proc.stderr)

    def test_frame_tree_round_trip_with_empty_and_100mb_files(self):
        src = self.path("src")
        os.makedirs(self.path("src", "sub", "deeper"))
        with open(self.path("src", "empty"), "wb"):
            pass
        with open(self.path("src", "sub", "note.txt"), "wb") as f:
            f.write(b"a note\n")
        os.chmod(self.path("src", "sub", "note.txt"), 0o640)
        block = os.urandom(1 << 20)
        with open(self.path("src", "sub", "deeper", "big.bin"), "wb") as f:
            for i in range(100):
                f.write(block[i:] + block[:i])
        stream = self.path("tree.frames")
        started = time.monotonic()
        proc = run_in(self.tmp, "pack", "--frame", "src", "-o", stream)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = self.path("out")
        os.mkdir(out)
        proc = run("unpack", "--frame", stream, "-C", out, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        elapsed = time.monotonic() - started
        for rel in ("empty", "sub/note.txt", "sub/deeper/big.bin"):
            self.assertEqual(sha256_of(os.path.join(out, "src", rel)), sha256_of(os.path.join(src, rel)), rel)
        self.assertEqual(os.stat(os.path.join(out, "src", "sub", "note.txt")).st_mode & 0o777, 0o640)
        listing = run("unpack", "--frame", "--list", stream, check=True).stdout.decode().splitlines()
        self.assertEqual(listing, ["src/empty\t0", "src/sub/deeper/big.bin\t104857600", "src/sub/note.txt\t7"])
        # Unpacking again refuses to overwrite, then --force replaces.
        proc = run("unpack", "--frame", stream, "-C", out)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"use --force", proc.stderr)
        run("unpack", "--frame", "--force", stream, "-C", out, check=True, timeout=300)
        self.assertLess(elapsed, 120)

    def test_frame_damage_is_reported_and_verified_files_stay(self):
        first = file_frame("first", b"one")
        stream = first + file_frame("second", b"x" * 5000)
        at = b"frame 2 at offset %d: " % len(first)
        flipped = bytearray(stream)
        flipped[-10] ^= 0x40
        for name, data, message in [("flipped", bytes(flipped), at + b"body does not match its sha256"),
                                    ("truncated", stream[:-1], at + b"stream ends inside the body")]:
            with self.subTest(name):
                out = self.path(name)
                os.mkdir(out)
                proc = run("unpack", "--frame", "-C", out, input=data)
                self.assertEqual(proc.returncode, 1)
                self.assertIn(message, proc.stderr)
                self.assertEqual(os.listdir(out), ["first"])

    def test_frame_path_escapes_are_refused(self):
        out = self.path("out")
        os.mkdir(out)
        for name in ("../escape", "/tmp/netlab-absolute-escape", "a/../../escape", "./x"):
            with self.subTest(name=name):
                proc = run("unpack", "--frame", "-C", out, input=file_frame(name, b"evil"))
                self.assertEqual(proc.returncode, 1)
                self.assertIn(b"frame 1", proc.stderr)
        self.assertFalse(os.path.exists(self.path("escape")))
        self.assertFalse(os.path.exists("/tmp/netlab-absolute-escape"))
        self.assertEqual(os.listdir(out), [])

    def test_data_frames_from_stdin_with_chunk_size(self):
        data = os.urandom(100000)
        stream = run("pack", "--frame", "--chunk-size", "30000", input=data, check=True).stdout
        self.assertEqual(stream.count(b'"type":"data"'), 4)
        self.assertEqual(run("unpack", "--frame", input=stream, check=True).stdout, data)
        listing = run("unpack", "--frame", "--list", input=stream, check=True).stdout.decode().splitlines()
        self.assertEqual(listing, ["(data)\t30000"] * 3 + ["(data)\t10000"])

    def test_frame_refuses_to_write_to_a_terminal_and_bad_chunk_size(self):
        self.assertEqual(run("pack", "--frame", "--chunk-size", "0", input=b"").returncode, 2)
        self.assertEqual(run("pack", "--frame", "--chunk-size", str(32 << 20), input=b"").returncode, 2)
        self.assertEqual(run("pack", "--frame", self.path("missing")).returncode, 1)


def run_in(cwd, *args):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return run(*args, timeout=300)
    finally:
        os.chdir(old)


if __name__ == "__main__":
    main()
