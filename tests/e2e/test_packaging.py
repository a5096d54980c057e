"""The Debian package: built with cpack, unpacked into a scratch root, files where distros expect
them; `cmake --install` puts the same files under any prefix."""
import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from netlab_test import main, require, SKIP
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
]


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
            if shutil.which("lintian"):
                lint = subprocess.run(["lintian", "--no-tag-display-limit", debs[0]], capture_output=True, text=True)
                errors = [l for l in lint.stdout.splitlines() if l.startswith("E:")]
                self.assertEqual(errors, [], lint.stdout)

    def test_cmake_install_prefix(self):
        with tempfile.TemporaryDirectory() as prefix:
            out = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix], capture_output=True,
                                 text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            for path in EXPECTED:
                self.assertTrue(os.path.isfile(os.path.join(prefix, path.replace("usr/", "", 1))), path)


if __name__ == "__main__":
    main()
