"""Shell completions and the man page: generated from the CLI tree, checked in, and working in the
real shells (bash with bash-completion, zsh through zpty, fish through `complete -C`)."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from netlab_test import NETLAB, SOURCE_DIR, main, require, run

require("bash", "zsh", "fish", "groff")

FILES = {"bash": "netlab.bash", "zsh": "_netlab", "fish": "netlab.fish"}
BIN_DIR = os.path.dirname(os.path.abspath(NETLAB))
ENV = dict(os.environ, PATH=BIN_DIR + os.pathsep + os.environ.get("PATH", ""))


def commands():
    section = run("--help", check=True).stdout.decode().split("Subcommands:", 1)[1]
    return re.findall(r"^  (\S+)\s+\S", section, re.M)


def options_of(command):
    """The option names --help lists (lines of the Options: section start with them)."""
    text = run(command, "--help", check=True).stdout.decode().split("Example:")[0]
    names = set()
    for m in re.finditer(r"^  (-[^\s]+)", text, re.M):
        names.update(n for n in m.group(1).split(",") if n.startswith("-"))
    return sorted(names)


class GeneratedFilesTest(unittest.TestCase):
    def test_checked_in_scripts_match_the_binary(self):
        for shell, name in FILES.items():
            generated = run("completions", shell, check=True).stdout.decode()
            with open(os.path.join(SOURCE_DIR, "completions", name)) as f:
                self.assertEqual(f.read(), generated,
                                 f"completions/{name} is stale: run scripts/update-completions.sh")

    def test_every_command_and_option_is_completed(self):
        scripts = {shell: run("completions", shell, check=True).stdout.decode() for shell in FILES}
        for command in commands():
            for shell, script in scripts.items():
                self.assertIn(command, script, f"{shell}: {command}")
            for option in options_of(command):
                self.assertIn(option.lstrip("-") if shell == "fish" else option, scripts["bash"],
                              f"bash: {command} {option}")
                name = option.lstrip("-")
                flag = "-l" if option.startswith("--") else "-s"
                self.assertRegex(scripts["fish"], rf"seen_subcommand_from {re.escape(command)}'.* {flag} {re.escape(name)}\b",
                                 f"fish: {command} {option}")
                self.assertIn(option, scripts["zsh"], f"zsh: {command} {option}")

    def test_bad_shell_is_usage_error(self):
        self.assertEqual(run("completions", "tcsh").returncode, 2)


class ShellsTest(unittest.TestCase):
    def bash_complete(self, *words):
        line = " ".join(words)
        script = f"""
            source /usr/share/bash-completion/bash_completion 2>/dev/null || true
            source {os.path.join(SOURCE_DIR, 'completions', 'netlab.bash')}
            COMP_WORDS=({' '.join(repr(w) for w in words)})
            COMP_CWORD={len(words) - 1}
            COMP_LINE={line!r}
            COMP_POINT=${{#COMP_LINE}}
            _netlab
            printf '%s\\n' "${{COMPREPLY[@]}}"
        """
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=ENV, timeout=30)
        return sorted(filter(None, out.stdout.split("\n")))

    def test_bash(self):
        self.assertEqual(self.bash_complete("netlab", "ec"), ["echo-client", "echo-server"])
        self.assertIn("--upper", self.bash_complete("netlab", "echo-server", "--u"))
        if "select-server" in commands():
            self.assertEqual(self.bash_complete("netlab", "select-server", "--model", ""),
                             sorted(["blocking", "threads", "nonblocking", "select", "poll", "epoll", "uv"]))
        self.assertEqual(self.bash_complete("netlab", "completions", ""), ["bash", "fish", "zsh"])

    def fish_complete(self, line):
        script = f"source {os.path.join(SOURCE_DIR, 'completions', 'netlab.fish')}; complete -C {line!r}"
        out = subprocess.run(["fish", "-c", script], capture_output=True, text=True, env=ENV, timeout=30)
        return sorted(l.split("\t")[0] for l in out.stdout.splitlines() if l)

    def test_fish(self):
        self.assertEqual(self.fish_complete("netlab ec"), ["echo-client", "echo-server"])
        if "select-server" in commands():
            self.assertEqual(self.fish_complete("netlab select-server --model "),
                             sorted(["blocking", "threads", "nonblocking", "select", "poll", "epoll", "uv"]))
        self.assertIn("--port-file", self.fish_complete("netlab echo-server --po"))

    def zsh_complete(self, line):
        """Types `line` and two TABs into an interactive zsh on a pty and returns what it showed."""
        with tempfile.TemporaryDirectory() as fpath:
            shutil.copy(os.path.join(SOURCE_DIR, "completions", "_netlab"), fpath)
            driver = f"""
                zmodload zsh/zpty
                zpty z "zsh -f -i"
                zpty -w z "fpath=({fpath} \\$fpath); autoload -Uz compinit; compinit -u -D; PS1='RE''ADY> '"
                zpty -r z seen '*READY> *'
                zpty -w -n z $'{line}\\t\\t'
                out=""
                integer i
                for (( i = 0; i < 30; i++ )); do
                  sleep 0.1
                  while zpty -r -t z chunk; do out+=$chunk; done
                done
                print -r -- "$out"
                zpty -d z
            """
            out = subprocess.run(["zsh", "-f", "-c", driver], capture_output=True, text=True, env=ENV, timeout=60)
            return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.stdout)

    def test_zsh(self):
        shown = self.zsh_complete("netlab ec")
        self.assertIn("echo-client", shown)
        self.assertIn("echo-server", shown)
        if "select-server" in commands():
            shown = self.zsh_complete("netlab select-server --model ")
            for model in ["blocking", "threads", "nonblocking", "select", "poll", "epoll", "uv"]:
                self.assertIn(model, shown)


class ManPageTest(unittest.TestCase):
    def test_renders_without_warnings_and_covers_every_command(self):
        page = run("--man", check=True).stdout.decode()
        out = subprocess.run(["groff", "-ww", "-z", "-man"], input=page, capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertEqual(out.stderr, "", out.stderr)
        for command in commands():
            self.assertIn(f".SS {command.replace('-', chr(92) + '-')}\n", page)
        self.assertIn(".SH EXIT STATUS", page)
        rendered = subprocess.run(["groff", "-man", "-Tutf8"], input=page, capture_output=True, text=True).stdout
        self.assertIn("echo-server", rendered.replace("\u2010", "-"))


if __name__ == "__main__":
    main()
