"""select-server --idle-timeout end to end, in every IO model: a client that sends nothing is
closed after the timeout while one that keeps talking stays and is echoed byte for byte; in the
blocking model, a client queued behind a silent one gets its turn once the silent one is gone;
--idle-timeout 0 closes nothing."""
import random
import re
import select
import socket
import time
import unittest

from netlab_test import Server, accepted_by_server, connect, main, recv_exactly, wait_until

MODELS = ["blocking", "threads", "nonblocking", "select", "poll", "epoll", "uv"]
CLASSIC = [m for m in MODELS if m != "uv"]

IDLE = 1.0
# The timeout plus the sweep period, with room for a slow (sanitizer) build.
CLOSE_WITHIN = 5.0
# Well under IDLE, so the talking client is never idle for long.
PACE = 0.3


def closed_by_peer(sock):
    """True if the server closed `sock` (EOF or reset); `sock` must be readable."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


class Talker:
    """A client that sends a few random bytes every PACE seconds and checks each echo."""

    def __init__(self, port, seed):
        self.sock = connect("127.0.0.1", port)
        self.rng = random.Random(seed)
        self.exchanges = 0

    def exchange(self, test):
        payload = self.rng.randbytes(self.rng.randint(1, 200))
        self.sock.sendall(payload)
        test.assertEqual(recv_exactly(self.sock, len(payload)), payload)
        self.exchanges += 1

    def talk_for(self, test, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.exchange(test)
            # Quiet for PACE, watching for the one thing that must not happen: the server closing us.
            readable, _, _ = select.select([self.sock], [], [], PACE)
            test.assertFalse(readable, "the server closed (or wrote unasked to) a talking client")

    def close(self):
        self.sock.close()


class SelectServerIdleTest(unittest.TestCase):
    def start(self, model, *extra):
        return Server("select-server", "0", "--model", model, "--idle-timeout", str(IDLE), "--stats", *extra)

    def assert_stats(self, server, model, idle_closed):
        self.assertEqual(server.stop(), 0)
        line = re.search(rf"stats: model {model}, .*", server.stderr())
        self.assertIsNotNone(line, server.stderr())
        if model == "uv":
            # The idle sweep is net::run_server's there; the model cannot count it.
            self.assertNotIn("idle-closed", line.group(0))
        else:
            self.assertIn(f", {idle_closed} idle-closed,", line.group(0))
        self.assertNotIn("idle", server.stderr().replace(line.group(0), ""), "an idle close was logged")

    def test_silent_client_closed_talking_client_kept(self):
        for model in MODELS:
            if model == "blocking":
                continue  # one client at a time: test_blocking_serves_the_next_client_after_a_silent_one
            with self.subTest(model=model), self.start(model) as server:
                silent = connect("127.0.0.1", server.port)
                start = time.monotonic()
                talker = Talker(server.port, seed=model)
                closed_after = None
                while time.monotonic() - start < CLOSE_WITHIN:
                    talker.exchange(self)
                    readable, _, _ = select.select([silent], [], [], PACE)
                    if readable:
                        self.assertTrue(closed_by_peer(silent), f"{model}: the silent client got data")
                        closed_after = time.monotonic() - start
                        break
                self.assertIsNotNone(closed_after, f"{model}: silent client still open after {CLOSE_WITHIN}s")
                # Closed for idleness, not at once.
                self.assertGreater(closed_after, IDLE * 0.5, model)
                # The talker has now lived past the timeout; it must keep doing so.
                talker.talk_for(self, IDLE * 1.5)
                self.assertGreater(time.monotonic() - start, IDLE * 2)
                talker.exchange(self)
                talker.close()
                silent.close()
                self.assert_stats(server, model, 1)

    def test_blocking_serves_the_next_client_after_a_silent_one(self):
        with self.start("blocking") as server:
            # Alone, a talking client outlives the timeout.
            talker = Talker(server.port, seed="blocking")
            talker.talk_for(self, IDLE * 2.5)
            talker.close()
            # Without the timeout, `queued` would wait in the backlog for as long as `silent` stays.
            silent = connect("127.0.0.1", server.port)
            # The server must take `silent` first: wait until it has accepted it.
            self.assertTrue(wait_until(lambda: accepted_by_server(server.port, silent)), "silent never accepted")
            start = time.monotonic()
            queued = connect("127.0.0.1", server.port)
            queued.sendall(b"my turn")
            queued.settimeout(CLOSE_WITHIN)
            self.assertEqual(recv_exactly(queued, 7), b"my turn")
            served_after = time.monotonic() - start
            self.assertGreater(served_after, IDLE * 0.5)
            readable, _, _ = select.select([silent], [], [], 0)
            self.assertTrue(readable and closed_by_peer(silent), "the silent client was not closed first")
            queued.sendall(b"again")
            self.assertEqual(recv_exactly(queued, 5), b"again")
            queued.close()
            silent.close()
            self.assert_stats(server, "blocking", 1)

    def test_zero_never_closes(self):
        servers = []
        try:
            for model in ("threads", "epoll"):
                servers.append(Server("select-server", "0", "--model", model, "--idle-timeout", "0"))
            silent = [connect("127.0.0.1", s.port) for s in servers]
            # A witness server with the timeout gets a silent client at the same moment; once it has
            # closed that one, a timeout has certainly passed for the others too.
            witness = Server("select-server", "0", "--model", "epoll", "--idle-timeout", str(IDLE))
            servers.append(witness)
            witnessed = connect("127.0.0.1", witness.port)
            witnessed.settimeout(CLOSE_WITHIN * 4)
            self.assertTrue(closed_by_peer(witnessed), "the witness never closed its idle client")
            witnessed.close()
            for s, sock in zip(servers, silent):
                readable, _, _ = select.select([sock], [], [], 0)
                self.assertFalse(readable, "a silent client was closed with --idle-timeout 0")
                sock.sendall(b"late")
                self.assertEqual(recv_exactly(sock, 4), b"late")
                sock.close()
        finally:
            for s in servers:
                s.close()


if __name__ == "__main__":
    main()
