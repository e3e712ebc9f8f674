--liquibase formatted sql

--changeset opsmv:v1.0-mv_refresh_log rollbackSplitStatements:false
--comment: One row per refresh of one MV, written by the refresh engine; the only record of when an MV was refreshed.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-mv_refresh_log')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE TABLE ops.mv_refresh_log (
    refresh_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id              uuid,
    schema_name         text        NOT NULL,
    mv_name             text        NOT NULL,
    refresh_started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    refresh_finished_at timestamptz,
    duration_ms         bigint,
    status              text        NOT NULL,
    method              text,
    fallback_reason     text,
    rows_after_refresh  bigint,
    error_message       text,
    refreshed_by        text        NOT NULL DEFAULT current_user,
    backend_pid         integer     DEFAULT pg_backend_pid(),
    client_host         text,
    application_name    text        DEFAULT current_setting('application_name'),
    CONSTRAINT mv_refresh_log_status_chk
        CHECK (status IN ('RUNNING', 'OK', 'ERROR', 'SKIPPED', 'ABANDONED', 'BUSY')),
    CONSTRAINT mv_refresh_log_method_chk
        CHECK (method IS NULL OR method IN ('CONCURRENTLY', 'PLAIN'))
);
CREATE INDEX idx_mv_refresh_log_mv_started
    ON ops.mv_refresh_log (schema_name, mv_name, refresh_started_at DESC);
CREATE INDEX idx_mv_refresh_log_running
    ON ops.mv_refresh_log (schema_name, mv_name) WHERE status = 'RUNNING';
COMMENT ON TABLE ops.mv_refresh_log IS 'opsmv: one row per refresh of one materialized view';
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$
--rollback DECLARE
--rollback     v_suffix text := to_char(clock_timestamp(), 'YYYYMMDD_HH24MISS');
--rollback     v_index record;
--rollback BEGIN
--rollback     IF ops.opsmv_release('v1.0-mv_refresh_log') OR to_regclass('ops.mv_refresh_log') IS NULL THEN
--rollback         RETURN;
--rollback     END IF;
--rollback     IF NOT EXISTS (SELECT 1 FROM ops.mv_refresh_log) THEN
--rollback         DROP TABLE ops.mv_refresh_log;
--rollback         RETURN;
--rollback     END IF;
--rollback     FOR v_index IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'ops.mv_refresh_log'::regclass LOOP
--rollback         EXECUTE format('ALTER INDEX ops.%I RENAME TO %I', v_index.relname, left(v_index.relname, 40) || '_' || v_suffix);
--rollback     END LOOP;
--rollback     IF to_regclass('ops.mv_refresh_log_refresh_id_seq') IS NOT NULL THEN
--rollback         EXECUTE format('ALTER SEQUENCE ops.mv_refresh_log_refresh_id_seq RENAME TO %I', 'mv_refresh_log_refresh_id_seq_' || v_suffix);
--rollback     END IF;
--rollback     EXECUTE format('ALTER TABLE ops.mv_refresh_log RENAME TO %I', 'mv_refresh_log_archived_' || v_suffix);
--rollback     RAISE WARNING 'opsmv: ops.mv_refresh_log holds refresh history: kept as ops.mv_refresh_log_archived_% (rollback never deletes history)', v_suffix;
--rollback END $rb$;
