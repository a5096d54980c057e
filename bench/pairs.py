#!/usr/bin/env python3
"""Interleaved-pair comparison: the one way every script in bench/ compares two or more commands.

    bench/pairs.py [options] NAME=COMMAND NAME=COMMAND [NAME=COMMAND ...]
    bench/pairs.py --header

Runs the commands (each a /bin/sh command line) alternately, A B A B ... (A B C A B C ... for
three), for --pairs rounds (default 9, at least 9), after one unmeasured warm-up round. Each run
gives one figure: its wall time (default), or a number read from its output (--metric). The first
command is the subject; for every other command X the row reports the median of the per-round
ratios A/X with their min-max, the number of rounds that counted, and the median figure of each
side. Machine drift hits both sides of a round alike, so the ratio of a round is the comparison;
a median over rounds discards the odd round a neighbour's burst of work disturbed.

The load average is sampled from /proc/loadavg before, every 0.5 s during, and after the run.
A row is labelled "busy" when the 1-minute load average before the run, or at any time during it,
exceeds --busy-above (default 0.5, on a 2-core machine), otherwise "idle". Nothing else is said
about the machine: there is no "quiet" label.

Output: one markdown table row per comparison on stdout (--header prints the matching header), and
with --json FILE (or $PAIRS_JSON) one JSON object per comparison appended to FILE. Exit status 0
when every comparison has at least one good round, 1 otherwise, 2 on bad usage.

Options:
  --label TEXT       what the row measures (first column)
  --pairs N          measured rounds (default 9; fewer than 9 is refused)
  --warmup N         unmeasured rounds first (default 1)
  --metric M         wall (default): wall time in seconds, lower is better;
                     json:FIELD[.SUB]: a number in the command's JSON output, higher is better;
                     regex:PATTERN: the first group of the first match in stdout, higher is better
  --lower-is-better / --higher-is-better   override the direction the metric implies
  --unit TEXT        unit shown with the per-side medians (default s for wall)
  --busy-above L     load threshold for "busy" (default 0.5)
  --target TEXT      free text put in the row's last column, e.g. "<= 0.85x"
  --allow-failure    count a run that exits non-zero (default: the round is dropped and counted)
  --json FILE        append one JSON object per comparison

Example:
  bench/pairs.py --label "2000 x true, -j 2" --target "<= 0.85x" \\
      "pool-run=seq 2000 | build/netlab pool-run -j 2 -- true" \\
      "xargs=seq 2000 | xargs -P 2 -n 1 true"
"""

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HEADER = (
    "| row | A vs B | ratio A/B, median (min-max) | better | pairs | median A | median B | "
    "load 1m before / max during / after | label | target |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def usage(message):
    sys.stderr.write(f"pairs.py: {message}\n(see the top of bench/pairs.py)\n")
    sys.exit(2)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class LoadSampler:
    """Samples the 1-minute load average every half second on a thread until stopped."""

    def __init__(self):
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.5):
            self.samples.append(loadavg())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def extract(metric, text):
    if metric.startswith("json:"):
        value = json.loads(text)
        for key in metric[5:].split("."):
            value = value[key]
        return float(value)
    match = re.search(metric[6:], text)
    if not match:
        raise ValueError(f"no match for {metric[6:]!r}")
    return float(match.group(1))


