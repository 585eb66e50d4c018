-- Valid PostgreSQL that a generic SQL parser is likely to reject. These must
-- still be classified (by a fallback), never dropped silently and never
-- reported as unparsed-statement.

-- expect: drop-index@info
DROP INDEX CONCURRENTLY IF EXISTS idx_users_last_login;

-- expect: drop-database@data-loss
DROP DATABASE analytics_staging WITH (FORCE);

-- WITH is optional before the option list
-- expect: drop-database
DROP DATABASE IF EXISTS reporting_tmp (FORCE);

-- array element assignment
-- expect: update-without-where@data-loss
UPDATE user_prefs SET notification_channels[1] = 'email';

-- array element assignment with a WHERE
-- expect: update-with-where
UPDATE user_prefs SET notification_channels[2] = 'sms' WHERE user_id = 7;

-- composite field assignment
-- expect: update-without-where
UPDATE shipments SET address.zip = '00000';

-- SET col = DEFAULT, row-constructor form
-- expect: update-without-where
UPDATE accounts SET (balance, updated_at) = ROW(DEFAULT, now());

-- expect: drop-column@data-loss
ALTER FOREIGN TABLE remote_customers DROP COLUMN legacy_code;

-- expect: drop-column
ALTER FOREIGN TABLE IF EXISTS remote_orders DROP IF EXISTS shipping_note;

-- expect: drop-owned@data-loss
DROP OWNED BY legacy_etl CASCADE;

-- expect: drop-function@risky
DROP ROUTINE recalculate_balances;

-- expect: drop-function, drop-function
DROP ROUTINE IF EXISTS recalculate_balances(bigint), recalculate_totals(bigint, date);

-- expect: drop-function
DROP PROCEDURE IF EXISTS purge_expired(interval) CASCADE;

-- expect: truncate, truncate
TRUNCATE ONLY audit_log, audit_log_archive* RESTART IDENTITY CASCADE;

-- expect: truncate
TRUNCATE TABLE events * CONTINUE IDENTITY;

-- DO with LANGUAGE before the body
-- expect: drop-table@data-loss
DO LANGUAGE plpgsql $$ BEGIN DROP TABLE IF EXISTS tmp_reports; END $$;

-- DO with LANGUAGE after the body
-- expect: truncate@data-loss
DO $$ BEGIN TRUNCATE tmp_reports; END $$ LANGUAGE plpgsql;

-- DELETE via cursor, outside of any block
-- expect: delete-with-where@risky
BEGIN;
DECLARE invoice_cur CURSOR FOR SELECT * FROM invoices FOR UPDATE;
FETCH invoice_cur;
DELETE FROM ONLY invoices WHERE CURRENT OF invoice_cur;
COMMIT;

-- expect: drop-trigger
DROP TRIGGER IF EXISTS trg_orders_audit ON orders RESTRICT;

-- expect: drop-trigger
DROP POLICY IF EXISTS tenant_delete ON documents CASCADE;

-- expect: drop-trigger
DROP RULE IF EXISTS clear_cache_on_insert ON products;

-- expect: cascade-drop@data-loss
DROP EXTENSION IF EXISTS hstore, ltree CASCADE;

-- expect: cascade-drop
DROP DOMAIN IF EXISTS us_postal_code CASCADE;

-- expect: drop-constraint
ALTER TABLE ONLY orders DROP CONSTRAINT orders_total_positive RESTRICT;

-- expect: alter-column-type
ALTER TABLE ONLY orders ALTER COLUMN total SET DATA TYPE numeric(14, 4) USING round(total, 4);

-- expect: set-not-null
ALTER TABLE IF EXISTS ONLY orders ALTER COLUMN status SET NOT NULL;

-- expect: drop-schema, drop-schema
DROP SCHEMA IF EXISTS tenant_17, tenant_18 CASCADE;

-- expect: drop-role
DROP USER IF EXISTS etl_runner, etl_viewer;

-- expect: delete-with-where
DELETE FROM order_items AS oi USING orders o, users u
WHERE oi.order_id = o.id AND o.user_id = u.id AND u.banned;

-- expect: drop-view
DROP MATERIALIZED VIEW IF EXISTS mv_only_paid_orders CASCADE;
