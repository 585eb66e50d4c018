"""`dbguard psql` on a pseudo-terminal (driven by tests/proxy.rs): DELETE FROM users is
declined at the prompt (the session goes on, the rows stay), then confirmed (protected, run).
With `run`, the same through `dbguard run -- psql`, declining only."""

import os
import sys

import pexpect

dbguard, db, how, url = sys.argv[1:]
# `dbguard psql` connects to [database]; `dbguard run -- psql` where psql's arguments say.
args = ["psql", "-X"] if how == "psql" else ["run", "--", "psql", "-X", url]
child = pexpect.spawn(dbguard, args, encoding="utf-8", timeout=30,
                      env={"PATH": os.environ["PATH"], "TERM": "dumb"})
prompt = f"{db}=# "
child.expect_exact(prompt)
child.sendline("DELETE FROM users;")
child.expect_exact("deletes every row of users")
child.expect_exact("Type the database name to run it: ")
child.sendline("no")
child.expect_exact("not confirmed")
child.expect_exact(prompt)
child.sendline("SELECT count(*) AS n FROM users;")
child.expect(r"\n\s+3\s*\r?\n")
child.expect_exact(prompt)
if how == "psql":
    child.sendline("DELETE FROM users;")
    child.expect_exact("Type the database name to run it: ")
    child.sendline(db)
    child.expect_exact("DELETE 3")
    child.expect_exact(prompt)
child.sendline("\\q")
child.expect(pexpect.EOF)
child.close()
assert child.exitstatus == 0, child.exitstatus
print("ok")
