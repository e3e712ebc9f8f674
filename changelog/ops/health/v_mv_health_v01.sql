--liquibase formatted sql

--changeset opsmv:v1.0-v_mv_health rollbackSplitStatements:false
--comment: Freshness of every MV in the policy table, from the refresh log (PostgreSQL itself keeps no refresh time). NO_REFRESH: never refreshed OK; otherwise OK / WARN / CRIT by that MV's thresholds.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-v_mv_health')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE VIEW ops.v_mv_health AS
SELECT p.schema_name,
       p.mv_name,
       p.is_critical,
       p.warn_after_hours,
       p.crit_after_hours,
       (mv.matviewname IS NOT NULL)                    AS mv_exists,
       coalesce(mv.ispopulated, false)                 AS is_populated,
       ok.refresh_finished_at                          AS last_ok_refresh_finished_at,
       round((extract(epoch FROM (now() - ok.refresh_finished_at)) / 3600.0)::numeric, 2) AS hours_since_ok_refresh,
       CASE
           WHEN ok.refresh_finished_at IS NULL THEN 'NO_REFRESH'
           WHEN now() - ok.refresh_finished_at > make_interval(secs => p.crit_after_hours * 3600) THEN 'CRIT'
           WHEN now() - ok.refresh_finished_at >= make_interval(secs => p.warn_after_hours * 3600) THEN 'WARN'
           ELSE 'OK'
       END                                             AS status_bucket,
       last.status                                     AS last_status,
       last.refresh_started_at                         AS last_refresh_started_at,
       CASE WHEN last.status <> 'OK' THEN last.error_message END AS last_error,
       ok.rows_after_refresh                           AS rows_after_refresh,
       ok.duration_ms                                  AS last_ok_duration_ms
FROM ops.mv_refresh_policy p
LEFT JOIN pg_catalog.pg_matviews mv
       ON mv.schemaname = p.schema_name AND mv.matviewname = p.mv_name
LEFT JOIN LATERAL (
    SELECT l.refresh_finished_at, l.rows_after_refresh, l.duration_ms
    FROM ops.mv_refresh_log l
    WHERE l.schema_name = p.schema_name AND l.mv_name = p.mv_name AND l.status = 'OK'
    ORDER BY l.refresh_finished_at DESC
    LIMIT 1
) ok ON true
LEFT JOIN LATERAL (
    SELECT l.status, l.error_message, l.refresh_started_at
    FROM ops.mv_refresh_log l
    WHERE l.schema_name = p.schema_name AND l.mv_name = p.mv_name
    ORDER BY l.refresh_started_at DESC, l.refresh_id DESC
    LIMIT 1
) last ON true;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF NOT ops.opsmv_release('v1.0-v_mv_health') THEN DROP VIEW IF EXISTS ops.v_mv_health; END IF; END $rb$;
