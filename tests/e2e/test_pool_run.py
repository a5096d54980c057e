"""End-to-end tests for `netlab pool-run`: the real binary running real child processes."""
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from netlab_test import NETLAB, main, process_stat, process_stats, run  # noqa: E402


def pool(*args, **kwargs):
    return run("pool-run", *args, **kwargs)


def lines(data):
    return data.decode().splitlines()


def joblog_rows(path):
    """The joblog's rows (header dropped) as lists of columns, in Seq order."""
    with open(path) as f:
        rows = [line.split("\t") for line in f.read().splitlines()[1:]]
    return sorted(rows, key=lambda row: int(row[0]))


def alive(pid):
    """True if `pid` exists and is not a zombie."""
    stat = process_stat(pid)
    return stat is not None and stat.state != "Z"


class PoolRunTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="netlab-pool-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def test_as_finished_and_keep_order(self):
        args = ["-j", "3", "--shell", "--", "sleep {}; echo {}", ":::", "0.6", "0.3", "0"]
        finished = pool(*args)
        self.assertEqual(finished.returncode, 0, finished.stderr)
        self.assertEqual(lines(finished.stdout), ["0", "0.3", "0.6"])
        ordered = pool("-k", *args)
        self.assertEqual(lines(ordered.stdout), ["0.6", "0.3", "0"])

    def test_no_interleaving_of_big_outputs(self):
        # Eight jobs print 10,000 lines each at the same time; one prints 3 MB and spills.
        proc = pool("-j", "8", "--", "seq", "-f", "job{}-%g", "10000", ":::", *map(str, range(1, 9)))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = lines(proc.stdout)
        self.assertEqual(len(out), 80000)
        blocks = [out[i:i + 10000] for i in range(0, 80000, 10000)]
        seen = set()
        for block in blocks:
            job = block[0].split("-")[0]
            self.assertEqual(block, [f"{job}-{n}" for n in range(1, 10001)])
            seen.add(job)
        self.assertEqual(len(seen), 8)
        # 2.7 MB from one job is past the in-memory limit: it goes through a temp file intact.
        big = pool("-j", "2", "-k", "--", "seq", ":::", "400000", "3")
        self.assertEqual(lines(big.stdout), [str(n) for n in range(1, 400001)] + ["1", "2", "3"])

    def test_stdout_and_stderr_stay_apart_and_tag(self):
        proc = pool("-k", "--tag", "--shell", "--", "echo out {}; echo err {} >&2", ":::", "a", "b c")
        self.assertEqual(lines(proc.stdout), ["a\tout a", "b c\tout b c"])
        self.assertEqual(lines(proc.stderr), ["a\terr a", "b c\terr b c"])

    def test_placeholders(self):
        proc = pool("-j", "1", "-k", "--", "echo", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}",
                    ":::", "d/x.tar.gz", "y")
        self.assertEqual(lines(proc.stdout), ["d/x.tar.gz d/x.tar x.tar.gz d x.tar 1 1", "y y y . y 2 1"])
        appended = pool("-k", "--", "echo", "in:", ":::", "a b", "c")
        self.assertEqual(lines(appended.stdout), ["in: a b", "in: c"])
        hostile = pool("--", "echo", "{}", ":::", "$(touch pwned); `x`")
        self.assertEqual(lines(hostile.stdout), ["$(touch pwned); `x`"])
        self.assertFalse(os.path.exists("pwned"))

    def test_cross_product_and_file_groups(self):
        proc = pool("-k", "--", "echo", "{2}{1}", ":::", "a", "b", ":::", "1", "2", "3")
        self.assertEqual(lines(proc.stdout), ["1a", "2a", "3a", "1b", "2b", "3b"])
        with open(self.path("list"), "w") as f:
            f.write("x\ny\n")
        from_file = pool("-k", "--", "echo", ":::", "1", "::::", self.path("list"))
        self.assertEqual(lines(from_file.stdout), ["1 x", "1 y"])

    def test_shell_script_with_a_quoted_dollar_one_still_gets_its_inputs(self):
        # awk's $1, in single quotes, was taken for the script's own: the file was not appended
        # and awk read /dev/null, printing nothing.
        with open(self.path("table"), "w") as f:
            f.write("a b\nc d\n")
        proc = pool("--shell", "--", "awk '{print $1}'", ":::", self.path("table"), check=True)
        self.assertEqual(lines(proc.stdout), ["a", "c"])
        proc = pool("--shell", "--", 'printf "[%s]" "$1"', ":::", "x y", check=True)
        self.assertEqual(proc.stdout, b"[x y]")

    def test_linked_groups(self):
        # GNU parallel's :::+ and ::::+ pair a group with the one before it, item by item, up to
        # the shorter one's length; ":::+" was taken as one more input of the group before.
        proc = pool("-k", "--", "echo", ":::", "a", "b", "c", ":::+", "1", "2", "3")
        self.assertEqual(lines(proc.stdout), ["a 1", "b 2", "c 3"])
        with open(self.path("list"), "w") as f:
            f.write("x\ny\nz\n")
        proc = pool("-k", "--", "echo", "{3}{2}{1}", ":::", "a", "b", ":::", "1", "2", "::::+", self.path("list"))
        self.assertEqual(lines(proc.stdout), ["x1a", "y2a", "x1b", "y2b"])
        proc = pool("-k", "--", "echo", ":::", "a", "b", "c", ":::+", "1", ":::", "p", "q")
        self.assertEqual(lines(proc.stdout), ["a 1 p", "a 1 q"])
        proc = pool("--", "echo", ":::+", "a")
        self.assertEqual(proc.returncode, 255)
        self.assertEqual(proc.stderr.decode(), "netlab: pool-run: ':::+' links its inputs to the group before it, "
                                               "and none comes before it\n")

    def test_stdin_lines_and_nul(self):
        proc = pool("-k", "--", "echo", input=b"one\ntwo\nthree")
        self.assertEqual(lines(proc.stdout), ["one", "two", "three"])
        nul = pool("-0", "-k", "--", "printf", "[%s]", input=b"a b\0c\nd\0")
        self.assertEqual(nul.stdout, b"[a b][c\nd]")
        # A pipe from a slow producer: jobs start before the input ends.
        producer = subprocess.Popen(["sh", "-c", "echo first; sleep 1; echo second"], stdout=subprocess.PIPE)
        started = time.monotonic()
        consumer = subprocess.Popen([NETLAB, "pool-run", "--shell", "--", "echo {} $(date +%s.%N)"],
                                    stdin=producer.stdout, stdout=subprocess.PIPE)
        producer.stdout.close()
        out, _ = consumer.communicate(timeout=30)
        producer.wait()
        stamps = dict(line.split() for line in lines(out))
        self.assertLess(float(stamps["second"]) - float(stamps["first"]), 5)
        self.assertGreater(float(stamps["second"]) - float(stamps["first"]), 0.5)
        self.assertLess(time.monotonic() - started, 20)

    def test_timeout_kills_group_even_when_term_is_ignored(self):
        started = time.monotonic()
        proc = pool("-j", "2", "--timeout", "0.5", "--joblog", self.path("log"), "--shell", "--",
                    "if [ {} = slow ]; then trap '' TERM; sleep 30 & wait; fi; echo {}", ":::", "slow", "fast")
        elapsed = time.monotonic() - started
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertLess(elapsed, 10)
        self.assertEqual(lines(proc.stdout), ["fast"])
        self.assertIn("job 1 timed out after 0.5 s", proc.stderr.decode())
        by_seq = {row[0]: row for row in joblog_rows(self.path("log"))}
        self.assertEqual(by_seq["1"][7], "9")  # KILL: TERM was ignored
        self.assertEqual(by_seq["2"][6], "0")

    def test_retries(self):
        counter = self.path("count")
        script = 'n=$(cat {} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {}; echo try $n; [ $n -ge 3 ]'
        proc = pool("--retries", "2", "--shell", "--", script, ":::", counter)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(lines(proc.stdout), ["try 3"])
        os.unlink(counter)
        once = pool("--retries", "1", "--shell", "--", script, ":::", counter)
        self.assertEqual(once.returncode, 1)
        self.assertEqual(lines(once.stdout), ["try 2"])

    def test_halt_soon_and_now(self):
        soon = pool("-j", "1", "--halt", "soon,fail=1", "--shell", "--", "echo {}; exit 1", ":::", "1", "2", "3")
        self.assertEqual(soon.returncode, 1)
        self.assertEqual(lines(soon.stdout), ["1"])
        self.assertIn("halting", soon.stderr.decode())
        started = time.monotonic()
        now = pool("-j", "3", "--halt", "now,fail=1", "--joblog", self.path("log"), "--shell", "--",
                   "if [ {} = 1 ]; then sleep 0.3; exit 1; fi; sleep 30", ":::", "1", "2", "3", "4")
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(now.returncode, 1, now.stderr)
        self.assertEqual([row[0] for row in joblog_rows(self.path("log"))], ["1", "2", "3"])
        success = pool("-j", "1", "--halt", "now,success=2", "--", "echo", ":::", "a", "b", "c", "d")
        self.assertEqual(lines(success.stdout), ["a", "b"])
        self.assertEqual(success.returncode, 0)

    def test_joblog_columns(self):
        proc = pool("-k", "--joblog", self.path("log"), "--", "sh", "-c", "exit {}", ":::", "0", "3")
        self.assertEqual(proc.returncode, 1)
        with open(self.path("log")) as f:
            header = f.readline()
        self.assertEqual(header, "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n")
        rows = joblog_rows(self.path("log"))
        self.assertEqual(len(rows), 2)
        for row in rows:
            self.assertEqual(len(row), 9)
            self.assertEqual(row[1], ":")
            self.assertRegex(row[2], r"^\d{10}\.\d{3}$")
            self.assertRegex(row[3], r"^ *\d+\.\d{3}$")
        self.assertEqual([row[6] for row in rows], ["0", "3"])
        self.assertEqual(rows[1][8], "sh -c 'exit 3'")

    def test_joblog_does_not_follow_a_stranger_s_symlink(self):
        victim = self.path("victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        link = self.path("planted")
        os.symlink(victim, link)
        if os.geteuid() == 0:
            os.lchown(link, 54321, 54321)  # planted by another user
            proc = pool("--joblog", link, "--", "true", ":::", "x")
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn(b"is a symbolic link owned by uid 54321", proc.stderr)
            self.assertEqual(len(proc.stderr.decode().splitlines()), 1, proc.stderr)
            with open(victim) as f:
                self.assertEqual(f.read(), "precious\n")
            os.unlink(link)
            os.symlink(victim, link)
        # A link of the user's own is followed: they made it point there.
        pool("--joblog", link, "--", "true", ":::", "x", check=True)
        self.assertTrue(os.path.islink(link))
        self.assertEqual(len(joblog_rows(victim)), 1)

    def test_nul_in_newline_separated_input_is_reported(self):
        proc = pool("-k", "--joblog", self.path("log"), "--", "printf", "[%s]", input=b"a\0b\nc\n")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stdout, b"[c]")
        self.assertIn(b"input 1 contains a NUL byte", proc.stderr)
        self.assertIn(b"-0", proc.stderr)
        self.assertEqual([row[6] for row in joblog_rows(self.path("log"))], ["1", "0"])
        with open(self.path("records"), "wb") as f:
            f.write(b"x\0y\n")
        proc = pool("--", "printf", "[%s]", "::::", self.path("records"))
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stdout, b"")
        self.assertIn(b"contains a NUL byte", proc.stderr)

    def test_exit_status_counts_failures(self):
        self.assertEqual(pool("--", "sh", "-c", "exit {}", ":::", "0", "1", "2", "3").returncode, 3)
        self.assertEqual(pool("-j", "4", "--", "false", ":::", *map(str, range(102))).returncode, 101)
        self.assertEqual(pool("--", "true", ":::", "a").returncode, 0)

    def test_missing_command_fails_each_job_and_goes_on(self):
        proc = pool("-k", "--joblog", self.path("log"), "--", "{}", ":::", "true", "no-such-cmd-x", "echo")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no-such-cmd-x: command not found", proc.stderr.decode())
        self.assertEqual([row[6] for row in joblog_rows(self.path("log"))], ["0", "127", "0"])

    def test_json(self):
        proc = pool("-k", "--json", "--shell", "--", "echo out {}; echo err >&2; exit {}", ":::", "0", "2")
        self.assertEqual(proc.returncode, 1)
        objects = [json.loads(line) for line in lines(proc.stdout)]
        self.assertEqual([o["seq"] for o in objects], [1, 2])
        self.assertEqual(objects[1]["input"], "2")
        self.assertEqual(objects[1]["exit"], 2)
        self.assertIsNone(objects[1]["signal"])  # a name ("TERM") or null, as in ssh-exec
        self.assertEqual(objects[1]["stdout"], "out 2\n")
        self.assertEqual(objects[1]["stderr"], "err\n")
        self.assertGreaterEqual(objects[0]["duration"], 0)
        killed = pool("--json", "--shell", "--", "kill -TERM $$", ":::", "x")
        self.assertEqual(json.loads(killed.stdout)["signal"], "TERM")

    def test_ten_thousand_quick_jobs(self):
        # The sanitizer build checks memory, not scale: it runs the same test with fewer jobs.
        count = 2000 if os.environ.get("NETLAB_SANITIZED") else 10000
        proc = pool("-j", "4", "--joblog", self.path("log"), "--", "true",
                    input="\n".join(map(str, range(count))).encode(), timeout=600)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([int(row[0]) for row in joblog_rows(self.path("log"))], list(range(1, count + 1)))

    def test_help_says_how_input_groups_combine_and_link(self):
        shown = " ".join(run("pool-run", "--help", check=True).stdout.decode().split())
        self.assertIn(":::+ and ::::+ pair a group with the one before it item by item", shown)
        example = pool("-k", "--", "echo", ":::", "a", "b", ":::+", "1", "2")
        self.assertEqual(lines(example.stdout), ["a 1", "b 2"])

    def test_dry_run_and_usage_errors(self):
        dry = pool("-k", "--dry-run", "--", "rm", "{}", ":::", "a b", "c")
        self.assertEqual(lines(dry.stdout), ["rm 'a b'", "rm c"])
        for args in (["--"], ["--halt", "later", "--", "true"], ["--bogus", "true"], ["-j", "-1", "true"]):
            proc = pool(*args)
            # GNU parallel's convention: 1-101 count failed jobs, so a usage error is 255.
            self.assertEqual(proc.returncode, 255, args)
            err = proc.stderr.decode()
            self.assertTrue(err.startswith("netlab: pool-run: "), err)
            self.assertEqual(len(err.splitlines()), 1, err)

    def test_dry_run_lines_give_each_input_back_in_every_posix_shell(self):
        # What --dry-run prints is what a remote login shell is sent (--ssh), so each word must
        # come back exactly in sh, bash and zsh: zsh expands a bare "=ls" to /usr/bin/ls, and a
        # bare "A=1" in the command's place is an assignment, not the program named A=1.
        shells = [shell for shell in ("sh", "bash", "zsh") if shutil.which(shell)]
        self.assertIn("zsh", shells)  # scripts/install-deps.sh installs it
        values = ["=ls", "a=b", "A=1", "=", "x y", "$(echo no)", "it's", "-n", "~", "%1", "a,b", "@x:y+z"]
        dry = pool("-k", "--dry-run", "--", "printf", "[%s]", "{}", ":::", *values, check=True)
        printed = lines(dry.stdout)
        self.assertEqual(len(printed), len(values))
        for shell in shells:
            for value, line in zip(values, printed):
                out = subprocess.run([shell, "-c", line], capture_output=True, timeout=30)
                self.assertEqual(out.stdout.decode(), f"[{value}]", (shell, line, out.stderr))
        first = pool("--dry-run", "--", "{}", "printf", "[%s]", "x", ":::", "A=1", check=True)
        for shell in shells:
            out = subprocess.run([shell, "-c", lines(first.stdout)[0]], capture_output=True, timeout=30)
            self.assertEqual((out.returncode, out.stdout), (127, b""), (shell, first.stdout, out.stderr))

    def test_interrupt_leaves_no_child_behind(self):
        script = "echo $$ > {}.pid; sleep 60 & echo $! > {}.child; wait"
        proc = subprocess.Popen([NETLAB, "pool-run", "-j", "3", "--shell", "--", script, ":::",
                                 *[self.path(str(i)) for i in range(5)]],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        pidfiles = []
        while time.monotonic() < deadline:
            pidfiles = [f for f in os.listdir(self.tmp) if f.endswith(".child")]
            if len(pidfiles) == 3 and all(os.path.getsize(self.path(f)) > 0 for f in pidfiles):
                break
            time.sleep(0.02)
        self.assertEqual(len(pidfiles), 3)
        pids = []
        for name in os.listdir(self.tmp):
            with open(self.path(name)) as f:
                pids.append(int(f.read()))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 130, err)
        self.assertTrue(err.decode().startswith("netlab: pool-run: interrupted"), err)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(pid) for pid in pids):
            time.sleep(0.02)
        self.assertEqual([pid for pid in pids if alive(pid)], [])


