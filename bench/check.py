#!/usr/bin/env python3
"""Benchmark for `dbguard check`: throughput, peak memory, start-up time.

Builds dbguard in release mode, generates a deterministic corpus of realistic PostgreSQL
migrations, runs `dbguard check --format json --fail-on never` over it a few times and
prints wall time, CPU time, throughput and peak RSS, checked against the targets below.
It prints figures; it is not a test (exit 0 unless --strict and a target is missed).

    python3 bench/check.py                 # 25 MB corpus, 3 runs, scaling, start-up, 100 MB file
    python3 bench/check.py --size-mb 5 --runs 1 --no-scaling --no-big-file
    python3 bench/check.py --out /tmp/corpus --keep   # keep the corpus for profiling

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Targets.
TARGET_CPU_MB_S = 10.0  # MB/s of input per second of CPU time (per core)
TARGET_RSS_MIB = 30.0  # peak RSS while checking the default (25 MB) corpus
TARGET_STARTUP_MS = 3.0  # median wall time of `dbguard check ONE_SMALL_FILE`

MB = 1_000_000
REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- corpus

NOUNS = [
    "account", "user", "organization", "team", "membership", "invoice", "invoice_line",
    "payment", "refund", "subscription", "plan", "product", "product_variant", "price",
    "order", "order_item", "cart", "cart_item", "shipment", "address", "warehouse",
    "stock_level", "supplier", "purchase_order", "coupon", "discount", "tax_rate", "review",
    "comment", "post", "tag", "attachment", "notification", "email_message", "audit_event",
    "session", "api_key", "webhook", "webhook_delivery", "feature_flag", "experiment",
    "report", "dashboard", "widget", "project", "task", "milestone", "time_entry", "ticket",
    "customer", "contact", "lead", "opportunity", "campaign", "segment", "device", "location",
]
COLUMN_TYPES = [
    "text", "text NOT NULL", "varchar(255)", "varchar(64) NOT NULL", "integer",
    "integer NOT NULL DEFAULT 0", "bigint", "boolean NOT NULL DEFAULT false", "boolean",
    "numeric(12, 2)", "numeric(12, 2) NOT NULL DEFAULT 0", "timestamptz",
    "timestamptz NOT NULL DEFAULT now()", "date", "jsonb NOT NULL DEFAULT '{}'::jsonb",
    "jsonb", "uuid NOT NULL DEFAULT gen_random_uuid()", "text[]", "inet", "smallint",
    "double precision", "interval", "char(2)", "citext",
]
COLUMN_WORDS = [
    "name", "title", "description", "status", "kind", "email", "phone", "amount", "currency",
    "quantity", "notes", "external_ref", "slug", "code", "country", "city", "postal_code",
    "starts_at", "ends_at", "expires_at", "archived_at", "score", "priority", "position",
    "metadata", "settings", "locale", "timezone", "source", "channel", "version", "weight",
    "color", "label", "url", "ip_address", "user_agent", "reason", "total", "subtotal",
]
WORDS = (
    "the of and to in is was for on that with as by at from this be or an are it which "
    "customer order invoice payment refund team project status pending active archived "
    "migration backfill legacy cleanup report daily weekly monthly review approved rejected "
    "café naïve résumé Zürich São Paulo Straße"
).split()
STATUSES = ["pending", "active", "archived", "cancelled", "paid", "failed", "draft", "sent"]
ROLES = ["app_user", "readonly", "reporting", "billing_service", "analytics", "admin_role"]


class Gen:
    """Deterministic generator of migration statements."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.tables: list[tuple[str, list[str]]] = []  # (name, columns)
        self.serial = 0

    # helpers ---------------------------------------------------------------
    def ident(self) -> str:
        self.serial += 1
        return f"{self.r.choice(NOUNS)}s_{self.serial}"

    def text(self, lo: int = 2, hi: int = 12) -> str:
        return " ".join(self.r.choice(WORDS) for _ in range(self.r.randint(lo, hi)))

    def quote(self, s: str) -> str:
        return "'" + s.replace("'", "''") + "'"

    def table(self) -> tuple[str, list[str]]:
        if not self.tables or self.r.random() < 0.15:
            return self.fresh_table_name()
        return self.r.choice(self.tables[-40:])

    def fresh_table_name(self) -> tuple[str, list[str]]:
        name = self.ident()
        cols = ["id"] + self.r.sample(COLUMN_WORDS, 8)
        return name, cols

    def value(self, col: str) -> str:
        r = self.r.random()
        if col == "id":
            return str(self.r.randint(1, 10**9))
        if r < 0.45:
            return self.quote(self.text(1, 6) + (" it's" if self.r.random() < 0.1 else ""))
        if r < 0.7:
            return str(self.r.randint(0, 100000))
        if r < 0.8:
            return f"{self.r.randint(0, 9999)}.{self.r.randint(0, 99):02d}"
        if r < 0.87:
            return "now()"
        if r < 0.93:
            return "NULL"
        return self.r.choice(["true", "false"])

    # statements ------------------------------------------------------------
    def comment(self) -> str:
        if self.r.random() < 0.8:
            return "-- " + self.text(3, 14)
        return "/*\n * " + self.text(5, 15) + "\n * " + self.text(5, 15) + "\n */"

    def create_table(self) -> str:
        name, _ = self.fresh_table_name()
        ncols = self.r.randint(6, 28)
        cols = ["id"]
        lines = ["    id bigserial PRIMARY KEY"]
        for word in self.r.sample(COLUMN_WORDS, min(ncols, len(COLUMN_WORDS))):
            cols.append(word)
            lines.append(f"    {word} {self.r.choice(COLUMN_TYPES)}")
        for _ in range(self.r.randint(0, 3)):
            if not self.tables:
                break
            ref, _ = self.r.choice(self.tables[-60:])
            col = ref.rsplit("_", 1)[0].rstrip("s") + "_id"
            if col in cols:
                continue
            cols.append(col)
            action = self.r.choice(["ON DELETE CASCADE", "ON DELETE SET NULL", "ON DELETE RESTRICT", ""])
            lines.append(f"    {col} bigint REFERENCES {ref} (id) {action}".rstrip())
        if self.r.random() < 0.4:
            lines.append("    created_at timestamptz NOT NULL DEFAULT now()")
            lines.append("    updated_at timestamptz NOT NULL DEFAULT now()")
            cols += ["created_at", "updated_at"]
        if self.r.random() < 0.3:
            lines.append(f"    CONSTRAINT {name}_{cols[1]}_check CHECK (char_length({cols[1]}::text) <= 200)")
        if self.r.random() < 0.2:
            lines.append(f"    UNIQUE ({cols[1]}, {cols[-1]})")
        self.tables.append((name, cols))
        ine = "IF NOT EXISTS " if self.r.random() < 0.3 else ""
        return f"CREATE TABLE {ine}{name} (\n" + ",\n".join(lines) + "\n);"

    def create_index(self) -> str:
        name, cols = self.table()
        chosen = self.r.sample(cols, min(len(cols), self.r.randint(1, 3)))
        conc = "CONCURRENTLY " if self.r.random() < 0.5 else ""
        uniq = "UNIQUE " if self.r.random() < 0.15 else ""
        where = f" WHERE {chosen[0]} IS NOT NULL" if self.r.random() < 0.2 else ""
        using = " USING btree" if self.r.random() < 0.2 else ""
        idx = f"{name}_{'_'.join(chosen)}_idx"
        return f"CREATE {uniq}INDEX {conc}IF NOT EXISTS {idx} ON {name}{using} ({', '.join(chosen)}){where};"

    def alter_add(self) -> str:
        name, cols = self.table()
        r = self.r.random()
        if r < 0.5:
            col = f"{self.r.choice(COLUMN_WORDS)}_{self.r.randint(2, 99)}"
            cols.append(col)
            return f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {col} {self.r.choice(COLUMN_TYPES)};"
        if r < 0.75 and self.tables:
            ref, _ = self.r.choice(self.tables[-60:])
            col = self.r.choice(cols)
            return (
                f"ALTER TABLE {name}\n    ADD CONSTRAINT {name}_{col}_fkey FOREIGN KEY ({col})\n"
                f"    REFERENCES {ref} (id) ON DELETE CASCADE NOT VALID;"
            )
        if r < 0.9:
            col = self.r.choice(cols)
            return f"ALTER TABLE {name} ALTER COLUMN {col} SET DEFAULT {self.value(col)};"
        return f"ALTER TABLE {name} VALIDATE CONSTRAINT {name}_{self.r.choice(cols)}_fkey;"

    def insert(self) -> str:
        name, cols = self.table()
        chosen = cols[: self.r.randint(2, min(len(cols), 8))]
        rows = []
        for _ in range(self.r.randint(3, 60)):
            rows.append("    (" + ", ".join(self.value(c) for c in chosen) + ")")
        tail = ""
        if self.r.random() < 0.3:
            tail = "\nON CONFLICT (id) DO NOTHING"
        elif self.r.random() < 0.1:
            tail = f"\nON CONFLICT (id) DO UPDATE SET {chosen[1]} = EXCLUDED.{chosen[1]}"
        return f"INSERT INTO {name} ({', '.join(chosen)}) VALUES\n" + ",\n".join(rows) + tail + ";"

    def comment_on(self) -> str:
        name, cols = self.table()
        if self.r.random() < 0.5:
            return f"COMMENT ON TABLE {name} IS {self.quote(self.text(4, 20))};"
        return f"COMMENT ON COLUMN {name}.{self.r.choice(cols)} IS {self.quote(self.text(4, 20))};"

    def grant(self) -> str:
        name, _ = self.table()
        privs = self.r.choice(["SELECT", "SELECT, INSERT, UPDATE", "ALL PRIVILEGES", "SELECT, INSERT, UPDATE, DELETE"])
        return f"GRANT {privs} ON TABLE {name} TO {self.r.choice(ROLES)};"

    def trigger_function(self) -> str:
        name, cols = self.table()
        fn = f"{name}_touch"
        tag = self.r.choice(["$$", "$$", "$fn$", "$body$"])
        body = [
            "DECLARE",
            "    v_count integer := 0;",
            "BEGIN",
            "    -- keep updated_at current",
            "    NEW.updated_at := now();",
            f"    IF NEW.{cols[1]} IS DISTINCT FROM OLD.{cols[1]} THEN",
            f"        INSERT INTO audit_events (table_name, row_id, changed_at) VALUES ('{name}', NEW.id, now());",
            f"        SELECT count(*) INTO v_count FROM {name} WHERE {cols[1]} = NEW.{cols[1]};",
            "        RAISE NOTICE 'changed % rows (it''s fine)', v_count;",
            "    END IF;",
            "    RETURN NEW;",
            "END;",
        ]
        return (
            f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger\nLANGUAGE plpgsql AS {tag}\n"
            + "\n".join(body)
            + f"\n{tag};\n\n"
            + f"CREATE TRIGGER {name}_touch_trg BEFORE UPDATE ON {name}\n"
            + f"    FOR EACH ROW EXECUTE FUNCTION {fn}();"
        )

    def do_block(self) -> str:
        name, cols = self.table()
        typ = f"{name}_status"
        labels = ", ".join(self.quote(s) for s in self.r.sample(STATUSES, 4))
        return (
            "DO $$\nBEGIN\n"
            f"    IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = '{typ}') THEN\n"
            f"        CREATE TYPE {typ} AS ENUM ({labels});\n"
            "    END IF;\n"
            f"    IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = '{name}' AND column_name = 'state') THEN\n"
            f"        ALTER TABLE {name} ADD COLUMN state {typ};\n"
            "    END IF;\n"
            "END\n$$;"
        )

    def view(self) -> str:
        (a, acols), (b, bcols) = self.table(), self.table()
        cols = ", ".join(f"a.{c}" for c in acols[1:4]) + f", b.{bcols[1]}"
        status = self.r.choice(STATUSES)
        return (
            f"CREATE OR REPLACE VIEW {a}_summary AS\n"
            f"SELECT a.id, {cols}, count(*) AS n\nFROM {a} a\n"
            f"LEFT JOIN {b} b ON b.id = a.id\n"
            f"WHERE a.{acols[1]} IS NOT NULL AND b.{bcols[-1]} <> '{status}'\n"
            f"GROUP BY a.id, {cols};"
        )

    def update_backfill(self) -> str:
        name, cols = self.table()
        col = self.r.choice(cols[1:])
        other = self.r.choice(cols)
        if self.r.random() < 0.5:
            return f"UPDATE {name} SET {col} = {self.value(col)} WHERE {other} IS NULL;"
        return (
            f"UPDATE {name} AS t\n   SET {col} = coalesce(t.{col}, {self.value(col)}),\n"
            f"       {other} = {self.value(other)}\n WHERE t.id IN (SELECT id FROM {name} WHERE {col} IS NULL LIMIT 1000);"
        )

    def copy_block(self) -> str:
        name, cols = self.table()
        chosen = cols[:4]
        lines = [f"COPY {name} ({', '.join(chosen)}) FROM stdin;"]
        for _ in range(self.r.randint(5, 80)):
            lines.append("\t".join(
                str(self.r.randint(1, 10**6)) if c == "id" else self.text(1, 3).replace(" ", "_")
                for c in chosen
            ))
        lines.append("\\.")
        return "\n".join(lines)

    def destructive(self) -> str:
        name, cols = self.table()
        r = self.r.random()
        if r < 0.25:
            return f"DROP TABLE IF EXISTS {name}_legacy;"
        if r < 0.5:
            return f"ALTER TABLE {name} DROP COLUMN IF EXISTS {self.r.choice(cols[1:])};"
        if r < 0.65:
            return f"TRUNCATE TABLE {name}_staging;"
        if r < 0.8:
            return f"DELETE FROM {name}_queue;"
        return f"ALTER TABLE {name} ALTER COLUMN {self.r.choice(cols[1:])} TYPE varchar(100);"

    def statement(self) -> str:
        r = self.r.random()
        # Weights: realistic mix; ~3% destructive.
        for limit, make in self.MIX:
            if r < limit:
                return make(self)
        return self.destructive()

    MIX = [
        (0.15, create_table),
        (0.30, create_index),
        (0.44, alter_add),
        (0.60, insert),
        (0.68, comment_on),
        (0.75, grant),
        (0.79, trigger_function),
        (0.82, do_block),
        (0.86, view),
        (0.94, update_backfill),
        (0.97, copy_block),
    ]

    def migration(self, target_bytes: int) -> str:
        parts = [f"-- Migration {self.serial}: {self.text(3, 8)}", ""]
        size = 0
        transaction = self.r.random() < 0.6
        if transaction:
            parts.append("BEGIN;")
        while size < target_bytes:
            if self.r.random() < 0.25:
                parts.append(self.comment())
            s = self.statement()
            parts.append(s)
            parts.append("")
            size += len(s) + 1
        if transaction:
            parts.append("COMMIT;")
        return "\n".join(parts) + "\n"


