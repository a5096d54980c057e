"""End-to-end tests for `netlab pack`: fixed cases per code and prefix, errors and exit codes,
--calcsize/--explain, --iter, the terminal guard, -o and frame output."""
import os
import pty
import struct
import subprocess
import tempfile
import unittest

from netlab_test import NETLAB, run, main


def pack_hex(*args):
    proc = run("pack", "--hex", *args)
    return proc.returncode, proc.stdout.decode().strip(), proc.stderr.decode().strip()


class Pack(unittest.TestCase):
    def test_every_code_and_prefix_matches_python(self):
        cases = [
            ("<IH8s", ["1", "2", "hello"], [1, 2, b"hello"]),
            ("!IHq8s", ["4294967295", "65535", "-9223372036854775808", "a\\x00b"],
             [4294967295, 65535, -9223372036854775808, b"a\x00b"]),
            ("bh", ["-1", "2"], [-1, 2]),
            ("=bh", ["-1", "2"], [-1, 2]),
            ("llh0l", ["1", "2", "3"], [1, 2, 3]),
            (">bBhHiIlLqQ", ["-128", "255", "-32768", "65535", "-2147483648", "4294967295", "-1", "1", "-1", "1"],
             [-128, 255, -32768, 65535, -2147483648, 4294967295, -1, 1, -1, 1]),
            ("@nNP", ["-5", "0x10", "0b11"], [-5, 16, 3]),
            ("<c?x?", ["\\n", "true", "False"], [b"\n", True, False]),
            ("<efd", ["1.5", "0.1", "-0.0"], [1.5, 0.1, -0.0]),
            (">efd", ["inf", "-inf", "nan"], [float("inf"), float("-inf"), float("nan")]),
            ("<e", ["65519.99"], [65519.99]),
            ("f", ["1e300"], [1e300]),
            ("3s0s5p1p", ["abcdef", "zz", "abcdef", "q"], [b"abcdef", b"zz", b"abcdef", b"q"]),
            ("0px", ["a"], [b"a"]),
            ("2i 3h", ["0o17", "-0x10", "1", "2", "3"], [15, -16, 1, 2, 3]),
            ("", [], []),
        ]
        for fmt, texts, values in cases:
            with self.subTest(fmt=fmt):
                rc, out, err = pack_hex(fmt, "--", *texts)
                self.assertEqual(rc, 0, err)
                self.assertEqual(out, struct.pack(fmt, *values).hex())

    def test_struct_errors_exit_1_with_one_line(self):
        cases = [
            (["<h", "1", "2"], "pack expected 1 items for packing (got 2)"),
            (["<h", "32768"], "'h' format requires -32768 <= number <= 32767"),
            (["B", "--", "-1"], "'B' format requires 0 <= number <= 255"),
            (["<n", "1"], "bad char in struct format"),
            (["h2", "1"], "repeat count given without format specifier"),
            (["i", "1.5"], "required argument is not an integer"),
            (["<f", "1e300"], "float too large to pack with f format"),
            (["c", "ab"], "char format requires a bytes object of length 1"),
            (["?", "maybe"], "'?' format requires true, false, 1 or 0"),
            (["99999999999999999999x"], "total struct size too long"),
            (["9999999999x"], "over netlab's limit"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                rc, out, err = pack_hex(*args)
                self.assertEqual(rc, 1)
                self.assertEqual(out, "")
                self.assertTrue(err.startswith("netlab: pack: "), err)
                self.assertIn(message, err)
                self.assertEqual(len(err.splitlines()), 1)

    def test_usage_errors_exit_2(self):
        for args in (["--hex", "--base64", "h", "1"], ["--bogus"], ["--chunk-size", "10", "h", "1"],
                     ["--frame", "--hex"], []):
            with self.subTest(args=args):
                proc = run("pack", *args)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertTrue(proc.stderr.decode().startswith("netlab: pack: "))

    def test_calcsize_and_explain(self):
        for fmt in ("bh", "=bh", "!IHq8s", "@IHq8s", "llh0l", "0s", ""):
            with self.subTest(fmt=fmt):
                proc = run("pack", "--calcsize", fmt, check=True)
                self.assertEqual(int(proc.stdout), struct.calcsize(fmt))
        out = run("pack", "--explain", "bh", check=True).stdout.decode()
        rows = [line.split() for line in out.splitlines()]
        self.assertEqual(rows[1], ["0", "1", "b", "native", "0"])
        self.assertEqual(rows[2], ["2", "2", "h", "native", "1"])
        self.assertIn("total 4 bytes", out)
        out = run("pack", "--explain", "=bh", check=True).stdout.decode()
        self.assertEqual(out.splitlines()[2].split(), ["1", "2", "h", "little", "0"])
        self.assertIn("total 3 bytes", out)
        self.assertEqual(run("pack", "--calcsize", "z").returncode, 1)

    def test_base64_and_raw_outputs(self):
        proc = run("pack", "--base64", "<I", "1", check=True)
        self.assertEqual(proc.stdout, b"AQAAAA==\n")
        proc = run("pack", "<I", "1", check=True)  # stdout is a pipe here: raw bytes are fine
        self.assertEqual(proc.stdout, b"\x01\x00\x00\x00")

    def test_refuses_raw_bytes_on_a_terminal(self):
        master, slave = pty.openpty()
        try:
            proc = subprocess.run([NETLAB, "pack", "<I", "1"], stdout=slave, stderr=subprocess.PIPE, timeout=30)
        finally:
            os.close(slave)
            os.close(master)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"--hex", proc.stderr)

    def test_output_file_is_written_whole(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "out.bin")
            run("pack", "-o", path, "<Q", "7", check=True)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), struct.pack("<Q", 7))
            # A failure leaves neither the target nor a temporary file.
            bad = os.path.join(tmp, "bad.bin")
            self.assertEqual(run("pack", "-o", bad, "<B", "256").returncode, 1)
            self.assertEqual(sorted(os.listdir(tmp)), ["out.bin"])

    def test_output_file_replaced_keeps_its_permission_bits(self):
        # A private output stays private, as with the shell's '>': the atomic rename gave the
        # new file 0666 minus the umask, so a chmod 600 frame file of secrets became 0644.
        with tempfile.TemporaryDirectory() as tmp:
            os.mkdir(os.path.join(tmp, "src"))
            with open(os.path.join(tmp, "src", "key"), "w") as f:
                f.write("secret\n")
            for name, args in (("values.bin", ["<Q", "7"]), ("tree.frames", ["--frame", os.path.join(tmp, "src")])):
                with self.subTest(name=name):
                    path = os.path.join(tmp, name)
                    with open(path, "wb"):
                        pass
                    os.chmod(path, 0o600)
                    run("pack", "-o", path, *args, check=True)
                    self.assertEqual(oct(os.stat(path).st_mode & 0o7777), oct(0o600))
                    self.assertGreater(os.path.getsize(path), 0)
            fresh = os.path.join(tmp, "fresh.bin")
            old = os.umask(0o027)
            try:
                run("pack", "-o", fresh, "<B", "1", check=True)
            finally:
                os.umask(old)
            self.assertEqual(oct(os.stat(fresh).st_mode & 0o7777), oct(0o640))
            if os.geteuid() != 0:
                return
            # A user who cannot give the new file the old one's group drops the group bits
            # rather than grant them to a group of their own.
            for folder in (os.path.dirname(tmp), tmp):
                os.chmod(folder, 0o711)  # nobody passes through to the folder it owns
            shared = os.path.join(tmp, "shared")
            os.mkdir(shared)
            os.chown(shared, 65534, 65534)
            target = os.path.join(shared, "out.bin")
            with open(target, "wb"):
                pass
            os.chown(target, 65534, 0)
            os.chmod(target, 0o640)

            def as_nobody():
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)

            proc = subprocess.run([NETLAB, "pack", "-o", target, "<B", "1"], capture_output=True, timeout=30,
                                  preexec_fn=as_nobody)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            st = os.stat(target)
            self.assertEqual((st.st_uid, st.st_gid, oct(st.st_mode & 0o7777)), (65534, 65534, oct(0o600)))

    def test_iter_packs_unpack_iter_output(self):
        fmt = "!IHq8s"
        records = [(i, i % 65536, -i * 1000, b"r%d\t\n" % i) for i in range(2000)]
        data = b"".join(struct.pack(fmt, *r) for r in records)
        printed = run("unpack", "--iter", fmt, input=data, check=True).stdout
        self.assertEqual(len(printed.splitlines()), 2000)
        self.assertEqual(run("pack", "--iter", fmt, input=printed, check=True).stdout, data)
        proc = run("pack", "--iter", "<h", input=b"1\n2\n70000\n")
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"line 3", proc.stderr)
        self.assertEqual(run("pack", "--iter", "--hex", "<h", input=b"1\n2\n", check=True).stdout, b"0100\n0200\n")

    def test_input_that_cannot_be_read_is_an_error(self):
        # A directory as stdin: every read fails (EISDIR). It was taken for the end of the input,
        # so these succeeded having read nothing.
        for args in (["--batch"], ["--iter", "<h"]):
            with self.subTest(args=args):
                folder = os.open("/", os.O_RDONLY)
                try:
                    proc = subprocess.run([NETLAB, "pack", *args], stdin=folder, capture_output=True, timeout=60)
                finally:
                    os.close(folder)
                self.assertEqual(proc.returncode, 1)
                self.assertEqual(proc.stdout, b"")
                self.assertEqual(proc.stderr, b"netlab: pack: read input: is a directory\n")

    def test_runs_under_its_own_name(self):
        with tempfile.TemporaryDirectory() as tmp:
            link = os.path.join(tmp, "pack")
            os.symlink(os.path.abspath(NETLAB), link)
            proc = subprocess.run([link, "--hex", "<H", "258"], capture_output=True, timeout=30)
            self.assertEqual(proc.stdout, b"0201\n")

    def test_help_has_an_example(self):
        out = run("pack", "--help", check=True).stdout.decode()
        self.assertIn("Example:", out)
        self.assertIn("--frame", out)


if __name__ == "__main__":
    main()
