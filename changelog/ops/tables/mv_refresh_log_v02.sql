--liquibase formatted sql

--changeset opsmv:v1.2-mv_refresh_log-swap-method
--comment: A refresh can now rebuild an MV beside the serving one and swap it in (`refresh --method swap`): the log's method takes SWAP. NOT VALID: no scan under the lock, and the rows of an adopted log of another shape are checked only when they are written again.
SET LOCAL lock_timeout = '${lock_timeout}';
ALTER TABLE ops.mv_refresh_log DROP CONSTRAINT IF EXISTS mv_refresh_log_method_chk;
ALTER TABLE ops.mv_refresh_log ADD CONSTRAINT mv_refresh_log_method_chk
    CHECK (method IS NULL OR method IN ('CONCURRENTLY', 'PLAIN', 'SWAP')) NOT VALID;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback ALTER TABLE ops.mv_refresh_log DROP CONSTRAINT IF EXISTS mv_refresh_log_method_chk;
--rollback ALTER TABLE ops.mv_refresh_log ADD CONSTRAINT mv_refresh_log_method_chk CHECK (method IS NULL OR method IN ('CONCURRENTLY', 'PLAIN')) NOT VALID;
