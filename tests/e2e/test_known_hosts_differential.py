"""known_hosts: netlab's verdict against OpenSSH's own ssh, file by file, on the same sshd.

Two sshd instances run on 127.0.0.1 (free ports): one with a single ed25519 host key, one with
ed25519, ECDSA and RSA host keys. For every known_hosts file built below (plain and hashed with
`ssh-keygen -H`, @revoked and @cert-authority markers, negations, wildcards, `[host]:port` and
port-less lines, malformed lines, several keys per host, wrong keys) both clients connect:

    ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=F
        -o GlobalKnownHostsFile=/dev/null ...
    netlab ssh-exec --known-hosts F ...

and must agree on accept or refuse, and on why (ssh's "REVOKED", "HAS CHANGED", "No ... host key
is known" against netlab's "REVOKED", "HOST KEY CHANGED", "is not in"). netlab's global file
(/etc/ssh/ssh_known_hosts) must not exist here, since ssh is told to read none.

The second half attacks --accept-new the way issue 13 describes (items 7 to 12).
"""
import base64
import hashlib
import hmac
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

from netlab_test import NETLAB, check_sanitizers, main
from sshd_fixture import SshLab, Sshd, keygen

if shutil.which("ssh") is None:
    print("skipped: ssh (OpenSSH client) not installed", file=sys.stderr)
    sys.exit(77)


def pub(path):
    """(type, base64) of a public key file."""
    with open(path) as f:
        kind, blob = f.read().split()[:2]
    return kind, blob


def hashed(name, salt=None):
    """OpenSSH's hashed host name, as ssh-keygen -H writes it."""
    salt = salt or os.urandom(20)
    mac = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(mac).decode()}"


