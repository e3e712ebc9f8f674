--liquibase formatted sql

--changeset opsmv:v1.5-opsmv-carried
--comment: What a release that rebuilds an MV (CREATE beside, DROP, RENAME) must put back on the rebuilt one: written by ops.opsmv_carry_capture before the rebuild, read and deleted by ops.opsmv_carry_restore after it. One row per MV between the two; empty otherwise.
SET LOCAL lock_timeout = '${lock_timeout}';
CREATE TABLE IF NOT EXISTS ops.opsmv_carried (
    schema_name text NOT NULL,
    mv_name text NOT NULL,
    captured_at timestamptz NOT NULL DEFAULT now(),
    captured_by text NOT NULL DEFAULT current_user,
    facts jsonb NOT NULL,
    CONSTRAINT opsmv_carried_pkey PRIMARY KEY (schema_name, mv_name)
);
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback -- lint: the bundle's own bookkeeping table, holding only captures not yet restored; no client reads it
--rollback -- squawk-ignore ban-drop-table
--rollback DROP TABLE IF EXISTS ops.opsmv_carried;

--changeset opsmv:v1.5-opsmv-carry-functions splitStatements:false rollbackSplitStatements:false
--comment: Capture and restore of everything attached to an MV that a rebuild by CREATE/DROP/RENAME would lose (docs/DEFINITION_CHANGES.md, "What a rebuild carries"): owner, comments, column statistics targets/options/storage, heap and TOAST storage parameters, tablespace, table and column grants with their grantors, indexes the rebuilt MV does not have by name (with comment and statistics targets), index comments, the CLUSTER mark. Capture refuses, before any work, what cannot be carried: objects that depend on the MV's row type, and grants whose grantor the deploying role cannot act as.
SET LOCAL lock_timeout = '${lock_timeout}';

-- Every grant on the MV, table-level (column NULL) and per column, by name: what restore compares.
-- A NULL relacl (nobody ever granted anything) reads as the owner's default privileges.
CREATE OR REPLACE FUNCTION ops.opsmv_carry_acl(p_rel oid)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'column', g.col, 'grantor', pg_get_userbyid(g.grantor),
               'grantee', CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee) END,
               'privilege', g.privilege_type, 'grantable', g.is_grantable)
             ORDER BY g.col NULLS FIRST, g.grantor, g.grantee, g.privilege_type), '[]'::jsonb)
    FROM (
        SELECT NULL::text AS col, a.grantor, a.grantee, a.privilege_type, a.is_grantable
        FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
        WHERE c.oid = p_rel
        UNION ALL
        SELECT at.attname::text, x.grantor, x.grantee, x.privilege_type, x.is_grantable
        FROM pg_attribute at, aclexplode(at.attacl) x
        WHERE at.attrelid = p_rel AND at.attnum > 0 AND NOT at.attisdropped AND at.attacl IS NOT NULL
    ) g
$fn$;

