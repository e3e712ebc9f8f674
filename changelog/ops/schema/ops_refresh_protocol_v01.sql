--liquibase formatted sql

--changeset opsmv:v1.3-ops-refresh-protocol splitStatements:false rollbackSplitStatements:false
--comment: The refresh protocol written once, in SQL, for every path that refreshes: `opsmv refresh` (the Java engine calls these functions) and the pg_cron procedure ops.opsmv_refresh_scheduled (optional refresher changelog). The advisory-lock key of an MV, whether it can be refreshed CONCURRENTLY, the MVs it reads (pg_depend, through plain views), and the life of a log row: RUNNING committed before the refresh, then OK, ERROR or BUSY; SKIPPED, BUSY or a refused ERROR written final at once.
SET LOCAL lock_timeout = '${lock_timeout}';

-- The advisory lock that keeps one refresh (or reindex) of an MV at a time: two-key form, the
-- first key a namespace so it never collides with other applications' single-key locks.
CREATE OR REPLACE FUNCTION ops.opsmv_refresh_lock_key(p_schema text, p_name text, OUT class_key integer, OUT object_key integer)
LANGUAGE sql IMMUTABLE
AS $fn$
    SELECT pg_catalog.hashtext('opsmv.refresh'), pg_catalog.hashtext(pg_catalog.quote_ident(p_schema) || '.' || pg_catalog.quote_ident(p_name))
$fn$;

CREATE OR REPLACE FUNCTION ops.opsmv_refresh_lock_key(p_mv regclass, OUT class_key integer, OUT object_key integer)
LANGUAGE sql STABLE
AS $fn$
    SELECT k.class_key, k.object_key
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL ops.opsmv_refresh_lock_key(n.nspname::text, c.relname::text) k
    WHERE c.oid = p_mv
$fn$;

-- Whether PostgreSQL can refresh the MV CONCURRENTLY (matview.c, is_usable_unique_index): populated,
-- and a unique, valid, immediate btree index on plain columns without WHERE. refusal is NULL when it can.
CREATE OR REPLACE FUNCTION ops.opsmv_concurrently(p_mv regclass, OUT usable_index name, OUT refusal text)
LANGUAGE sql STABLE
AS $fn$
    SELECT x.usable_index,
           CASE WHEN NOT c.relispopulated THEN 'not populated'
                WHEN x.usable_index IS NULL THEN 'no usable unique index' END
    FROM pg_catalog.pg_class c
    CROSS JOIN LATERAL (
        SELECT min(ic.relname) AS usable_index
        FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_catalog.pg_am am ON am.oid = ic.relam
        WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indimmediate
          AND i.indpred IS NULL AND i.indexprs IS NULL AND am.amname = 'btree') x
    WHERE c.oid = p_mv AND c.relkind = 'm'
$fn$;

-- Every MV the MV reads, directly, through plain views or through other MVs (pg_rewrite -> pg_depend):
-- the MVs whose failure makes a refresh of this one pointless (it is SKIPPED).
CREATE OR REPLACE FUNCTION ops.opsmv_mvs_upstream(p_mv regclass)
RETURNS SETOF regclass
LANGUAGE sql STABLE
AS $fn$
    WITH RECURSIVE reads(rel) AS (
        SELECT d.refobjid
        FROM pg_catalog.pg_rewrite rw
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = rw.oid
                                   AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> rw.ev_class
        WHERE rw.ev_class = p_mv
        UNION
        SELECT d.refobjid
        FROM reads r
        JOIN pg_catalog.pg_rewrite rw ON rw.ev_class = r.rel
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = rw.oid
                                   AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> rw.ev_class
    )
    SELECT r.rel::regclass FROM reads r JOIN pg_catalog.pg_class c ON c.oid = r.rel WHERE c.relkind = 'm'
$fn$;

-- A RUNNING row; the caller commits it before the refresh starts, so everyone sees the refresh.
CREATE OR REPLACE FUNCTION ops.opsmv_log_running(p_run uuid, p_schema text, p_name text, p_method text, p_fallback text,
                                                 p_pid integer, p_client_host text, p_application text)
RETURNS bigint
LANGUAGE sql
AS $fn$
    INSERT INTO ops.mv_refresh_log (run_id, schema_name, mv_name, status, method, fallback_reason, backend_pid, client_host, application_name)
    VALUES (p_run, p_schema, p_name, 'RUNNING', p_method, p_fallback, p_pid, p_client_host, p_application)
    RETURNING refresh_id
$fn$;

-- A row that is final at once: SKIPPED (an upstream MV failed), BUSY (its lock is held), or an ERROR
-- for a refresh that never started (refused).
CREATE OR REPLACE FUNCTION ops.opsmv_log_final(p_run uuid, p_schema text, p_name text, p_status text, p_method text, p_message text,
                                               p_pid integer, p_client_host text, p_application text)
RETURNS bigint
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_id bigint;
BEGIN
    IF p_status NOT IN ('SKIPPED', 'BUSY', 'ERROR') THEN
        RAISE EXCEPTION 'opsmv: a final log row is SKIPPED, BUSY or ERROR (got %)', p_status;
    END IF;
    INSERT INTO ops.mv_refresh_log (run_id, schema_name, mv_name, status, method, error_message, backend_pid, client_host,
                                    application_name, refresh_finished_at, duration_ms)
    VALUES (p_run, p_schema, p_name, p_status, p_method, p_message, p_pid, p_client_host, p_application, clock_timestamp(), 0)
    RETURNING refresh_id INTO v_id;
    RETURN v_id;
END
$fn$;

-- OK, in the refresh's own transaction (the row and the new data commit together). Fails when the row
-- is no longer RUNNING (marked ABANDONED by someone who thought its runner dead).
CREATE OR REPLACE FUNCTION ops.opsmv_log_ok(p_refresh_id bigint, p_rows bigint, p_note text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    UPDATE ops.mv_refresh_log
    SET status = 'OK', refresh_finished_at = clock_timestamp(),
        duration_ms = (extract(epoch FROM clock_timestamp() - refresh_started_at) * 1000)::bigint,
        rows_after_refresh = p_rows, fallback_reason = coalesce(p_note, fallback_reason)
    WHERE refresh_id = p_refresh_id AND status = 'RUNNING';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'opsmv: log row % is no longer RUNNING (was it marked ABANDONED by someone else?)', p_refresh_id;
    END IF;
END
$fn$;

-- ERROR (or BUSY) after the refresh's transaction rolled back: written on its own.
CREATE OR REPLACE FUNCTION ops.opsmv_log_failed(p_refresh_id bigint, p_message text, p_status text DEFAULT 'ERROR')
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF p_status NOT IN ('ERROR', 'BUSY') THEN
        RAISE EXCEPTION 'opsmv: a failed refresh is ERROR or BUSY (got %)', p_status;
    END IF;
    UPDATE ops.mv_refresh_log
    SET status = p_status, refresh_finished_at = clock_timestamp(), error_message = p_message,
        duration_ms = (extract(epoch FROM clock_timestamp() - refresh_started_at) * 1000)::bigint
    WHERE refresh_id = p_refresh_id;
END
$fn$;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DROP FUNCTION IF EXISTS ops.opsmv_log_failed(bigint, text, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_log_ok(bigint, bigint, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_log_final(uuid, text, text, text, text, text, integer, text, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_log_running(uuid, text, text, text, text, integer, text, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_mvs_upstream(regclass);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_concurrently(regclass);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_refresh_lock_key(regclass);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_refresh_lock_key(text, text);