# Each job starts a child in its process group and one that leaves it (setsid), writes their
# pids beside its input, says it started (captured output, written when the job ends), waits.
TREE_SCRIPT = "setsid sleep 300 & echo $! > {}.escaped; sleep 300 & echo $! > {}.child; echo started {}; wait"


class PoolRunSignalTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="netlab-pool-sig-")
        self.pids = []

    def tearDown(self):
        for pid in self.pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *extra):
        inputs = [os.path.join(self.tmp, name) for name in ("a", "b", "c")]
        proc = subprocess.Popen([NETLAB, "pool-run", "-j", "2", "-k", *extra, "--shell", "--", TREE_SCRIPT, ":::",
                                 *inputs], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.collect_pids((".escaped", ".child"), 4)
        return proc, inputs

    def collect_pids(self, suffixes, count):
        """Waits until the jobs wrote `count` pid files ending in `suffixes`; adds their pids."""
        deadline = time.monotonic() + 30
        files = []
        while time.monotonic() < deadline:
            files = [f for f in os.listdir(self.tmp) if f.endswith(suffixes)]
            if len(files) == count and all(os.path.getsize(os.path.join(self.tmp, f)) > 0 for f in files):
                break
            time.sleep(0.02)
        self.assertEqual(len(files), count, files)
        for name in files:
            with open(os.path.join(self.tmp, name)) as f:
                self.pids.append(int(f.read()))

    def assert_all_gone(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(alive(pid) for pid in self.pids):
            time.sleep(0.02)
        self.assertEqual([pid for pid in self.pids if alive(pid)], [])

    def test_int_term_hup_quit_stop_every_job_tree(self):
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            with self.subTest(signal=signum.name):
                for name in os.listdir(self.tmp):
                    os.unlink(os.path.join(self.tmp, name))
                self.pids = []
                joblog = os.path.join(self.tmp, "log")
                proc, inputs = self.start("--joblog", joblog)
                proc.send_signal(signum)
                out, err = proc.communicate(timeout=60)
                self.assertEqual(proc.returncode, 128 + signum, err)
                self.assertIn(f"interrupted by SIG{signum.name[3:]}".encode(), err)
                # Captured output of the stopped jobs is written, in order; the third never ran.
                self.assertEqual(out.decode().splitlines(), [f"started {inputs[0]}", f"started {inputs[1]}"])
                rows = joblog_rows(joblog)
                self.assertEqual([row[0] for row in rows], ["1", "2"])
                self.assertTrue(all(row[7] in ("15", "9") for row in rows), rows)
                self.assert_all_gone()

    def test_sigkill_of_pool_run_leaves_nothing_running(self):
        proc, _ = self.start()
        watchdogs = watchdogs_of(proc.pid)
        self.pids += watchdogs
        proc.kill()
        proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        # The jobs' trees, the escaped sleepers and then the watchdog itself all go.
        self.assert_all_gone()
        self.assertEqual(len(watchdogs), 1)

    def test_sigkill_of_pool_run_kills_job_groups_without_the_tree_marker(self):
        self.sigkill_with_unmarked_children(stderr=subprocess.PIPE)

    def test_watchdog_works_when_pool_run_starts_without_stdin_and_stderr(self):
        # Started with descriptors 0 and 2 closed, libuv's own pipe took them, and its at-fork
        # handler (which refuses to close a descriptor below 3) aborted the forked watchdog.
        def close_stdin_and_stderr():
            os.close(0)
            os.close(2)

        self.sigkill_with_unmarked_children(stderr=None, preexec_fn=close_stdin_and_stderr)

    def sigkill_with_unmarked_children(self, **popen):
        # Each job's child drops NETLAB_TREE but stays in the job's process group: only the
        # watchdog's table of groups (shared memory pool-run fills per job) can find it.
        script = "env -u NETLAB_TREE sleep 300 & echo $! > {}.unmarked; wait"
        inputs = [os.path.join(self.tmp, name) for name in ("a", "b")]
        proc = subprocess.Popen([NETLAB, "pool-run", "-j", "2", "--shell", "--", script, ":::", *inputs],
                                stdout=subprocess.PIPE, **popen)
        self.collect_pids((".unmarked",), 2)
        for pid in self.pids:
            # $! is written as soon as the shell forked: wait until env has exec'd sleep, whose
            # environment is the one without the marker.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and process_comm(pid) != "sleep":
                time.sleep(0.02)
            self.assertEqual(process_comm(pid), "sleep")
            with open(f"/proc/{pid}/environ", "rb") as f:
                self.assertNotIn(b"NETLAB_TREE=", f.read())
        watchdogs = watchdogs_of(proc.pid)
        self.assertEqual(len(watchdogs), 1)
        self.pids += watchdogs
        proc.kill()
        proc.communicate(timeout=60)
        self.assert_all_gone()


def process_comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def watchdogs_of(pool_pid):
    """pool-run's children that run netlab itself: the watchdog it forks."""
    return [stat.pid for stat in process_stats() if stat.ppid == pool_pid and runs_netlab(stat.pid)]


def runs_netlab(pid):
    """True if pid runs the netlab binary under test (False once it is gone)."""
    try:
        return os.path.realpath(f"/proc/{pid}/exe", strict=True) == os.path.realpath(NETLAB)
    except OSError:
        return False


# --shell templates in every quoting context, with inputs written to break out of each one.
# "refuse": pool-run must refuse the template (exit 2, a message showing the safe forms);
# otherwise it must run it, and `expect(value)`, when given, is the exact output for one input.
SHELL_TEMPLATES = [
    ("echo {}", None, lambda v: v + "\n"),
    ("echo '{}'", "refuse", None),
    ('echo "{}"', "refuse", None),
    ('echo "x{}y"', "refuse", None),
    ("echo 'x'{}'y'", None, lambda v: "x" + v + "y\n"),
    ('echo "$1"', None, lambda v: v + "\n"),
    ('printf "%s|" "$@"', None, lambda v: v + "|"),
    ("printf '%s\\n' {}", None, lambda v: v + "\n"),
    ("cat <<EOF\n{}\nEOF", "refuse", None),
    ("cat <<'EOF'\n{}\nEOF", "refuse", None),
    ("cat <<-EOF\n\t{}\n\tEOF", "refuse", None),
    ("eval echo {}", "refuse", None),
    ('eval "echo {}"', "refuse", None),
    ("sh -c 'echo {}'", "refuse", None),
    ('sh -c "echo {}"', "refuse", None),
    ("sh -c {}", "refuse", None),
    ("env bash -ec {}", "refuse", None),
    ("sh -c 'echo \"$1\"' sh {}", None, lambda v: v + "\n"),
    ("bash -c 'printf %s \"$1\"' sh {}", None, lambda v: v),
    ("x=$(printf %s {}); printf %s \"$x\"", None, lambda v: v.rstrip("\n")),
    ('printf %s "$(printf %s {})"', None, lambda v: v.rstrip("\n")),
    ("echo `echo {}`", "refuse", None),
    ("echo ${x:-{}}", "refuse", None),
    ("echo $(( {} ))", "refuse", None),
    ("echo \\{}", "refuse", None),
    ("echo hi # {}", "refuse", None),
    ("x={}; printf %s \"$x\"", None, lambda v: v),
    ("test -n {} && printf %s {} | cat", None, lambda v: v),
    # The script of sh -c past options, wrappers with arguments, quotes and substitutions.
    ("sh -c -- {}", "refuse", None),
    ("sh +e -c {}", "refuse", None),
    ("sh -o errexit -c {}", "refuse", None),
    ("env -u HOME sh -c {}", "refuse", None),
    ("nice -n 5 sh -c {}", "refuse", None),
    ("'sh' -c {}", "refuse", None),
    ('sh -c "$(printf %s {})"', "refuse", None),
    ('eval "$(printf %s {})"', "refuse", None),
    ("sh -c 'echo \"$1\"' -- {}", None, lambda v: v + "\n"),
    ("trap {} EXIT", "refuse", None),
]

HOSTILE_INPUTS = ["'; touch PWNED; '", "$(touch PWNED)", "`touch PWNED`", '"; touch PWNED; "',
                  "x\ntouch PWNED", "x\ntouch PWNED #", "EOF\ntouch PWNED\nEOF", "\\", "a'b\"c"]


class ShellTemplateTest(unittest.TestCase):
    def test_no_quoting_context_lets_an_input_run_code(self):
        self.assertEqual(len(SHELL_TEMPLATES), 38)
        for template, verdict, expect in SHELL_TEMPLATES:
            with self.subTest(template=template):
                cwd = tempfile.mkdtemp(prefix="netlab-pool-shell-")
                try:
                    proc = subprocess.run([NETLAB, "pool-run", "-k", "--shell", "--", template, ":::", *HOSTILE_INPUTS],
                                          cwd=cwd, capture_output=True, timeout=60)
                    self.assertEqual(os.listdir(cwd), [], f"{template!r} let an input run code")
                finally:
                    shutil.rmtree(cwd)
                err = proc.stderr.decode()
                if verdict == "refuse":
                    self.assertEqual(proc.returncode, 255, err)
                    self.assertIn("--shell: {} stands ", err)
                    self.assertIn('"$1"', err)
                    self.assertEqual(len(err.splitlines()), 1, err)
                    continue
                self.assertNotEqual(proc.returncode, 255, err)
                if expect is not None:
                    for value in HOSTILE_INPUTS:
                        one = subprocess.run([NETLAB, "pool-run", "--shell", "--", template, ":::", value],
                                             capture_output=True, timeout=60)
                        self.assertEqual(one.stdout.decode(), expect(value), (template, value, one.stderr))

    def test_inputs_are_positional_parameters_and_joblog_shows_the_script(self):
        tmp = tempfile.mkdtemp(prefix="netlab-pool-shell-")
        self.addCleanup(shutil.rmtree, tmp)
        log = os.path.join(tmp, "log")
        proc = pool("-k", "--joblog", log, "--shell", "--", 'printf "[%s]" "$1" "$2" "$#"', ":::", "a b", ":::", "c",
                    check=True)
        self.assertEqual(proc.stdout, b"[a b][c][2]")
        self.assertEqual(joblog_rows(log)[0][8], 'printf "[%s]" "$1" "$2" "$#"')
        dry = pool("--dry-run", "--shell", "--", "echo {}", ":::", "a b", check=True)
        self.assertEqual(dry.stdout, b"echo 'a b'\n")


# Each job writes 3 MB of random bytes through tee, in tee's pieces, and keeps a copy beside its
# input: more than a holding pipe (1 MiB) and a job's memory share (1 MiB) take, so its output is
# spliced, then kept in memory, then spilled.
BIG_JOB = "head -c 3000000 /dev/urandom | tee {}.data"
# Thousands of small writes (one per echo): each takes a page of the holding pipe, which fills
# after a few hundred, so the rest goes to memory.
SMALL_WRITES_JOB = 'i=0; while [ $i -lt 3000 ]; do echo "$1 $i"; i=$((i+1)); done'


class PoolRunGroupedOutputTest(unittest.TestCase):
    """Every job's output arrives whole, byte for byte and in order, whatever our stdout is: a
    pipe or a plain file (spliced), a file opened O_APPEND (which splice refuses: copied)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="netlab-pool-out-")
        self.inputs = [os.path.join(self.tmp, name) for name in ("a", "b", "c", "d")]

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def expected_big(self):
        out = b""
        for path in self.inputs:
            with open(path + ".data", "rb") as f:
                out += f.read()
        return out

    def run_to(self, stdout, *args):
        proc = subprocess.run([NETLAB, "pool-run", "-k", "-j", "2", *args], stdout=stdout,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc

    def test_big_output_to_a_pipe(self):
        proc = self.run_to(subprocess.PIPE, "--shell", "--", BIG_JOB, ":::", *self.inputs)
        self.assertEqual(len(proc.stdout), 4 * 3000000)
        self.assertTrue(proc.stdout == self.expected_big(), "output differs from what the jobs wrote")

    def test_big_output_to_a_file_and_to_an_o_append_file(self):
        for mode in ("wb", "ab"):
            with self.subTest(mode=mode):
                path = os.path.join(self.tmp, "out")
                with open(path, "wb") as f:
                    f.write(b"head\n")
                with open(path, "r+b" if mode == "wb" else mode) as f:
                    if mode == "wb":
                        f.seek(0, os.SEEK_END)
                    self.run_to(f, "--shell", "--", BIG_JOB, ":::", *self.inputs)
                with open(path, "rb") as f:
                    got = f.read()
                self.assertTrue(got == b"head\n" + self.expected_big(), f"{mode}: output differs")

    def test_outputs_at_the_pipes_sizes_end_and_arrive_whole(self):
        # Binary bytes (NULs included) at and around the job pipe's and the holding pipe's sizes.
        # A job printing exactly 1 MiB in whole pages fills its holding pipe just as it ends:
        # that end of file must still be seen, or the run never ends.
        sizes = [0, 1, 65535, 65536, 65537, 262144, 1048575, 1048576, 1048577, 2 * 1048576]
        expected = b""
        for size in sizes:
            data = os.urandom(size)
            with open(os.path.join(self.tmp, str(size)), "wb") as f:
                f.write(data)
            expected += data
        for kind in ("pipe", "file"):
            with self.subTest(stdout=kind):
                args = ("cat", os.path.join(self.tmp, "{}"), ":::", *map(str, sizes))
                if kind == "pipe":
                    got = self.run_to(subprocess.PIPE, *args).stdout
                else:
                    with open(os.path.join(self.tmp, "out"), "w+b") as f:
                        self.run_to(f, *args)
                        f.seek(0)
                        got = f.read()
                self.assertEqual(len(got), len(expected))
                self.assertTrue(got == expected, "output differs")

    def test_reader_leaving_ends_the_run_quietly_with_141_and_stops_the_jobs(self):
        # `pool-run ... | head -c 10`: job a's 2 MB are being spliced to us when we leave; job b
        # would run for minutes.
        sleeper_pid = os.path.join(self.tmp, "b.pid")
        script = ': {}; if [ "$1" = a ]; then head -c 2000000 /dev/zero; else echo $$ > "$1.pid"; exec sleep 300; fi'
        proc = subprocess.Popen([NETLAB, "pool-run", "-j", "2", "--shell", "--", script, ":::", "a",
                                 os.path.join(self.tmp, "b")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (os.path.exists(sleeper_pid) and os.path.getsize(sleeper_pid)):
            time.sleep(0.02)
        with open(sleeper_pid) as f:
            pid = int(f.read())
        self.assertEqual(len(proc.stdout.read(10)), 10)
        proc.stdout.close()
        err = proc.stderr.read()
        self.assertEqual(proc.wait(timeout=60), 141, err)
        self.assertEqual(err, b"")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.02)
        self.assertFalse(alive(pid))

    def test_keep_order_behind_a_stuck_first_job_in_a_small_open_file_limit(self):
        # With -k, job 1 holds back every later job's output until it ends. Here 120 jobs of
        # 1.1 MB each (past the per-job memory limit, so spilled) wait behind it in a limit of 64
        # descriptors at -j 8, the job cap for 64: held output must not take the descriptors the
        # next job needs (it did: a spill file per waiting job, and holding pipes beyond what the
        # running jobs leave; the later jobs failed with "pipe: too many open files"). Job 1 ends
        # once the last job has written its output.
        count = 120
        mark = os.path.join(self.tmp, "last-job-done")
        script = ('if [ "$1" = 1 ]; then i=0; while [ ! -e "$2" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; '
                  'fi; head -c 1100000 /dev/zero | tr "\\0" x; echo " $1"; if [ "$1" = %d ]; then : > "$2"; fi' % count)

        def small_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

        with open(os.path.join(self.tmp, "out"), "w+b") as out:
            proc = subprocess.run([NETLAB, "pool-run", "-k", "-j", "8", "--", "sh", "-c", script, "sh", "{}", mark,
                                   ":::", *map(str, range(1, count + 1))],
                                  stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=300,
                                  preexec_fn=small_limit)
            self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
            self.assertEqual(proc.stderr, b"")
            self.assertTrue(os.path.exists(mark), "the last job never ran")
            out.seek(0)
            got = out.read()
        expected = b"".join(b"x" * 1100000 + b" %d\n" % i for i in range(1, count + 1))
        self.assertEqual(len(got), len(expected))
        self.assertTrue(got == expected, "output differs from what the jobs wrote, or is out of order")

    def spill_refused(self, wrap, tmpdir, jobs):
        # Every job writes 6 MB, past its holding pipe and its memory, into a spill file that
        # cannot be had: the output is kept in memory, whole and in order, and the run still ends 0.
        script = 'head -c 6000000 /dev/zero | tr "\\0" x; echo " $1"'
        env = dict(os.environ, TMPDIR=tmpdir)
        proc = subprocess.run([*wrap, NETLAB, "pool-run", "-k", "-j", "3", "--", "sh", "-c", script, "sh", "{}",
                               ":::", *map(str, range(1, jobs + 1))],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              env=env, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        expected = b"".join(b"x" * 6000000 + b" %d\n" % i for i in range(1, jobs + 1))
        self.assertEqual(len(proc.stdout), len(expected))
        self.assertTrue(proc.stdout == expected, "output differs from what the jobs wrote, or is out of order")
        return proc.stderr.decode(errors="replace").splitlines()

    def test_a_spill_folder_that_is_missing_is_said_once_and_loses_nothing(self):
        # It was said once per job (every job tried again), thousands of lines for a long run.
        missing = os.path.join(self.tmp, "missing")
        said = self.spill_refused([], missing, 8)
        self.assertEqual(len(said), 1, said)
        self.assertIn(missing, said[0])
        self.assertIn("keeping the output in memory", said[0])

    def test_a_full_disk_mid_spill_is_said_once_and_loses_nothing(self):
        # TMPDIR on a 2 MiB tmpfs of our own (a private mount namespace): any one job fills it
        # mid-spill.
        if os.geteuid() != 0 or shutil.which("unshare") is None or subprocess.run(
                ["unshare", "-m", "true"], stderr=subprocess.DEVNULL).returncode != 0:
            self.skipTest("needs root and unshare -m for a private tmpfs")
        folder = os.path.join(self.tmp, "small")
        os.mkdir(folder)
        wrap = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o size=2m tmpfs "$0" && exec "$@"', folder]
        said = self.spill_refused(wrap, folder, 8)
        self.assertEqual(len(said), 1, said)
        self.assertIn("no space left on device; keeping the output in memory", said[0])

    def test_a_tiny_open_file_limit_runs_fewer_jobs_and_loses_none(self):
        # A hard limit of 16 fits one job's pipes beside what pool-run keeps; it was counted as 64,
        # so -j 2 ran two and jobs failed with "pipe: too many open files" (exit 3).
        if os.environ.get("NETLAB_SANITIZED") == "1":
            self.skipTest("the sanitizer runtime holds descriptors of its own: 16 fits no job there")

        def tiny_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))

        script = 'head -c 3000000 /dev/zero | tr "\\0" x; echo " $1"'
        proc = subprocess.run([NETLAB, "pool-run", "-k", "-j", "2", "--", "sh", "-c", script, "sh", "{}",
                               ":::", "1", "2", "3", "4"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120,
                              preexec_fn=tiny_limit)
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        self.assertEqual(proc.stderr.decode().splitlines(),
                         ["netlab: pool-run: -j 2: only 1 jobs fit in the open-file limit; running 1 at once"])
        self.assertTrue(proc.stdout == b"".join(b"x" * 3000000 + b" %d\n" % i for i in range(1, 5)), "output differs")

    def test_many_small_writes_keep_their_order(self):
        expected = "".join(f"{path} {i}\n" for path in self.inputs for i in range(3000)).encode()
        proc = self.run_to(subprocess.PIPE, "--shell", "--", SMALL_WRITES_JOB, ":::", *self.inputs)
        self.assertTrue(proc.stdout == expected, "output differs")
        tagged = self.run_to(subprocess.PIPE, "--tag", "--shell", "--", SMALL_WRITES_JOB, ":::", *self.inputs)
        self.assertEqual(tagged.stdout.decode().splitlines(),
                         [f"{path}\t{path} {i}" for path in self.inputs for i in range(3000)])
        as_json = self.run_to(subprocess.PIPE, "--json", "--shell", "--", SMALL_WRITES_JOB, ":::", *self.inputs)
        self.assertEqual([json.loads(line)["stdout"] for line in lines(as_json.stdout)],
                         ["".join(f"{path} {i}\n" for i in range(3000)) for path in self.inputs])

if __name__ == "__main__":
    main()