def generate_corpus(root: Path, size_mb: float, seed: int) -> tuple[int, int]:
    """Writes migrations under root/<app>/<n>_<name>.sql; returns (bytes, files)."""
    gen = Gen(seed)
    target = int(size_mb * MB)
    total = files = 0
    while total < target:
        app = f"app_{files // 250:02d}"
        d = root / app
        d.mkdir(parents=True, exist_ok=True)
        # Most migrations are small, a few are large.
        size = int(gen.r.lognormvariate(8.3, 0.9))
        size = max(300, min(size, 200_000, target - total))
        text = gen.migration(size)
        data = text.encode()
        (d / f"{files:05d}_{gen.r.choice(NOUNS)}.sql").write_bytes(data)
        total += len(data)
        files += 1
    return total, files


def generate_big_file(path: Path, size_mb: float, seed: int) -> int:
    gen = Gen(seed)
    target = int(size_mb * MB)
    total = 0
    with path.open("wb") as f:
        while total < target:
            data = gen.migration(200_000).encode()
            f.write(data)
            total += len(data)
    return total


PATHOLOGICAL = {
    # Inputs that once made parts of the analyzer quadratic (seconds to minutes per MB). They
    # are dense with findings, so slower per MB than ordinary migrations, but linear.
    "one 3 MB line of DELETEs": lambda: "DELETE FROM t; " * 200_000,
    "20k allow-annotated DROPs": lambda: "".join(
        f'-- dbguard:allow drop-table reason: "cleanup {i}"\nDROP TABLE t{i};\n' for i in range(20_000)
    ),
    "DO block with 20k DROPs": lambda: "DO $$ BEGIN\n"
    + "".join(f"  DROP TABLE t{i};\n" for i in range(20_000))
    + "END $$;\n",
    "50k nested parentheses": lambda: "UPDATE t SET a = " + "(" * 50_000 + "1" + ")" * 50_000 + ";\n",
}


