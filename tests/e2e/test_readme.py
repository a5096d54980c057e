"""The README's tour and every --help example are a contract: the tour's first block runs as it
stands (in a scratch folder and HOME, loopback only, bounded), and each netlab command line of
its second block and of every --help example parses (NETLAB_PARSE_ONLY=1 stops after parsing)."""
import os
import re
import shlex
import subprocess
import tempfile
import unittest

from netlab_test import NETLAB, SOURCE_DIR, Server, check_sanitizers, main, run

BIN_DIR = os.path.dirname(os.path.abspath(NETLAB))


def tour_blocks():
    with open(os.path.join(SOURCE_DIR, "README.md")) as f:
        text = f.read()
    tour = text.split("## Tour", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", tour, re.S)


def help_example(command):
    """The example lines of `command --help`, a line wrapped with a trailing backslash joined again."""
    text = run(command, "--help", check=True).stdout.decode()
    example = text.split("Example:\n", 1)[1] if "Example:\n" in text else ""
    return re.findall(r"^  (.*)$", example.replace(" \\\n    ", " "), re.M)


# The --help examples a newcomer can paste on this machine as they stand: command -> (how many
# leading example lines run on loopback alone, what their output shows). The other lines need
# certificates, hosts or a port of their own and are only parsed (below).
RUNNABLE_EXAMPLES = {
    "echo-server": (3, "hello\n"),
    "udp-echo": (3, "one\ntwo\n"),
    "select-server": (3, "msgs/s"),
    "bench": (4, '"msgs_per_s"'),
    "exec-server": (4, "total "),
    "probe": (2, " open"),
    "pack": (2, "01000000020068656c6c6f000000\n"),
    "unpack": (1, "hi\\x00"),
    "completions": (6, ""),  # into a scratch HOME, where none of the folders exists yet
}
# Client examples run against the server their first (comment) line names, started on an
# ephemeral port that replaces 8080 in them.
CLIENT_EXAMPLES = {
    "echo-client": (["echo-server", "0"], 3, "hello\nworld\na\nb\n"),
    "exec-client": (["exec-server", "0", "--token-file", "token", "--shell"], 4, "HELLO\n"),
}


def netlab_invocations(line):
    """The argument lists of the `netlab ...` commands on one shell line (pipes, &&, redirections
    and trailing comments cut away)."""
    # A command substitution is one word to the shell (a port here): stand in a port for it.
    line = re.sub(r'\$\([^)]*\)', "8080", line)
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:
        return []
    commands, current = [], None
    for word in words:
        if word in ("|", "&&", "||", ";", "&", "<", ">", ">>", ";;", "|&"):
            if current is not None:
                commands.append(current)
            current = None
            continue
        if current is None:
            current = [] if word == "netlab" else None
            continue
        current.append(word)
    if current is not None:
        commands.append(current)
    return commands


class ReadmeTest(unittest.TestCase):
    def test_tour_runs_as_written(self):
        block = tour_blocks()[0]
        with tempfile.TemporaryDirectory() as tmp:
            home = os.path.join(tmp, "home")
            os.mkdir(home)
            work = os.path.join(tmp, "work")
            os.mkdir(work)
            # Every line must succeed; background servers are stopped (SIGTERM) at the end.
            script = ("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n" + block)
            env = dict(os.environ, HOME=home, PATH=BIN_DIR + os.pathsep + os.environ.get("PATH", ""))
            out = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True,
                                 timeout=300)
            check_sanitizers(out.stderr, "README tour")
            self.assertEqual(out.returncode, 0, f"stdout:\n{out.stdout}\nstderr:\n{out.stderr}")
            self.assertIn("hello\nworld\n", out.stdout)
            self.assertIn("HELLO\n", out.stdout)
            self.assertIn("Linux\n", out.stdout)  # exec-client --tls (token as pre-shared key)
            self.assertIn("01000000020068656c6c6f000000\n", out.stdout)
            self.assertIn("up\n", out.stdout)
            self.assertTrue(os.path.isfile(os.path.join(work, "out", "somedir", "today.txt")))
            self.assertTrue(os.path.isfile(os.path.join(home, ".local/share/bash-completion/completions/netlab")))

    def test_every_other_tour_line_parses(self):
        lines = [l for l in tour_blocks()[1].splitlines() if l.strip().startswith("netlab ")]
        self.assertGreaterEqual(len(lines), 5)
        for line in lines:
            for args in netlab_invocations(line):
                self.assert_parses(args, line)

    def test_every_help_example_parses(self):
        section = run("--help", check=True).stdout.decode().split("Commands:", 1)[1]
        commands = re.findall(r"^  (\S+)\s+\S", section, re.M)
        checked = 0
        for command in commands:
            for line in help_example(command):
                for args in netlab_invocations(line):
                    self.assert_parses(args, f"{command} --help: {line}")
                    checked += 1
        self.assertGreaterEqual(checked, len(commands))

    def run_example(self, command, lines, expect, work, server=None):
        script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true; wait' EXIT\n" + "\n".join(lines) + "\n"
        env = dict(os.environ, PATH=BIN_DIR + os.pathsep + os.environ.get("PATH", ""), HOME=work)
        out = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, timeout=300)
        check_sanitizers(out.stderr, f"{command} --help example")
        self.assertEqual(out.returncode, 0, f"{command} --help example:\n{script}\nstdout:\n{out.stdout}\n"
                                            f"stderr:\n{out.stderr}")
        self.assertIn(expect, out.stdout, f"{command} --help example:\n{script}")

    def test_help_examples_run_as_pasted(self):
        """Servers in the background, the clients at once: each example waits for its server
        itself (probe --wait, or the port file for UDP), so pasting it never races the bind."""
        for command, (count, expect) in RUNNABLE_EXAMPLES.items():
            with self.subTest(command=command), tempfile.TemporaryDirectory() as work:
                self.run_example(command, help_example(command)[:count], expect, work)

    def test_client_help_examples_run_against_their_server(self):
        for command, (server_args, count, expect) in CLIENT_EXAMPLES.items():
            with self.subTest(command=command), tempfile.TemporaryDirectory() as work:
                lines = help_example(command)[:count]
                self.assertTrue(lines[0].startswith("# against: netlab " + " ".join(server_args[:1])), lines[0])
                with open(os.path.join(work, "file.bin"), "wb") as f:
                    f.write(os.urandom(100000))
                token = os.path.join(work, "token")
                with open(os.open(token, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                    f.write("0123456789abcdef0123456789abcdef\n")
                args = [token if a == "token" else a for a in server_args]
                with Server(*args) as server:
                    lines = [re.sub(r"\b8080\b", str(server.port), line) for line in lines]
                    self.run_example(command, lines, expect, work)

    def assert_parses(self, args, where):
        out = subprocess.run([NETLAB, *args], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, NETLAB_PARSE_ONLY="1"), stdin=subprocess.DEVNULL)
        self.assertEqual(out.returncode, 0, f"{where}\n{out.stderr}")


if __name__ == "__main__":
    main()
