--liquibase formatted sql

--changeset opsmv:v1.0-mv_yango_receivable_payable_detail rollbackSplitStatements:false
--comment: Expected (our calculation) against paid (Yango's ledger) per driver x milestone: receivable when Yango owes us, payable when it overpaid.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-mv_yango_receivable_payable_detail')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE MATERIALIZED VIEW ops.mv_yango_receivable_payable_detail AS
SELECT coalesce(pc.driver_id, l.driver_id)             AS driver_id,
       coalesce(pc.milestone_value, l.milestone_value) AS milestone_value,
       coalesce(pc.origin_tag, l.origin_tag)           AS origin_tag,
       coalesce(pc.week_start, l.week_start)           AS week_start,
       pc.rule_code,
       coalesce(pc.expected_amount, 0)::numeric(14,2)  AS expected_amount,
       coalesce(l.paid_amount, 0)::numeric(14,2)       AS paid_amount,
       greatest(coalesce(pc.expected_amount, 0) - coalesce(l.paid_amount, 0), 0)::numeric(14,2) AS receivable_amount,
       greatest(coalesce(l.paid_amount, 0) - coalesce(pc.expected_amount, 0), 0)::numeric(14,2) AS payable_amount,
       (coalesce(pc.expected_amount, 0) - coalesce(l.paid_amount, 0))::numeric(14,2)            AS balance_amount,
       l.last_paid_date
FROM ${source_schema}.payment_calc pc
FULL JOIN ops.mv_yango_payments_ledger_latest_enriched l
       ON l.driver_id = pc.driver_id AND l.milestone_value = pc.milestone_value
WHERE coalesce(pc.driver_id, l.driver_id) IS NOT NULL
  AND coalesce(pc.milestone_value, l.milestone_value) IS NOT NULL
WITH DATA;
CREATE UNIQUE INDEX ux_mv_yango_receivable_payable_detail_grain
    ON ops.mv_yango_receivable_payable_detail (driver_id, milestone_value);
CREATE INDEX idx_mv_yango_receivable_payable_detail_origin_week
    ON ops.mv_yango_receivable_payable_detail (origin_tag, week_start);
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF NOT ops.opsmv_release('v1.0-mv_yango_receivable_payable_detail') THEN DROP MATERIALIZED VIEW IF EXISTS ops.mv_yango_receivable_payable_detail; END IF; END $rb$;
