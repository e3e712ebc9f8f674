--liquibase formatted sql

--changeset opsmv:v1.0-mv_yango_payments_raw_current rollbackSplitStatements:false
--comment: Each ledger file is a full snapshot, so a payment appears once per ingestion; keep only its latest snapshot (a later one may reverse it).
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-mv_yango_payments_raw_current')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE MATERIALIZED VIEW ops.mv_yango_payments_raw_current AS
SELECT DISTINCT ON (r.payment_key)
       r.payment_key,
       r.driver_id,
       r.milestone_value,
       r.amount,
       r.paid_date,
       r.status,
       r.snapshot_at
FROM ${source_schema}.yango_payments_raw r
WHERE r.payment_key IS NOT NULL
ORDER BY r.payment_key, r.snapshot_at DESC, (r.status = 'reversed') DESC, r.amount DESC
WITH DATA;
CREATE UNIQUE INDEX ux_mv_yango_payments_raw_current_grain
    ON ops.mv_yango_payments_raw_current (payment_key);
CREATE INDEX idx_mv_yango_payments_raw_current_driver_milestone
    ON ops.mv_yango_payments_raw_current (driver_id, milestone_value);
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF NOT ops.opsmv_release('v1.0-mv_yango_payments_raw_current') THEN DROP MATERIALIZED VIEW IF EXISTS ops.mv_yango_payments_raw_current; END IF; END $rb$;
