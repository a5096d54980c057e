"""--allow-from, --deny-from and --max-conns-per-ip end to end, on every server: echo-server,
exec-server (framed and legacy), every select-server model and udp-echo. Real sockets on
loopback; a refused TCP peer must see a close or reset and none of the service's bytes, a refused
UDP peer no reply at all."""
import itertools
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import netlab_test as nt  # noqa: E402
from exec_protocol_client import ExecClient, ProtocolError, legacy_exchange  # noqa: E402

IO_TIMEOUT = 10.0
MODELS = ["blocking", "threads", "nonblocking", "select", "poll", "epoll", "uv"]


def can_bind(family, host):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
        return True
    except OSError:
        return False


HAVE_IPV6 = socket.has_ipv6 and can_bind(socket.AF_INET6, "::1")
# Linux routes all of 127.0.0.0/8 to lo: a second loopback source shows rules are per address.
HAVE_SECOND_LOOPBACK = can_bind(socket.AF_INET, "127.0.0.2")


def dual_stack():
    """Whether a socket bound to [::] also receives IPv4 peers, as ::ffff:a.b.c.d."""
    if not HAVE_IPV6:
        return False
    try:
        with open("/proc/sys/net/ipv6/bindv6only") as f:
            return f.read().strip() == "0"
    except OSError:
        return False


def tcp_socket(host, port, source=None):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(IO_TIMEOUT)
    if source:
        s.bind((source, 0))
    try:
        s.connect((host, port))
    except OSError:
        s.close()
        raise
    return s


# What "served" means for each TCP server, and the bytes a client sends first.
class EchoKind:
    args = ("echo-server",)
    request = b"ping"
    # Extra options to listen on [::], which exec-server otherwise refuses without a token.
    wide_options = ()

    def open(self, host, port, source=None):
        return tcp_socket(host, port, source)

    def served(self, conn, tag):
        payload = f"echo {tag}".encode()
        conn.sendall(payload)
        return nt.recv_exactly(conn, len(payload)) == payload

    def close(self, conn):
        conn.close()


class ModelKind(EchoKind):
    def __init__(self, model):
        self.args = ("select-server", "--model", model)


class FramedExecClient(ExecClient):
    """The independent protocol client on a socket we connected (perhaps from a chosen source)."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = bytearray()
        self.hello = None


class FramedExecKind:
    args = ("exec-server",)
    request = b""  # the server speaks first: a served peer gets `hello` unasked
    wide_options = ("--insecure",)
    ids = itertools.count(1)

    def open(self, host, port, source=None):
        client = FramedExecClient(tcp_socket(host, port, source))
        client.handshake()
        return client

    def served(self, conn, tag):
        final, out, _, _ = conn.run(id=next(self.ids), argv=["echo", tag])
        return final["type"] == "exit" and out == f"{tag}\n".encode()

    def close(self, conn):
        conn.close()


class LegacyExecKind(EchoKind):
    args = ("exec-server", "--protocol", "legacy")
    request = b"echo refused"
    wide_options = ("--insecure",)

    def served(self, conn, tag):
        _, body = legacy_exchange(conn, f"echo {tag}")
        return body == f"{tag}\n".encode()


def assert_refused(test, kind, host, port, source=None):
    """Connects like a client of `kind` and expects a close or reset with none of the service's bytes."""
    try:
        s = tcp_socket(host, port, source)
    except (ConnectionRefusedError, ConnectionResetError):
        return  # reset before connect() returned: also a refusal
    with s:
        try:
            if kind.request:
                s.sendall(kind.request)
            # One read decides: bytes mean it was served, end of stream or a reset that it was not.
            received = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return
        except socket.timeout:
            test.fail(f"{kind.args}: a refused peer was neither served nor closed within {IO_TIMEOUT}s")
    test.assertEqual(received, b"", f"{kind.args}: a refused peer got bytes")


