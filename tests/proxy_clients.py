"""Real clients through `dbguard proxy` (driven by tests/proxy.rs).

`python proxy_clients.py SCENARIO CONNINFO [ARGS]`: each scenario asserts what the client
sees and prints `ok`. The table `users (id int, name text)` holds 3 rows when a scenario starts;
the proxy runs with `--destructive block`.
"""

import sys
import threading
import time

import psycopg
import psycopg2
from psycopg import errors


def count(conn):
    return conn.execute("SELECT count(*) FROM users").fetchone()[0]


def params(conninfo):
    # psycopg 3 binds on the server: Parse with $1, Bind with the values.
    with psycopg.connect(conninfo, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE id > %s", (1,)).fetchone() == (2,)
        assert conn.execute("SELECT name FROM users WHERE name = %s", ("b",)).fetchone() == ("b",)
        try:
            conn.execute("DELETE FROM users WHERE id > %s", (0,))
            raise AssertionError("DELETE of every row ran")
        except errors.InsufficientPrivilege as e:
            assert "dbguard refused" in str(e), e
            assert "delete-with-where" in (e.diag.message_detail or ""), e.diag.message_detail
        # The same statement prepared (named), executed twice: refused each time.
        for _ in range(2):
            try:
                conn.execute("DELETE FROM users", prepare=True)
                raise AssertionError("DELETE ran")
            except errors.InsufficientPrivilege:
                pass
        # Binary parameters too.
        assert conn.execute("SELECT %b::int + 1", (41,), binary=True).fetchone() == (42,)
        # Weighed with the bound values: a DELETE that matches rows is refused, one that
        # matches none runs.
        try:
            conn.execute("DELETE FROM users WHERE id = %s", (2,))
            raise AssertionError("a DELETE of a row ran")
        except errors.InsufficientPrivilege as e:
            assert "deletes 1 of 3 rows" in (e.diag.message_detail or ""), e.diag.message_detail
        assert conn.execute("DELETE FROM users WHERE id = %s", (999,)).rowcount == 0
        assert count(conn) == 3
        # A small UPDATE is risky, not destructive: it runs.
        conn.execute("UPDATE users SET name = %s WHERE id = %s", ("a2", 1))
        conn.execute("UPDATE users SET name = %s WHERE id = %s", ("a", 1))
    # psycopg2 binds on the client: a simple Query with the values in it.
    conn = psycopg2.connect(conninfo)
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM users WHERE name <> %s", ("zz",))
    assert cur.fetchone() == (3,)
    try:
        cur.execute("TRUNCATE users")
        raise AssertionError("TRUNCATE ran")
    except psycopg2.Error as e:
        assert e.pgcode == "42501", e.pgcode
        conn.rollback()
    try:
        cur.execute("DELETE FROM users WHERE %s", (True,))
        raise AssertionError("DELETE … WHERE true ran")
    except psycopg2.Error as e:
        assert e.pgcode == "42501", e.pgcode
        conn.rollback()
    cur.execute("DELETE FROM users WHERE name = %s", ("nobody",))
    conn.commit()
    cur.execute("SELECT count(*) FROM users")
    assert cur.fetchone()[0] == 3
    conn.close()


def pipeline(conninfo):
    with psycopg.connect(conninfo, autocommit=True) as conn:
        first = third = None
        try:
            with conn.pipeline():
                first = conn.execute("SELECT 1")
                conn.execute("DELETE FROM users WHERE id > %s", (0,))
                third = conn.execute("SELECT 3")
        except errors.InsufficientPrivilege:
            pass
        else:
            raise AssertionError("the pipeline had no error")
        assert first.fetchone() == (1,)
        try:
            third.fetchone()
            raise AssertionError("the statement after the refused one ran")
        except psycopg.Error:
            pass
        # The connection is in a clean state afterwards.
        assert conn.execute("SELECT 4").fetchone() == (4,)
        with conn.pipeline():
            a = conn.execute("SELECT 5")
            b = conn.execute("SELECT count(*) FROM users")
        assert a.fetchone() == (5,) and b.fetchone() == (3,)


def transaction(conninfo):
    with psycopg.connect(conninfo) as conn:
        conn.execute("SELECT 1")
        try:
            conn.execute("DROP TABLE users")
            raise AssertionError("DROP ran")
        except errors.InsufficientPrivilege:
            pass
        # Failed, as after any error, on the server too.
        try:
            conn.execute("SELECT 2")
            raise AssertionError("the transaction was not failed")
        except errors.InFailedSqlTransaction:
            pass
        conn.rollback()
        assert count(conn) == 3
        conn.commit()


def copy(conninfo):
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE t (id int, name text)")
        with conn.cursor().copy("COPY t FROM STDIN") as c:
            for i in range(1000):
                c.write_row((i, f"name {i}"))
        assert conn.execute("SELECT count(*), sum(id) FROM t").fetchone() == (1000, 499500)
        out = bytearray()
        with conn.cursor().copy("COPY t TO STDOUT") as c:
            for block in c:
                out += block
        assert out.count(b"\n") == 1000 and b"999\tname 999\n" in out


def cancel(conninfo):
    with psycopg.connect(conninfo, autocommit=True) as conn:
        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        started = time.monotonic()
        try:
            conn.execute("SELECT pg_sleep(20)")
            raise AssertionError("not cancelled")
        except errors.QueryCanceled:
            pass
        assert time.monotonic() - started < 10
        assert conn.execute("SELECT 1").fetchone() == (1,)


def concurrent(conninfo, clients="20"):
    failures = []

    def client(n):
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                for i in range(30):
                    assert conn.execute("SELECT %s::int * 2", (i,)).fetchone() == (2 * i,)
                try:
                    conn.execute("TRUNCATE users")
                    failures.append(f"client {n}: TRUNCATE ran")
                except errors.InsufficientPrivilege:
                    pass
                assert count(conn) == 3
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(f"client {n}: {e!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(int(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures


def scram(conninfo, password):
    with psycopg.connect(conninfo, password=password, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == conninfo.split("user=")[1]
        assert conn.pgconn.used_password
    try:
        psycopg.connect(conninfo, password="wrong")
        raise AssertionError("a wrong password connected")
    except psycopg.OperationalError as e:
        assert "password authentication failed" in str(e), e


def main():
    scenario, conninfo, *args = sys.argv[1:]
    globals()[scenario](conninfo, *args)
    print("ok")


main()
