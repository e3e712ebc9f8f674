--liquibase formatted sql

--changeset opsmv:v1.0-idx_drivers_origin_week runInTransaction:false
--comment: The driver-matrix filters (origin_tag, week_start) on the plain view.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-idx_drivers_origin_week')
SET lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_drop_invalid_index('${source_schema}', 'idx_drivers_origin_week');
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_drivers_origin_week ON ${source_schema}.drivers (origin_tag, week_start);
SELECT ops.opsmv_assert_index_valid('${source_schema}', 'idx_drivers_origin_week');
--rollback SET lock_timeout = '${lock_timeout}';
--rollback SELECT ops.opsmv_keep_adopted_index('v1.0-idx_drivers_origin_week', '${source_schema}', 'idx_drivers_origin_week');
--rollback DROP INDEX CONCURRENTLY IF EXISTS ${source_schema}.idx_drivers_origin_week;
--rollback SELECT ops.opsmv_restore_adopted_index('${source_schema}', 'idx_drivers_origin_week');
