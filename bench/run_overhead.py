#!/usr/bin/env python3
"""Overhead of `dbguard run -- true` over `true` (median of many runs).

Target (the guard issue): <= 5 ms. The project's dbguard.toml points [database] at a port
where nothing listens, so any database connection a safe command attempted would show up as
a failure or a delay.

Usage: python3 bench/run_overhead.py [--runs 300]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def median_ms(cmd, runs, cwd):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        code = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL).returncode
        times.append((time.perf_counter() - start) * 1000)
        if code != 0:
            sys.exit(f"{cmd} exited with {code}")
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    dbguard = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "dbguard"
    true = subprocess.run(["sh", "-c", "command -v true"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as project:
        Path(project, "dbguard.toml").write_text('[database]\nurl = "postgresql://nobody@127.0.0.1:1/none"\n[backup]\ndir = "backups"\n')
        for _ in range(20):  # warm the page cache
            subprocess.run([str(dbguard), "run", "--", true], cwd=project)
        base, base_min = median_ms([true], args.runs, project)
        guarded, guarded_min = median_ms([str(dbguard), "run", "--", true], args.runs, project)
    overhead = guarded - base
    print(f"`true`:                   median {base:.2f} ms (min {base_min:.2f})")
    print(f"`dbguard run -- true`:    median {guarded:.2f} ms (min {guarded_min:.2f})")
    print(f"{'PASS' if overhead <= 5 else 'FAIL'} overhead {overhead:.2f} ms (target <= 5 ms), {args.runs} runs each")


if __name__ == "__main__":
    main()
