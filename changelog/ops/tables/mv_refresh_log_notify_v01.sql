--liquibase formatted sql

--changeset opsmv:v1.7-mv_refresh_log-notify splitStatements:false rollbackSplitStatements:false
--comment: Every OK row of the refresh log (opsmv refresh, its pg_cron procedure, a REFRESH the event trigger logs) sends NOTIFY opsmv_refreshed with the MV's schema.name, delivered when the refresh's transaction commits: `serve` listens and drops its cached answers for that MV at that moment, not at its next poll. A statement-level cost of one pg_notify per OK row; nothing else reads it.
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE OR REPLACE FUNCTION ops.opsmv_notify_refreshed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM pg_notify('opsmv_refreshed', NEW.schema_name || '.' || NEW.mv_name);
    RETURN NULL;
END
$fn$;
DROP TRIGGER IF EXISTS opsmv_notify_refreshed ON ops.mv_refresh_log;
CREATE TRIGGER opsmv_notify_refreshed
    AFTER INSERT OR UPDATE OF status ON ops.mv_refresh_log
    FOR EACH ROW WHEN (NEW.status = 'OK')
    EXECUTE FUNCTION ops.opsmv_notify_refreshed();
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DROP TRIGGER IF EXISTS opsmv_notify_refreshed ON ops.mv_refresh_log;
--rollback DROP FUNCTION IF EXISTS ops.opsmv_notify_refreshed();
