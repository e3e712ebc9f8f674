--liquibase formatted sql

-- Deliberately unsafe changesets: the lint must reject each of them (LintTest, .ci/run's lint).

--changeset opsmv-test:unsafe-plain-index-on-source
--comment: A plain CREATE INDEX on a busy source table blocks every writer for the whole build.
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE INDEX idx_drivers_park ON ${source_schema}.drivers (park_id);
--rollback DROP INDEX IF EXISTS ${source_schema}.idx_drivers_park;

--changeset opsmv-test:unsafe-alter-without-lock-timeout
--comment: ALTER TABLE with no lock_timeout queues behind any long transaction and stalls every query behind it.
ALTER TABLE ${source_schema}.drivers ADD COLUMN IF NOT EXISTS unsafe_note text;
--rollback ALTER TABLE ${source_schema}.drivers DROP COLUMN IF EXISTS unsafe_note;
