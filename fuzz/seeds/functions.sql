-- CREATE FUNCTION / PROCEDURE bodies do not run at creation: destructive
-- statements inside are reported capped at risky (info stays info).
-- CREATE RULE actions are capped the same way.

-- expect: delete-without-where@risky
CREATE FUNCTION purge_sessions() RETURNS void LANGUAGE sql AS $$
    DELETE FROM sessions;
$$;

-- expect: drop-table@risky
CREATE OR REPLACE FUNCTION drop_staging() RETURNS void AS $fn$
BEGIN
    DROP TABLE IF EXISTS staging_orders;
END
$fn$ LANGUAGE plpgsql;

-- two tables in one TRUNCATE inside a function
-- expect: truncate@risky, truncate@risky
CREATE OR REPLACE FUNCTION reset_demo_data() RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    TRUNCATE demo_users, demo_orders RESTART IDENTITY;
END;
$$;

-- procedure; with-where findings keep their own severity
-- expect: delete-with-where@risky, update-with-where@info
CREATE OR REPLACE PROCEDURE archive_old_orders(cutoff date)
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO orders_archive SELECT * FROM orders WHERE placed_at < cutoff;
    DELETE FROM orders WHERE placed_at < cutoff;
    UPDATE archive_stats SET last_run = now() WHERE name = 'orders';
    COMMIT;
END
$$;

-- multi-statement SQL function
-- expect: delete-with-where@risky, delete-without-where@risky
CREATE FUNCTION wipe_tenant(p_tenant bigint) RETURNS void LANGUAGE sql AS $$
    DELETE FROM documents WHERE tenant_id = p_tenant;
    DELETE FROM tenant_cache;
$$;

-- SQL-standard body (BEGIN ATOMIC): not quoted at all and full of semicolons.
-- The DELETE is still a function body statement, not a top-level one.
-- expect: delete-without-where@risky
CREATE FUNCTION clear_cart_items() RETURNS void
LANGUAGE sql
BEGIN ATOMIC
    DELETE FROM cart_items;
END;

-- BEGIN ATOMIC procedure with an UPDATE without WHERE
-- expect: update-without-where@risky
CREATE PROCEDURE deactivate_everyone()
LANGUAGE sql
BEGIN ATOMIC
    UPDATE users SET active = false;
    SELECT 1;
END;

-- RETURN-style SQL body
-- expect: none
CREATE FUNCTION add_tax(amount numeric) RETURNS numeric LANGUAGE sql IMMUTABLE RETURN amount * 1.2;

-- body given as a single-quoted string
-- expect: delete-without-where@risky
CREATE FUNCTION purge_carts() RETURNS void LANGUAGE sql AS 'DELETE FROM carts';

-- single-quoted body with doubled quotes inside
-- expect: update-without-where@risky
CREATE OR REPLACE FUNCTION mark_all_inactive() RETURNS void LANGUAGE sql
AS 'UPDATE users SET status = ''inactive''';

-- a $$ inside a $function$ body does not end it
-- expect: delete-without-where@risky
CREATE OR REPLACE FUNCTION drain_queue() RETURNS void AS $function$
BEGIN
    RAISE NOTICE $$draining queue$$;
    DELETE FROM job_queue;
END
$function$ LANGUAGE plpgsql;

-- trigger function: TG_OP = 'DELETE' is a comparison with a string, not a DELETE
-- expect: delete-with-where@risky
CREATE OR REPLACE FUNCTION sync_search_index() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM search_index WHERE doc_id = OLD.id;
        RETURN OLD;
    END IF;
    INSERT INTO search_index (doc_id, body) VALUES (NEW.id, NEW.body)
    ON CONFLICT (doc_id) DO UPDATE SET body = EXCLUDED.body;
    RETURN NEW;
END
$$;

-- a trigger function with no destructive statement
-- expect: none
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- comments inside the body
-- expect: none
CREATE FUNCTION noop() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- TRUNCATE orders;
    /* DROP TABLE users; */
    NULL;
END
$$;

