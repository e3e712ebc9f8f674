--liquibase formatted sql

--changeset opsmv:v1.0-mv_refresh_log
--comment: One row per refresh of one MV, written by the refresh engine; the only record of when an MV was refreshed.
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
--rollback DROP TABLE IF EXISTS ops.mv_refresh_log;
