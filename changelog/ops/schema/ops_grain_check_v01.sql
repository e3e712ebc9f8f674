--liquibase formatted sql

--changeset opsmv:v1.0-ops-grain-check splitStatements:false rollbackSplitStatements:false
--comment: Duplicate grains of the claims-for-collection MV, checked on exactly the rows the MV will hold: its definition from the catalogue with every bundle MV it reads inlined down to the source tables, so the check follows the MV's own filters (payment status, NULL keys, claims without an id) instead of a copy of them. Used by the grain index changeset's precondition, the runner's pre-flight and check-duplicates. Latent duplicates are grains the MV filters out today that can enter it later (a PAID claim whose payment is reversed).
SET LOCAL lock_timeout = '${lock_timeout}';

-- The latest catalogue definition of a bundle relation with the bundle MVs it reads replaced by their
-- own definitions (recursively), so it computes from the source tables what the MV would hold now.
CREATE OR REPLACE FUNCTION ops.opsmv_inlined_definition(p_name text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $fn$
#variable_conflict use_column
DECLARE
    v_sql text;
    v_ref record;
    v_depth integer := 0;
BEGIN
    SELECT b.definition INTO v_sql FROM ops.opsmv_bundle_object b
    WHERE b.object_schema = 'ops' AND b.object_name = p_name AND b.object_kind IN ('matview', 'view')
    ORDER BY b.seq DESC LIMIT 1;
    IF v_sql IS NULL THEN
        RAISE EXCEPTION 'opsmv: ops.% is not a relation of the bundle', p_name;
    END IF;
    LOOP
        v_depth := v_depth + 1;
        SELECT DISTINCT ON (b.object_name) b.object_name, b.definition INTO v_ref
        FROM ops.opsmv_bundle_object b
        WHERE b.object_schema = 'ops' AND b.object_kind = 'matview' AND v_sql ~ ('ops\.' || b.object_name || '\M')
        ORDER BY b.object_name, b.seq DESC
        LIMIT 1;
        EXIT WHEN v_ref IS NULL OR v_depth > 20;
        v_sql := regexp_replace(v_sql, 'ops\.' || v_ref.object_name || '\M', '(' || v_ref.definition || E'\n)', 'g');
    END LOOP;
    RETURN v_sql;
END
$fn$;

-- Grains of ops.mv_yango_cabinet_claims_for_collection that the unique index would reject, computed
-- from the sources. latent: grains with more than one claim that the MV's filters leave out today.
CREATE OR REPLACE FUNCTION ops.opsmv_claims_grain_duplicates()
RETURNS TABLE (driver_id bigint, milestone_value integer, claims bigint, latent boolean, grains bigint)
LANGUAGE plpgsql
AS $fn$
BEGIN
    RETURN QUERY EXECUTE format($q$
        WITH would_hold AS (
            SELECT q.driver_id::bigint AS driver_id, q.milestone_value::integer AS milestone_value, count(*) AS claims
            FROM (%s) q
            GROUP BY 1, 2 HAVING count(*) > 1
        ), all_claims AS (
            -- every claim the status MV carries; a unique index never matches NULL keys
            SELECT q.driver_id::bigint AS driver_id, q.milestone_value::integer AS milestone_value, count(*) AS claims
            FROM (%s) q
            WHERE q.driver_id IS NOT NULL AND q.milestone_value IS NOT NULL
            GROUP BY 1, 2 HAVING count(*) > 1
        ), found AS (
            SELECT w.driver_id, w.milestone_value, w.claims, false AS latent FROM would_hold w
            UNION ALL
            SELECT a.driver_id, a.milestone_value, a.claims, true FROM all_claims a
            WHERE NOT EXISTS (SELECT 1 FROM would_hold w WHERE w.driver_id = a.driver_id AND w.milestone_value = a.milestone_value)
        )
        SELECT f.driver_id, f.milestone_value, f.claims, f.latent, count(*) OVER (PARTITION BY f.latent)
        FROM found f
        ORDER BY f.latent, f.claims DESC, f.driver_id, f.milestone_value
    $q$, ops.opsmv_inlined_definition('mv_yango_cabinet_claims_for_collection'),
         ops.opsmv_inlined_definition('mv_claims_payment_status_cabinet'));
END
$fn$;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DROP FUNCTION IF EXISTS ops.opsmv_claims_grain_duplicates();
--rollback DROP FUNCTION IF EXISTS ops.opsmv_inlined_definition(text);
