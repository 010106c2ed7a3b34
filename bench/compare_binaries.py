#!/usr/bin/env python3
"""Compare the speed of two gitseal binaries (two profiles, two feature sets) on one input.

    python3 bench/compare_binaries.py OLD NEW [--input FILE] [--runs N] [--callgrind]

The two binaries run alternately, run by run, so a change in the machine's load touches
both alike: `encrypt --age <demo recipient>` of the input (default: the 100,000-value
Secret of `bench/gen.py big`, made in a scratch directory), then `decrypt` of that output
to /dev/null. For each binary and command it prints the minimum and median wall time and
user + sys CPU time (from wait4). With --callgrind it also counts the instructions of one
encrypt and one decrypt under valgrind, a figure that does not depend on the machine's
load at all.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_KEY = os.path.join(ROOT, "keys-example", "demo.agekey")
REGEX = "^(data|stringData)$"


def recipient():
    with open(DEMO_KEY + ".pub") as f:
        for word in f.read().split():
            if word.startswith("age1"):
                return word
    sys.exit(f"no age recipient in {DEMO_KEY}.pub")


def run(argv, stdout, env):
    """Runs argv, returns (wall seconds, user + sys CPU seconds); fails loudly."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if status != 0:
        sys.exit(f"{' '.join(argv)} failed ({status}): {err}")
    return wall, usage.ru_utime + usage.ru_stime


def commands(binary, src, enc):
    return {
        "encrypt": ([binary, "encrypt", "--age", recipient(), "--encrypted-regex", REGEX, src], enc),
        "decrypt": ([binary, "decrypt", enc], None),
    }


def callgrind_instructions(argv, out_path, env):
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "cg.out")
        with open(out_path or os.devnull, "wb") as out:
            subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={log}", *argv],
                stdout=out,
                stderr=subprocess.DEVNULL,
                env=env,
                check=True,
            )
        with open(log) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--input", help="file to encrypt (default: bench/gen.py big, 100,000 values)")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--callgrind", action="store_true")
    args = ap.parse_args()

    env = dict(os.environ, SOPS_AGE_KEY_FILE=DEMO_KEY)
    with tempfile.TemporaryDirectory() as work:
        src = args.input
        if not src:
            src = os.path.join(work, "big.yaml")
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen.py"), "big", src, "100000"], check=True)
        binaries = {"old": os.path.abspath(args.old), "new": os.path.abspath(args.new)}
        encs = {name: os.path.join(work, f"{name}.enc.yaml") for name in binaries}
        samples = {(name, cmd): [] for name in binaries for cmd in ("encrypt", "decrypt")}
        for _ in range(args.runs):
            for name, binary in binaries.items():
                for cmd, (argv, out_path) in commands(binary, src, encs[name]).items():
                    with open(out_path or os.devnull, "wb") as out:
                        samples[(name, cmd)].append(run(argv, out, env))

        print(f"input: {src} ({os.path.getsize(src)} bytes), {args.runs} runs per binary, alternating")
        print(f"old: {binaries['old']}\nnew: {binaries['new']}\n")
        print("| command | figure | old | new | new vs old |")
        print("|---|---|---|---|---|")
        for cmd in ("encrypt", "decrypt"):
            for idx, figure in ((0, "wall"), (1, "CPU")):
                for stat_name, stat in (("min", min), ("median", statistics.median)):
                    o = stat(s[idx] for s in samples[("old", cmd)]) * 1000
                    n = stat(s[idx] for s in samples[("new", cmd)]) * 1000
                    print(f"| {cmd} | {figure}, {stat_name} | {o:.0f} ms | {n:.0f} ms | {100 * (n - o) / o:+.1f}% |")
        if args.callgrind:
            for cmd in ("encrypt", "decrypt"):
                counts = {}
                for name, binary in binaries.items():
                    argv, out_path = commands(binary, src, encs[name])[cmd]
                    counts[name] = callgrind_instructions(argv, None if out_path is None else os.path.join(work, "cg.enc.yaml"), env)
                o, n = counts["old"], counts["new"]
                print(f"| {cmd} | instructions (callgrind) | {o:,} | {n:,} | {100 * (n - o) / o:+.2f}% |")


if __name__ == "__main__":
    main()
