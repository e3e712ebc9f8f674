--liquibase formatted sql

--changeset opsmv:v1.0-idx_yango_payments_raw_driver_milestone runInTransaction:false
--comment: Ledger look-ups by grain (driver x milestone).
SET lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_drop_invalid_index('${source_schema}', 'idx_yango_payments_raw_driver_milestone');
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_yango_payments_raw_driver_milestone ON ${source_schema}.yango_payments_raw (driver_id, milestone_value);
SELECT ops.opsmv_assert_index_valid('${source_schema}', 'idx_yango_payments_raw_driver_milestone');
--rollback SET lock_timeout = '${lock_timeout}';
--rollback DROP INDEX CONCURRENTLY IF EXISTS ${source_schema}.idx_yango_payments_raw_driver_milestone;
