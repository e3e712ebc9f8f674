--liquibase formatted sql

--changeset opsmv:v1.5-matview-versions-catalogue splitStatements:false
--comment: Later versions of MVs whose query does not change between releases, told apart by their indexes (ops.opsmv_adoption_plan v02): release v1.1's driver matrix (SELECT * FROM the v02 view, its grain index, the endpoint's two filter indexes in its sort order). A database that holds it without its history is adopted as v1.1 and keeps its MV (same OID).
SET LOCAL lock_timeout = '${lock_timeout}';
INSERT INTO ops.opsmv_bundle_object (seq, changeset_id, object_kind, object_schema, object_name, definition) VALUES
    (1200, 'v1.1-mv_payments_driver_matrix_cabinet', 'matview-version', 'ops', 'mv_payments_driver_matrix_cabinet', $def$
SELECT * FROM ops.v_payments_driver_matrix_cabinet
$def$)
ON CONFLICT (changeset_id, object_schema, object_name) DO UPDATE SET seq = EXCLUDED.seq, object_kind = EXCLUDED.object_kind, definition = EXCLUDED.definition;
INSERT INTO ops.opsmv_bundle_index (seq, changeset_id, index_schema, index_name, table_schema, table_name, is_unique, key_sql) VALUES
    (1201, 'v1.1-mv_payments_driver_matrix_cabinet', 'ops', 'ux_mv_payments_driver_matrix_cabinet_grain', 'ops', 'mv_payments_driver_matrix_cabinet', true, '(driver_id)'),
    (1202, 'v1.1-mv_payments_driver_matrix_cabinet', 'ops', 'idx_mv_payments_driver_matrix_cabinet_origin_week', 'ops', 'mv_payments_driver_matrix_cabinet', false, '(origin_tag, week_start DESC, driver_id)'),
    (1203, 'v1.1-mv_payments_driver_matrix_cabinet', 'ops', 'idx_mv_payments_driver_matrix_cabinet_week', 'ops', 'mv_payments_driver_matrix_cabinet', false, '(week_start DESC, driver_id)')
ON CONFLICT (changeset_id, index_schema, index_name) DO UPDATE SET seq = EXCLUDED.seq, table_schema = EXCLUDED.table_schema, table_name = EXCLUDED.table_name, is_unique = EXCLUDED.is_unique, key_sql = EXCLUDED.key_sql;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DELETE FROM ops.opsmv_bundle_index WHERE changeset_id = 'v1.1-mv_payments_driver_matrix_cabinet';
--rollback DELETE FROM ops.opsmv_bundle_object WHERE changeset_id = 'v1.1-mv_payments_driver_matrix_cabinet';
