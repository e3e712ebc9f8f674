--liquibase formatted sql

--changeset opsmv:opt-refresher-role splitStatements:false
--comment: The refresher role. Roles are cluster-wide: another database of the cluster may have created it already.
DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'opsmv_refresher') THEN
        CREATE ROLE opsmv_refresher NOLOGIN;
    END IF;
END
$do$;
COMMENT ON ROLE opsmv_refresher IS 'opsmv: may refresh the bundle''s MVs (through ops.opsmv_refresh) and write ops.mv_refresh_log, nothing else';
--rollback DO $do$ BEGIN DROP ROLE IF EXISTS opsmv_refresher; EXCEPTION WHEN dependent_objects_still_exist THEN RAISE NOTICE 'opsmv_refresher keeps privileges in another database of this cluster: role kept'; END $do$;

--changeset opsmv:opt-refresher-function splitStatements:false
--comment: REFRESH needs ownership of the MV (or MAINTAIN on PostgreSQL 17+), so the refresher goes through this SECURITY DEFINER function: only MVs of ops.mv_refresh_policy with refresh_enabled, search_path pinned, the same advisory lock as the runner (transaction-level: it conflicts with another runner's session lock and is granted when the calling runner holds that lock itself).
CREATE OR REPLACE FUNCTION ops.opsmv_refresh(mv text, concurrently boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema text;
    v_name   text;
    v_rows   bigint;
BEGIN
    SELECT p.schema_name, p.mv_name INTO v_schema, v_name
    FROM ops.mv_refresh_policy p
    JOIN pg_catalog.pg_matviews m ON m.schemaname = p.schema_name AND m.matviewname = p.mv_name
    WHERE p.refresh_enabled
      AND (quote_ident(p.schema_name) || '.' || quote_ident(p.mv_name) = mv
           OR p.schema_name || '.' || p.mv_name = mv
           OR (p.schema_name = 'ops' AND p.mv_name = mv));
    IF v_name IS NULL THEN
        RAISE EXCEPTION 'opsmv: % is not a materialized view this role may refresh (allow-list: ops.mv_refresh_policy, refresh_enabled)', mv
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('opsmv.refresh'), hashtext(quote_ident(v_schema) || '.' || quote_ident(v_name))) THEN
        RAISE EXCEPTION 'opsmv: busy: another refresh of %.% holds its lock', v_schema, v_name
            USING ERRCODE = 'lock_not_available';
    END IF;
    IF opsmv_refresh.concurrently THEN
        EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %I.%I', v_schema, v_name);
    ELSE
        EXECUTE format('REFRESH MATERIALIZED VIEW %I.%I', v_schema, v_name);
    END IF;
    EXECUTE format('SELECT count(*) FROM %I.%I', v_schema, v_name) INTO v_rows;
    RETURN v_rows;
END
$fn$;
REVOKE ALL ON FUNCTION ops.opsmv_refresh(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.opsmv_refresh(text, boolean) TO opsmv_refresher;
--rollback DROP FUNCTION IF EXISTS ops.opsmv_refresh(text, boolean);

--changeset opsmv:opt-refresher-scheduled-procedure splitStatements:false
--comment: What the pg_cron job of `opsmv schedule --pg-cron` calls: the MVs in the dependency order the runner computed, each committed on its own and logged like the runner does. A procedure with COMMIT cannot be SECURITY DEFINER nor carry a SET clause, so names are schema-qualified. The RUNNING row is committed before each refresh. It stops at the first failure (later MVs SKIPPED): it does not know the graph.
CREATE OR REPLACE PROCEDURE ops.opsmv_refresh_scheduled(mvs text[])
LANGUAGE plpgsql
AS $pr$
DECLARE
    v_run    uuid := md5(random()::text || clock_timestamp()::text)::uuid;
    v_mv     text;
    v_schema text;
    v_name   text;
    v_conc   boolean;
    v_id     bigint;
    v_rows   bigint;
    v_failed text;
    v_msg    text;
    v_state  text;
BEGIN
    FOREACH v_mv IN ARRAY mvs LOOP
        SELECT n.nspname, c.relname,
               c.relispopulated AND EXISTS (
                   SELECT 1 FROM pg_catalog.pg_index i
                   JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
                   JOIN pg_catalog.pg_am am ON am.oid = ic.relam
                   WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indimmediate
                     AND i.indpred IS NULL AND i.indexprs IS NULL AND am.amname = 'btree')
          INTO v_schema, v_name, v_conc
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = pg_catalog.to_regclass(v_mv) AND c.relkind = 'm';
        IF v_name IS NULL THEN
            RAISE WARNING 'opsmv: % is not a materialized view: skipped', v_mv;
            CONTINUE;
        END IF;
        IF v_failed IS NOT NULL THEN
            INSERT INTO ops.mv_refresh_log (run_id, schema_name, mv_name, status, error_message, refresh_finished_at, duration_ms, client_host, application_name)
            VALUES (v_run, v_schema, v_name, 'SKIPPED', 'upstream or earlier ' || v_failed || ' failed (the pg_cron job stops at the first failure)',
                    clock_timestamp(), 0, 'pg_cron', 'opsmv-pg_cron');
            COMMIT;
            CONTINUE;
        END IF;
        INSERT INTO ops.mv_refresh_log (run_id, schema_name, mv_name, status, method, fallback_reason, backend_pid, client_host, application_name)
        VALUES (v_run, v_schema, v_name, 'RUNNING', CASE WHEN v_conc THEN 'CONCURRENTLY' ELSE 'PLAIN' END,
                CASE WHEN NOT v_conc THEN 'no usable unique index or not populated' END, pg_backend_pid(), 'pg_cron', 'opsmv-pg_cron')
        RETURNING refresh_id INTO v_id;
        COMMIT;
        BEGIN
            v_rows := ops.opsmv_refresh(quote_ident(v_schema) || '.' || quote_ident(v_name), v_conc);
            UPDATE ops.mv_refresh_log
            SET status = 'OK', refresh_finished_at = clock_timestamp(), rows_after_refresh = v_rows,
                duration_ms = (extract(epoch FROM clock_timestamp() - refresh_started_at) * 1000)::bigint
            WHERE refresh_id = v_id;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
            UPDATE ops.mv_refresh_log
            SET status = CASE WHEN v_state = '55P03' AND v_msg LIKE 'opsmv: busy%' THEN 'BUSY' ELSE 'ERROR' END,
                refresh_finished_at = clock_timestamp(), error_message = v_msg || ' [SQLSTATE ' || v_state || ']',
                duration_ms = (extract(epoch FROM clock_timestamp() - refresh_started_at) * 1000)::bigint
            WHERE refresh_id = v_id;
            v_failed := quote_ident(v_schema) || '.' || quote_ident(v_name);
        END;
        COMMIT;
    END LOOP;
END
$pr$;
REVOKE ALL ON PROCEDURE ops.opsmv_refresh_scheduled(text[]) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE ops.opsmv_refresh_scheduled(text[]) TO opsmv_refresher;
--rollback DROP PROCEDURE IF EXISTS ops.opsmv_refresh_scheduled(text[]);

--changeset opsmv:opt-refresher-grants
--comment: Just enough to run `opsmv refresh` as the refresher: read the catalog (public), the policy (the --all list), and write the log.
SET LOCAL lock_timeout = '${lock_timeout}';
GRANT USAGE ON SCHEMA ops TO opsmv_refresher;
GRANT SELECT, INSERT, UPDATE ON ops.mv_refresh_log TO opsmv_refresher;
GRANT SELECT ON ops.mv_refresh_policy TO opsmv_refresher;
--rollback REVOKE SELECT ON ops.mv_refresh_policy FROM opsmv_refresher;
--rollback REVOKE SELECT, INSERT, UPDATE ON ops.mv_refresh_log FROM opsmv_refresher;
--rollback REVOKE USAGE ON SCHEMA ops FROM opsmv_refresher;
