--liquibase formatted sql

--changeset opsmv:v1.0-idx_yango_payments_raw_key_snapshot runInTransaction:false
--comment: mv_yango_payments_raw_current keeps the latest snapshot of each payment_key.
SET lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_drop_invalid_index('${source_schema}', 'idx_yango_payments_raw_key_snapshot');
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_yango_payments_raw_key_snapshot ON ${source_schema}.yango_payments_raw (payment_key, snapshot_at DESC);
SELECT ops.opsmv_assert_index_valid('${source_schema}', 'idx_yango_payments_raw_key_snapshot');
--rollback SET lock_timeout = '${lock_timeout}';
--rollback DROP INDEX CONCURRENTLY IF EXISTS ${source_schema}.idx_yango_payments_raw_key_snapshot;
