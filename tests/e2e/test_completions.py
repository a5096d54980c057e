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

require("bash", "zsh", "fish", "groff", "tmux")

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"

FILES = {"bash": "netlab.bash", "zsh": "_netlab", "fish": "netlab.fish"}
BIN_DIR = os.path.dirname(os.path.abspath(NETLAB))
ENV = dict(os.environ, PATH=BIN_DIR + os.pathsep + os.environ.get("PATH", ""))


def commands():
    section = run("--help", check=True).stdout.decode().split("Commands:", 1)[1]
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
                self.assertRegex(scripts["fish"], rf"_using {re.escape(command)}[';].* {flag} {re.escape(name)}\b",
                                 f"fish: {command} {option}")
                self.assertIn(option, scripts["zsh"], f"zsh: {command} {option}")

    def test_bad_shell_is_usage_error(self):
        self.assertEqual(run("completions", "tcsh").returncode, 2)


class ShellsTest(unittest.TestCase):
    def bash_complete(self, *words, cwd=None, env=None):
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
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env or ENV, timeout=30,
                             cwd=cwd)
        return sorted(filter(None, out.stdout.split("\n")))

    def test_bash(self):
        self.assertEqual(self.bash_complete("netlab", "ec"), ["echo-client", "echo-server"])
        self.assertIn("--upper", self.bash_complete("netlab", "echo-server", "--u"))
        if "select-server" in commands():
            self.assertEqual(self.bash_complete("netlab", "select-server", "--model", ""),
                             sorted(["blocking", "threads", "nonblocking", "select", "poll", "epoll", "uv"]))
        self.assertEqual(self.bash_complete("netlab", "completions", ""), ["bash", "fish", "zsh"])

    def test_bash_offers_nothing_the_command_rejects(self):
        """An address is not a file (`echo-client README.md` is refused), and an environment
        variable's name is not one either: those values complete as what they are."""
        with tempfile.TemporaryDirectory() as work:
            open(os.path.join(work, "notes.txt"), "w").close()
            for words in [("netlab", "echo-client", ""), ("netlab", "echo-server", "--upper", ""),
                          ("netlab", "bench", "tcp", ""), ("netlab", "exec-client", ""), ("netlab", "probe", "")]:
                self.assertEqual(self.bash_complete(*words, cwd=work), [], words)
            env = dict(ENV, NETLAB_TEST_SECRET_1="x")
            for words in [("netlab", "exec-server", "--allow-env", "NETLAB_TEST_S"),
                          ("netlab", "ssh-exec", "--passphrase-env", "NETLAB_TEST_S"),
                          ("netlab", "pool-run", "--password-env", "NETLAB_TEST_S")]:
                self.assertEqual(self.bash_complete(*words, cwd=work, env=env), ["NETLAB_TEST_SECRET_1"], words)
            # Where a file is meant, files still come.
            self.assertEqual(self.bash_complete("netlab", "unpack", "<I", "no", cwd=work), ["notes.txt"])

    def test_help_command(self):
        """`netlab help COMMAND` is completed like a command taking one command name, in each shell."""
        self.assertEqual(self.bash_complete("netlab", "he"), ["help"])
        self.assertEqual(self.bash_complete("netlab", "help", "ec"), ["echo-client", "echo-server"])
        self.assertEqual(self.bash_complete("netlab", "help", "probe", ""), [])
        self.assertEqual(self.fish_complete("netlab he"), ["help"])
        self.assertEqual(self.fish_complete("netlab help ec"), ["echo-client", "echo-server"])
        self.assertEqual(self.fish_complete("netlab help probe "), [])
        shown = self.zsh_complete("netlab help ec")
        self.assertIn("echo-client", shown)
        self.assertIn("echo-server", shown)

    def test_no_options_after_dashes(self):
        """After `--` a word is an argument even if it starts with a dash (pack '<d' -- -inf)."""
        self.assertEqual(self.bash_complete("netlab", "pack", "<d", "--", "--h"), [])
        self.assertEqual(self.bash_complete("netlab", "pack", "--h"), ["--help", "--hex"])
        self.assertEqual(self.fish_complete("netlab pack x -- --h"), [])
        shown = self.zsh_complete("netlab pack x -- --h")
        self.assertNotIn("--hex", shown)

    def test_bash_offers_an_option_once(self):
        """A second --port-file is refused: once given (under any of its names), an option that may
        not repeat is not offered again; a repeatable one is."""
        self.assertEqual(self.bash_complete("netlab", "echo-server", "--port-file", "p", "--po"), [])
        self.assertEqual(self.bash_complete("netlab", "echo-server", "--upper", "--u"), [])
        self.assertEqual(self.bash_complete("netlab", "bench", "tcp", "1", "-d", "2", "--dur"), [])
        self.assertEqual(self.bash_complete("netlab", "bench", "tcp", "1", "--duration=2", "-"),
                         sorted(set(self.bash_complete("netlab", "bench", "tcp", "1", "-")) - {"-d", "--duration"}))
        self.assertEqual(self.bash_complete("netlab", "echo-server", "--allow-from", "10.0.0.0/8", "--allow"),
                         ["--allow-from"])

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

    def zsh_complete(self, line, cwd=None, env=None):
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
            out = subprocess.run(["zsh", "-f", "-c", driver], capture_output=True, text=True, env=env or ENV,
                                 timeout=60, cwd=cwd)
            return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.stdout)

    def test_zsh(self):
        shown = self.zsh_complete("netlab ec")
        self.assertIn("echo-client", shown)
        self.assertIn("echo-server", shown)
        if "select-server" in commands():
            shown = self.zsh_complete("netlab select-server --model ")
            for model in ["blocking", "threads", "nonblocking", "select", "poll", "epoll", "uv"]:
                self.assertIn(model, shown)

    def test_zsh_offers_no_files_for_an_address(self):
        with tempfile.TemporaryDirectory() as work:
            open(os.path.join(work, "unique-local-file.bin"), "w").close()
            self.assertNotIn("unique-local-file.bin", self.zsh_complete("netlab echo-client ", cwd=work))
            self.assertIn("unique-local-file.bin", self.zsh_complete("netlab unpack I ", cwd=work))
            shown = self.zsh_complete("netlab exec-server --allow-env NETLAB_TEST_S", cwd=work,
                                      env=dict(ENV, NETLAB_TEST_SECRET_1="x"))
            self.assertIn("--allow-env NETLAB_TEST_SECRET_1", re.sub(r"[\x00-\x08\x0b-\x1f]", "", shown))

    def test_zsh_link_names(self):
        """A busybox-style link completes as its command (compinit binds every name to _netlab)."""
        with tempfile.TemporaryDirectory() as links:
            run("--install-links", links, check=True)
            env = dict(ENV, PATH=links + os.pathsep + ENV["PATH"])
            shown = self.zsh_complete("select-server --mo", env=env)
            self.assertIn("select-server --model", re.sub(r"[\x00-\x08\x0b-\x1f]", "", shown))

    def test_zsh_value_after_equals(self):
        """--model=VALUE, which CLI11 takes, completes its value in zsh as bash and fish do."""
        shown = self.zsh_complete("netlab select-server --model=ep")
        self.assertIn("--model=epoll", re.sub(r"[\x00-\x08\x0b-\x1f]", "", shown))
        shown = self.zsh_complete("netlab select-server --model ep")
        self.assertIn("--model epoll", re.sub(r"[\x00-\x08\x0b-\x1f]", "", shown))

    def test_zsh_transfer_paths(self):
        """--put LOCAL REMOTE: LOCAL completes as a file in zsh too."""
        with tempfile.TemporaryDirectory() as work:
            open(os.path.join(work, "unique-local-file.bin"), "w").close()
            shown = self.zsh_complete("netlab ssh-exec --put uniq", cwd=work)
            # zsh rings the bell around what it inserts; the line itself must read the whole name.
            self.assertIn("--put unique-local-file.bin", re.sub(r"[\x00-\x08\x0b-\x1f]", "", shown))


