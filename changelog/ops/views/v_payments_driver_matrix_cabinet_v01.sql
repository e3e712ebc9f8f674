--liquibase formatted sql

--changeset opsmv:v1.0-v_payments_driver_matrix_cabinet rollbackSplitStatements:false
--comment: The driver matrix computed live: one row per driver, each milestone (1, 5, 25) achieved / expected / paid / claim status, and totals. Correct but slow (aggregates every source table); the endpoint reads the MV built from it.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-v_payments_driver_matrix_cabinet')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE VIEW ops.v_payments_driver_matrix_cabinet AS
WITH achieved AS (
    SELECT m.driver_id,
           min(m.achieved_at) FILTER (WHERE m.milestone_value = 1)  AS m1_achieved_at,
           min(m.achieved_at) FILTER (WHERE m.milestone_value = 5)  AS m5_achieved_at,
           min(m.achieved_at) FILTER (WHERE m.milestone_value = 25) AS m25_achieved_at
    FROM ${source_schema}.milestones_achieved m
    GROUP BY m.driver_id
), expected AS (
    SELECT pc.driver_id,
           sum(pc.expected_amount) FILTER (WHERE pc.milestone_value = 1)  AS m1_expected,
           sum(pc.expected_amount) FILTER (WHERE pc.milestone_value = 5)  AS m5_expected,
           sum(pc.expected_amount) FILTER (WHERE pc.milestone_value = 25) AS m25_expected,
           sum(pc.expected_amount)                                        AS expected_total
    FROM ${source_schema}.payment_calc pc
    GROUP BY pc.driver_id
), paid AS (
    SELECT l.driver_id,
           sum(l.paid_amount) FILTER (WHERE l.milestone_value = 1)  AS m1_paid,
           sum(l.paid_amount) FILTER (WHERE l.milestone_value = 5)  AS m5_paid,
           sum(l.paid_amount) FILTER (WHERE l.milestone_value = 25) AS m25_paid,
           sum(l.paid_amount)                                       AS paid_total
    FROM ops.mv_yango_payments_ledger_latest l
    GROUP BY l.driver_id
), claimed AS (
    -- The latest claim per milestone decides its status; more than one is a data problem
    -- reported by check-duplicates, not hidden here.
    SELECT c.driver_id,
           (array_agg(c.status ORDER BY c.created_at DESC, c.claim_id DESC) FILTER (WHERE c.milestone_value = 1))[1]  AS m1_claim_status,
           (array_agg(c.status ORDER BY c.created_at DESC, c.claim_id DESC) FILTER (WHERE c.milestone_value = 5))[1]  AS m5_claim_status,
           (array_agg(c.status ORDER BY c.created_at DESC, c.claim_id DESC) FILTER (WHERE c.milestone_value = 25))[1] AS m25_claim_status,
           count(*)                                                                                                   AS claims_count
    FROM ${source_schema}.claims_cabinet c
    GROUP BY c.driver_id
)
SELECT d.driver_id,
       d.origin_tag,
       d.week_start,
       d.lead_date,
       d.park_id,
       (a.m1_achieved_at IS NOT NULL)                    AS m1_achieved,
       a.m1_achieved_at,
       coalesce(e.m1_expected, 0)::numeric(14,2)         AS m1_expected,
       coalesce(p.m1_paid, 0)::numeric(14,2)             AS m1_paid,
       coalesce(c.m1_claim_status, 'not_claimed')        AS m1_claim_status,
       (a.m5_achieved_at IS NOT NULL)                    AS m5_achieved,
       a.m5_achieved_at,
       coalesce(e.m5_expected, 0)::numeric(14,2)         AS m5_expected,
       coalesce(p.m5_paid, 0)::numeric(14,2)             AS m5_paid,
       coalesce(c.m5_claim_status, 'not_claimed')        AS m5_claim_status,
       (a.m25_achieved_at IS NOT NULL)                   AS m25_achieved,
       a.m25_achieved_at,
       coalesce(e.m25_expected, 0)::numeric(14,2)        AS m25_expected,
       coalesce(p.m25_paid, 0)::numeric(14,2)            AS m25_paid,
       coalesce(c.m25_claim_status, 'not_claimed')       AS m25_claim_status,
       coalesce(e.expected_total, 0)::numeric(14,2)      AS expected_total,
       coalesce(p.paid_total, 0)::numeric(14,2)          AS paid_total,
       (coalesce(e.expected_total, 0) - coalesce(p.paid_total, 0))::numeric(14,2) AS balance_total,
       coalesce(c.claims_count, 0)::integer              AS claims_count
FROM ${source_schema}.drivers d
LEFT JOIN achieved a ON a.driver_id = d.driver_id
LEFT JOIN expected e ON e.driver_id = d.driver_id
LEFT JOIN paid     p ON p.driver_id = d.driver_id
LEFT JOIN claimed  c ON c.driver_id = d.driver_id
WHERE d.driver_id IS NOT NULL;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF NOT ops.opsmv_release('v1.0-v_payments_driver_matrix_cabinet') THEN DROP VIEW IF EXISTS ops.v_payments_driver_matrix_cabinet; END IF; END $rb$;
