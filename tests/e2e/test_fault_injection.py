"""Fault injection against the real servers: hostile or broken peers (silent, slowloris, resets
mid-frame, half-closes, 4 GiB frame claims, connection floods, descriptor exhaustion, misbehaving
exec children, a full disk under `unpack --frame`). Each must cost only its own connection: a
well-behaved client is checked byte for byte while it happens, memory stays bounded, and the
server goes back to about its idle footprint once the hostile peers leave.

Everything is loopback only; every loop is bounded in count and in time; only processes this file
started are stopped, by PID.
"""
import errno
import json
import os
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import netlab_test as nt  # noqa: E402
from exec_protocol_client import ExecClient, encode_frame  # noqa: E402
from netlab_test import children_of, fd_count, wait_until  # noqa: E402

SANITIZED = os.environ.get("NETLAB_SANITIZED") == "1"
# The sanitizer build is several times slower: time bounds stretch by this much.
SLOW = 4 if SANITIZED else 1
# A well-behaved client that waits longer than this for one round trip counts as starved.
STALL = 10.0 * SLOW
# Growth of a server's RSS over its idle footprint that is still "about idle". The allocator
# keeps some freed memory; a per-connection leak over thousands of connections is far larger.
RSS_SLACK_KIB = (96 if SANITIZED else 32) * 1024
if SANITIZED:
    # ASan keeps up to 256 MiB of freed memory in quarantine on purpose, which would read as
    # growth; a smaller quarantine still catches use-after-free of recent frees and lets RSS
    # mean something. The servers inherit this environment.
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16"
# 5,000 connections at once in the release build. Under ASan every accept and close costs
# several times more and the quarantine inflates RSS, so fewer still show the same property.
FLOOD = 1500 if SANITIZED else 5000
CLASSIC_MODELS = ["poll", "epoll", "select", "uv"]
TOKEN = "fault-injection-token"


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pid_gone(pid):
    """Dead: gone, or a zombie waiting for whoever inherited it (here, often a slow PID 1)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


def kill_if_alive(pid):
    # Only for processes this test had a command start and that were meant to die with it.
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def reset_close(sock):
    """Closes with an RST instead of a FIN (SO_LINGER 0), as a crashed or killed peer does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def open_many(port, count):
    """Starts `count` connects at once without waiting for them; the kernel completes them."""
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    return socks


