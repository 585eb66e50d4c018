-- DO blocks run immediately: their bodies are analysed as code with full
-- severity, and findings are reported at the line of the nested statement.

-- expect: drop-table@data-loss
DO $$ BEGIN DROP TABLE legacy_sessions; END $$;

-- expect: drop-table@data-loss
DO $$
BEGIN
    DROP TABLE IF EXISTS legacy_carts;
END
$$;

-- lower case, custom tag
-- expect: truncate@data-loss
do $body$
begin
    truncate table search_index;
end
$body$;

-- LANGUAGE after the body
-- expect: delete-without-where@data-loss
DO $$
BEGIN
    DELETE FROM email_queue;
END
$$ LANGUAGE plpgsql;

-- LANGUAGE before the body
-- expect: update-without-where@data-loss
DO LANGUAGE plpgsql $$
BEGIN
    UPDATE users SET must_reset_password = true;
END
$$;

-- the body is a plain single-quoted string
-- expect: drop-table@data-loss
DO 'BEGIN DROP TABLE IF EXISTS tmp_user_import; END';

-- conditional drop
-- expect: drop-table@data-loss
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'old_payments') THEN
        DROP TABLE old_payments;
    END IF;
END
$$;

-- a DELETE with a WHERE stays risky
-- expect: delete-with-where@risky
DO $$
BEGIN
    DELETE FROM sessions WHERE expires_at < now();
END
$$;

-- UPDATE with WHERE stays info
-- expect: update-with-where@info
DO $$
BEGIN
    UPDATE users SET locale = 'en' WHERE locale IS NULL;
END
$$;

-- several statements, several findings
-- expect: drop-column@data-loss, drop-table@data-loss, delete-with-where@risky
DO $$
BEGIN
    ALTER TABLE orders DROP COLUMN legacy_ref;
    DROP TABLE order_legacy_refs;
    DELETE FROM audit_log WHERE entity = 'order_legacy_ref';
END
$$;

-- DROP inside an exception-handling sub-block
-- expect: drop-schema@data-loss
DO $$
BEGIN
    BEGIN
        DROP SCHEMA reporting_v1 CASCADE;
    EXCEPTION WHEN invalid_schema_name THEN
        RAISE NOTICE 'schema already gone';
    END;
END
$$;

-- cascade-drop inside a DO block
-- expect: cascade-drop@data-loss
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_type WHERE typname = 'old_status') THEN
        DROP TYPE old_status CASCADE;
    END IF;
END
$$;

-- a loop with a per-row DELETE ... WHERE
-- expect: delete-with-where@risky
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT id FROM users WHERE deleted_at IS NOT NULL LOOP
        DELETE FROM user_sessions WHERE user_id = r.id;
    END LOOP;
END
$$;

-- cursor loop with WHERE CURRENT OF
-- expect: delete-with-where
DO $$
DECLARE
    cur CURSOR FOR SELECT * FROM notifications FOR UPDATE;
BEGIN
    FOR rec IN cur LOOP
        DELETE FROM notifications WHERE CURRENT OF cur;
    END LOOP;
END
$$;

-- comments inside the body are comments
-- expect: none
DO $$
BEGIN
    -- DROP TABLE users;
    /* TRUNCATE orders; */
    PERFORM pg_sleep(0);
END
$$;

-- a $$ inside a $do$ body does not end the body
-- expect: drop-table@data-loss
DO $do$
BEGIN
    RAISE NOTICE $$step 1 done$$;
    DROP TABLE staging_orders;
END
$do$;

-- EXECUTE of a concatenation: the literal part is analysed
-- expect: drop-table@data-loss
DO $$
DECLARE
    t text := 'tmp_import_2021';
BEGIN
    EXECUTE 'DROP TABLE ' || quote_ident(t);
END
$$;

-- EXECUTE format(...) in a loop
-- expect: drop-table
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'scratch' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', 'scratch', r.tablename);
    END LOOP;
END
$$;

-- EXECUTE format(...) with a dollar-quoted literal format string
-- expect: truncate
DO $do$
DECLARE
    t text := 'search_cache';
BEGIN
    EXECUTE format($f$TRUNCATE %I$f$, t);
END
$do$;

