"""Shared helpers for the end-to-end suites: run the real netlab binary against real peers.

Every suite is a plain unittest module run by ctest with NETLAB pointing at the binary. A suite
whose peer program is missing exits 77, which ctest reports as skipped.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

NETLAB = os.environ.get("NETLAB") or os.path.join(
    os.environ.get("NETLAB_BUILD_DIR", "build"), "netlab")
SOURCE_DIR = os.environ.get("NETLAB_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
SKIP = 77

# Generous: the sanitizer build is several times slower than the release one.
READY_TIMEOUT = 20.0


def require(*programs):
    """Exit with the skip code if a peer program is not installed."""
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        print(f"skipped: {', '.join(missing)} not installed", file=sys.stderr)
        sys.exit(SKIP)


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def check_sanitizers(stderr_text, what):
    """Fails the test if a sanitizer reported anything (the sanitizer build runs these suites too)."""
    for marker in SANITIZER_MARKERS:
        if marker in stderr_text:
            raise AssertionError(f"{what}: sanitizer report:\n{stderr_text[-4000:]}")


def run(*args, input=None, timeout=60, env=None, check=False):
    """Runs netlab with args; returns CompletedProcess with bytes stdout/stderr."""
    proc = subprocess.run([NETLAB, *map(str, args)], input=input, capture_output=True,
                          timeout=timeout, env=env)
    check_sanitizers(proc.stderr.decode(errors="replace"), f"netlab {' '.join(map(str, args))}")
    if check and proc.returncode != 0:
        raise AssertionError(f"netlab {args} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return proc


class Server:
    """A netlab server started as a child, ready once it printed `listening on ADDR`."""

    def __init__(self, *args, env=None, wait=True, umask=None):
        self.tmp = tempfile.mkdtemp(prefix="netlab-e2e-")
        self.stderr_path = os.path.join(self.tmp, "stderr")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([NETLAB, *map(str, args)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._stderr, env=env,
                                     umask=-1 if umask is None else umask)
        self.address = None
        if wait:
            self.wait_ready()

    def wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            text = self.stderr()
            m = re.search(r"listening on (\S+)", text)
            if m:
                self.address = m.group(1)
                return self.address
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode} before listening: {text}")
            time.sleep(0.01)
        raise AssertionError(f"server not listening after {READY_TIMEOUT}s: {self.stderr()}")

    @property
    def port(self):
        return int(self.address.rsplit(":", 1)[1])

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not stop within {timeout}s after {sig}")
        self._stderr.close()
        self.proc.stdout.close()
        check_sanitizers(self.stderr(), "server")
        return rc

    def close(self):
        # A graceful stop lets the sanitizer build report leaks; a server that ignores it is killed.
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        report = self.stderr() if os.path.exists(self.stderr_path) else ""
        if not self._stderr.closed:
            self._stderr.close()
        if self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        check_sanitizers(report, "server")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(host, port, family=socket.AF_INET, timeout=10):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def recv_exactly(sock, n):
    chunks = []
    while n > 0:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise AssertionError(f"connection closed with {n} bytes still expected")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_until_close(sock):
    chunks = []
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_until(predicate, timeout=10.0, interval=0.02):
    """Polls predicate until it holds or timeout seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def children_of(pid):
    """PIDs of pid's direct children (empty once it is gone)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def echo_clients(port, count, size, max_piece=16384, timeout=120, seed=None):
    """`count` concurrent clients, each sending `size` random bytes in random pieces of 1 to
    max_piece bytes, then half-closing, while reading the echo until the server closes. Returns
    how many got back exactly what they sent."""
    import asyncio
    import random
    rng = random.Random(port if seed is None else seed)

    async def one_client():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        payload = rng.randbytes(size)

        async def send():
            at = 0
            while at < len(payload):
                n = rng.randint(1, max_piece)
                writer.write(payload[at:at + n])
                at += n
                await writer.drain()
            writer.write_eof()

        sender = asyncio.create_task(send())
        received = await reader.read(-1)
        await sender
        writer.close()
        return received == payload

    async def all_clients():
        return await asyncio.gather(*(one_client() for _ in range(count)))

    return asyncio.run(asyncio.wait_for(all_clients(), timeout=timeout)).count(True)


def main():
    unittest.main(verbosity=2)
