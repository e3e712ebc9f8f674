--liquibase formatted sql

--changeset opsmv:opt-reader-role splitStatements:false
--comment: The reader role, for `serve` and `health`. Roles are cluster-wide: another database of the cluster may have created it already.
DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'opsmv_reader') THEN
        CREATE ROLE opsmv_reader NOLOGIN;
    END IF;
END
$do$;
COMMENT ON ROLE opsmv_reader IS 'opsmv: may read the bundle''s MVs, the driver-matrix view, the health views, the refresh log and policy; nothing else, no write';
--rollback DO $do$ BEGIN DROP ROLE IF EXISTS opsmv_reader; EXCEPTION WHEN dependent_objects_still_exist THEN RAISE NOTICE 'opsmv_reader keeps privileges in another database of this cluster: role kept'; END $do$;

--changeset opsmv:opt-reader-grants splitStatements:false
--comment: What `serve` and `health` read, by name: the MVs of the policy (SELECT on a view or an MV does not reach its sources: those stay closed), the driver-matrix view (the endpoint's fallback; a view reads its sources with its owner's rights), the health views, the refresh log and the policy. No INSERT, UPDATE, DELETE, TRUNCATE anywhere; no USAGE on the source schema.
SET LOCAL lock_timeout = '${lock_timeout}';
DO $do$
DECLARE
    r record;
BEGIN
    GRANT USAGE ON SCHEMA ops TO opsmv_reader;
    FOR r IN SELECT format('%I.%I', p.schema_name, p.mv_name) AS mv FROM ops.mv_refresh_policy p
             WHERE to_regclass(format('%I.%I', p.schema_name, p.mv_name)) IS NOT NULL LOOP
        EXECUTE format('GRANT SELECT ON %s TO opsmv_reader', r.mv);
    END LOOP;
    GRANT SELECT ON ops.v_payments_driver_matrix_cabinet, ops.v_mv_health, ops.v_yango_cabinet_claims_mv_health,
        ops.mv_refresh_log, ops.mv_refresh_policy TO opsmv_reader;
END
$do$;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $do$
--rollback DECLARE
--rollback     r record;
--rollback BEGIN
--rollback     FOR r IN SELECT format('%I.%I', p.schema_name, p.mv_name) AS mv FROM ops.mv_refresh_policy p
--rollback              WHERE to_regclass(format('%I.%I', p.schema_name, p.mv_name)) IS NOT NULL LOOP
--rollback         EXECUTE format('REVOKE SELECT ON %s FROM opsmv_reader', r.mv);
--rollback     END LOOP;
--rollback     REVOKE SELECT ON ops.v_payments_driver_matrix_cabinet, ops.v_mv_health, ops.v_yango_cabinet_claims_mv_health,
--rollback         ops.mv_refresh_log, ops.mv_refresh_policy FROM opsmv_reader;
--rollback     REVOKE USAGE ON SCHEMA ops FROM opsmv_reader;
--rollback END
--rollback $do$;
