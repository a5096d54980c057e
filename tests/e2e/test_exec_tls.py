"""exec-server / exec-client --tls: the token as TLS 1.3 pre-shared key (checked with
`openssl s_client -psk` and a key derived here by RFC 5869 in Python), certificate mode with and
without client certificates, refusals (wrong token, wrong name, TLS 1.2-only peers, plain peers),
and the relay attack of issue 19: a man in the middle that injects a command or forged output."""
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import unittest

import netlab_test as nt
from exec_protocol_client import encode_frame
from test_tls_echo import make_certs

nt.require("openssl")

TOKEN = "exec-tls-test-token-0123456789"
LABEL = b"netlab exec tls psk v1"
IDENTITY = "netlab-exec"


def hkdf_sha256(ikm, info, length=32):
    """RFC 5869, written out here so the test does not trust netlab's derivation."""
    prk = hmac.new(b"\0" * 32, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def setUpModule():
    global TMP, CERTS, TOKEN_FILE, OTHER_TOKEN_FILE
    TMP = tempfile.mkdtemp(prefix="netlab-exec-tls-")
    # Runs even when the rest of this setup fails (tearDownModule would not).
    unittest.addModuleCleanup(shutil.rmtree, TMP, True)
    CERTS = make_certs(TMP)
    TOKEN_FILE = os.path.join(TMP, "token")
    OTHER_TOKEN_FILE = os.path.join(TMP, "other-token")
    for path, text in ((TOKEN_FILE, TOKEN), (OTHER_TOKEN_FILE, "a-different-token-9876543210")):
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o600)


def psk_server(*extra):
    return nt.Server("exec-server", "127.0.0.1:0", "--tls", "--token-file", TOKEN_FILE, *extra)


def client(port, *args, input=None, host="127.0.0.1", timeout=60):
    return nt.run("exec-client", f"{host}:{port}", *args, input=input, timeout=timeout)


class PskTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = psk_server("--tls-handshake-timeout", "2s")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_command_stdin_and_exit_status(self):
        out = client(self.server.port, "--tls", "--token-file", TOKEN_FILE, "--", "tr", "a-z", "A-Z",
                     input=b"hello over tls\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"HELLO OVER TLS\n")
        out = client(self.server.port, "--tls", "--token-file", TOKEN_FILE, "--no-stdin", "--", "sh", "-c", "exit 7")
        self.assertEqual(out.returncode, 7, out.stderr)

    def test_many_commands_on_one_connection(self):
        out = client(self.server.port, "--tls", "--token-file", TOKEN_FILE, input=b"echo one\necho two\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"one\ntwo\n")

    def test_wrong_token_is_refused_in_the_handshake(self):
        out = client(self.server.port, "--tls", "--token-file", OTHER_TOKEN_FILE, "--", "true")
        self.assertEqual(out.returncode, 255)
        lines = out.stderr.decode().strip().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("TLS handshake", lines[0])
        self.assertIn("different token", lines[0])

    def test_failed_handshakes_cannot_flood_the_log(self):
        with psk_server() as server:
            wrong = hkdf_sha256(b"a-different-token-9876543210", LABEL)
            attempts = 30
            ctx_args = ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_3",
                        "-psk", wrong.hex(), "-psk_identity", IDENTITY]
            for _ in range(attempts):
                subprocess.run(ctx_args, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
            self.assertTrue(nt.wait_until(lambda: "binder" in server.stderr()))
            lines = [l for l in server.stderr().splitlines() if "TLS" in l]
            self.assertLess(len(lines), attempts / 2, lines)

    def test_plain_client_gets_nothing(self):
        out = client(self.server.port, "--token-file", TOKEN_FILE, "--", "true")
        self.assertEqual(out.returncode, 255)
        self.assertEqual(out.stdout, b"")

    def test_openssl_s_client_with_a_key_derived_independently(self):
        key = hkdf_sha256(TOKEN.encode(), LABEL).hex()
        proc = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{self.server.port}", "-tls1_3",
                                 "-psk", key, "-psk_identity", IDENTITY, "-quiet"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            got = b""
            while b'"type":"hello"' not in got:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                got += chunk
            self.assertIn(b'"type":"hello"', got)
            self.assertIn(b'"auth":"hmac-sha256"', got)
        finally:
            proc.kill()
            proc.wait(timeout=10)
            for f in (proc.stdin, proc.stdout, proc.stderr):
                f.close()
        # The same with a key from another token: no hello, the handshake fails.
        wrong = hkdf_sha256(b"a-different-token-9876543210", LABEL).hex()
        out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.server.port}", "-tls1_3",
                              "-psk", wrong, "-psk_identity", IDENTITY, "-quiet"],
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertNotIn(b"hello", out.stdout)
        self.assertNotEqual(out.returncode, 0)

    def test_tls12_only_client_is_refused(self):
        out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.server.port}", "-tls1_2",
                              "-psk", hkdf_sha256(TOKEN.encode(), LABEL).hex(), "-psk_identity", IDENTITY],
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertNotIn(b"hello", out.stdout)


