--liquibase formatted sql

--changeset opsmv:v1.0-idx_milestones_achieved_driver_milestone runInTransaction:false
--comment: Milestones pivoted per driver by the driver matrix.
SET lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_drop_invalid_index('${source_schema}', 'idx_milestones_achieved_driver_milestone');
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_milestones_achieved_driver_milestone ON ${source_schema}.milestones_achieved (driver_id, milestone_value);
SELECT ops.opsmv_assert_index_valid('${source_schema}', 'idx_milestones_achieved_driver_milestone');
--rollback SET lock_timeout = '${lock_timeout}';
--rollback DROP INDEX CONCURRENTLY IF EXISTS ${source_schema}.idx_milestones_achieved_driver_milestone;
