--liquibase formatted sql

--changeset opsmv:v1.0-refresh-tables-conform
--comment: The refresh log and policy tables as every writer and reader needs them, whether the bundle created them or adopted them in the runbook's shape: missing columns added (no row touched), the defaults the writers rely on, CHECK constraints that would reject the bundle's statuses lifted, the log's indexes, and refreshed_at (the runbooks read MAX(refreshed_at)) written by every OK refresh. Each change is recorded with its undo; rollback reverses exactly those.
SET LOCAL lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_conform_refresh_tables('v1.0-refresh-tables-conform');
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback SELECT ops.opsmv_release('v1.0-refresh-tables-conform');
