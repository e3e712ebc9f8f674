--liquibase formatted sql

-- Deliberately wrong: CREATE INDEX CONCURRENTLY in a changeset Liquibase wraps in a transaction
-- (runInTransaction:false is missing). Only a lint that honours the changeset's transaction mode
-- catches it before PostgreSQL does.

--changeset opsmv-test:unsafe-concurrent-index-in-transaction
SET lock_timeout = '${lock_timeout}';
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_drivers_park ON ${source_schema}.drivers (park_id);
--rollback SET lock_timeout = '${lock_timeout}';
--rollback DROP INDEX CONCURRENTLY IF EXISTS ${source_schema}.idx_drivers_park;
