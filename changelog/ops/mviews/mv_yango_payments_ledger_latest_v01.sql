--liquibase formatted sql

--changeset opsmv:v1.0-mv_yango_payments_ledger_latest rollbackSplitStatements:false
--comment: What Yango has paid per driver x milestone as of the latest snapshots; reversed payments count as not paid.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-mv_yango_payments_ledger_latest')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE MATERIALIZED VIEW ops.mv_yango_payments_ledger_latest AS
SELECT c.driver_id,
       c.milestone_value,
       sum(c.amount)::numeric(14,2) AS paid_amount,
       max(c.paid_date)             AS last_paid_date,
       count(*)::integer            AS payment_count
FROM ops.mv_yango_payments_raw_current c
WHERE c.status = 'paid'
  AND c.driver_id IS NOT NULL
  AND c.milestone_value IS NOT NULL
GROUP BY c.driver_id, c.milestone_value
WITH DATA;
CREATE UNIQUE INDEX ux_mv_yango_payments_ledger_latest_grain
    ON ops.mv_yango_payments_ledger_latest (driver_id, milestone_value);
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF NOT ops.opsmv_release('v1.0-mv_yango_payments_ledger_latest') THEN DROP MATERIALIZED VIEW IF EXISTS ops.mv_yango_payments_ledger_latest; END IF; END $rb$;
