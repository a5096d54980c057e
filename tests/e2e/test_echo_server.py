"""echo-server end to end: real peers (socat, ncat, Python sockets) over IPv4, IPv6 and unix sockets."""
import os
import select
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from netlab_test import (Server, connect, echo_clients, fd_count, main, recv_exactly, recv_until_close, require,
                         rss_kib, wait_until)

require("socat", "ncat")


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class EchoServerTest(unittest.TestCase):
    def setUp(self):
        self.server = Server("echo-server", "127.0.0.1:0")

    def tearDown(self):
        self.server.close()

    def test_python_client_round_trip(self):
        with connect("127.0.0.1", self.server.port) as s:
            for message in [b"hello", b"\x00\xff binary \r\n", b"x" * 100000]:
                s.sendall(message)
                self.assertEqual(recv_exactly(s, len(message)), message)

    def test_socat_client(self):
        data = os.urandom(300000)
        out = subprocess.run(["socat", "-t", "10", "-", f"TCP:127.0.0.1:{self.server.port}"],
                             input=data, capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, data)

    def test_ncat_client(self):
        data = b"line one\nline two\n" * 1000
        out = subprocess.run(["ncat", "127.0.0.1", str(self.server.port)], input=data,
                             capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, data)

    def test_half_close_gets_whole_echo_then_eof(self):
        with connect("127.0.0.1", self.server.port) as s:
            payload = os.urandom(2 << 20)
            sender = threading.Thread(target=lambda: (s.sendall(payload), s.shutdown(socket.SHUT_WR)))
            sender.start()
            echoed = recv_until_close(s)
            sender.join()
            self.assertEqual(echoed, payload)

    def test_reset_mid_write_costs_only_that_connection(self):
        with connect("127.0.0.1", self.server.port) as good:
            for _ in range(20):
                bad = connect("127.0.0.1", self.server.port)
                bad.sendall(b"z" * (256 * 1024))
                bad.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                bad.close()
            good.sendall(b"still here")
            self.assertEqual(recv_exactly(good, 10), b"still here")
        self.assertIsNone(self.server.proc.poll())

    def test_200_clients_1mib_each_random_pieces(self):
        self.assertEqual(echo_clients(self.server.port, 200, 1 << 20, max_piece=65536, timeout=300, seed=1234), 200)

    def test_client_that_never_reads_is_bounded(self):
        before = rss_kib(self.server.proc.pid)
        s = connect("127.0.0.1", self.server.port)
        s.setblocking(False)
        chunk = b"p" * 65536
        sent = 0
        deadline = time.monotonic() + 3
        stalled_since = None
        while time.monotonic() < deadline:
            try:
                sent += s.send(chunk)
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since > 0.5:
                    break
                time.sleep(0.01)
        self.assertIsNotNone(stalled_since, "server kept reading from a peer that never reads")
        grown = rss_kib(self.server.proc.pid) - before
        self.assertLess(grown, 32 * 1024, f"server RSS grew {grown} KiB for {sent} bytes unread")
        # Reading now gets every byte back.
        s.setblocking(True)
        s.settimeout(30)
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(len(recv_until_close(s)), sent)
        s.close()

    def test_sigterm_stops_cleanly(self):
        with connect("127.0.0.1", self.server.port) as s:
            s.sendall(b"x")
            recv_exactly(s, 1)
            self.assertEqual(self.server.stop(), 0)
            self.assertEqual(s.recv(10), b"")
        self.assertIn("shutting down", self.server.stderr())


