--liquibase formatted sql

--changeset opsmv:v1.0-mv_refresh_policy rollbackSplitStatements:false
--comment: Which MVs are critical and after how long each is WARN / CRIT; read by the health views and commands.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-mv_refresh_policy')
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE TABLE ops.mv_refresh_policy (
    schema_name         text    NOT NULL DEFAULT 'ops',
    mv_name             text    NOT NULL,
    is_critical         boolean NOT NULL DEFAULT false,
    warn_after_hours    numeric NOT NULL,
    crit_after_hours    numeric NOT NULL,
    stuck_after_minutes integer NOT NULL DEFAULT 60,
    refresh_enabled     boolean NOT NULL DEFAULT true,
    notes               text,
    PRIMARY KEY (schema_name, mv_name),
    CONSTRAINT mv_refresh_policy_thresholds_chk
        CHECK (warn_after_hours > 0 AND crit_after_hours >= warn_after_hours AND stuck_after_minutes > 0)
);
COMMENT ON TABLE ops.mv_refresh_policy IS 'opsmv: freshness thresholds per materialized view';
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF NOT ops.opsmv_release('v1.0-mv_refresh_policy') THEN DROP TABLE IF EXISTS ops.mv_refresh_policy; END IF; END $rb$;

--changeset opsmv:v1.0-mv_refresh_policy-rows rollbackSplitStatements:false
--comment: Thresholds from the runbooks: the claims chain 24 h / 48 h; the driver matrix feeds a dashboard refreshed hourly, so 2 h / 6 h.
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('v1.0-mv_refresh_policy')
INSERT INTO ops.mv_refresh_policy (schema_name, mv_name, is_critical, warn_after_hours, crit_after_hours, stuck_after_minutes, notes) VALUES
    ('ops', 'mv_yango_payments_raw_current',            false, 24, 48, 60, 'latest snapshot of each Yango payment'),
    ('ops', 'mv_yango_payments_ledger_latest',          false, 24, 48, 60, 'paid total per driver x milestone'),
    ('ops', 'mv_yango_payments_ledger_latest_enriched', false, 24, 48, 60, 'ledger with driver attributes'),
    ('ops', 'mv_yango_receivable_payable_detail',       false, 24, 48, 60, 'expected vs paid'),
    ('ops', 'mv_claims_payment_status_cabinet',         false, 24, 48, 60, 'payment status of each cabinet claim'),
    ('ops', 'mv_yango_cabinet_claims_for_collection',   true,  24, 48, 60, 'claims still to collect (runbook: 24 h / 48 h)'),
    ('ops', 'mv_payments_driver_matrix_cabinet',        true,   2,  6, 30, 'served by the driver-matrix endpoint');
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF ops.opsmv_decision('v1.0-mv_refresh_policy') = 'create' THEN DELETE FROM ops.mv_refresh_policy WHERE schema_name = 'ops' AND mv_name IN ('mv_yango_payments_raw_current', 'mv_yango_payments_ledger_latest', 'mv_yango_payments_ledger_latest_enriched', 'mv_yango_receivable_payable_detail', 'mv_claims_payment_status_cabinet', 'mv_yango_cabinet_claims_for_collection', 'mv_payments_driver_matrix_cabinet'); END IF; END $rb$;
