"""select-server end to end: every IO model with 50 concurrent clients checking every byte, a
client that resets, a client that half-closes, --max-conns, --stats and a graceful stop."""
import os
import signal
import socket
import struct
import time
import unittest

from netlab_test import Server, connect, echo_clients, main, recv_exactly, recv_until_close, run

MODELS = ["blocking", "threads", "nonblocking", "select", "poll", "epoll", "uv"]


class ModelTest:
    """Mixed into one TestCase per model below."""
    model = None

    def setUp(self):
        self.server = Server("select-server", "0", "--model", self.model, "--stats")

    def tearDown(self):
        self.server.close()

    def test_50_clients_every_byte(self):
        self.assertEqual(echo_clients(self.server.port, 50, 64 * 1024), 50)

    def test_reset_costs_only_that_client(self):
        for _ in range(5):
            bad = connect("127.0.0.1", self.server.port)
            bad.sendall(b"z" * 100000)
            bad.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            bad.close()
        with connect("127.0.0.1", self.server.port) as good:
            good.sendall(b"still here")
            self.assertEqual(recv_exactly(good, 10), b"still here")
        self.assertIsNone(self.server.proc.poll())

    def test_half_close_gets_whole_echo_then_eof(self):
        with connect("127.0.0.1", self.server.port) as s:
            payload = os.urandom(300000)
            # Half-close before reading anything: the server must finish the echo, then close.
            import threading
            sender = threading.Thread(target=lambda: (s.sendall(payload), s.shutdown(socket.SHUT_WR)))
            sender.start()
            echoed = recv_until_close(s)
            sender.join()
            self.assertEqual(echoed, payload)

    def test_sigterm_stops_with_stats(self):
        with connect("127.0.0.1", self.server.port) as s:
            s.sendall(b"abc")
            self.assertEqual(recv_exactly(s, 3), b"abc")
            self.assertEqual(self.server.stop(signal.SIGTERM), 0)
        text = self.server.stderr()
        self.assertIn("SIGTERM received", text)
        self.assertRegex(text, rf"stats: model {self.model}, [\d.]+ s, 1 connections")
        # Every model counts its traffic, the uv one included: 3 bytes in and out.
        self.assertRegex(text, r", [1-9]\d* reads \(\d+/s\), 0\.000 MB in .*0\.000 MB out")


def model_case(name):
    return type(f"{name.capitalize()}ModelTest", (ModelTest, unittest.TestCase), {"model": name})


for _name in MODELS:
    globals()[f"{_name.capitalize()}ModelTest"] = model_case(_name)


class SelectServerOptionsTest(unittest.TestCase):
    def test_max_conns_refuses_extra(self):
        for model in ("threads", "epoll", "select", "poll", "nonblocking", "uv"):
            with Server("select-server", "0", "--model", model, "--max-conns", "2") as server:
                a = connect("127.0.0.1", server.port)
                b = connect("127.0.0.1", server.port)
                for s in (a, b):
                    s.sendall(b"x")
                    self.assertEqual(recv_exactly(s, 1), b"x")
                # The refusal is a reset; it may land before connect() even returns.
                try:
                    c = connect("127.0.0.1", server.port)
                    with c:
                        c.sendall(b"y")
                        self.assertEqual(c.recv(10), b"", model)
                except ConnectionResetError:
                    pass
                a.close()
                b.close()
                deadline = time.monotonic() + 10
                while "refused" not in server.stderr() and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.assertIn("refused", server.stderr(), model)

    def test_upper_and_port_file(self):
        import tempfile
        import shutil
        tmp = tempfile.mkdtemp(prefix="netlab-select-")
        try:
            port_file = os.path.join(tmp, "port")
            with Server("select-server", "0", "--model", "poll", "--upper", "--port-file", port_file) as server:
                with open(port_file) as f:
                    self.assertEqual(int(f.read()), server.port)
                with connect("127.0.0.1", server.port) as s:
                    s.sendall(b"hello World")
                    self.assertEqual(recv_exactly(s, 11), b"HELLO WORLD")
        finally:
            shutil.rmtree(tmp)

    def test_sigusr1_prints_stats_and_keeps_serving(self):
        with Server("select-server", "0", "--model", "epoll", "--stats") as server:
            with connect("127.0.0.1", server.port) as s:
                s.sendall(b"12345")
                recv_exactly(s, 5)
                server.proc.send_signal(signal.SIGUSR1)
                deadline = time.monotonic() + 10
                while "stats:" not in server.stderr() and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.assertRegex(server.stderr(), r"stats: model epoll, .*1 connections.*5 reads? |"
                                                  r"stats: model epoll, .*1 reads .*cpu")
                s.sendall(b"more")
                self.assertEqual(recv_exactly(s, 4), b"more")

    def test_sigusr1_without_stats_prints_and_does_not_kill(self):
        """The help teaches `kill -USR1`: it must not end a server started without --stats."""
        for model in ["uv", "poll", "blocking"]:
            with Server("select-server", "0", "--model", model) as server:
                server.proc.send_signal(signal.SIGUSR1)
                deadline = time.monotonic() + 20
                while "stats:" not in server.stderr() and time.monotonic() < deadline:
                    self.assertIsNone(server.proc.poll(), f"{model}: died of SIGUSR1")
                    time.sleep(0.02)
                self.assertIn(f"stats: model {model}", server.stderr())
                self.assertIsNone(server.proc.poll())
                self.assertEqual(server.stop(), 0)

    def test_select_refuses_past_fd_setsize(self):
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 1100
        if hard != resource.RLIM_INFINITY and hard < want:
            self.skipTest(f"open-file hard limit {hard} too low")
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
        held = []
        try:
            with Server("select-server", "0", "--model", "select") as server:
                first = connect("127.0.0.1", server.port)
                held.append(first)
                deadline = time.monotonic() + 30
                while "FD_SETSIZE" not in server.stderr() and len(held) < 1060 and time.monotonic() < deadline:
                    try:
                        held.append(connect("127.0.0.1", server.port))
                    except ConnectionResetError:
                        pass  # refused with a reset before connect() returned: also a refusal
                    if len(held) % 50 == 0:
                        time.sleep(0.05)
                deadline = time.monotonic() + 10
                while "FD_SETSIZE" not in server.stderr() and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.assertRegex(server.stderr(), r"refused \d+ connection\(s\): descriptor \d+ is past FD_SETSIZE")
                first.sendall(b"still served")
                self.assertEqual(recv_exactly(first, 12), b"still served")
        finally:
            for s in held:
                s.close()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    def test_unknown_model_exit_2(self):
        out = run("select-server", "--model", "kqueue")
        self.assertEqual(out.returncode, 2)
        self.assertEqual(len(out.stderr.decode().strip().splitlines()), 1)


if __name__ == "__main__":
    main()
