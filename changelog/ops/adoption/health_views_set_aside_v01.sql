--liquibase formatted sql

--changeset opsmv:v1.0-health-views-set-aside
--comment: A health view of another shape (derived from the log, no data of its own) is renamed <name>_pre_opsmv so the bundle's view can take its name; rollback drops the bundle's view and renames the old one back.
SET LOCAL lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_set_aside('v1.0-v_yango_cabinet_claims_mv_health', 'v1.0-health-views-set-aside');
SELECT ops.opsmv_set_aside('v1.0-v_mv_health', 'v1.0-health-views-set-aside');
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback SELECT ops.opsmv_release('v1.0-health-views-set-aside');
