"""bench end to end: against echo-server, select-server and udp-echo, checking its counts, and
against a server that corrupts bytes (must fail) or is not there (exit 255)."""
import json
import signal
import subprocess
import time
import socket
import threading
import unittest

from netlab_test import NETLAB, Server, free_port, main, run, run_max_rss


def bench(*args):
    out = run("bench", *args, "--json", timeout=60)
    result = json.loads(out.stdout.decode()) if out.stdout.strip() else None
    return out, result


class CorruptingServer:
    """Echoes like any echo server but flips one bit of the 100th byte of every connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.threads = []
        self.acceptor = threading.Thread(target=self.accept_loop)
        self.acceptor.start()

    def accept_loop(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            t = threading.Thread(target=self.serve, args=(conn,))
            t.start()
            self.threads.append(t)

    def serve(self, conn):
        conn.settimeout(0.2)
        offset = 0
        with conn:
            while self.running:
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                data = bytearray(data)
                if offset <= 99 < offset + len(data):
                    data[99 - offset] ^= 0x01
                offset += len(data)
                try:
                    conn.sendall(bytes(data))
                except OSError:
                    return

    def close(self):
        self.running = False
        self.acceptor.join()
        for t in self.threads:
            t.join()
        self.sock.close()


class CountingEchoServer:
    """An echo server that sets `echoed` once it has echoed 64 KiB."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.echoed = threading.Event()
        self.total = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                    if not data:
                        return
                    conn.sendall(data)
                except OSError:
                    return
                with self.lock:
                    self.total += len(data)
                    if self.total >= 65536:
                        self.echoed.set()

    def close(self):
        self.listener.close()


class BenchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("echo-server", "0")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_rr_counts_add_up(self):
        out, r = bench("tcp", self.server.port, "--conns", "4", "--duration", "1")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertGreater(r["messages"], 0)
        self.assertEqual(r["errors"], 0)
        self.assertEqual(r["mismatches"], 0)
        self.assertEqual(r["bytes"], r["messages"] * 64)
        self.assertEqual(r["connects"], 4)
        lat = r["latency_us"]
        self.assertTrue(0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat)

    def test_message_count_bounds_the_run(self):
        out, r = bench("tcp", self.server.port, "--messages", "100", "--size", "1000", "--duration", "30")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(r["messages"], 100)
        self.assertEqual(r["bytes"], 100 * 1000)
        self.assertLess(r["duration_s"], 20)

    def test_stream(self):
        out, r = bench("tcp", self.server.port, "--mode", "stream", "--duration", "1")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertGreater(r["mb_per_s"], 0)
        self.assertEqual(r["errors"], 0)

    def test_connect_mode(self):
        out, r = bench("tcp", self.server.port, "--mode", "connect", "--conns", "2", "--duration", "0.5")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertGreater(r["connects"], 2)
        self.assertEqual(r["messages"], r["connects"] - (r["connects"] - r["messages"]))
        self.assertGreaterEqual(r["connects"], r["messages"])

    def test_open_loop_rate(self):
        out, r = bench("tcp", self.server.port, "--rate", "100", "--conns", "2", "--duration", "1")
        self.assertEqual(out.returncode, 0, out.stderr)
        # 2 connections x 100/s x 1 s, give or take the first and last tick.
        self.assertGreater(r["messages"], 120)
        self.assertLess(r["messages"], 260)

    def test_text_output(self):
        out = run("bench", "tcp", self.server.port, "--duration", "0.3")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout.decode(), r"^tcp rr 127\.0\.0\.1:\d+: 1 conns x 64 B, .* msgs/s, .* MB/s; "
                                              r"latency p50 .* us, p90 .* p99 .* max .*; 0 errors\n$")

    def test_select_server_model(self):
        with Server("select-server", "0", "--model", "epoll") as server:
            out, r = bench("tcp", server.port, "--conns", "8", "--duration", "0.5", "--threads", "2")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertGreater(r["messages"], 0)
            self.assertEqual(r["connects"], 8)

    def test_udp(self):
        with Server("udp-echo", "0") as server:
            out, r = bench("udp", server.port, "--conns", "2", "--duration", "0.5", "--size", "100")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertGreater(r["messages"], 0)
            self.assertEqual(r["mismatches"], 0)
            self.assertEqual(r["bytes"], r["messages"] * 100)

    def test_udp_largest_message_per_family(self):
        """bench udp sends what udp-echo carries, loop::Udp's limits: 65507 bytes over IPv4 and
        65527 over IPv6. One byte more is a usage error naming the limit, before anything is sent."""
        families = [("127.0.0.1:0", 65507)]
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
                probe.bind(("::1", 0))
            families.append(("[::1]:0", 65527))
        except OSError:
            pass
        for listen, limit in families:
            with self.subTest(listen=listen), Server("udp-echo", listen) as server:
                out, r = bench("udp", server.address, "--messages", "3", "--size", str(limit), "--duration", "30")
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertGreaterEqual(r["messages"], 3)
                self.assertEqual(r["mismatches"], 0)
                self.assertEqual(r["bytes"], r["messages"] * limit)
                out, r = bench("udp", server.address, "--size", str(limit + 1), "--duration", "30")
                self.assertEqual(out.returncode, 2, out.stderr)
                self.assertIsNone(r)
                self.assertIn(str(limit), out.stderr.decode())

    def test_corrupting_server_fails(self):
        server = CorruptingServer()
        try:
            out, r = bench("tcp", server.port, "--duration", "1", "--size", "64")
        finally:
            server.close()
        self.assertEqual(out.returncode, 1)
        self.assertGreaterEqual(r["mismatches"], 1)
        self.assertIn("echoed byte 99 differs", out.stderr.decode())

    def test_nothing_listening_255(self):
        out = run("bench", "tcp", free_port(), "--duration", "0.5")
        self.assertEqual(out.returncode, 255)
        self.assertIn("connection refused", out.stderr.decode())
        self.assertEqual(len(out.stderr.decode().strip().splitlines()), 1)

    def test_interrupt_prints_what_was_measured(self):
        """Ctrl-C ends the run early: the summary of what ran, then exit 130 (TERM: 143)."""
        for sig, status in [(signal.SIGINT, 130), (signal.SIGTERM, 143)]:
            server = CountingEchoServer()
            try:
                proc = subprocess.Popen([NETLAB, "bench", "tcp", str(server.port), "-c", "2", "-d", "300", "--json"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                # Observed fact, not time: the server has echoed a few thousand messages.
                self.assertTrue(server.echoed.wait(60), "bench never got going")
                proc.send_signal(sig)
                out, err = proc.communicate(timeout=60)
            finally:
                server.close()
            self.assertEqual(proc.returncode, status, err)
            result = json.loads(out)
            self.assertGreater(result["messages"], 0)
            self.assertLess(result["duration_s"], 300)
            self.assertIn(f"interrupted by {sig.name}", err.decode())

    def test_open_loop_against_a_server_that_never_echoes_is_bounded(self):
        # 20,000 messages/s of 4 KiB for 1 s is 80 MiB due to a server that reads nothing: a
        # connection stops sending at 1 MiB unanswered, so bench stays small (it queued it all,
        # 78 MiB over its usual peak).
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(4)
            out = run_max_rss("bench", "tcp", listener.getsockname()[1], "--rate", "20000", "--size", "4096",
                              "--duration", "1", "--json")
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("no message completed a round trip", out.stderr.decode())
        # Against the same run's peak with an echo server answering (the sanitizer build starts large).
        baseline = run_max_rss("bench", "tcp", self.server.port, "--rate", "20000", "--size", "4096", "--duration",
                               "1", "--json")
        self.assertEqual(baseline.returncode, 0, baseline.stderr)
        self.assertLess(out.max_rss_kib - baseline.max_rss_kib, 32 << 10, "max RSS growth in KiB")

    def test_rates_it_cannot_schedule_are_usage_errors(self):
        # 1e23/s was a send interval of 0 ns: the schedule never caught up and memory grew until
        # the OOM killer came.
        for rate in ("100000000000000000000000", "1000001"):
            out = run("bench", "tcp", "1", "--rate", rate)
            self.assertEqual(out.returncode, 2, (rate, out.stderr))
            self.assertEqual(len(out.stderr.decode().splitlines()), 1, out.stderr)
            self.assertIn("netlab: bench: --rate: must be from 0 (closed loop) to 1000000 messages/s per connection",
                          out.stderr.decode())

    def test_usage_errors(self):
        for args in (["bench", "sctp", "1"], ["bench", "udp", "1", "--mode", "stream"],
                     ["bench", "tcp", "1", "--mode", "stream", "--rate", "5"], ["bench", "udp", "1", "--size", "4"]):
            out = run(*args)
            self.assertEqual(out.returncode, 2, args)


if __name__ == "__main__":
    main()
