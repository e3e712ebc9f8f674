--liquibase formatted sql

--changeset opsmv:opt-refresher-function-v02 splitStatements:false
--comment: ops.opsmv_refresh takes the MV's advisory lock through ops.opsmv_refresh_lock_key (bundle release v1.3), the one definition of the key, instead of spelling it again.
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
    IF NOT (SELECT pg_try_advisory_xact_lock(k.class_key, k.object_key) FROM ops.opsmv_refresh_lock_key(v_schema, v_name) k) THEN
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
--rollback changesetId:opt-refresher-function changesetAuthor:opsmv changesetPath:changelog/optional/refresher/opsmv_refresher_v01.sql

--changeset opsmv:opt-refresher-scheduled-procedure-v02 splitStatements:false
--comment: The pg_cron procedure follows `opsmv refresh`'s protocol through the bundle's functions (release v1.3): the CONCURRENTLY rule (ops.opsmv_concurrently), the log rows (RUNNING committed first, then OK, ERROR or BUSY; SKIPPED final at once), and a failure skips only the MVs that read the failed one, directly, through plain views or through other MVs (ops.opsmv_mvs_upstream, from pg_depend); the others are refreshed. It never swaps. A procedure with COMMIT cannot be SECURITY DEFINER nor carry a SET clause, so names are schema-qualified.
CREATE OR REPLACE PROCEDURE ops.opsmv_refresh_scheduled(mvs text[])
LANGUAGE plpgsql
AS $pr$
DECLARE
    v_run     uuid := md5(random()::text || clock_timestamp()::text)::uuid;
    v_mv      text;
    v_oid     oid;
    v_schema  text;
    v_name    text;
    v_refusal text;
    v_id      bigint;
    v_rows    bigint;
    v_msg     text;
    v_state   text;
    v_busy    boolean;
    v_skip    text;
    v_blocked oid[] := '{}';
    v_reason  text[] := '{}';
BEGIN
    FOREACH v_mv IN ARRAY mvs LOOP
        v_oid := NULL;
        v_name := NULL;
        SELECT c.oid, n.nspname, c.relname INTO v_oid, v_schema, v_name
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = pg_catalog.to_regclass(v_mv) AND c.relkind = 'm';
        IF v_name IS NULL THEN
            RAISE WARNING 'opsmv: % is not a materialized view: skipped', v_mv;
            CONTINUE;
        END IF;
        -- the first failed or busy MV (in run order) that this one reads
        SELECT v_reason[i] INTO v_skip
        FROM pg_catalog.generate_subscripts(v_blocked, 1) i
        WHERE v_blocked[i] IN (SELECT u::oid FROM ops.opsmv_mvs_upstream(v_oid::regclass) u)
        ORDER BY i LIMIT 1;
        IF v_skip IS NOT NULL THEN
            PERFORM ops.opsmv_log_final(v_run, v_schema, v_name, 'SKIPPED', NULL, v_skip, NULL, 'pg_cron', 'opsmv-pg_cron');
            COMMIT;
            v_skip := NULL;
            CONTINUE;
        END IF;
        v_refusal := (ops.opsmv_concurrently(v_oid::regclass)).refusal;
        v_id := ops.opsmv_log_running(v_run, v_schema, v_name, CASE WHEN v_refusal IS NULL THEN 'CONCURRENTLY' ELSE 'PLAIN' END,
                                      v_refusal, pg_backend_pid(), 'pg_cron', 'opsmv-pg_cron');
        COMMIT;
        BEGIN
            v_rows := ops.opsmv_refresh(quote_ident(v_schema) || '.' || quote_ident(v_name), v_refusal IS NULL);
            PERFORM ops.opsmv_log_ok(v_id, v_rows);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
            v_busy := v_state = '55P03' AND v_msg LIKE 'opsmv: busy%';
            PERFORM ops.opsmv_log_failed(v_id, v_msg || ' [SQLSTATE ' || v_state || ']', CASE WHEN v_busy THEN 'BUSY' ELSE 'ERROR' END);
            v_blocked := v_blocked || v_oid;
            v_reason := v_reason || ('upstream ' || quote_ident(v_schema) || '.' || quote_ident(v_name) || CASE WHEN v_busy THEN ' busy' ELSE ' failed' END);
        END;
        COMMIT;
    END LOOP;
END
$pr$;
REVOKE ALL ON PROCEDURE ops.opsmv_refresh_scheduled(text[]) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE ops.opsmv_refresh_scheduled(text[]) TO opsmv_refresher;
--rollback changesetId:opt-refresher-scheduled-procedure changesetAuthor:opsmv changesetPath:changelog/optional/refresher/opsmv_refresher_v01.sql
