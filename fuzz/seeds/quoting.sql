-- Destructive words inside strings, comments, dollar quotes and quoted
-- identifiers never count; the real statement right after them still does.

-- expect: none
SELECT 'DROP TABLE users';

-- doubled quote, semicolon and comment marker inside one string
-- expect: none
SELECT 'it''s fine; DROP TABLE users; --';

-- doubled quotes at the very end of the content
-- expect: none
SELECT 'it''s'';DROP TABLE users;--';

-- E-string: \' is an escaped quote, the string continues to the end
-- expect: none
SELECT E'\'; DROP TABLE users; --';

-- lower-case e prefix
-- expect: none
SELECT e'it\'s; TRUNCATE orders; --';

-- E-string ending in an escaped backslash: the string ends, the DROP is real
-- expect: drop-table
SELECT E'\\'; DROP TABLE users; --';

-- standard_conforming_strings is on (the default): a backslash does NOT escape
-- the quote in a plain string, so the DROP is real
-- expect: drop-table
SELECT 'C:\'; DROP TABLE users; --';

-- Unicode-escape string
-- expect: none
SELECT U&'\0044ROP TABLE users';

-- national character string
-- expect: none
SELECT N'DELETE FROM users';

-- a string spanning lines
-- expect: none
SELECT 'first line
DROP TABLE users;
DELETE FROM orders;
last line';

-- expect: none
SELECT $$DROP TABLE users;$$;

-- $$ inside a tagged dollar quote does not end it
-- expect: none
SELECT $tag$ $$ DROP TABLE users; $$ $tag$;

-- dollar-quote tags are case-sensitive: $a$ does not close $A$
-- expect: none
SELECT $A$ $a$; DROP TABLE users; $a$ $A$;

-- the string ends at the matching tag, then a real DROP follows
-- expect: drop-table
SELECT $a$ $b$ $a$; DROP TABLE sessions;

-- a single quote inside a dollar-quoted string does not open a string
-- expect: drop-table
SELECT $$it's$$; DROP TABLE users;

-- dollar quotes inside a regular string do not open a dollar quote
-- expect: drop-table
SELECT '$$'; DROP TABLE users; SELECT '$$';

-- comment markers inside a dollar quote are not comments
-- expect: drop-table
SELECT $$ /* $$; DROP TABLE users; -- */

-- an identifier may contain $, so a$b$c is not a dollar quote
-- expect: drop-table
SELECT a$b$c FROM legacy_settings; DROP TABLE legacy_settings;

-- identifier ending in $$ is not a dollar quote either
-- expect: drop-table
SELECT 1 AS total$$; DROP TABLE users; -- $$

-- positional parameters are not dollar quotes
-- expect: drop-table
PREPARE find_user(int) AS SELECT * FROM users WHERE id = $1; DROP TABLE import_tmp;

-- expect: none
-- DROP TABLE users;

-- expect: none
/* DROP TABLE users; */

-- nested block comments: the first */ does not end the comment
-- expect: none
/* outer /* inner */ DROP TABLE users; */ SELECT 1;

-- ... and after a nested comment properly closes, the DROP is real
-- expect: drop-table
/* a /* b */ c */ DROP TABLE users;

-- multi-line block comment before a DELETE
-- expect: delete-without-where
/*
 * cleanup requested in ticket OPS-1234;
 * DROP TABLE sessions; was rejected
 */
DELETE FROM sessions;

-- an apostrophe in a line comment must not open a string
-- expect: drop-table
-- don't forget to back this up first
DROP TABLE users;

-- an apostrophe in a block comment
-- expect: truncate
/* it's fine */ TRUNCATE sessions;

-- line-comment marker inside a string
-- expect: drop-table
SELECT '--'; DROP TABLE users;

-- block-comment opener inside a string
-- expect: drop-table
SELECT '/*'; DROP TABLE users; -- */

-- a double quote inside a string does not open an identifier
-- expect: drop-table
SELECT '"'; DROP TABLE users; -- "

-- a single quote inside a quoted identifier does not open a string
-- expect: drop-table
SELECT 1 AS "it's"; DROP TABLE users; -- '

-- a comment marker inside a quoted identifier
-- expect: drop-table
SELECT 1 AS "--"; DROP TABLE users;

-- expect: drop-table
SELECT 1 AS "/*"; DROP TABLE users; -- */

-- a quoted identifier that contains a whole statement
-- expect: none
CREATE TABLE "drop table users" (id int);

-- escaped double quote inside a quoted identifier
-- expect: none
SELECT 1 AS "x""; DROP TABLE users; --";

-- a line comment swallows the rest of the line, including a real-looking statement
-- expect: none
SELECT 1; -- ; DROP TABLE users;

-- the commented statement does not count, the next line does
-- expect: drop-table
SELECT 1; -- DROP TABLE a;
DROP TABLE b;

-- destructive text in a COMMENT ON string
-- expect: none
COMMENT ON TABLE users IS 'Never DROP TABLE users; never DELETE FROM users;';

-- pattern matching on destructive text
-- expect: none
SELECT id FROM query_log WHERE query ILIKE '%drop table%' OR query LIKE 'DELETE FROM %';

-- quoted identifiers named after keywords
-- expect: none
SELECT "drop", "table", "delete", "truncate" FROM weird_flags;

-- an INSERT whose values are destructive statements
-- expect: none
INSERT INTO audit_log (action, detail) VALUES ('DELETE', 'DELETE FROM users'), ('DROP', 'DROP TABLE users;');

-- a string containing a backslash-dot line (COPY terminator) is not COPY data
-- expect: drop-table
SELECT '
\.
'; DROP TABLE users;

-- a closed block comment followed by a real statement on the same line
-- expect: drop-table
/* DROP TABLE a; */ DROP TABLE b;