def peer_state(sock):
    """'refused' if the server closed or reset this connection, 'open' otherwise."""
    try:
        data = sock.recv(65536, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return "open"
    except (ConnectionResetError, ConnectionRefusedError, BrokenPipeError):
        return "refused"
    except OSError as e:
        if e.errno in (errno.EPIPE, errno.ECONNRESET):
            return "refused"
        if e.errno == errno.ENOTCONN:
            return "open"  # still connecting
        raise
    return "refused" if data == b"" else "open"


def raise_own_fd_limit(wanted):
    """Raises this process's soft RLIMIT_NOFILE (never the hard one); False if it cannot reach."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        return False
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return True


class LimitedServer(nt.Server):
    """A netlab server whose RLIMIT_NOFILE is set in the child only, soft and hard alike, so the
    server's own raise of the soft limit up to the hard one cannot lift it."""

    def __init__(self, nofile, *args):
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.tmp = tempfile.mkdtemp(prefix="netlab-e2e-")
        self.stderr_path = os.path.join(self.tmp, "stderr")
        self._stderr = open(self.stderr_path, "wb")
        env = None
        if SANITIZED:
            # UBSan's vptr check reads the vtable only after probing that memory through a pipe;
            # with no descriptor left the pipe fails and it reports a live object as having an
            # "invalid vptr". That one check is suppressed for these servers; ASan and every
            # other UBSan check stay on.
            suppressions = os.path.join(self.tmp, "ubsan.supp")
            with open(suppressions, "w") as f:
                f.write("vptr:*\n")
            env = dict(os.environ)
            env["UBSAN_OPTIONS"] = env.get("UBSAN_OPTIONS", "") + f":suppressions={suppressions}"
        self.proc = subprocess.Popen([nt.NETLAB, *map(str, args)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._stderr, preexec_fn=limit, env=env)
        self.address = None
        try:
            self.wait_ready()
        except AssertionError:
            self.close()
            raise


# Well-behaved clients that keep being served while the hostile peers act.


class Bystander:
    """Runs verified round trips in a thread every few milliseconds until stopped. Any differing
    byte, error or round trip slower than STALL is kept and reported by check()."""

    interval = 0.02

    def __init__(self):
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            while not self._stop.wait(self.interval):
                self.round_trip()
        except Exception as e:  # noqa: BLE001 - reported by check()
            self.error = e

    def __enter__(self):
        self.round_trip()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(STALL + 5)
        self.close()

    def check(self, test, what):
        test.assertIsNone(self.error, f"the well-behaved client failed during {what}: {self.error!r}")
        self.round_trip()


class EchoBystander(Bystander):
    def __init__(self, port, size=4096):
        super().__init__()
        self.sock = nt.connect("127.0.0.1", port, timeout=STALL)
        self.size = size
        self.lock = threading.Lock()

    def round_trip(self):
        payload = os.urandom(self.size)
        with self.lock:
            self.sock.sendall(payload)
            echoed = nt.recv_exactly(self.sock, len(payload))
        if echoed != payload:
            raise AssertionError("echo differs from what was sent")

    def close(self):
        self.sock.close()


class ExecBystander(Bystander):
    """Runs `cat` with fresh random input each round and checks the output byte for byte."""

    interval = 0.05

    def __init__(self, port, token=None):
        super().__init__()
        self.client = ExecClient("127.0.0.1", port, timeout=STALL)
        self.client.handshake(token)
        self.lock = threading.Lock()
        self.next_id = 1

    def round_trip(self):
        payload = os.urandom(2048)
        with self.lock:
            self.next_id += 1
            final, out, _, _ = self.client.run(id=self.next_id, argv=["cat"], stdin=payload)
        if final.get("exit_code") != 0 or out != payload:
            raise AssertionError(f"cat answered {final} with {len(out)} bytes, not the {len(payload)} sent")

    def close(self):
        self.client.close()


class UdpBystander(Bystander):
    """Datagrams may be dropped under a flood, so each round trip retries; the echo must still
    match byte for byte."""

    def __init__(self, port, family=socket.AF_INET, host="127.0.0.1", size=512):
        super().__init__()
        self.size = size
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.settimeout(0.5)
        self.target = (host, port)
        self.lock = threading.Lock()

    def round_trip(self):
        payload = os.urandom(self.size)
        deadline = time.monotonic() + STALL
        with self.lock:
            while time.monotonic() < deadline:
                self.sock.sendto(payload, self.target)
                try:
                    while True:
                        data = self.sock.recv(65536)
                        if data == payload:
                            return
                        # A late echo of an earlier round trip: keep waiting for ours.
                except socket.timeout:
                    continue
        raise AssertionError(f"no echo of a datagram within {STALL}s of retries")

    def close(self):
        self.sock.close()


class ServerCase(unittest.TestCase):
    def start(self, *args):
        server = nt.Server(*args)
        self.addCleanup(server.close)
        return server

    def idle_footprint(self, server):
        """RSS (KiB) and open descriptors of the server, serving and idle. `listening on` comes
        before a model has made its own descriptors (select-server's epoll instance is created
        after it), so a footprint taken then can be one short: every server first serves one
        client, and the footprint is taken once that client's connection is gone. An
        exec-server's first command also makes it open /dev/null once, kept for every later
        child's stdin; its footprint waits for that command's child and pipes to go too."""
        pid = server.proc.pid
        pipes = nt.pipe_count(pid)
        if "exec-server" in server.proc.args:
            warm = ExecClient("127.0.0.1", server.port, timeout=STALL)
            warm.handshake(TOKEN if "--token-file" in server.proc.args else None)
            warm.run(argv=["true"])
        else:
            warm = EchoBystander(server.port)
            warm.round_trip()
        port = warm.sock.getsockname()[1]
        warm.close()
        self.assertTrue(wait_until(lambda: children_of(pid) == [] and nt.pipe_count(pid) <= pipes
                                   and not nt.server_holds(server.port, port), 10 * SLOW),
                        "the warm-up client did not go away")
        return nt.rss_kib(pid), fd_count(pid)

    def assert_back_to_idle(self, server, base_rss, base_fds, what):
        pid = server.proc.pid
        self.assertIsNone(server.proc.poll(), f"server exited during {what}: {server.stderr()[-2000:]}")
        self.assertTrue(wait_until(lambda: fd_count(pid) <= base_fds, 10 * SLOW),
                        f"after {what}: {fd_count(pid)} descriptors open, {base_fds} when idle")
        grown = nt.rss_kib(pid) - base_rss
        self.assertLess(grown, RSS_SLACK_KIB, f"after {what}: RSS {grown} KiB over the idle footprint")


class TestSilentPeers(ServerCase):
    """Peers that connect and send nothing."""

    def silent_peers_closed(self, server, count, idle, bystander):
        base_rss, base_fds = self.idle_footprint(server)
        with bystander:
            start = time.monotonic()
            peers = open_many(server.port, count)
            by_fd = {s.fileno(): s for s in peers}
            poller = select.poll()
            for fd in by_fd:
                poller.register(fd, select.POLLIN)
            closed_at = {}
            deadline = start + idle + 5 * SLOW
            while len(closed_at) < count and time.monotonic() < deadline:
                for fd, _ in poller.poll(100):
                    # exec-server greets first; only the end of the stream counts.
                    if peer_state(by_fd[fd]) == "refused":
                        closed_at[fd] = time.monotonic() - start
                        poller.unregister(fd)
            bystander.check(self, "silent peers")
        for s in peers:
            s.close()
        self.assertEqual(len(closed_at), count, f"{count - len(closed_at)} silent peers still open after "
                                                f"{idle + 5 * SLOW}s with --idle-timeout {idle}")
        # Closed for idleness, not at once.
        self.assertGreater(min(closed_at.values()), idle * 0.5)
        self.assert_back_to_idle(server, base_rss, base_fds, "silent peers")

    def test_echo_server_closes_idle_peers(self):
        server = self.start("echo-server", "0", "--idle-timeout", "1")
        self.silent_peers_closed(server, 200, 1, EchoBystander(server.port))

    def test_exec_server_closes_idle_peers(self):
        server = self.start("exec-server", "0", "--idle-timeout", "1")
        self.silent_peers_closed(server, 100, 1, ExecBystander(server.port))

    def test_select_server_closes_idle_peers(self):
        for model in CLASSIC_MODELS:
            with self.subTest(model=model):
                server = self.start("select-server", "0", "--model", model, "--idle-timeout", "1")
                self.silent_peers_closed(server, 200, 1, EchoBystander(server.port))
                server.close()


class TestSlowloris(ServerCase):
    """exec-server's only bound on a slow frame is --idle-timeout: it counts from the moment no
    command runs (connect, auth-ok, last exit) and bytes arriving do not extend it, so a frame
    dribbled one byte at a time cannot hold a connection past it. (echo-server has no frames:
    every byte is echoed and is activity, so a slow sender there is simply a slow client.)"""

    def test_exec_server_cuts_dribbled_frames(self):
        idle = 2
        server = self.start("exec-server", "0", "--idle-timeout", idle, "--token-file", self.token_file())
        base_rss, base_fds = self.idle_footprint(server)
        frames = []
        peers = []
        for i in range(6):
            c = ExecClient("127.0.0.1", server.port, timeout=STALL)
            peers.append(c)
            if i % 2 == 0:
                # Before authenticating: the auth frame itself is dribbled.
                c.read_hello()
                frames.append(encode_frame({"type": "auth", "mac": c.mac(TOKEN, c.hello["nonce"])}))
            else:
                # After authenticating: an exec frame is dribbled.
                c.handshake(TOKEN)
                frames.append(encode_frame({"type": "exec", "id": 1, "argv": ["echo", "never"]}))
        start = time.monotonic()
        sent = [0] * len(peers)
        closed_at = {}
        with ExecBystander(server.port, TOKEN) as bystander:
            deadline = start + idle + 6 * SLOW
            while len(closed_at) < len(peers) and time.monotonic() < deadline:
                for i, c in enumerate(peers):
                    if i in closed_at:
                        continue
                    if peer_state(c.sock) == "refused":
                        closed_at[i] = time.monotonic() - start
                        continue
                    try:
                        c.sock.send(frames[i][sent[i]:sent[i] + 1])
                        sent[i] += 1
                    except OSError:
                        closed_at[i] = time.monotonic() - start
                # The attack's pace (one byte per peer every half second), not a wait for the server.
                time.sleep(0.5)
            bystander.check(self, "slowloris")
        for c in peers:
            c.close()
        self.assertEqual(len(closed_at), len(peers), "a dribbling peer outlived --idle-timeout")
        for i, frame in enumerate(frames):
            self.assertLess(sent[i], len(frame), "the frame was completed: the test proves nothing")
        self.assertGreater(min(closed_at.values()), idle * 0.5)
        self.assert_back_to_idle(server, base_rss, base_fds, "slowloris")

    def token_file(self):
        tmp = tempfile.mkdtemp(prefix="netlab-fault-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "token")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(TOKEN + "\n")
        return path


class TestResetMidFrame(ServerCase):
    def test_exec_server(self):
        server = self.start("exec-server", "0")
        base_rss, base_fds = self.idle_footprint(server)
        frame = encode_frame({"type": "exec", "id": 1, "argv": ["cat"]}, os.urandom(256 * 1024))
        header_end = 4 + struct.unpack("!I", frame[:4])[0]
        cuts = {
            "inside the length": 2,
            "inside the header": header_end // 2,
            "inside the body": header_end + (len(frame) - header_end) // 2,
        }
        with ExecBystander(server.port) as bystander:
            for name, cut in cuts.items():
                for _ in range(10):
                    c = ExecClient("127.0.0.1", server.port, timeout=STALL)
                    c.read_hello()
                    c.send_raw(frame[:cut])
                    reset_close(c.sock)
                bystander.check(self, f"resets {name}")
        self.assertEqual(children_of(server.proc.pid), [])
        self.assert_back_to_idle(server, base_rss, base_fds, "resets mid-frame")

    def test_exec_server_reset_while_command_runs(self):
        server = self.start("exec-server", "0")
        base_rss, base_fds = self.idle_footprint(server)
        with ExecBystander(server.port) as bystander:
            pids = []
            for _ in range(5):
                c = ExecClient("127.0.0.1", server.port, timeout=STALL)
                c.handshake()
                c.send_exec(1, argv=["sh", "-c", "echo $$; exec sleep 60"])
                pids.append(int(c.recv_frame()[1]))
                reset_close(c.sock)
            bystander.check(self, "resets while commands run")
        try:
            for pid in pids:
                self.assertTrue(wait_until(lambda: pid_gone(pid), 10 * SLOW), f"command {pid} survived its client")
        finally:
            for pid in pids:
                kill_if_alive(pid)
        self.assert_back_to_idle(server, base_rss, base_fds, "resets while commands run")

    def test_echo_servers_reset_with_echo_pending(self):
        for args in [("echo-server", "0")] + [("select-server", "0", "--model", m) for m in CLASSIC_MODELS]:
            with self.subTest(server=args):
                server = self.start(*args)
                base_rss, base_fds = self.idle_footprint(server)
                with EchoBystander(server.port) as bystander:
                    for _ in range(20):
                        s = nt.connect("127.0.0.1", server.port)
                        # More than the kernel buffers hold, so echo is still queued at the reset.
                        s.setblocking(False)
                        try:
                            s.send(os.urandom(1 << 20))
                        except BlockingIOError:
                            pass
                        reset_close(s)
                    bystander.check(self, "resets")
                self.assert_back_to_idle(server, base_rss, base_fds, "resets with echo pending")
                server.close()


class TestHalfClose(ServerCase):
    def echo_after_half_close(self, port, size):
        payload = os.urandom(size)
        s = nt.connect("127.0.0.1", port, timeout=STALL)
        received = []

        def read_all():
            received.append(nt.recv_until_close(s))

        reader = threading.Thread(target=read_all)
        reader.start()
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        reader.join(STALL * 2)
        s.close()
        self.assertFalse(reader.is_alive(), "the server never closed after the half-close")
        self.assertEqual(received[0], payload)

    def test_echo_servers_answer_after_half_close(self):
        for args in [("echo-server", "0")] + [("select-server", "0", "--model", m) for m in CLASSIC_MODELS]:
            with self.subTest(server=args):
                server = self.start(*args)
                base_rss, base_fds = self.idle_footprint(server)
                with EchoBystander(server.port) as bystander:
                    for size in (1, 100_000, 2 << 20):
                        self.echo_after_half_close(server.port, size)
                    bystander.check(self, "half-closes")
                self.assert_back_to_idle(server, base_rss, base_fds, "half-closes")
                server.close()

    def test_exec_server_half_close_means_gone(self):
        # protocol.md "Leaving": an exec client's end of stream means it left, so no answer comes
        # after it; what must hold is that its command goes with it and nothing is left behind.
        server = self.start("exec-server", "0")
        base_rss, base_fds = self.idle_footprint(server)
        c = ExecClient("127.0.0.1", server.port, timeout=STALL)
        c.handshake()
        c.send_exec(1, argv=["sh", "-c", "echo $$; exec sleep 60"])
        pid = int(c.recv_frame()[1])
        c.sock.shutdown(socket.SHUT_WR)
        try:
            self.assertTrue(c.at_eof())
            self.assertTrue(wait_until(lambda: pid_gone(pid), 10 * SLOW), "the command outlived its client")
        finally:
            kill_if_alive(pid)
            c.close()
        self.assert_back_to_idle(server, base_rss, base_fds, "a half-close")


class TestHugeFrames(ServerCase):
    """A frame claiming 4 GiB must be refused from its first bytes, not buffered or reserved."""

    def expect_refused(self, server, raw, needle):
        c = ExecClient("127.0.0.1", server.port, timeout=STALL)
        try:
            c.handshake()
            c.send_raw(raw)
            reply, _ = c.recv_frame()
            self.assertEqual((reply["type"], reply.get("code")), ("error", "protocol"), reply)
            self.assertIn(needle, reply["message"])
            self.assertTrue(c.at_eof())
        finally:
            c.close()

    def test_header_and_body_claims(self):
        server = self.start("exec-server", "0")
        base_rss, base_fds = self.idle_footprint(server)
        pid = server.proc.pid
        with ExecBystander(server.port) as bystander:
            for _ in range(20):
                # The largest header length the 32-bit prefix can carry, 4 GiB - 1.
                self.expect_refused(server, struct.pack("!I", 0xFFFFFFFF) + b"{", "header length")
                text = json.dumps({"type": "exec", "id": 1, "argv": ["cat"], "size": 1 << 32}).encode()
                self.expect_refused(server, struct.pack("!I", len(text)) + text, "body size")
            bystander.check(self, "4 GiB frames")
        self.assertLess(nt.rss_kib(pid) - base_rss, 64 * 1024 * (4 if SANITIZED else 1))
        self.assert_back_to_idle(server, base_rss, base_fds, "4 GiB frames")

    def test_allowed_4gib_body_costs_only_what_arrives(self):
        # With --max-body at its largest (4 GiB) the claim is legal; memory must follow the bytes
        # that actually arrive, not the size announced.
        server = self.start("exec-server", "0", "--max-body", 1 << 32)
        base_rss, _ = self.idle_footprint(server)
        pid = server.proc.pid
        peers = []
        text = json.dumps({"type": "exec", "id": 1, "argv": ["cat"], "size": 1 << 32}).encode()
        with ExecBystander(server.port) as bystander:
            for _ in range(20):
                c = ExecClient("127.0.0.1", server.port, timeout=STALL)
                c.handshake()
                c.send_raw(struct.pack("!I", len(text)) + text + os.urandom(1024))
                peers.append(c)
            # Every byte the claimants sent has been read by the server.
            self.assertTrue(wait_until(lambda: nt.tcp_unread_bytes(server.port) == 0, 10 * SLOW))
            bystander.check(self, "4 GiB claims in progress")
            grown = nt.rss_kib(pid) - base_rss
            self.assertLess(grown, 64 * 1024 * (4 if SANITIZED else 1), f"20 claims of 4 GiB cost {grown} KiB")
            over = json.dumps({"type": "exec", "id": 1, "argv": ["cat"], "size": (1 << 32) + 1}).encode()
            self.expect_refused(server, struct.pack("!I", len(over)) + over, "body size")
            for c in peers:
                c.close()

    def test_unpack_refuses_4gib_claim(self):
        # A frame file claiming 4 GiB: a clear error, not an attempt to read or reserve it.
        tmp = tempfile.mkdtemp(prefix="netlab-fault-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "huge.frames")
        text = json.dumps({"type": "file", "name": "huge.bin", "size": 1 << 32}).encode()
        with open(path, "wb") as f:
            f.write(struct.pack("!I", len(text)) + text + b"x" * 1024)
        os.mkdir(os.path.join(tmp, "out"))
        proc = nt.run("unpack", "--frame", path, "-C", os.path.join(tmp, "out"))
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(b"over the limit", proc.stderr)
        self.assertEqual(os.listdir(os.path.join(tmp, "out")), [])


class TestConnectionFlood(ServerCase):
    def test_echo_server_many_connections_at_once(self):
        if not raise_own_fd_limit(FLOOD + 256):
            self.skipTest(f"RLIMIT_NOFILE hard limit below {FLOOD + 256}")
        server = self.start("echo-server", "0")
        pid = server.proc.pid
        base_rss, base_fds = self.idle_footprint(server)
        after = []
        with EchoBystander(server.port) as bystander:
            for _ in range(2):
                peers = open_many(server.port, FLOOD)
                self.assertTrue(wait_until(lambda: fd_count(pid) >= base_fds + FLOOD, 20 * SLOW),
                                f"{fd_count(pid) - base_fds} of {FLOOD} connections accepted")
                bystander.check(self, "a connection flood")
                # A sample of the flood is served too, byte for byte.
                for s in peers[::250]:
                    s.setblocking(True)
                    s.settimeout(STALL)
                    payload = os.urandom(64)
                    s.sendall(payload)
                    self.assertEqual(nt.recv_exactly(s, len(payload)), payload)
                for s in peers:
                    s.close()
                # The bystander's own connection is the one more.
                self.assertTrue(wait_until(lambda: fd_count(pid) <= base_fds + 1, 20 * SLOW))
                bystander.check(self, "the flood leaving")
                after.append(nt.rss_kib(pid))
        self.assert_back_to_idle(server, base_rss, base_fds, f"{FLOOD} connections")
        # A second flood must not cost more than the first did: nothing is kept per connection.
        self.assertLess(after[1] - after[0], (64 if SANITIZED else 4) * 1024, f"RSS after each flood: {after}")


class TestDescriptorExhaustion(unittest.TestCase):
    """Servers started with RLIMIT_NOFILE 64 facing 150 connections: they stay up, refuse the
    excess (close or reset, not a hang), do not spin, and serve normally once the others leave.
    select-server's nonblocking model is left out: it polls every socket in a busy loop by
    design and burns a core even when idle."""

    LIMIT = 64
    PEERS = 150
    SERVERS = {
        "echo-server": ("echo-server", "0"),
        "exec-server": ("exec-server", "0"),
        **{f"select-server {m}": ("select-server", "0", "--model", m) for m in CLASSIC_MODELS + ["threads"]},
    }

    def test_at_the_limit(self):
        if not raise_own_fd_limit(len(self.SERVERS) * self.PEERS + 256):
            self.skipTest("RLIMIT_NOFILE hard limit too low for this test's own connections")
        servers, peers, goods, base = {}, {}, {}, {}
        try:
            for name, args in self.SERVERS.items():
                servers[name] = LimitedServer(self.LIMIT, *args)
            for name, server in servers.items():
                # Connected before the flood: it holds its descriptor through it.
                goods[name] = (ExecBystander if name == "exec-server" else EchoBystander)(server.port)
                goods[name].round_trip()
                base[name] = fd_count(server.proc.pid)
                peers[name] = open_many(server.port, self.PEERS)
            for name, server in servers.items():
                pid = server.proc.pid
                self.assertTrue(wait_until(lambda: fd_count(pid) >= self.LIMIT - 2, 10 * SLOW),
                                f"{name}: only {fd_count(pid)} descriptors open")
            # Every server at its limit with every peer decided (accepted or refused, none left in
            # the backlog): the steady state whose CPU use is measured, all servers together.
            for name, server in servers.items():
                with self.subTest(server=name):
                    self.wait_all_decided(name, server, peers[name])
            cpu_before = {name: cpu_seconds(s.proc.pid) for name, s in servers.items()}
            start = time.monotonic()
            time.sleep(2)
            elapsed = time.monotonic() - start
            for name, server in servers.items():
                with self.subTest(server=name):
                    used = (cpu_seconds(server.proc.pid) - cpu_before[name]) / elapsed
                    self.assertLess(used, 0.25, f"{name} used {used:.2f} of a core at the descriptor limit")
                    self.assertIsNone(server.proc.poll(), f"{name} exited: {server.stderr()[-2000:]}")
                    self.check_at_limit(name, server, base[name], peers[name], goods[name])
            for name, server in servers.items():
                with self.subTest(server=name):
                    for s in peers[name]:
                        s.close()
                    pid = server.proc.pid
                    self.assertTrue(wait_until(lambda: fd_count(pid) <= base[name], 10 * SLOW),
                                    f"{name}: {fd_count(pid)} descriptors after the flood left, {base[name]} before")
                    goods[name].round_trip()
                    fresh = (ExecBystander if name == "exec-server" else EchoBystander)(server.port)
                    fresh.round_trip()
                    fresh.close()
        finally:
            for group in peers.values():
                for s in group:
                    s.close()
            for good in goods.values():
                good.close()
            # Every server is stopped even if one of them fails its close (a sanitizer report).
            reports = []
            for server in servers.values():
                try:
                    server.close()
                except AssertionError as e:
                    reports.append(str(e))
            if reports:
                raise AssertionError("\n".join(reports))

    def peer_states(self, server, flood):
        """Each peer as 'refused' (closed or reset by the server), 'accepted' (the server holds
        it) or 'pending' (still in the listen backlog, neither)."""
        states = []
        for s in flood:
            state = peer_state(s)
            if state == "open":
                state = "accepted" if nt.accepted_by_server(server.port, s) else "pending"
            states.append(state)
        return states

    def wait_all_decided(self, name, server, flood):
        """Waits until no peer is pending. A server at its descriptor limit refuses the backlog
        as fast as its loop gets to it, which under heavy machine load can be slow: the wait
        gives up only when nothing has been decided for a long stretch, not after a time budget."""
        states = self.peer_states(server, flood)
        while states.count("pending") > 0:
            pending = states.count("pending")
            progressed = wait_until(lambda: self.peer_states(server, flood).count("pending") < pending, 30 * SLOW,
                                    interval=0.05)
            states = self.peer_states(server, flood)
            self.assertTrue(progressed, f"{name}: {pending} of {self.PEERS} connections left in the backlog, "
                                        f"none decided for {30 * SLOW} s ({states.count('refused')} refused)")
        return states

    def check_at_limit(self, name, server, base_fds, flood, good):
        # The excess is answered with a close or a reset, none left hanging in the backlog.
        states = self.wait_all_decided(name, server, flood)
        refused = states.count("refused")
        accepted = states.count("accepted")
        self.assertEqual(refused + accepted, self.PEERS)
        # None pending is the fact that matters; how many were accepted depends on the descriptors
        # the server held at that moment (its base count can include a closing job's pipes), so
        # the bound is only the limit less stdin, stdout and stderr.
        self.assertLessEqual(accepted, self.LIMIT - 3, f"{name}: {accepted} accepted")
        self.assertGreater(refused, 0, f"{name}: nothing refused")
        self.assertGreater(accepted, 0, f"{name}: nothing accepted")
        if name == "exec-server":
            # Running a command needs pipes the server cannot open now: refused, not a crash.
            reply = good.client
            good.next_id += 1
            reply.send_exec(good.next_id, argv=["true"])
            final, _, _, _ = reply.collect(good.next_id)
            self.assertIn(final.get("code", "exit"), ("exit", "spawn-failed"), final)
        else:
            good.round_trip()


class TestExecChildren(unittest.TestCase):
    """What tests/e2e/test_exec_server.py does not already cover: a TERM-ignoring child and
    background leftovers with stdout on /dev/null are tested there; here the leftovers hold the
    output pipe, leave the process group, ignore TERM one level down, or close stdout early."""

    @classmethod
    def setUpClass(cls):
        cls.server = nt.Server("exec-server", "0", "--kill-grace", "0.3")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def client(self):
        c = ExecClient("127.0.0.1", self.server.port, timeout=STALL * 3)
        self.addCleanup(c.close)
        c.handshake()
        return c

    def test_grandchild_in_group_holding_stdout(self):
        c = self.client()
        start = time.monotonic()
        final, out, _, _ = c.run(argv=["sh", "-c", "sleep 60 & echo $!"])
        pid = int(out)
        self.addCleanup(kill_if_alive, pid)
        self.assertEqual(final["exit_code"], 0)
        self.assertLess(time.monotonic() - start, STALL, "the exit waited for the grandchild")
        self.assertTrue(wait_until(lambda: pid_gone(pid), 10 * SLOW), "the grandchild survived")
        self.assertEqual(c.run(id=2, argv=["echo", "next"])[1], b"next\n")

    def test_grandchild_leaving_group_holding_stdout(self):
        # It escaped the group, so it is not killed: the server waits for the pipe at most ~2 s.
        c = self.client()
        start = time.monotonic()
        c.send_exec(1, argv=["sh", "-c", "setsid sh -c 'echo $$; exec sleep 60' & sleep 0.3"])
        header, body = c.recv_frame()
        self.assertEqual(header["type"], "stdout")
        pid = int(body)
        self.addCleanup(kill_if_alive, pid)
        final, _, _, _ = c.collect(1)
        self.assertEqual(final["exit_code"], 0)
        self.assertLess(time.monotonic() - start, 2 + STALL)
        self.assertEqual(c.run(id=2, argv=["echo", "next"])[1], b"next\n")
        self.assertEqual(children_of(self.server.proc.pid), [])

    def test_grandchild_ignoring_term_on_timeout(self):
        c = self.client()
        c.send_exec(1, argv=["sh", "-c", "sh -c 'trap \"\" TERM; echo $$; exec sleep 60' & wait"], timeout=0.3)
        header, body = c.recv_frame()
        pid = int(body)
        self.addCleanup(kill_if_alive, pid)
        final, _, _, _ = c.collect(1)
        self.assertTrue(final["timed_out"])
        self.assertTrue(wait_until(lambda: pid_gone(pid), 10 * SLOW), "the TERM-ignoring grandchild survived")

    def test_stdout_closed_early(self):
        c = self.client()
        final, out, err, _ = c.run(argv=["sh", "-c", "exec >&-; sleep 0.3; echo late >&2; exit 3"])
        self.assertEqual((final["exit_code"], out, err), (3, b"", b"late\n"))

    def test_both_outputs_closed_early(self):
        # End of output is not the end of the command: the exit status still comes, when it exits.
        c = self.client()
        final, out, err, _ = c.run(argv=["sh", "-c", "exec >&- 2>&-; sleep 0.5; exit 4"])
        self.assertEqual((final["exit_code"], out, err), (4, b"", b""))
        self.assertGreaterEqual(final["duration_ms"], 400)


class TestUdpHostile(unittest.TestCase):
    """udp-echo has no connections to exhaust; what applies is junk, floods, oversized
    datagrams and peers that vanish before their answer arrives."""

    def flood(self, family, host, port, sizes, count):
        blobs = {size: os.urandom(size) for size in sizes}
        for _ in range(count):
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.setblocking(False)
                for size in sizes:
                    try:
                        s.sendto(blobs[size], (host, port))
                    except (BlockingIOError, OSError):
                        pass
            # Closed before the echoes arrive: the server's replies meet a closed port.

    def test_flood_and_vanishing_peers(self):
        server = nt.Server("udp-echo", "0")
        self.addCleanup(server.close)
        with UdpBystander(server.port) as bystander:
            # Measured once the server has echoed the bystander's first datagram.
            base = nt.rss_kib(server.proc.pid)
            self.flood(socket.AF_INET, "127.0.0.1", server.port, [0, 1, 1400, 65507] * 8, 200)
            bystander.check(self, "a datagram flood")
        self.assertIsNone(server.proc.poll())
        self.assertLess(nt.rss_kib(server.proc.pid) - base, RSS_SLACK_KIB)

    def test_largest_ipv6_datagrams(self):
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
                s.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback")
        server = nt.Server("udp-echo", "[::1]:0")
        self.addCleanup(server.close)
        # 65527 bytes, the most UDP over IPv6 carries (over IPv4: 65507): echoed whole, never cut.
        with UdpBystander(server.port, socket.AF_INET6, "::1", size=65527) as bystander:
            self.flood(socket.AF_INET6, "::1", server.port, [65527] * 4, 50)
            bystander.check(self, "largest datagrams")
        self.assertIsNone(server.proc.poll())


class TestDiskFull(unittest.TestCase):
    """`unpack --frame` into a 1 MiB tmpfs, mounted in a private mount namespace so nothing is
    visible outside the one command; needs root and namespaces, skipped otherwise."""

    SCRIPT = ('mount -t tmpfs -o size=1m tmpfs "$0" || exit 99; mkdir "$0/out" || exit 99; '
              '"$@"; rc=$?; find "$0/out" -type f -printf "%P %s\\n"; exit $rc')

    def test_unpack_disk_full(self):
        if shutil.which("unshare") is None:
            self.skipTest("unshare not installed")
        tmp = tempfile.mkdtemp(prefix="netlab-fault-")
        self.addCleanup(shutil.rmtree, tmp, True)
        mnt = os.path.join(tmp, "mnt")
        os.mkdir(mnt)
        probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                'mount -t tmpfs -o size=1m tmpfs "$0"', mnt], capture_output=True, timeout=30)
        if probe.returncode != 0:
            self.skipTest(f"no private mount namespace with tmpfs here: {probe.stderr.decode().strip()}")
        src = os.path.join(tmp, "src")
        os.mkdir(src)
        small = os.urandom(100_000)
        with open(os.path.join(src, "a-small.bin"), "wb") as f:
            f.write(small)
        with open(os.path.join(src, "b-big.bin"), "wb") as f:
            f.write(os.urandom(3 << 20))
        frames = os.path.join(tmp, "files.frames")
        # Relative, so the names inside are src/...
        packed = subprocess.run([nt.NETLAB, "pack", "--frame", "src", "-o", frames], cwd=tmp, capture_output=True,
                                timeout=60 * SLOW)
        nt.check_sanitizers(packed.stderr.decode(errors="replace"), "netlab pack")
        self.assertEqual(packed.returncode, 0, packed.stderr)
        proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", self.SCRIPT, mnt,
                               nt.NETLAB, "unpack", "--frame", frames, "-C", os.path.join(mnt, "out")],
                              capture_output=True, timeout=60 * SLOW)
        stderr = proc.stderr.decode(errors="replace")
        nt.check_sanitizers(stderr, "netlab unpack")
        self.assertNotEqual(proc.returncode, 99, stderr)
        self.assertEqual(proc.returncode, 1, stderr)
        self.assertIn("no space left on device", stderr)
        # The file verified before the disk filled stays; the one being written is gone entirely.
        left = dict(line.rsplit(" ", 1) for line in proc.stdout.decode().splitlines())
        self.assertEqual(left, {"src/a-small.bin": str(len(small))})


if __name__ == "__main__":
    nt.main()
