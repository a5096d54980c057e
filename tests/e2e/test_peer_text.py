"""End-to-end tests for text that peers supply and netlab quotes in its messages (frame-file
names and types for `unpack --frame`, a server's words for `exec-client`): whatever the peer
sends, stderr holds only printable text, with control characters shown as escapes."""
import hashlib
import json
import os
import shutil
import socket
import struct
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import netlab_test as nt  # noqa: E402

# ESC sequences that clear the screen, retitle the window and recolour; a one-byte CSI (C1,
# U+009B); a bidi override; a newline that would fake a second message.
HOSTILE = "\x1b[2J\x1b]0;owned\x07\x9b31m\u202e\nnetlab: fake: ok"


def frame(header, body=b""):
    text = json.dumps(dict(header, size=len(body))).encode()
    return struct.pack("!I", len(text)) + text + body


def assert_terminal_safe(test, stderr):
    """Only printable characters and the line ends remain; no C1 control or bidi override."""
    text = stderr.decode("utf-8")  # valid UTF-8 or this raises
    lines = text.split("\n")
    test.assertEqual(lines[-1], "", text)
    for line in lines[:-1]:
        test.assertTrue(line.startswith("netlab: "), repr(line))
        for ch in line:
            test.assertFalse(ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f or 0x202a <= ord(ch) <= 0x202e
                             or 0x2066 <= ord(ch) <= 0x2069, repr(line))
    test.assertNotIn("netlab: fake: ok", text.replace("\\nnetlab: fake: ok", ""))


class FakeServer:
    """Accepts one connection, sends `frames`, reads whatever comes, then closes."""

    def __init__(self, frames):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, args=(frames,), daemon=True)
        self.thread.start()

    def _serve(self, frames):
        conn, _ = self.sock.accept()
        with conn:
            for data in frames:
                conn.sendall(data)
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                except OSError:
                    pass

    def close(self):
        self.sock.close()
        self.thread.join(10)


class PeerText(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="netlab-peer-text-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_unpack_names_and_types_are_escaped(self):
        body = b"x"
        good = {"type": "file", "sha256": hashlib.sha256(body).hexdigest()}
        streams = [
            frame(dict(good, name="../" + HOSTILE), body),            # refused name
            frame(dict(good, name="/" + HOSTILE), body),              # absolute name
            frame({"type": HOSTILE}) + frame(dict(good, name="a/../b"), body),  # unknown type warned
            frame(dict(good, name=HOSTILE, offset=1, file_size=2), body),  # chunk out of place
        ]
        for stream in streams:
            with self.subTest(stream=stream[:60]):
                proc = nt.run("unpack", "--frame", "-C", self.tmp, input=stream)
                self.assertEqual(proc.returncode, 1)
                assert_terminal_safe(self, proc.stderr)
                self.assertIn(b"\\x1b[2J", proc.stderr)
        # The name of a file that exists is quoted too.
        name = "e\x1b[31m"
        with open(os.path.join(self.tmp, name), "w"):
            pass
        proc = nt.run("unpack", "--frame", "-C", self.tmp, input=frame(dict(good, name=name), body))
        self.assertEqual(proc.returncode, 1)
        assert_terminal_safe(self, proc.stderr)
        self.assertIn(b"'e\\x1b[31m' exists", proc.stderr)

    def test_exec_client_escapes_what_the_server_says(self):
        hello = frame({"type": "hello", "version": 1, "server": "fake", "auth": "none"})
        cases = [
            [frame({"type": "error", "code": HOSTILE, "message": HOSTILE})],
            [frame({"type": HOSTILE})],
            [frame({"type": "hello", "version": 1, "server": "fake", "auth": HOSTILE})],
            [hello, frame({"type": "error", "id": 1, "code": "not-allowed", "message": HOSTILE})],
            [hello, frame({"type": "error", "code": "protocol", "message": HOSTILE})],
        ]
        for frames in cases:
            with self.subTest(frames=frames[-1][:60]):
                fake = FakeServer(frames)
                self.addCleanup(fake.close)
                proc = nt.run("exec-client", fake.port, "--no-stdin", "--", "true", timeout=30)
                self.assertNotEqual(proc.returncode, 0)
                assert_terminal_safe(self, proc.stderr)
                self.assertIn(b"\\x1b[2J", proc.stderr)
                self.assertIn(b"\\u009b", proc.stderr)
                self.assertIn(b"\\u202e", proc.stderr)


if __name__ == "__main__":
    nt.main()
