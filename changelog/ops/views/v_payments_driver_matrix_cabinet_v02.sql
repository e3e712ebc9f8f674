--liquibase formatted sql

--changeset opsmv:v1.1-v_payments_driver_matrix_cabinet
--comment: v02 of the driver matrix adds last_paid_date (the latest date Yango paid the driver anything, from the ledger). The column is appended last, so CREATE OR REPLACE VIEW keeps the MV that reads the view working (it keeps serving its v01 columns until the next changeset swaps in its rebuild). Dependents were found in pg_depend (docs/DEFINITION_CHANGES.md): only ops.mv_payments_driver_matrix_cabinet; the precondition halts if that is no longer true (to_regclass: update-sql on an empty database must not fail on it).
--preconditions onFail:HALT onError:HALT
--precondition-sql-check expectedResult:ok SELECT ops.opsmv_require(count(*) = 0, 'ops.v_payments_driver_matrix_cabinet or ops.mv_payments_driver_matrix_cabinet has dependents release v1.1 does not rebuild. List them with the pg_depend query of docs/DEFINITION_CHANGES.md, add their rebuild to the release, then run update again.') FROM (SELECT DISTINCT rw.ev_class FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid IN (to_regclass('ops.v_payments_driver_matrix_cabinet'), to_regclass('ops.mv_payments_driver_matrix_cabinet')) AND rw.ev_class <> d.refobjid AND rw.ev_class <> coalesce(to_regclass('ops.mv_payments_driver_matrix_cabinet')::oid, 0)) unexpected_dependents
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE OR REPLACE VIEW ops.v_payments_driver_matrix_cabinet AS
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
WHERE d.driver_id IS NOT NULL;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback ALTER VIEW ops.v_payments_driver_matrix_cabinet RENAME TO v_payments_driver_matrix_cabinet_v02_retired;
--rollback CREATE VIEW ops.v_payments_driver_matrix_cabinet AS
--rollback WITH achieved AS (
--rollback     SELECT m.driver_id,
--rollback            min(m.achieved_at) FILTER (WHERE m.milestone_value = 1)  AS m1_achieved_at,
--rollback            min(m.achieved_at) FILTER (WHERE m.milestone_value = 5)  AS m5_achieved_at,
--rollback            min(m.achieved_at) FILTER (WHERE m.milestone_value = 25) AS m25_achieved_at
--rollback     FROM ${source_schema}.milestones_achieved m
--rollback     GROUP BY m.driver_id
--rollback ), expected AS (
--rollback     SELECT pc.driver_id,
--rollback            sum(pc.expected_amount) FILTER (WHERE pc.milestone_value = 1)  AS m1_expected,
--rollback            sum(pc.expected_amount) FILTER (WHERE pc.milestone_value = 5)  AS m5_expected,
--rollback            sum(pc.expected_amount) FILTER (WHERE pc.milestone_value = 25) AS m25_expected,
--rollback            sum(pc.expected_amount)                                        AS expected_total
--rollback     FROM ${source_schema}.payment_calc pc
--rollback     GROUP BY pc.driver_id
--rollback ), paid AS (
--rollback     SELECT l.driver_id,
--rollback            sum(l.paid_amount) FILTER (WHERE l.milestone_value = 1)  AS m1_paid,
--rollback            sum(l.paid_amount) FILTER (WHERE l.milestone_value = 5)  AS m5_paid,
--rollback            sum(l.paid_amount) FILTER (WHERE l.milestone_value = 25) AS m25_paid,
--rollback            sum(l.paid_amount)                                       AS paid_total
--rollback     FROM ops.mv_yango_payments_ledger_latest l
--rollback     GROUP BY l.driver_id
--rollback ), claimed AS (
--rollback     SELECT c.driver_id,
--rollback            (array_agg(c.status ORDER BY c.created_at DESC, c.claim_id DESC) FILTER (WHERE c.milestone_value = 1))[1]  AS m1_claim_status,
--rollback            (array_agg(c.status ORDER BY c.created_at DESC, c.claim_id DESC) FILTER (WHERE c.milestone_value = 5))[1]  AS m5_claim_status,
--rollback            (array_agg(c.status ORDER BY c.created_at DESC, c.claim_id DESC) FILTER (WHERE c.milestone_value = 25))[1] AS m25_claim_status,
--rollback            count(*)                                                                                                   AS claims_count
--rollback     FROM ${source_schema}.claims_cabinet c
--rollback     GROUP BY c.driver_id
--rollback )
--rollback SELECT d.driver_id,
--rollback        d.origin_tag,
--rollback        d.week_start,
--rollback        d.lead_date,
--rollback        d.park_id,
--rollback        (a.m1_achieved_at IS NOT NULL)                    AS m1_achieved,
--rollback        a.m1_achieved_at,
--rollback        coalesce(e.m1_expected, 0)::numeric(14,2)         AS m1_expected,
--rollback        coalesce(p.m1_paid, 0)::numeric(14,2)             AS m1_paid,
--rollback        coalesce(c.m1_claim_status, 'not_claimed')        AS m1_claim_status,
--rollback        (a.m5_achieved_at IS NOT NULL)                    AS m5_achieved,
--rollback        a.m5_achieved_at,
--rollback        coalesce(e.m5_expected, 0)::numeric(14,2)         AS m5_expected,
--rollback        coalesce(p.m5_paid, 0)::numeric(14,2)             AS m5_paid,
--rollback        coalesce(c.m5_claim_status, 'not_claimed')        AS m5_claim_status,
--rollback        (a.m25_achieved_at IS NOT NULL)                   AS m25_achieved,
--rollback        a.m25_achieved_at,
--rollback        coalesce(e.m25_expected, 0)::numeric(14,2)        AS m25_expected,
--rollback        coalesce(p.m25_paid, 0)::numeric(14,2)            AS m25_paid,
--rollback        coalesce(c.m25_claim_status, 'not_claimed')       AS m25_claim_status,
--rollback        coalesce(e.expected_total, 0)::numeric(14,2)      AS expected_total,
--rollback        coalesce(p.paid_total, 0)::numeric(14,2)          AS paid_total,
--rollback        (coalesce(e.expected_total, 0) - coalesce(p.paid_total, 0))::numeric(14,2) AS balance_total,
--rollback        coalesce(c.claims_count, 0)::integer              AS claims_count
--rollback FROM ${source_schema}.drivers d
--rollback LEFT JOIN achieved a ON a.driver_id = d.driver_id
--rollback LEFT JOIN expected e ON e.driver_id = d.driver_id
--rollback LEFT JOIN paid     p ON p.driver_id = d.driver_id
--rollback LEFT JOIN claimed  c ON c.driver_id = d.driver_id
--rollback WHERE d.driver_id IS NOT NULL;
--rollback CREATE MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet_v01 AS
--rollback SELECT * FROM ops.v_payments_driver_matrix_cabinet
--rollback WITH DATA;
--rollback -- lint: the MV was created in this transaction, no other session sees it before commit
--rollback -- squawk-ignore require-concurrent-index-creation
--rollback CREATE UNIQUE INDEX ux_mv_payments_driver_matrix_cabinet_v01_grain
--rollback     ON ops.mv_payments_driver_matrix_cabinet_v01 (driver_id);
--rollback -- lint: the MV was created in this transaction, no other session sees it before commit
--rollback -- squawk-ignore require-concurrent-index-creation
--rollback CREATE INDEX idx_mv_payments_driver_matrix_cabinet_v01_origin_week
--rollback     ON ops.mv_payments_driver_matrix_cabinet_v01 (origin_tag, week_start, driver_id);
--rollback ANALYZE ops.mv_payments_driver_matrix_cabinet_v01;
--rollback DROP MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet;
--rollback DROP VIEW ops.v_payments_driver_matrix_cabinet_v02_retired;
--rollback ALTER MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet_v01 RENAME TO mv_payments_driver_matrix_cabinet;
--rollback ALTER INDEX ops.ux_mv_payments_driver_matrix_cabinet_v01_grain RENAME TO ux_mv_payments_driver_matrix_cabinet_grain;
--rollback ALTER INDEX ops.idx_mv_payments_driver_matrix_cabinet_v01_origin_week RENAME TO idx_mv_payments_driver_matrix_cabinet_origin_week;
--rollback INSERT INTO ops.mv_refresh_policy (schema_name, mv_name, is_critical, warn_after_hours, crit_after_hours, stuck_after_minutes, notes)
--rollback VALUES ('ops', 'mv_payments_driver_matrix_cabinet', true, 2, 6, 30, 'served by the driver-matrix endpoint')
--rollback ON CONFLICT (schema_name, mv_name) DO NOTHING;
