--liquibase formatted sql

--changeset opsmv:v1.7-opsmv-prune-function splitStatements:false rollbackSplitStatements:false
--comment: The retention rule written once, for every path that prunes (`opsmv prune`, the end of an `opsmv refresh` run, the end of the refresher's pg_cron run): one batch of one MV's log rows older than its retention_days, in the caller's transaction, under the MV's refresh lock (a refresh of it going on: -1, nothing touched). Never the MV's newest OK row, its newest finished row of any other status (the last failure stays visible), nor a RUNNING row. With p_archive the rows move to that table (same columns) instead of being deleted. p_dry_run counts what would go, every batch together.
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE OR REPLACE FUNCTION ops.opsmv_prune_batch(p_schema text, p_name text, p_batch integer, p_archive regclass DEFAULT NULL,
                                                 p_dry_run boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_days integer;
    v_cutoff timestamptz;
    v_keep_ok bigint;
    v_keep_other bigint;
    v_rows bigint;
BEGIN
    -- the rows go to a table the caller could write to itself, never to one only this function's owner can
    IF p_archive IS NOT NULL AND NOT pg_catalog.has_table_privilege(session_user, p_archive, 'INSERT') THEN
        RAISE EXCEPTION 'opsmv: % may not INSERT into %: archive to a table of its own', session_user, p_archive
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT (SELECT pg_try_advisory_xact_lock(k.class_key, k.object_key) FROM ops.opsmv_refresh_lock_key(p_schema, p_name) k) THEN
        RETURN -1;
    END IF;
    v_days := coalesce((SELECT p.retention_days FROM ops.mv_refresh_policy p WHERE p.schema_name = p_schema AND p.mv_name = p_name), 90);
    v_cutoff := now() - make_interval(days => v_days);
    -- what health reads as the last OK refresh, and the last word of any other kind
    v_keep_ok := (SELECT l.refresh_id FROM ops.mv_refresh_log l WHERE l.schema_name = p_schema AND l.mv_name = p_name AND l.status = 'OK'
                  ORDER BY l.refresh_finished_at DESC LIMIT 1);
    v_keep_other := (SELECT l.refresh_id FROM ops.mv_refresh_log l WHERE l.schema_name = p_schema AND l.mv_name = p_name
                     AND l.status NOT IN ('OK', 'RUNNING') ORDER BY l.refresh_started_at DESC LIMIT 1);
    IF p_dry_run THEN
        SELECT count(*) INTO v_rows FROM ops.mv_refresh_log l
        WHERE l.schema_name = p_schema AND l.mv_name = p_name AND l.refresh_started_at < v_cutoff AND l.status <> 'RUNNING'
          AND l.refresh_id <> coalesce(v_keep_ok, -1) AND l.refresh_id <> coalesce(v_keep_other, -1);
        RETURN v_rows;
    END IF;
    IF p_archive IS NULL THEN
        DELETE FROM ops.mv_refresh_log l
        WHERE l.refresh_id IN (SELECT v.refresh_id FROM ops.mv_refresh_log v
                               WHERE v.schema_name = p_schema AND v.mv_name = p_name AND v.refresh_started_at < v_cutoff
                                 AND v.status <> 'RUNNING' AND v.refresh_id <> coalesce(v_keep_ok, -1) AND v.refresh_id <> coalesce(v_keep_other, -1)
                               ORDER BY v.refresh_started_at LIMIT p_batch);
    ELSE
        EXECUTE format('WITH moved AS (DELETE FROM ops.mv_refresh_log l WHERE l.refresh_id IN ('
                       'SELECT v.refresh_id FROM ops.mv_refresh_log v WHERE v.schema_name = $1 AND v.mv_name = $2 AND v.refresh_started_at < $3 '
                       'AND v.status <> ''RUNNING'' AND v.refresh_id <> $4 AND v.refresh_id <> $5 ORDER BY v.refresh_started_at LIMIT $6) '
                       'RETURNING l.*) INSERT INTO %s SELECT * FROM moved', p_archive)
            USING p_schema, p_name, v_cutoff, coalesce(v_keep_ok, -1), coalesce(v_keep_other, -1), p_batch;
    END IF;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$fn$;
-- SECURITY DEFINER: the refresher role (optional changelog) prunes at the end of its pg_cron run without DELETE on
-- the log; only who is granted EXECUTE may call it
REVOKE ALL ON FUNCTION ops.opsmv_prune_batch(text, text, integer, regclass, boolean) FROM PUBLIC;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DROP FUNCTION IF EXISTS ops.opsmv_prune_batch(text, text, integer, regclass, boolean);