def run_once(command, metric, allow_failure):
    """Returns (figure or None, error text)."""
    capture = metric != "wall"
    start = time.perf_counter()
    proc = subprocess.run(
        ["/bin/sh", "-c", command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 and not allow_failure:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        return None, f"exit {proc.returncode}: {err[-1] if err else ''}"
    if not capture:
        return elapsed, ""
    try:
        return extract(metric, proc.stdout.decode(errors="replace")), ""
    except (ValueError, KeyError, TypeError) as e:
        return None, f"unreadable output ({e})"


def fmt(value):
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def main(argv):
    opts = {
        "label": "",
        "pairs": 9,
        "warmup": 1,
        "metric": "wall",
        "direction": None,
        "unit": None,
        "busy_above": 0.5,
        "target": "",
        "allow_failure": False,
        "json": os.environ.get("PAIRS_JSON"),
    }
    commands = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--header":
            print(HEADER)
            return 0
        if arg in ("-h", "--help"):
            print(__doc__)
            return 0
        if arg == "--allow-failure":
            opts["allow_failure"] = True
        elif arg == "--lower-is-better":
            opts["direction"] = "lower"
        elif arg == "--higher-is-better":
            opts["direction"] = "higher"
        elif arg in ("--label", "--pairs", "--warmup", "--metric", "--unit", "--busy-above", "--target", "--json"):
            if not args:
                usage(f"{arg} needs a value")
            value = args.pop(0)
            key = arg[2:].replace("-", "_")
            if key in ("pairs", "warmup"):
                try:
                    opts[key] = int(value)
                except ValueError:
                    usage(f"{arg} takes a whole number, not {value!r}")
            elif key == "busy_above":
                opts[key] = float(value)
            else:
                opts[key] = value
        elif arg.startswith("--"):
            usage(f"unknown option {arg}")
        else:
            name, sep, command = arg.partition("=")
            if not sep or not name or not command:
                usage(f"a command is NAME=COMMAND, not {arg!r}")
            commands.append((name, command))
    if len(commands) < 2:
        usage("give at least two NAME=COMMAND")
    if opts["pairs"] < 9:
        usage(f"--pairs {opts['pairs']}: at least 9 rounds, or the median says little")
    metric = opts["metric"]
    if metric != "wall" and not metric.startswith(("json:", "regex:")):
        usage(f"--metric {metric!r}: wall, json:FIELD or regex:PATTERN")
    higher = (opts["direction"] or ("lower" if metric == "wall" else "higher")) == "higher"
    unit = opts["unit"] if opts["unit"] is not None else ("s" if metric == "wall" else "")

    figures = {name: [] for name, _ in commands}  # per round, None when that run failed
    errors = {name: [] for name, _ in commands}
    load_before = loadavg()
    with LoadSampler() as sampler:
        for round_no in range(opts["warmup"] + opts["pairs"]):
            for name, command in commands:
                value, error = run_once(command, metric, opts["allow_failure"])
                if round_no < opts["warmup"]:
                    continue
                figures[name].append(value)
                if error:
                    errors[name].append(error)
    load_after = loadavg()
    during = sampler.samples or [load_after]
    load_max = max(during)
    busy = load_before > opts["busy_above"] or load_max > opts["busy_above"]

    status = 0
    subject, _ = commands[0]
    for other, _ in commands[1:]:
        ratios = [
            a / b
            for a, b in zip(figures[subject], figures[other])
            if a is not None and b is not None and b != 0
        ]
        good_a = [a for a, b in zip(figures[subject], figures[other]) if a is not None and b is not None]
        good_b = [b for a, b in zip(figures[subject], figures[other]) if a is not None and b is not None]
        failed = opts["pairs"] - len(ratios)
        result = {
            "label": opts["label"],
            "a": subject,
            "b": other,
            "metric": metric,
            "better": "higher" if higher else "lower",
            "unit": unit,
            "pairs": len(ratios),
            "failed_pairs": failed,
            "ratio_median": statistics.median(ratios) if ratios else None,
            "ratio_min": min(ratios) if ratios else None,
            "ratio_max": max(ratios) if ratios else None,
            "ratios": ratios,
            "median_a": statistics.median(good_a) if good_a else None,
            "median_b": statistics.median(good_b) if good_b else None,
            "load_before": load_before,
            "load_max_during": load_max,
            "load_after": load_after,
            "busy_above": opts["busy_above"],
            "label_load": "busy" if busy else "idle",
            "target": opts["target"],
            "errors": {subject: errors[subject][:3], other: errors[other][:3]},
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if not ratios:
            status = 1
            ratio_text = "n/a"
        else:
            ratio_text = f"{result['ratio_median']:.2f}x ({result['ratio_min']:.2f}-{result['ratio_max']:.2f})"
        pairs_text = f"{len(ratios)}" + (f" ({failed} failed)" if failed else "")
        cell = lambda text: text.replace("|", "\\|")  # a pipe in a label would split the markdown cell
        print(
            f"| {cell(opts['label'])} | {cell(subject)} vs {cell(other)} | {ratio_text} | {result['better']} | {pairs_text} | "
            f"{fmt(result['median_a'])} {unit} | {fmt(result['median_b'])} {unit} | "
            f"{load_before:.2f} / {load_max:.2f} / {load_after:.2f} | {result['label_load']} | {cell(opts['target'])} |",
            flush=True,
        )
        for name in (subject, other):
            for error in errors[name][:1]:
                sys.stderr.write(f"pairs.py: {opts['label']}: {name}: {error}\n")
        if opts["json"]:
            with open(opts["json"], "a") as f:
                f.write(json.dumps(result) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
