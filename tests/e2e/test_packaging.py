"""The Debian package: built with cpack, unpacked into a scratch root, files where distros expect
them; `cmake --install` puts the same files under any prefix."""
import glob
import gzip
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from netlab_test import SOURCE_DIR, main, require, SKIP
import sys

BUILD_DIR = os.environ.get("NETLAB_BUILD_DIR", "build")

if os.environ.get("NETLAB_SANITIZED"):
    print("skipped: the package is built from the release tree only", file=sys.stderr)
    sys.exit(SKIP)
require("cpack", "dpkg-deb", "dpkg-shlibdeps")

EXPECTED = [
    "usr/bin/netlab",
    "usr/share/man/man1/netlab.1.gz",
    "usr/share/bash-completion/completions/netlab",
    "usr/share/zsh/vendor-completions/_netlab",
    "usr/share/fish/vendor_completions.d/netlab.fish",
    "usr/share/doc/netlab/copyright",
    "usr/share/doc/netlab/changelog.gz",
    "usr/share/doc/netlab/README.md.gz",
    "usr/share/doc/netlab/protocol.md.gz",
    "usr/share/doc/netlab/security.md.gz",
    "usr/share/doc/netlab/ssh-exec.md.gz",
    "usr/share/doc/netlab/pool-run.md.gz",
]
# bash-completion and fish load a script by the command's name: one link per hyphenated busybox name.
COMPLETION_LINKS = ["echo-server", "echo-client", "exec-server", "exec-client", "udp-echo", "select-server",
                    "pool-run", "ssh-exec"]
COMMANDS = COMPLETION_LINKS + ["bench", "probe", "pack", "unpack", "completions"]


