--liquibase formatted sql

--changeset opsmv:v1.0-idx_payment_calc_driver_milestone runInTransaction:false
--comment: Expected amounts joined by grain.
SET lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_drop_invalid_index('${source_schema}', 'idx_payment_calc_driver_milestone');
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_payment_calc_driver_milestone ON ${source_schema}.payment_calc (driver_id, milestone_value);
SELECT ops.opsmv_assert_index_valid('${source_schema}', 'idx_payment_calc_driver_milestone');
--rollback SET lock_timeout = '${lock_timeout}';
--rollback DROP INDEX CONCURRENTLY IF EXISTS ${source_schema}.idx_payment_calc_driver_milestone;
