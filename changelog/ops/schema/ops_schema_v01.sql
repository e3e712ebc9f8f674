--liquibase formatted sql

--changeset opsmv:v1.0-ops-schema rollbackSplitStatements:false
--comment: The schema every bundle object lives in.
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE SCHEMA IF NOT EXISTS ops;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$ BEGIN IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'ops') OR EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'ops') THEN RAISE WARNING 'opsmv: schema ops kept: it still holds objects the bundle did not create (adopted objects, archived refresh history)'; ELSE DROP SCHEMA IF EXISTS ops; END IF; END $rb$;

--changeset opsmv:v1.0-ops-index-guards splitStatements:false
--comment: CREATE INDEX CONCURRENTLY IF NOT EXISTS silently skips an INVALID leftover of a failed build; the index changesets call these two guards around every concurrent build.
CREATE OR REPLACE FUNCTION ops.opsmv_drop_invalid_index(p_schema text, p_index text)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF EXISTS (
        SELECT 1
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = p_schema AND c.relname = p_index AND NOT i.indisvalid
    ) THEN
        RAISE WARNING 'opsmv: index %.% is INVALID (left by a failed concurrent build); dropping it to rebuild', p_schema, p_index;
        EXECUTE format('DROP INDEX %I.%I', p_schema, p_index);
        RETURN true;
    END IF;
    RETURN false;
END
$fn$;

CREATE OR REPLACE FUNCTION ops.opsmv_assert_index_valid(p_schema text, p_index text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_valid boolean;
BEGIN
    SELECT i.indisvalid INTO v_valid
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = p_schema AND c.relname = p_index;
    IF v_valid IS NULL THEN
        RAISE EXCEPTION 'opsmv: index %.% does not exist after its build', p_schema, p_index;
    ELSIF NOT v_valid THEN
        RAISE EXCEPTION 'opsmv: index %.% is INVALID after its build; run update again to rebuild it', p_schema, p_index;
    END IF;
END
$fn$;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DROP FUNCTION IF EXISTS ops.opsmv_assert_index_valid(text, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_drop_invalid_index(text, text);
