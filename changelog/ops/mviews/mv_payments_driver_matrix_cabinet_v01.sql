--liquibase formatted sql

--changeset opsmv:v1.0-mv_payments_driver_matrix_cabinet rollbackSplitStatements:false
--comment: The plain view stored: the driver-matrix endpoint filters it by origin_tag and week_start and pages by driver_id.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-mv_payments_driver_matrix_cabinet')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet AS
SELECT * FROM ops.v_payments_driver_matrix_cabinet
WITH DATA;
CREATE UNIQUE INDEX ux_mv_payments_driver_matrix_cabinet_grain
    ON ops.mv_payments_driver_matrix_cabinet (driver_id);
CREATE INDEX idx_mv_payments_driver_matrix_cabinet_origin_week
    ON ops.mv_payments_driver_matrix_cabinet (origin_tag, week_start, driver_id);
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF NOT ops.opsmv_release('v1.0-mv_payments_driver_matrix_cabinet') THEN DROP MATERIALIZED VIEW IF EXISTS ops.mv_payments_driver_matrix_cabinet; END IF; END $rb$;