class PackagingTest(unittest.TestCase):
    def test_deb(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(["cpack", "-G", "DEB", "-B", tmp], cwd=BUILD_DIR, capture_output=True,
                                 text=True, timeout=300)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            debs = glob.glob(os.path.join(tmp, "netlab_*_amd64.deb"))
            self.assertEqual(len(debs), 1, os.listdir(tmp))
            info = subprocess.run(["dpkg-deb", "-I", debs[0]], capture_output=True, text=True).stdout
            self.assertIn("Package: netlab", info)
            self.assertRegex(info, r"Depends: .*libuv1")
            self.assertRegex(info, r"Depends: .*libc6")
            root = os.path.join(tmp, "root")
            subprocess.run(["dpkg-deb", "-x", debs[0], root], check=True)
            for path in EXPECTED:
                self.assertTrue(os.path.isfile(os.path.join(root, path)), path)
            version = subprocess.run([os.path.join(root, "usr/bin/netlab"), "--version"], capture_output=True,
                                     text=True)
            self.assertRegex(version.stdout, r"^netlab \d+\.\d+\.\d+")
            man = subprocess.run(["sh", "-c", f"zcat {root}/usr/share/man/man1/netlab.1.gz | groff -ww -z -man"],
                                 capture_output=True, text=True)
            self.assertEqual(man.stderr, "")
            for name in COMPLETION_LINKS:
                link = os.path.join(root, "usr/share/bash-completion/completions", name)
                self.assertEqual(os.readlink(link), "netlab", name)
                link = os.path.join(root, "usr/share/fish/vendor_completions.d", name + ".fish")
                self.assertEqual(os.readlink(link), "netlab.fish", name)
            with gzip.open(os.path.join(root, "usr/share/doc/netlab/changelog.gz"), "rt") as f:
                changelog = f.read()
            for command in COMMANDS:
                self.assertIn(command, changelog, f"the changelog names {command}")
            if shutil.which("lintian"):
                # Pedantic, with the informational tags too: a distro reviewer reads all of them.
                # lintian leaves mldbm-elf-* files in its TMPDIR: give it one inside ours.
                lint_tmp = os.path.join(tmp, "lintian-tmp")
                os.mkdir(lint_tmp)
                lint = subprocess.run(["lintian", "--pedantic", "--display-info", "--tag-display-limit", "0",
                                       debs[0]], capture_output=True, text=True, env=dict(os.environ, TMPDIR=lint_tmp))
                tags = [l for l in lint.stdout.splitlines() if re.match(r"^[EWIPX]: ", l)]
                self.assertEqual(tags, [], lint.stdout)

    def test_install_and_remove_in_a_scratch_root(self):
        """dpkg --root installs the package, the installed files work, and a purge leaves nothing."""
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["cpack", "-G", "DEB", "-B", tmp], cwd=BUILD_DIR, capture_output=True, check=True,
                           timeout=300)
            deb = glob.glob(os.path.join(tmp, "netlab_*_amd64.deb"))[0]
            root = os.path.join(tmp, "root")
            admin = os.path.join(root, "var/lib/dpkg")
            for sub in ("info", "updates", "triggers"):
                os.makedirs(os.path.join(admin, sub))
            for name in ("status", "available"):
                open(os.path.join(admin, name), "w").close()
            dpkg = ["dpkg", f"--root={root}", "--log=/dev/null", "--force-not-root", "--force-script-chrootless"]
            # The scratch root has no libc: the library dependencies are the host's, checked above.
            out = subprocess.run([*dpkg, "--force-depends", "-i", deb], capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            netlab = os.path.join(root, "usr/bin/netlab")
            version = subprocess.run([netlab, "--version"], capture_output=True, text=True)
            self.assertRegex(version.stdout, r"^netlab \d+\.\d+\.\d+")
            script = (f"source {root}/usr/share/bash-completion/completions/netlab; "
                      "COMP_WORDS=(netlab completions ''); COMP_CWORD=2; _netlab; echo ${COMPREPLY[*]}")
            completed = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                                       env=dict(os.environ, PATH=f"{root}/usr/bin:" + os.environ["PATH"]))
            self.assertEqual(completed.stdout.split(), ["bash", "zsh", "fish"], completed.stderr)
            man = subprocess.run(f"man -l {root}/usr/share/man/man1/netlab.1.gz | col -b", shell=True,
                                 capture_output=True, text=True, env=dict(os.environ, MANWIDTH="80", PAGER="cat"))
            self.assertIn("ssh-exec", man.stdout)
            out = subprocess.run([*dpkg, "--purge", "netlab"], capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            left = []
            for top, dirs, files in os.walk(root):
                if os.path.relpath(top, root).startswith("var/lib/dpkg"):
                    continue
                left += [os.path.join(top, f) for f in files]
                left += [os.path.join(top, d) for d in dirs if os.path.islink(os.path.join(top, d))]
            self.assertEqual(left, [])
            leftover_dirs = [top for top, dirs, files in os.walk(root)
                             if not dirs and not files and not os.path.relpath(top, root).startswith("var")]
            self.assertEqual(leftover_dirs, [], "empty folders the package made are removed with it")

    def test_plain_configure_builds_the_product_only(self):
        """A packager's `cmake -S . -B b` has no test targets; -DBUILD_TESTING=ON adds them."""
        with tempfile.TemporaryDirectory() as tmp:
            plain = os.path.join(tmp, "plain")
            subprocess.run(["cmake", "-S", SOURCE_DIR, "-B", plain, "-G", "Ninja"], check=True, capture_output=True,
                           timeout=300)
            with open(os.path.join(plain, "build.ninja")) as f:
                ninja = f.read()
            self.assertIn("build netlab:", ninja)
            self.assertNotIn("netlab_unit_tests", ninja)
            self.assertFalse(os.path.exists(os.path.join(plain, "CTestTestfile.cmake")))

    def test_cmake_install_prefix(self):
        with tempfile.TemporaryDirectory() as prefix:
            out = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix], capture_output=True,
                                 text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            for path in EXPECTED:
                self.assertTrue(os.path.isfile(os.path.join(prefix, path.replace("usr/", "", 1))), path)


if __name__ == "__main__":
    main()
