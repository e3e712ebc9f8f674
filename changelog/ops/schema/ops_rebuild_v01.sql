--liquibase formatted sql

--changeset opsmv:v1.6-opsmv-rebuild-function splitStatements:false rollbackSplitStatements:false
--comment: ops.opsmv_rebuild: the rebuild a release changeset runs when an MV's definition changes, or a plain view's columns (written by `opsmv import`). The MV is built beside the serving one from the new definition, and every view and MV that reads it, transitively, is built again on it from its own definition, in a scratch schema (names of the MV's schema are deparsed unqualified and bind to the scratch schema first); then the old relations are dropped, readers first, and the new ones moved in with ALTER … SET SCHEMA, in the changeset's transaction: readers of the old relations wait only for that. Each MV is created empty, handed to its owner and populated by REFRESH, so its query runs with the owner's rights, never the deploying role's. What is attached to each MV is carried by ops.opsmv_carry_capture / _restore; a reading view gets its owner, comment and grants back. The same steps as the runner's chain swap (swap.ChainSwap), in SQL so that the stock Liquibase CLI runs them.
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE OR REPLACE FUNCTION ops.opsmv_rebuild(p_schema text, p_mv text, p_definition text, p_indexes jsonb, p_dropped_indexes text[] DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := format('%I.%I', p_schema, p_mv);
    v_rel oid := to_regclass(format('%I.%I', p_schema, p_mv));
    v_scratch text;
    -- `opsmv import` proves a release by applying it in a transaction it rolls back: there the relations are built empty
    v_empty boolean := coalesce(current_setting('opsmv.rebuild_empty', true), '') = 'on';
    v_readers jsonb := '[]'::jsonb;
    v_r jsonb;
    v_x jsonb;
    v_g jsonb;
    v_i integer;
    v_t text;
    v_owner text;
    v_view boolean;
    v_root jsonb;
    r record;
BEGIN
    IF v_rel IS NULL OR (SELECT relkind FROM pg_class WHERE oid = v_rel) NOT IN ('m', 'v') THEN
        RAISE EXCEPTION 'ops.opsmv_rebuild: % is not a materialized view or a view here; nothing to rebuild', v_name;
    END IF;
    -- a plain view whose columns change is rebuilt the same way: with everything that reads it
    v_view := (SELECT relkind FROM pg_class WHERE oid = v_rel) = 'v';
    v_root := jsonb_build_object('name', p_mv, 'materialized', NOT v_view,
        'owner', (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = v_rel),
        'options', (SELECT array_to_string(reloptions, ', ') FROM pg_class WHERE oid = v_rel),
        'acl', ops.opsmv_carry_acl(v_rel), 'comment', obj_description(v_rel, 'pg_class'));
    v_scratch := 'opsmv_rebuild_' || v_rel::bigint;

    -- every reader, transitively, each one after all it reads; queries deparsed with the MV's schema on the
    -- search_path, so that its names come out unqualified
    PERFORM set_config('search_path', format('%I, pg_catalog, pg_temp', p_schema), true);
    FOR r IN
        WITH RECURSIVE depth(oid, level) AS (
            SELECT v_rel, 0
            UNION ALL
            SELECT rw.ev_class, dp.level + 1 FROM depth dp
            JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = dp.oid AND d.classid = 'pg_rewrite'::regclass
            JOIN pg_rewrite rw ON rw.oid = d.objid
            WHERE rw.ev_class <> dp.oid AND dp.level < 100
        )
        SELECT c.oid, c.relname::text AS relname, c.relkind, n.nspname::text AS nspname, max(dp.level) AS level
        FROM depth dp JOIN pg_class c ON c.oid = dp.oid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE dp.oid <> v_rel
        GROUP BY c.oid, c.relname, c.relkind, n.nspname
        ORDER BY max(dp.level), c.relname
    LOOP
        IF r.nspname <> p_schema THEN
            RAISE EXCEPTION 'ops.opsmv_rebuild: %.% reads % from another schema and cannot be rebuilt with it; drop it (keep its definition), run update again, then recreate it',
                r.nspname, r.relname, v_name;
        END IF;
        v_readers := v_readers || jsonb_build_array(jsonb_build_object(
            'name', r.relname,
            'materialized', r.relkind = 'm',
            'query', regexp_replace(pg_get_viewdef(r.oid), ';\s*$', ''),
            'populated', (SELECT relispopulated FROM pg_class WHERE oid = r.oid),
            'options', (SELECT array_to_string(reloptions, ', ') FROM pg_class WHERE oid = r.oid),
            -- pg_get_indexdef always qualifies the table: keep what follows "ON <table> " (USING …)
            'indexes', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', ic.relname, 'unique', i.indisunique,
                            'key', substr(pg_get_indexdef(i.indexrelid),
                                          length('CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX '
                                                 || quote_ident(ic.relname) || ' ON ' || quote_ident(p_schema) || '.' || quote_ident(r.relname) || ' ') + 1))
                            ORDER BY ic.relname), '[]'::jsonb)
                        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = r.oid AND i.indisvalid),
            'owner', (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = r.oid),
            'acl', ops.opsmv_carry_acl(r.oid),
            'comment', obj_description(r.oid, 'pg_class')));
    END LOOP;
    PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);

    IF NOT v_view THEN
        PERFORM ops.opsmv_carry_capture(p_schema, p_mv, p_dropped_indexes);
    END IF;
    FOR v_r IN SELECT * FROM jsonb_array_elements(v_readers) LOOP
        IF (v_r->>'materialized')::boolean THEN
            PERFORM ops.opsmv_carry_capture(p_schema, v_r->>'name');
        END IF;
    END LOOP;

    -- the build, beside the serving relations: nothing of p_schema is locked beyond reading
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', v_scratch); -- the leftover of a failed run is rolled back with it; this one of a crash is not
    EXECUTE format('CREATE SCHEMA %I', v_scratch);
    -- each relation is created empty, handed to its owner, then populated by REFRESH, which runs the query as
    -- that owner (as PostgreSQL's own REFRESH of the old one did): never with the deploying role's rights.
    -- The owners take their relations there: ALTER OWNER wants CREATE on the schema of a non-superuser's.
    v_owner := v_root->>'owner';
    FOR v_t IN SELECT DISTINCT o FROM (SELECT v_owner AS o UNION ALL SELECT rd->>'owner' FROM jsonb_array_elements(v_readers) rd) s WHERE o IS NOT NULL LOOP
        EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', v_scratch, v_t);
    END LOOP;
    PERFORM set_config('search_path', format('%I, %I, pg_catalog, pg_temp', v_scratch, p_schema), true);
    IF v_view THEN
        EXECUTE format('CREATE VIEW %I.%I%s AS %s', v_scratch, p_mv,
                       CASE WHEN v_root->>'options' IS NULL THEN '' ELSE ' WITH (' || (v_root->>'options') || ')' END, p_definition);
        EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', v_scratch, p_mv, v_owner);
    ELSE
        EXECUTE format('CREATE MATERIALIZED VIEW %I.%I AS %s WITH NO DATA', v_scratch, p_mv, p_definition);
        EXECUTE format('ALTER MATERIALIZED VIEW %I.%I OWNER TO %I', v_scratch, p_mv, v_owner);
        IF NOT v_empty THEN
            EXECUTE format('REFRESH MATERIALIZED VIEW %I.%I', v_scratch, p_mv);
        END IF;
        FOR v_x IN SELECT * FROM jsonb_array_elements(coalesce(p_indexes, '[]'::jsonb)) LOOP
            EXECUTE format('CREATE %sINDEX %I ON %I.%I %s', CASE WHEN (v_x->>'unique')::boolean THEN 'UNIQUE ' ELSE '' END,
                           v_x->>'name', v_scratch, p_mv, v_x->>'key');
        END LOOP;
        IF NOT v_empty THEN
            EXECUTE format('ANALYZE %I.%I', v_scratch, p_mv);
        END IF;
    END IF;
    FOR v_r IN SELECT * FROM jsonb_array_elements(v_readers) LOOP
        IF (v_r->>'materialized')::boolean THEN
            EXECUTE format('CREATE MATERIALIZED VIEW %I.%I AS %s WITH NO DATA', v_scratch, v_r->>'name', v_r->>'query');
            EXECUTE format('ALTER MATERIALIZED VIEW %I.%I OWNER TO %I', v_scratch, v_r->>'name', v_r->>'owner');
            IF NOT v_empty AND (v_r->>'populated')::boolean THEN
                EXECUTE format('REFRESH MATERIALIZED VIEW %I.%I', v_scratch, v_r->>'name');
            END IF;
            FOR v_x IN SELECT * FROM jsonb_array_elements(v_r->'indexes') LOOP
                EXECUTE format('CREATE %sINDEX %I ON %I.%I %s', CASE WHEN (v_x->>'unique')::boolean THEN 'UNIQUE ' ELSE '' END,
                               v_x->>'name', v_scratch, v_r->>'name', v_x->>'key');
            END LOOP;
            IF NOT v_empty AND (v_r->>'populated')::boolean THEN
                EXECUTE format('ANALYZE %I.%I', v_scratch, v_r->>'name');
            END IF;
        ELSE
            EXECUTE format('CREATE VIEW %I.%I%s AS %s', v_scratch, v_r->>'name',
                           CASE WHEN v_r->>'options' IS NULL THEN '' ELSE ' WITH (' || (v_r->>'options') || ')' END, v_r->>'query');
            -- a view reads with its owner's rights: the owner before any MV reading it is populated
            EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', v_scratch, v_r->>'name', v_r->>'owner');
        END IF;
    END LOOP;
    PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);

    -- the swap: readers first, each DROP takes ACCESS EXCLUSIVE on one old relation until the commit
    FOR v_i IN REVERSE jsonb_array_length(v_readers) - 1 .. 0 LOOP
        v_r := v_readers->v_i;
        EXECUTE format('DROP %s %I.%I', CASE WHEN (v_r->>'materialized')::boolean THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END, p_schema, v_r->>'name');
    END LOOP;
    EXECUTE format('DROP %s %I.%I', CASE WHEN v_view THEN 'VIEW' ELSE 'MATERIALIZED VIEW' END, p_schema, p_mv);
    EXECUTE format('ALTER %s %I.%I SET SCHEMA %I', CASE WHEN v_view THEN 'VIEW' ELSE 'MATERIALIZED VIEW' END, v_scratch, p_mv, p_schema);
    FOR v_r IN SELECT * FROM jsonb_array_elements(v_readers) LOOP
        EXECUTE format('ALTER %s %I.%I SET SCHEMA %I', CASE WHEN (v_r->>'materialized')::boolean THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END,
                       v_scratch, v_r->>'name', p_schema);
    END LOOP;
    EXECUTE format('DROP SCHEMA %I', v_scratch); -- empty now; the grants on it go with it

    FOR v_r IN SELECT * FROM jsonb_array_elements(jsonb_build_array(v_root) || v_readers) LOOP
        IF (v_r->>'materialized')::boolean THEN
            PERFORM ops.opsmv_carry_restore(p_schema, v_r->>'name');
        ELSE
            EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', p_schema, v_r->>'name', v_r->>'owner');
            IF v_r->>'comment' IS NOT NULL THEN
                EXECUTE format('COMMENT ON VIEW %I.%I IS %L', p_schema, v_r->>'name', v_r->>'comment');
            END IF;
            -- grants by their grantors, those with grant option first
            FOR v_g IN SELECT g FROM jsonb_array_elements(v_r->'acl') g
                       WHERE g->>'grantee' <> v_r->>'owner'
                       ORDER BY (g->>'grantor' = v_r->>'owner') DESC, (g->>'grantable')::boolean DESC LOOP
                PERFORM ops.opsmv_carry_as(v_g->>'grantor', format('GRANT %s%s ON %I.%I TO %s%s', v_g->>'privilege',
                    CASE WHEN v_g->>'column' IS NULL THEN '' ELSE format(' (%I)', v_g->>'column') END, p_schema, v_r->>'name',
                    CASE WHEN v_g->>'grantee' = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(v_g->>'grantee') END,
                    CASE WHEN (v_g->>'grantable')::boolean THEN ' WITH GRANT OPTION' ELSE '' END));
            END LOOP;
        END IF;
    END LOOP;
END
$fn$;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DROP FUNCTION IF EXISTS ops.opsmv_rebuild(text, text, text, jsonb, text[]);
