--liquibase formatted sql

--changeset opsmv:v1.0-refresh-tracking splitStatements:false rollbackSplitStatements:false
--comment: Freshness is true whoever refreshes: an event trigger writes an OK row to ops.mv_refresh_log for every REFRESH MATERIALIZED VIEW of an MV the policy table lists (psql, the runbooks' scripts, cron), and for every such MV built WITH DATA (so health is OK right after a deployment, not NO_REFRESH). A run that logs itself (opsmv, its pg_cron procedure, the runbooks' Python scripts: a RUNNING row from the same backend) gets no second row. Event triggers need superuser (or the cloud provider's equivalent): without it this changeset is skipped (not recorded; the next update tries again) and verify says refreshes outside opsmv are not tracked.
--preconditions onFail:CONTINUE onError:CONTINUE
--precondition-sql-check expectedResult:yes SELECT CASE WHEN rolsuper THEN 'yes' ELSE 'no' END FROM pg_catalog.pg_roles WHERE rolname = current_user
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE OR REPLACE FUNCTION ops.opsmv_track_refresh()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r record;
    v_schema text;
    v_name text;
    v_rows bigint;
BEGIN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE object_type = 'materialized view' LOOP
        -- a failure here must never fail the user's REFRESH: warn and go on
        BEGIN
            SELECT n.nspname, c.relname INTO v_schema, v_name
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = r.objid;
            CONTINUE WHEN v_name IS NULL OR to_regclass('ops.mv_refresh_log') IS NULL OR to_regclass('ops.mv_refresh_policy') IS NULL;
            CONTINUE WHEN NOT EXISTS (SELECT 1 FROM ops.mv_refresh_policy p WHERE p.schema_name = v_schema AND p.mv_name = v_name);
            CONTINUE WHEN NOT coalesce((SELECT m.ispopulated FROM pg_matviews m WHERE m.schemaname = v_schema AND m.matviewname = v_name), false);
            CONTINUE WHEN EXISTS (SELECT 1 FROM ops.mv_refresh_log l
                                  WHERE l.schema_name = v_schema AND l.mv_name = v_name AND l.status = 'RUNNING' AND l.backend_pid = pg_backend_pid());
            EXECUTE format('SELECT count(*) FROM %I.%I', v_schema, v_name) INTO v_rows;
            INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, duration_ms, status, method,
                                            fallback_reason, rows_after_refresh, refreshed_by, application_name)
            VALUES (v_schema, v_name, statement_timestamp(), clock_timestamp(),
                    (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::bigint, 'OK',
                    CASE WHEN r.command_tag = 'REFRESH MATERIALIZED VIEW'
                              AND current_query() ~* 'refresh\s+materialized\s+view\s+concurrently' THEN 'CONCURRENTLY' ELSE 'PLAIN' END,
                    CASE WHEN r.command_tag = 'CREATE MATERIALIZED VIEW' THEN 'built WITH DATA by a deployment'
                         ELSE 'refreshed outside opsmv' END,
                    v_rows, session_user, current_setting('application_name'));
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'opsmv: the refresh of %.% was not logged: %', v_schema, v_name, SQLERRM;
        END;
    END LOOP;
END
$fn$;
DROP EVENT TRIGGER IF EXISTS opsmv_track_refresh;
CREATE EVENT TRIGGER opsmv_track_refresh ON ddl_command_end
    WHEN TAG IN ('REFRESH MATERIALIZED VIEW', 'CREATE MATERIALIZED VIEW')
    EXECUTE FUNCTION ops.opsmv_track_refresh();
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DROP EVENT TRIGGER IF EXISTS opsmv_track_refresh;
--rollback DROP FUNCTION IF EXISTS ops.opsmv_track_refresh();