class KnownHostsDifferential(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.path.exists("/etc/ssh/ssh_known_hosts"):
            raise unittest.SkipTest("/etc/ssh/ssh_known_hosts exists: netlab would read it, ssh is told not to")
        cls.lab = lab = SshLab("netlab-kh-")
        cls.tmp = lab.tmp
        cls.one = lab.sshd[0]
        # The second server holds three host keys; ssh and netlab pick one by what known_hosts holds.
        extra = {kind: keygen(os.path.join(lab.tmp, f"multi_host_{kind}"), kind=kind) for kind in ("ecdsa", "rsa")}
        cls.multi = Sshd(lab.tmp, lab.authorized, extra_config="".join(f"HostKey {k}\n" for k in extra.values()))
        cls.multi_keys = {"ed25519": cls.multi.host_key, **extra}
        other = keygen(os.path.join(lab.tmp, "other_ed25519"))
        other_rsa = keygen(os.path.join(lab.tmp, "other_rsa"), kind="rsa")
        other_ecdsa = keygen(os.path.join(lab.tmp, "other_ecdsa"), kind="ecdsa")
        cls.keys = {
            "good": pub(cls.one.host_key + ".pub"),
            "other": pub(other + ".pub"),
            "other_rsa": pub(other_rsa + ".pub"),
            "other_ecdsa": pub(other_ecdsa + ".pub"),
            "m_ed25519": pub(cls.multi_keys["ed25519"] + ".pub"),
            "m_ecdsa": pub(cls.multi_keys["ecdsa"] + ".pub"),
            "m_rsa": pub(cls.multi_keys["rsa"] + ".pub"),
        }

    @classmethod
    def tearDownClass(cls):
        cls.multi.close()
        cls.lab.close()

    # --- the two clients -----------------------------------------------------------------

    def write(self, text):
        fd, path = tempfile.mkstemp(prefix="kh-", dir=self.tmp)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def openssh(self, known, port, host="127.0.0.1"):
        proc = subprocess.run(
            ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
             "-o", f"UserKnownHostsFile={known}", "-o", "GlobalKnownHostsFile=/dev/null",
             "-o", "IdentitiesOnly=yes", "-i", self.lab.key, "-p", str(port), f"root@{host}", "true"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60, env=self.lab.env())
        text = proc.stderr.decode(errors="replace")
        if proc.returncode == 0:
            return "ok", text
        if "REVOKED HOST KEY" in text:
            return "revoked", text
        if "HOST IDENTIFICATION HAS CHANGED" in text:
            return "changed", text
        if "host key is known for" in text:
            return "unknown", text
        return "other", text

    def netlab(self, known, port, host="127.0.0.1"):
        argv = [NETLAB, "ssh-exec", "--known-hosts", known, "-i", self.lab.key, f"root@{host}:{port}", "--", "true"]
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, env=self.lab.env())
        text = proc.stderr.decode(errors="replace")
        check_sanitizers(text, " ".join(argv))
        if proc.returncode == 0:
            return "ok", text
        self.assertEqual(proc.returncode, 255, text)
        self.assertEqual(len(text.splitlines()), 1, text)
        if "REVOKED" in text:
            return "revoked", text
        if "HOST KEY CHANGED" in text:
            return "changed", text
        if "is not in" in text:
            return "unknown", text
        return "other", text

    def agree(self, name, text, port=None, expect=None, host="127.0.0.1"):
        port = port or self.one.port
        known = self.write(text)
        theirs, their_text = self.openssh(known, port, host)
        ours, our_text = self.netlab(known, port, host)
        self.assertEqual(ours, theirs, f"{name}:\n{text}\nssh: {their_text}\nnetlab: {our_text}")
        if os.environ.get("NETLAB_KH_VERBOSE"):
            print(f"  {name}: {theirs}", file=sys.stderr)
        if expect is not None:
            self.assertEqual(theirs, expect, f"{name}: ssh itself said {theirs}: {their_text}")
        return theirs

    # --- the files --------------------------------------------------------------------------

    def line(self, hosts, key="good", marker=""):
        kind, blob = self.keys[key]
        return f"{marker + ' ' if marker else ''}{hosts} {kind} {blob}\n"

    def test_plain_entries(self):
        p = self.one.port
        self.agree("exact", self.line(f"[127.0.0.1]:{p}"), expect="ok")
        self.agree("comment after key", self.line(f"[127.0.0.1]:{p}").rstrip() + " a comment\n", expect="ok")
        self.agree("leading blanks, tabs", "  \t" + self.line(f"[127.0.0.1]:{p}").replace(" ", "\t", 1), expect="ok")
        self.agree("crlf", self.line(f"[127.0.0.1]:{p}").replace("\n", "\r\n"))
        self.agree("no final newline", self.line(f"[127.0.0.1]:{p}").rstrip("\n"), expect="ok")
        self.agree("empty", "", expect="unknown")
        self.agree("comments only", f"# {self.line(f'[127.0.0.1]:{p}')}", expect="unknown")
        self.agree("other host", self.line("[10.0.0.1]:22,example.org"), expect="unknown")
        self.agree("other port", self.line(f"[127.0.0.1]:{p + 1}"), expect="unknown")
        self.agree("upper-case pattern", self.line(f"[127.0.0.1]:{p}".upper()), expect="ok")
        self.agree("in a list", self.line(f"a.example,[127.0.0.1]:{p},b.example"), expect="ok")
        self.agree("wrong key", self.line(f"[127.0.0.1]:{p}", "other"), expect="changed")
        self.agree("wrong then right", self.line(f"[127.0.0.1]:{p}", "other") + self.line(f"[127.0.0.1]:{p}"),
                   expect="ok")
        self.agree("right then wrong", self.line(f"[127.0.0.1]:{p}") + self.line(f"[127.0.0.1]:{p}", "other"),
                   expect="ok")
        self.agree("other type only", self.line(f"[127.0.0.1]:{p}", "other_rsa"))
        self.agree("other types and right", self.line(f"[127.0.0.1]:{p}", "other_rsa") +
                   self.line(f"[127.0.0.1]:{p}", "other_ecdsa") + self.line(f"[127.0.0.1]:{p}"), expect="ok")

    def test_names_not_addresses(self):
        # The name connected to is looked up, lower-cased; its address is not (CheckHostIP is off).
        p = self.one.port
        self.agree("by name", self.line(f"[localhost]:{p}"), host="localhost", expect="ok")
        self.agree("by name, upper case", self.line(f"[localhost]:{p}"), host="LOCALHOST", expect="ok")
        self.agree("hashed, upper case", self.line(hashed(f"[localhost]:{p}")), host="LocalHost", expect="ok")
        self.agree("address line for a name", self.line(f"[127.0.0.1]:{p}"), host="localhost", expect="unknown")
        self.agree("name pattern", self.line(f"[local*]:{p}"), host="localhost", expect="ok")
        self.agree("port-less name", self.line("localhost"), host="localhost", expect="ok")

    def test_wildcards_and_negations(self):
        p = self.one.port
        self.agree("star", self.line("*"), expect="ok")
        self.agree("star port", self.line("[127.0.0.1]:*"), expect="ok")
        self.agree("question marks", self.line(f"[127.0.0.?]:{p}"), expect="ok")
        self.agree("star inside", self.line(f"[127.*]:{p}"), expect="ok")
        self.agree("no match", self.line("[127.0.0.2]:*"), expect="unknown")
        # ssh then looks the host up without the port, and "*" matches "127.0.0.1".
        self.agree("negated host:port", self.line(f"![127.0.0.1]:{p},*"), expect="ok")
        self.agree("negated then port star", self.line(f"![127.0.0.1]:{p},[127.0.0.1]:*"), expect="unknown")
        self.agree("positive then negated", self.line(f"[127.0.0.1]:*,![127.0.0.1]:{p}"), expect="unknown")
        self.agree("negated bare host does not apply", self.line("!127.0.0.1,*"), expect="ok")
        self.agree("negated other", self.line(f"!10.0.0.1,[127.0.0.1]:{p}"), expect="ok")
        self.agree("only a negation", self.line("!10.0.0.1"), expect="unknown")
        self.agree("negated wrong key line", self.line(f"![127.0.0.1]:{p},*", "other") + self.line("*"),
                   expect="ok")
        self.agree("empty patterns", self.line(f",,[127.0.0.1]:{p},"), expect="ok")
        self.agree("negated star", self.line("!*"), expect="unknown")

    def test_port_less_lines(self):
        p = self.one.port
        self.agree("port-less right key", self.line("127.0.0.1"))
        self.agree("port-less wrong key", self.line("127.0.0.1", "other"))
        self.agree("port-less wrong, port right", self.line("127.0.0.1", "other") + self.line(f"[127.0.0.1]:{p}"),
                   expect="ok")
        self.agree("port right wrong, port-less right",
                   self.line(f"[127.0.0.1]:{p}", "other") + self.line("127.0.0.1"))
        self.agree("port-less hashed", self.line(hashed("127.0.0.1")))
        self.agree("port-less negated", self.line("!127.0.0.1,*") + self.line("127.0.0.1"))
        self.agree("port-less revoked", self.line("127.0.0.1", marker="@revoked") + self.line("127.0.0.1"))
        self.agree("port-less revoked, port right",
                   self.line("127.0.0.1", marker="@revoked") + self.line(f"[127.0.0.1]:{p}"))
        self.agree("bracketed port 22", self.line("[127.0.0.1]:22"))

    def test_hashed(self):
        p = self.one.port
        self.agree("hashed", self.line(hashed(f"[127.0.0.1]:{p}")), expect="ok")
        self.agree("hashed wrong key", self.line(hashed(f"[127.0.0.1]:{p}"), "other"), expect="changed")
        self.agree("hashed other name", self.line(hashed("127.0.0.2")), expect="unknown")
        self.agree("hashed upper-case name", self.line(hashed("LOCALHOST")), expect="unknown")
        salt_bad = hashed(f"[127.0.0.1]:{p}").replace("|1|", "|1|!")
        self.agree("bad salt then real", self.line(salt_bad, "other") + self.line(f"[127.0.0.1]:{p}"), expect="ok")
        short_salt = "|1|" + base64.b64encode(b"x" * 19).decode() + "|" + base64.b64encode(b"y" * 20).decode()
        self.agree("short salt", self.line(short_salt), expect="unknown")
        self.agree("|2| magic", self.line("|2|" + hashed(f"[127.0.0.1]:{p}")[3:]), expect="unknown")
        self.agree("hashed in a list", self.line(hashed(f"[127.0.0.1]:{p}") + ",*.example"), expect="unknown")

        # ssh-keygen -H itself: plain file in, hashed file out, same verdicts.
        for name, text, want in (
                ("keygen plain", self.line(f"[127.0.0.1]:{p}") + self.line("10.1.1.1", "other"), "ok"),
                ("keygen wrong", self.line(f"[127.0.0.1]:{p},other.example", "other"), "changed"),
                ("keygen revoked", self.line(f"[127.0.0.1]:{p}", marker="@revoked") +
                 self.line(f"[127.0.0.1]:{p}"), "revoked")):
            known = self.write(text)
            subprocess.run(["ssh-keygen", "-q", "-H", "-f", known], check=True, capture_output=True)
            with open(known) as f:
                hashed_text = f.read()
            os.unlink(known + ".old")
            self.assertIn("|1|", hashed_text)
            self.agree(name, hashed_text, expect=want)

    def test_markers(self):
        p = self.one.port
        host = f"[127.0.0.1]:{p}"
        self.agree("revoked only", self.line(host, marker="@revoked"), expect="revoked")
        self.agree("revoked and listed", self.line(host) + self.line(host, marker="@revoked"), expect="revoked")
        self.agree("listed after revoked", self.line(host, marker="@revoked") + self.line(host), expect="revoked")
        self.agree("revoked star", self.line("*", marker="@revoked") + self.line(host), expect="revoked")
        self.agree("revoked other host", self.line("10.9.9.9", marker="@revoked") + self.line(host))
        self.agree("revoked other key", self.line(host, "other", marker="@revoked") + self.line(host), expect="ok")
        self.agree("revoked, tab", self.line(host, marker="@revoked").replace(" ", "\t", 1) + self.line(host))
        self.agree("revoked tab then space", "@revoked\t" + self.line(host) + self.line(host))
        self.agree("two markers", self.line(host, marker="@revoked @revoked") + self.line(host), expect="ok")
        self.agree("unknown marker", self.line(host, marker="@trusted"), expect="unknown")
        self.agree("cert-authority", self.line(host, marker="@cert-authority"), expect="unknown")
        self.agree("cert-authority and right", self.line(host, marker="@cert-authority") + self.line(host),
                   expect="ok")
        self.agree("cert-authority and wrong", self.line("*", marker="@cert-authority") +
                   self.line(host, "other"), expect="changed")

    def test_malformed_lines_never_change_a_verdict(self):
        p = self.one.port
        host = f"[127.0.0.1]:{p}"
        kind, blob = self.keys["good"]
        okind, oblob = self.keys["other"]
        raw = base64.b64decode(blob)
        malformed = {
            "bad base64": f"{host} {okind} {oblob[:-8]}!!!!!!!!\n",
            "unknown type": f"{host} ssh-foo {oblob}\n",
            "truncated key": f"{host} {okind} {oblob[:20]}\n",
            "type only": f"{host} {okind}\n",
            "host only": f"{host}\n",
            "type mismatch": f"{host} ecdsa-sha2-nistp256 {oblob}\n",
            "trailing bytes": f"{host} {kind} {base64.b64encode(raw + b'x').decode()}\n",
            "missing padding": f"{host} {okind} {oblob.rstrip('=')}A\n",
            "hash then key": f"{host} # {okind} {oblob}\n",
        }
        for name, bad in malformed.items():
            # Before a right line: still ok. Before a wrong line: still changed. Alone: unknown.
            self.agree(f"{name} / right", bad + self.line(host), expect="ok")
            self.agree(f"{name} / wrong", bad + self.line(host, "other"), expect="changed")
            self.agree(f"{name} alone", bad)
        # A key of the right value in a line ssh cannot read does not count either.
        self.agree("right key, trailing bytes", malformed["trailing bytes"] + self.line(host, "other"),
                   expect="changed")
        self.agree("rsa-sha2-256 name for an rsa key", f"{host} rsa-sha2-256 {self.keys['other_rsa'][1]}\n")
        self.agree("short names", f"{host} ED25519 {blob}\n")

    def test_several_keys_per_host(self):
        p = self.multi.port
        host = f"[127.0.0.1]:{p}"
        for name in ("m_ed25519", "m_ecdsa", "m_rsa"):
            self.agree(f"only {name}", self.line(host, name), port=p, expect="ok")
        self.agree("all three", "".join(self.line(host, n) for n in ("m_rsa", "m_ecdsa", "m_ed25519")), port=p,
                   expect="ok")
        self.agree("ecdsa right, ed25519 wrong", self.line(host, "m_ecdsa") + self.line(host, "other"), port=p)
        self.agree("rsa right, ecdsa wrong", self.line(host, "m_rsa") + self.line(host, "other_ecdsa"), port=p)
        self.agree("wrong rsa only", self.line(host, "other_rsa"), port=p, expect="changed")
        self.agree("rsa revoked, ed25519 listed", self.line(host, "m_rsa", marker="@revoked") +
                   self.line(host, "m_ed25519"), port=p, expect="ok")
        self.agree("ed25519 revoked, rsa listed", self.line(host, "m_ed25519", marker="@revoked") +
                   self.line(host, "m_rsa"), port=p, expect="ok")
        self.agree("port-less ecdsa", self.line("127.0.0.1", "m_ecdsa"), port=p)
        self.agree("negated ecdsa line, rsa line", self.line(f"!{host},*", "m_ecdsa") + self.line("*", "m_rsa"),
                   port=p, expect="ok")


