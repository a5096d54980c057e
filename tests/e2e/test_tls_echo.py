"""echo-server / echo-client, probe and bench over TLS against real peers: openssl s_server/s_client, socat
OPENSSL:/OPENSSL-LISTEN:, ncat --ssl and Python's ssl module. Certificates (a test CA, a good one,
an expired one, one for the wrong name, one from an unknown CA) are made by the test with openssl."""
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest

from netlab_test import Server, connect, free_port, main, recv_until_close, require, run, wait_until

require("openssl", "socat", "ncat")

CERTS = None


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_certs(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    p = lambda name: os.path.join(d, name)
    openssl("req", "-x509", *ec, "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "30",
            "-subj", "/CN=netlab test CA")
    openssl("req", "-x509", *ec, "-keyout", p("other-ca.key"), "-out", p("other-ca.pem"), "-days", "30",
            "-subj", "/CN=some other CA")

    def leaf(name, san, days, ca="ca"):
        openssl("req", *ec, "-keyout", p(f"{name}.key"), "-out", p(f"{name}.csr"), "-subj", f"/CN={name}")
        with open(p(f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName={san}\n")
        openssl("x509", "-req", "-in", p(f"{name}.csr"), "-CA", p(f"{ca}.pem"), "-CAkey", p(f"{ca}.key"),
                "-days", str(days), "-extfile", p(f"{name}.ext"), "-out", p(f"{name}.pem"))

    leaf("good", "DNS:localhost,IP:127.0.0.1,IP:::1", 30)
    leaf("expired", "DNS:localhost,IP:127.0.0.1", -1)
    leaf("wronghost", "DNS:other.example", 30)
    leaf("unknownca", "DNS:localhost,IP:127.0.0.1", 30, ca="other-ca")
    return p


def setUpModule():
    global CERTS, TMP
    TMP = tempfile.mkdtemp(prefix="netlab-tls-")
    CERTS = make_certs(TMP)


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def tls_server(name="good", *extra):
    return Server("echo-server", "127.0.0.1:0", "--tls", "--tls-cert", CERTS(f"{name}.pem"),
                  "--tls-key", CERTS(f"{name}.key"), *extra)


def fingerprint(pem):
    out = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint", "-sha256"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1]


def talk(argv, data):
    """Runs a client that does not wait for replies after its input ends (s_client, ncat --ssl):
    writes `data`, reads as many bytes back with its input still open, then stops it."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(data)
        proc.stdin.flush()
        got = b""
        while len(got) < len(data):
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            got += chunk
        return got
    finally:
        proc.kill()
        proc.wait(timeout=10)
        for f in (proc.stdin, proc.stdout, proc.stderr):
            f.close()


class Listener:
    """A peer server program on a port found free just before; ready once it accepts."""

    def __init__(self, argv_for_port):
        self.port = free_port()
        self.proc = subprocess.Popen(argv_for_port(self.port), stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def accepting():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                return False

        if not wait_until(accepting, timeout=20):
            self.close()
            raise AssertionError(f"{argv_for_port(self.port)[0]} did not listen")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc.stderr.close()
        if self.proc.stdin:
            self.proc.stdin.close()


class NetlabServerTest(unittest.TestCase):
    """netlab echo-server --tls, driven by other TLS clients."""

    @classmethod
    def setUpClass(cls):
        cls.server = tls_server()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def python_context(self):
        ctx = ssl.create_default_context(cafile=CERTS("ca.pem"))
        return ctx

    def test_python_ssl_client_round_trip_and_close_notify(self):
        ctx = self.python_context()
        with connect("127.0.0.1", self.server.port) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                self.assertIn(s.version(), ("TLSv1.3", "TLSv1.2"))
                for message in [b"hello\n", b"\x00\xff binary\r\n", os.urandom(100000)]:
                    s.sendall(message)
                    got = b""
                    while len(got) < len(message):
                        chunk = s.recv(65536)
                        self.assertTrue(chunk, "server closed early")
                        got += chunk
                    self.assertEqual(got, message)
                # Our close_notify ends the echo: the server answers with its own and closes.
                s.unwrap()

    def test_python_tls12_only_client(self):
        ctx = self.python_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with connect("127.0.0.1", self.server.port) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                self.assertEqual(s.version(), "TLSv1.2")
                s.sendall(b"twelve\n")
                self.assertEqual(s.recv(100), b"twelve\n")

    def test_openssl_s_client_verifies_and_echoes(self):
        got = talk(["openssl", "s_client", "-connect", f"127.0.0.1:{self.server.port}", "-CAfile", CERTS("ca.pem"),
                    "-verify_return_error", "-verify_hostname", "localhost", "-quiet"], b"through s_client\n")
        self.assertEqual(got, b"through s_client\n")

    def test_socat_openssl_client_binary_round_trip(self):
        data = os.urandom(300000)
        out = subprocess.run(["socat", "-t", "10", "-",
                              f"OPENSSL:127.0.0.1:{self.server.port},cafile={CERTS('ca.pem')},"
                              "commonname=localhost"],
                             input=data, capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, data)

    def test_ncat_ssl_client_verifies(self):
        data = b"line via ncat\n" * 500
        got = talk(["ncat", "--ssl", "--ssl-verify", "--ssl-trustfile", CERTS("ca.pem"), "localhost",
                    str(self.server.port)], data)
        self.assertEqual(got, data)

    def test_netlab_client_raw_half_close_over_tls(self):
        data = os.urandom(3 << 20)
        out = run("echo-client", f"localhost:{self.server.port}", "--tls", "--tls-ca", CERTS("ca.pem"), "--raw",
                  input=data, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, data)

    def test_netlab_client_lines_and_show(self):
        out = run("echo-client", f"127.0.0.1:{self.server.port}", "--tls", "--tls-ca", CERTS("ca.pem"),
                  "--tls-show", "-m", "one", "-m", "two")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"one\ntwo\n")
        err = out.stderr.decode()
        self.assertRegex(err, r"tls: TLSv1\.3 TLS_\S+ alpn=\(none\)")
        self.assertIn("subject: CN=good", err)
        self.assertIn("issuer: CN=netlab test CA", err)
        self.assertIn(f"sha256: {fingerprint(CERTS('good.pem'))}", err)

    def test_plaintext_client_is_refused_and_server_goes_on(self):
        with connect("127.0.0.1", self.server.port) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = recv_until_close(s)
            # At most a TLS alert record, never our bytes back.
            self.assertNotIn(b"GET", answer)
        out = run("echo-client", f"localhost:{self.server.port}", "--tls", "--tls-ca", CERTS("ca.pem"), "-m", "still")
        self.assertEqual(out.stdout, b"still\n", out.stderr)

    def test_stranger_that_never_finishes_the_handshake_is_closed(self):
        with tls_server("good", "--tls-handshake-timeout", "200ms") as server:
            with connect("127.0.0.1", server.port, timeout=30) as s:
                s.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello that never completes
                self.assertEqual(recv_until_close(s), b"")


class NetlabClientTest(unittest.TestCase):
    """netlab echo-client --tls against other TLS servers."""

    def test_openssl_s_server(self):
        server = Listener(lambda port: ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-naccept", "2",
                                        "-cert", CERTS("good.pem"), "-key", CERTS("good.key"), "-rev", "-quiet"])
        try:
            out = run("echo-client", f"localhost:{server.port}", "--tls", "--tls-ca", CERTS("ca.pem"), "-m", "hello")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, b"olleh\n")
        finally:
            server.close()

    def test_socat_openssl_listen_raw(self):
        server = Listener(lambda port: ["socat", f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,"
                                        f"cert={CERTS('good.pem')},key={CERTS('good.key')},verify=0", "PIPE"])
        try:
            data = os.urandom(500000)
            out = run("echo-client", f"127.0.0.1:{server.port}", "--tls", "--tls-ca", CERTS("ca.pem"), "--raw",
                      input=data, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, data)
        finally:
            server.close()

    def test_ncat_ssl_listen(self):
        server = Listener(lambda port: ["ncat", "-l", "-k", "127.0.0.1", str(port), "--ssl",
                                        "--ssl-cert", CERTS("good.pem"), "--ssl-key", CERTS("good.key"),
                                        "--exec", "/bin/cat"])
        try:
            out = run("echo-client", f"localhost:{server.port}", "--tls", "--tls-ca", CERTS("ca.pem"),
                      "-m", "via ncat")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, b"via ncat\n")
        finally:
            server.close()

    def test_python_server_sees_sni_and_alpn(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERTS("wronghost.pem"), CERTS("wronghost.key"))
        ctx.set_alpn_protocols(["h2", "netlab/1"])
        seen = {}

        def sni(sock, name, _ctx):
            seen["sni"] = name

        ctx.sni_callback = sni
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def serve():
            conn, _ = listener.accept()
            with ctx.wrap_socket(conn, server_side=True) as s:
                seen["alpn"] = s.selected_alpn_protocol()
                data = s.recv(100)
                s.sendall(data)
                s.unwrap()

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            # The certificate is for other.example: --sni makes that the name sent and verified.
            out = run("echo-client", f"127.0.0.1:{port}", "--tls", "--tls-ca", CERTS("ca.pem"),
                      "--sni", "other.example", "--alpn", "netlab/1", "--alpn", "h2", "--tls-show", "-m", "hi")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, b"hi\n")
            self.assertIn("alpn=h2", out.stderr.decode())
        finally:
            thread.join(timeout=30)
            listener.close()
        self.assertEqual(seen.get("sni"), "other.example")
        self.assertEqual(seen.get("alpn"), "h2")

    def python_server(self, serve):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERTS("good.pem"), CERTS("good.key"))
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def run_one():
            conn, _ = listener.accept()
            serve(ctx.wrap_socket(conn, server_side=True))

        thread = threading.Thread(target=run_one)
        thread.start()
        return listener, thread

    def test_raw_cut_without_close_notify_is_an_error(self):
        def serve(s):
            while s.recv(100):  # until the client's close_notify, so nothing unread causes a reset
                pass
            s.sendall(b"partial answer")
            # Close the TCP connection under TLS: no close_notify, as an attacker cutting it would.
            socket.socket(fileno=s.detach()).close()

        listener, thread = self.python_server(serve)
        try:
            out = run("echo-client", f"localhost:{listener.getsockname()[1]}", "--tls", "--tls-ca", CERTS("ca.pem"),
                      "--raw", input=b"question")
        finally:
            thread.join(timeout=30)
            listener.close()
        self.assertEqual(out.stdout, b"partial answer")
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("without close_notify", out.stderr.decode())

    def test_raw_ends_cleanly_on_close_notify(self):
        def serve(s):
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:  # the client's close_notify
                    break
                data += chunk
            s.sendall(data[::-1])
            s.unwrap().close()

        listener, thread = self.python_server(serve)
        try:
            out = run("echo-client", f"localhost:{listener.getsockname()[1]}", "--tls", "--tls-ca", CERTS("ca.pem"),
                      "--raw", input=b"0123456789")
        finally:
            thread.join(timeout=30)
            listener.close()
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"9876543210")

    def test_refusals_exit_255_with_one_line(self):
        cases = [
            ("expired", "localhost", "certificate has expired"),
            ("wronghost", "localhost", "hostname mismatch"),
            ("unknownca", "localhost", "unable to get local issuer certificate"),
            ("good", "127.0.0.2", None),  # wrong IP: not in the certificate
        ]
        for name, host, reason in cases:
            with self.subTest(cert=name, host=host), tls_server(name) as server:
                target = f"{host}:{server.port}"
                if host == "127.0.0.2":
                    # Same server, asked for by an address the certificate does not name.
                    target = f"127.0.0.1:{server.port}"
                    out = run("echo-client", target, "--tls", "--tls-ca", CERTS("ca.pem"), "--sni", "127.0.0.2",
                              "-m", "x")
                    reason = "IP address mismatch"
                else:
                    out = run("echo-client", target, "--tls", "--tls-ca", CERTS("ca.pem"), "-m", "x")
                self.assertEqual(out.returncode, 255, out.stderr)
                self.assertEqual(out.stdout, b"")
                lines = out.stderr.decode().strip().splitlines()
                self.assertEqual(len(lines), 1, lines)
                self.assertTrue(lines[0].startswith("netlab: echo-client: certificate of "), lines)
                self.assertIn(reason, lines[0])

    def test_default_trust_store_refuses_a_private_ca(self):
        with tls_server() as server:
            out = run("echo-client", f"localhost:{server.port}", "--tls", "-m", "x")
            self.assertEqual(out.returncode, 255, out.stderr)
            self.assertIn("not trusted", out.stderr.decode())

    def test_insecure_is_loud_and_works(self):
        with tls_server("unknownca") as server:
            out = run("echo-client", f"localhost:{server.port}", "--tls", "--tls-insecure", "-m", "x")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, b"x\n")
            self.assertIn("WARNING: --tls-insecure", out.stderr.decode())

    def test_self_signed_server_prints_the_fingerprint_the_client_sees(self):
        with Server("echo-server", "127.0.0.1:0", "--tls-self-signed") as server:
            m = re.search(r"sha256 ([0-9A-F:]{95})", server.stderr())
            self.assertTrue(m, server.stderr())
            out = run("echo-client", f"127.0.0.1:{server.port}", "--tls", "--tls-insecure", "--tls-show", "-m", "x")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn(f"sha256: {m.group(1)}", out.stderr.decode())

    def test_plain_server_is_a_handshake_failure(self):
        with Server("echo-server", "127.0.0.1:0") as server:
            out = run("echo-client", f"127.0.0.1:{server.port}", "--tls", "--tls-insecure", "-m", "x", "--timeout", "5s")
            self.assertEqual(out.returncode, 255, out.stderr)
            self.assertIn("TLS handshake", out.stderr.decode())

    def test_usage_errors(self):
        out = run("echo-client", "127.0.0.1:1", "--tls-ca", CERTS("ca.pem"), "-m", "x")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--tls-ca needs --tls", out.stderr.decode())
        out = run("echo-server", "127.0.0.1:0", "--tls")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--tls needs --tls-cert FILE and --tls-key FILE", out.stderr.decode())
        out = run("echo-server", "127.0.0.1:0", "--tls", "--tls-cert", CERTS("good.pem"), "--tls-key",
                  CERTS("other-ca.key"))
        self.assertEqual(out.returncode, 1)
        self.assertIn("does not match", out.stderr.decode())


class ProbeTest(unittest.TestCase):
    """probe --tls: handshake, version, days until the certificate expires, --min-days."""

    def probe(self, *args):
        out = run("probe", "--json", *args)
        return out.returncode, json.loads(out.stdout.decode().strip().splitlines()[-1]), out

    def test_days_left_and_min_days(self):
        with tls_server() as server:
            address = f"localhost:{server.port}"
            rc, result, out = self.probe("--tls", "--tls-ca", CERTS("ca.pem"), address)
            self.assertEqual(rc, 0, out.stderr)
            self.assertEqual(result["state"], "open")
            self.assertEqual(result["tls"]["version"], "TLSv1.3")
            # A 30-day certificate made moments ago: 29 whole days and some hours left (30 if the
            # clock has not moved a second since).
            self.assertIn(result["tls"]["days_left"], (29, 30))
            self.assertEqual(result["tls"]["subject"], "CN=good")
            rc, result, _ = self.probe("--tls", "--tls-ca", CERTS("ca.pem"), "--min-days", "29", address)
            self.assertEqual(rc, 0)
            rc, result, _ = self.probe("--tls", "--tls-ca", CERTS("ca.pem"), "--min-days", "31", address)
            self.assertEqual(rc, 1)
            self.assertTrue(result["tls"]["expires_soon"])
            text = run("probe", "--tls", "--tls-ca", CERTS("ca.pem"), address)
            self.assertRegex(text.stdout.decode(), r"open [0-9.]+ ms TLSv1\.3 certificate expires in (29|30) days \(\d{4}-")

    def test_expired_certificate(self):
        with tls_server("expired") as server:
            address = f"localhost:{server.port}"
            rc, result, _ = self.probe("--tls", "--tls-ca", CERTS("ca.pem"), address)
            self.assertEqual(rc, 1)
            self.assertEqual(result["state"], "tls-failed")
            self.assertIn("certificate has expired", result["reason"])
            # Without verification the days are still reported: negative once expired.
            rc, result, _ = self.probe("--tls", "--tls-insecure", "--min-days", "0", address)
            self.assertEqual(rc, 1)
            self.assertLess(result["tls"]["days_left"], 0)

    def test_tls12_only_server_and_a_plain_server(self):
        server = Listener(lambda port: ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-tls1_2",
                                        "-cert", CERTS("good.pem"), "-key", CERTS("good.key"), "-quiet"])
        try:
            rc, result, out = self.probe("--tls", "--tls-ca", CERTS("ca.pem"), f"localhost:{server.port}")
            self.assertEqual(rc, 0, out.stderr)
            self.assertEqual(result["tls"]["version"], "TLSv1.2")
        finally:
            server.close()
        with Server("echo-server", "127.0.0.1:0") as plain:
            rc, result, _ = self.probe("--tls", "--tls-insecure", "--timeout", "5s", f"127.0.0.1:{plain.port}")
            self.assertEqual(rc, 1)
            self.assertEqual(result["state"], "tls-failed")

    def test_min_days_needs_tls(self):
        out = run("probe", "--min-days", "3", "127.0.0.1:1")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--min-days needs --tls", out.stderr.decode())


class BenchTest(unittest.TestCase):
    """bench tcp --tls: every mode over TLS, every echoed byte still verified."""

    def bench(self, *args):
        out = run("bench", "tcp", "--json", *args, timeout=120)
        result = json.loads(out.stdout.decode()) if out.stdout.strip() else None
        return out.returncode, result, out

    def test_modes_against_netlab_and_socat(self):
        socat = Listener(lambda port: ["socat", f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,"
                                       f"cert={CERTS('good.pem')},key={CERTS('good.key')},verify=0", "PIPE"])
        try:
            with tls_server() as server:
                for port in (server.port, socat.port):
                    for mode, extra in (("rr", ["-c", "3", "--messages", "300"]),
                                        ("stream", ["-d", "300ms"]),
                                        ("connect", ["-c", "2", "--messages", "20"])):
                        with self.subTest(port=port, mode=mode):
                            rc, result, out = self.bench(f"localhost:{port}", "--tls", "--tls-ca", CERTS("ca.pem"),
                                                         "--mode", mode, *extra)
                            self.assertEqual(rc, 0, out.stderr)
                            self.assertTrue(result["tls"])
                            self.assertEqual(result["errors"], 0)
                            self.assertEqual(result["mismatches"], 0)
                            self.assertGreater(result["messages"], 0)
                            if mode == "connect":
                                self.assertGreaterEqual(result["connects"], 20)
        finally:
            socat.close()

    def test_handshake_mode_against_openssl_s_server(self):
        # s_server echoes nothing; handshake mode needs no echo, so it measures any TLS server.
        server = Listener(lambda port: ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-naccept", "100",
                                        "-cert", CERTS("good.pem"), "-key", CERTS("good.key"), "-num_tickets", "0",
                                        "-quiet"])
        try:
            rc, result, out = self.bench(f"localhost:{server.port}", "--tls", "--tls-ca", CERTS("ca.pem"),
                                         "--mode", "handshake", "--messages", "20")
            self.assertEqual(rc, 0, out.stderr)
            self.assertEqual(result["mode"], "handshake")
            self.assertEqual(result["errors"], 0)
            self.assertGreaterEqual(result["connects"], 20)
            self.assertEqual(result["bytes"], 0)
        finally:
            server.close()

    def test_handshake_mode_refuses_an_untrusted_server(self):
        with tls_server("unknownca") as server:
            rc, _, out = self.bench(f"localhost:{server.port}", "--tls", "--tls-ca", CERTS("ca.pem"),
                                    "--mode", "handshake", "-d", "300ms")
            self.assertEqual(rc, 255, out.stderr)
            self.assertIn("unable to get local issuer certificate", out.stderr.decode())

    def test_a_changed_byte_inside_tls_is_caught(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERTS("good.pem"), CERTS("good.key"))
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def serve():
            conn, _ = listener.accept()
            try:
                with ctx.wrap_socket(conn, server_side=True) as s:
                    total = 0
                    while True:
                        data = bytearray(s.recv(65536))
                        if not data:
                            break
                        if total <= 1000 < total + len(data):
                            data[1000 - total] ^= 0x01  # one bit of the 1001st byte
                        total += len(data)
                        s.sendall(bytes(data))
            except (OSError, ssl.SSLError):
                pass

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            rc, result, out = self.bench(f"localhost:{listener.getsockname()[1]}", "--tls", "--tls-ca", CERTS("ca.pem"),
                                         "--messages", "100", "-s", "100")
        finally:
            thread.join(timeout=30)
            listener.close()
        self.assertEqual(rc, 1, out.stderr)
        self.assertEqual(result["mismatches"], 1)
        self.assertIn("echoed byte 1000 differs", out.stderr.decode())

    def test_untrusted_server_is_a_connect_failure(self):
        with tls_server("unknownca") as server:
            rc, _, out = self.bench(f"localhost:{server.port}", "--tls", "--tls-ca", CERTS("ca.pem"), "-d", "300ms")
            self.assertEqual(rc, 255, out.stderr)
            self.assertIn("unable to get local issuer certificate", out.stderr.decode())


if __name__ == "__main__":
    main()
