--liquibase formatted sql

--changeset opsmv:v1.0-mv_claims_payment_status_cabinet rollbackSplitStatements:false
--comment: Each cabinet claim with what Yango paid for its driver x milestone. PAID covers the claim; PARTIAL pays part; REVERSED was paid then reversed; UNPAID has no payment.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-mv_claims_payment_status_cabinet')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE MATERIALIZED VIEW ops.mv_claims_payment_status_cabinet AS
SELECT c.claim_id,
       c.driver_id,
       c.milestone_value,
       c.amount::numeric(14,2)                 AS claim_amount,
       c.status                                AS claim_status,
       c.created_at                            AS claim_created_at,
       coalesce(l.paid_amount, 0)::numeric(14,2) AS paid_amount,
       l.last_paid_date,
       CASE
           WHEN coalesce(l.paid_amount, 0) >= c.amount AND c.amount > 0 THEN 'PAID'
           WHEN coalesce(l.paid_amount, 0) > 0 THEN 'PARTIAL'
           WHEN EXISTS (SELECT 1
                        FROM ops.mv_yango_payments_raw_current r
                        WHERE r.driver_id = c.driver_id
                          AND r.milestone_value = c.milestone_value
                          AND r.status = 'reversed') THEN 'REVERSED'
           ELSE 'UNPAID'
       END                                     AS payment_status
FROM ${source_schema}.claims_cabinet c
LEFT JOIN ops.mv_yango_payments_ledger_latest l
       ON l.driver_id = c.driver_id AND l.milestone_value = c.milestone_value
WHERE c.claim_id IS NOT NULL
WITH DATA;
CREATE UNIQUE INDEX ux_mv_claims_payment_status_cabinet_grain
    ON ops.mv_claims_payment_status_cabinet (claim_id);
CREATE INDEX idx_mv_claims_payment_status_cabinet_driver_milestone
    ON ops.mv_claims_payment_status_cabinet (driver_id, milestone_value);
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF NOT ops.opsmv_release('v1.0-mv_claims_payment_status_cabinet') THEN DROP MATERIALIZED VIEW IF EXISTS ops.mv_claims_payment_status_cabinet; END IF; END $rb$;
