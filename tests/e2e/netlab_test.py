"""Shared helpers for the end-to-end suites: run the real netlab binary against real peers.

Every suite is a plain unittest module run by ctest with NETLAB pointing at the binary. A suite
whose peer program is missing exits 77, which ctest reports as skipped.
"""
import atexit
import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

NETLAB = os.environ.get("NETLAB") or os.path.join(
    os.environ.get("NETLAB_BUILD_DIR", "build"), "netlab")
SOURCE_DIR = os.environ.get("NETLAB_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
SKIP = 77

# Generous: the sanitizer build is several times slower than the release one.
READY_TIMEOUT = 20.0


def _own_tmpdir():
    """A suite (a test_*.py run as a program) gets a TMPDIR of its own, made before the suite's
    module code runs; at exit the suite fails if anything is left in it (a temp folder a test did
    not remove, a file netlab or a peer program left behind)."""
    if not os.path.basename(sys.argv[0]).startswith("test_"):
        return None
    path = tempfile.mkdtemp(prefix="netlab-suite-", dir=tempfile.gettempdir())
    os.environ["TMPDIR"] = path
    tempfile.tempdir = path

    owner = os.getpid()

    def check():
        if os.getpid() != owner:
            return  # a forked child exiting: the suite's process checks at its own end
        left = sorted(os.listdir(path)) if os.path.isdir(path) else []
        shutil.rmtree(path, ignore_errors=True)
        if left:
            print(f"FAILED: the suite left {len(left)} entries in its TMPDIR: {', '.join(left)}",
                  file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(1)

    atexit.register(check)
    return path


SUITE_TMPDIR = _own_tmpdir()


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


def run_max_rss(*args, timeout=60):
    """Runs netlab like run(), waiting for it with wait4(2): the CompletedProcess also carries
    max_rss_kib, the peak resident memory of that one process."""
    proc = subprocess.Popen([NETLAB, *map(str, args)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    outputs = {}
    readers = [threading.Thread(target=lambda name, f: outputs.__setitem__(name, f.read()), args=(name, f))
               for name, f in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout)
    if any(reader.is_alive() for reader in readers):
        proc.kill()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    proc.stdout.close()
    proc.stderr.close()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, outputs["out"], outputs["err"])
    done.max_rss_kib = usage.ru_maxrss
    check_sanitizers(done.stderr.decode(errors="replace"), f"netlab {' '.join(map(str, args))}")
    return done


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
        if getattr(self, "_final_stderr", None) is not None:
            return self._final_stderr
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
        # The server is gone: its log is kept in memory and its temp folder removed at once.
        self._final_stderr = self.stderr()
        shutil.rmtree(self.tmp, ignore_errors=True)
        check_sanitizers(self._final_stderr, "server")
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
        report = self.stderr() if getattr(self, "_final_stderr", None) is not None or os.path.exists(self.stderr_path) else ""
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


def wchan(pid):
    """The kernel function pid's main thread sleeps in ("do_sys_poll", "hrtimer_nanosleep"), or ""
    once it is gone: a fact to wait for before changing what a blocked client will see."""
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def children_of(pid):
    """PIDs of pid's direct children (empty once it is gone)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def _proc_net(kind):
    """Rows of /proc/net/KIND and KIND6 as (local port, remote port, tx queue, rx queue, inode)."""
    rows = []
    for name in (kind, kind + "6"):
        try:
            with open(f"/proc/net/{name}") as f:
                lines = f.readlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            tx, rx = (int(x, 16) for x in fields[4].split(":"))
            rows.append((int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16), tx, rx,
                         int(fields[9])))
    return rows


def accepted_by_server(server_port, client_sock):
    """True once the server has accept()ed this client's connection: the kernel's server-side
    socket has an inode only after accept (one still in the listen backlog shows inode 0)."""
    client_port = client_sock.getsockname()[1]
    return any(local == server_port and remote == client_port and inode != 0
               for local, remote, _, _, inode in _proc_net("tcp"))


def server_holds(server_port, client_port):
    """True while the server still has the accepted socket of the client at `client_port`."""
    return any(local == server_port and remote == client_port and inode != 0
               for local, remote, _, _, inode in _proc_net("tcp"))


def pipe_count(pid):
    """How many pipes pid has open."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
        except OSError:
            pass
    return count


def tcp_unread_bytes(server_port):
    """Bytes the kernel holds for the server's accepted connections on `server_port` that the
    server has not read yet."""
    return sum(rx for local, remote, _, rx, _ in _proc_net("tcp") if local == server_port and remote != 0)


def udp_unread_bytes(port):
    """Bytes of datagrams queued on the UDP socket bound to `port` that its owner has not read."""
    return sum(rx for local, _, _, rx, _ in _proc_net("udp") if local == port)


ProcessStat = collections.namedtuple("ProcessStat", "pid state ppid pgrp session")


def process_stat(pid):
    """pid's /proc/PID/stat as a ProcessStat, None once it is gone. The fields are read after the
    last ")", since the command name between the parentheses may hold spaces and parentheses."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After "(comm)": state ppid pgrp session ...
    return ProcessStat(int(pid), fields[0], int(fields[1]), int(fields[2]), int(fields[3]))


def process_stats():
    """A ProcessStat for every process on the machine (those that end while being read are left out)."""
    stats = (process_stat(name) for name in os.listdir("/proc") if name.isdigit())
    return [stat for stat in stats if stat is not None]


def descendants(pid):
    """Every process below pid, depth first."""
    out = []
    for child in children_of(pid):
        out.append(child)
        out.extend(descendants(child))
    return out


def comm(pid):
    """The process's command name, "" once it is gone."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def blocked_writing_output(pid):
    """True while pid sleeps in the kernel writing to a full pipe or socket pair (libuv's stdio
    pipes are socket pairs): its reader is not reading."""
    try:
        with open(f"/proc/{pid}/wchan") as f:
            wchan = f.read()
    except OSError:
        return False
    return "pipe" in wchan or "sock_alloc_send" in wchan or "sendmsg" in wchan


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
