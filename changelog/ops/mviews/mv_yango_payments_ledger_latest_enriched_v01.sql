--liquibase formatted sql

--changeset opsmv:v1.0-mv_yango_payments_ledger_latest_enriched rollbackSplitStatements:false
--comment: The ledger with the driver attributes reports filter on (origin, lead week, park).
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-mv_yango_payments_ledger_latest_enriched')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE MATERIALIZED VIEW ops.mv_yango_payments_ledger_latest_enriched AS
SELECT l.driver_id,
       l.milestone_value,
       l.paid_amount,
       l.last_paid_date,
       l.payment_count,
       d.origin_tag,
       d.week_start,
       d.lead_date,
       d.park_id
FROM ops.mv_yango_payments_ledger_latest l
LEFT JOIN ${source_schema}.drivers d ON d.driver_id = l.driver_id
WITH DATA;
CREATE UNIQUE INDEX ux_mv_yango_payments_ledger_latest_enriched_grain
    ON ops.mv_yango_payments_ledger_latest_enriched (driver_id, milestone_value);
CREATE INDEX idx_mv_yango_payments_ledger_latest_enriched_origin_week
    ON ops.mv_yango_payments_ledger_latest_enriched (origin_tag, week_start);
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF NOT ops.opsmv_release('v1.0-mv_yango_payments_ledger_latest_enriched') THEN DROP MATERIALIZED VIEW IF EXISTS ops.mv_yango_payments_ledger_latest_enriched; END IF; END $rb$;