class TcpAccessTest:
    """Mixed into one TestCase per TCP server below."""
    kind = None
    host = "127.0.0.1"

    def start(self, *options, address="127.0.0.1:0"):
        server = nt.Server(*self.kind.args, address, *options)
        self.addCleanup(server.close)
        return server

    def assert_served(self, server, host="127.0.0.1", source=None, tag="x"):
        conn = self.kind.open(host, server.port, source)
        try:
            self.assertTrue(self.kind.served(conn, tag), f"{self.kind.args}: not served")
        finally:
            self.kind.close(conn)

    def assert_logged(self, server, pattern):
        if not nt.wait_until(lambda: re.search(pattern, server.stderr())):
            self.fail(f"no log line matching {pattern!r}: {server.stderr()}")

    def test_deny_from_refuses_and_allow_from_serves(self):
        denied = self.start("--deny-from", "127.0.0.1/32")
        assert_refused(self, self.kind, "127.0.0.1", denied.port)
        self.assert_logged(denied, r"refused \d+ connection\(s\), latest from 127\.0\.0\.1:\d+: "
                                   r"matches --deny-from 127\.0\.0\.1/32")
        if HAVE_SECOND_LOOPBACK:
            # Only the denied address: another one is still served.
            self.assert_served(denied, source="127.0.0.2")
        allowed = self.start("--allow-from", "127.0.0.0/8")
        self.assert_served(allowed)
        self.assertNotIn("refused", allowed.stderr())

    def test_allow_from_elsewhere_refuses_loopback(self):
        server = self.start("--allow-from", "10.0.0.0/8")
        assert_refused(self, self.kind, "127.0.0.1", server.port)
        self.assert_logged(server, r"latest from 127\.0\.0\.1:\d+: matches no --allow-from")

    def test_deny_wins_over_allow(self):
        server = self.start("--allow-from", "127.0.0.0/8", "--deny-from", "127.0.0.1")
        assert_refused(self, self.kind, "127.0.0.1", server.port)

    @unittest.skipUnless(HAVE_IPV6, "no IPv6 loopback")
    def test_ipv6_rules_on_ipv6_loopback(self):
        denied = self.start("--deny-from", "::1/128", address="[::1]:0")
        assert_refused(self, self.kind, "::1", denied.port)
        self.assert_logged(denied, r"latest from \[::1\]:\d+: matches --deny-from ::1/128")
        allowed = self.start("--allow-from", "::1", address="[::1]:0")
        self.assert_served(allowed, host="::1")
        # IPv4 rules say nothing about IPv6 peers: ::1 is not in 127.0.0.0/8.
        v4_only = self.start("--allow-from", "127.0.0.0/8", address="[::1]:0")
        assert_refused(self, self.kind, "::1", v4_only.port)

    @unittest.skipUnless(dual_stack(), "no dual-stack IPv6 sockets")
    def test_ipv4_mapped_peers_match_ipv4_rules(self):
        # Both servers admit loopback peers only, though they listen on every address.
        wide = self.kind.wide_options
        allowed = self.start("--allow-from", "127.0.0.0/8", *wide, address="[::]:0")
        self.assert_served(allowed, host="127.0.0.1")
        denied = self.start("--allow-from", "127.0.0.0/8", "--deny-from", "127.0.0.1", *wide, address="[::]:0")
        assert_refused(self, self.kind, "127.0.0.1", denied.port)
        self.assert_logged(denied, r"matches --deny-from 127\.0\.0\.1/32")

    def test_max_conns_per_ip(self):
        if self.kind.args[-1] == "blocking":
            self.skipTest("the blocking model holds one connection at a time; the others wait in the backlog")
        server = self.start("--max-conns-per-ip", "3")
        held = [self.kind.open("127.0.0.1", server.port) for _ in range(3)]
        try:
            for i, conn in enumerate(held):
                self.assertTrue(self.kind.served(conn, f"first{i}"))
            assert_refused(self, self.kind, "127.0.0.1", server.port)
            self.assert_logged(server, r"latest from 127\.0\.0\.1:\d+: --max-conns-per-ip 3 reached for 127\.0\.0\.1")
            for i, conn in enumerate(held):
                self.assertTrue(self.kind.served(conn, f"still{i}"), "a held connection stopped being served")
            if HAVE_SECOND_LOOPBACK:
                # The limit is per address: 127.0.0.2 has its own three.
                self.assert_served(server, source="127.0.0.2")
            self.kind.close(held.pop())
            # The server learns of the close asynchronously; until then a newcomer is refused. The
            # fact waited for is a newcomer being served.
            def newcomer_served():
                try:
                    conn = self.kind.open("127.0.0.1", server.port)
                    try:
                        return self.kind.served(conn, "again")
                    finally:
                        self.kind.close(conn)
                except (OSError, EOFError, AssertionError, ProtocolError):
                    return False

            self.assertTrue(nt.wait_until(newcomer_served, IO_TIMEOUT, interval=0.05),
                            "no room made by closing a connection")
        finally:
            for conn in held:
                self.kind.close(conn)

    def test_refusal_log_is_rate_limited(self):
        server = self.start("--deny-from", "127.0.0.0/8")
        started = time.monotonic()
        for _ in range(30):
            assert_refused(self, self.kind, "127.0.0.1", server.port)
        self.assert_logged(server, r"refused \d+ connection\(s\)")
        elapsed = time.monotonic() - started
        lines = len(re.findall(r"refused \d+ connection\(s\)", server.stderr()))
        self.assertLessEqual(lines, int(elapsed) + 2, server.stderr())