class ParityTest(unittest.TestCase):
    """What works in plain mode works the same over TLS (issue 19 item 3)."""

    @classmethod
    def setUpClass(cls):
        cls.server = psk_server()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def run_client(self, *args, input=None):
        return client(self.server.port, "--tls", "--token-file", TOKEN_FILE, *args, input=input)

    def test_streaming_output_and_large_stdin(self):
        data = os.urandom(3 << 20)
        out = self.run_client("--", "cat", input=data)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, data)

    def test_signal_and_timeout_statuses(self):
        self.assertEqual(self.run_client("--no-stdin", "--", "sh", "-c", "kill -TERM $$").returncode, 128 + 15)
        self.assertEqual(self.run_client("--timeout", "0.3", "--no-stdin", "--", "sleep", "30").returncode, 124)

    def start(self, command):
        proc = subprocess.Popen([nt.NETLAB, "exec-client", f"127.0.0.1:{self.server.port}", "--tls", "--token-file",
                                 TOKEN_FILE, "--no-stdin", "--", *command],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait(), proc.stdout.close(),
                                 proc.stderr.close()))
        return proc

    def test_ctrl_c_is_forwarded(self):
        proc = self.start(["sh", "-c", "echo ready; exec sleep 30"])
        self.assertEqual(proc.stdout.readline(), b"ready\n")
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(10), 128 + signal.SIGINT)

    def test_disconnect_kills_the_command(self):
        proc = self.start(["sh", "-c", "sleep 60 & echo $!; wait"])
        pid = int(proc.stdout.readline())
        self.assertTrue(os.path.exists(f"/proc/{pid}"))
        proc.kill()
        proc.wait()
        self.assertTrue(nt.wait_until(lambda: not os.path.exists(f"/proc/{pid}")),
                        "the command survived its TLS client")


