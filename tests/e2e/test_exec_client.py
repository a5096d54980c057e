"""End-to-end tests for `netlab exec-client` against a real exec-server (and, for the failure
cases, small fake servers speaking the wire format from docs/protocol.md)."""
import json
import os
import shutil
import signal
import pty
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import netlab_test as nt  # noqa: E402
from exec_protocol_client import encode_frame  # noqa: E402

TOKEN = "client-test-token"


class FakeServer:
    """Accepts one connection and plays `script`: bytes to send, or None to read a request."""

    def __init__(self, script):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, args=(script,), daemon=True)
        self.thread.start()

    def _serve(self, script):
        self.received = b""
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(10)
            for part in script:
                if part is None:
                    try:
                        self.received += conn.recv(65536)
                    except (socket.timeout, OSError):
                        pass
                else:
                    conn.sendall(part)
            # End our side, then read until the client closes its own: closing with its bytes
            # unread would answer with a reset that can overtake the script's last bytes.
            conn.shutdown(socket.SHUT_WR)
            try:
                while conn.recv(65536):
                    pass
            except (socket.timeout, OSError):
                pass

    def received_after_close(self):
        self.thread.join(30)
        return self.received

    def close(self):
        self.sock.close()


HELLO = encode_frame({"type": "hello", "version": 1, "server": "fake", "auth": "none", "nonce": "0" * 64})


class TestExecClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Class cleanups run even when a later step here fails (tearDownClass would not): the
        # token folder and the servers started so far never outlive the class.
        cls.tmp = tempfile.mkdtemp(prefix="netlab-exec-client-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.token_file = os.path.join(cls.tmp, "token")
        with open(os.open(cls.token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(TOKEN + "\n")
        cls.server = nt.Server("exec-server", "0", "--shell")
        cls.addClassCleanup(cls.server.close)
        cls.auth_server = nt.Server("exec-server", "0", "--token-file", cls.token_file)
        cls.addClassCleanup(cls.auth_server.close)
        cls.allow_server = nt.Server("exec-server", "0", "--allow", "echo")
        cls.addClassCleanup(cls.allow_server.close)

    def client(self, *args, input=b"", env=None, server=None):
        server = server or self.server
        return nt.run("exec-client", server.port, *args, input=input, env=env, timeout=60)

    def test_exit_code_passthrough(self):
        for code in (0, 1, 3, 42, 255):
            with self.subTest(code=code):
                self.assertEqual(self.client("--", "sh", "-c", f"exit {code}").returncode, code)

    def test_stdout_stderr_apart_binary_safe(self):
        data = bytes(range(256)) * 1000
        proc = self.client("--", "sh", "-c", "cat; printf 'e\\000\\377' >&2", input=data)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(proc.stdout, data)
        self.assertEqual(proc.stderr, b"e\x00\xff")

    def test_no_stdin(self):
        proc = self.client("--no-stdin", "--", "cat", input=b"not sent")
        self.assertEqual((proc.returncode, proc.stdout), (0, b""))

    def test_shell_flag(self):
        proc = self.client("--shell", "--", "echo a b | wc -w")
        self.assertEqual(proc.stdout.strip(), b"2")

    def test_signal_is_128_plus_n(self):
        self.assertEqual(self.client("--", "sh", "-c", "kill -KILL $$").returncode, 128 + 9)
        self.assertEqual(self.client("--", "sh", "-c", "kill -TERM $$").returncode, 128 + 15)

    def test_timeout_is_124(self):
        start = time.monotonic()
        proc = self.client("--timeout", "0.3", "--", "sleep", "30")
        self.assertEqual(proc.returncode, 124)
        self.assertLess(time.monotonic() - start, 10)

    def test_spawn_failed_is_127_one_line(self):
        proc = self.client("--", "no-such-program-xyz")
        self.assertEqual(proc.returncode, 127)
        lines = proc.stderr.decode().strip().splitlines()
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith("netlab: exec-client: "), lines)
        self.assertIn("spawn-failed", lines[0])

    def test_found_but_not_executable_is_126(self):
        """As a shell: 127 is 'not found', 126 'found but cannot be executed' (it was 127 too)."""
        with tempfile.NamedTemporaryFile(dir=self.tmp) as script:
            script.write(b"#!/bin/sh\necho should-not-run\n")
            script.flush()
            os.chmod(script.name, 0o644)
            proc = self.client("--", script.name)
            self.assertEqual((proc.returncode, proc.stdout), (126, b""))
            self.assertIn("spawn-failed", proc.stderr.decode())
            self.assertIn("permission denied", proc.stderr.decode())
            self.assertEqual(json.loads(self.client("--json", "--", script.name).stdout)["status"], 126)
        self.assertEqual(self.client("--", os.path.join(self.tmp, "no-such-program")).returncode, 127)

    def test_not_allowed(self):
        proc = self.client("--", "ls", server=self.allow_server)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("not-allowed", proc.stderr.decode())
        self.assertEqual(self.client("--", "echo", "ok", server=self.allow_server).stdout, b"ok\n")

    def test_token_file_and_environment(self):
        proc = self.client("--token-file", self.token_file, "--", "echo", "in", server=self.auth_server)
        self.assertEqual((proc.returncode, proc.stdout), (0, b"in\n"))
        env = dict(os.environ, NETLAB_TOKEN=TOKEN)
        self.assertEqual(self.client("--", "true", env=env, server=self.auth_server).returncode, 0)

    def test_auth_failures_are_255(self):
        env = dict(os.environ, NETLAB_TOKEN="wrong-token-long-enough")
        for extra_env in (env, {k: v for k, v in os.environ.items() if k != "NETLAB_TOKEN"}):
            with self.subTest(token=extra_env.get("NETLAB_TOKEN")):
                proc = self.client("--", "true", env=extra_env, server=self.auth_server)
                self.assertEqual(proc.returncode, 255)
                self.assertEqual(len(proc.stderr.decode().strip().splitlines()), 1)

    def test_connection_refused_is_255(self):
        proc = nt.run("exec-client", nt.free_port(), "--", "true")
        self.assertEqual(proc.returncode, 255)
        self.assertEqual(len(proc.stderr.decode().strip().splitlines()), 1)

    def test_protocol_error_is_255(self):
        fake = FakeServer([b"\x00\x00\x00\x00"])
        self.addCleanup(fake.close)
        proc = nt.run("exec-client", fake.port, "--", "true")
        self.assertEqual(proc.returncode, 255)
        self.assertIn("protocol", proc.stderr.decode())

    def test_a_peer_that_is_not_an_exec_server_is_named(self):
        """An SSH port (or any text greeting) is recognised, not reported as a 1.4 GB header."""
        fake = FakeServer([b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"])
        self.addCleanup(fake.close)
        proc = nt.run("exec-client", fake.port, "--", "true")
        self.assertEqual(proc.returncode, 255)
        self.assertEqual(proc.stderr.decode(),
                         "netlab: exec-client: not an exec-server: it sent 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3'\n")

    def test_a_silent_peer_is_asked_whether_it_is_an_exec_server(self):
        with nt.Server("echo-server", "0") as echo:
            proc = nt.run("exec-client", echo.port, "--", "true", timeout=120)
        self.assertEqual(proc.returncode, 124)
        self.assertIn("no hello from the server in time: is it an exec-server?", proc.stderr.decode())

    def test_repl_prompt_goes_to_stderr(self):
        """At a terminal the REPL prompts on stderr; stdout (here a file) gets only the output."""
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen([nt.NETLAB, "exec-client", str(self.server.port)],
                                    stdin=slave, stderr=slave, stdout=out, close_fds=True)
            os.close(slave)
            seen = b""
            while b">>: " not in seen:
                ready, _, _ = select.select([master], [], [], 20)
                self.assertTrue(ready, seen)
                seen += os.read(master, 4096)
            os.write(master, b"echo from-repl\n\x04")
            self.assertEqual(proc.wait(timeout=60), 0)
            out.seek(0)
            self.assertEqual(out.read(), b"from-repl\n")

    def test_lost_output_fails_loudly(self):
        script = [HELLO, None,
                  encode_frame({"type": "stdout", "id": 1}, b"abc"),
                  encode_frame({"type": "exit", "id": 1, "exit_code": 0, "signal": None, "timed_out": False,
                                "stdout_size": 5, "stderr_size": 0, "duration_ms": 1})]
        fake = FakeServer(script)
        self.addCleanup(fake.close)
        proc = nt.run("exec-client", fake.port, "--no-stdin", "--", "true")
        self.assertEqual(proc.returncode, 255)
        self.assertIn("lost", proc.stderr.decode())

    def test_json(self):
        proc = self.client("--json", "--", "sh", "-c", "echo out; echo err >&2; exit 4")
        self.assertEqual(proc.returncode, 4)
        result = json.loads(proc.stdout)
        self.assertEqual(result["exit_code"], 4)
        self.assertEqual((result["stdout"], result["stderr"]), ("out\n", "err\n"))
        self.assertEqual((result["stdout_size"], result["stderr_size"]), (4, 4))
        self.assertIn("duration_ms", result)

    def test_repl_from_pipe(self):
        lines = b"echo 'a  b' \"c d\"\n\nsh -c 'exit 5'\necho last\n"
        proc = self.client(input=lines)
        self.assertEqual(proc.stdout, b"a  b c d\nlast\n")
        self.assertEqual(proc.returncode, 0)
        proc = self.client(input=b"true\nsh -c 'exit 6'\n")
        self.assertEqual(proc.returncode, 6)

    def test_repl_shell_and_json(self):
        proc = self.client("--shell", "--json", input=b"echo x | tr x y\nexit 2\n")
        results = [json.loads(line) for line in proc.stdout.splitlines()]
        self.assertEqual([r["stdout"] for r in results], ["y\n", ""])
        self.assertEqual([r["exit_code"] for r in results], [0, 2])

    def test_repl_bad_quote_is_reported_and_skipped(self):
        proc = self.client(input=b"echo 'unterminated\necho fine\n")
        self.assertEqual(proc.stdout, b"fine\n")
        self.assertIn("quote", proc.stderr.decode())

    def _start_sleeping(self, command):
        proc = subprocess.Popen([nt.NETLAB, "exec-client", str(self.server.port), "--no-stdin", "--", *command],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # Ready once the command has said so (after setting up any trap).
        self.assertEqual(proc.stdout.readline(), b"ready\n")
        return proc

    def test_ctrl_c_is_forwarded(self):
        proc = self._start_sleeping(["sh", "-c", "echo ready; exec sleep 30"])
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(10), 128 + signal.SIGINT)

    def test_second_ctrl_c_exits_130(self):
        # The command survives INT and says so each time it gets one.
        proc = self._start_sleeping(["sh", "-c", "trap 'echo got INT' INT; echo ready; while :; do sleep 1; done"])
        remote = nt.children_of(self.server.proc.pid)
        proc.send_signal(signal.SIGINT)
        # The first Ctrl-C was forwarded once the command reports it.
        self.assertEqual(proc.stdout.readline(), b"got INT\n")
        self.assertIsNone(proc.poll())
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(10), 130)
        # Leaving killed the remote command.
        self.assertTrue(nt.wait_until(lambda: not any(p in nt.children_of(self.server.proc.pid) for p in remote)))

    def _socket_states(self, pid):
        """The TCP states (hex, as /proc/net/tcp writes them) of pid's sockets."""
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        states = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if fields[9] in inodes:
                        states.append(fields[3])
        return states

    def _popen(self, *args, stdin=subprocess.DEVNULL, env=None):
        proc = subprocess.Popen([nt.NETLAB, "exec-client", *args], stdin=stdin, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        return proc

    def _interrupted(self, proc):
        """Ctrl-C (SIGINT) to proc: it must end at once with the one 'interrupted' line and 130."""
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            self.fail("exec-client ignored Ctrl-C")
        stderr = proc.stderr.read().decode()
        self.assertEqual((code, stderr), (130, "netlab: exec-client: interrupted\n"))

    def test_ctrl_c_while_connecting_leaves_at_once(self):
        """A connect that hangs (the listener's queue is full, so its SYNs are dropped) gives way to
        Ctrl-C, not only to the 10 s connect timeout."""
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(2):
            filler = socket.socket()
            self.addCleanup(filler.close)
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        proc = self._popen(str(port), "--", "true")
        # SYN_SENT is state 02: the client is inside connect.
        self.assertTrue(nt.wait_until(lambda: "02" in self._socket_states(proc.pid)), "the connect did not hang")
        self._interrupted(proc)

    def test_ctrl_c_during_the_tls_handshake_leaves_at_once(self):
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        env = dict(os.environ, NETLAB_TOKEN=TOKEN)
        proc = self._popen(str(port), "--tls", "--", "true", env=env)
        conn, _ = listener.accept()
        self.addCleanup(conn.close)
        conn.settimeout(30)
        # Its ClientHello (a TLS handshake record) has come: it now waits for ours, which never comes.
        self.assertEqual(conn.recv(1)[:1], b"\x16")
        self._interrupted(proc)

    def _server_that_stops_reading(self):
        """A server that says hello, reads the head of the exec frame and then nothing more."""
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        started = threading.Event()

        def serve():
            conn, _ = listener.accept()
            self.addCleanup(conn.close)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            conn.sendall(HELLO)
            conn.settimeout(30)
            head = b""
            while b'"exec"' not in head:
                head += conn.recv(256)
            started.set()

        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1], started

    def _client_sending_a_large_stdin(self, port, *args):
        """exec-client with 8 MiB of stdin (more than every socket buffer on the way holds)."""
        stdin = tempfile.TemporaryFile()
        self.addCleanup(stdin.close)
        stdin.write(b"x" * (8 << 20))
        stdin.seek(0)
        return self._popen(str(port), *args, "--", "cat", stdin=stdin)

    def test_ctrl_c_while_the_server_takes_no_request_leaves_at_once(self):
        """The request's frame is still being sent (the server stopped reading it), so no command
        runs yet: Ctrl-C leaves at once instead of waiting for a send that never ends."""
        port, started = self._server_that_stops_reading()
        proc = self._client_sending_a_large_stdin(port)
        self.assertTrue(started.wait(30))
        self._interrupted(proc)

    def test_timeout_bounds_a_request_the_server_does_not_read(self):
        port, started = self._server_that_stops_reading()
        proc = self._client_sending_a_large_stdin(port, "--timeout", "0.1")
        self.assertTrue(started.wait(30))
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            self.fail("--timeout did not bound sending the request")
        self.assertEqual(code, 124)
        self.assertEqual(proc.stderr.read().decode(),
                         "netlab: exec-client: send: timed out (the server is not reading)\n")

    def test_token_holder_refuses_server_without_auth(self):
        # A server (or something in the middle) answering "auth": "none" must not get the
        # command: the client holding a token expected to prove it (issue 14 item 9).
        fake = FakeServer([HELLO, None])
        self.addCleanup(fake.close)
        proc = nt.run("exec-client", fake.port, "--token-file", self.token_file, "--", "echo", "secret-argv")
        self.assertEqual(proc.returncode, 255)
        self.assertIn("no authentication", proc.stderr.decode())
        self.assertNotIn(b"secret-argv", fake.received_after_close())

    def test_nonce_must_be_64_lowercase_hex(self):
        # The client signs only a nonce of the documented shape, never text the server chose.
        for nonce in ("", "ab", "A" * 64, "0" * 63, "0" * 65, "g" * 64, 5):
            with self.subTest(nonce=nonce):
                hello = encode_frame({"type": "hello", "version": 1, "server": "fake", "auth": "hmac-sha256",
                                      "nonce": nonce})
                fake = FakeServer([hello, None])
                self.addCleanup(fake.close)
                proc = nt.run("exec-client", fake.port, "--token-file", self.token_file, "--", "true")
                self.assertEqual(proc.returncode, 255)
                self.assertIn("nonce", proc.stderr.decode())
                self.assertEqual(fake.received_after_close(), b"")

    def test_help_has_example(self):
        out = nt.run("exec-client", "--help").stdout.decode()
        self.assertIn("Example", out)
        self.assertIn("exec-client", out)


if __name__ == "__main__":
    nt.main()