class TestEchoServer(TcpAccessTest, unittest.TestCase):
    kind = EchoKind()

    def test_unix_socket_is_a_usage_error(self):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"netlab-access-{os.getpid()}.sock")
        for option in (["--allow-from", "127.0.0.1"], ["--deny-from", "::1"], ["--max-conns-per-ip", "2"]):
            out = nt.run("echo-server", f"unix:{path}", *option, timeout=30)
            self.assertEqual(out.returncode, 2, option)
            self.assertIn("need a TCP address", out.stderr.decode())
            self.assertFalse(os.path.exists(path))

    def test_bad_cidr_is_a_usage_error(self):
        cases = {
            "10.0.0.1/8": "host bits set after the prefix (did you mean 10.0.0.0/8?)",
            "10.0.0.0/33": "prefix length 33 out of range for IPv4 (0-32)",
            "::/129": "out of range for IPv6 (0-128)",
            "example.org": "'example.org' is not an IPv4 or IPv6 address",
        }
        for text, message in cases.items():
            out = nt.run("echo-server", "0", "--deny-from", text, timeout=30)
            self.assertEqual(out.returncode, 2, text)
            err = out.stderr.decode()
            self.assertIn("--deny-from", err)
            self.assertIn(message, err)
            self.assertEqual(err.count("\n"), 1, err)

    def test_workers_share_one_count(self):
        server = self.start("--max-conns-per-ip", "2", "--workers", "3")
        held = [self.kind.open("127.0.0.1", server.port) for _ in range(2)]
        try:
            for conn in held:
                self.assertTrue(self.kind.served(conn, "w"))
            for _ in range(4):
                assert_refused(self, self.kind, "127.0.0.1", server.port)
        finally:
            for conn in held:
                conn.close()


