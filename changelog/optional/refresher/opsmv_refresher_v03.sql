--liquibase formatted sql

--changeset opsmv:opt-refresher-prune-grant splitStatements:false rollbackSplitStatements:false
--comment: The refresher may prune the refresh log (release v1.7's ops.opsmv_prune_batch, SECURITY DEFINER: the retention rule and nothing else), as every `opsmv refresh` run and the pg_cron run below end with it. On a bundle older than v1.7 there is nothing to grant.
DO $do$
BEGIN
    IF pg_catalog.to_regprocedure('ops.opsmv_prune_batch(text,text,integer,regclass,boolean)') IS NOT NULL THEN
        GRANT EXECUTE ON FUNCTION ops.opsmv_prune_batch(text, text, integer, regclass, boolean) TO opsmv_refresher;
    END IF;
END
$do$;
--rollback DO $do$ BEGIN IF pg_catalog.to_regprocedure('ops.opsmv_prune_batch(text,text,integer,regclass,boolean)') IS NOT NULL THEN REVOKE EXECUTE ON FUNCTION ops.opsmv_prune_batch(text, text, integer, regclass, boolean) FROM opsmv_refresher; END IF; END $do$;

--changeset opsmv:opt-refresher-scheduled-procedure-v03 splitStatements:false
--comment: v02's pg_cron procedure, and at the end the refresh log's retention (release v1.7), as `opsmv refresh` ends with it: every MV of the log, a batch per transaction under its refresh lock, at most 10 seconds; a batch that fails is a WARNING, never a failed run. Without release v1.7 (no ops.opsmv_prune_batch) it prunes nothing.
CREATE OR REPLACE PROCEDURE ops.opsmv_refresh_scheduled(mvs text[])
LANGUAGE plpgsql
AS $pr$
DECLARE
    v_run      uuid := md5(random()::text || clock_timestamp()::text)::uuid;
    v_mv       text;
    v_oid      oid;
    v_schema   text;
    v_name     text;
    v_refusal  text;
    v_id       bigint;
    v_rows     bigint;
    v_msg      text;
    v_state    text;
    v_busy     boolean;
    v_skip     text;
    v_blocked  oid[] := '{}';
    v_reason   text[] := '{}';
    v_deadline timestamptz;
    v_pruned   bigint := 0;
    r          record;
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
    -- the refresh log's retention (release v1.7): the same rule and batches as `opsmv prune`
    IF pg_catalog.to_regprocedure('ops.opsmv_prune_batch(text,text,integer,regclass,boolean)') IS NOT NULL THEN
        v_deadline := clock_timestamp() + interval '10 seconds';
        FOR r IN SELECT DISTINCT l.schema_name, l.mv_name FROM ops.mv_refresh_log l ORDER BY 1, 2 LOOP
            LOOP
                EXIT WHEN clock_timestamp() > v_deadline;
                BEGIN
                    v_rows := ops.opsmv_prune_batch(r.schema_name, r.mv_name, 5000);
                EXCEPTION WHEN OTHERS THEN
                    RAISE WARNING 'opsmv: prune of %.% skipped: %', r.schema_name, r.mv_name, SQLERRM;
                    v_rows := -1;
                END;
                COMMIT;
                IF v_rows > 0 THEN
                    v_pruned := v_pruned + v_rows;
                END IF;
                EXIT WHEN v_rows < 5000;
            END LOOP;
        END LOOP;
        RAISE NOTICE 'opsmv: prune: % row(s) of ops.mv_refresh_log past their retention deleted', v_pruned;
    END IF;
END
$pr$;
REVOKE ALL ON PROCEDURE ops.opsmv_refresh_scheduled(text[]) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE ops.opsmv_refresh_scheduled(text[]) TO opsmv_refresher;
--rollback changesetId:opt-refresher-scheduled-procedure-v02 changesetAuthor:opsmv changesetPath:changelog/optional/refresher/opsmv_refresher_v02.sql
