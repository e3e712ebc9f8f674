--liquibase formatted sql

--changeset opsmv:v1.1-mv_payments_driver_matrix_cabinet
--comment: Rebuilds the driver-matrix MV on the v02 view (adds last_paid_date; filter indexes in the endpoint's sort order) without taking it away: the new MV is built and indexed under a temporary name while the old one keeps serving, then the old one is dropped and the new one renamed, in this same transaction, so readers wait only for the renames and never see a missing relation. The policy row is keyed by name and kept; it is restored should it be missing.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.1-mv_payments_driver_matrix_cabinet')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet_v02 AS
SELECT * FROM ops.v_payments_driver_matrix_cabinet
WITH DATA;
-- lint: the MV was created in this transaction, no other session sees it before commit
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX ux_mv_payments_driver_matrix_cabinet_v02_grain
    ON ops.mv_payments_driver_matrix_cabinet_v02 (driver_id);
-- The endpoint orders by week_start DESC, driver_id ASC: both filter indexes carry exactly that
-- order, so a page is read off the index without a sort (with and without origin_tag).
-- lint: the MV was created in this transaction, no other session sees it before commit
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX idx_mv_payments_driver_matrix_cabinet_v02_origin_week
    ON ops.mv_payments_driver_matrix_cabinet_v02 (origin_tag, week_start DESC, driver_id);
-- lint: the MV was created in this transaction, no other session sees it before commit
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX idx_mv_payments_driver_matrix_cabinet_v02_week
    ON ops.mv_payments_driver_matrix_cabinet_v02 (week_start DESC, driver_id);
-- Fresh statistics before the first reader plans a query on it (a new MV has none); no REINDEX: the indexes are new.
ANALYZE ops.mv_payments_driver_matrix_cabinet_v02;
-- The swap: from here to commit, readers of the MV wait (milliseconds), then read the new MV by name.
DROP MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet;
ALTER MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet_v02 RENAME TO mv_payments_driver_matrix_cabinet;
ALTER INDEX ops.ux_mv_payments_driver_matrix_cabinet_v02_grain RENAME TO ux_mv_payments_driver_matrix_cabinet_grain;
ALTER INDEX ops.idx_mv_payments_driver_matrix_cabinet_v02_origin_week RENAME TO idx_mv_payments_driver_matrix_cabinet_origin_week;
ALTER INDEX ops.idx_mv_payments_driver_matrix_cabinet_v02_week RENAME TO idx_mv_payments_driver_matrix_cabinet_week;
INSERT INTO ops.mv_refresh_policy (schema_name, mv_name, is_critical, warn_after_hours, crit_after_hours, stuck_after_minutes, notes)
VALUES ('ops', 'mv_payments_driver_matrix_cabinet', true, 2, 6, 30, 'served by the driver-matrix endpoint')
ON CONFLICT (schema_name, mv_name) DO NOTHING;
--rollback empty