class TestExecServer(TcpAccessTest, unittest.TestCase):
    kind = FramedExecKind()

    def test_unix_socket_is_a_usage_error(self):
        out = nt.run("exec-server", "unix:/tmp/netlab-access-never.sock", "--allow-from", "127.0.0.1", timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("need a TCP address", out.stderr.decode())


class TestExecServerLegacy(TcpAccessTest, unittest.TestCase):
    kind = LegacyExecKind()


class SelectServerUnix(unittest.TestCase):
    def test_uv_model_on_unix_socket_is_a_usage_error(self):
        out = nt.run("select-server", "--model", "uv", "unix:/tmp/netlab-access-never.sock",
                     "--max-conns-per-ip", "1", timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("need a TCP address", out.stderr.decode())


for _model in MODELS:
    _name = f"TestSelectServer_{_model}"
    globals()[_name] = type(_name, (TcpAccessTest, unittest.TestCase), {"kind": ModelKind(_model)})
del _model, _name


class TestUdpEcho(unittest.TestCase):
    def start(self, *options, address="127.0.0.1:0"):
        server = nt.Server("udp-echo", address, *options)
        self.addCleanup(server.close)
        return server

    def exchange(self, server, payload, host="127.0.0.1", source=None, timeout=IO_TIMEOUT):
        """Sends one datagram; returns the reply, or None if none came within `timeout`."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            if source:
                s.bind((source, 0))
            s.sendto(payload, (host, server.port))
            try:
                return s.recv(65536)
            except socket.timeout:
                return None

    def assert_dropped(self, server, pattern, host="127.0.0.1"):
        """A datagram gets no reply, and the server logs dropping it (so the silence is its doing)."""
        before = len(re.findall(pattern, server.stderr()))
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            s.sendto(b"refused?", (host, server.port))
            if not nt.wait_until(lambda: len(re.findall(pattern, server.stderr())) > before):
                self.fail(f"no log line matching {pattern!r}: {server.stderr()}")
            with self.assertRaises(socket.timeout):
                s.recv(65536)

    def test_deny_from_drops_and_allow_from_answers(self):
        denied = self.start("--deny-from", "127.0.0.1/32")
        self.assert_dropped(denied, r"dropped a datagram from 127\.0\.0\.1:\d+: matches --deny-from 127\.0\.0\.1/32")
        if HAVE_SECOND_LOOPBACK:
            self.assertEqual(self.exchange(denied, b"from .2", source="127.0.0.2"), b"from .2")
        allowed = self.start("--allow-from", "127.0.0.0/8")
        self.assertEqual(self.exchange(allowed, b"hello"), b"hello")

    def test_allow_from_elsewhere_drops_loopback(self):
        server = self.start("--allow-from", "10.0.0.0/8")
        self.assert_dropped(server, r"dropped a datagram from 127\.0\.0\.1:\d+: matches no --allow-from")

    def test_refused_datagrams_are_counted_and_the_log_rate_limited(self):
        server = self.start("--deny-from", "127.0.0.0/8")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(25):
                s.sendto(b"x%d" % i, ("127.0.0.1", server.port))
        self.assertTrue(nt.wait_until(lambda: "dropped a datagram" in server.stderr()))
        # Every datagram has been read (and so counted, in the same callback) once none is queued.
        self.assertTrue(nt.wait_until(lambda: nt.udp_unread_bytes(server.port) == 0))
        self.assertEqual(server.stop(), 0)
        err = server.stderr()
        self.assertIn("dropped 25 datagram(s) from refused peers in all", err)
        self.assertLessEqual(err.count("dropped a datagram from"), 3, err)

    @unittest.skipUnless(HAVE_IPV6, "no IPv6 loopback")
    def test_ipv6(self):
        denied = self.start("--deny-from", "::1/128", address="[::1]:0")
        self.assert_dropped(denied, r"dropped a datagram from \[::1\]:\d+: matches --deny-from ::1/128", host="::1")
        allowed = self.start("--allow-from", "::1/128", address="[::1]:0")
        self.assertEqual(self.exchange(allowed, b"six", host="::1"), b"six")
        v4_only = self.start("--allow-from", "127.0.0.0/8", address="[::1]:0")
        self.assert_dropped(v4_only, r"matches no --allow-from", host="::1")

    @unittest.skipUnless(dual_stack(), "no dual-stack IPv6 sockets")
    def test_ipv4_mapped_peers_match_ipv4_rules(self):
        allowed = self.start("--allow-from", "127.0.0.0/8", address="[::]:0")
        self.assertEqual(self.exchange(allowed, b"mapped"), b"mapped")
        denied = self.start("--allow-from", "127.0.0.0/8", "--deny-from", "127.0.0.1", address="[::]:0")
        self.assert_dropped(denied, r"matches --deny-from 127\.0\.0\.1/32")

    def test_max_conns_per_ip_is_not_offered(self):
        out = nt.run("udp-echo", "0", "--max-conns-per-ip", "3", timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--max-conns-per-ip", out.stderr.decode())

    def test_access_options_do_not_go_with_client(self):
        out = nt.run("udp-echo", "--client", "9", "--deny-from", "127.0.0.1", input=b"", timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("only goes with the server (not --client)", out.stderr.decode())


if __name__ == "__main__":
    nt.main()
