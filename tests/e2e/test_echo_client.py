"""echo-client end to end: line mode, --message, --raw, prompt on a terminal, errors and exit codes."""
import fcntl
import os
import pty
import select
import signal
import socket
import subprocess
import tempfile
import termios
import threading
import time
import unittest

from netlab_test import NETLAB, Server, free_port, main, run, run_max_rss, wait_until, wchan


class OneShotServer:
    """A Python peer that runs `handler(conn)` for one connection on a thread."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, args=(handler,), daemon=True)
        self.thread.start()

    def _serve(self, handler):
        conn, _ = self.sock.accept()
        with conn:
            handler(conn)

    def close(self):
        self.thread.join(timeout=10)
        self.sock.close()


class EchoClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("echo-server", "0")
        cls.upper = Server("echo-server", "0", "--upper")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.upper.close()

    def test_lines_from_stdin(self):
        out = run("echo-client", self.server.port, input=b"one\ntwo\n\nthree")
        self.assertEqual(out.returncode, 0, out.stderr)
        # Not a terminal: empty lines are sent too, and a last line without newline still counts.
        self.assertEqual(out.stdout, b"one\ntwo\n\nthree\n")

    def test_messages(self):
        out = run("echo-client", f"127.0.0.1:{self.upper.port}", "--message", "hello", "-m", "world")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"HELLO\nWORLD\n")

    def test_raw_binary_round_trip(self):
        data = os.urandom(3 << 20)
        out = run("echo-client", self.server.port, "--raw", input=data)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, data)

    def test_raw_keeps_reading_after_half_close(self):
        # The reply comes only after our end of input and a pause: it must not be cut off.
        def handler(conn):
            received = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                received += chunk
            time.sleep(0.5)
            conn.sendall(b"got %d bytes\n" % len(received) + b"z" * 200000)

        peer = OneShotServer(handler)
        try:
            out = run("echo-client", peer.port, "--raw", input=b"x" * 12345)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertTrue(out.stdout.startswith(b"got 12345 bytes\n"))
            self.assertEqual(len(out.stdout), len(b"got 12345 bytes\n") + 200000)
        finally:
            peer.close()

    def test_unix_socket(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "s")
            with Server("echo-server", f"unix:{path}") as server:
                out = run("echo-client", f"unix:{path}", "-m", "via unix")
                self.assertEqual(out.stdout, b"via unix\n")

    def test_prompt_on_a_terminal(self):
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(NETLAB, [NETLAB, "echo-client", str(self.upper.port)])
        try:
            output = self.read_pty_until(fd, lambda out: b">>: " in out)
            os.write(fd, b"\n")  # empty lines are skipped: straight to the next prompt
            os.write(fd, b"shout\n")
            # The prompt after the reply may arrive a moment after the reply itself.
            output = self.read_pty_until(fd, lambda out: b"SHOUT" in out and out.count(b">>: ") >= 3, output=output)
            os.write(fd, b"\x04")  # end of input
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
            self.assertEqual(output.count(b">>: "), 3)
        finally:
            try:
                os.close(fd)
            except OSError:
                pass

    def start_on_pty(self, port, stdout_pipe=False):
        """echo-client with a terminal as stdin and stderr (so it prompts); stdout a pipe if asked."""
        master, slave = pty.openpty()
        # Its own session with the pty as controlling terminal, so ^C there is a real SIGINT.
        proc = subprocess.Popen([NETLAB, "echo-client", str(port)], stdin=slave, stderr=slave,
                                stdout=subprocess.PIPE if stdout_pipe else slave, close_fds=True,
                                start_new_session=True,
                                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.addCleanup(os.close, master)
        return proc, master

    def read_pty_until(self, fd, done, timeout=20, output=b""):
        """Reads the terminal until done(everything read so far) holds; returns all of it. Pass
        the previous result as `output` to keep reading where it left off."""
        deadline = time.monotonic() + timeout
        while not done(output) and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    output += os.read(fd, 4096)
                except OSError:
                    break
        self.assertTrue(done(output), output)
        return output

    def test_prompt_goes_to_stderr(self):
        """`echo-client ADDR > out` at a terminal: the file gets the replies, the prompt stays on screen."""
        proc, master = self.start_on_pty(self.upper.port, stdout_pipe=True)
        self.read_pty_until(master, lambda out: b">>: " in out)
        os.write(master, b"shout\n")
        self.read_pty_until(master, lambda out: out.count(b">>: ") >= 1 and b"shout" in out)
        os.write(master, b"\x04")
        stdout, _ = proc.communicate(timeout=20)
        self.assertEqual(stdout, b"SHOUT\n")
        self.assertEqual(proc.returncode, 0)

    def test_server_that_closes_is_noticed_at_the_prompt(self):
        """No need to type another line: the client says the server left and exits 1."""
        with Server("echo-server", "0") as server:
            proc, master = self.start_on_pty(server.port)
            self.read_pty_until(master, lambda out: b">>: " in out)
            server.stop()
        output = self.read_pty_until(master, lambda out: b"server closed the connection" in out)
        self.assertEqual(proc.wait(timeout=20), 1, output)

    def test_ctrl_c_ends_the_prompt_line(self):
        """Ctrl-C at the prompt: a newline first, so the shell's prompt starts on a fresh line."""
        proc, master = self.start_on_pty(self.upper.port)
        self.read_pty_until(master, lambda out: b">>: " in out)
        os.write(master, b"\x03")
        output = self.read_pty_until(master, lambda out: out.endswith(b"\r\n"))
        self.assertEqual(proc.wait(timeout=20), -signal.SIGINT, output)

    def test_connection_refused_exits_255(self):
        out = run("echo-client", free_port(), "-m", "x")
        self.assertEqual(out.returncode, 255)
        lines = out.stderr.decode().strip().splitlines()
        self.assertEqual(len(lines), 1)
        self.assertIn("netlab: echo-client: connect 127.0.0.1:", lines[0])
        self.assertIn("refused", lines[0])

    def test_no_reply_times_out_with_124(self):
        def handler(conn):
            conn.recv(100)
            time.sleep(2)

        peer = OneShotServer(handler)
        try:
            start = time.monotonic()
            out = run("echo-client", peer.port, "--timeout", "0.3", "-m", "anyone?")
            self.assertEqual(out.returncode, 124, out.stderr)
            self.assertIn("no reply within 0.3s", out.stderr.decode())
            self.assertLess(time.monotonic() - start, 1.9)
        finally:
            peer.close()

    def test_an_endless_reply_line_costs_no_memory(self):
        # A hostile server answers with 128 MiB before its newline: the reply is copied out as it
        # arrives, so the client's memory does not grow with it (it held all of it before).
        size = 128 << 20

        def handler(conn):
            conn.recv(100)
            chunk = b"x" * (1 << 20)
            for _ in range(size >> 20):
                conn.sendall(chunk)
            conn.sendall(b"\n")

        peer = OneShotServer(handler)
        try:
            proc = subprocess.Popen([NETLAB, "echo-client", str(peer.port), "-m", "hi"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            received, last = 0, b""
            while True:
                chunk = proc.stdout.read(1 << 20)
                if not chunk:
                    break
                received += len(chunk)
                last = chunk[-1:]
            err = proc.stderr.read()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            proc.stdout.close()
            proc.stderr.close()
        finally:
            peer.close()
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual((received, last), (size + 1, b"\n"))
        # Against the same client's peak for a two-byte reply (the sanitizer build starts large).
        baseline = run_max_rss("echo-client", self.server.port, "-m", "hi")
        self.assertEqual(baseline.stdout, b"hi\n")
        self.assertLess(usage.ru_maxrss - baseline.max_rss_kib, 32 << 10, "max RSS growth in KiB")

    def test_a_huge_timeout_waits_instead_of_timing_out_at_once(self):
        # Any finite duration is a deadline in the future: --timeout 1e17 days used to overflow
        # into the past and give exit 124 before the reply could come. The peer answers only once
        # the client is seen waiting in poll(2) for it.
        holder = {}

        def handler(conn):
            line = conn.recv(100)
            self.assertTrue(wait_until(lambda: "poll" in wchan(holder["proc"].pid)
                                       or holder["proc"].poll() is not None, timeout=20))
            conn.sendall(line)

        peer = OneShotServer(handler)
        try:
            holder["proc"] = subprocess.Popen([NETLAB, "echo-client", str(peer.port), "--timeout",
                                               "100000000000000000d", "-m", "patience"],
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = holder["proc"].communicate(timeout=60)
            self.assertEqual(holder["proc"].returncode, 0, err)
            self.assertEqual(out, b"patience\n")
        finally:
            peer.close()

    def test_bad_arguments_exit_2(self):
        for args in (["echo-client"], ["echo-client", "nohostport"], ["echo-client", "1:2:3"],
                     ["echo-client", "127.0.0.1:0", "-m", "x"], ["echo-client", "80", "--timeout", "-1"],
                     ["echo-client", "80", "--raw", "-m", "x"]):
            out = run(*args)
            self.assertEqual(out.returncode, 2, (args, out.stderr))
            self.assertEqual(len(out.stderr.decode().strip().splitlines()), 1, out.stderr)


if __name__ == "__main__":
    main()
