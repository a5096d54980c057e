"""An independent exec-protocol client, written only from docs/protocol.md.

It shares no code with netlab: if netlab and this file disagree about the wire format, one of
them disagrees with the document.
"""
import hashlib
import hmac
import json
import socket
import struct


class ProtocolError(Exception):
    pass


def encode_frame(header, body=b""):
    header = dict(header)
    header["size"] = len(body)
    text = json.dumps(header).encode()
    return struct.pack("!I", len(text)) + text + body


class ExecClient:
    def __init__(self, host, port, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = bytearray()
        self.hello = None

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Raw I/O.
    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, header, body=b""):
        self.sock.sendall(encode_frame(header, body))

    def _fill(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError(f"connection closed with {n - len(self.buffer)} bytes of a frame missing")
            self.buffer += chunk

    def _take(self, n):
        self._fill(n)
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def recv_frame(self):
        (length,) = struct.unpack("!I", self._take(4))
        if not 1 <= length <= 65536:
            raise ProtocolError(f"header length {length}")
        header = json.loads(self._take(length))
        if not isinstance(header, dict) or not isinstance(header.get("type"), str):
            raise ProtocolError(f"bad header {header!r}")
        size = header.get("size")
        if not isinstance(size, int) or size < 0:
            raise ProtocolError(f"bad size {size!r}")
        body = self._take(size)
        if "sha256" in header and hashlib.sha256(body).hexdigest() != header["sha256"]:
            raise ProtocolError("sha256 mismatch")
        return header, body

    def at_eof(self):
        """True if the server closed the connection (after any frames already buffered)."""
        if self.buffer:
            return False
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    # The conversation.
    def read_hello(self):
        header, _ = self.recv_frame()
        if header["type"] != "hello":
            raise ProtocolError(f"expected hello, got {header}")
        self.hello = header
        return header

    @staticmethod
    def mac(token, nonce):
        return hmac.new(token.encode(), nonce.encode(), hashlib.sha256).hexdigest()

    def auth(self, token):
        self.send({"type": "auth", "mac": self.mac(token, self.hello["nonce"])})
        header, _ = self.recv_frame()
        return header

    def handshake(self, token=None):
        self.read_hello()
        if self.hello["auth"] == "hmac-sha256":
            reply = self.auth(token)
            if reply["type"] != "auth-ok":
                raise ProtocolError(f"auth refused: {reply}")
        return self.hello

    def send_exec(self, id, argv=None, shell=None, stdin=b"", **extra):
        header = {"type": "exec", "id": id}
        if argv is not None:
            header["argv"] = argv
        if shell is not None:
            header["shell"] = shell
        header.update(extra)
        self.send(header, stdin)

    def collect(self, id, sink=None):
        """Reads frames for `id` until its exit or error frame.

        Returns (final_header, stdout, stderr, frames). With `sink(kind, bytes)`, output goes
        there instead of being kept.
        """
        out, err, frames = [], [], []
        while True:
            header, body = self.recv_frame()
            frames.append(header)
            if header.get("id") != id and header["type"] in ("stdout", "stderr", "exit"):
                raise ProtocolError(f"frame for id {header.get('id')} while waiting for {id}")
            if header["type"] == "stdout":
                sink("stdout", body) if sink else out.append(body)
            elif header["type"] == "stderr":
                sink("stderr", body) if sink else err.append(body)
            elif header["type"] in ("exit", "error"):
                return header, b"".join(out), b"".join(err), frames

    def run(self, id=1, argv=None, shell=None, stdin=b"", **extra):
        self.send_exec(id, argv=argv, shell=shell, stdin=stdin, **extra)
        return self.collect(id)

    def signal(self, id, name):
        self.send({"type": "signal", "id": id, "signal": name})


def legacy_run(host, port, command, timeout=30):
    """The classic teaching client: raw command out; struct 'i' length, JSON header, body in."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        return legacy_exchange(s, command)


def legacy_exchange(s, command):
    s.send(command.encode())
    (length,) = struct.unpack("i", _recv_exactly(s, 4))
    header = json.loads(_recv_exactly(s, length).decode())
    body = _recv_exactly(s, header["total_size"])
    return header, body


def _recv_exactly(s, n):
    data = bytearray()
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return bytes(data)
