#!/usr/bin/env python3
"""Benchmark the guard's protection: a pre-image snapshot of the table at stake against a full
backup of the whole database, and `dbguard undo`.

Starts a throwaway PostgreSQL cluster, fills it with ~1 GB of poorly compressible rows and one
~5 MB table `small`, then times (best of --rounds, the table recreated between rounds):
  * psql -c "DROP TABLE small"                                   the command alone
  * dbguard run --yes -- psql -c "DROP TABLE small"              protection = "snapshot"
  * the same with [guard] protection = "backup" (no backup yet)  a verified full backup first
  * dbguard undo --yes                                           recreates `small` from its snapshot
and prints the times, the time the snapshot adds, and dbguard's peak memory, against the
targets of issue 13: the snapshot path >= 20x faster than the full backup and <= 1 s of added
time; undo of that table <= 2 s; peak memory <= 64 MiB.

Usage: python3 bench/protection.py [--size-mb 1024] [--small-mb 5] [--rounds 3] [--keep DIR]
Exit code 0 unless --strict is given and a target is missed.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backup import REPO, Cluster, fill, timed  # noqa: E402


def make_small(cluster: Cluster, small_mb: int):
    rows = small_mb * 1024 * 1024 // 110
    cluster.psql("bench", f"""
        CREATE TABLE small (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, note text, at timestamptz DEFAULT now());
        INSERT INTO small (email, note) SELECT md5(g::text) || '@example.com', md5((g * 7)::text) || md5(random()::text)
        FROM generate_series(1, {rows}) g;
        ANALYZE small""")
    # Flush now, so no timed run pays for writing out the data just generated.
    cluster.psql("bench", "CHECKPOINT")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024, help="approximate size of the big table (default 1024)")
    ap.add_argument("--small-mb", type=int, default=5, help="approximate size of the dropped table (default 5)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", help="keep the work directory here instead of a temporary one")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args()

    print("building dbguard (release)...", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    dbguard = str(target_dir / "release" / "dbguard")

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dbguard-bench-protection-"))
    work.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(work, 0o755)
    cluster_dir = work / "cluster"
    cluster_dir.mkdir(exist_ok=True)
    cluster = Cluster(cluster_dir)
    try:
        print(f"generating ~{args.size_mb} MB of data and a ~{args.small_mb} MB table...", flush=True)
        t0 = time.perf_counter()
        fill(cluster, args.size_mb)
        cluster.psql("bench", "CHECKPOINT")
        print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
        env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(cluster.port), PGUSER="postgres", PGDATABASE="bench")
        psql = str(cluster.bin / "psql")
        url = cluster.url("bench")
        size = lambda sql: int(subprocess.run([psql, "-XAtc", sql], env=env, capture_output=True, text=True, check=True).stdout.strip())
        drop = [psql, "-X", "-q", url, "-c", "DROP TABLE small"]

        def project(name, extra=""):
            p = work / name
            p.mkdir(exist_ok=True)
            (p / "dbguard.toml").write_text(f'[backup]\ndir = "backups"\nkeep = 2\n{extra}\n[undo]\nkeep = 2\n')
            return str(p / "dbguard.toml")

        snap_cfg = project("snapshot")
        backup_cfg = project("backup", '[guard]\nprotection = "backup"\n')
        plain, snap, full, undo = [], [], [], []
        rss_snap = rss_full = rss_undo = 0
        for r in range(args.rounds):
            make_small(cluster, args.small_mb)
            if r == 0:
                db_size = size("SELECT pg_database_size('bench')")
                small_size, small_heap = size("SELECT pg_total_relation_size('small')"), size("SELECT pg_relation_size('small')")
            t, _ = timed(drop, env)
            plain.append(t)
            make_small(cluster, args.small_mb)
            t, rss = timed([dbguard, "--config", snap_cfg, "-q", "run", "--yes", "--"] + drop, env, watch_rss=True)
            snap.append(t)
            rss_snap = max(rss_snap, rss or 0)
            t, rss = timed([dbguard, "--config", snap_cfg, "-q", "undo", "--yes"], env, watch_rss=True)
            undo.append(t)
            rss_undo = max(rss_undo, rss or 0)
            # Full backups pile up and would make the next round "fresh": start without one.
            for f in (work / "backup" / "backups" / "bench").glob("backup_*"):
                f.unlink()
            # `small` is back (undo): the same command, protected by a full backup.
            t, rss = timed([dbguard, "--config", backup_cfg, "-q", "run", "--yes", "--backup", "--"] + drop, env, watch_rss=True)
            full.append(t)
            rss_full = max(rss_full, rss or 0)

        mib = 1024 * 1024
        best = lambda xs: min(xs)
        added = best(snap) - best(plain)
        ratio = best(full) / best(snap)
        print()
        print(f"database: {db_size / mib:.0f} MiB; table small: {small_heap / mib:.1f} MiB of rows, "
              f"{small_size / mib:.1f} MiB with its indexes")
        print(f"{'':42} {'best':>8} {'all':>30}")
        for label, xs in [("psql DROP TABLE small (alone)", plain), ("run --yes, protection = snapshot", snap),
                          ("run --yes, protection = backup (full)", full), ("undo --yes", undo)]:
            print(f"{label:42} {best(xs):7.3f}s {', '.join(f'{x:.3f}' for x in xs):>30}")
        print()
        checks = [
            (f"snapshot path vs full backup: {ratio:.1f}x faster", ratio >= 20, ">= 20x"),
            (f"time the snapshot adds: {added:.3f} s", added <= 1.0, "<= 1 s"),
            (f"undo of the table: {best(undo):.3f} s", best(undo) <= 2.0, "<= 2 s"),
            (f"peak memory: run {rss_snap / 1024:.1f} MiB, undo {rss_undo / 1024:.1f} MiB, full backup {rss_full / 1024:.1f} MiB",
             max(rss_snap, rss_undo) <= 64 * 1024, "<= 64 MiB"),
        ]
        missed = 0
        for text, ok, target in checks:
            print(f"  [{'ok' if ok else 'MISSED'}] {text} (target {target})")
            missed += not ok
        if args.strict and missed:
            sys.exit(1)
    finally:
        cluster.stop()
        if not args.keep:
            subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()
