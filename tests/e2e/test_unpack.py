"""End-to-end tests for `netlab unpack`: values, --iter, --json, text inputs, errors, and frame
files (round trip of a tree with an empty and a 100 MB file, damage, path escapes)."""
import hashlib
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import tempfile
import time
import unittest

from netlab_test import NETLAB, run, main


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
        for args, data, message in [(["<h"], b"abc", "unpack requires a buffer of 2 bytes (got 3)"),
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

    def test_record_over_1_gib_is_refused_before_reading(self):
        # pack refuses such a record; unpack held the input in memory up to the record's size
        # (an endless /dev/zero grew to 2 GB, then was counted forever) and ended on bad_alloc.
        limit = "struct size 2000000000 is over netlab's limit of 1073741824 bytes"
        for args in (["2000000000x", "/dev/zero"], ["--iter", "<1000000000q", "/dev/zero"],
                     ["--json", "2000000000s", "/dev/zero"]):
            with self.subTest(args=args):
                proc = run("unpack", *args, timeout=30)
                self.assertEqual(proc.returncode, 1)
                self.assertEqual(proc.stdout, b"")
                err = proc.stderr.decode()
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn("over netlab's limit of 1073741824 bytes", err)
        self.assertIn(limit, run("unpack", "2000000000x", "/dev/zero", timeout=30).stderr.decode())
        proc = run("unpack", "--batch", input=b"2000000000x\t00\n<h\t0100\n")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stdout.decode(), f"error: {limit}\n1\n")

    def test_batch_answers_lines_as_they_come(self):
        # --batch read its whole input before answering the first line, holding all of it in
        # memory; now the answers to 1.5 MiB of lines come while its input is still open.
        line = b"<B\t01\n"
        count = (3 << 19) // len(line)
        proc = subprocess.Popen([NETLAB, "unpack", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        answered = threading.Event()

        def feed():
            # From a thread: the answers fill their pipe while the lines are still being written.
            proc.stdin.write(line * count)
            proc.stdin.flush()
            answered.wait(120)
            proc.stdin.write(b"<h\tff\n")
            proc.stdin.close()

        feeder = threading.Thread(target=feed)
        feeder.start()
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            self.assertTrue(ready, "no answer while the input is open")
            first = os.read(proc.stdout.fileno(), 1 << 16)
            self.assertTrue(first.startswith(b"1\n1\n"), first[:20])
            answered.set()
            rest = proc.stdout.read()
            self.assertEqual(proc.wait(timeout=60), 1)
        finally:
            answered.set()
            if proc.poll() is None:
                proc.kill()
            feeder.join(timeout=60)
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        lines = (first + rest).decode().split("\n")
        self.assertEqual(lines[:-2], ["1"] * count)
        self.assertEqual(lines[-2:], ["error: unpack requires a buffer of 2 bytes", ""])

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

    def test_frame_names_that_are_not_utf8_are_refused_when_packing(self):
        # Frame headers are JSON: two such names were stored as the same "caf\ufffd", so the
        # unpacker wrote one file under another name and refused (or, with --force, replaced) it.
        src = os.fsencode(self.path("src"))
        os.mkdir(src)
        for name, body in ((b"caf\xe9", b"latin-1"), (b"caf\xe8", b"other"), ("café".encode(), b"utf-8")):
            with open(os.path.join(src, name), "wb") as f:
                f.write(body)
        stream = self.path("tree.frames")
        # The folder is walked in sorted order, so \xe8 comes first; a path given is checked too.
        for args, shown in ((["src"], "e8"), ([os.path.join("src", "caf\udce9")], "e9")):
            with self.subTest(args=args):
                proc = run_in(self.tmp, "pack", "--frame", *args, "-o", stream)
                self.assertEqual(proc.returncode, 1)
                err = proc.stderr.decode()
                self.assertEqual(err, f"netlab: pack: 'src/caf\\x{shown}': file name is not valid UTF-8, which a "
                                      "frame file cannot carry (names are JSON strings); rename it\n")
                self.assertFalse(os.path.exists(stream))
        os.remove(os.path.join(src, b"caf\xe9"))
        os.remove(os.path.join(src, b"caf\xe8"))
        run_in(self.tmp, "pack", "--frame", "src", "-o", stream).check_returncode()
        out = self.path("out")
        run("unpack", "--frame", stream, "-C", out, check=True)
        self.assertEqual(os.listdir(os.path.join(out, "src")), ["café"])

    def test_frame_without_sha256_is_refused(self):
        out = self.path("out")
        os.mkdir(out)
        for stream in (frame({"type": "file", "name": "unchecked"}, b"data"),
                       frame({"type": "data"}, b"data")):
            with self.subTest(stream=stream[:40]):
                proc = run("unpack", "--frame", "-C", out, input=stream)
                self.assertEqual(proc.returncode, 1)
                self.assertIn(b'frame has no "sha256"', proc.stderr)
                self.assertEqual(proc.stdout, b"")
        self.assertEqual(os.listdir(out), [])

    def test_frame_mode_is_masked_by_the_umask(self):
        cases = [("open", 0o777, 0o750), ("setid", 0o6777, 0o750), ("private", 0o600, 0o600), ("default", None, 0o640)]
        stream = b"".join(file_frame(name, b"x", **({} if mode is None else {"mode": mode})) for name, mode, _ in cases)
        out = self.path("out")
        os.mkdir(out)
        old = os.umask(0o027)
        try:
            run("unpack", "--frame", "-C", out, input=stream, check=True)
        finally:
            os.umask(old)
        for name, _, expected in cases:
            self.assertEqual(oct(os.stat(os.path.join(out, name)).st_mode & 0o7777), oct(expected), name)

    def test_frame_names_up_to_255_bytes(self):
        out = self.path("out")
        os.mkdir(out)
        names = ["a" * 241, "b" * 255, "c" * 255 + "/" + "d" * 255]
        run("unpack", "--frame", "-C", out, input=b"".join(file_frame(n, n.encode()) for n in names), check=True)
        for name in names:
            with open(os.path.join(out, name), "rb") as f:
                self.assertEqual(f.read(), name.encode())
        self.assertEqual(sorted(os.listdir(out)), sorted(["a" * 241, "b" * 255, "c" * 255]))

    def test_frame_interrupted_inside_a_large_file_leaves_no_temporary_file(self):
        # The first 16 MiB piece of a 40 MiB file and the start of the second: the temporary file
        # holds the first piece, and the rest never comes until the signal.
        piece = os.urandom(16 << 20)
        head = (file_frame("big.bin", piece, offset=0, file_size=40 << 20) +
                file_frame("big.bin", piece, offset=16 << 20, file_size=40 << 20)[:4 << 20])
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with self.subTest(signal=signum):
                out = self.path("out-%d" % signum)
                os.mkdir(out)
                proc = subprocess.Popen([NETLAB, "unpack", "--frame", "-C", out], stdin=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
                proc.stdin.write(head)
                proc.stdin.flush()
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    sizes = [os.stat(os.path.join(out, n)).st_size for n in os.listdir(out)]
                    if sizes == [len(piece)]:
                        break
                    time.sleep(0.01)
                else:
                    self.fail(f"no 16 MiB temporary file in {os.listdir(out)}")
                proc.send_signal(signum)
                _, err = proc.communicate(timeout=60)
                self.assertEqual(proc.returncode, 128 + signum, err)
                self.assertIn(b"netlab: unpack: interrupted", err)
                self.assertEqual(os.listdir(out), [])

    @unittest.skipUnless(os.geteuid() == 0, "the race is the one a root unpack is exposed to")
    def test_frame_folder_swapped_for_a_symlink_while_unpacking(self):
        # Another user keeps swapping the folder d for a symbolic link to a folder outside the
        # target while root unpacks many files into d: nothing may land outside.
        out = self.path("out")
        outside = self.path("outside")
        os.mkdir(out)
        os.mkdir(outside)
        stream = b"".join(file_frame("d/f%04d" % i, b"x") for i in range(1500))
        racer_code = (
            "import os, sys\n"
            "d, real, outside, stop = sys.argv[1:]\n"
            "for _ in range(3000000):\n"
            "    if os.path.exists(stop): break\n"
            "    for step in (lambda: os.rename(d, real), lambda: os.symlink(outside, d),\n"
            "                 lambda: os.unlink(d), lambda: os.rename(real, d)):\n"
            "        try: step()\n"
            "        except OSError: pass\n")
        stop = self.path("stop")
        for run_number in range(6):
            with self.subTest(run=run_number):
                shutil.rmtree(out)
                os.mkdir(out)
                os.mkdir(os.path.join(out, "d"))
                racer = subprocess.Popen([sys.executable, "-c", racer_code, os.path.join(out, "d"),
                                          os.path.join(out, "d.real"), outside, stop])
                try:
                    proc = run("unpack", "--frame", "--force", "-C", out, input=stream)
                finally:
                    with open(stop, "w"):
                        pass
                    racer.wait(timeout=60)
                    os.unlink(stop)
                self.assertIn(proc.returncode, (0, 1), proc.stderr)
                if proc.returncode == 1:
                    self.assertRegex(proc.stderr, rb"symbolic link|exists and is not a folder|[Nn]o such file")
                self.assertEqual(os.listdir(outside), [])

    def test_frame_pack_of_a_folder_swapped_for_a_symlink_reads_nothing_outside(self):
        # Another user keeps swapping the folder src/d for a symbolic link to a folder outside
        # the tree, holding files of the same names, while pack walks it (say root backing up
        # a home folder): not one byte from outside may be packed. pack re-resolved src/d for
        # each file it opened, so it read the outside files whenever the link was in place.
        src = self.path("src")
        outside = self.path("outside")
        for folder, body in ((os.path.join(src, "d"), b"inside"), (outside, b"SECRET")):
            os.makedirs(folder)
            for i in range(400):
                with open(os.path.join(folder, "f%04d" % i), "wb") as f:
                    f.write(body)
        racer_code = (
            "import os, sys\n"
            "d, real, outside, stop = sys.argv[1:]\n"
            "while not os.path.exists(stop):\n"
            "    for step in (lambda: os.rename(d, real), lambda: os.symlink(outside, d),\n"
            "                 lambda: os.unlink(d), lambda: os.rename(real, d)):\n"
            "        try: step()\n"
            "        except OSError: pass\n")
        stop = self.path("stop")
        racer = subprocess.Popen([sys.executable, "-c", racer_code, os.path.join(src, "d"), os.path.join(src, "d.real"),
                                  outside, stop])
        try:
            for run_number in range(12):
                proc = run("pack", "--frame", src, timeout=120)
                self.assertIn(proc.returncode, (0, 1), proc.stderr)
                self.assertFalse(b"SECRET" in proc.stdout, f"run {run_number} packed a file from outside")
        finally:
            with open(stop, "w"):
                pass
            racer.wait(timeout=60)
            os.unlink(stop)
        # Put the folder back wherever the racer stopped; without the racer the tree packs whole.
        if os.path.islink(os.path.join(src, "d")):
            os.unlink(os.path.join(src, "d"))
        if os.path.exists(os.path.join(src, "d.real")):
            os.rename(os.path.join(src, "d.real"), os.path.join(src, "d"))
        proc = run("pack", "--frame", src, check=True)
        self.assertEqual(proc.stdout.count(b"inside"), 400)

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