CREATE OR REPLACE FUNCTION ops.opsmv_carry_capture(p_schema text, p_mv text, p_dropped_indexes text[] DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := format('%I.%I', p_schema, p_mv);
    v_rel oid := to_regclass(format('%I.%I', p_schema, p_mv));
    v_c pg_class%ROWTYPE;
    v_what text;
    v_role text;
    v_ok boolean;
    v_facts jsonb;
BEGIN
    IF v_rel IS NULL THEN
        RETURN; -- nothing to carry (an empty database, update-sql)
    END IF;
    SELECT * INTO v_c FROM pg_class WHERE oid = v_rel;
    IF v_c.relkind <> 'm' THEN
        RAISE EXCEPTION 'ops.opsmv_carry_capture: % is not a materialized view: nothing of a rebuild to carry; rename it out of the way, then run update again', v_name;
    END IF;
    -- objects typed by the MV's row (a function RETURNS SETOF it, a column of that type): DROP would fail (2BP01)
    SELECT string_agg(pg_describe_object(d.classid, d.objid, d.objsubid), ', ' ORDER BY 1) INTO v_what
    FROM pg_depend d
    WHERE d.refclassid = 'pg_type'::regclass AND d.deptype = 'n'
      AND d.refobjid IN (v_c.reltype, (SELECT t.typarray FROM pg_type t WHERE t.oid = v_c.reltype));
    IF v_what IS NOT NULL THEN
        RAISE EXCEPTION 'ops.opsmv_carry_capture: % cannot be rebuilt: % depends on its row type and cannot be carried; drop it (keep its definition), run update again, then recreate it', v_name, v_what;
    END IF;
    -- every role restore must act as (the owner, each grantor): tried here, undone at once
    FOR v_role IN
        SELECT DISTINCT r FROM (
            SELECT pg_get_userbyid(v_c.relowner)::text AS r
            UNION ALL SELECT g->>'grantor' FROM jsonb_array_elements(ops.opsmv_carry_acl(v_rel)) g
        ) s ORDER BY 1
    LOOP
        v_ok := true;
        BEGIN
            PERFORM set_config('role', v_role, true);
            RAISE EXCEPTION USING ERRCODE = 'OPSMV';
        EXCEPTION
            WHEN insufficient_privilege THEN v_ok := false;
            WHEN SQLSTATE 'OPSMV' THEN NULL; -- it could: the subtransaction's rollback undid the SET ROLE
        END;
        IF NOT v_ok THEN
            RAISE EXCEPTION 'ops.opsmv_carry_capture: % cannot be rebuilt by role %: its owner or a grantor is role %, which % cannot SET ROLE to; run update as a member of % (or a superuser)',
                v_name, session_user, v_role, session_user, v_role;
        END IF;
    END LOOP;

    v_facts := jsonb_build_object(
        'owner', pg_get_userbyid(v_c.relowner),
        'comment', obj_description(v_rel, 'pg_class'),
        'reloptions', to_jsonb(coalesce(v_c.reloptions, '{}'::text[])),
        'toast_reloptions', coalesce((SELECT to_jsonb(coalesce(t.reloptions, '{}'::text[])) FROM pg_class t WHERE t.oid = v_c.reltoastrelid), '[]'::jsonb),
        'tablespace', (SELECT spcname FROM pg_tablespace WHERE oid = v_c.reltablespace),
        'acl', ops.opsmv_carry_acl(v_rel),
        'columns', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'name', a.attname,
                        'comment', col_description(v_rel, a.attnum),
                        'statistics', nullif(a.attstattarget::integer, -1), -- PostgreSQL 17 stores the default as NULL, earlier majors as -1
                        'options', a.attoptions,
                        'storage', CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END) ORDER BY a.attnum), '[]'::jsonb)
                    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                    WHERE a.attrelid = v_rel AND a.attnum > 0 AND NOT a.attisdropped),
        'indexes', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'name', ic.relname,
                        'definition', pg_get_indexdef(i.indexrelid), -- search_path is pg_catalog: the table is schema-qualified
                        'tablespace', ts.spcname,
                        'valid', i.indisvalid,
                        'clustered', i.indisclustered,
                        'comment', obj_description(i.indexrelid, 'pg_class'),
                        'statistics', (SELECT coalesce(jsonb_agg(jsonb_build_object('attnum', ia.attnum, 'target', ia.attstattarget::integer) ORDER BY ia.attnum), '[]'::jsonb)
                                       FROM pg_attribute ia WHERE ia.attrelid = i.indexrelid AND coalesce(ia.attstattarget::integer, -1) <> -1),
                        'dropped', ic.relname::text = ANY (coalesce(p_dropped_indexes, '{}'::text[]))) ORDER BY ic.relname), '[]'::jsonb)
                    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid LEFT JOIN pg_tablespace ts ON ts.oid = ic.reltablespace
                    WHERE i.indrelid = v_rel));
    INSERT INTO ops.opsmv_carried (schema_name, mv_name, facts) VALUES (p_schema, p_mv, v_facts)
    ON CONFLICT (schema_name, mv_name) DO UPDATE SET facts = EXCLUDED.facts, captured_at = now(), captured_by = current_user;
END
$fn$;

