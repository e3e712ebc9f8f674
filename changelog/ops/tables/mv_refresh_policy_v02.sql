--liquibase formatted sql

--changeset opsmv:v1.7-mv_refresh_policy-retention
--comment: How long the refresh log keeps an MV's rows (`opsmv prune`, and the end of every `refresh` run): 90 days unless set. ADD COLUMN with a constant default is a catalog change (no rewrite); the check reads the policy's few rows. The rollback drops the column: the setting means nothing to a release without prune.
SET LOCAL lock_timeout = '${lock_timeout}';
-- lint: a number of days; integer holds 5.8 million years of them
-- squawk-ignore prefer-bigint-over-int
ALTER TABLE ops.mv_refresh_policy ADD COLUMN IF NOT EXISTS retention_days integer NOT NULL DEFAULT 90;
ALTER TABLE ops.mv_refresh_policy DROP CONSTRAINT IF EXISTS mv_refresh_policy_retention_chk;
-- lint: the policy holds a row per MV (seven): the check reads them in microseconds under the lock
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE ops.mv_refresh_policy ADD CONSTRAINT mv_refresh_policy_retention_chk CHECK (retention_days > 0);
COMMENT ON COLUMN ops.mv_refresh_policy.retention_days IS 'opsmv: days the refresh log keeps this MV''s rows (the newest OK and the newest other row are always kept)';
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback -- lint: the column this changeset added; only prune reads it, and prune comes with this release
--rollback -- squawk-ignore ban-drop-column
--rollback ALTER TABLE ops.mv_refresh_policy DROP COLUMN IF EXISTS retention_days;
