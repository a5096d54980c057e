"""A 30-second run of bench/soak.sh: verified traffic on loopback against echo-server (bench tcp
rr and stream), udp-echo (bench udp) and exec-server (exec-client running `cat`), asserting that
no byte was lost or corrupted, every server stopped cleanly and none kept growing under load."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import netlab_test as nt  # noqa: E402

SANITIZED = os.environ.get("NETLAB_SANITIZED") == "1"
SECONDS = 30
# Growth allowed between "steady" (a fifth of the way in) and the end. Generous: the allocator
# keeps what it freed, and a leak per request over a whole soak is far larger.
SLACK_KIB = (64 if SANITIZED else 32) * 1024


class SoakTest(unittest.TestCase):
    def test_thirty_seconds(self):
        tmp = tempfile.mkdtemp(prefix="netlab-soak-")
        self.addCleanup(shutil.rmtree, tmp, True)
        summary_path = os.path.join(tmp, "summary.json")
        env = dict(os.environ, NETLAB=os.path.abspath(nt.NETLAB), SOAK_SUMMARY=summary_path,
                   SOAK_RSS_SLACK_KIB=str(SLACK_KIB))
        if SANITIZED:
            # ASan keeps up to 256 MiB of freed memory in quarantine on purpose, which would read
            # as growth; a smaller quarantine still catches use-after-free of recent frees and
            # lets RSS mean something.
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16"
        script = os.path.join(nt.SOURCE_DIR, "bench", "soak.sh")
        # Niced: the figures checked are errors and memory, not speed, and the suites ctest runs
        # beside this one keep the CPU they need for their own timing.
        proc = subprocess.Popen(["nice", "-n", "19", "bash", script, str(SECONDS / 60)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=SECONDS + 120)
        except subprocess.TimeoutExpired:
            # TERM, not KILL: the script then stops the servers it started.
            proc.terminate()
            out, err = proc.communicate(timeout=30)
            self.fail(f"soak.sh did not finish in {SECONDS + 120}s: {out.decode(errors='replace')}")
        out = out.decode(errors="replace")
        err = err.decode(errors="replace")
        nt.check_sanitizers(err, "soak")
        self.assertEqual(proc.returncode, 0, f"{out}\n{err[-4000:]}")
        with open(summary_path) as f:
            summary = json.load(f)
        os.unlink(summary_path)
        os.rmdir(tmp)
        self.assertEqual(summary["problems"], [], out)
        for key in ("echo_rr", "echo_stream", "udp"):
            figures = summary[key]
            self.assertGreater(figures["messages"], 0, key)
            self.assertEqual((figures["errors"], figures["mismatches"], figures["lost"]), (0, 0, 0), key)
        self.assertGreater(summary["exec"]["requests"], 0)
        self.assertEqual((summary["exec"]["failed"], summary["exec"]["corrupted"]), (0, 0))
        for name, rss in summary["rss_kib"].items():
            self.assertLess(rss["end"] - rss["steady"], SLACK_KIB, f"{name}: {rss}")


if __name__ == "__main__":
    nt.main()
