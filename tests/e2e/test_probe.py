"""probe end to end: open, closed and late-opening ports, exit codes, --json."""
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from netlab_test import NETLAB, free_port, main, run, wait_until, wchan


def listening_socket(port=0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    return s


class ProbeTest(unittest.TestCase):
    def test_open_port(self):
        with listening_socket() as s:
            port = s.getsockname()[1]
            out = run("probe", f"127.0.0.1:{port}")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout.decode(), rf"^127\.0\.0\.1:{port} open \d+\.\d+ ms\n$")

    def test_closed_port_exit_1(self):
        port = free_port()
        out = run("probe", str(port))
        self.assertEqual(out.returncode, 1)
        self.assertEqual(out.stdout.decode(), f"127.0.0.1:{port} closed (connection refused)\n")

    def test_one_line_per_address_any_closed_is_1(self):
        closed = free_port()
        with listening_socket() as s:
            port = s.getsockname()[1]
            out = run("probe", f"127.0.0.1:{port}", f"127.0.0.1:{closed}", "--json")
        self.assertEqual(out.returncode, 1)
        lines = [json.loads(line) for line in out.stdout.decode().splitlines()]
        self.assertEqual([(r["address"], r["state"]) for r in lines],
                         [(f"127.0.0.1:{port}", "open"), (f"127.0.0.1:{closed}", "closed")])
        self.assertTrue(lines[0]["open"])
        self.assertEqual(lines[1]["reason"], "connection refused")
        self.assertGreaterEqual(lines[0]["connect_ms"], 0)

    def test_wait_until_port_opens(self):
        port = free_port()
        holder = {}

        def open_later():
            time.sleep(0.5)
            holder["s"] = listening_socket(port)

        opener = threading.Thread(target=open_later)
        opener.start()
        try:
            start = time.monotonic()
            out = run("probe", str(port), "--wait", "10")
            elapsed = time.monotonic() - start
        finally:
            opener.join()
            holder["s"].close()
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(" open ", out.stdout.decode())
        self.assertLess(elapsed, 8)

    def test_wait_runs_out_124(self):
        port = free_port()
        start = time.monotonic()
        out = run("probe", str(port), "--wait", "0.5")
        elapsed = time.monotonic() - start
        self.assertEqual(out.returncode, 124)
        self.assertIn("closed", out.stdout.decode())
        self.assertGreaterEqual(elapsed, 0.45)
        self.assertLess(elapsed, 10)

    def test_a_huge_wait_waits(self):
        # --wait 1e17 days is a deadline far away, not one overflowed into the past (which ended
        # the first round with exit 124). The port opens once probe is seen pausing between rounds.
        port = free_port()
        proc = subprocess.Popen([NETLAB, "probe", str(port), "--wait", "100000000000000000d"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertTrue(wait_until(lambda: "nanosleep" in wchan(proc.pid) or proc.poll() is not None,
                                       timeout=20))
            with listening_socket(port):
                out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn(" open ", out.decode())

    def test_a_port_file_that_is_no_file_is_refused_at_once(self):
        # A FIFO planted where a script waits for a port file blocked the open past --wait (for
        # ever); a link to /dev/zero was read until memory ran out. Both are refused at once.
        with tempfile.TemporaryDirectory() as tmp:
            fifo = os.path.join(tmp, "port")
            os.mkfifo(fifo)
            zero = os.path.join(tmp, "zero")
            os.symlink("/dev/zero", zero)
            long = os.path.join(tmp, "long")
            with open(long, "w") as f:
                f.write("1" * 5000 + "\n")
            for path, why in ((fifo, "not a regular file"), (zero, "not a regular file"),
                              (long, "longer than 4096 bytes, not a port file")):
                out = run("probe", "--wait", "1", "--port-file", path, timeout=30)
                self.assertEqual(out.returncode, 1, (path, out.stderr))
                self.assertEqual(out.stderr.decode(), f"netlab: probe: --port-file {path}: {why}\n")

    def test_usage_errors_exit_2(self):
        for args in (["probe"], ["probe", "nonsense"], ["probe", "0"], ["probe", "80", "--timeout", "-1"]):
            out = run(*args)
            self.assertEqual(out.returncode, 2, args)
            self.assertEqual(len(out.stderr.decode().strip().splitlines()), 1, out.stderr)
            self.assertTrue(out.stderr.decode().startswith("netlab: probe: "), out.stderr)


if __name__ == "__main__":
    main()
