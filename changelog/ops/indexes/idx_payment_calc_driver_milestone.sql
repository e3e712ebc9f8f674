--liquibase formatted sql

--changeset opsmv:v1.0-idx_payment_calc_driver_milestone runInTransaction:false
--comment: Expected amounts joined by grain.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-idx_payment_calc_driver_milestone')
SET lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_drop_invalid_index('${source_schema}', 'idx_payment_calc_driver_milestone');
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_payment_calc_driver_milestone ON ${source_schema}.payment_calc (driver_id, milestone_value);
SELECT ops.opsmv_assert_index_valid('${source_schema}', 'idx_payment_calc_driver_milestone');
--rollback SET lock_timeout = '${lock_timeout}';
--rollback SELECT ops.opsmv_keep_adopted_index('v1.0-idx_payment_calc_driver_milestone', '${source_schema}', 'idx_payment_calc_driver_milestone');
--rollback DROP INDEX CONCURRENTLY IF EXISTS ${source_schema}.idx_payment_calc_driver_milestone;
--rollback SELECT ops.opsmv_restore_adopted_index('${source_schema}', 'idx_payment_calc_driver_milestone');