class StopTest(unittest.TestCase):
    def test_stopping_the_server_kills_commands_of_tls_clients(self):
        server = psk_server()
        try:
            proc = subprocess.Popen([nt.NETLAB, "exec-client", f"127.0.0.1:{server.port}", "--tls", "--token-file",
                                     TOKEN_FILE, "--no-stdin", "--", "sh", "-c", "sleep 60 & echo $!; wait"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            pid = int(proc.stdout.readline())
            self.assertEqual(server.stop(), 0)
            self.assertTrue(nt.wait_until(lambda: not os.path.exists(f"/proc/{pid}")),
                            "a TLS client's command outlived the server")
            self.assertNotEqual(proc.wait(30), 0)
            proc.stdout.close()
            proc.stderr.close()
        finally:
            server.close()


class CertificateTest(unittest.TestCase):
    def test_server_certificate_verified(self):
        with nt.Server("exec-server", "127.0.0.1:0", "--tls", "--tls-cert", CERTS("good.pem"), "--tls-key",
                       CERTS("good.key"), "--token-file", TOKEN_FILE) as server:
            out = client(server.port, "--tls", "--tls-ca", CERTS("ca.pem"), "--token-file", TOKEN_FILE,
                         "--no-stdin", "--", "echo", "verified", host="localhost")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, b"verified\n")
            # An unknown CA (the system store) is refused before any exec byte.
            out = client(server.port, "--tls", "--tls-ca", CERTS("other-ca.pem"), "--token-file", TOKEN_FILE,
                         "--", "true", host="localhost")
            self.assertEqual(out.returncode, 255)
            self.assertIn("not trusted", out.stderr.decode())

    def test_wrong_name_refused(self):
        with nt.Server("exec-server", "127.0.0.1:0", "--tls", "--tls-cert", CERTS("wronghost.pem"), "--tls-key",
                       CERTS("wronghost.key"), "--token-file", TOKEN_FILE) as server:
            out = client(server.port, "--tls", "--tls-ca", CERTS("ca.pem"), "--token-file", TOKEN_FILE, "--", "true",
                         host="localhost")
            self.assertEqual(out.returncode, 255)
            self.assertIn("hostname mismatch", out.stderr.decode())

    def test_client_certificates(self):
        with nt.Server("exec-server", "127.0.0.1:0", "--tls", "--tls-cert", CERTS("good.pem"), "--tls-key",
                       CERTS("good.key"), "--tls-client-ca", CERTS("ca.pem"), "--token-file", TOKEN_FILE) as server:
            out = client(server.port, "--tls", "--tls-ca", CERTS("ca.pem"), "--token-file", TOKEN_FILE, "--no-stdin",
                         "--", "true", host="localhost")
            self.assertEqual(out.returncode, 255, "a client without a certificate must be refused")
            out = client(server.port, "--tls", "--tls-ca", CERTS("ca.pem"), "--tls-cert", CERTS("unknownca.pem"),
                         "--tls-key", CERTS("unknownca.key"), "--token-file", TOKEN_FILE, "--no-stdin", "--", "true",
                         host="localhost")
            self.assertEqual(out.returncode, 255, "a certificate from another CA must be refused")
            out = client(server.port, "--tls", "--tls-ca", CERTS("ca.pem"), "--tls-cert", CERTS("good.pem"),
                         "--tls-key", CERTS("good.key"), "--token-file", TOKEN_FILE, "--no-stdin", "--", "echo", "ok",
                         host="localhost")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, b"ok\n")

    def test_tls12_only_server_refused(self):
        port = nt.free_port()
        proc = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-tls1_2", "-cert",
                                 CERTS("good.pem"), "-key", CERTS("good.key"), "-quiet"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def accepting():
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        return True
                except OSError:
                    return False

            self.assertTrue(nt.wait_until(accepting, timeout=20))
            out = client(port, "--tls", "--tls-ca", CERTS("ca.pem"), "--token-file", TOKEN_FILE, "--", "true",
                         host="localhost")
            self.assertEqual(out.returncode, 255)
            self.assertIn("protocol version", out.stderr.decode())
        finally:
            proc.kill()
            proc.wait(timeout=10)
            proc.stdin.close()


