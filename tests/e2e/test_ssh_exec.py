"""ssh-exec against OpenSSH's own sshd, started as a child on a free port on 127.0.0.1.

Host keys, client keys and known_hosts files live in a temporary folder; the netlab process
gets a temporary HOME and no SSH_AUTH_SOCK unless a test starts its own ssh-agent, so nothing
here reads or writes ~/.ssh or system files. sshd runs as root (the tests do), so the login user
is root with an AuthorizedKeysFile inside the temporary folder.
"""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from netlab_test import NETLAB, check_sanitizers, free_port, main
from sshd_fixture import SshLab, Sshd, fingerprint, keygen, kill_session_of, remote_any


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_digest(root):
    """{relative path: (sha256, mode)} for every file under root, and each folder's mode."""
    out = {}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        out[rel + "/"] = os.stat(folder).st_mode & 0o7777
        for name in files:
            path = os.path.join(folder, name)
            out[os.path.join(rel, name)] = (sha256_file(path), os.stat(path).st_mode & 0o7777)
    return out


def remote_count(pattern):
    """Processes on the "remote" side (the same machine) whose whole command line is `pattern`."""
    found = subprocess.run(["pgrep", "-f", "-x", pattern], capture_output=True, text=True)
    return len(found.stdout.split())


def wait_for_remote(pattern, count, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and remote_count(pattern) < count:
        time.sleep(0.05)
    if remote_count(pattern) < count:
        raise AssertionError(f"'{pattern}' did not start {count} times")


def assert_no_remote_process(test, pattern, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and remote_count(pattern) > 0:
        time.sleep(0.05)
    test.assertEqual(remote_count(pattern), 0, f"'{pattern}' still running")


class SshExecTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = lab = SshLab("netlab-ssh-")
        cls.tmp, cls.home, cls.key, cls.authorized, cls.known = lab.tmp, lab.home, lab.key, lab.authorized, lab.known
        cls.sshd, cls.host = lab.sshd[0], lab.hosts[0]
        cls.wrong_key = keygen(os.path.join(cls.tmp, "id_wrong"))

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def env(self, **extra):
        return self.lab.env(**extra)

    def ssh(self, *args, input=b"", timeout=120, env=None, known=None, key=True):
        """Runs netlab ssh-exec with the suite's known_hosts and key unless told otherwise."""
        opts = ["--known-hosts", known or self.known]
        if key:
            opts += ["-i", self.key]
        argv = [NETLAB, "ssh-exec", *opts, *map(str, args)]
        proc = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=env or self.env())
        check_sanitizers(proc.stderr.decode(errors="replace"), " ".join(argv))
        return proc

    # --- one host -------------------------------------------------------------------------

    def test_key_auth_exit_code_and_stream_separation(self):
        out = self.ssh(self.host, "--", "echo out; echo err >&2; exit 7")
        self.assertEqual(out.returncode, 7, out.stderr)
        self.assertEqual(out.stdout, b"out\n")
        self.assertEqual(out.stderr, b"err\n")

        ok = self.ssh(self.host, "--", "true")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertEqual(ok.stdout, b"")

    def test_stdin_forwarding_binary_safe(self):
        data = os.urandom(3 << 20)
        out = self.ssh(self.host, "--", "cat")
        self.assertEqual(out.returncode, 0, out.stderr)
        out = self.ssh(self.host, "--", "cat", input=data)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(hashlib.sha256(out.stdout).hexdigest(), hashlib.sha256(data).hexdigest())
        counted = self.ssh(self.host, "--", "wc", "-c", input=data)
        self.assertEqual(counted.stdout.strip(), str(len(data)).encode())
        ignored = self.ssh("-n", self.host, "--", "wc", "-c", input=data)
        self.assertEqual(ignored.stdout.strip(), b"0")

    def test_signal_and_timeout(self):
        killed = self.ssh(self.host, "--", "kill -TERM $$")
        self.assertEqual(killed.returncode, 128 + signal.SIGTERM, killed.stderr)
        started = time.monotonic()
        slow = self.ssh("--timeout", "1", self.host, "--", "sleep 30")
        self.assertEqual(slow.returncode, 124, slow.stderr)
        self.assertLess(time.monotonic() - started, 15)
        self.assertIn(b"timed out", slow.stderr)

    def test_wrong_key_is_255(self):
        out = self.ssh("-i", self.wrong_key, self.host, "--", "true", key=False)
        self.assertEqual(out.returncode, 255)
        lines = out.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, out.stderr)
        self.assertRegex(lines[0], r"^netlab: ssh-exec: authenticate root@127\.0\.0\.1:\d+: permission denied")
        self.assertIn(self.wrong_key, lines[0])

    def test_no_key_at_all_is_255(self):
        out = self.ssh(self.host, "--", "true", key=False)
        self.assertEqual(out.returncode, 255)
        self.assertIn(b"permission denied", out.stderr)

    def test_agent_auth(self):
        sock = os.path.join(self.tmp, "agent.sock")
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(sock) and time.monotonic() < deadline:
                time.sleep(0.02)
            env = self.env(SSH_AUTH_SOCK=sock)
            subprocess.run(["ssh-add", "-q", self.key], check=True, env=env, capture_output=True)
            out = self.ssh(self.host, "--", "echo via-agent", env=env, key=False)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, b"via-agent\n")
            refused = self.ssh("--no-agent", self.host, "--", "true", env=env, key=False)
            self.assertEqual(refused.returncode, 255)
        finally:
            agent.terminate()
            agent.wait(timeout=10)

    def test_encrypted_key_with_passphrase_env(self):
        locked = keygen(os.path.join(self.tmp, "id_locked"), passphrase="s3cret phrase")
        with open(self.authorized, "a") as f, open(locked + ".pub") as pub:
            f.write(pub.read())
        env = self.env(KEY_PASS="s3cret phrase")
        out = self.ssh("-i", locked, "--passphrase-env", "KEY_PASS", self.host, "--", "echo unlocked",
                       env=env, key=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"unlocked\n")
        wrong = self.ssh("-i", locked, "--passphrase-env", "KEY_PASS", self.host, "--", "true",
                         env=self.env(KEY_PASS="nope"), key=False)
        self.assertEqual(wrong.returncode, 255)
        self.assertIn(b"cannot load", wrong.stderr)

    # --- no way of ending leaves the command running ---------------------------------------

    def start_remote(self, marker, *extra, stdin=subprocess.PIPE, hosts=None, count=1):
        """Starts ssh-exec running `sleep MARKER` and returns it once the remote sleep runs."""
        argv = [NETLAB, "ssh-exec", "--known-hosts", self.known, "-i", self.key, *extra,
                *(hosts or [self.host]), "--", f"sleep {marker}"]
        proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env())
        try:
            wait_for_remote(f"sleep {marker}", count)
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
        return proc, argv

    def assert_nothing_left(self, marker):
        """Neither the command nor the watchdog that ran it (its command line holds the marker)."""
        assert_no_remote_process(self, f"sleep {marker}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and remote_any(marker):
            time.sleep(0.05)
        self.assertEqual(remote_any(marker), [], "processes of the command still running")

    def test_every_way_of_ending_stops_the_remote_command(self):
        # Two ways to run the command: stdin forwarded to it (the watchdog follows the sshd
        # session) and -n (the watchdog also takes signal names on the channel). sshd refuses SSH
        # signal requests for root, as here, so these show the watchdog at work.
        endings = [
            ("timeout", ["--timeout", "1"], None, 124),
            ("SIGINT", [], signal.SIGINT, 130),
            ("SIGTERM", [], signal.SIGTERM, 143),
            ("SIGHUP", [], signal.SIGHUP, 129),
            ("SIGQUIT", [], signal.SIGQUIT, 131),
            ("SIGKILL", [], signal.SIGKILL, -signal.SIGKILL),
            ("dropped", [], "drop", 255),
        ]
        for mode in ([], ["-n"]):
            for name, extra, how, code in endings:
                with self.subTest(mode=mode, ending=name):
                    marker = f"3{len(mode)}{len(name)}{code % 97}.{os.getpid()}"
                    proc, argv = self.start_remote(marker, *mode, *extra)
                    if how == "drop":
                        kill_session_of(f"sleep {marker}")
                    elif how is not None:
                        proc.send_signal(how)
                    out, err = proc.communicate(timeout=60)
                    check_sanitizers(err.decode(errors="replace"), " ".join(argv))
                    self.assertEqual(proc.returncode, code, err)
                    if how not in (None, "drop", signal.SIGKILL):
                        self.assertEqual(len(err.decode().splitlines()), 1, err)
                        self.assertIn(f"SIG{how.name[3:]}".encode(), err)
                    self.assert_nothing_left(marker)

    def test_normal_end_leaves_no_watchdog(self):
        for mode in ([], ["-n"]):
            marker = f"0.{os.getpid()}{len(mode)}1"
            out = self.ssh(*mode, self.host, "--", f"sleep {marker}; echo done; exit 3")
            self.assertEqual(out.returncode, 3, out.stderr)
            self.assertEqual(out.stdout, b"done\n")
            self.assertEqual(out.stderr, b"")
            self.assert_nothing_left(marker)

    # --- secrets --------------------------------------------------------------------------

    def test_password_file_readable_by_others_is_refused(self):
        # Like ssh with a private key: a password file group or others may read is refused
        # before any connection, on one line, exit 255 (ssh-exec's usage status); a 0600 file is read.
        folder = tempfile.mkdtemp(dir=self.tmp)
        path = os.path.join(folder, "password")
        with open(path, "w") as f:
            f.write("hunter2\n")
        for mode in (0o644, 0o640, 0o604, 0o620, 0o660):
            os.chmod(path, mode)
            out = self.ssh("--password-file", path, self.host, "--", "echo should-not-run")
            self.assertEqual(out.returncode, 255, (oct(mode), out.stderr))
            self.assertEqual(out.stdout, b"")
            lines = out.stderr.decode().splitlines()
            self.assertEqual(len(lines), 1, out.stderr)
            self.assertIn(path, lines[0])
            self.assertIn(f"permissions {mode:04o} are too open", lines[0])
        os.chmod(path, 0o600)
        out = self.ssh("--password-file", path, self.host, "--", "echo ran")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"ran\n")
        # A FIFO or a folder under the name is refused, not waited on.
        fifo = os.path.join(folder, "fifo")
        os.mkfifo(fifo, 0o600)
        for bad in (fifo, folder):
            out = self.ssh("--password-file", bad, self.host, "--", "true", timeout=30)
            self.assertEqual(out.returncode, 255, (bad, out.stderr))

    def test_password_env_is_removed_from_our_environment(self):
        # Once read, the password is gone from netlab's environment: nothing it starts sees it,
        # and /proc/PID/environ (what `ps e` shows other users' tools) no longer holds it.
        secret = "pw-" + os.urandom(8).hex()
        marker = "71.3125"
        argv = [NETLAB, "ssh-exec", "--known-hosts", self.known, "-i", self.key, "--password-env", "NETLAB_PW",
                self.host, "--", f"sleep {marker}"]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=self.env(NETLAB_PW=secret))
        try:
            wait_for_remote(f"sleep {marker}", 1)
            with open(f"/proc/{proc.pid}/environ", "rb") as f:
                environ = f.read()
            self.assertNotIn(secret.encode(), environ)
            self.assertIn(b"HOME=", environ)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        check_sanitizers(err.decode(errors="replace"), " ".join(argv))
        assert_no_remote_process(self, f"sleep {marker}")

    # --- host keys ------------------------------------------------------------------------

    def test_unknown_host_refused_with_fingerprint(self):
        known = os.path.join(self.tmp, "unknown", "known_hosts")
        out = self.ssh(self.host, "--", "true", known=known)
        self.assertEqual(out.returncode, 255)
        text = out.stderr.decode()
        self.assertEqual(len(text.splitlines()), 1, text)
        self.assertIn(fingerprint(self.sshd.host_key + ".pub"), text)
        self.assertIn("--accept-new", text)
        self.assertFalse(os.path.exists(known))

    def test_accept_new_adds_then_checks(self):
        known = os.path.join(self.tmp, "fresh", "known_hosts")
        out = self.ssh("--accept-new", self.host, "--", "echo first", known=known)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"first\n")
        self.assertIn(fingerprint(self.sshd.host_key + ".pub"), out.stderr.decode())
        with open(known) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith(f"[127.0.0.1]:{self.sshd.port} ssh-ed25519 "), lines)
        again = self.ssh(self.host, "--", "echo second", known=known)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stderr, b"")

    def test_hashed_known_hosts_entry(self):
        known = os.path.join(self.tmp, "hashed_known_hosts")
        with open(known, "w") as f:
            f.write(self.sshd.known_hosts_line())
        subprocess.run(["ssh-keygen", "-q", "-H", "-f", known], check=True, capture_output=True)
        with open(known) as f:
            self.assertTrue(f.read().startswith("|1|"))
        out = self.ssh(self.host, "--", "true", known=known)
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_changed_host_key_refused_even_with_accept_new(self):
        other = keygen(os.path.join(self.tmp, "other_host_key"))
        with open(other + ".pub") as f:
            kind, blob = f.read().split()[:2]
        known = os.path.join(self.tmp, "changed_known_hosts")
        with open(known, "w") as f:
            f.write(f"[127.0.0.1]:{self.sshd.port} {kind} {blob}\n")
        for extra in ([], ["--accept-new"]):
            out = self.ssh(*extra, self.host, "--", "echo should-not-run", known=known)
            self.assertEqual(out.returncode, 255, extra)
            self.assertEqual(out.stdout, b"")
            text = out.stderr.decode()
            self.assertIn("HOST KEY CHANGED", text)
            self.assertIn(fingerprint(self.sshd.host_key + ".pub"), text)
        with open(known) as f:
            self.assertEqual(len(f.read().splitlines()), 1)

    # --- connection failures --------------------------------------------------------------

    def test_silent_host_times_out(self):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(16)
            port = listener.getsockname()[1]
            started = time.monotonic()
            out = self.ssh("--connect-timeout", "1", f"127.0.0.1:{port}", "--", "true")
            elapsed = time.monotonic() - started
        self.assertEqual(out.returncode, 255, out.stderr)
        self.assertLess(elapsed, 10)
        self.assertRegex(out.stderr.decode(), r"^netlab: ssh-exec: connect \S+@127\.0\.0\.1:\d+: ")

    def test_refused_port_is_255(self):
        out = self.ssh(f"127.0.0.1:{free_port()}", "--", "true")
        self.assertEqual(out.returncode, 255)
        self.assertEqual(len(out.stderr.decode().splitlines()), 1, out.stderr)

    def test_usage_errors(self):
        for args in ([self.host], ["--", "true"], ["user@", "--", "true"], ["--port", "0", self.host, "--", "true"],
                     ["--password-env", "NETLAB_TEST_UNSET_VAR", self.host, "--", "true"],
                     [self.host, "-i", self.key, "--", "true"]):
            out = self.ssh(*args)
            self.assertEqual(out.returncode, 255, (args, out.stderr))  # as ssh and GNU parallel
            self.assertEqual(len(out.stderr.decode().splitlines()), 1, out.stderr)

    # --- many hosts -----------------------------------------------------------------------

    def test_twenty_parallel_sessions_json(self):
        hosts_file = os.path.join(self.tmp, "hosts20")
        with open(hosts_file, "w") as f:
            f.write("# twenty sessions to one sshd\n")
            for i in range(20):
                f.write(f"{self.host}  # session {i}\n")
        # A barrier on the remote side: each command waits until all 20 have started, so the
        # count printed is 20 only if the sessions really ran at once (timing would be flaky on a
        # loaded machine; this is not).
        barrier = tempfile.mkdtemp(dir=self.tmp)
        script = (f"touch {barrier}/$$; echo err-$$ >&2; i=0; "
                  f"while [ $(ls {barrier} | wc -l) -lt 20 ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i+1)); done; "
                  f"ls {barrier} | wc -l")
        out = self.ssh("--hosts-file", hosts_file, "-j", "20", "--json", "--", script, timeout=240)
        self.assertEqual(out.returncode, 0, out.stderr)
        objects = [json.loads(line) for line in out.stdout.decode().splitlines()]
        self.assertEqual(len(objects), 20)
        pids = set()
        for o in objects:
            self.assertEqual(o["exit"], 0, o)
            self.assertEqual(o["host"], self.host)
            # Only the last line: root's shell start-up files may chatter under contention.
            self.assertEqual(o["stdout"].splitlines()[-1].strip(), "20", o)
            pid = re.search(r"err-(\d+)\n$", o["stderr"])
            self.assertIsNotNone(pid, o)
            self.assertIsNone(o["error"])
            self.assertIsNone(o["signal"])
            pids.add(pid.group(1))
        self.assertEqual(len(pids), 20)

    def test_grouped_and_tagged_output_never_interleave(self):
        hosts = [self.host] * 6
        script = "for i in 1 2 3 4 5; do echo line-$i; sleep 0.05; done"
        grouped = self.ssh("-j", "6", *hosts, "--", script)
        self.assertEqual(grouped.returncode, 0, grouped.stderr)
        lines = grouped.stdout.decode().splitlines()
        self.assertEqual(len(lines), 6 * 6)
        for block in range(6):
            chunk = lines[block * 6:(block + 1) * 6]
            self.assertEqual(chunk[0], f"--- {self.host}: exit 0 ---")
            self.assertEqual(chunk[1:], [f"line-{i}" for i in range(1, 6)])

        tagged = self.ssh("--tag", "-j", "6", *hosts, "--", script + "; printf partial")
        self.assertEqual(tagged.returncode, 0, tagged.stderr)
        lines = tagged.stdout.decode().splitlines()
        self.assertEqual(len(lines), 6 * 6)
        for line in lines:
            self.assertRegex(line, rf"^{self.host}: (line-[1-5]|partial)$")

    def test_failed_hosts_are_counted(self):
        dead = f"127.0.0.1:{free_port()}"
        out = self.ssh("--json", self.host, dead, dead, self.host, "--", "exit 3")
        self.assertEqual(out.returncode, 4, out.stderr)
        objects = [json.loads(line) for line in out.stdout.decode().splitlines()]
        self.assertEqual(sorted(o["exit"] for o in objects), [3, 3, 255, 255])
        for o in objects:
            if o["exit"] == 255:
                self.assertIn("connect", o["error"])

        mixed = self.ssh(self.host, dead, "--", "true")
        self.assertEqual(mixed.returncode, 1)
        self.assertIn(f"netlab: ssh-exec: {dead}: connect".encode(), mixed.stderr)
        self.assertIn(b"1 of 2 hosts failed", mixed.stderr)

    def test_many_hosts_summary_exit_codes_joblog_and_json(self):
        # Many hosts run on pool-run's scheduler: GNU parallel's exit codes, a summary naming
        # each failed host and why, --joblog, and --json with the signal as a name.
        dead = f"127.0.0.1:{free_port()}"
        other = f"127.0.0.1:{self.sshd.port}"  # the same sshd under another label, as root via -l
        joblog = os.path.join(tempfile.mkdtemp(dir=self.tmp), "hosts.tsv")
        script = 'case "$SSH_CONNECTION" in *) exit 3;; esac'
        out = self.ssh("-l", "root", "--joblog", joblog, self.host, dead, other, "--", "exit 3")
        self.assertEqual(out.returncode, 3, out.stderr)
        err = out.stderr.decode().splitlines()
        self.assertIn("netlab: ssh-exec: 3 of 3 hosts failed:", err)
        self.assertIn(f"netlab: ssh-exec: {self.host}: exit 3", err)
        self.assertIn(f"netlab: ssh-exec: {other}: exit 3", err)
        self.assertTrue(any(line.startswith(f"netlab: ssh-exec: {dead}: connect ") and "refused" in line.lower()
                            for line in err), err)
        with open(joblog) as f:
            rows = [line.rstrip("\n").split("\t") for line in f]
        self.assertEqual(rows[0][:3], ["Seq", "Host", "Starttime"])
        self.assertEqual(sorted((r[1], r[6]) for r in rows[1:]),
                         sorted([(self.host, "3"), (dead, "255"), (other, "3")]))

        unreachable = self.ssh(dead, f"127.0.0.1:{free_port()}", "--", "true")
        self.assertEqual(unreachable.returncode, 255, unreachable.stderr)

        killed = self.ssh("--json", self.host, self.host, "--", "kill -TERM $$")
        self.assertEqual(killed.returncode, 2, killed.stderr)
        for o in map(json.loads, killed.stdout.decode().splitlines()):
            self.assertEqual(o["signal"], "TERM", o)
            self.assertEqual(o["exit"], 128 + signal.SIGTERM, o)
        del script

    def test_many_hosts_every_way_of_ending_stops_every_command(self):
        hosts = [self.host] * 3
        for name, extra, how, code in (("timeout", ["--timeout", "1"], None, 3),
                                       ("SIGINT", [], signal.SIGINT, 130),
                                       ("SIGTERM", [], signal.SIGTERM, 143),
                                       ("SIGHUP", [], signal.SIGHUP, 129),
                                       ("SIGQUIT", [], signal.SIGQUIT, 131),
                                       ("SIGKILL", [], signal.SIGKILL, -signal.SIGKILL)):
            with self.subTest(ending=name):
                marker = f"4{len(name)}{code % 97}.{os.getpid()}"
                proc, argv = self.start_remote(marker, *extra, hosts=hosts, count=3)
                if how is not None:
                    proc.send_signal(how)
                out, err = proc.communicate(timeout=60)
                check_sanitizers(err.decode(errors="replace"), " ".join(argv))
                self.assertEqual(proc.returncode, code, err)
                if how not in (None, signal.SIGKILL):
                    self.assertIn(f"interrupted by {name}".encode(), err)
                self.assert_nothing_left(marker)

    # --- SFTP -----------------------------------------------------------------------------

    def test_sftp_put_get_50mb_file(self):
        work = tempfile.mkdtemp(dir=self.tmp)
        local = os.path.join(work, "big.bin")
        with open(local, "wb") as f:
            f.write(os.urandom(50 << 20))
        os.chmod(local, 0o640)
        remote_dir = tempfile.mkdtemp(dir=self.tmp)
        remote = os.path.join(remote_dir, "uploaded.bin")
        back = os.path.join(work, "back.bin")
        out = self.ssh("--put", local, remote, "--get", remote, back, self.host, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        digest = sha256_file(local)
        self.assertEqual(sha256_file(remote), digest)
        self.assertEqual(sha256_file(back), digest)
        self.assertEqual(os.stat(remote).st_mode & 0o777, 0o640)
        self.assertEqual(os.stat(back).st_mode & 0o777, 0o640)
        self.assertEqual([n for n in os.listdir(work) if "partial" in n], [])

    def test_sftp_odd_names_and_fallbacks(self):
        # Transfers keep many requests in flight on SFTP channels of netlab's own (a large
        # download spreads over several), and the host hashes its copy. Each has a fallback,
        # checked here on servers that force them: a host whose commands find no hashing tool
        # (verified by reading the file back), one that allows a single channel per connection
        # (libssh's SFTP client for everything, and read-back too, since no command channel can
        # open beside it), and one that allows three (fewer download channels than wanted). The
        # names look like options and hold quotes, so they must reach the remote tools intact.
        bare = Sshd(self.tmp, self.authorized, extra_config="SetEnv PATH=/nonexistent\n")
        self.addCleanup(bare.close)
        single = Sshd(self.tmp, self.authorized, extra_config="MaxSessions 1\n")
        self.addCleanup(single.close)
        few = Sshd(self.tmp, self.authorized, extra_config="MaxSessions 3\n")
        self.addCleanup(few.close)
        known = os.path.join(tempfile.mkdtemp(dir=self.tmp), "known_hosts")
        with open(known, "w") as f:
            f.write("".join(s.known_hosts_line() for s in (self.sshd, bare, single, few)))
        bare_host = f"root@127.0.0.1:{bare.port}"
        path = self.ssh(bare_host, "--", "echo $PATH", known=known)
        self.assertEqual(path.stdout, b"/nonexistent\n", path.stderr)

        work = tempfile.mkdtemp(dir=self.tmp)
        local = os.path.join(work, "-odd 'name'.bin")
        with open(local, "wb") as f:
            f.write(os.urandom((9 << 20) + 12345))  # not a whole number of chunks
        os.chmod(local, 0o604)
        digest = sha256_file(local)
        for host in (self.host, bare_host, f"root@127.0.0.1:{single.port}", f"root@127.0.0.1:{few.port}"):
            with self.subTest(host=host):
                remote = os.path.join(tempfile.mkdtemp(dir=self.tmp), "-copy 'of' it.bin")
                back = os.path.join(work, f"back-{host.rsplit(':', 1)[1]}.bin")
                out = self.ssh("--put", local, remote, "--get", remote, back, host, known=known)
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertEqual(sha256_file(remote), digest)
                self.assertEqual(sha256_file(back), digest)
                self.assertEqual(os.stat(remote).st_mode & 0o777, 0o604)

    def test_sftp_put_failures_are_reported(self):
        work = tempfile.mkdtemp(dir=self.tmp)
        local = os.path.join(work, "data.bin")
        with open(local, "wb") as f:
            f.write(os.urandom(1 << 20))
        missing = os.path.join(self.tmp, "no-such-folder", "data.bin")
        out = self.ssh("--put", local, missing, self.host)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn(f"put {local}: open {missing}: no such file or directory".encode(), out.stderr)
        # A file where a folder should be: the server refuses the open, and says so.
        not_a_folder = os.path.join(tempfile.mkdtemp(dir=self.tmp), "plain")
        open(not_a_folder, "w").close()
        out = self.ssh("--put", local, os.path.join(not_a_folder, "data.bin"), self.host)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn(f"put {local}: open {not_a_folder}/data.bin: ".encode(), out.stderr)

    def test_sftp_progress_line_on_a_terminal(self):
        import pty
        work = tempfile.mkdtemp(dir=self.tmp)
        local = os.path.join(work, "sparse.bin")
        with open(local, "wb") as f:
            f.truncate(100 << 20)  # long enough for several redraws, instant to make
        remote = os.path.join(tempfile.mkdtemp(dir=self.tmp), "copy.bin")
        master, slave = pty.openpty()
        argv = [NETLAB, "ssh-exec", "--known-hosts", self.known, "-i", self.key, "--put", local, remote,
                self.host, "--", "echo", "after"]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                                env=self.env())
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO once the last writer closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        out, _ = proc.communicate(timeout=120)
        os.close(master)
        check_sanitizers(seen.decode(errors="replace"), " ".join(argv))
        self.assertEqual(proc.returncode, 0, seen)
        self.assertEqual(out, b"after\n")
        self.assertIn(b"\r\x1b[Ksftp: [", seen)
        self.assertIn(b"104.9 MB", seen)  # the total of the upload
        # The last line drawn is erased before the command runs.
        self.assertTrue(seen.endswith(b"\r\x1b[K"), seen[-200:])

        # Not a terminal, or --no-progress: no status at all.
        quiet = self.ssh("--put", local, remote, self.host, timeout=120)
        self.assertEqual(quiet.returncode, 0, quiet.stderr)
        self.assertNotIn(b"sftp:", quiet.stderr)

    def test_sftp_folder_recursive(self):
        work = tempfile.mkdtemp(dir=self.tmp)
        src = os.path.join(work, "tree")
        os.makedirs(os.path.join(src, "a", "b"))
        os.makedirs(os.path.join(src, "empty"))
        for i, rel in enumerate(["top.txt", "a/one.bin", "a/b/two.bin", "a/b/script.sh"]):
            with open(os.path.join(src, rel), "wb") as f:
                f.write(os.urandom(1000 * (i + 1) * 37))
        os.chmod(os.path.join(src, "a/b/script.sh"), 0o755)
        remote_parent = tempfile.mkdtemp(dir=self.tmp)
        # An existing remote folder receives the source under its own name, like scp.
        out = self.ssh("-r", "--put", src, remote_parent, self.host, "--", "echo done")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"done\n")
        self.assertEqual(tree_digest(os.path.join(remote_parent, "tree")), tree_digest(src))

        back = os.path.join(work, "back")
        got = self.ssh("-r", "--get", os.path.join(remote_parent, "tree"), back, self.host)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(tree_digest(back), tree_digest(src))

        no_r = self.ssh("--put", src, remote_parent, self.host)
        self.assertEqual(no_r.returncode, 1)
        self.assertIn(b"is a directory (use -r)", no_r.stderr)

    def test_sftp_get_many_hosts_and_failed_get_keeps_file(self):
        work = tempfile.mkdtemp(dir=self.tmp)
        remote = os.path.join(work, "remote.txt")
        with open(remote, "w") as f:
            f.write("from the host\n")
        other = f"127.0.0.1:{self.sshd.port}"
        out_dir = os.path.join(work, "collected")
        out = self.ssh("-l", "root", "--get", remote, out_dir, self.host, other)
        self.assertEqual(out.returncode, 0, out.stderr)
        for label in (self.host, other):
            with open(os.path.join(out_dir, label, "remote.txt")) as f:
                self.assertEqual(f.read(), "from the host\n")

        good = os.path.join(work, "good.txt")
        with open(good, "w") as f:
            f.write("keep me\n")
        missing = self.ssh("--get", os.path.join(work, "nope"), good, self.host)
        self.assertEqual(missing.returncode, 1)
        self.assertIn(b"no such file", missing.stderr)
        with open(good) as f:
            self.assertEqual(f.read(), "keep me\n")
        self.assertEqual([n for n in os.listdir(work) if "partial" in n], [])


if __name__ == "__main__":
    main()