-- One statement as a role (an owner or grantor), then back to the caller's role.
CREATE OR REPLACE FUNCTION ops.opsmv_carry_as(p_role text, p_sql text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_back text := current_setting('role');
BEGIN
    PERFORM set_config('role', p_role, true);
    EXECUTE p_sql;
    PERFORM set_config('role', v_back, true);
END
$fn$;

CREATE OR REPLACE FUNCTION ops.opsmv_carry_restore(p_schema text, p_mv text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := format('%I.%I', p_schema, p_mv);
    v_rel oid;
    v_f jsonb;
    v_c pg_class%ROWTYPE;
    v_x jsonb;
    v_y jsonb;
    v_opts text[];
    v_now text[];
    v_owner text;
    v_target text;
    v_on text;
    v_to text;
    v_pass integer;
    v_progress boolean;
    v_pending jsonb;
BEGIN
    SELECT facts INTO v_f FROM ops.opsmv_carried WHERE schema_name = p_schema AND mv_name = p_mv;
    IF NOT FOUND THEN
        RETURN; -- nothing captured (an empty database at capture time)
    END IF;
    v_rel := to_regclass(v_name);
    SELECT * INTO v_c FROM pg_class WHERE oid = v_rel AND relkind = 'm';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ops.opsmv_carry_restore: % was captured before its rebuild but no materialized view has that name now; the rebuild must leave one under that name (or delete its row from ops.opsmv_carried to give up what was captured)', v_name;
    END IF;
    v_owner := v_f->>'owner';

    -- indexes: each one the rebuilt MV lacks by name is built again under its name; comments on the others
    FOR v_x IN SELECT * FROM jsonb_array_elements(v_f->'indexes') LOOP
        IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                   WHERE i.indrelid = v_rel AND ic.relname = v_x->>'name') THEN
            IF v_x->>'comment' IS NOT NULL THEN
                EXECUTE format('COMMENT ON INDEX %I.%I IS %L', p_schema, v_x->>'name', v_x->>'comment');
            END IF;
            CONTINUE;
        END IF;
        IF (v_x->>'dropped')::boolean THEN
            CONTINUE; -- the rebuilding changeset removes it on purpose
        END IF;
        IF NOT (v_x->>'valid')::boolean THEN
            RAISE NOTICE 'ops.opsmv_carry_restore: index %.% of % was INVALID (a failed build''s leftover): not built again', p_schema, v_x->>'name', v_name;
            CONTINUE;
        END IF;
        IF to_regclass(format('%I.%I', p_schema, v_x->>'name')) IS NOT NULL THEN
            RAISE EXCEPTION 'ops.opsmv_carry_restore: index %.% of % cannot be built again: another relation has taken its name; rename one of them, then run update again', p_schema, v_x->>'name', v_name;
        END IF;
        BEGIN
            EXECUTE (v_x->>'definition') || CASE WHEN v_x->>'tablespace' IS NOT NULL THEN format(' TABLESPACE %I', v_x->>'tablespace') ELSE '' END;
        EXCEPTION WHEN undefined_column OR undefined_object OR datatype_mismatch OR undefined_function THEN
            RAISE EXCEPTION 'ops.opsmv_carry_restore: index %.% of % cannot be built on the rebuilt MV (%); drop it before the update (keep its definition: %) and make it again on the new columns afterwards',
                p_schema, v_x->>'name', v_name, SQLERRM, v_x->>'definition';
        END;
        IF v_x->>'comment' IS NOT NULL THEN
            EXECUTE format('COMMENT ON INDEX %I.%I IS %L', p_schema, v_x->>'name', v_x->>'comment');
        END IF;
        FOR v_y IN SELECT * FROM jsonb_array_elements(v_x->'statistics') LOOP
            EXECUTE format('ALTER INDEX %I.%I ALTER COLUMN %s SET STATISTICS %s', p_schema, v_x->>'name', (v_y->>'attnum')::integer, (v_y->>'target')::integer);
        END LOOP;
    END LOOP;
    SELECT x INTO v_x FROM jsonb_array_elements(v_f->'indexes') x WHERE (x->>'clustered')::boolean;
    IF FOUND AND EXISTS (SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                         WHERE i.indrelid = v_rel AND ic.relname = v_x->>'name' AND NOT i.indisclustered) THEN
        EXECUTE format('ALTER MATERIALIZED VIEW %s CLUSTER ON %I', v_name, v_x->>'name');
    END IF;

    -- comments, and the columns that still exist by name
    IF v_f->>'comment' IS NOT NULL THEN
        EXECUTE format('COMMENT ON MATERIALIZED VIEW %s IS %L', v_name, v_f->>'comment');
    END IF;
    FOR v_x IN
        SELECT x FROM jsonb_array_elements(v_f->'columns') x
        WHERE EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = v_rel AND a.attname = x->>'name' AND a.attnum > 0 AND NOT a.attisdropped)
    LOOP
        IF v_x->>'comment' IS NOT NULL THEN
            EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', v_name, v_x->>'name', v_x->>'comment');
        END IF;
        IF v_x->>'statistics' IS NOT NULL THEN
            EXECUTE format('ALTER MATERIALIZED VIEW %s ALTER COLUMN %I SET STATISTICS %s', v_name, v_x->>'name', (v_x->>'statistics')::integer);
        END IF;
        IF jsonb_typeof(v_x->'options') = 'array' THEN
            EXECUTE format('ALTER MATERIALIZED VIEW %s ALTER COLUMN %I SET (%s)', v_name, v_x->>'name',
                           (SELECT string_agg(o, ', ') FROM jsonb_array_elements_text(v_x->'options') o));
        END IF;
        IF v_x->>'storage' IS NOT NULL THEN
            EXECUTE format('ALTER MATERIALIZED VIEW %s ALTER COLUMN %I SET STORAGE %s', v_name, v_x->>'name',
                           CASE v_x->>'storage' WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END);
        END IF;
    END LOOP;

    -- storage parameters, heap then TOAST (the rebuilt MV's own ones that the old lacked are reset)
    v_opts := ARRAY(SELECT o FROM jsonb_array_elements_text(v_f->'reloptions') o
                    UNION ALL SELECT 'toast.' || o FROM jsonb_array_elements_text(v_f->'toast_reloptions') o ORDER BY 1);
    v_now := ARRAY(SELECT o FROM unnest(v_c.reloptions) o
                   UNION ALL SELECT 'toast.' || o FROM pg_class t, unnest(t.reloptions) o WHERE t.oid = v_c.reltoastrelid ORDER BY 1);
    IF v_opts IS DISTINCT FROM v_now THEN
        IF EXISTS (SELECT 1 FROM unnest(v_now) o WHERE split_part(o, '=', 1) NOT IN (SELECT split_part(p, '=', 1) FROM unnest(v_opts) p)) THEN
            EXECUTE format('ALTER MATERIALIZED VIEW %s RESET (%s)', v_name,
                           (SELECT string_agg(split_part(o, '=', 1), ', ') FROM unnest(v_now) o
                            WHERE split_part(o, '=', 1) NOT IN (SELECT split_part(p, '=', 1) FROM unnest(v_opts) p)));
        END IF;
        IF cardinality(v_opts) > 0 THEN
            EXECUTE format('ALTER MATERIALIZED VIEW %s SET (%s)', v_name, array_to_string(v_opts, ', '));
        END IF;
    END IF;
    IF v_f->>'tablespace' IS NOT NULL
       AND v_f->>'tablespace' IS DISTINCT FROM (SELECT spcname::text FROM pg_tablespace WHERE oid = v_c.reltablespace) THEN
        EXECUTE format('ALTER MATERIALIZED VIEW %s SET TABLESPACE %I', v_name, v_f->>'tablespace');
    END IF;

    -- the owner, then the grants exactly as they were, each made by its own grantor
    IF pg_get_userbyid(v_c.relowner) <> v_owner THEN
        EXECUTE format('ALTER MATERIALIZED VIEW %s OWNER TO %I', v_name, v_owner);
    END IF;
    -- what the rebuilt MV holds that the old did not (default privileges of the creating role): revoked first
    FOR v_pass IN 1..100 LOOP
        SELECT g INTO v_x FROM jsonb_array_elements(ops.opsmv_carry_acl(v_rel)) g
        WHERE NOT (v_f->'acl') @> jsonb_build_array(g)
          AND (g->>'column' IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(v_f->'columns') col WHERE col->>'name' = g->>'column'))
        LIMIT 1;
        EXIT WHEN NOT FOUND;
        v_on := CASE WHEN v_x->>'column' IS NULL THEN format('%s', v_x->>'privilege')
                     ELSE format('%s (%I)', v_x->>'privilege', v_x->>'column') END;
        v_to := CASE WHEN v_x->>'grantee' = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(v_x->>'grantee') END;
        PERFORM ops.opsmv_carry_as(v_x->>'grantor', format('REVOKE %s%s ON %s FROM %s CASCADE',
            CASE WHEN (v_f->'acl') @> jsonb_build_array(v_x || '{"grantable": false}'::jsonb) THEN 'GRANT OPTION FOR ' ELSE '' END, v_on, v_name, v_to));
    END LOOP;
    -- then what the old held and the rebuilt lacks: grants by the owner first, then by the roles that hold the grant option by then
    FOR v_pass IN 1..100 LOOP
        v_pending := (SELECT coalesce(jsonb_agg(g), '[]'::jsonb) FROM jsonb_array_elements(v_f->'acl') g
                      WHERE NOT ops.opsmv_carry_acl(v_rel) @> jsonb_build_array(g)
                        AND (g->>'column' IS NULL OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = v_rel AND a.attname = g->>'column' AND a.attnum > 0 AND NOT a.attisdropped)));
        EXIT WHEN jsonb_array_length(v_pending) = 0;
        v_progress := false;
        FOR v_x IN
            SELECT g FROM jsonb_array_elements(v_pending) g
            WHERE g->>'grantor' = v_owner
               OR ops.opsmv_carry_acl(v_rel) @> jsonb_build_array(jsonb_build_object('column', NULL, 'grantee', g->>'grantor', 'privilege', g->>'privilege', 'grantable', true))
               OR ops.opsmv_carry_acl(v_rel) @> jsonb_build_array(jsonb_build_object('column', g->>'column', 'grantee', g->>'grantor', 'privilege', g->>'privilege', 'grantable', true))
        LOOP
            v_on := CASE WHEN v_x->>'column' IS NULL THEN format('%s', v_x->>'privilege')
                         ELSE format('%s (%I)', v_x->>'privilege', v_x->>'column') END;
            v_to := CASE WHEN v_x->>'grantee' = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(v_x->>'grantee') END;
            PERFORM ops.opsmv_carry_as(v_x->>'grantor', format('GRANT %s ON %s TO %s%s', v_on, v_name, v_to,
                CASE WHEN (v_x->>'grantable')::boolean THEN ' WITH GRANT OPTION' ELSE '' END));
            v_progress := true;
        END LOOP;
        IF NOT v_progress THEN
            RAISE EXCEPTION 'ops.opsmv_carry_restore: grants on % cannot be made again (no grantor holds the grant option): %; grant them by hand after the update', v_name, v_pending;
        END IF;
    END LOOP;
    SELECT jsonb_agg(g) INTO v_pending FROM (
        SELECT g FROM jsonb_array_elements(ops.opsmv_carry_acl(v_rel)) g WHERE NOT (v_f->'acl') @> jsonb_build_array(g)
          AND (g->>'column' IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(v_f->'columns') col WHERE col->>'name' = g->>'column'))
        UNION ALL
        SELECT g FROM jsonb_array_elements(v_f->'acl') g WHERE NOT ops.opsmv_carry_acl(v_rel) @> jsonb_build_array(g)
          AND (g->>'column' IS NULL OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = v_rel AND a.attname = g->>'column' AND a.attnum > 0 AND NOT a.attisdropped))) d;
    IF v_pending IS NOT NULL THEN
        RAISE EXCEPTION 'ops.opsmv_carry_restore: the grants on % differ from those captured after restoring them: %; compare with ops.opsmv_carried and grant by hand', v_name, v_pending;
    END IF;
    DELETE FROM ops.opsmv_carried WHERE schema_name = p_schema AND mv_name = p_mv;
END
$fn$;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DROP FUNCTION IF EXISTS ops.opsmv_carry_restore(text, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_carry_as(text, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_carry_capture(text, text, text[]);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_carry_acl(oid);
