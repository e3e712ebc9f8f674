--liquibase formatted sql

--changeset opsmv:v1.0-mv_yango_cabinet_claims_for_collection rollbackSplitStatements:false
--comment: Claims Yango has not fully paid, with the amount still due and its age. Its grain (driver x milestone) is a business rule the source does not enforce, so the unique index comes in its own guarded changeset below.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-mv_yango_cabinet_claims_for_collection')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE MATERIALIZED VIEW ops.mv_yango_cabinet_claims_for_collection AS
SELECT s.driver_id,
       s.milestone_value,
       s.claim_id,
       s.claim_status,
       s.claim_created_at,
       s.payment_status,
       s.claim_amount,
       s.paid_amount,
       (s.claim_amount - s.paid_amount)::numeric(14,2)          AS amount_due,
       (current_date - s.claim_created_at::date)                AS aging_days,
       CASE
           WHEN current_date - s.claim_created_at::date <= 30 THEN '0-30'
           WHEN current_date - s.claim_created_at::date <= 60 THEN '31-60'
           WHEN current_date - s.claim_created_at::date <= 90 THEN '61-90'
           ELSE '90+'
       END                                                      AS aging_bucket,
       d.origin_tag,
       d.week_start,
       d.park_id
FROM ops.mv_claims_payment_status_cabinet s
LEFT JOIN ${source_schema}.drivers d ON d.driver_id = s.driver_id
WHERE s.payment_status IN ('UNPAID', 'PARTIAL', 'REVERSED')
  AND s.driver_id IS NOT NULL
  AND s.milestone_value IS NOT NULL
WITH DATA;
CREATE INDEX idx_mv_yango_cabinet_claims_for_collection_aging
    ON ops.mv_yango_cabinet_claims_for_collection (aging_bucket, origin_tag);
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF NOT ops.opsmv_release('v1.0-mv_yango_cabinet_claims_for_collection') THEN DROP MATERIALIZED VIEW IF EXISTS ops.mv_yango_cabinet_claims_for_collection; END IF; END $rb$;

--changeset opsmv:v1.0-ux_mv_yango_cabinet_claims_for_collection_grain runInTransaction:false
--comment: The unique grain index makes REFRESH CONCURRENTLY possible. Duplicate claims in the source would make it fail half-way (an INVALID index), so the deployment halts first and says how to list them. The REFRESHes drop duplicates the MVs captured before they were removed from the source (the claims status MV first: this MV reads it).
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_grain_decision('${source_schema}')
SET lock_timeout = '${lock_timeout}';
REFRESH MATERIALIZED VIEW CONCURRENTLY ops.mv_claims_payment_status_cabinet;
REFRESH MATERIALIZED VIEW ops.mv_yango_cabinet_claims_for_collection;
SELECT ops.opsmv_drop_invalid_index('ops', 'ux_mv_yango_cabinet_claims_for_collection_grain');
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ux_mv_yango_cabinet_claims_for_collection_grain
    ON ops.mv_yango_cabinet_claims_for_collection (driver_id, milestone_value);
SELECT ops.opsmv_assert_index_valid('ops', 'ux_mv_yango_cabinet_claims_for_collection_grain');
--rollback SET lock_timeout = '${lock_timeout}';
--rollback SELECT ops.opsmv_keep_adopted_index('v1.0-ux_mv_yango_cabinet_claims_for_collection_grain', 'ops', 'ux_mv_yango_cabinet_claims_for_collection_grain');
--rollback DROP INDEX CONCURRENTLY IF EXISTS ops.ux_mv_yango_cabinet_claims_for_collection_grain;
--rollback SELECT ops.opsmv_restore_adopted_index('ops', 'ux_mv_yango_cabinet_claims_for_collection_grain');
