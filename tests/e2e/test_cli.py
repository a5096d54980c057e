"""The binary as a whole: help for every registered command, version, usage errors, busybox dispatch."""
import os
import re
import signal
import subprocess
import tempfile
import unittest

from netlab_test import NETLAB, Server, main, run


def listed_commands():
    out = run("--help", check=True).stdout.decode()
    section = out.split("Commands:", 1)[1]
    return re.findall(r"^  (\S+)\s+\S", section, re.M)


class CliTest(unittest.TestCase):
    def test_every_command_has_help_with_example(self):
        commands = listed_commands()
        self.assertIn("echo-server", commands)
        self.assertIn("echo-client", commands)
        for command in commands:
            out = run(command, "--help")
            self.assertEqual(out.returncode, 0, command)
            text = out.stdout.decode()
            self.assertIn(f"netlab {command}", text)
            self.assertIn("Example:", text, command)

    def test_every_command_has_an_e2e_suite(self):
        suites = os.listdir(os.path.dirname(os.path.abspath(__file__)))
        for command in listed_commands():
            if command == "completions":
                continue
            prefix = "test_" + command.replace("-", "_")
            self.assertTrue(any(s.startswith(prefix) for s in suites), f"no e2e suite for {command}")

    def test_version(self):
        out = run("--version")
        self.assertEqual(out.returncode, 0)
        self.assertRegex(out.stdout.decode(), r"^netlab \d+\.\d+\.\d+\n$")

    def test_no_command_is_a_usage_error(self):
        out = run()
        self.assertEqual(out.returncode, 2)
        self.assertIn("Commands:", out.stderr.decode())

    def test_unknown_command_suggests(self):
        out = run("echo-sever")
        self.assertEqual(out.returncode, 2)
        self.assertEqual(out.stderr.decode(),
                         "netlab: unknown command 'echo-sever' (did you mean 'echo-server'?); "
                         "run 'netlab --help' for the list\n")
        out = run("frobnicate")
        self.assertEqual(out.returncode, 2)
        self.assertNotIn("did you mean", out.stderr.decode())

    def test_bad_option_is_one_line_exit_2(self):
        for args in (["echo-server", "--bogus"], ["echo-server", "--max-conns", "zero"],
                     ["echo-server", "--workers", "0"], ["echo-server", "999999"], ["--nope"]):
            out = run(*args)
            self.assertEqual(out.returncode, 2, args)
            lines = out.stderr.decode().strip().splitlines()
            self.assertEqual(len(lines), 1, out.stderr)
            self.assertTrue(lines[0].startswith("netlab: "), lines[0])

    def test_bind_in_use_is_exit_1(self):
        with Server("echo-server", "0") as server:
            out = run("echo-server", server.port)
            self.assertEqual(out.returncode, 1)
            self.assertRegex(out.stderr.decode(),
                             r"^netlab: echo-server: bind 127\.0\.0\.1:\d+: address already in use\n$")

    def test_busybox_dispatch_and_install_links(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = run("--install-links", tmp)
            self.assertEqual(out.returncode, 0, out.stderr)
            for command in listed_commands():
                link = os.path.join(tmp, command)
                self.assertTrue(os.path.islink(link), command)
            # Running it again replaces the links instead of failing.
            self.assertEqual(run("--install-links", tmp).returncode, 0)
            link = os.path.join(tmp, "echo-client")
            out = subprocess.run([link, "--help"], capture_output=True)
            self.assertEqual(out.returncode, 0)
            self.assertIn(b"netlab echo-client", out.stdout)
            with Server("echo-server", "0") as server:
                out = subprocess.run([link, str(server.port), "-m", "via link"], capture_output=True, timeout=30)
                self.assertEqual(out.stdout, b"via link\n")

    def test_install_links_into_missing_dir(self):
        out = run("--install-links", "/nonexistent/dir")
        self.assertEqual(out.returncode, 2)

    def test_install_links_is_all_or_nothing(self):
        """A file in the way of one link fails the whole call before any link is made."""
        with tempfile.TemporaryDirectory() as tmp:
            blocker = os.path.join(tmp, "probe")
            with open(blocker, "w") as f:
                f.write("#!/bin/sh\necho someone else's probe\n")
            out = run("--install-links", tmp)
            self.assertEqual(out.returncode, 1, out.stderr)
            self.assertRegex(out.stderr.decode(), r"^netlab: install-links: .*/probe exists and is not a link to "
                                                  r"netlab; not replacing it\n$")
            self.assertEqual(sorted(os.listdir(tmp)), ["probe"])
            with open(blocker) as f:
                self.assertIn("someone else", f.read())

    def test_install_links_refuses_a_link_to_another_program(self):
        """A symlink named like a command but pointing elsewhere is not netlab's to replace."""
        with tempfile.TemporaryDirectory() as tmp:
            os.symlink("/bin/true", os.path.join(tmp, "bench"))
            out = run("--install-links", tmp)
            self.assertEqual(out.returncode, 1)
            self.assertEqual(os.readlink(os.path.join(tmp, "bench")), "/bin/true")
            self.assertEqual(os.listdir(tmp), ["bench"])

    def test_install_links_moves_links_of_an_older_install(self):
        """Links to another netlab binary (an older install path) are replaced, dangling or not."""
        with tempfile.TemporaryDirectory() as tmp:
            os.symlink("/nonexistent/old/netlab", os.path.join(tmp, "pack"))
            out = run("--install-links", tmp)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(os.path.realpath(os.path.join(tmp, "pack")), os.path.realpath(NETLAB))
            self.assertFalse([n for n in os.listdir(tmp) if n.startswith(".")], "temporary names left behind")

    def test_uninstall_links_removes_only_netlabs_links(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assertEqual(run("--install-links", tmp).returncode, 0)
            os.unlink(os.path.join(tmp, "unpack"))
            with open(os.path.join(tmp, "unpack"), "w") as f:
                f.write("mine\n")
            os.symlink("/bin/true", os.path.join(tmp, "other"))
            out = run("--uninstall-links", tmp)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(sorted(os.listdir(tmp)), ["other", "unpack"])
            self.assertIn(b"unpack: not a link to netlab", out.stderr)
            with open(os.path.join(tmp, "unpack")) as f:
                self.assertEqual(f.read(), "mine\n")
            # Nothing left to remove: still a success.
            self.assertEqual(run("--uninstall-links", tmp).returncode, 0)


def run_into_a_closed_pipe(args):
    """netlab ARGS with stdout a pipe whose reader has already gone."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run([NETLAB, *args], stdout=writer, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(writer)


class ValuesAndMessagesTest(unittest.TestCase):
    """Values in units, one-line errors in netlab's words, help without CLI11's internals."""

    def usage_error(self, *args):
        out = run(*args)
        self.assertEqual(out.returncode, 2, out.stderr)
        lines = out.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        return lines[0]

    def test_durations_sizes_and_counts(self):
        self.assertEqual(self.usage_error("bench", "tcp", "127.0.0.1:9", "-d", "1x"),
                         "netlab: bench: --duration: '1x' is not a duration (like 1.5, 500ms, 2m)")
        self.assertEqual(self.usage_error("bench", "tcp", "127.0.0.1:9", "-d", "nan"),
                         "netlab: bench: --duration: 'nan' is not a duration (like 1.5, 500ms, 2m)")
        self.assertEqual(self.usage_error("echo-server", "0", "--max-conns", "0"),
                         "netlab: echo-server: --max-conns: must be at least 1 (got 0)")
        self.assertEqual(self.usage_error("udp-echo", "--client", "--retries", "-1"),
                         "netlab: udp-echo: --retries: must be at least 0 (got -1)")
        self.assertEqual(self.usage_error("pack", "--frame", "--chunk-size", "12Q"),
                         "netlab: pack: --chunk-size: '12Q' is not a size (like 4096, 64K, 16MiB)")
        self.assertEqual(self.usage_error("bench", "tcp", "127.0.0.1:9", "--threads", "1.5"),
                         "netlab: bench: --threads: '1.5' is not a whole number")

    def test_units_are_accepted(self):
        """250ms and 64K reach the command as seconds and bytes (a closed port fails fast, exit 255)."""
        out = run("probe", "--timeout", "250ms", "127.0.0.1:1")
        self.assertEqual(out.returncode, 1, out.stderr)
        out = run("bench", "tcp", "127.0.0.1:1", "-d", "250ms", "-s", "1K", "--timeout", "1m")
        self.assertEqual(out.returncode, 255, out.stderr)

    def test_cli11_wording_never_reaches_the_user(self):
        for args in [("echo-client",), ("echo-client", "a", "b", "c"), ("select-server", "--model", "nope"),
                     ("completions",), ("bench", "tcp")]:
            line = self.usage_error(*args)
            for phrase in ["required", "At Most", "Could not convert", "not in range", "TEXT", "not expected",
                           "{", "Value "]:
                self.assertNotIn(phrase, line, args)
        self.assertEqual(self.usage_error("echo-client", "a", "b", "c"),
                         "netlab: echo-client: unexpected arguments 'b', 'c'; run 'netlab echo-client --help'")
        self.assertEqual(self.usage_error("select-server", "--model", "nope"),
                         "netlab: select-server: --model: 'nope' is not one of blocking, threads, nonblocking, "
                         "select, poll, epoll, uv")

    def test_help_speaks_in_metavariables_and_units(self):
        for command in listed_commands():
            text = run(command, "--help", check=True).stdout.decode()
            self.assertNotRegex(text, r"\b[A-Z]{2,} (TEXT|INT|UINT|FLOAT)\b", f"{command}: a CLI11 type name")
            for phrase in [":TEXT", ":INT", ":UINT", ":FLOAT", "Excludes:", "Needs:", "REQUIRED", ":POSITIVE",
                           "Positionals:"]:
                self.assertNotIn(phrase, text, f"{command} --help shows {phrase!r}")
            for line in text.splitlines():
                self.assertLessEqual(len(line), 80, f"{command} --help: {line!r}")
        text = run("probe", "--help", check=True).stdout.decode()
        self.assertRegex(text, r"--timeout SECONDS +how long one connection attempt may take\s+\(default:\s+1s\)")
        top = run("--help", check=True).stdout.decode().split("Commands:", 1)[1]
        for command in listed_commands():
            self.assertRegex(top, rf"(?m)^  {re.escape(command)} +\S.*$")
        self.assertEqual(len([l for l in top.splitlines() if l.startswith("  ")]), len(listed_commands()),
                         "one line per command")

    def test_option_lists_keep_a_line_per_item(self):
        """select-server --model lists its models one per line in --help, not run into one paragraph."""
        text = run("select-server", "--help", check=True).stdout.decode()
        for model in ["blocking", "threads", "nonblocking", "select", "poll", "epoll", "uv"]:
            self.assertRegex(text, rf"(?m)^ {{30}}{model}: [a-z]", model)
        self.assertRegex(text, r"(?m)^  --model MODEL +IO model:$")
        self.assertRegex(text, r"(?m)^ {28}\(one of: blocking, threads,")
        # The man page too: the notes after the list, not run on after its last item.
        self.assertRegex(run("--man", check=True).stdout.decode(), r"\n  uv: [^\n]*\n\.br\n\(one of: blocking")

    def test_mistyped_option_is_named_wherever_it_stands(self):
        """A typo is reported as the unknown option it is, with the option meant, also before a
        `--` and in the commands that take everything after their options verbatim."""
        cases = [
            (["exec-client", "80", "--tokenfile", "token", "--", "ls"], 2,
             "netlab: exec-client: unknown option '--tokenfile' (did you mean --token-file?)"),
            (["exec-client", "80", "--tokenfile", "token"], 2,
             "netlab: exec-client: unknown option '--tokenfile' (did you mean --token-file?)"),
            (["echo-client", "80", "--mesage", "hi", "--", "x"], 2,
             "netlab: echo-client: unknown option '--mesage' (did you mean --message?)"),
            (["pool-run", "--keep-ordr", "--", "echo"], 255,
             "netlab: pool-run: unknown option '--keep-ordr' (did you mean --keep-order?)"),
            (["pool-run", "--frobnicate", "--", "echo"], 255,
             "netlab: pool-run: unknown option '--frobnicate'; run 'netlab pool-run --help'"),
            (["ssh-exec", "--hostsfile", "hosts", "--", "uptime"], 255,
             "netlab: ssh-exec: unknown option '--hostsfile' (did you mean --hosts-file?)"),
            (["ssh-exec", "web1", "--tagg", "--", "uptime"], 255,
             "netlab: ssh-exec: unknown option '--tagg' (did you mean --tag?)"),
        ]
        for args, status, line in cases:
            out = run(*args)
            self.assertEqual(out.returncode, status, args)
            self.assertEqual(out.stderr.decode(), line + "\n", args)
        # A real option in the wrong place keeps its own advice.
        self.assertIn("put options before the hosts", run("ssh-exec", "web1", "--tag", "--", "uptime").stderr.decode())
        self.assertIn("put the command after '--'", run("pool-run", "-x", "echo").stderr.decode())

    def test_hints_for_habits_from_other_tools(self):
        self.assertEqual(self.usage_error("echo-client", "localhost", "8080"),
                         "netlab: echo-client: unexpected argument '8080' (did you mean localhost:8080?)")
        self.assertIn("go after --: netlab exec-client ADDR -- ls -l", self.usage_error("exec-client", "8080", "ls", "-l"))
        self.assertEqual(self.usage_error("echo-client", "tcp://localhost:80", "-m", "x"),
                         "netlab: echo-client: address 'tcp://localhost:80': no scheme here; write HOST:PORT, "
                         "[IPv6]:PORT, PORT or unix:/path")
        self.assertEqual(self.usage_error("echo-client", "localhost:80/", "-m", "x"),
                         "netlab: echo-client: address 'localhost:80/': no path here; write localhost:80")
        self.assertEqual(self.usage_error("echo-client", "/tmp/s.sock", "-m", "x"),
                         "netlab: echo-client: address '/tmp/s.sock': did you mean unix:/tmp/s.sock?")

    def test_options_that_do_not_apply_name_the_option_given(self):
        self.assertEqual(self.usage_error("udp-echo", "0", "--retries", "3"),
                         "netlab: udp-echo: --retries only goes with --client")
        self.assertEqual(self.usage_error("udp-echo", "--client", "--upper"),
                         "netlab: udp-echo: --upper only goes with the server (not --client)")

    def test_unix_socket_errors_give_the_real_reason(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = run("echo-server", f"unix:{tmp}/no/such/dir/s.sock")
            self.assertEqual(out.returncode, 1)
            self.assertIn(b"no such file or directory", out.stderr)
            path = os.path.join(tmp, "plain")
            open(path, "w").close()
            out = run("echo-server", f"unix:{path}")
            self.assertEqual(out.returncode, 1)
            self.assertIn(b"a file that is not a socket is in the way", out.stderr)
            self.assertTrue(os.path.isfile(path), "the file in the way is left alone")

    def test_help_reads_as_one_voice(self):
        """One blank line between sections (CLI11 put two before 'Commands:' and option groups), the
        help and version flags in the same lower-case words as every other option, and the man
        page saying -h once, with `netlab help COMMAND` and --uninstall-links in its synopsis."""
        for args in [[], *[[command] for command in listed_commands()]]:
            text = run(*args, "--help", check=True).stdout.decode()
            self.assertNotIn("\n\n\n", text, args)
            self.assertRegex(text, r"(?m)^  -h, --help +print this help and exit$", args)
        self.assertRegex(run("--help", check=True).stdout.decode(), r"(?m)^  -V, --version +print the version and exit$")
        page = run("--man", check=True).stdout.decode()
        self.assertEqual(page.count("\\fB\\-h\\fR, \\fB\\-\\-help\\fR"), 2)  # OPTIONS and DESCRIPTION
        synopsis = page.split(".SH SYNOPSIS", 1)[1].split(".SH ", 1)[0]
        self.assertIn(".B netlab help\n.RI [ COMMAND ]", synopsis)
        self.assertIn("\\-\\-uninstall\\-links", synopsis)

    def test_help_and_version_spellings(self):
        self.assertEqual(run("help").stdout, run("--help").stdout)
        self.assertEqual(run("help", "probe").stdout, run("probe", "--help").stdout)
        self.assertEqual(run("-V").stdout, run("--version").stdout)
        self.assertEqual(run("help", "nosuch").returncode, 2)

    def test_closed_stdout_is_quiet_141(self):
        """`netlab ... | head` ends as `seq | head` does: status 141 and no message, in every command."""
        cases = [
            # An endless input: the writer must stop because its reader left, not because input ended.
            f"yes 1 | {NETLAB} pack --iter '<I' 2>err | head -c 10 >/dev/null; echo ${{PIPESTATUS[1]}}",
            f"head -c 40000000 /dev/zero > big; {NETLAB} unpack --iter '<I' big 2>err | head -1 >/dev/null; "
            "echo ${PIPESTATUS[0]}",
            f"head -c 40000000 /dev/zero > big; {NETLAB} pack --frame big 2>err | head -c 100 >/dev/null; "
            "echo ${PIPESTATUS[0]}",
            f"seq 2000 | {NETLAB} pool-run -k -j 2 -- echo 2>err | head -1 >/dev/null; echo ${{PIPESTATUS[1]}}",
        ]
        for script in cases:
            with tempfile.TemporaryDirectory() as tmp:
                out = subprocess.run(["bash", "-c", script + "; cat err"], cwd=tmp, capture_output=True, text=True,
                                     timeout=120)
            self.assertEqual(out.stdout, "141\n", f"{script}\n{out.stdout}{out.stderr}")

    def test_output_that_cannot_be_written_is_not_a_success(self):
        """As coreutils' close_stdout: the text netlab writes itself (--help, --man, --version,
        completions) ends in a quiet 141 when stdout's reader has gone, and in one line and 1 on a
        full disk, never in 0. A usage error is reported whatever became of stdout."""
        for args in (["--help"], ["--man"], ["--version"], ["probe", "--help"], ["completions", "bash"],
                     ["--commands"]):
            out = run_into_a_closed_pipe(args)
            self.assertEqual((out.returncode, out.stderr), (141, b""), args)
            with open("/dev/full", "wb") as full:
                out = subprocess.run([NETLAB, *args], stdout=full, stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(out.returncode, 1, args)
            self.assertRegex(out.stderr.decode(), r"^netlab: (completions: )?write standard output: "
                                                  r"no space left on device\n$", args)
        for args, status in ((["echo-sever"], 2), (["echo-server", "--uper"], 2), (["pool-run", "--keep-ordr", "--"], 255)):
            out = run_into_a_closed_pipe(args)
            self.assertEqual(out.returncode, status, args)
            self.assertRegex(out.stderr.decode(), r"^netlab: .*did you mean", args)


class PortFileTest(unittest.TestCase):
    """Scripts wait for servers: stale port files go, fresh ones appear atomically, probe waits."""

    def test_stale_port_file_is_removed_and_probe_waits_for_the_new_one(self):
        with tempfile.TemporaryDirectory() as tmp:
            port_file = os.path.join(tmp, "port")
            with open(port_file, "w") as f:
                f.write("1\n")  # a dead server's
            with Server("echo-server", "0", "--port-file", port_file, wait=False) as server:
                out = run("probe", "--wait", "20", "--port-file", port_file)
                self.assertEqual(out.returncode, 0, out.stderr)
                with open(port_file) as f:
                    port = int(f.read())
                self.assertNotEqual(port, 1)
                self.assertIn(f"127.0.0.1:{port} open".encode(), out.stdout)
                reply = run("echo-client", str(port), "-m", "hi")
                self.assertEqual(reply.stdout, b"hi\n")
            self.assertFalse(os.path.exists(port_file), "a stopped server removes its port file")

    def test_sighup_stops_servers_cleanly(self):
        """A terminal that closes (SIGHUP) stops a server like TERM: exit 0, port file removed."""
        for command in (["echo-server", "0"], ["udp-echo", "0"], ["select-server", "0", "--model", "poll"]):
            with tempfile.TemporaryDirectory() as tmp:
                port_file = os.path.join(tmp, "port")
                server = Server(*command, "--port-file", port_file)
                try:
                    self.assertTrue(os.path.exists(port_file))
                    self.assertEqual(server.stop(signal.SIGHUP), 0, f"{command}: {server.stderr()}")
                finally:
                    server.close()
                self.assertFalse(os.path.exists(port_file), command)

    def test_probe_port_file_missing(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = run("probe", "--port-file", os.path.join(tmp, "none"))
            self.assertEqual(out.returncode, 1)
            out = run("probe", "--wait", "0.2", "--port-file", os.path.join(tmp, "none"))
            self.assertEqual(out.returncode, 124)
            self.assertIn(b"not written within 200ms", out.stderr)

    def test_unix_socket_port_file_holds_the_address(self):
        with tempfile.TemporaryDirectory() as tmp:
            port_file = os.path.join(tmp, "port")
            with Server("echo-server", f"unix:{tmp}/s", "--port-file", port_file):
                with open(port_file) as f:
                    self.assertEqual(f.read(), f"unix:{tmp}/s\n")
                out = run("probe", "--port-file", port_file)
                self.assertEqual(out.returncode, 0, out.stderr)


if __name__ == "__main__":
    main()
