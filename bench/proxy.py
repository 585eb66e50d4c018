#!/usr/bin/env python3
"""`dbguard proxy` against a direct connection and pgbouncer (session mode).

`pgbench -S -c 8 -j 2 -T 20` on one throwaway cluster, three ways in one run: direct,
through pgbouncer, through `dbguard proxy`. Prints TPS, the share of direct TPS, p99
latency (from pgbench's per-transaction log) and the proxy's peak memory with 20 clients.

Targets (issue 10): dbguard keeps more of the direct TPS than pgbouncer does, and >= 80%;
p99 added latency <= 0.5 ms; peak proxy memory <= 32 MiB with 20 clients.

pgbench and pgbouncer come from Debian packages; as root this script installs them when
missing (apt-get install postgresql-contrib pgbouncer).

The three run in interleaved rounds (default 3) and each figure is the median of its rounds,
so a load change on the machine hits all three alike.

Usage: python3 bench/proxy.py [--seconds 20] [--scale 10] [--rounds 3]
"""

import argparse
import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on port {port}")


def is_root():
    return os.geteuid() == 0


def as_server_user(cmd):
    """initdb, postgres and pgbouncer refuse to run as root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if is_root() else cmd


def ensure_tools():
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in p.split("/")[4].split(".")])
    need = []
    if not (shutil.which("pgbench") or (bindirs and Path(bindirs[-1], "pgbench").exists())):
        need.append("postgresql-contrib")
    if not shutil.which("pgbouncer") and not Path("/usr/sbin/pgbouncer").exists():
        need.append("pgbouncer")
    if need:
        if not is_root():
            sys.exit(f"install {' '.join(need)} (sudo apt-get install {' '.join(need)})")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *need], check=True, env=env)
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in p.split("/")[4].split(".")])
    if not bindirs:
        sys.exit("no PostgreSQL server (apt-get install postgresql)")
    pgbouncer = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    return Path(bindirs[-1]), pgbouncer


def pgbench(bindir, port, clients, seconds, logdir, tag):
    prefix = Path(logdir, tag)
    out = subprocess.run(
        [str(bindir / "pgbench"), "-S", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds),
         "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-l", f"--log-prefix={prefix}", "bench"],
        capture_output=True, text=True, cwd=logdir)
    if out.returncode != 0:
        sys.exit(f"pgbench ({tag}) failed:\n{out.stdout}{out.stderr}")
    tps = next(float(l.split("=")[1].split()[0]) for l in out.stdout.splitlines() if l.startswith("tps"))
    latencies = []
    for f in glob.glob(f"{prefix}.*"):
        with open(f) as fh:
            latencies.extend(int(line.split()[2]) for line in fh)
        os.remove(f)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] / 1000 if latencies else float("nan")
    return tps, p99


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    bindir, pgbouncer = ensure_tools()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    dbguard = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "dbguard"

    work = Path(tempfile.mkdtemp(prefix="dbguard-bench-proxy-", dir="/tmp"))
    os.chmod(work, 0o755)
    procs = []
    try:
        data = work / "data"
        if is_root():
            shutil.chown(work, "postgres")
        subprocess.run(as_server_user([str(bindir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
                                       "--no-sync", "-E", "UTF8", "--locale=C"]), check=True, capture_output=True)
        pg_port = free_port()
        procs.append(subprocess.Popen(as_server_user(
            [str(bindir / "postgres"), "-D", str(data), "-p", str(pg_port), "-k", str(work),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(pg_port)
        time.sleep(0.5)
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "bench"], check=True)
        subprocess.run([str(bindir / "pgbench"), "-i", "-q", "-s", str(args.scale), "-h", "127.0.0.1", "-p", str(pg_port),
                        "-U", "postgres", "bench"], check=True, capture_output=True)

        bouncer_port = free_port()
        (work / "userlist.txt").write_text('"postgres" ""\n')
        (work / "pgbouncer.ini").write_text(f"""[databases]
bench = host=127.0.0.1 port={pg_port} dbname=bench
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {bouncer_port}
unix_socket_dir =
auth_type = trust
auth_file = {work}/userlist.txt
pool_mode = session
max_client_conn = 200
default_pool_size = 40
logfile = {work}/pgbouncer.log
pidfile = {work}/pgbouncer.pid
""")
        if is_root():
            for f in ("userlist.txt", "pgbouncer.ini"):
                shutil.chown(work / f, "postgres")
        procs.append(subprocess.Popen(as_server_user([pgbouncer, str(work / "pgbouncer.ini")]),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(bouncer_port)

        proxy_port = free_port()
        project = work / "project"
        project.mkdir()
        (project / "dbguard.toml").write_text('[backup]\ndir = "backups"\n')
        proxy = subprocess.Popen([str(dbguard), "--quiet", "proxy", "--listen", f"127.0.0.1:{proxy_port}",
                                  "--url", f"postgresql://postgres@127.0.0.1:{pg_port}/bench", "--destructive", "block"],
                                 cwd=project, stdout=subprocess.DEVNULL)
        procs.append(proxy)
        wait_port(proxy_port)

        logs = work / "logs"
        logs.mkdir()
        if is_root():
            os.chmod(logs, 0o777)
        # Warm up every path.
        for port in (pg_port, bouncer_port, proxy_port):
            pgbench(bindir, port, 8, 2, logs, "warm")
        rounds = {"direct": [], "pgbouncer": [], "dbguard": []}
        for _ in range(args.rounds):
            for name, port in (("direct", pg_port), ("pgbouncer", bouncer_port), ("dbguard", proxy_port)):
                rounds[name].append(pgbench(bindir, port, 8, args.seconds, logs, name))
        results = {
            name: (statistics.median(t for t, _ in runs), statistics.median(p for _, p in runs))
            for name, runs in rounds.items()
        }
        pgbench(bindir, proxy_port, 20, 5, logs, "twenty")
        peak = peak_rss_mib(proxy.pid)

        direct_tps, direct_p99 = results["direct"]
        print(f"pgbench -S -c 8 -j 2 -T {args.seconds}, scale {args.scale}, PostgreSQL {bindir.parent.name}, "
              f"{os.cpu_count()} cores, median of {args.rounds} interleaved rounds")
        for name, runs in rounds.items():
            print(f"  {name:<10} rounds: " + ", ".join(f"{t:.0f} TPS / p99 {p:.3f} ms" for t, p in runs))
        print(f"{'':<12}{'TPS':>10}{'of direct':>11}{'p99 ms':>9}{'p99 added':>11}")
        for name, (tps, p99) in results.items():
            print(f"{name:<12}{tps:>10.0f}{tps / direct_tps:>10.0%}{p99:>9.3f}{p99 - direct_p99:>+10.3f}")
        dbg_tps, dbg_p99 = results["dbguard"]
        bouncer_tps = results["pgbouncer"][0]
        checks = [
            (dbg_tps > bouncer_tps, f"dbguard keeps more TPS than pgbouncer ({dbg_tps / direct_tps:.0%} vs {bouncer_tps / direct_tps:.0%})"),
            (dbg_tps >= 0.8 * direct_tps, f"dbguard keeps >= 80% of direct ({dbg_tps / direct_tps:.0%})"),
            (dbg_p99 - direct_p99 <= 0.5, f"p99 added <= 0.5 ms ({dbg_p99 - direct_p99:+.3f} ms)"),
            (peak <= 32, f"peak proxy memory with 20 clients <= 32 MiB ({peak:.1f} MiB)"),
        ]
        for ok, what in checks:
            print(f"{'PASS' if ok else 'FAIL'} {what}")
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