class RelayAttackTest(unittest.TestCase):
    """Issue 19's attack: a relay the client connects to passes the conversation through (the
    challenge and its answer included), then replaces the client's request with a command of its
    own and the server's answer with forged output and exit frames. Over TLS neither may succeed;
    the control shows the same relay succeeding on a plain session."""

    def run_relay(self, server_port):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        injected = {"to_server": False, "to_client": False}
        marker = os.path.join(TMP, "pwned")
        # The client's command is request 1: the relay's stands in for it.
        evil = encode_frame({"type": "exec", "id": 1, "argv": ["touch", marker]})
        forged = (encode_frame({"type": "stdout", "id": 1}, b"FORGED\n") +
                  encode_frame({"type": "exit", "id": 1, "code": 0}))

        def frames(buffer):
            """Whole exec frames at the start of `buffer` as (frame bytes, header), or None when the
            bytes are not frames at all (TLS records)."""
            out = []
            while len(buffer) >= 4:
                length = struct.unpack("!I", buffer[:4])[0]
                if length > 65536:
                    return None
                if len(buffer) < 4 + length:
                    break
                try:
                    header = json.loads(buffer[4:4 + length])
                except ValueError:
                    return None
                total = 4 + length + int(header.get("size", 0))
                if len(buffer) < total:
                    break
                out.append((bytes(buffer[:total]), header))
                del buffer[:total]
            return out

        def pump(src, dst, key, payload, after, kind):
            # The attacker's best in either case: on plain frames, replace the first frame of
            # `kind`; on anything else (TLS records), replace the chunk number `after`.
            chunks = 0
            buffer = bytearray()
            blind = False
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    chunks += 1
                    if not blind:
                        buffer += data
                        parsed = frames(buffer)
                        if parsed is None:
                            blind = True
                            data = bytes(buffer)
                            buffer.clear()
                        else:
                            for raw, header in parsed:
                                if header.get("type") == kind and not injected[key]:
                                    injected[key] = True
                                    dst.sendall(payload)
                                else:
                                    dst.sendall(raw)
                            continue
                    if chunks == after and not injected[key]:
                        injected[key] = True
                        dst.sendall(payload)
                    else:
                        dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def serve():
            down, _ = listener.accept()
            up = socket.create_connection(("127.0.0.1", server_port))
            a = threading.Thread(target=pump, args=(down, up, "to_server", evil, 2, "exec"))
            b = threading.Thread(target=pump, args=(up, down, "to_client", forged, 2, "exit"))
            a.start()
            b.start()
            a.join()
            b.join()
            down.close()
            up.close()

        thread = threading.Thread(target=serve)
        thread.start()
        return listener, thread, injected, marker

    def test_injection_through_a_relay_fails(self):
        with psk_server() as server:
            listener, thread, injected, marker = self.run_relay(server.port)
            try:
                out = client(listener.getsockname()[1], "--tls", "--token-file", TOKEN_FILE, "--no-stdin", "--",
                             "sh", "-c", "sleep 0.5; echo real")
            finally:
                thread.join(timeout=60)
                listener.close()
            self.assertTrue(injected["to_server"] or injected["to_client"], "the relay never injected")
            self.assertFalse(os.path.exists(marker), "the injected command ran")
            self.assertNotIn(b"FORGED", out.stdout)
            self.assertNotEqual(out.returncode, 0, "the client accepted a tampered session")
            self.assertEqual(len(out.stderr.decode().strip().splitlines()), 1, out.stderr)

    def test_same_relay_without_tls_succeeds(self):
        """The control: in plain mode the same relay does inject (what --tls fixes)."""
        with nt.Server("exec-server", "127.0.0.1:0", "--token-file", TOKEN_FILE) as server:
            listener, thread, injected, marker = self.run_relay(server.port)
            try:
                client(listener.getsockname()[1], "--token-file", TOKEN_FILE, "--no-stdin", "--",
                       "sh", "-c", "sleep 0.5; echo real")
            finally:
                thread.join(timeout=60)
                listener.close()
            self.assertTrue(injected["to_server"])
            ran = nt.wait_until(lambda: os.path.exists(marker), timeout=10)
            if ran:
                os.unlink(marker)
            self.assertTrue(ran, "control: the plain session was not injectable, so the TLS test proves nothing")


class UsageTest(unittest.TestCase):
    def test_tls_needs_a_token_or_certificates(self):
        out = nt.run("exec-server", "127.0.0.1:0", "--tls")
        self.assertEqual(out.returncode, 2)
        self.assertIn("token", out.stderr.decode())
        out = nt.run("exec-client", "127.0.0.1:1", "--tls-ca", CERTS("ca.pem"), "--", "true")
        self.assertEqual(out.returncode, 2)


if __name__ == "__main__":
    nt.main()
