--liquibase formatted sql

--changeset opsmv:v1.1-catalogue splitStatements:false
--comment: Release v1.1's definition of the driver-matrix view, for the adoption gate and `opsmv import` (a database that already holds it is recognised; one that holds v1.0's is upgraded by v1.1). The MV's definition (SELECT * FROM the view) is the same text in both releases: not repeated.
SET LOCAL lock_timeout = '${lock_timeout}';
INSERT INTO ops.opsmv_bundle_object (seq, changeset_id, object_kind, object_schema, object_name, definition) VALUES
    (1190, 'v1.1-v_payments_driver_matrix_cabinet', 'view', 'ops', 'v_payments_driver_matrix_cabinet', $def$
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
           sum(l.paid_amount)                                       AS paid_total,
           max(l.last_paid_date)                                    AS last_paid_date
    FROM ops.mv_yango_payments_ledger_latest l
    GROUP BY l.driver_id
), claimed AS (
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
       coalesce(c.claims_count, 0)::integer              AS claims_count,
       -- v02: appended last, so CREATE OR REPLACE VIEW keeps every dependent working
       p.last_paid_date                                  AS last_paid_date
FROM ${source_schema}.drivers d
LEFT JOIN achieved a ON a.driver_id = d.driver_id
LEFT JOIN expected e ON e.driver_id = d.driver_id
LEFT JOIN paid     p ON p.driver_id = d.driver_id
LEFT JOIN claimed  c ON c.driver_id = d.driver_id
WHERE d.driver_id IS NOT NULL
$def$)
ON CONFLICT (changeset_id, object_schema, object_name) DO UPDATE SET seq = EXCLUDED.seq, object_kind = EXCLUDED.object_kind, definition = EXCLUDED.definition;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DELETE FROM ops.opsmv_bundle_object WHERE changeset_id = 'v1.1-v_payments_driver_matrix_cabinet';
