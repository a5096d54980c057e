"""OpenSSH's sshd for the tests: started as a child on 127.0.0.1 on a free port, with a host key
and config made in a temporary folder; plus key generation. Importing it skips the suite (exit
77) where sshd or the key tools are missing, or when not root (sshd only switches to the login
user as root)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from netlab_test import SKIP, free_port, process_stat

SSHD = "/usr/sbin/sshd"

if not os.path.exists(SSHD) or shutil.which("ssh-keygen") is None or shutil.which("ssh-agent") is None:
    print("skipped: sshd, ssh-keygen or ssh-agent not installed", file=sys.stderr)
    sys.exit(SKIP)
if os.geteuid() != 0:
    # sshd only switches to the login user as root; an unprivileged sshd can only log in as
    # itself, which is not worth a second configuration here.
    print("skipped: sshd tests need root", file=sys.stderr)
    sys.exit(SKIP)


def keygen(path, kind="ed25519", passphrase=""):
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", "netlab-test", "-f", path],
                   check=True, stdin=subprocess.DEVNULL)
    return path


def fingerprint(pub_path):
    out = subprocess.run(["ssh-keygen", "-lf", pub_path], check=True, capture_output=True).stdout.decode()
    return out.split()[1]  # "256 SHA256:... comment (ED25519)"


def remote_any(text):
    """pids of processes whose command line contains `text` (the remote side is this machine)."""
    found = subprocess.run(["pgrep", "-f", text], capture_output=True, text=True)
    return found.stdout.split()


def kill_session_of(pattern):
    """Drops the SSH connection of the process running `pattern` by killing its sshd session
    process, as a lost network or a crashed server would."""
    pid = subprocess.run(["pgrep", "-f", "-x", pattern], capture_output=True, text=True).stdout.split()[0]
    while pid != "1":
        pid = str(process_stat(pid).ppid)
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() == "sshd":
                os.kill(int(pid), signal.SIGKILL)
                return
    raise AssertionError(f"no sshd above '{pattern}'")



class SshLab:
    """What an SSH suite shares: a temporary folder holding a HOME for netlab, a client key
    authorized on `count` sshd instances, and a known_hosts file that trusts all of them."""

    def __init__(self, prefix, count=1):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        self.key = keygen(os.path.join(self.tmp, "id_ed25519"))
        self.authorized = os.path.join(self.tmp, "authorized_keys")
        shutil.copy(self.key + ".pub", self.authorized)
        self.sshd = []
        try:
            for _ in range(count):
                self.sshd.append(Sshd(self.tmp, self.authorized))
        except BaseException:
            self.close()
            raise
        self.hosts = [f"root@127.0.0.1:{s.port}" for s in self.sshd]
        self.known = os.path.join(self.tmp, "known_hosts")
        with open(self.known, "w") as f:
            for s in self.sshd:
                f.write(s.known_hosts_line())

    def env(self, **extra):
        """The environment for netlab: the lab's HOME and no agent unless a test adds one."""
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        env["HOME"] = self.home
        env.update(extra)
        return env

    def close(self):
        for s in self.sshd:
            s.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Sshd:
    """OpenSSH's sshd on 127.0.0.1:free port, ready once it answers with its banner."""

    def __init__(self, tmp, authorized_keys, log_level="ERROR", extra_config="", sftp="internal-sftp"):
        """`sftp`: the sftp subsystem's command (a test's own server, say)."""
        os.makedirs("/run/sshd", exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="sshd-", dir=tmp)
        self.host_key = keygen(os.path.join(self.dir, "host_ed25519"))
        self.port = free_port()
        self.config = os.path.join(self.dir, "sshd_config")
        with open(self.config, "w") as f:
            f.write(f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.host_key}
PidFile {self.dir}/sshd.pid
AuthorizedKeysFile {authorized_keys}
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
Subsystem sftp {sftp}
MaxStartups 200
MaxSessions 200
LogLevel {log_level}
{extra_config}""")
        self.log_path = os.path.join(self.dir, "sshd.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self._command(), stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log)
        self._wait_ready()

    def _command(self):
        """sshd's command line. Where a private mount namespace can be made, an empty folder is
        mounted over the login user's home for sshd and its sessions only: the remote shell then
        reads no start-up files (on these machines root's .bashrc runs pyenv, seconds per
        session under load), and nothing outside the test is touched."""
        sshd = [SSHD, "-D", "-e", "-f", self.config]
        unshare = shutil.which("unshare")
        if unshare is None:
            return sshd
        empty_home = tempfile.mkdtemp(prefix="home-", dir=self.dir)
        home = os.path.expanduser("~root")
        probe = subprocess.run([unshare, "--mount", "--propagation", "private", "mount", "--bind", empty_home, home],
                               capture_output=True)
        if probe.returncode != 0:
            return sshd
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        return [unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh", empty_home, home, *sshd]

    def _wait_ready(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"sshd exited {self.proc.returncode}: {open(self.log_path).read()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("sshd did not answer within 20 s")

    def known_hosts_line(self):
        with open(self.host_key + ".pub") as f:
            kind, blob = f.read().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {blob}\n"

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