# --------------------------------------------------------------------------- running


@dataclass
class Run:
    wall: float
    cpu: float
    rss_kib: int
    code: int


# Peak RSS needs care: Linux carries the high-water mark of the process that calls exec()
# over into the new program, so a child started straight from this (large) Python process
# would report this process's peak, not its own. Runs therefore go through a small helper
# interpreter that fork()s and execs; the copied helper pages are a floor of a few MiB,
# printed as the measurement floor.
RUNNER = r"""
import os, sys, time
runs, out, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
for _ in range(runs):
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.execv(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    print(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, os.waitstatus_to_exitcode(status), flush=True)
"""


def run_many(cmd: list[str], runs: int = 1, out: str = os.devnull) -> list[Run]:
    """Runs cmd `runs` times (stdout to `out`) and measures each run on its own."""
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", RUNNER, str(runs), out, *cmd],
        stdout=subprocess.PIPE, text=True, check=True,
    )
    result = []
    for line in proc.stdout.splitlines():
        wall, cpu, rss, code = line.split()
        if int(code) not in (0, 1):
            sys.exit(f"`{' '.join(cmd)}` failed with exit code {code}")
        result.append(Run(float(wall), float(cpu), int(rss), int(code)))
    return result


def run_once(cmd: list[str]) -> Run:
    return run_many(cmd, 1)[0]


