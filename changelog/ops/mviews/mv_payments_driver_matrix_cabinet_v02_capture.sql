--liquibase formatted sql

--changeset opsmv:v1.5-carry-capture-mv_payments_driver_matrix_cabinet
--comment: Before release v1.1 rebuilds the driver-matrix MV (CREATE beside, DROP, RENAME), records what is attached to it that the rebuild would lose: owner, grants with their grantors, comments, storage parameters, statistics targets, hand-made indexes, the CLUSTER mark (ops.opsmv_carry_capture). Refuses, before any change, what cannot be carried (objects typed by its row, a grantor the deploying role cannot act as). Its rollback puts the same facts on the MV that v1.1's rollback rebuilt. A no-op on an empty database; on a database that ran v1.1 before this changeset existed, it runs after v1.1 and its pair (the restore) gives back what it took.
SET LOCAL lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_carry_capture('ops', 'mv_payments_driver_matrix_cabinet');
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback SELECT ops.opsmv_carry_restore('ops', 'mv_payments_driver_matrix_cabinet');
