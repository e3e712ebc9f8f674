--liquibase formatted sql

--changeset opsmv:v1.4-idx_mv_refresh_log_mv_ok_finished runInTransaction:false
--comment: The newest OK refresh of each MV, read by the health views (ops.v_mv_health's last OK refresh: ORDER BY refresh_finished_at DESC LIMIT 1 per MV). Without it every health check, /health and /metrics scrape sorted all OK runs the log ever kept: 45 ms at 60,000 log rows (a year of hourly refreshes), 370 ms at 600,000; with it about 4 ms at any size. Partial (OK rows only) and built CONCURRENTLY: refreshes go on writing the log meanwhile.
SET lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_drop_invalid_index('ops', 'idx_mv_refresh_log_mv_ok_finished');
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_mv_refresh_log_mv_ok_finished
    ON ops.mv_refresh_log (schema_name, mv_name, refresh_finished_at DESC) WHERE status = 'OK';
SELECT ops.opsmv_assert_index_valid('ops', 'idx_mv_refresh_log_mv_ok_finished');
--rollback SET lock_timeout = '${lock_timeout}';
--rollback DROP INDEX CONCURRENTLY IF EXISTS ops.idx_mv_refresh_log_mv_ok_finished;
