--liquibase formatted sql

--changeset opsmv:v1.0-idx_yango_payments_raw_key_snapshot runInTransaction:false
--comment: mv_yango_payments_raw_current keeps the latest snapshot of each payment_key.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-idx_yango_payments_raw_key_snapshot')
SET lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_drop_invalid_index('${source_schema}', 'idx_yango_payments_raw_key_snapshot');
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_yango_payments_raw_key_snapshot ON ${source_schema}.yango_payments_raw (payment_key, snapshot_at DESC);
SELECT ops.opsmv_assert_index_valid('${source_schema}', 'idx_yango_payments_raw_key_snapshot');
--rollback SET lock_timeout = '${lock_timeout}';
--rollback SELECT ops.opsmv_keep_adopted_index('v1.0-idx_yango_payments_raw_key_snapshot', '${source_schema}', 'idx_yango_payments_raw_key_snapshot');
--rollback DROP INDEX CONCURRENTLY IF EXISTS ${source_schema}.idx_yango_payments_raw_key_snapshot;
--rollback SELECT ops.opsmv_restore_adopted_index('${source_schema}', 'idx_yango_payments_raw_key_snapshot');