class EchoServerOptionsTest(unittest.TestCase):
    def test_upper(self):
        with Server("echo-server", "0", "--upper") as server:
            with connect("127.0.0.1", server.port) as s:
                s.sendall(b"Hello, world! \xc3\xa9")
                self.assertEqual(recv_exactly(s, 16), b"HELLO, WORLD! \xc3\xa9")

    def test_port_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            port_file = os.path.join(tmp, "port")
            with Server("echo-server", "0", "--port-file", port_file) as server:
                with open(port_file) as f:
                    self.assertEqual(int(f.read().strip()), server.port)

    @unittest.skipUnless(has_ipv6_loopback(), "no IPv6 loopback")
    def test_ipv6(self):
        with Server("echo-server", "[::1]:0") as server:
            self.assertTrue(server.address.startswith("[::1]:"))
            with connect("::1", server.port, socket.AF_INET6) as s:
                s.sendall(b"over six")
                self.assertEqual(recv_exactly(s, 8), b"over six")

    def test_unix_socket_and_file_removed_on_exit(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "echo.sock")
            server = Server("echo-server", f"unix:{path}")
            try:
                self.assertEqual(server.address, f"unix:{path}")
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(10)
                    s.connect(path)
                    s.sendall(b"local")
                    self.assertEqual(recv_exactly(s, 5), b"local")
                out = subprocess.run(["socat", "-t", "10", "-", f"UNIX-CONNECT:{path}"], input=b"via socat",
                                     capture_output=True, timeout=30)
                self.assertEqual(out.stdout, b"via socat")
                self.assertEqual(server.stop(), 0)
                self.assertFalse(os.path.exists(path))
            finally:
                server.close()

    def test_stale_unix_socket_is_replaced(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "stale.sock")
            stale = socket.socket(socket.AF_UNIX)
            stale.bind(path)
            stale.close()  # the file stays, nobody listens
            with Server("echo-server", f"unix:{path}") as server:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(path)
                    s.sendall(b"ok")
                    self.assertEqual(recv_exactly(s, 2), b"ok")

    def test_max_conns_refuses_extra_without_disturbing_others(self):
        with Server("echo-server", "0", "--max-conns", "2") as server:
            a = connect("127.0.0.1", server.port)
            b = connect("127.0.0.1", server.port)
            for s in (a, b):
                s.sendall(b"ping")
                self.assertEqual(recv_exactly(s, 4), b"ping")
            try:
                with connect("127.0.0.1", server.port) as c:
                    c.sendall(b"refused?")
                    self.assertEqual(c.recv(10), b"")
            except (ConnectionResetError, BrokenPipeError):
                pass  # refused with a reset: also what we want
            for s in (a, b):
                s.sendall(b"still")
                self.assertEqual(recv_exactly(s, 5), b"still")
            pid = server.proc.pid
            open_fds = fd_count(pid)
            a.close()
            # The server has seen the close once it has closed its descriptor for `a`.
            self.assertTrue(wait_until(lambda: fd_count(pid) < open_fds), "the server kept a's descriptor")
            d = connect("127.0.0.1", server.port)
            d.sendall(b"room again")
            self.assertEqual(recv_exactly(d, 10), b"room again")
            d.close()
            b.close()
            self.assertIn("--max-conns 2 reached", server.stderr())

    def test_idle_timeout_closes_only_idle_connections(self):
        with Server("echo-server", "0", "--idle-timeout", "0.5") as server:
            idle = connect("127.0.0.1", server.port)
            busy = connect("127.0.0.1", server.port)
            start = time.monotonic()
            # `busy` talks until the server closes `idle`, then past a whole timeout more.
            idle_closed_at = None
            while idle_closed_at is None or time.monotonic() - idle_closed_at < 0.6:
                busy.sendall(b"k")
                self.assertEqual(recv_exactly(busy, 1), b"k")
                if idle_closed_at is None and select.select([idle], [], [], 0.1)[0]:
                    self.assertEqual(idle.recv(10), b"")
                    idle_closed_at = time.monotonic()
                self.assertLess(time.monotonic() - start, 20, "the idle connection was never closed")
            self.assertGreater(idle_closed_at - start, 0.25, "the idle connection was closed before its timeout")
            busy.sendall(b"alive")
            self.assertEqual(recv_exactly(busy, 5), b"alive")
            idle.close()
            busy.close()

    def test_workers_share_the_port(self):
        with Server("echo-server", "0", "--workers", "2") as server:
            socks = [connect("127.0.0.1", server.port) for _ in range(20)]
            for i, s in enumerate(socks):
                s.sendall(b"w%d" % i)
            for i, s in enumerate(socks):
                expect = b"w%d" % i
                self.assertEqual(recv_exactly(s, len(expect)), expect)
                s.close()
            self.assertEqual(server.stop(), 0)

    def test_workers_beyond_the_cpus_warn(self):
        # Pinned to one CPU (the server inherits the mask): --workers 2 warns once, --workers 1
        # does not, and the server works either way.
        saved = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(saved)})
        try:
            many = Server("echo-server", "0", "--workers", "2")
            one = Server("echo-server", "0", "--workers", "1")
        finally:
            os.sched_setaffinity(0, saved)
        stderr = []
        for server in (many, one):
            with server:
                with connect("127.0.0.1", server.port) as s:
                    s.sendall(b"cpu")
                    self.assertEqual(recv_exactly(s, 3), b"cpu")
                self.assertEqual(server.stop(), 0)
                stderr.append(server.stderr())
        warning = ("netlab: echo-server: warning: --workers 2 exceeds the 1 CPU available; "
                   "more workers than CPUs usually slows it down")
        self.assertEqual([line for line in stderr[0].splitlines() if "warning" in line], [warning])
        self.assertNotIn("warning", stderr[1])

    def test_workers_on_unix_socket(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "w.sock")
            with Server("echo-server", f"unix:{path}", "--workers", "3") as server:
                for i in range(10):
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(path)
                        s.sendall(b"u%d" % i)
                        self.assertEqual(recv_exactly(s, len(b"u%d" % i)), b"u%d" % i)
                self.assertEqual(server.stop(), 0)
                self.assertFalse(os.path.exists(path))

    def test_sigint_also_stops(self):
        with Server("echo-server", "0") as server:
            self.assertEqual(server.stop(signal.SIGINT), 0)


if __name__ == "__main__":
    main()
