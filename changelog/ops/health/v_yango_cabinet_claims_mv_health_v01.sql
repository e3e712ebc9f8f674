--liquibase formatted sql

--changeset opsmv:v1.0-v_yango_cabinet_claims_mv_health rollbackSplitStatements:false
--comment: The claims runbook's health check. Scripts read it by position: these six columns, in this order, never change.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-v_yango_cabinet_claims_mv_health')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE VIEW ops.v_yango_cabinet_claims_mv_health AS
SELECT h.last_ok_refresh_finished_at,
       h.hours_since_ok_refresh,
       h.status_bucket,
       h.last_status,
       h.last_error,
       h.rows_after_refresh
FROM ops.v_mv_health h
WHERE h.schema_name = 'ops' AND h.mv_name = 'mv_yango_cabinet_claims_for_collection';
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF NOT ops.opsmv_release('v1.0-v_yango_cabinet_claims_mv_health') THEN DROP VIEW IF EXISTS ops.v_yango_cabinet_claims_mv_health; END IF; END $rb$;
