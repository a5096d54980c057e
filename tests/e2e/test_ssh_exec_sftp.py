"""ssh-exec's SFTP transfers against servers that lie, stall or go away, and against interruptions.

OpenSSH's sshd is started by the tests; for the hostile cases its sftp subsystem is
tests/e2e/hostile_sftp.py (an SFTP v3 server that answers with escaping names, set-id modes,
truncated files, or nothing at all). After every case the files on both sides are checked:
nothing written outside LOCAL, the old content intact or the new one complete, no temporary file
(".netlab-*") left behind unless the message says where it is.
"""
import hashlib
import os
import pty
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from netlab_test import NETLAB, check_sanitizers, main
from sshd_fixture import SshLab, Sshd

HOSTILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile_sftp.py")
# sshd runs the subsystem with the login user's home hidden (sshd_fixture), so not a Python from there.
PYTHON = "/usr/bin/python3"
BIG = 200 << 20


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def temporaries(folder):
    return [n for n in os.listdir(folder) if n.startswith(".netlab-") or "partial" in n]


def every_file(root):
    out = set()
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            out.add(os.path.relpath(os.path.join(folder, name), root))
    return out


def wait_for(predicate, what, timeout=60):
    """Polls an observed fact (a file exists, a size grows) with a bound; no fixed sleeps."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.002)
    raise AssertionError(f"not seen within {timeout}s: {what}")


def descendants(pid):
    out = []
    for child in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True).stdout.split():
        out.append(int(child))
        out.extend(descendants(int(child)))
    return out


class SftpTrustTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = SshLab("netlab-sftp-")
        cls.tmp, cls.sshd, cls.host = cls.lab.tmp, cls.lab.sshd[0], cls.lab.hosts[0]

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def hostile(self, mode, arg=""):
        """An sshd whose sftp subsystem is the hostile server in `mode`; returns its host spec."""
        server = Sshd(self.tmp, self.lab.authorized, sftp=f"{PYTHON} {HOSTILE} {mode} {arg}".strip())
        self.addCleanup(server.close)
        known = os.path.join(tempfile.mkdtemp(dir=self.tmp), "known_hosts")
        with open(known, "w") as f:
            f.write(server.known_hosts_line())
        return f"root@127.0.0.1:{server.port}", known

    def argv(self, *args, known=None):
        return [NETLAB, "ssh-exec", "--known-hosts", known or self.lab.known, "-i", self.lab.key, *map(str, args)]

    def ssh(self, *args, known=None, timeout=120, umask=None):
        argv = self.argv(*args, known=known)
        preexec = (lambda: os.umask(umask)) if umask is not None else None
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                              env=self.lab.env(), preexec_fn=preexec)
        check_sanitizers(proc.stderr.decode(errors="replace"), " ".join(argv))
        return proc

    def assertOneLine(self, stderr):
        text = stderr.decode(errors="replace")
        self.assertEqual(text.count("\n"), 1, text)
        self.assertTrue(text.startswith("netlab: ssh-exec: "), text)

    # --- 1. names from a listing --------------------------------------------------------------

    def test_listing_names_that_leave_the_folder_are_refused(self):
        # The server lists "../x", an absolute path, "sub/../../y", "." and ".." as files, an empty
        # name and one with a NUL; each would be a file outside LOCAL (scp's CVE-2019-6111).
        base = tempfile.mkdtemp(dir=self.tmp)
        absolute = os.path.join(base, "abs")
        host, known = self.hostile("names", absolute)
        remote = os.path.join(base, "remote", "hostile")
        os.makedirs(remote)
        local = os.path.join(base, "local", "dest")
        os.makedirs(os.path.dirname(local))
        before = every_file(base)
        out = self.ssh("-r", "--get", remote, local, host, known=known)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertOneLine(out.stderr)
        text = out.stderr.decode()
        for shown in ['"../x"', f'"{absolute}"', '"sub/../../y"', '"."', '".."', '""', '"a\\x00b"']:
            self.assertIn(shown, text)
        self.assertNotIn('"ok.txt"', text)
        # Nothing new anywhere: not outside LOCAL, and not inside either (the listing is refused whole).
        self.assertEqual(every_file(base), before)
        self.assertFalse(os.path.lexists(absolute))

    def test_symlink_inside_local_is_not_followed(self):
        # LOCAL already holds "sub" as a link to a folder outside it; the download must not write
        # through it. A remote symbolic link is skipped with a note, not followed.
        base = tempfile.mkdtemp(dir=self.tmp)
        remote = os.path.join(base, "remote", "tree")
        os.makedirs(os.path.join(remote, "sub"))
        with open(os.path.join(remote, "sub", "file.txt"), "w") as f:
            f.write("from the host\n")
        secret = os.path.join(base, "secret.txt")
        with open(secret, "w") as f:
            f.write("not for download\n")
        os.symlink(secret, os.path.join(remote, "link"))
        outside = os.path.join(base, "outside")
        os.makedirs(outside)
        local = os.path.join(base, "local")
        os.makedirs(os.path.join(local, "tree"))
        os.symlink(outside, os.path.join(local, "tree", "sub"))
        out = self.ssh("-r", "--get", remote, local, self.host)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn(b"is not a folder (a symbolic link there is not followed)", out.stderr)
        self.assertEqual(os.listdir(outside), [])
        self.assertTrue(os.path.islink(os.path.join(local, "tree", "sub")))

        os.unlink(os.path.join(local, "tree", "sub"))
        out = self.ssh("-r", "--get", remote, local, self.host)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(f"get {remote}/link: a symbolic link, not followed (--follow-links); skipped".encode(),
                      out.stderr)
        self.assertFalse(os.path.lexists(os.path.join(local, "tree", "link")))
        with open(os.path.join(local, "tree", "sub", "file.txt")) as f:
            self.assertEqual(f.read(), "from the host\n")
        # Asked to, it copies what the link points at, as a plain file.
        followed = os.path.join(base, "followed")
        out = self.ssh("-r", "--follow-links", "--get", remote, followed, self.host)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertFalse(os.path.islink(os.path.join(followed, "link")))
        with open(os.path.join(followed, "link")) as f:
            self.assertEqual(f.read(), "not for download\n")

    def test_folder_transfers_with_a_single_channel(self):
        # MaxSessions 1: no channel of netlab's own, so libssh's client lists, and uploads fall back
        # to remove + rename. The same checks hold.
        single = Sshd(self.tmp, self.lab.authorized, extra_config="MaxSessions 1\n")
        self.addCleanup(single.close)
        known = os.path.join(tempfile.mkdtemp(dir=self.tmp), "known_hosts")
        with open(known, "w") as f:
            f.write(single.known_hosts_line())
        host = f"root@127.0.0.1:{single.port}"
        base = tempfile.mkdtemp(dir=self.tmp)
        src = os.path.join(base, "src")
        os.makedirs(os.path.join(src, "a"))
        for rel in ("top.bin", "a/inner.bin"):
            with open(os.path.join(src, rel), "wb") as f:
                f.write(os.urandom(70000))
        remote = os.path.join(base, "remote")
        os.makedirs(os.path.join(remote, "src"))
        with open(os.path.join(remote, "src", "top.bin"), "w") as f:
            f.write("old\n")
        out = self.ssh("-r", "--put", src, remote, host, known=known)
        self.assertEqual(out.returncode, 0, out.stderr)
        back = os.path.join(base, "back")
        out = self.ssh("-r", "--get", os.path.join(remote, "src"), back, host, known=known)
        self.assertEqual(out.returncode, 0, out.stderr)
        for rel in ("top.bin", "a/inner.bin"):
            self.assertEqual(sha256_file(os.path.join(back, rel)), sha256_file(os.path.join(src, rel)))
        for folder in (os.path.join(remote, "src"), os.path.join(remote, "src", "a"), back, os.path.join(back, "a")):
            self.assertEqual(temporaries(folder), [])

    # --- 2. modes -----------------------------------------------------------------------------

    def test_modes_are_masked_unless_preserve(self):
        host, known = self.hostile("modes")
        base = tempfile.mkdtemp(dir=self.tmp)
        remote = os.path.join(base, "remote")
        os.makedirs(os.path.join(remote, "sticky"))
        for name in ("suid.bin", "sgid.bin", "open.bin", "sticky/inside.txt"):
            with open(os.path.join(remote, name), "wb") as f:
                f.write(name.encode())
        # Under umask 077, as `sftp` does: mode & 0777 & ~umask.
        masked = os.path.join(base, "masked")
        out = self.ssh("-r", "--get", remote, masked, host, known=known, umask=0o077)
        self.assertEqual(out.returncode, 0, out.stderr)
        modes = {n: os.stat(os.path.join(masked, n)).st_mode & 0o7777 for n in ("suid.bin", "sgid.bin", "open.bin", "sticky")}
        self.assertEqual(modes, {"suid.bin": 0o700, "sgid.bin": 0o700, "open.bin": 0o600, "sticky": 0o700})
        one = os.path.join(base, "one.bin")
        out = self.ssh("--get", os.path.join(remote, "suid.bin"), one, host, known=known, umask=0o022)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(os.stat(one).st_mode & 0o7777, 0o755)
        # --preserve keeps them.
        kept = os.path.join(base, "kept")
        out = self.ssh("-r", "--preserve", "--get", remote, kept, host, known=known, umask=0o077)
        self.assertEqual(out.returncode, 0, out.stderr)
        modes = {n: os.stat(os.path.join(kept, n)).st_mode & 0o7777 for n in ("suid.bin", "sgid.bin", "open.bin", "sticky")}
        self.assertEqual(modes, {"suid.bin": 0o4755, "sgid.bin": 0o2777, "open.bin": 0o666, "sticky": 0o1777})

    def test_upload_drops_set_id_bits_unless_preserve(self):
        base = tempfile.mkdtemp(dir=self.tmp)
        local = os.path.join(base, "tool")
        with open(local, "wb") as f:
            f.write(b"#!/bin/sh\n")
        os.chmod(local, 0o4755)
        os.utime(local, (1_000_000_000, 1_000_000_000))
        remote = os.path.join(base, "uploaded")
        out = self.ssh("--put", local, remote, self.host)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(os.stat(remote).st_mode & 0o7777, 0o755)
        out = self.ssh("--preserve", "--put", local, remote, self.host)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(os.stat(remote).st_mode & 0o7777, 0o4755)
        self.assertEqual(int(os.stat(remote).st_mtime), 1_000_000_000)
        self.assertEqual(temporaries(base), [])

    # --- 3. temporary files -------------------------------------------------------------------

    def test_download_temporary_name_is_unpredictable_and_short(self):
        base = tempfile.mkdtemp(dir=self.tmp)
        remote = os.path.join(base, "remote.bin")
        with open(remote, "wb") as f:
            f.write(os.urandom(100000))
        victim = os.path.join(base, "victim.txt")
        with open(victim, "w") as f:
            f.write("keep me\n")
        dest = os.path.join(base, "dest.bin")
        # The old name was DEST.netlab-partial.PID: the shell's PID is netlab's after exec, so a
        # link planted there would have been written through.
        script = 'ln -s "$1" "$2.netlab-partial.$$" && shift 2 && exec "$@"'
        argv = ["sh", "-c", script, "sh", victim, dest, *self.argv("--get", remote, dest, self.host)]
        out = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120, env=self.lab.env())
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(victim) as f:
            self.assertEqual(f.read(), "keep me\n")
        self.assertFalse(os.path.islink(dest))
        self.assertEqual(sha256_file(dest), sha256_file(remote))
        # A destination name of NAME_MAX bytes still has room for its temporary name.
        long_dest = os.path.join(base, "n" * 255)
        out = self.ssh("--get", remote, long_dest, self.host)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(sha256_file(long_dest), sha256_file(remote))
        self.assertEqual([n for n in temporaries(base) if not n.startswith("dest.bin.netlab-partial.")], [])

    # --- 4. a server that stops answering -----------------------------------------------------

    def test_server_that_never_answers_sftp_times_out(self):
        base = tempfile.mkdtemp(dir=self.tmp)
        remote = os.path.join(base, "remote.bin")
        with open(remote, "wb") as f:
            f.write(b"x" * 1000)
        dest = os.path.join(base, "dest.bin")
        # Not even the version answer: --connect-timeout bounds the SFTP start.
        host, known = self.hostile("hang")
        out = self.ssh("--connect-timeout", "5", "--get", remote, dest, host, known=known, timeout=60)
        self.assertEqual(out.returncode, 124, out.stderr)
        self.assertOneLine(out.stderr)
        self.assertIn(b"starting SFTP timed out after 5s (--connect-timeout)", out.stderr)
        # The version, then silence: --timeout bounds the transfer, both ways.
        host, known = self.hostile("hang-after-init")
        out = self.ssh("--timeout", "3", "--get", remote, dest, host, known=known, timeout=60)
        self.assertEqual(out.returncode, 124, out.stderr)
        self.assertOneLine(out.stderr)
        self.assertIn(b"transfers timed out after 3s (--timeout)", out.stderr)
        out = self.ssh("--timeout", "3", "--put", remote, os.path.join(base, "up.bin"), host, known=known, timeout=60)
        self.assertEqual(out.returncode, 124, out.stderr)
        self.assertOneLine(out.stderr)
        self.assertFalse(os.path.exists(dest))
        self.assertFalse(os.path.exists(os.path.join(base, "up.bin")))
        self.assertEqual(temporaries(base), [])

    # --- 5. atomic uploads, truncating servers ------------------------------------------------

    def test_truncating_server_never_replaces_a_file(self):
        host, known = self.hostile("truncate")
        base = tempfile.mkdtemp(dir=self.tmp)
        local = os.path.join(base, "local.bin")
        with open(local, "wb") as f:
            f.write(os.urandom(3 << 20))
        remote = os.path.join(base, "remote", "target.bin")
        os.makedirs(os.path.dirname(remote))
        with open(remote, "w") as f:
            f.write("old remote\n")
        out = self.ssh("--put", local, remote, host, known=known)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertOneLine(out.stderr)
        self.assertIn(b"size mismatch", out.stderr)
        with open(remote) as f:
            self.assertEqual(f.read(), "old remote\n")
        self.assertEqual(temporaries(os.path.dirname(remote)), [])
        # Downloads: the server's reads stop at half the file.
        dest = os.path.join(base, "dest.bin")
        with open(dest, "w") as f:
            f.write("old local\n")
        out = self.ssh("--get", local, dest, host, known=known)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertOneLine(out.stderr)
        with open(dest) as f:
            self.assertEqual(f.read(), "old local\n")
        self.assertEqual(temporaries(base), [])

    def test_upload_without_posix_rename_still_replaces(self):
        host, known = self.hostile("no-posix-rename")
        base = tempfile.mkdtemp(dir=self.tmp)
        local = os.path.join(base, "local.bin")
        with open(local, "wb") as f:
            f.write(os.urandom(300000))
        remote = os.path.join(base, "remote", "target.bin")
        os.makedirs(os.path.dirname(remote))
        with open(remote, "w") as f:
            f.write("old remote\n")
        out = self.ssh("--put", local, remote, host, known=known)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(sha256_file(remote), sha256_file(local))
        self.assertEqual(temporaries(os.path.dirname(remote)), [])

    def test_server_killed_mid_upload_leaves_remote_untouched(self):
        server = Sshd(self.tmp, self.lab.authorized)
        self.addCleanup(server.close)
        known = os.path.join(tempfile.mkdtemp(dir=self.tmp), "known_hosts")
        with open(known, "w") as f:
            f.write(server.known_hosts_line())
        base = tempfile.mkdtemp(dir=self.tmp)
        local = os.path.join(base, "big.bin")
        self.make_big(local)
        folder = os.path.join(base, "remote")
        os.makedirs(folder)
        remote = os.path.join(folder, "target.bin")
        with open(remote, "w") as f:
            f.write("old remote\n")
        proc = subprocess.Popen(self.argv("--put", local, remote, f"root@127.0.0.1:{server.port}", known=known),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self.lab.env())
        try:
            self.wait_growing(folder)
            for pid in descendants(server.proc.pid):
                with open(f"/proc/{pid}/comm") as f:
                    comm = f.read().strip()
                if comm.startswith("sshd"):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        check_sanitizers(err.decode(errors="replace"), "ssh-exec --put")
        with open(remote) as f:
            self.assertEqual(f.read(), "old remote\n")
        left = temporaries(folder)
        if proc.returncode == 0:
            # The kill came too late to matter: the new content is complete.
            self.assertEqual(sha256_file(remote), sha256_file(local))
            self.assertEqual(left, [])
            return
        self.assertEqual(proc.returncode, 1, err)
        self.assertOneLine(err)
        # Nobody is left to remove the temporary file: the message names it.
        self.assertEqual(len(left), 1, left)
        self.assertIn(f"the partial upload {os.path.join(folder, left[0])} was left on the host".encode(), err)

    # --- 6. interruptions ---------------------------------------------------------------------

    def make_big(self, path):
        with open(path, "wb") as f:
            f.write(os.urandom(1 << 20))
            f.truncate(BIG)  # sparse after the first MiB: quick to make, a full-size transfer

    def wait_growing(self, folder):
        """Waits until a temporary file in `folder` exists and has grown, and returns its name."""
        def growing():
            for name in temporaries(folder):
                try:
                    if os.stat(os.path.join(folder, name)).st_size > 0:
                        return name
                except FileNotFoundError:
                    pass
            return None
        return wait_for(growing, f"a growing temporary file in {folder}")

    def interrupt(self, argv, folder, signum):
        """Runs argv with stderr on a terminal, sends `signum` once a temporary file in `folder`
        grows, and returns (exit code, everything written to the terminal)."""
        master, slave = pty.openpty()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                                env=self.lab.env())
        os.close(slave)
        seen = []

        def drain():
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                seen.append(chunk)

        reader = threading.Thread(target=drain)
        reader.start()
        try:
            self.wait_growing(folder)
            proc.send_signal(signum)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            reader.join(timeout=30)
            os.close(master)
        text = b"".join(seen)
        check_sanitizers(text.decode(errors="replace"), " ".join(argv))
        return proc.returncode, text

    def check_interrupted(self, code, text, signum, path, old, new_digest):
        """Either the signal came in time (exit 128+N, old content) or after the end (new content)."""
        with open(path, "rb") as f:
            content = f.read(len(old) + 1)
        if code == 128 + signum:
            self.assertEqual(content, old)
            self.assertIn(f"interrupted by {signal.Signals(signum).name}".encode(), text)
            # The progress line is gone before the message.
            self.assertFalse(text.split(b"\r\x1b[K")[-1].startswith(b"sftp: "), text[-300:])
        else:
            self.assertIn(code, (0, -signum), text[-300:])
            self.assertEqual(sha256_file(path), new_digest)

    def interrupted_transfers(self, direction, source, target_name, old):
        """Runs `--get`/`--put` of `source` into a fresh folder, interrupted by INT, TERM and HUP in
        turn, with the target holding `old` each time: no temporary file is left and the target
        holds either `old` (interrupted in time) or the whole new content (interrupted too late)."""
        digest = sha256_file(source)
        folder = os.path.join(os.path.dirname(source), "into")
        os.makedirs(folder)
        target = os.path.join(folder, target_name)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with self.subTest(signal=signum.name):
                with open(target, "wb") as f:
                    f.write(old)
                code, text = self.interrupt(self.argv(direction, source, target, self.host), folder, signum)
                self.assertEqual(temporaries(folder), [], (code, text[-300:]))
                self.check_interrupted(code, text, signum, target, old, digest)

    def test_interrupted_download_leaves_nothing(self):
        remote = os.path.join(tempfile.mkdtemp(dir=self.tmp), "remote.bin")
        self.make_big(remote)
        self.interrupted_transfers("--get", remote, "dest.bin", b"old local\n")

    def test_interrupted_upload_leaves_remote_untouched(self):
        local = os.path.join(tempfile.mkdtemp(dir=self.tmp), "local.bin")
        self.make_big(local)
        self.interrupted_transfers("--put", local, "target.bin", b"old remote\n")

if __name__ == "__main__":
    main()
