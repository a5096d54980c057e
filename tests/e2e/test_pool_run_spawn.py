"""End-to-end tests of how pool-run and exec-server start local processes (core/loop/spawn):
what a job or command gets (descriptors, signal dispositions, process group, session), and how
a program that cannot start is reported (126 against 127, execvp's /bin/sh fallback)."""
import fcntl
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import netlab_test as nt  # noqa: E402

# The descriptors of the job's shell (listed by its child, ls, whose own are not shown; no pipe,
# which the shell would hold meanwhile), then
# "PID PGID SID" (fields 5 and 6 of /proc/PID/stat). `: {}` keeps pool-run's argument out.
FDS = 'ls -m /proc/$$/fd; : {}'
IDS = 'echo $$ $(cut -d" " -f5,6 /proc/$$/stat); : {}'
# glibc's posix_spawn leaves its two internal signals (32, 33) ignored; nothing else may be.
GLIBC_INTERNAL = 0x180000000


def ignored_mask(text):
    for line in text.splitlines():
        if line.startswith("SigIgn:"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no SigIgn line in {text!r}")


class PoolRunSpawnTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="netlab-spawn-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_jobs_hold_only_descriptors_0_1_2(self):
        # 40 jobs, 4 at a time: the pipes of the jobs running beside each one are open in
        # pool-run meanwhile, and so are its joblog, its input and its watchdog pipe.
        joblog = os.path.join(self.tmp, "joblog")
        proc = nt.run("pool-run", "-j", "4", "--joblog", joblog, "--shell", "--", FDS,
                      input=b"".join(b"%d\n" % i for i in range(40)))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.decode().splitlines(), ["0, 1, 2"] * 40)

    def test_jobs_start_with_default_signals_in_a_group_of_their_own(self):
        proc = nt.run("pool-run", "--shell", "--", "grep SigIgn /proc/self/status; grep SigBlk /proc/self/status; : {}",
                      ":::", "1")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = proc.stdout.decode()
        # pool-run itself ignores SIGPIPE; a job must not (`yes | head` must end).
        self.assertEqual(ignored_mask(out) & ~GLIBC_INTERNAL, 0, out)
        self.assertIn("SigBlk:\t0000000000000000", out)
        proc = nt.run("pool-run", "-j", "2", "--shell", "--", IDS, ":::", "1", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for line in proc.stdout.decode().splitlines():
            pid, pgid, sid = map(int, line.split())
            # Each job leads its own process group, in pool-run's session: no setsid per job.
            self.assertEqual(pgid, pid)
            self.assertEqual(sid, os.getsid(0))

    def test_output_pipe_is_widened_so_a_job_is_written_in_one_piece(self):
        # pool-run writes each job's output whole; into a 64 KiB pipe a 1 MB job takes 16 blocking
        # writes, each waiting for the reader. It grows a pipe it writes to, to 1 MiB.
        with open("/proc/sys/fs/pipe-max-size") as f:
            if int(f.read()) < 1 << 20:
                self.skipTest("fs.pipe-max-size below 1 MiB")
        probe_r, probe_w = os.pipe()
        try:
            fcntl.fcntl(probe_w, fcntl.F_SETPIPE_SZ, 1 << 20)
        except PermissionError:
            self.skipTest("this user's pipes are past fs.pipe-user-pages-soft")
        finally:
            os.close(probe_r)
            os.close(probe_w)
        read_end, write_end = os.pipe()
        try:
            self.assertEqual(fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ), 64 << 10)
            proc = subprocess.run([nt.NETLAB, "pool-run", "--", "echo", ":::", "x"], stdout=write_end,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(os.read(read_end, 100), b"x\n")
            self.assertEqual(fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ), 1 << 20)
        finally:
            os.close(read_end)
            os.close(write_end)

    def test_many_jobs_stay_within_the_users_pipe_quota(self):
        # The kernel counts every pipe's size against its user (fs.pipe-user-pages-soft, 64 MiB)
        # and past it gives each new pipe of that user, anyone's, two pages. 600 jobs with 64 KiB
        # stdout and stderr pipes would pass it; pool-run shrinks its jobs' pipes as they grow in
        # number. Checked as an unprivileged uid (root is exempt), while every job is running: a
        # new pipe of that uid still gets the default 64 KiB.
        if os.geteuid() != 0 or shutil.which("setpriv") is None or shutil.which("flock") is None:
            self.skipTest("needs root, setpriv and flock to run jobs as another uid")
        with open("/proc/sys/fs/pipe-user-pages-soft") as f:
            if int(f.read()) != 16384:
                self.skipTest("fs.pipe-user-pages-soft is not the default 16384 pages")
        uid = "4242"
        as_user = ["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups"]
        # The suite's TMPDIR is root's alone: the other uid may pass through it to this folder.
        os.chmod(os.path.dirname(self.tmp), 0o711)
        os.chown(self.tmp, int(uid), int(uid))
        lock_path = os.path.join(self.tmp, "lock")
        started = os.path.join(self.tmp, "started")
        open(lock_path, "w").close()
        os.chmod(lock_path, 0o644)
        jobs = 600

        def limits():
            resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))

        with open(lock_path) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            # Each job says it started, then waits for the lock the test holds.
            script = f': {{}}; echo x >> {started}; flock -s {lock_path} true'
            proc = subprocess.Popen([*as_user, nt.NETLAB, "pool-run", "-j", str(jobs), "--shell", "--", script, ":::",
                                     *map(str, range(jobs))], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, preexec_fn=limits)
            try:
                deadline = time.monotonic() + 120
                count = 0
                while time.monotonic() < deadline and proc.poll() is None:
                    try:
                        with open(started) as f:
                            count = len(f.read().splitlines())
                    except FileNotFoundError:
                        count = 0
                    if count == jobs:
                        break
                    time.sleep(0.05)
                self.assertEqual(count, jobs, proc.stderr.read().decode() if proc.poll() is not None else "")
                probe = subprocess.run([*as_user, sys.executable, "-c",
                                        "import fcntl, os; r, w = os.pipe(); print(fcntl.fcntl(r, fcntl.F_GETPIPE_SZ))"],
                                       capture_output=True, timeout=60)
                self.assertEqual(probe.stdout.strip(), b"65536", probe.stderr)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, err)

    def test_found_but_not_executable_is_126_and_missing_is_127(self):
        bin_dir = os.path.join(self.tmp, "bin")
        os.mkdir(bin_dir)
        with open(os.path.join(bin_dir, "plain"), "w") as f:
            f.write("#!/bin/sh\necho ran\n")
        os.chmod(os.path.join(bin_dir, "plain"), 0o644)
        # No #! line: execvp runs it with /bin/sh, and so does pool-run.
        with open(os.path.join(bin_dir, "bare"), "w") as f:
            f.write('echo bare "$1"\n')
        os.chmod(os.path.join(bin_dir, "bare"), 0o755)
        env = dict(os.environ, PATH=bin_dir + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
        joblog = os.path.join(self.tmp, "joblog")
        for name, code, message in (("plain", 126, "spawn plain: permission denied"),
                                    ("netlab-no-such-program", 127, "netlab-no-such-program: command not found")):
            with self.subTest(name=name):
                proc = nt.run("pool-run", "--joblog", joblog, "--", name, ":::", "1", env=env)
                self.assertNotEqual(proc.returncode, 0)
                self.assertIn(message, proc.stderr.decode())
                with open(joblog) as f:
                    row = f.read().splitlines()[1].split("\t")
                self.assertEqual(row[6], str(code), row)
        proc = nt.run("pool-run", "--", "bare", ":::", "x", env=env)
        self.assertEqual((proc.returncode, proc.stdout), (0, b"bare x\n"), proc.stderr)


class ExecServerSpawnTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = nt.Server("exec-server", "127.0.0.1:0", "--shell")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def client(self, *args, input=b""):
        return nt.run("exec-client", self.server.port, *args, input=input, timeout=60)

    def test_commands_hold_only_descriptors_0_1_2(self):
        # A second command runs meanwhile, its pipes open in the server beside a second client
        # connection: it says "ready", then waits on a FIFO that the test opens at the end.
        with tempfile.TemporaryDirectory(prefix="netlab-spawn-") as tmp:
            fifo = os.path.join(tmp, "fifo")
            os.mkfifo(fifo)
            other = subprocess.Popen([nt.NETLAB, "exec-client", str(self.server.port), "--shell", "--",
                                      f"echo ready; cat {fifo}"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                self.assertEqual(other.stdout.readline(), b"ready\n")
                for stdin in (b"", b"some input"):
                    with self.subTest(stdin=stdin):
                        proc = self.client("--shell", "--", FDS, input=stdin)
                        self.assertEqual((proc.returncode, proc.stdout), (0, b"0, 1, 2\n"), proc.stderr)
            finally:
                with open(fifo, "w"):
                    pass
                self.assertEqual(other.wait(timeout=30), 0)
                other.stdout.close()
                other.stderr.close()

    def test_commands_start_with_default_signals_in_a_group_of_their_own(self):
        proc = self.client("--", "grep", "SigIgn", "/proc/self/status")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(ignored_mask(proc.stdout.decode()) & ~GLIBC_INTERNAL, 0, proc.stdout)
        proc = self.client("--shell", "--", IDS)
        pid, pgid, sid = map(int, proc.stdout.split())
        self.assertEqual(pgid, pid)
        self.assertEqual(sid, os.getsid(self.server.proc.pid))

    def test_not_executable_and_missing_are_told_apart(self):
        with tempfile.TemporaryDirectory(prefix="netlab-spawn-") as tmp:
            plain = os.path.join(tmp, "plain")
            with open(plain, "w") as f:
                f.write("#!/bin/sh\necho ran\n")
            os.chmod(plain, 0o644)
            denied = self.client("--", plain)
            missing = self.client("--", os.path.join(tmp, "nothing"))
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn(b"permission denied", denied.stderr)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn(b"no such file", missing.stderr)


def start_on_terminal(args, stderr, env=None):
    """Starts args as a session leader whose controlling terminal is a new pty (its stdin), so
    /dev/tty exists for it and for its children; stdout is a pipe. Returns (proc, master fd)."""
    master, slave = os.openpty()

    def take_terminal():
        # After start_new_session's setsid(): the pty on fd 0 becomes our controlling terminal,
        # with our process group in its foreground.
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.Popen(args, stdin=slave, stdout=subprocess.PIPE, stderr=stderr, env=env,
                                start_new_session=True, preexec_fn=take_terminal)
    finally:
        os.close(slave)
    return proc, master


def session_members(sid):
    """PIDs of the live processes in session sid."""
    return [stat.pid for stat in nt.process_stats() if stat.session == sid and stat.state != "Z"]


def kill_session(sid):
    for pid in session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class TerminalStopTest(unittest.TestCase):
    """Jobs lead a process group in netlab's session (no setsid), so one that uses netlab's
    terminal is a background group there and the kernel stops it (SIGTTIN on read, SIGTTOU on
    tcsetattr). netlab must end such a job and say why, not wait for it forever."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="netlab-spawn-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def test_pool_run_kills_a_job_stopped_by_the_terminal_and_says_so(self):
        joblog = os.path.join(self.tmp, "joblog")
        stderr_path = os.path.join(self.tmp, "stderr")
        # Job 1 reads the terminal (SIGTTIN), job 2 turns its echo off as a password prompt
        # does (SIGTTOU), job 3 does not touch it and must succeed beside them.
        with open(stderr_path, "wb") as stderr:
            proc, master = start_on_terminal(
                [nt.NETLAB, "pool-run", "-j", "3", "--joblog", joblog, "--", "sh", "-c", "{}", ":::",
                 "read x </dev/tty", "stty -echo </dev/tty", "echo fine"], stderr)
        self.addCleanup(os.close, master)
        self.addCleanup(kill_session, proc.pid)
        try:
            # Only a guard against a hang: the assertions below are on what happened.
            out, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            self.fail(f"pool-run hung with a job stopped by the terminal: session {session_members(proc.pid)}")
        with open(stderr_path) as f:
            err = f.read()
        nt.check_sanitizers(err, "pool-run")
        # Two failed jobs: pool-run's exit code counts them.
        self.assertEqual(proc.returncode, 2, err)
        self.assertEqual(out, b"fine\n", err)
        self.assertIn("netlab: pool-run: job 1 (sh -c 'read x </dev/tty') tried to read the terminal and was stopped "
                      "by SIGTTIN; jobs cannot use the terminal (stdin is /dev/null)", err)
        self.assertIn("netlab: pool-run: job 2 (sh -c 'stty -echo </dev/tty') tried to use the terminal and was "
                      "stopped by SIGTTOU", err)
        with open(joblog) as f:
            rows = [line.split("\t") for line in f.read().splitlines()[1:]]
        signals = {row[0]: (row[6], row[7]) for row in rows}
        self.assertEqual(signals, {"1": ("0", str(int(signal.SIGTTIN))), "2": ("0", str(int(signal.SIGTTOU))),
                                   "3": ("0", "0")})
        # Nothing of the run is left, stopped or otherwise.
        self.assertEqual(session_members(proc.pid), [])

    def test_exec_server_ends_a_command_stopped_by_the_terminal(self):
        stderr_path = os.path.join(self.tmp, "stderr")
        with open(stderr_path, "wb") as stderr:
            server, master = start_on_terminal([nt.NETLAB, "exec-server", "127.0.0.1:0", "--shell"], stderr)
        self.addCleanup(os.close, master)
        self.addCleanup(kill_session, server.pid)
        self.addCleanup(server.stdout.close)

        def stderr_text():
            with open(stderr_path) as f:
                return f.read()

        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline and server.poll() is None:
            m = re.search(r"listening on \S+:(\d+)", stderr_text())
            if m:
                port = int(m.group(1))
            else:
                time.sleep(0.01)
        self.assertIsNotNone(port, stderr_text())
        try:
            proc = nt.run("exec-client", port, "--shell", "--", "read x </dev/tty", timeout=120)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        nt.check_sanitizers(stderr_text(), "exec-server")
        self.assertNotEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(b"tried to read the terminal and was stopped by SIGTTIN", proc.stderr)
        self.assertEqual(session_members(server.pid), [])


if __name__ == "__main__":
    nt.main()
