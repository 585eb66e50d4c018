-- psql scripts: meta-commands and COPY ... FROM stdin data are not SQL.

-- expect: none
\set ON_ERROR_STOP on

-- expect: none
\echo drop table users;

-- expect: none
\echo 'DELETE FROM users;'

-- expect: none
\timing on

-- a meta-command followed by a real statement
-- expect: drop-table
\echo dropping the import table now
DROP TABLE import_batches;

-- pg_dump-style header
-- expect: none
SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET client_min_messages = warning;

-- COPY data lines are not SQL, even when they look like it
-- expect: none
COPY public.import_rows (id, payload) FROM stdin;
1	DROP TABLE users;
2	DELETE FROM orders;
3	TRUNCATE invoices;
\.

-- COPY data with an unbalanced quote, an unclosed comment and a dollar quote;
-- the statement after the terminator is real
-- expect: drop-table
COPY public.import_people (id, name) FROM stdin;
1	O'Brien
2	/* not a comment
3	$$ not a dollar quote
\.
DROP TABLE import_people_old;

-- lower-case stdin, CSV format, header
-- expect: none
copy import_rows (id, payload) from STDIN with (format csv, header true);
id,payload
4,"DROP TABLE users;"
5,"UPDATE users SET admin = true;"
\.

-- COPY ... TO STDOUT has no data lines: the next statement is real
-- expect: truncate
COPY (SELECT id, email FROM users) TO STDOUT WITH (FORMAT csv);
TRUNCATE users_export_queue;

-- COPY from a server file has no inline data either
-- expect: delete-without-where
COPY import_rows FROM '/var/lib/postgresql/import/rows.csv' WITH (FORMAT csv);
DELETE FROM import_rows_staging;

-- a pg_dump section: COPY data then constraints
-- expect: none
COPY public.countries (code, name) FROM stdin;
DE	Germany
DR	DROP TABLE countries;
\.
ALTER TABLE ONLY public.countries ADD CONSTRAINT countries_pkey PRIMARY KEY (code);
SELECT pg_catalog.setval('public.orders_id_seq', 1042, true);

-- pg_dump --clean output does drop things
-- expect: drop-table, drop-sequence
DROP TABLE IF EXISTS public.countries;
DROP SEQUENCE IF EXISTS public.orders_id_seq;

-- psql variable interpolation in the table name: still a DROP TABLE
-- expect: drop-table
\set target_table import_rows
DROP TABLE :target_table;

-- quoted psql variable interpolation
-- expect: delete-without-where
\set target_table import_rows
DELETE FROM :"target_table";

-- a meta-command with leading whitespace is still a meta-command
-- expect: none
   \echo DROP TABLE users;

-- \g terminates a statement without a semicolon
-- expect: drop-table
DROP TABLE import_rows_old \g

-- expect: none
SELECT count(*) AS user_count FROM users \gset
\echo :user_count