-- a dynamic DELETE whose literal contains the WHERE
-- expect: delete-with-where
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['page_views', 'clicks'] LOOP
        EXECUTE format('DELETE FROM %I WHERE created_at < $1', t) USING now() - interval '90 days';
    END LOOP;
END
$$;

-- a dynamic DELETE without a WHERE
-- expect: delete-without-where
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['page_views', 'clicks'] LOOP
        EXECUTE format('DELETE FROM %I', t);
    END LOOP;
END
$$;

-- a literal semicolon and doubled quotes inside the executed literal
-- expect: delete-with-where
DO $$
BEGIN
    EXECUTE 'DELETE FROM audit_log WHERE note = ''a;b''';
END
$$;

-- a fully literal EXECUTE
-- expect: truncate@data-loss
DO $$
BEGIN
    EXECUTE 'TRUNCATE TABLE rate_limits';
END
$$;

-- a dynamic DROP COLUMN
-- expect: drop-column
DO $$
BEGIN
    EXECUTE format('ALTER TABLE %I DROP COLUMN %I', 'users', 'fax_number');
END
$$;

-- dynamic non-destructive statements: a literal is present, nothing destructive
-- expect: none
DO $$
DECLARE
    t text;
    n bigint;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE 'ANALYZE ' || quote_ident(t);
        EXECUTE format('SELECT count(*) FROM %I', t) INTO n;
    END LOOP;
END
$$;

-- EXECUTE of a variable whose content is invisible
-- expect: dynamic-sql@risky
DO $$
DECLARE
    v_sql text;
BEGIN
    SELECT cleanup_sql INTO v_sql FROM maintenance_tasks WHERE id = 1;
    EXECUTE v_sql;
END
$$;

-- EXECUTE of an expression without any literal
-- expect: dynamic-sql
DO $$
DECLARE
    v_prefix text := current_setting('app.cleanup_prefix');
BEGIN
    EXECUTE v_prefix || quote_ident(current_user);
END
$$;

-- EXECUTE format() with a variable format string has no literal either
-- expect: dynamic-sql
DO $$
DECLARE
    v_template text;
    v_table text;
BEGIN
    SELECT template, target INTO v_template, v_table FROM maintenance_templates WHERE id = 7;
    EXECUTE format(v_template, v_table);
END
$$;

-- EXECUTE v_sql: dynamic, but the literal that builds v_sql is visible
-- expect: truncate, dynamic-sql
DO $$
DECLARE
    t text := 'rate_limits';
    v_sql text;
BEGIN
    v_sql := 'TRUNCATE ' || quote_ident(t);
    EXECUTE v_sql;
END
$$;

-- the destructive literal is built with format() elsewhere in the body
-- expect: delete-without-where, dynamic-sql
DO $$
DECLARE
    v_sql text;
BEGIN
    v_sql := format('DELETE FROM %I', 'expired_tokens');
    EXECUTE v_sql USING 1;
END
$$;

-- the destructive literal is inside a query that builds the statement
-- expect: drop-table, dynamic-sql
DO $$
DECLARE
    v_sql text;
BEGIN
    SELECT string_agg(format('DROP TABLE %I.%I;', schemaname, tablename), ' ')
      INTO v_sql
      FROM pg_tables
     WHERE schemaname = 'staging';
    IF v_sql IS NOT NULL THEN
        EXECUTE v_sql;
    END IF;
END
$$;

-- purely read-only block
-- expect: none
DO $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM users WHERE deleted_at IS NULL;
    RAISE NOTICE 'active users: %', n;
    PERFORM set_config('app.active_users', n::text, false);
END
$$;

-- safe DDL inside a DO block
-- expect: none
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'invoice_state') THEN
        CREATE TYPE invoice_state AS ENUM ('draft', 'sent', 'paid');
    END IF;
    ALTER TABLE invoices ADD COLUMN IF NOT EXISTS state invoice_state;
    GRANT SELECT ON invoices TO reporting;
END
$$;

-- the DO block is inside a transaction; the statement after it also counts
-- expect: drop-table@data-loss, drop-index
BEGIN;
DO $$
BEGIN
    DROP TABLE IF EXISTS wishlist_items;
END
$$;
DROP INDEX IF EXISTS idx_wishlist_items_user;
COMMIT;

-- the DO block and a real statement on the same line
-- expect: truncate, drop-table
DO $$ BEGIN TRUNCATE sessions; END $$; DROP TABLE session_archive;