def wall_times(cmd: list[str], runs: int) -> list[float]:
    """Wall time only (start-up): spawned directly, which is cheaper than a fork."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        code = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        if code not in (0, 1):
            sys.exit(f"`{' '.join(cmd)}` failed with exit code {code}")
    return times


def build() -> Path:
    print("building dbguard (release)…", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "dbguard"], cwd=REPO, check=True)
    target = os.environ.get("CARGO_TARGET_DIR")
    candidates = []
    if target:
        # Cargo reads a relative CARGO_TARGET_DIR from where it runs: the repository.
        candidates.append(REPO / target / "release" / "dbguard")
    candidates.append(REPO / "target" / "release" / "dbguard")
    for c in candidates:
        if c.is_file():
            return c
    sys.exit(f"dbguard binary not found in {', '.join(map(str, candidates))}")


def corpus_stats(binary: Path, paths: list[Path]) -> tuple[int, int]:
    """(statements, findings) from one JSON run (also warms the page cache)."""
    import json

    out = subprocess.run(
        [str(binary), "check", "--format", "json", "--fail-on", "never", *map(str, paths)],
        capture_output=True, check=True,
    ).stdout
    doc = json.loads(out)
    return doc["summary"]["statements"], len(doc["findings"])


def mib(kib: int) -> float:
    return kib / 1024


class Verdicts:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def check(self, name: str, ok: bool, detail: str) -> None:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")
        if not ok:
            self.failed.append(name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=25.0, help="corpus size (default 25)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs over the corpus (default 3)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--out", type=Path, help="generate the corpus here (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--binary", type=Path, help="use this dbguard instead of building one")
    ap.add_argument("--scaling", action=argparse.BooleanOptionalAction, default=True,
                    help="also measure peak RSS on a 2x corpus (default on)")
    ap.add_argument("--startup-runs", type=int, default=200)
    ap.add_argument("--big-file-mb", type=float, default=100.0, help="single-file size (0 to skip)")
    ap.add_argument("--no-big-file", action="store_true")
    ap.add_argument("--pathological", action=argparse.BooleanOptionalAction, default=True,
                    help="also time inputs that used to be quadratic (default on)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args()

    binary = args.binary or build()
    verdicts = Verdicts()
    tmp = None
    if args.out:
        root = args.out
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="dbguard-bench-")
        root = Path(tmp)
    try:
        corpus = root / "corpus"
        if corpus.exists():
            shutil.rmtree(corpus)
        t = time.perf_counter()
        size, files = generate_corpus(corpus, args.size_mb, args.seed)
        print(f"generated {size / MB:.1f} MB in {files} files ({time.perf_counter() - t:.1f} s)")
        statements, findings = corpus_stats(binary, [corpus])
        print(f"corpus: {size / MB:.1f} MB, {files} files, {statements} statements, {findings} findings")

        cmd = [str(binary), "check", "--format", "json", "--fail-on", "never", str(corpus)]
        runs = run_many(cmd, args.runs)
        best = min(runs, key=lambda r: r.wall)
        med_wall = statistics.median(r.wall for r in runs)
        med_cpu = statistics.median(r.cpu for r in runs)
        best_cpu = min(r.cpu for r in runs)
        peak = max(r.rss_kib for r in runs)
        mb = size / MB
        print(f"\ncheck over the corpus ({args.runs} runs, --format json > /dev/null):")
        print(f"  wall time     best {best.wall * 1000:8.0f} ms   median {med_wall * 1000:8.0f} ms")
        print(f"  CPU user+sys  best {best_cpu * 1000:8.0f} ms   median {med_cpu * 1000:8.0f} ms")
        print(f"  throughput    {mb / best_cpu:8.1f} MB/s per core (CPU time, best)   "
              f"{mb / med_cpu:.1f} MB/s (median)")
        print(f"                {mb / best.wall:8.1f} MB/s wall (best, {os.cpu_count()} cores)   "
              f"{mb / med_wall:.1f} MB/s (median)")
        floor = run_once(["/bin/true"]).rss_kib if Path("/bin/true").exists() else 0
        print(f"  peak RSS      {mib(peak):8.1f} MiB   (measurement floor {mib(floor):.1f} MiB)")

        scaled_rss = None
        if args.scaling:
            extra = root / "corpus2"
            if extra.exists():
                shutil.rmtree(extra)
            size2, files2 = generate_corpus(extra, args.size_mb, args.seed + 1)
            total2 = size + size2
            r2 = run_once([str(binary), "check", "--format", "json", "--fail-on", "never", str(corpus), str(extra)])
            scaled_rss = r2.rss_kib
            print(f"\nscaling: {total2 / MB:.1f} MB in {files + files2} files: wall {r2.wall * 1000:.0f} ms, "
                  f"CPU {r2.cpu * 1000:.0f} ms ({total2 / MB / r2.cpu:.1f} MB/s per core), "
                  f"peak RSS {mib(r2.rss_kib):.1f} MiB ({mib(r2.rss_kib) - mib(peak):+.1f} MiB vs 1x)")
            if not args.keep:
                shutil.rmtree(extra)

        # Start-up: one small file, many times.
        small = root / "small.sql"
        small.write_text(
            "-- small migration\nCREATE TABLE t (id bigserial PRIMARY KEY, name text NOT NULL);\n"
            "CREATE INDEX t_name_idx ON t (name);\nALTER TABLE t DROP COLUMN name;\n"
        )
        startup = wall_times([str(binary), "check", str(small)], args.startup_runs)
        startup_ms = statistics.median(startup) * 1000
        print(f"\nstart-up: `dbguard check small.sql` x{args.startup_runs}: median {startup_ms:.2f} ms, "
              f"p90 {sorted(startup)[int(len(startup) * 0.9)] * 1000:.2f} ms")

        if args.big_file_mb > 0 and not args.no_big_file:
            big = root / "big.sql"
            t = time.perf_counter()
            big_size = generate_big_file(big, args.big_file_mb, args.seed + 2)
            print(f"\none file of {big_size / MB:.1f} MB (generated in {time.perf_counter() - t:.1f} s):")
            rb = run_once([str(binary), "check", "--format", "json", "--fail-on", "never", str(big)])
            print(f"  wall {rb.wall * 1000:.0f} ms, CPU {rb.cpu * 1000:.0f} ms "
                  f"({big_size / MB / rb.cpu:.1f} MB/s per core), peak RSS {mib(rb.rss_kib):.1f} MiB, exit {rb.code}")
            if not args.keep:
                big.unlink()

        if args.pathological:
            print("\npathological single files (once quadratic; dense with findings):")
            for name, make in PATHOLOGICAL.items():
                path = root / "pathological.sql"
                data = make().encode()
                path.write_bytes(data)
                r = run_once([str(binary), "check", "--format", "json", "--fail-on", "never", str(path)])
                print(f"  {name:28} {len(data) / MB:5.1f} MB: CPU {r.cpu * 1000:7.0f} ms "
                      f"({len(data) / MB / max(r.cpu, 1e-3):6.1f} MB/s), peak RSS {mib(r.rss_kib):.1f} MiB")
                path.unlink()

        print("\ntargets:")
        verdicts.check("throughput", mb / best_cpu >= TARGET_CPU_MB_S,
                       f"{mb / best_cpu:.1f} MB/s per core of CPU time (target >= {TARGET_CPU_MB_S:g})")
        verdicts.check("peak memory", mib(peak) <= TARGET_RSS_MIB,
                       f"{mib(peak):.1f} MiB on {mb:.0f} MB (target <= {TARGET_RSS_MIB:g} MiB on 25 MB)")
        if scaled_rss is not None:
            grown = mib(scaled_rss) - mib(peak)
            verdicts.check("memory flat with corpus size", grown <= max(3.0, 0.1 * mib(peak)),
                           f"{grown:+.1f} MiB at 2x the corpus (allowed +{max(3.0, 0.1 * mib(peak)):.1f})")
        verdicts.check("start-up", startup_ms <= TARGET_STARTUP_MS,
                       f"{startup_ms:.2f} ms median (target <= {TARGET_STARTUP_MS:g})")
    finally:
        if tmp and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        elif args.keep:
            print(f"\nkept generated files in {root}")
    if verdicts.failed and args.strict:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