-- dynamic DROP in a function: capped
-- expect: drop-table@risky
CREATE OR REPLACE FUNCTION drop_partition(p_name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(p_name);
END
$$;

-- dynamic TRUNCATE via format
-- expect: truncate@risky
CREATE OR REPLACE FUNCTION truncate_table(p_table regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('TRUNCATE %s', p_table);
END
$$;

-- invisible dynamic SQL in a function
-- expect: dynamic-sql@risky
CREATE OR REPLACE FUNCTION run_sql(p_sql text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    EXECUTE p_sql;
END
$$;

-- RETURN QUERY EXECUTE of a parameter
-- expect: dynamic-sql
CREATE OR REPLACE FUNCTION run_query(p_sql text) RETURNS SETOF record LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE p_sql;
END
$$;

-- drop-index is info and stays info
-- expect: drop-index@info
CREATE OR REPLACE PROCEDURE drop_old_index() LANGUAGE plpgsql AS $$
BEGIN
    DROP INDEX IF EXISTS idx_orders_legacy;
END
$$;

-- MERGE ... THEN DELETE in a function
-- expect: merge-delete@risky
CREATE OR REPLACE FUNCTION sync_prices() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    MERGE INTO prices p
    USING price_feed f ON p.sku = f.sku
    WHEN MATCHED AND f.discontinued THEN DELETE
    WHEN MATCHED THEN UPDATE SET amount = f.amount
    WHEN NOT MATCHED THEN INSERT (sku, amount) VALUES (f.sku, f.amount);
END
$$;

-- read-only function with SELECT ... FOR UPDATE
-- expect: none
CREATE OR REPLACE FUNCTION next_job() RETURNS bigint LANGUAGE sql AS $$
    SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED;
$$;

-- creating the function is capped, but the statement after it is top-level
-- expect: truncate@risky, truncate@data-loss
CREATE FUNCTION reset_counters() RETURNS void LANGUAGE sql AS $$ TRUNCATE page_counters; $$;
TRUNCATE page_counters;

-- pg_dump writes function bodies with the $_$ tag
-- expect: delete-without-where@risky
CREATE FUNCTION public.purge_tokens() RETURNS void
    LANGUAGE sql
    AS $_$DELETE FROM public.api_tokens$_$;

-- a DROP COLUMN inside a procedure is capped
-- expect: drop-column@risky
CREATE PROCEDURE drop_fax_column() LANGUAGE plpgsql AS $$
BEGIN
    ALTER TABLE customers DROP COLUMN IF EXISTS fax;
END
$$;

-- a trigger that fires on DELETE/UPDATE is not a DELETE or UPDATE
-- expect: none
CREATE TRIGGER trg_orders_audit
    BEFORE DELETE OR UPDATE OF status ON orders
    FOR EACH ROW EXECUTE FUNCTION audit_order_change();

-- old-style EXECUTE PROCEDURE in a trigger is not dynamic SQL
-- expect: none
CREATE TRIGGER trg_users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE PROCEDURE set_updated_at();

-- GRANT/REVOKE EXECUTE is not dynamic SQL
-- expect: none
GRANT EXECUTE ON FUNCTION add_tax(numeric) TO app_rw;

-- expect: none
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;

-- expect: none
COMMENT ON FUNCTION purge_sessions() IS 'DELETE FROM sessions; run nightly';

-- CREATE RULE: the rule action is capped like a function body
-- expect: delete-without-where@risky
CREATE RULE clear_cache_on_insert AS ON INSERT TO products DO ALSO DELETE FROM product_cache;

-- expect: delete-with-where@risky
CREATE OR REPLACE RULE delete_via_view AS ON DELETE TO active_users
    DO INSTEAD DELETE FROM users WHERE id = OLD.id;

-- expect: update-with-where@info
CREATE RULE update_via_view AS ON UPDATE TO active_users
    DO INSTEAD UPDATE users SET email = NEW.email WHERE id = OLD.id;

-- a rule ON DELETE that does nothing is not a DELETE
-- expect: none
CREATE RULE protect_invoices AS ON DELETE TO invoices DO INSTEAD NOTHING;
