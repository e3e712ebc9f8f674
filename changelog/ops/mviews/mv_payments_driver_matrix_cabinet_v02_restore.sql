--liquibase formatted sql

--changeset opsmv:v1.5-carry-restore-mv_payments_driver_matrix_cabinet
--comment: Right after release v1.1 rebuilt the driver-matrix MV: puts back what ops.opsmv_carry_capture recorded before the rebuild (ops.opsmv_carry_restore), in the order each grantor can grant again, then forgets the record. Its rollback records the v1.1 MV's facts again for the rollback of the capture changeset, which runs after v1.1's own rollback has rebuilt the v1.0 MV; idx_mv_payments_driver_matrix_cabinet_week is v1.1's own index, which v1.0 does not have, so it is not carried back.
SET LOCAL lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_carry_restore('ops', 'mv_payments_driver_matrix_cabinet');
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback SELECT ops.opsmv_carry_capture('ops', 'mv_payments_driver_matrix_cabinet', ARRAY['idx_mv_payments_driver_matrix_cabinet_week']);