class Tmux:
    """A real interactive shell on a tmux pane: type keys, read the screen."""

    def __init__(self, argv, cwd, env):
        self.dir = tempfile.mkdtemp(prefix="netlab-tmux-")
        self.socket = os.path.join(self.dir, "socket")
        subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "50",
                        "-c", cwd, *argv], env=env, check=True, timeout=30)

    def type(self, *keys):
        subprocess.run(["tmux", "-S", self.socket, "send-keys", *keys], check=True, timeout=30)

    def screen(self):
        return subprocess.run(["tmux", "-S", self.socket, "capture-pane", "-p"], capture_output=True, text=True,
                              timeout=30).stdout

    def wait_for(self, predicate, what, timeout=30):
        """Polls the screen until predicate(screen) holds; fails with the screen after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if predicate(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout}s for {what}; screen:\n{screen}")
            time.sleep(0.05)

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def last_line(screen):
    lines = [l for l in screen.splitlines() if l.strip()]
    return lines[-1] if lines else ""


def install_prefix():
    """netlab installed as a package would be (cmake --install, then its links) into a new
    PREFIX, and a folder holding another program called `probe`, to be put on PATH before
    netlab's link (its completion is not ours). Returns (PREFIX, PREFIX/bin, that folder)."""
    prefix = tempfile.mkdtemp(prefix="netlab-prefix-")
    build = os.environ.get("NETLAB_BUILD_DIR", os.path.dirname(os.path.abspath(NETLAB)))
    subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True, capture_output=True, timeout=120)
    bindir = os.path.join(prefix, "bin")
    subprocess.run([os.path.join(bindir, "netlab"), "--install-links", bindir], check=True, capture_output=True)
    other = tempfile.mkdtemp(prefix="netlab-other-")
    with open(os.path.join(other, "probe"), "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(os.path.join(other, "probe"), 0o755)
    return prefix, bindir, other


class InstalledBashTest(unittest.TestCase):
    """bash 5 with bash-completion, the script found the way an installed package's is: lazily, by
    the command's name, from PREFIX/share/bash-completion/completions beside PREFIX/bin on PATH."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(BASH_COMPLETION):
            raise unittest.SkipTest("bash-completion is not installed")
        cls.prefix, bindir, cls.other = install_prefix()
        cls.work = tempfile.mkdtemp(prefix="netlab-files-")
        os.mkdir(os.path.join(cls.work, "my dir"))
        os.mkdir(os.path.join(cls.work, "sub"))
        for name in ["file one.bin", "it's.txt", os.path.join("sub", "inner.bin")]:
            open(os.path.join(cls.work, name), "w").close()
        with open(os.path.join(cls.work, "hosts"), "w") as f:
            f.write("# fleet\nweb1 web2\ndb-primary\n")
        home = os.path.join(cls.work, "home")
        os.makedirs(os.path.join(home, ".ssh"))
        with open(os.path.join(home, ".ssh", "config"), "w") as f:
            f.write("Host jumpbox\n  HostName 127.0.0.1\n")
        # XDG_DATA_DIRS is where bash-completion looks for a command's script, as for /usr/share.
        cls.env = dict(os.environ, PATH=os.pathsep.join([cls.other, bindir, "/usr/bin", "/bin"]), HOME=home,
                       TERM="xterm", INPUTRC="/dev/null", BASH_COMPLETION_USER_DIR=os.path.join(home, "none"),
                       XDG_DATA_DIRS=os.path.join(cls.prefix, "share"))

    @classmethod
    def tearDownClass(cls):
        for d in (cls.prefix, cls.other, cls.work):
            shutil.rmtree(d, ignore_errors=True)

    def setUp(self):
        self.shell = Tmux(["bash", "--norc", "--noprofile", "-i"], self.work, self.env)
        self.addCleanup(self.shell.close)
        self.shell.type(f"source {BASH_COMPLETION}; PS1='READY$ '; clear", "Enter")
        self.shell.wait_for(lambda s: s.strip().endswith("READY$"), "the prompt")
        self.rounds = 0

    def complete(self, line, tabs=1, expect=None):
        """Types `line`, Tab(s) and a `%` marker, and returns the screen once the marker shows.

        readline handles keys in order, so when `%` is on screen the completion is done, and the
        marker shows whether it ended the word with a space (`bin %`) or not (`sub/%`).
        """
        # A marker of this round: the screen of the round before (or of setUp) also reads as a
        # bare prompt, and keys typed before bash is back in readline are echoed by the terminal
        # out of place (seen under load: "select-server --moREADY$ ...").
        self.rounds += 1
        marker = f"CLEARED{self.rounds}"
        self.shell.type("C-u", f"clear; echo {marker}", "Enter")
        self.shell.wait_for(lambda s: s.strip() == f"{marker}\nREADY$", "a clear screen and a new prompt")
        self.shell.type("-l", line)
        for _ in range(tabs):
            self.shell.type("Tab")
        self.shell.type("-l", "%")
        screen = self.shell.wait_for(lambda s: "%" in s, f"the marker after {line!r}<Tab>")
        self.assertRegex(screen, re.compile(expect, re.M), f"after {line!r}<Tab>")
        return screen

    def test_file_arguments_complete_like_ls(self):
        """Names with spaces and quotes stay one word; folders are entered, not ended with a space."""
        self.complete("netlab pack --frame fi", expect=r"^READY\$ netlab pack --frame file\\ one\.bin %$")
        self.complete("netlab pack --frame s", expect=r"^READY\$ netlab pack --frame sub/%$")
        self.complete("netlab pack --frame my", expect=r"^READY\$ netlab pack --frame my\\ dir/%$")
        self.complete("netlab pack --frame it", expect=r"^READY\$ netlab pack --frame it\\'s\.txt %$")
        self.complete("netlab echo-server 0 --port-file s", expect=r"^READY\$ netlab echo-server 0 --port-file sub/%$")

    def test_ssh_exec_transfers_and_hosts(self):
        """--put LOCAL REMOTE completes LOCAL as a file; hosts come from --hosts-file and ~/.ssh/config."""
        self.complete("netlab ssh-exec --put fi", expect=r"--put file\\ one\.bin %$")
        self.complete("netlab ssh-exec --get /etc/hostname s", expect=r"--get /etc/hostname sub/%$")
        self.complete("netlab ssh-exec --hosts-file hosts db", expect=r"--hosts-file hosts db-primary %$")
        self.complete("netlab ssh-exec jump", expect=r"ssh-exec jumpbox %$")

    def test_command_after_dashes(self):
        """pool-run's command completes as a command, then as that command's own arguments."""
        self.complete("netlab pool-run -j 2 -- gzi", expect=r"-- gzip %$")
        self.complete("netlab pool-run -j 2 -- gzip -9 fi", expect=r"-- gzip -9 file\\ one\.bin %$")

    def test_filled_positional_is_not_offered_again(self):
        self.complete("netlab bench t", expect=r"netlab bench tcp %$")
        screen = self.complete("netlab bench tcp 80 ", tabs=2, expect=r"(file one\.bin|netlab bench tcp 80 %$)")
        self.assertNotIn("udp", screen)

    def test_link_names_work_on_first_use(self):
        """No `netlab<Tab>` first: the link's own name loads the script."""
        self.complete("select-server --mo", expect=r"^READY\$ select-server --model %$")

    def test_other_programs_keep_their_names(self):
        """`probe` here is another program: netlab's script never claims it, even once loaded."""
        self.complete("netlab ec", expect=r"netlab echo-%$")
        self.shell.type("C-u", "complete -p probe netlab 2>&1 | tr -s ' ' ; echo DONE", "Enter")
        screen = self.shell.wait_for(lambda s: "\nDONE" in s, "complete -p")
        self.assertNotRegex(screen, r"_netlab probe")
        self.assertRegex(screen, r"complete -F _netlab netlab")
        self.complete("probe fi", expect=r"^READY\$ probe file\\ one\.bin %$")


class FishFilesTest(unittest.TestCase):
    """fish's own completion engine (`complete -C`) on the generated script."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="netlab-fish-")
        self.addCleanup(shutil.rmtree, self.work, True)
        os.mkdir(os.path.join(self.work, "sub"))
        open(os.path.join(self.work, "file one.bin"), "w").close()

    def complete(self, line):
        script = f"source {os.path.join(SOURCE_DIR, 'completions', 'netlab.fish')}; complete -C {line!r}"
        out = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True,
                             env=dict(ENV, NETLAB_TEST_SECRET_1="x"), cwd=self.work, timeout=30)
        return sorted(l.split("\t")[0] for l in out.stdout.splitlines() if l)

    def test_file_arguments(self):
        self.assertEqual(self.complete("netlab pack --frame fi"), ["file one.bin"])
        self.assertEqual(self.complete("netlab unpack --frame x "), ["file one.bin", "sub/"])
        self.assertEqual(self.complete("netlab echo-server 0 --port-file s"), ["sub/"])
        self.assertEqual(self.complete("netlab ssh-exec --put fi"), ["file one.bin"])
        self.assertEqual(self.complete("netlab ssh-exec --get /remote/x s"), ["sub/"])

    def test_command_after_dashes(self):
        self.assertIn("gzip", self.complete("netlab pool-run -- gzi"))
        self.assertEqual(self.complete("netlab pool-run -- gzip -9 fi"), ["file one.bin"])

    def test_no_files_for_addresses_and_variables(self):
        for line in ["netlab echo-client ", "netlab bench tcp ", "netlab echo-server --upper ", "netlab probe "]:
            self.assertEqual(self.complete(line), [], line)
        self.assertEqual(self.complete("netlab exec-server --allow-env NETLAB_TEST_S"), ["NETLAB_TEST_SECRET_1"])
        self.assertEqual(self.complete("netlab ssh-exec --passphrase-env NETLAB_TEST_S"), ["NETLAB_TEST_SECRET_1"])

    def test_an_option_is_offered_once(self):
        self.assertEqual(self.complete("netlab echo-server --port-file p --po"), [])
        self.assertEqual(self.complete("netlab bench tcp 1 -d 2 --dur"), [])
        self.assertEqual(self.complete("netlab echo-server --allow-from 10.0.0.0/8 --allow"), ["--allow-from"])

    def test_filled_positional_is_not_offered_again(self):
        self.assertEqual(self.complete("netlab bench "), ["tcp", "udp"])
        self.assertNotIn("udp", self.complete("netlab bench tcp 80 "))


class InstalledFishTest(unittest.TestCase):
    """fish 3 finds the installed script by the command's name in PREFIX/share/fish/vendor_completions.d
    (from XDG_DATA_DIRS, as for /usr/share), for netlab and for its busybox-style link names."""

    @classmethod
    def setUpClass(cls):
        cls.prefix, bindir, cls.other = install_prefix()
        cls.home = tempfile.mkdtemp(prefix="netlab-home-")
        cls.env = dict(os.environ, PATH=os.pathsep.join([cls.other, bindir, "/usr/bin", "/bin"]), HOME=cls.home,
                       XDG_CONFIG_HOME=cls.home, XDG_DATA_HOME=cls.home,
                       XDG_DATA_DIRS=os.pathsep.join([os.path.join(cls.prefix, "share"), "/usr/share"]))

    @classmethod
    def tearDownClass(cls):
        for d in (cls.prefix, cls.other, cls.home):
            shutil.rmtree(d, ignore_errors=True)

    def complete(self, *lines):
        """What fish offers for the last line, after completing the others first."""
        script = "; ".join(f"complete -C {l!r} >/dev/null" for l in lines[:-1]) + f"; complete -C {lines[-1]!r}"
        out = subprocess.run(["fish", "-c", script.lstrip("; ")], capture_output=True, text=True, env=self.env,
                             cwd=self.home, timeout=60)
        self.assertEqual(out.stderr, "")
        return sorted(l.split("\t")[0] for l in out.stdout.splitlines() if l)

    def test_netlab(self):
        self.assertEqual(self.complete("netlab select-server --mo"), ["--model"])

    def test_link_names_work_on_first_use(self):
        self.assertEqual(self.complete("select-server --mo"), ["--model"])
        self.assertIn("epoll", self.complete("select-server --model "))
        self.assertIn("--keep-order", self.complete("pool-run --keep"))

    def test_generic_link_names_once_loaded_and_only_where_they_run_netlab(self):
        self.assertEqual(self.complete("netlab ", "bench --mo"), ["--mode"])
        self.assertEqual(self.complete("netlab ", "probe --po"), [])


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

    def test_fits_80_columns_as_man_shows_it(self):
        """man's own rendering at 80 columns: no line longer (examples are wrapped with \\)."""
        with tempfile.NamedTemporaryFile("w", suffix=".1") as page:
            page.write(run("--man", check=True).stdout.decode())
            page.flush()
            out = subprocess.run(f"man -l {page.name} | col -b", shell=True, capture_output=True, text=True,
                                 env=dict(ENV, MANWIDTH="80", MANPAGER="cat", PAGER="cat"), timeout=60)
        self.assertGreater(len(out.stdout.splitlines()), 300, out.stderr)
        long = [l for l in out.stdout.splitlines() if len(l) > 80]
        self.assertEqual(long, [])

    def test_header_environment_and_files(self):
        page = run("--man", check=True).stdout.decode()
        self.assertRegex(page.splitlines()[0], r'^\.TH NETLAB 1 "\d{4}-\d\d-\d\d" "netlab \d+\.\d+\.\d+" ')
        environment = page.split(".SH ENVIRONMENT", 1)[1].split(".SH ", 1)[0]
        for name in ["NETLAB_TOKEN", "SSH_AUTH_SOCK", "HOME"]:
            self.assertIn(f".B {name}\n", environment)
        self.assertNotIn("NO_COLOR", page)
        self.assertRegex(environment, r"NETLAB_TOKEN\n[^\n]*token itself")
        self.assertIn("/usr/share/doc/netlab/protocol.md.gz", page)
        # Defaults as --help gives them: ssh-exec --jobs shows =32 there.
        self.assertIn("(default: 32)", run("ssh-exec", "--help", check=True).stdout.decode())
        self.assertRegex(page, r"connect to N hosts at once \(default: 32\)")
        self.assertNotIn("docs/protocol.md", page)


if __name__ == "__main__":
    main()