class AcceptNewAttacks(unittest.TestCase):
    """Issue 13, items 7 to 12, set up the way an attacker (or an unlucky user) would."""

    @classmethod
    def setUpClass(cls):
        cls.lab = SshLab("netlab-kh-attack-")
        cls.tmp, cls.sshd = cls.lab.tmp, cls.lab.sshd[0]
        cls.host = f"root@127.0.0.1:{cls.sshd.port}"
        cls.name = f"[127.0.0.1]:{cls.sshd.port}"
        cls.kind, cls.blob = pub(cls.sshd.host_key + ".pub")
        cls.other_kind, cls.other_blob = pub(keygen(os.path.join(cls.tmp, "attacker")) + ".pub")

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def run_netlab(self, *args, known=None, env=None, umask=None):
        opts = ["--known-hosts", known] if known else []
        argv = [NETLAB, "ssh-exec", *opts, "-i", self.lab.key, *args, self.host, "--", "echo ran"]
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                              env=env or self.lab.env(),
                              preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)
        check_sanitizers(proc.stderr.decode(errors="replace"), " ".join(argv))
        return proc

    def known(self, text, name="known_hosts"):
        folder = tempfile.mkdtemp(dir=self.tmp)
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def refused(self, proc, *words):
        text = proc.stderr.decode()
        self.assertEqual(proc.returncode, 255, text)
        self.assertEqual(proc.stdout, b"", text)
        self.assertEqual(len(text.splitlines()), 1, text)
        self.assertTrue(text.startswith("netlab: ssh-exec: "), text)
        for word in words:
            self.assertIn(word, text)
        return text

    def test_item7_revoked_key_refused_and_never_added(self):
        for text in (f"@revoked {self.name} {self.kind} {self.blob}\n",
                     f"@revoked * {self.kind} {self.blob}\n{self.name} {self.kind} {self.blob}\n"):
            path = self.known(text)
            for extra in ([], ["--accept-new"]):
                self.refused(self.run_netlab(*extra, known=path), "REVOKED", "@revoked", f"{path}:1")
                with open(path) as f:
                    self.assertEqual(f.read(), text, "--accept-new must not touch the file")

    def test_item8_malformed_line_before_changed_key(self):
        # A line for the host that ssh cannot read, then the host's real (old) key, which no
        # longer matches: still "changed", and --accept-new appends nothing.
        text = (f"{self.name} {self.kind} AAAA!!!notbase64\n"
                f"{self.name} ssh-foo {self.other_blob}\n"
                f"{self.name} {self.other_kind} {self.other_blob[:24]}\n"
                f"{self.name} {self.other_kind} {self.other_blob}\n")
        path = self.known(text)
        for extra in ([], ["--accept-new"]):
            self.refused(self.run_netlab(*extra, known=path), "HOST KEY CHANGED", f"{path}:4",
                         "3 lines that could not be read were skipped")
            with open(path) as f:
                self.assertEqual(f.read(), text)

    def test_item9_negated_pattern_does_not_apply(self):
        path = self.known(f"![127.0.0.1]:{self.sshd.port},[127.0.0.1]:* {self.kind} {self.blob}\n")
        self.refused(self.run_netlab(known=path), "is not in", "--accept-new")

    def test_item10_port_less_line_accepted_for_another_port(self):
        path = self.known(f"127.0.0.1 {self.kind} {self.blob}\n")
        proc = self.run_netlab(known=path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, b"ran\n")

    def test_item11_cert_authority_named_in_refusal(self):
        path = self.known(f"@cert-authority *.example,127.0.0.1,[127.0.0.1]:* {self.other_kind} {self.other_blob}\n")
        self.refused(self.run_netlab(known=path), "is not in", "@cert-authority", "host certificates", f"{path}:1")

    def test_item12_accept_new_creates_private_folder_and_file(self):
        home = tempfile.mkdtemp(dir=self.tmp)
        proc = self.run_netlab("--accept-new", env=self.lab.env(HOME=home), umask=0o022)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        folder = os.path.join(home, ".ssh")
        path = os.path.join(folder, "known_hosts")
        self.assertEqual(stat.S_IMODE(os.stat(folder).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            self.assertEqual(f.read(), f"{self.name} {self.kind} {self.blob}\n")

    def test_item12_append_keeps_lines_whole(self):
        # An existing last line without a newline is not glued to; several processes accepting at
        # once leave only whole lines (and perhaps empty ones, which readers skip).
        path = self.known(f"example.org {self.other_kind} {self.other_blob}")
        procs = [subprocess.Popen([NETLAB, "ssh-exec", "--known-hosts", path, "-i", self.lab.key, "--accept-new",
                                   self.host, "--", "true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, env=self.lab.env()) for _ in range(6)]
        for proc in procs:
            err = proc.communicate(timeout=60)[1]
            self.assertEqual(proc.returncode, 0, err)
        with open(path) as f:
            lines = f.read().split("\n")
        self.assertEqual(lines[0], f"example.org {self.other_kind} {self.other_blob}")
        self.assertEqual(lines[-1], "")
        self.assertGreaterEqual(len(lines), 3)
        added = [line for line in lines[1:-1] if line]
        self.assertGreaterEqual(len(added), 1)
        for line in added:
            self.assertEqual(line, f"{self.name} {self.kind} {self.blob}")

    def test_item12_symlinked_known_hosts_not_appended_through(self):
        target = self.known("# the real file\n", "elsewhere")
        link = os.path.join(tempfile.mkdtemp(dir=self.tmp), "known_hosts")
        os.symlink(target, link)
        text = self.refused(self.run_netlab("--accept-new", known=link), "symbolic link", target)
        self.assertIn(link, text)
        with open(target) as f:
            self.assertEqual(f.read(), "# the real file\n")
        # A dangling link would create a file wherever it points: refused the same way.
        dangling = os.path.join(tempfile.mkdtemp(dir=self.tmp), "known_hosts")
        planted = os.path.join(self.tmp, "planted")
        os.symlink(planted, dangling)
        self.refused(self.run_netlab("--accept-new", known=dangling), "symbolic link", planted)
        self.assertFalse(os.path.exists(planted))
        # Reading through a link is fine, as with ssh.
        with open(target, "a") as f:
            f.write(f"{self.name} {self.kind} {self.blob}\n")
        proc = self.run_netlab(known=link)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_item12_folder_path_is_an_error(self):
        folder = tempfile.mkdtemp(dir=self.tmp)
        for extra in ([], ["--accept-new"]):
            text = self.refused(self.run_netlab(*extra, known=folder), "is a folder")
            self.assertIn(folder, text)
            self.assertNotIn("is not in", text)
        self.assertEqual(os.listdir(folder), [])


if __name__ == "__main__":
    main()
