"""pool-run --ssh against two OpenSSH sshd instances on two ports of 127.0.0.1 (two "hosts").

Each remote job prints the port of the sshd that ran it (from $SSH_CONNECTION), so the tests can
tell where every job went and compare that with the joblog's Host column. The netlab process
gets a temporary HOME and no SSH_AUTH_SOCK; nothing outside the temporary folder is touched.
"""
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from netlab_test import NETLAB, check_sanitizers, free_port, main
from sshd_fixture import SshLab, fingerprint, keygen, kill_session_of, remote_any

# Prints the job's input and the port of the sshd that ran it.
# "$1": with --shell the inputs are the script's positional parameters, remotely too ({} may not
# stand inside double quotes).
WHERE = 'echo "$1 ${SSH_CONNECTION##* }"'


def read_joblog(path):
    with open(path) as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    header, body = rows[0], rows[1:]
    return [dict(zip(header, row)) for row in body]


class PoolRunSshTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = lab = SshLab("netlab-pool-ssh-", count=2)
        cls.tmp, cls.home, cls.key, cls.authorized, cls.known = lab.tmp, lab.home, lab.key, lab.authorized, lab.known
        cls.sshd, cls.hosts = lab.sshd, lab.hosts

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def env(self):
        return self.lab.env()

    def argv(self, *args, hosts=None, known=None, key=None):
        opts = ["--known-hosts", known or self.known, "--ssh-identity", key or self.key, "--no-progress"]
        for host in self.hosts if hosts is None else hosts:
            opts += ["--ssh", host]
        return [NETLAB, "pool-run", *opts, *map(str, args)]

    def pool(self, *args, timeout=120, **kw):
        argv = self.argv(*args, **kw)
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, env=self.env(), stdin=subprocess.DEVNULL)
        check_sanitizers(proc.stderr.decode(errors="replace"), " ".join(argv))
        return proc

    def ports(self):
        return {str(s.port) for s in self.sshd}

    def test_jobs_spread_over_both_hosts_with_joblog_host_column(self):
        joblog = os.path.join(self.tmp, "spread.tsv")
        inputs = [str(i) for i in range(1, 41)]
        # Each job lasts long enough that one session cannot take them all.
        proc = self.pool("-j", "2", "-k", "--shell", "--joblog", joblog, "--", WHERE + "; sleep 0.2", ":::", *inputs)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.decode().splitlines()
        self.assertEqual([line.split()[0] for line in lines], inputs)  # -k: input order, each once
        where = {line.split()[0]: line.split()[1] for line in lines}
        self.assertEqual(set(where.values()), self.ports())  # both hosts did work
        rows = read_joblog(joblog)
        self.assertEqual(sorted(int(r["Seq"]) for r in rows), list(range(1, 41)))
        for row in rows:
            port = where[str(row["Seq"])]
            self.assertEqual(row["Host"], f"root@127.0.0.1:{port}", row)
            self.assertEqual(row["Exitval"], "0")

    def test_exit_codes_and_stream_separation(self):
        proc = self.pool("-k", "--shell", "--", "echo out {}; echo err {} >&2; exit {}", ":::", "0", "3", "0", "5")
        self.assertEqual(proc.returncode, 2, proc.stderr)  # two jobs failed
        self.assertEqual(proc.stdout, b"out 0\nout 3\nout 0\nout 5\n")
        self.assertEqual(sorted(proc.stderr.decode().splitlines()), ["err 0", "err 0", "err 3", "err 5"])

    def test_arguments_reach_the_remote_command_verbatim(self):
        tricky = ["a b", "it's", "$HOME", "*", "x;y", "back\\slash", "\"quoted\""]
        proc = self.pool("-k", "--", "printf", "%s|\\n", "{}", ":::", *tricky)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.decode().splitlines(), [t + "|" for t in tricky])

    def test_json_has_host(self):
        proc = self.pool("-k", "--json", "--", "echo", "{}", ":::", "x", "y", hosts=self.hosts[:1])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        objects = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        self.assertEqual([o["stdout"] for o in objects], ["x\n", "y\n"])
        self.assertEqual({o["host"] for o in objects}, {self.hosts[0]})

    def test_large_output_is_whole(self):
        proc = self.pool("--", "seq", "1", "{}", ":::", "200000", hosts=self.hosts[:1])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "".join(f"{i}\n" for i in range(1, 200001)).encode())

    def test_dead_host_jobs_go_to_the_live_one(self):
        dead = f"root@127.0.0.1:{free_port()}"
        joblog = os.path.join(self.tmp, "dead.tsv")
        proc = self.pool("-j", "2", "-k", "--shell", "--joblog", joblog, "--", WHERE, ":::", *map(str, range(1, 11)),
                         hosts=[dead, self.hosts[0]])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([line.split() for line in proc.stdout.decode().splitlines()],
                         [[str(i), str(self.sshd[0].port)] for i in range(1, 11)])
        err = proc.stderr.decode()
        # Reported on one line, not once per session or job.
        self.assertEqual(len([line for line in err.splitlines() if dead in line]), 1, err)
        self.assertIn("other hosts", err)
        self.assertEqual({r["Host"] for r in read_joblog(joblog)}, {self.hosts[0]})

    def test_no_reachable_host_fails_every_job_with_255(self):
        joblog = os.path.join(self.tmp, "none.tsv")
        dead = [f"root@127.0.0.1:{free_port()}", f"root@127.0.0.1:{free_port()}"]
        proc = self.pool("--joblog", joblog, "--", "true", ":::", "1", "2", "3", hosts=dead, timeout=60)
        # GNU parallel's convention (issue 13/15): every host unreachable is 255, said once.
        self.assertEqual(proc.returncode, 255, proc.stderr)
        self.assertEqual(proc.stderr.count(b"no SSH host is reachable"), 1, proc.stderr)
        self.assertNotIn(b"other hosts", proc.stderr.splitlines()[-2])
        self.assertEqual([r["Exitval"] for r in read_joblog(joblog)], ["255"] * 3)

    def test_wrong_key_is_refused(self):
        wrong = keygen(os.path.join(tempfile.mkdtemp(dir=self.tmp), "id_wrong"))
        proc = self.pool("--", "true", ":::", "1", "2", hosts=self.hosts[:1], key=wrong)
        self.assertEqual(proc.returncode, 255, proc.stderr)  # no host reachable
        self.assertIn(b"auth", proc.stderr.lower())

    def test_unknown_host_refused_then_accept_new(self):
        known = os.path.join(tempfile.mkdtemp(dir=self.tmp), "known_hosts")
        open(known, "w").close()
        proc = self.pool("--", "true", ":::", "1", hosts=self.hosts[:1], known=known)
        self.assertEqual(proc.returncode, 255, proc.stderr)  # no host reachable
        self.assertIn(fingerprint(self.sshd[0].host_key + ".pub").encode(), proc.stderr)

        proc = self.pool("--accept-new", "--", "echo", "ok", ":::", "1", hosts=self.hosts[:1], known=known)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, b"ok 1\n")
        with open(known) as f:
            self.assertIn(str(self.sshd[0].port), f.read())

    def test_timeout_kills_the_remote_command(self):
        marker = "47.125"  # an unusual sleep length, to find the remote process by
        started = time.monotonic()
        proc = self.pool("--timeout", "1", "--", "sleep", ":::", marker, hosts=self.hosts[:1], timeout=60)
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(b"timed out", proc.stderr)
        self.assert_no_remote_process(f"sleep {marker}")

    def test_timeout_kills_a_job_that_ignores_term(self):
        marker = "59.625"
        proc = self.pool("--timeout", "1", "--shell", "--", f"trap '' TERM; sleep {{}}", ":::", marker,
                         hosts=self.hosts[:1], timeout=60)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assert_no_remote_process(f"sleep {marker}")

    def test_lost_connection_stops_the_remote_command(self):
        # netlab killed outright cannot signal anything: the closed connection alone must do it.
        marker = "61.875"
        argv = self.argv("--", "sleep", ":::", marker, hosts=self.hosts[:1])
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env(),
                                stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.remote_count(f"sleep {marker}") < 1:
            time.sleep(0.1)
        self.assertEqual(self.remote_count(f"sleep {marker}"), 1)
        proc.kill()
        proc.wait(timeout=10)
        self.assert_no_remote_process(f"sleep {marker}")

    def test_interrupt_stops_remote_jobs(self):
        marker = "53.375"
        argv = self.argv("-j", "2", "--", "sleep", ":::", *[marker] * 4, hosts=self.hosts)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env(),
                                stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.remote_count(f"sleep {marker}") < 4:
            time.sleep(0.1)
        self.assertEqual(self.remote_count(f"sleep {marker}"), 4)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        check_sanitizers(err.decode(errors="replace"), "pool-run --ssh interrupted")
        self.assertEqual(proc.returncode, 130, err)
        self.assert_no_remote_process(f"sleep {marker}")

    def test_every_way_of_ending_stops_remote_jobs(self):
        # TERM and HUP like INT (test_interrupt_stops_remote_jobs), each with its shell status;
        # a dropped connection (sshd's session process killed) fails that job, and the
        # watchdog, not netlab, stops the command. Nothing of a job is left: not the command,
        # not the watchdog whose command line holds the same words.
        for name, how, code in (("SIGTERM", signal.SIGTERM, 143), ("SIGHUP", signal.SIGHUP, 129),
                                ("dropped", "drop", 1), ("normal", None, 0)):
            with self.subTest(ending=name):
                marker = f"{len(name)}{code}.{os.getpid()}"
                count = 1 if how in ("drop", None) else 4
                sleep = marker if how is not None else f"0.{os.getpid()}{len(name)}"
                argv = self.argv("-j", "2", "--", "sleep", ":::", *[sleep] * count, hosts=self.hosts)
                proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env(),
                                        stdin=subprocess.DEVNULL)
                if how is not None:
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and self.remote_count(f"sleep {sleep}") < count:
                        time.sleep(0.05)
                    self.assertEqual(self.remote_count(f"sleep {sleep}"), count)
                if how == "drop":
                    kill_session_of(f"sleep {sleep}")
                elif how is not None:
                    proc.send_signal(how)
                out, err = proc.communicate(timeout=60)
                check_sanitizers(err.decode(errors="replace"), " ".join(argv))
                self.assertEqual(proc.returncode, code, err)
                if how not in ("drop", None):
                    self.assertIn(f"interrupted by {name}".encode(), err)
                self.assert_no_remote_process(f"sleep {sleep}")
                self.assertEqual(remote_any(f"sleep {sleep}"), [])

    def remote_count(self, pattern):
        found = subprocess.run(["pgrep", "-f", "-x", pattern], capture_output=True, text=True)
        return len(found.stdout.split())

    def assert_no_remote_process(self, pattern):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.remote_count(pattern) > 0:
            time.sleep(0.1)
        self.assertEqual(self.remote_count(pattern), 0, f"'{pattern}' still running")

    def test_ssh_client_options_shared_with_ssh_exec(self):
        # -l, -p, -F, --no-agent and --password-file mean what they mean in ssh-exec.
        port = self.sshd[0].port
        config = os.path.join(tempfile.mkdtemp(dir=self.tmp), "config")
        with open(config, "w") as f:
            f.write(f"Host lab\n  HostName 127.0.0.1\n  Port {port}\n")
        argv = [NETLAB, "pool-run", "--known-hosts", self.known, "-i", self.key, "--no-progress", "--no-agent",
                "-l", "root", "-p", str(port), "--ssh", "127.0.0.1", "--", "echo", ":::", "a"]
        proc = subprocess.run(argv, capture_output=True, env=self.env(), stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, b"a\n")
        argv = [NETLAB, "pool-run", "--known-hosts", self.known, "--ssh-identity", self.key, "-F", config,
                "-l", "root", "--ssh", "lab", "--", "echo", ":::", "b"]
        proc = subprocess.run(argv, capture_output=True, env=self.env(), stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, b"b\n")
        loose = os.path.join(tempfile.mkdtemp(dir=self.tmp), "pw")
        with open(loose, "w") as f:
            f.write("x\n")
        os.chmod(loose, 0o644)
        proc = self.pool("--password-file", loose, "--", "true", ":::", "1", hosts=self.hosts[:1])
        self.assertEqual(proc.returncode, 255, proc.stderr)
        self.assertIn(b"too open", proc.stderr)
        proc = subprocess.run([NETLAB, "pool-run", "-l", "root", "--", "true", ":::", "1"], capture_output=True)
        self.assertEqual(proc.returncode, 255)
        self.assertIn(b"only with --ssh", proc.stderr)

    def test_usage_errors(self):
        proc = subprocess.run([NETLAB, "pool-run", "--ssh", "root@", "--", "true", ":::", "1"], capture_output=True)
        self.assertEqual(proc.returncode, 255)
        empty = os.path.join(self.tmp, "empty-hosts")
        with open(empty, "w") as f:
            f.write("# nothing here\n")
        proc = subprocess.run([NETLAB, "pool-run", "--ssh-hosts-file", empty, "--", "true", ":::", "1"],
                              capture_output=True)
        self.assertEqual(proc.returncode, 255)
        self.assertIn(b"no hosts", proc.stderr)


if __name__ == "__main__":
    main()
