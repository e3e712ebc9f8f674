--liquibase formatted sql

--changeset opsmv:v1.5-adoption-machinery splitStatements:false rollbackSplitStatements:false
--comment: The adoption functions' next version (release v1.5), run before the gate like the catalogue: a database at any release of the bundle whose Liquibase history is gone is adopted. An MV whose query two versions share is told apart by its indexes and adopted as the version it holds (the release changeset that builds that version is then marked ran, not rebuilt); the refresh log's unique index on refresh_id is looked up by name (v01's lookup never matched, so a second conform of the same log failed on the name). The runner installs it with the catalogue to read the plan.
SET LOCAL lock_timeout = '${lock_timeout}';

-- Indexes of a version of an MV whose bundle name another index takes on this database (the comparison
-- of ops.opsmv_compare_index): 0 when the version fits the MV as it is.
CREATE OR REPLACE FUNCTION ops.opsmv_index_conflicts(p_changeset_id text)
RETURNS integer
LANGUAGE sql
AS $fn$
    SELECT count(*)::integer
    FROM ops.opsmv_bundle_index b
    WHERE b.changeset_id = p_changeset_id
      AND (ops.opsmv_compare_index(b.index_schema, b.index_name, b.table_schema, b.table_name, b.is_unique, b.key_sql)).state = 'conflict'
$fn$;

-- Relations that read the given columns of a table, directly or through the relations that read them
-- (pg_rewrite -> pg_depend), with their depth: what an ALTER COLUMN ... TYPE must drop and build again.
CREATE OR REPLACE FUNCTION ops.opsmv_column_dependents(p_table regclass, p_columns name[])
RETURNS TABLE (rel oid, depth integer)
LANGUAGE sql STABLE
AS $fn$
    WITH RECURSIVE deps(rel, depth) AS (
        SELECT DISTINCT rw.ev_class, 1
        FROM pg_depend d
        JOIN pg_rewrite rw ON rw.oid = d.objid
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
          AND d.refobjid = p_table AND a.attname = ANY (p_columns) AND rw.ev_class <> p_table
        UNION
        SELECT rw.ev_class, deps.depth + 1
        FROM deps
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = deps.rel
        JOIN pg_rewrite rw ON rw.oid = d.objid
        WHERE rw.ev_class <> deps.rel
    )
    SELECT deps.rel, max(deps.depth)::integer FROM deps GROUP BY deps.rel
$fn$;

-- Why the columns' type cannot be changed with the views that read them dropped and built again (NULL: it
-- can): a materialized view reads them, or one of those views carries what a rebuild would lose.
CREATE OR REPLACE FUNCTION ops.opsmv_retype_obstacles(p_table regclass, p_columns name[])
RETURNS text
LANGUAGE sql STABLE
AS $fn$
    WITH deps AS (SELECT d.rel FROM ops.opsmv_column_dependents(p_table, p_columns) d)
    SELECT string_agg(x.why, '; ' ORDER BY x.why) FROM (
        SELECT format('materialized view %s reads it (it would have to be rebuilt)', c.oid::regclass) AS why
        FROM deps JOIN pg_class c ON c.oid = deps.rel WHERE c.relkind <> 'v'
        UNION ALL
        SELECT format('view %s belongs to %s, and %s cannot act as that role', c.oid::regclass, c.relowner::regrole, current_user)
        FROM deps JOIN pg_class c ON c.oid = deps.rel WHERE c.relkind = 'v' AND NOT pg_has_role(current_user, c.relowner, 'USAGE')
        UNION ALL
        SELECT format('view %s has grants made by another role than its owner, or column grants', c.oid::regclass)
        FROM deps JOIN pg_class c ON c.oid = deps.rel
        WHERE EXISTS (SELECT 1 FROM aclexplode(c.relacl) g WHERE g.grantor <> c.relowner)
           OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL)
        UNION ALL
        SELECT format('%s depends on view %s', pg_describe_object(dep.classid, dep.objid, dep.objsubid), c.oid::regclass)
        FROM deps JOIN pg_class c ON c.oid = deps.rel
        JOIN pg_depend dep ON dep.refclassid = 'pg_class'::regclass AND dep.refobjid = c.oid
        WHERE NOT (dep.classid = 'pg_type'::regclass AND dep.deptype = 'i')
          AND NOT (dep.classid = 'pg_rewrite'::regclass
                   AND EXISTS (SELECT 1 FROM pg_rewrite rw WHERE rw.oid = dep.objid AND rw.rulename = '_RETURN'
                               AND (rw.ev_class = c.oid OR rw.ev_class IN (SELECT deps.rel FROM deps))))
    ) x
$fn$;

-- ALTER TABLE p_table p_alter, where p_alter changes the type of p_columns: the views that read those columns
-- (and the views that read them) are dropped and built again around it, in the same transaction, from their
-- definitions as PostgreSQL writes them back, with their options, owner, grants and comments. Returns the
-- views it rebuilt. Refuses (nothing changed) what ops.opsmv_retype_obstacles names.
CREATE OR REPLACE FUNCTION ops.opsmv_retype_columns(p_table regclass, p_alter text, p_columns name[])
RETURNS text
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    v record;
    g record;
    v_obstacles text;
    v_view regclass;
    v_views text[] := '{}';
BEGIN
    v_obstacles := ops.opsmv_retype_obstacles(p_table, p_columns);
    IF v_obstacles IS NOT NULL THEN
        RAISE EXCEPTION USING MESSAGE = format('opsmv: the type of %s.%s cannot be changed: %s',
                                               p_table, array_to_string(p_columns, ', '), v_obstacles);
    END IF;
    DROP TABLE IF EXISTS pg_temp.opsmv_retype_views;
    CREATE TEMP TABLE opsmv_retype_views ON COMMIT DROP AS
    SELECT c.oid AS rel, d.depth, n.nspname::text AS view_schema, c.relname::text AS view_name,
           pg_get_viewdef(c.oid) AS def, c.reloptions, c.relowner, c.relacl, obj_description(c.oid, 'pg_class') AS note,
           (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND col_description(c.oid, a.attnum) IS NOT NULL) AS noted,
           (SELECT array_agg(col_description(c.oid, a.attnum) ORDER BY a.attnum) FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND col_description(c.oid, a.attnum) IS NOT NULL) AS notes
    FROM ops.opsmv_column_dependents(p_table, p_columns) d
    JOIN pg_class c ON c.oid = d.rel
    JOIN pg_namespace n ON n.oid = c.relnamespace;
    FOR v IN SELECT * FROM pg_temp.opsmv_retype_views ORDER BY depth DESC LOOP
        EXECUTE format('DROP VIEW %I.%I', v.view_schema, v.view_name);
    END LOOP;
    EXECUTE format('ALTER TABLE %s %s', p_table, p_alter);
    FOR v IN SELECT * FROM pg_temp.opsmv_retype_views ORDER BY depth, view_schema, view_name LOOP
        EXECUTE format('CREATE VIEW %I.%I%s AS %s', v.view_schema, v.view_name,
                       CASE WHEN v.reloptions IS NULL THEN '' ELSE ' WITH (' || array_to_string(v.reloptions, ', ') || ')' END,
                       rtrim(v.def, '; ' || E'\n'));
        v_view := format('%I.%I', v.view_schema, v.view_name)::regclass;
        IF (SELECT c.relowner FROM pg_class c WHERE c.oid = v_view) <> v.relowner THEN
            EXECUTE format('ALTER VIEW %s OWNER TO %I', v_view, v.relowner::regrole::text);
        END IF;
        -- what default privileges gave the new view, then the old one's grants
        FOR g IN SELECT DISTINCT x.grantee FROM pg_class c, aclexplode(c.relacl) x WHERE c.oid = v_view AND x.grantee <> v.relowner LOOP
            EXECUTE format('REVOKE ALL ON %s FROM %s', v_view, CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END);
        END LOOP;
        FOR g IN SELECT x.grantee, x.privilege_type, x.is_grantable FROM aclexplode(v.relacl) x WHERE x.grantee <> v.relowner LOOP
            EXECUTE format('GRANT %s ON %s TO %s%s', g.privilege_type, v_view,
                           CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                           CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        IF coalesce((SELECT array_agg(x::text ORDER BY x::text) FROM pg_class c, aclexplode(c.relacl) x WHERE c.oid = v_view), '{}')
           <> coalesce((SELECT array_agg(x::text ORDER BY x::text) FROM aclexplode(v.relacl) x), '{}') THEN
            RAISE EXCEPTION 'opsmv: the grants of view % could not be given back as they were after changing the type of %.%: nothing was changed',
                v_view, p_table, array_to_string(p_columns, ', ');
        END IF;
        IF v.note IS NOT NULL THEN
            EXECUTE format('COMMENT ON VIEW %s IS %L', v_view, v.note);
        END IF;
        FOR i IN 1 .. coalesce(array_length(v.noted, 1), 0) LOOP
            EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', v_view, v.noted[i], v.notes[i]);
        END LOOP;
        v_views := v_views || v_view::text;
    END LOOP;
    RETURN array_to_string(v_views, ', ');
END
$fn$;

-- What the bundle needs changed in an adopted refresh log beyond missing columns, or cannot change by itself:
--   widen   a column the bundle writes text into, of a narrower text type (varchar(n), char(n)): to text;
--           varchar(n) -> text changes the catalog only (binary-coercible: no row rewritten)
--   zone    a column the bundle writes timestamptz into, of type timestamp without time zone: converted with
--           the zone its values were written in, which the catalog does not hold: the DBA states it as the
--           setting opsmv.log_time_zone (ALTER DATABASE ... SET); rewrites the table
--   status  status values in another case (ok, error): upper-cased, as every reader compares them (= 'OK')
--   views   the views rebuilt around the type changes
--   problem what stops the adoption, with what to run
CREATE OR REPLACE FUNCTION ops.opsmv_log_steps(p_table regclass)
RETURNS TABLE (step text, column_name text, from_type text, to_type text, using_expr text, undo_using text, detail text)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    c record;
    v_zone text := nullif(current_setting('opsmv.log_time_zone', true), '');
    v_zone_ok boolean := false;
    v_cols name[] := '{}';
    v_zone_cols text[] := '{}';
    v_text text;
    v_unknown text;
    v_mixed text;
    v_lower text;
    v_upper text;
    v_rows bigint;
BEGIN
    IF v_zone IS NOT NULL THEN
        BEGIN
            PERFORM now() AT TIME ZONE v_zone;
            v_zone_ok := true;
        EXCEPTION WHEN OTHERS THEN
            v_zone_ok := false;
        END;
    END IF;
    FOR c IN SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS live, t.typname, a.atttypmod, b.column_type
             FROM ops.opsmv_bundle_columns('mv_refresh_log') b
             JOIN pg_attribute a ON a.attrelid = p_table AND a.attname = b.column_name AND a.attnum > 0 AND NOT a.attisdropped
             JOIN pg_type t ON t.oid = a.atttypid
             ORDER BY a.attnum LOOP
        IF c.column_type = 'text' AND (c.typname = 'bpchar' OR (c.typname = 'varchar' AND c.atttypmod <> -1)) THEN
            step := 'widen'; column_name := c.name; from_type := c.live; to_type := 'text'; using_expr := NULL; undo_using := NULL;
            detail := format('%s %s -> text', c.name, replace(replace(c.live, 'character varying', 'varchar'), 'character', 'char'));
            v_cols := v_cols || c.name::name;
            RETURN NEXT;
        ELSIF c.column_type = 'timestamptz' AND c.typname = 'timestamp' THEN
            v_zone_cols := v_zone_cols || c.name;
            v_cols := v_cols || c.name::name;
            IF v_zone_ok THEN
                step := 'zone'; column_name := c.name; from_type := c.live; to_type := 'timestamptz';
                using_expr := format('%I AT TIME ZONE %L', c.name, v_zone);
                undo_using := format('%I AT TIME ZONE %L', c.name, v_zone);
                detail := c.name;
                RETURN NEXT;
            END IF;
        END IF;
    END LOOP;
    column_name := NULL; from_type := NULL; to_type := NULL; using_expr := NULL; undo_using := NULL;
    IF cardinality(v_zone_cols) > 0 AND NOT v_zone_ok THEN
        step := 'problem';
        detail := format('%s %s timestamp without time zone, and the zone their values were written in is not recorded%s: '
                         'state it and run update again: ALTER DATABASE %I SET opsmv.log_time_zone = ''<the TimeZone of the sessions that wrote them>'' '
                         '(update then converts them to timestamptz with it)',
                         array_to_string(v_zone_cols, ', '), CASE WHEN cardinality(v_zone_cols) > 1 THEN 'are' ELSE 'is' END,
                         CASE WHEN v_zone IS NOT NULL THEN format(' (opsmv.log_time_zone = %L is not a time zone PostgreSQL knows)', v_zone) ELSE '' END,
                         current_database());
        RETURN NEXT;
    END IF;
    IF cardinality(v_cols) > 0 THEN
        v_text := ops.opsmv_retype_obstacles(p_table, v_cols);
        IF v_text IS NOT NULL THEN
            step := 'problem';
            detail := format('the type of %s must change, but %s: change it by hand (ALTER TABLE %s ALTER COLUMN ... TYPE ...) and run update again',
                             array_to_string(v_cols, ', '), v_text, p_table);
            RETURN NEXT;
        ELSE
            SELECT string_agg(d.rel::regclass::text, ', ' ORDER BY d.depth, d.rel::regclass::text) INTO v_text
            FROM ops.opsmv_column_dependents(p_table, v_cols) d;
            IF v_text IS NOT NULL THEN
                step := 'views'; detail := v_text;
                RETURN NEXT;
            END IF;
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = p_table AND a.attname = 'status' AND a.attnum > 0 AND NOT a.attisdropped) THEN
        EXECUTE format($q$
            SELECT string_agg(format('%%s (%%s rows)', s.status, s.n), ', ' ORDER BY s.status)
                       FILTER (WHERE upper(s.status) NOT IN ('RUNNING', 'OK', 'ERROR', 'SKIPPED', 'ABANDONED', 'BUSY')),
                   string_agg(DISTINCT upper(s.status), ', ') FILTER (WHERE s.status <> upper(s.status)
                       AND upper(s.status) IN (SELECT s2.status FROM (SELECT status::text FROM %1$s GROUP BY 1) s2)),
                   string_agg(s.status, ', ' ORDER BY s.status) FILTER (WHERE s.status <> upper(s.status)
                       AND upper(s.status) IN ('RUNNING', 'OK', 'ERROR', 'SKIPPED', 'ABANDONED', 'BUSY')),
                   string_agg(upper(s.status), ', ' ORDER BY s.status) FILTER (WHERE s.status <> upper(s.status)
                       AND upper(s.status) IN ('RUNNING', 'OK', 'ERROR', 'SKIPPED', 'ABANDONED', 'BUSY')),
                   sum(s.n) FILTER (WHERE s.status <> upper(s.status) AND upper(s.status) IN ('RUNNING', 'OK', 'ERROR', 'SKIPPED', 'ABANDONED', 'BUSY'))
            FROM (SELECT l.status::text AS status, count(*) AS n FROM %1$s l WHERE l.status IS NOT NULL GROUP BY 1) s$q$, p_table)
            INTO v_unknown, v_mixed, v_lower, v_upper, v_rows;
        IF v_unknown IS NOT NULL THEN
            step := 'problem';
            detail := format('status values the bundle does not read: %s; every reader compares RUNNING, OK, ERROR, SKIPPED, ABANDONED, BUSY: '
                             'map them and run update again, e.g. UPDATE %s SET status = ''OK'' WHERE status = ''<value>''', v_unknown, p_table);
            RETURN NEXT;
        ELSIF v_mixed IS NOT NULL THEN
            step := 'problem';
            detail := format('status holds %s both in upper and in lower case, so rollback could not tell the rows apart: '
                             'make them one case (UPDATE %s SET status = upper(status) WHERE status <> upper(status)) and run update again', v_mixed, p_table);
            RETURN NEXT;
        ELSIF v_lower IS NOT NULL THEN
            step := 'status';
            detail := format('status %s -> %s (%s rows)', v_lower, v_upper, v_rows);
            RETURN NEXT;
        END IF;
    END IF;
END
$fn$;

-- What conforming an adopted refresh table changes beyond the columns it adds (changes), and what stops its
-- adoption with what to run (problems), as the plan says them before anything changes.
CREATE OR REPLACE FUNCTION ops.opsmv_table_plan(p_table regclass, p_name text, OUT changes text, OUT problems text)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    v_widen text;
    v_rewrite boolean;
    v_zone text;
    v_views text;
    v_status text;
    v_lifts text;
BEGIN
    SELECT string_agg(a2.attname, ', ' ORDER BY a2.attnum) INTO v_lifts
    FROM pg_attribute a2
    WHERE a2.attrelid = p_table AND a2.attnum > 0 AND NOT a2.attisdropped AND a2.attnotnull AND a2.attidentity = ''
      AND NOT EXISTS (SELECT 1 FROM pg_attrdef d WHERE d.adrelid = a2.attrelid AND d.adnum = a2.attnum)
      AND a2.attname NOT IN (SELECT c.column_name FROM ops.opsmv_bundle_columns(p_name) c)
      AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = p_table AND i.indisprimary AND a2.attnum = ANY (i.indkey));
    IF p_name = 'mv_refresh_log' THEN
        SELECT string_agg(s.detail, ', ') FILTER (WHERE s.step = 'widen'),
               coalesce(bool_or(s.from_type LIKE 'character(%') FILTER (WHERE s.step = 'widen'), false),
               string_agg(s.column_name, ', ') FILTER (WHERE s.step = 'zone'),
               max(s.detail) FILTER (WHERE s.step = 'views'),
               max(s.detail) FILTER (WHERE s.step = 'status'),
               string_agg(s.detail, '; ') FILTER (WHERE s.step = 'problem')
          INTO v_widen, v_rewrite, v_zone, v_views, v_status, problems
        FROM ops.opsmv_log_steps(p_table) s;
    END IF;
    changes := nullif(concat_ws('; ',
        v_widen || CASE WHEN v_rewrite THEN ' (rewrites the table)' ELSE ' (in the catalog only, no row rewritten)' END,
        v_zone || format(' timestamp -> timestamptz, the values read as %s time (opsmv.log_time_zone; rewrites the table)',
                         current_setting('opsmv.log_time_zone', true)),
        'views rebuilt around it: ' || v_views,
        v_status,
        'NOT NULL lifted from ' || v_lifts || ' (the bundle does not write it)'), '');
END
$fn$;

-- What differs between two relations as ops.opsmv_relation_text writes them: the columns one lacks, has
-- more or has of another type, or else their queries.
CREATE OR REPLACE FUNCTION ops.opsmv_definition_difference(p_live text, p_bundle text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $fn$
    WITH l AS (SELECT r.m[1] AS name, r.m[2] AS type, r.ord
               FROM regexp_matches(split_part(p_live, E'\nquery:', 1), E'\n  ("[^"]+"|\\S+) ([^\n]+)', 'g') WITH ORDINALITY AS r(m, ord)),
         b AS (SELECT r.m[1] AS name, r.m[2] AS type, r.ord
               FROM regexp_matches(split_part(p_bundle, E'\nquery:', 1), E'\n  ("[^"]+"|\\S+) ([^\n]+)', 'g') WITH ORDINALITY AS r(m, ord))
    SELECT CASE WHEN p_bundle IS NULL OR p_live IS NULL OR p_bundle NOT LIKE 'columns:%' THEN coalesce(p_bundle, '')
           ELSE coalesce(nullif(concat_ws('; ',
                (SELECT 'lacks column' || CASE WHEN count(*) > 1 THEN 's ' ELSE ' ' END || string_agg(b.name, ', ' ORDER BY b.ord)
                 FROM b WHERE NOT EXISTS (SELECT 1 FROM l WHERE l.name = b.name) HAVING count(*) > 0),
                (SELECT string_agg(format('column %s is %s, the bundle''s %s', b.name, l.type, b.type), '; ' ORDER BY b.ord)
                 FROM b JOIN l ON l.name = b.name WHERE l.type <> b.type),
                (SELECT 'has column' || CASE WHEN count(*) > 1 THEN 's ' ELSE ' ' END || string_agg(l.name, ', ' ORDER BY l.ord) || ' the bundle''s has not'
                 FROM l WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.name = l.name) HAVING count(*) > 0)), ''),
                'same columns, another query') END
$fn$;

-- Which index takes a bundle index's name, and what to run.
CREATE OR REPLACE FUNCTION ops.opsmv_index_conflict_detail(p_index_schema text, p_index_name text, p_table_schema text, p_table_name text)
RETURNS text
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(
        (SELECT format('the bundle''s name is taken by %s: rename it (ALTER INDEX %I.%I RENAME TO %I) or drop it, and run update again',
                       CASE WHEN i.indrelid IS DISTINCT FROM to_regclass(format('%I.%I', p_table_schema, p_table_name))
                                THEN 'an index on another table (' || i.indrelid::regclass || ')'
                            WHEN i.indexprs IS NOT NULL THEN 'an expression index'
                            WHEN i.indpred IS NOT NULL THEN 'a partial index (WHERE ' || pg_get_expr(i.indpred, i.indrelid) || ')'
                            ELSE 'another index (other columns, order, uniqueness or method)' END,
                       p_index_schema, p_index_name, left(p_index_name, 57) || '_local')
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
         WHERE n.nspname = p_index_schema AND ic.relname = p_index_name),
        'the bundle''s name is taken by another index')
$fn$;

CREATE OR REPLACE FUNCTION ops.opsmv_adoption_plan(p_history text)
RETURNS TABLE (seq bigint, changeset_id text, object text, object_kind text, action text, detail text,
               live_definition text, bundle_definition text)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    o record;
    i record;
    r record;
    x record;
    v record;
    v_version_id text;
    v_version_seq bigint;
    v_indexes_of text;
    v_differing text[] := '{}';
    v_indexes_listed text[] := '{}';
    v_missing text;
    v_rows bigint;
    v_table_plan record;
    v_readers text;
BEGIN
    -- 'matview-version' rows describe a later version of an MV (its indexes) that a release builds from the
    -- same query: they are versions to recognise, not objects of their own
    FOR o IN SELECT * FROM ops.opsmv_bundle_object b WHERE b.object_kind <> 'matview-version' ORDER BY b.seq LOOP
        CONTINUE WHEN ops.opsmv_applied(p_history, o.changeset_id);
        r := ops.opsmv_compare_relation(o.object_schema, o.object_name, o.object_kind, o.definition);
        v_indexes_of := o.changeset_id;
        v_version_id := NULL;
        v_version_seq := NULL;
        IF r.state = 'differs' THEN
            -- another version of the object in the changelog: an older one (this changeset upgrades it) or
            -- a later one, such as a definition `opsmv import` took from production (adopted as it is)
            FOR v IN SELECT * FROM ops.opsmv_bundle_object b2
                     WHERE b2.object_schema = o.object_schema AND b2.object_name = o.object_name AND b2.changeset_id <> o.changeset_id
                     ORDER BY b2.seq LOOP
                IF (ops.opsmv_compare_relation(v.object_schema, v.object_name, v.object_kind, v.definition)).state = 'identical' THEN
                    v_version_id := v.changeset_id;
                    v_version_seq := v.seq;
                    EXIT;
                END IF;
            END LOOP;
        END IF;
        seq := o.seq; changeset_id := o.changeset_id; object := format('%I.%I', o.object_schema, o.object_name);
        object_kind := replace(o.object_kind, 'matview', 'materialized view');
        live_definition := r.live_definition; bundle_definition := r.bundle_definition; detail := NULL;
        IF r.state = 'absent' THEN
            action := 'create';
        ELSIF r.state = 'wrong_kind' THEN
            action := 'conflict';
            detail := 'exists, but it is not ' || r.bundle_definition;
        ELSIF r.state = 'exists' THEN
            SELECT string_agg(b.column_name, ', ') INTO v_missing
            FROM ops.opsmv_bundle_columns(o.object_name) b
            WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
                              WHERE a.attrelid = to_regclass(object) AND a.attname = b.column_name AND a.attnum > 0 AND NOT a.attisdropped);
            EXECUTE format('SELECT count(*) FROM %s', object) INTO v_rows;
            IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass(object) AND a.attname = 'mv_name' AND NOT a.attisdropped) THEN
                action := 'conflict';
                detail := 'exists without an mv_name column: not a table opsmv can take over';
            ELSE
                v_table_plan := ops.opsmv_table_plan(to_regclass(object), o.object_name);
                IF v_table_plan.problems IS NOT NULL THEN
                    action := 'conflict';
                    detail := format('keeps its %s row(s), but %s', v_rows, v_table_plan.problems);
                ELSIF v_missing IS NULL AND v_table_plan.changes IS NULL THEN
                    action := 'adopt';
                    detail := format('identical columns; keeps its %s row(s)', v_rows);
                ELSE
                    action := 'alter';
                    detail := concat_ws('; ', format('keeps its %s row(s)', v_rows), 'adds ' || v_missing, v_table_plan.changes);
                END IF;
            END IF;
        ELSIF r.state = 'identical' THEN
            action := 'adopt';
            detail := 'identical';
        ELSIF v_version_id IS NOT NULL AND v_version_seq > o.seq THEN
            action := 'adopt';
            detail := 'identical to its later version ' || v_version_id;
            v_indexes_of := v_version_id;
        ELSIF v_version_id IS NOT NULL THEN
            action := 'create';
            detail := 'holds version ' || v_version_id || '; this changeset upgrades it';
        ELSIF object = ANY (v_differing) THEN
            CONTINUE; -- reported once, at its first pending version
        ELSIF o.object_name IN ('v_mv_health', 'v_yango_cabinet_claims_mv_health') THEN
            -- derived from the log and the policy, no data of its own: set aside, built anew, put back by rollback
            action := 'replace';
            detail := format('another definition: kept as %I.%I and built anew', o.object_schema, o.object_name || '_pre_opsmv');
        ELSE
            action := 'differs';
            detail := 'another definition: ' || ops.opsmv_definition_difference(r.live_definition, r.bundle_definition)
                      || CASE WHEN o.object_kind = 'matview'
                              THEN '; run opsmv update --replace-differing (the bundle''s definition) or opsmv import (this one''s, as the bundle''s next version)'
                              ELSE '; a plain view is not rebuilt by --replace-differing: replace it by hand or take the import path (docs/ADOPTION.md)' END;
            v_differing := v_differing || object;
        END IF;
        -- An MV whose query is the same in two versions is told apart by its indexes: one whose indexes are
        -- another version's (the latest that fits) is adopted as that version, instead of its indexes
        -- being reported as names taken.
        IF o.object_kind = 'matview' AND action = 'adopt' AND ops.opsmv_index_conflicts(v_indexes_of) > 0 THEN
            FOR v IN SELECT * FROM ops.opsmv_bundle_object b2
                     WHERE b2.object_schema = o.object_schema AND b2.object_name = o.object_name AND b2.changeset_id <> v_indexes_of
                       AND b2.object_kind IN ('matview', 'matview-version')
                     ORDER BY b2.seq DESC LOOP
                IF (ops.opsmv_compare_relation(v.object_schema, v.object_name, 'matview', v.definition)).state = 'identical'
                   AND ops.opsmv_index_conflicts(v.changeset_id) = 0 THEN
                    v_indexes_of := v.changeset_id;
                    IF v.seq > o.seq THEN
                        detail := 'identical to its later version ' || v.changeset_id;
                    END IF;
                    EXIT;
                END IF;
            END LOOP;
        END IF;
        -- an MV created WITH NO DATA is adopted as it is, unless something reads it: what this update builds
        -- from it (release v1.1 rebuilds the driver matrix from the view) would fail on it, half-way
        IF o.object_kind = 'matview' AND action = 'adopt'
           AND NOT (SELECT c.relispopulated FROM pg_class c WHERE c.oid = to_regclass(object)) THEN
            SELECT string_agg(DISTINCT rw.ev_class::regclass::text, ', ') INTO v_readers
            FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
            WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
              AND d.refobjid = to_regclass(object) AND rw.ev_class <> d.refobjid;
            IF v_readers IS NULL THEN
                detail := detail || '; not populated (WITH NO DATA): the first refresh fills it';
            ELSE
                action := 'conflict';
                detail := detail || format('; not populated (WITH NO DATA), and %s read it, so what update builds from them would fail: '
                                           'populate it first (REFRESH MATERIALIZED VIEW %s) and run update again', v_readers, object);
            END IF;
        END IF;
        RETURN NEXT;

        -- the indexes that come with an adopted MV (a created one brings its own)
        IF o.object_kind = 'matview' AND action = 'adopt' THEN
            FOR i IN SELECT * FROM ops.opsmv_bundle_index b WHERE b.changeset_id = v_indexes_of ORDER BY b.seq LOOP
                CONTINUE WHEN format('%I.%I', i.index_schema, i.index_name) = ANY (v_indexes_listed);
                v_indexes_listed := v_indexes_listed || format('%I.%I', i.index_schema, i.index_name);
                x := ops.opsmv_compare_index(i.index_schema, i.index_name, i.table_schema, i.table_name, i.is_unique, i.key_sql);
                seq := i.seq; changeset_id := i.changeset_id; object := format('%I.%I', i.index_schema, i.index_name); object_kind := 'index';
                live_definition := x.live_definition; bundle_definition := x.bundle_definition;
                action := CASE x.state WHEN 'identical' THEN 'adopt' WHEN 'alias' THEN 'adopt' WHEN 'absent' THEN 'create'
                                       WHEN 'invalid' THEN 'rebuild' ELSE 'conflict' END;
                detail := CASE x.state WHEN 'identical' THEN 'identical'
                                       WHEN 'alias' THEN 'the same index exists as ' || x.live_index || ': kept under that name'
                                       WHEN 'absent' THEN 'built on the adopted materialized view'
                                       WHEN 'invalid' THEN 'INVALID leftover of a failed build: dropped and built again'
                                       ELSE ops.opsmv_index_conflict_detail(i.index_schema, i.index_name, i.table_schema, i.table_name) END;
                RETURN NEXT;
            END LOOP;
        END IF;
    END LOOP;

    -- indexes with a changeset of their own (the source tables' idx_*, the claims grain index)
    FOR i IN SELECT * FROM ops.opsmv_bundle_index b
             WHERE NOT EXISTS (SELECT 1 FROM ops.opsmv_bundle_object o WHERE o.changeset_id = b.changeset_id)
             ORDER BY b.seq LOOP
        CONTINUE WHEN ops.opsmv_applied(p_history, i.changeset_id);
        x := ops.opsmv_compare_index(i.index_schema, i.index_name, i.table_schema, i.table_name, i.is_unique, i.key_sql);
        seq := i.seq; changeset_id := i.changeset_id; object := format('%I.%I', i.index_schema, i.index_name); object_kind := 'index';
        live_definition := x.live_definition; bundle_definition := x.bundle_definition;
        action := CASE x.state WHEN 'identical' THEN 'adopt' WHEN 'alias' THEN 'adopt' WHEN 'conflict' THEN 'conflict'
                               WHEN 'invalid' THEN 'rebuild' ELSE 'create' END;
        detail := CASE x.state WHEN 'identical' THEN 'identical'
                               WHEN 'alias' THEN 'the same index exists as ' || x.live_index || ': kept under that name, not built twice'
                               WHEN 'conflict' THEN ops.opsmv_index_conflict_detail(i.index_schema, i.index_name, i.table_schema, i.table_name)
                               WHEN 'invalid' THEN 'INVALID leftover of a failed build: dropped and built again'
                               ELSE NULL END;
        -- CREATE INDEX CONCURRENTLY refuses an MV that is not populated; nothing can read such an MV, so the
        -- gate builds the index without CONCURRENTLY and the index changeset is marked ran
        IF x.state = 'absent' AND (SELECT c.relkind = 'm' AND NOT c.relispopulated FROM pg_class c
                                   WHERE c.oid = to_regclass(format('%I.%I', i.table_schema, i.table_name))) THEN
            detail := 'its materialized view is not populated, which CREATE INDEX CONCURRENTLY refuses: built by the adoption gate without CONCURRENTLY (nothing can read that MV meanwhile)';
        END IF;
        RETURN NEXT;
    END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION ops.opsmv_adopt_existing(p_history text)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    p record;
    v_problems text := '';
    v_count integer := 0;
    v_index record;
    v_later text;
    v_alias text;
BEGIN
    FOR p IN SELECT * FROM ops.opsmv_adoption_plan(p_history) WHERE action IN ('differs', 'conflict') LOOP
        v_problems := v_problems || format(E'\n  %s (%s, changeset %s): %s', p.object, p.object_kind, p.changeset_id, p.detail)
                      || CASE WHEN p.object_kind = 'index' THEN format(E'\n      live:   %s\n      bundle: %s', p.live_definition, p.bundle_definition) ELSE '' END;
    END LOOP;
    IF v_problems <> '' THEN
        RAISE EXCEPTION USING
            MESSAGE = 'opsmv: this database already holds objects that differ from the bundle; nothing was adopted or changed:' || v_problems,
            HINT = 'Show the differences with `opsmv status` (or `opsmv update-sql`). Then rebuild each differing materialized view with the bundle''s definition (`opsmv update --replace-differing`), or make the live definitions the bundle''s next version (`opsmv import`), or rename the index that takes a bundle name.';
    END IF;
    FOR p IN SELECT * FROM ops.opsmv_adoption_plan(p_history) WHERE action IN ('adopt', 'alter', 'replace') LOOP
        IF p.action = 'replace' THEN
            PERFORM ops.opsmv_record(p.changeset_id, p.object, 'replace', p.detail, NULL);
        ELSIF p.object_kind = 'index' AND p.changeset_id IN (SELECT o.changeset_id FROM ops.opsmv_bundle_object o) THEN
            -- an index of an adopted MV: nothing to build, and the MV's own record covers it. But where the DBA's own
            -- index stands in for the bundle's (same shape, another name), a later release that rebuilds the MV
            -- builds the bundle's name beside it, and so does that release's rollback: rolling back to before the
            -- adoption drops the bundle's one again while the DBA's one stands.
            v_alias := substring(p.detail FROM '^the same index exists as (\S+): kept under that name');
            IF v_alias IS NOT NULL THEN
                PERFORM ops.opsmv_record('v1.0-adoption-gate', p.object, 'adopt', p.detail,
                    format('DO $u$ BEGIN IF to_regclass(%L) IS NOT NULL THEN DROP INDEX IF EXISTS %s; END IF; END $u$', v_alias, p.object));
            END IF;
        ELSE
            PERFORM ops.opsmv_record(p.changeset_id, p.object, 'adopt', CASE WHEN p.action = 'adopt' THEN p.detail ELSE p.action || ': ' || p.detail END, NULL);
            -- the release changeset that builds that later version finds it there too (ops.opsmv_decision): marked ran, not rebuilt
            v_later := substring(p.detail FROM '^identical to its later version (\S+)$');
            IF v_later IS NOT NULL AND ops.opsmv_decision(v_later) <> 'adopted' THEN
                PERFORM ops.opsmv_record(v_later, p.object, 'adopt', 'this database holds this version already', NULL);
            END IF;
        END IF;
        v_count := v_count + 1;
    END LOOP;
    -- the adopted MVs' missing indexes (the psql scripts built none of the unique ones CONCURRENTLY needs)
    FOR p IN SELECT * FROM ops.opsmv_adoption_plan(p_history) WHERE object_kind = 'index' AND action IN ('create', 'rebuild')
                AND changeset_id IN (SELECT o.changeset_id FROM ops.opsmv_bundle_object o) LOOP
        SELECT * INTO v_index FROM ops.opsmv_bundle_index b
        WHERE format('%I.%I', b.index_schema, b.index_name) = p.object AND b.changeset_id = p.changeset_id;
        IF p.action = 'rebuild' THEN
            EXECUTE format('DROP INDEX %s', p.object);
        END IF;
        CONTINUE WHEN to_regclass(p.object) IS NOT NULL;
        EXECUTE format('CREATE %sINDEX %I ON %I.%I %s', CASE WHEN v_index.is_unique THEN 'UNIQUE ' ELSE '' END,
                       v_index.index_name, v_index.table_schema, v_index.table_name, v_index.key_sql);
        PERFORM ops.opsmv_record('v1.0-adoption-gate', p.object, 'index', 'built on the adopted ' || v_index.table_name,
                                 format('DROP INDEX IF EXISTS %s', p.object));
    END LOOP;
    -- an index changeset of its own whose MV is not populated (CONCURRENTLY refuses it): built here, marked ran
    FOR p IN SELECT * FROM ops.opsmv_adoption_plan(p_history) WHERE object_kind = 'index' AND action = 'create'
                AND detail LIKE 'its materialized view is not populated%' LOOP
        SELECT * INTO v_index FROM ops.opsmv_bundle_index b
        WHERE format('%I.%I', b.index_schema, b.index_name) = p.object AND b.changeset_id = p.changeset_id;
        EXECUTE format('CREATE %sINDEX %I ON %I.%I %s', CASE WHEN v_index.is_unique THEN 'UNIQUE ' ELSE '' END,
                       v_index.index_name, v_index.table_schema, v_index.table_name, v_index.key_sql);
        PERFORM ops.opsmv_record(p.changeset_id, p.object, 'adopt', 'built by the adoption gate: ' || v_index.table_name || ' is not populated', NULL);
        PERFORM ops.opsmv_record('v1.0-adoption-gate', p.object, 'index', 'built without CONCURRENTLY on ' || v_index.table_name || ', not populated',
                                 format('DROP INDEX IF EXISTS %s', p.object));
    END LOOP;
    RETURN v_count;
END
$fn$;

CREATE OR REPLACE FUNCTION ops.opsmv_conform_refresh_tables(p_changeset_id text)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    t text;
    b record;
    a record;
    k record;
    v_table regclass;
    v_adopted boolean;
    v_changes integer := 0;
    s record;
    v_problems text;
    v_alter text;
    v_cols name[];
    v_detail text;
    v_undo text;
    v_views text;
    v_max bigint;
    v_upper text;
BEGIN
    FOREACH t IN ARRAY ARRAY['mv_refresh_log', 'mv_refresh_policy'] LOOP
        v_table := to_regclass('ops.' || t);
        CONTINUE WHEN v_table IS NULL;
        -- a table the bundle created has its shape already, but for refreshed_at (added since)
        v_adopted := ops.opsmv_decision('v1.0-' || t) = 'adopted';
        FOR b IN SELECT * FROM ops.opsmv_bundle_columns(t) c WHERE v_adopted OR c.column_name = 'refreshed_at' LOOP
            SELECT a2.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS default_expr, a2.attidentity
              INTO a
            FROM pg_attribute a2 LEFT JOIN pg_attrdef d ON d.adrelid = a2.attrelid AND d.adnum = a2.attnum
            WHERE a2.attrelid = v_table AND a2.attname = b.column_name AND a2.attnum > 0 AND NOT a2.attisdropped;
            IF NOT FOUND THEN
                EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s%s', v_table, b.column_name, b.column_type,
                               coalesce(' DEFAULT ' || b.column_default, ''));
                PERFORM ops.opsmv_record(p_changeset_id, v_table::text, 'alter', 'added column ' || b.column_name,
                                         format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', v_table, b.column_name));
                v_changes := v_changes + 1;
            ELSIF b.column_default IS NOT NULL AND a.default_expr IS NULL AND a.attidentity = '' THEN
                EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', v_table, b.column_name, b.column_default);
                PERFORM ops.opsmv_record(p_changeset_id, v_table::text, 'alter', 'default for column ' || b.column_name,
                                         format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', v_table, b.column_name));
                v_changes := v_changes + 1;
            END IF;
        END LOOP;
        CONTINUE WHEN NOT v_adopted;
        -- columns of another shape the bundle never writes must not reject its rows
        FOR k IN SELECT a2.attname FROM pg_attribute a2
                 WHERE a2.attrelid = v_table AND a2.attnum > 0 AND NOT a2.attisdropped AND a2.attnotnull AND a2.attidentity = ''
                   AND NOT EXISTS (SELECT 1 FROM pg_attrdef d WHERE d.adrelid = a2.attrelid AND d.adnum = a2.attnum)
                   AND a2.attname NOT IN (SELECT c.column_name FROM ops.opsmv_bundle_columns(t) c)
                   AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = v_table AND i.indisprimary AND a2.attnum = ANY (i.indkey)) LOOP
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', v_table, k.attname);
            PERFORM ops.opsmv_record(p_changeset_id, v_table::text, 'alter', 'NOT NULL lifted from ' || k.attname || ' (the bundle does not write it)',
                format('DO $u$ BEGIN IF NOT EXISTS (SELECT 1 FROM %s WHERE %I IS NULL) THEN ALTER TABLE %s ALTER COLUMN %I SET NOT NULL; END IF; END $u$',
                       v_table, k.attname, v_table, k.attname));
            v_changes := v_changes + 1;
        END LOOP;
        -- CHECK constraints of another shape on the values the bundle writes (status, method) would reject
        -- SKIPPED, ABANDONED, BUSY...: lifted, and put back NOT VALID by rollback (rows written since stay)
        FOR k IN SELECT con.conname, pg_get_constraintdef(con.oid) AS def FROM pg_constraint con
                 WHERE con.conrelid = v_table AND con.contype = 'c'
                   AND con.conname NOT IN ('mv_refresh_log_status_chk', 'mv_refresh_log_method_chk', 'mv_refresh_policy_thresholds_chk')
                   AND pg_get_constraintdef(con.oid) ~ '\m(status|method)\M' LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', v_table, k.conname);
            PERFORM ops.opsmv_record(p_changeset_id, v_table::text, 'alter', 'constraint ' || k.conname || ' lifted: ' || k.def,
                                     format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID; '
                                            'DO $u$ BEGIN ALTER TABLE %s VALIDATE CONSTRAINT %I; EXCEPTION WHEN check_violation THEN '
                                            'RAISE WARNING %L; END $u$',
                                            v_table, k.conname, k.def, v_table, k.conname,
                                            'opsmv: constraint ' || k.conname || ' is back NOT VALID: rows written since adoption do not satisfy it'));
            v_changes := v_changes + 1;
        END LOOP;
        CONTINUE WHEN t <> 'mv_refresh_log';
        -- the log's columns of another type and its status values in another case (ops.opsmv_log_steps; the
        -- gate stopped on what cannot be done, and a run that resumes after a failure meets the same refusal)
        SELECT string_agg(x.detail, '; ') INTO v_problems FROM ops.opsmv_log_steps(v_table) x WHERE x.step = 'problem';
        IF v_problems IS NOT NULL THEN
            RAISE EXCEPTION USING MESSAGE = format('opsmv: %s cannot be conformed: %s', v_table, v_problems);
        END IF;
        v_alter := NULL; v_cols := '{}'; v_undo := ''; v_detail := NULL;
        FOR s IN SELECT * FROM ops.opsmv_log_steps(v_table) x WHERE x.step IN ('widen', 'zone') LOOP
            v_alter := concat_ws(', ', v_alter, format('ALTER COLUMN %I TYPE %s%s', s.column_name, s.to_type, ' USING ' || s.using_expr));
            v_cols := v_cols || s.column_name::name;
            v_detail := concat_ws(', ', v_detail, format('%s %s -> %s', s.column_name, s.from_type, s.to_type) || coalesce(' USING ' || s.using_expr, ''));
            IF s.step = 'widen' THEN
                -- back to the old type where every row (those written since included) still fits it
                v_undo := v_undo || format($u$IF EXISTS (SELECT 1 FROM %1$s WHERE rtrim(%2$I) <> rtrim((%2$I::%3$s)::text)) THEN RAISE WARNING %4$L; ELSE v_alter := v_alter || %5$L; v_cols := v_cols || %2$L::name; END IF; $u$,
                                           v_table, s.column_name, s.from_type,
                                           format('opsmv: %s.%s stays text: rows written since adoption do not fit %s', v_table, s.column_name, s.from_type),
                                           format(', ALTER COLUMN %I TYPE %s', s.column_name, s.from_type));
            ELSE
                v_undo := v_undo || format($u$v_alter := v_alter || %1$L; v_cols := v_cols || %2$L::name; $u$,
                                           format(', ALTER COLUMN %I TYPE %s USING %s', s.column_name, s.from_type, s.undo_using), s.column_name);
            END IF;
        END LOOP;
        IF v_alter IS NOT NULL THEN
            v_views := ops.opsmv_retype_columns(v_table, v_alter, v_cols);
            PERFORM ops.opsmv_record(p_changeset_id, v_table::text, 'alter', v_detail || coalesce('; views rebuilt around it: ' || nullif(v_views, ''), ''),
                format($u$DO $d$ DECLARE v_alter text := ''; v_cols name[] := '{}'; BEGIN %s IF cardinality(v_cols) > 0 THEN PERFORM ops.opsmv_retype_columns(%L, substr(v_alter, 3), v_cols); END IF; END $d$$u$,
                       v_undo, v_table::text));
            v_changes := v_changes + 1;
        END IF;
        SELECT x.detail INTO v_detail FROM ops.opsmv_log_steps(v_table) x WHERE x.step = 'status';
        IF v_detail IS NOT NULL THEN
            EXECUTE format('SELECT max(refresh_id), string_agg(DISTINCT quote_literal(upper(status)), %L) FILTER (WHERE status <> upper(status)) FROM %s', ', ', v_table)
                INTO v_max, v_upper;
            EXECUTE format('UPDATE %s SET status = upper(status) WHERE status <> upper(status)', v_table);
            PERFORM ops.opsmv_record(p_changeset_id, v_table::text, 'alter', v_detail,
                                     format('UPDATE %s SET status = lower(status) WHERE refresh_id <= %s AND status IN (%s)', v_table, v_max, v_upper));
            v_changes := v_changes + 1;
        END IF;
    END LOOP;

    -- an adopted policy table gets the bundle's thresholds for the MVs it does not list yet
    IF ops.opsmv_decision('v1.0-mv_refresh_policy') = 'adopted' THEN
        FOR k IN SELECT * FROM (VALUES
                ('mv_yango_payments_raw_current', false, 24, 48, 60),
                ('mv_yango_payments_ledger_latest', false, 24, 48, 60),
                ('mv_yango_payments_ledger_latest_enriched', false, 24, 48, 60),
                ('mv_yango_receivable_payable_detail', false, 24, 48, 60),
                ('mv_claims_payment_status_cabinet', false, 24, 48, 60),
                ('mv_yango_cabinet_claims_for_collection', true, 24, 48, 60),
                ('mv_payments_driver_matrix_cabinet', true, 2, 6, 30)) AS d(mv_name, is_critical, warn_h, crit_h, stuck_min)
                 WHERE NOT EXISTS (SELECT 1 FROM ops.mv_refresh_policy p WHERE p.schema_name = 'ops' AND p.mv_name = d.mv_name) LOOP
            INSERT INTO ops.mv_refresh_policy (schema_name, mv_name, is_critical, warn_after_hours, crit_after_hours, stuck_after_minutes)
            VALUES ('ops', k.mv_name, k.is_critical, k.warn_h, k.crit_h, k.stuck_min);
            PERFORM ops.opsmv_record(p_changeset_id, 'ops.mv_refresh_policy', 'alter', 'policy row for ' || k.mv_name,
                                     format('DELETE FROM ops.mv_refresh_policy WHERE schema_name = %L AND mv_name = %L', 'ops', k.mv_name));
            v_changes := v_changes + 1;
        END LOOP;
    END IF;

    v_table := to_regclass('ops.mv_refresh_log');
    IF v_table IS NOT NULL THEN
        -- By name: v01 looked for any unique index on refresh_id alone but compared pg_index.indkey (an
        -- int2vector, subscripts from 0) with a 1-based array, which never matched; so every log it conformed,
        -- the bundle's own included, has this index, and conforming a log a second time (a database whose
        -- history was lost) found the name taken. Every log keeps getting it, and only once.
        IF to_regclass('ops.ux_mv_refresh_log_refresh_id') IS NULL THEN
            CREATE UNIQUE INDEX ux_mv_refresh_log_refresh_id ON ops.mv_refresh_log (refresh_id);
            PERFORM ops.opsmv_record(p_changeset_id, 'ops.ux_mv_refresh_log_refresh_id', 'index', 'refresh_id identifies a log row',
                                     'DROP INDEX IF EXISTS ops.ux_mv_refresh_log_refresh_id');
            v_changes := v_changes + 1;
        END IF;
        IF to_regclass('ops.idx_mv_refresh_log_mv_started') IS NULL THEN
            CREATE INDEX idx_mv_refresh_log_mv_started ON ops.mv_refresh_log (schema_name, mv_name, refresh_started_at DESC);
            PERFORM ops.opsmv_record(p_changeset_id, 'ops.idx_mv_refresh_log_mv_started', 'index', 'the health views read the latest rows per MV',
                                     'DROP INDEX IF EXISTS ops.idx_mv_refresh_log_mv_started');
            v_changes := v_changes + 1;
        END IF;
        IF to_regclass('ops.idx_mv_refresh_log_running') IS NULL THEN
            CREATE INDEX idx_mv_refresh_log_running ON ops.mv_refresh_log (schema_name, mv_name) WHERE status = 'RUNNING';
            PERFORM ops.opsmv_record(p_changeset_id, 'ops.idx_mv_refresh_log_running', 'index', 'stuck and abandoned runs are looked up by it',
                                     'DROP INDEX IF EXISTS ops.idx_mv_refresh_log_running');
            v_changes := v_changes + 1;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = v_table AND tgname = 'opsmv_refreshed_at') THEN
            CREATE TRIGGER opsmv_refreshed_at BEFORE INSERT OR UPDATE ON ops.mv_refresh_log
                FOR EACH ROW EXECUTE FUNCTION ops.opsmv_refresh_log_refreshed_at();
            PERFORM ops.opsmv_record(p_changeset_id, 'ops.mv_refresh_log', 'alter', 'refreshed_at written by every OK refresh (trigger opsmv_refreshed_at)',
                                     'DROP TRIGGER IF EXISTS opsmv_refreshed_at ON ops.mv_refresh_log');
            v_changes := v_changes + 1;
        END IF;
    END IF;
    RETURN v_changes;
END
$fn$;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback CREATE OR REPLACE FUNCTION ops.opsmv_adoption_plan(p_history text)
--rollback RETURNS TABLE (seq bigint, changeset_id text, object text, object_kind text, action text, detail text,
--rollback                live_definition text, bundle_definition text)
--rollback LANGUAGE plpgsql
--rollback AS $fn$
--rollback #variable_conflict use_column
--rollback DECLARE
--rollback     o record;
--rollback     i record;
--rollback     r record;
--rollback     x record;
--rollback     v record;
--rollback     v_version_id text;
--rollback     v_version_seq bigint;
--rollback     v_indexes_of text;
--rollback     v_differing text[] := '{}';
--rollback     v_indexes_listed text[] := '{}';
--rollback     v_missing text;
--rollback     v_rows bigint;
--rollback BEGIN
--rollback     FOR o IN SELECT * FROM ops.opsmv_bundle_object b ORDER BY b.seq LOOP
--rollback         CONTINUE WHEN ops.opsmv_applied(p_history, o.changeset_id);
--rollback         r := ops.opsmv_compare_relation(o.object_schema, o.object_name, o.object_kind, o.definition);
--rollback         v_indexes_of := o.changeset_id;
--rollback         v_version_id := NULL;
--rollback         v_version_seq := NULL;
--rollback         IF r.state = 'differs' THEN
--rollback             -- another version of the object in the changelog: an older one (this changeset upgrades it) or
--rollback             -- a later one, such as a definition `opsmv import` took from production (adopted as it is)
--rollback             FOR v IN SELECT * FROM ops.opsmv_bundle_object b2
--rollback                      WHERE b2.object_schema = o.object_schema AND b2.object_name = o.object_name AND b2.changeset_id <> o.changeset_id
--rollback                      ORDER BY b2.seq LOOP
--rollback                 IF (ops.opsmv_compare_relation(v.object_schema, v.object_name, v.object_kind, v.definition)).state = 'identical' THEN
--rollback                     v_version_id := v.changeset_id;
--rollback                     v_version_seq := v.seq;
--rollback                     EXIT;
--rollback                 END IF;
--rollback             END LOOP;
--rollback         END IF;
--rollback         seq := o.seq; changeset_id := o.changeset_id; object := format('%I.%I', o.object_schema, o.object_name);
--rollback         object_kind := replace(o.object_kind, 'matview', 'materialized view');
--rollback         live_definition := r.live_definition; bundle_definition := r.bundle_definition; detail := NULL;
--rollback         IF r.state = 'absent' THEN
--rollback             action := 'create';
--rollback         ELSIF r.state = 'wrong_kind' THEN
--rollback             action := 'conflict';
--rollback             detail := 'exists, but it is not ' || r.bundle_definition;
--rollback         ELSIF r.state = 'exists' THEN
--rollback             SELECT string_agg(b.column_name, ', ') INTO v_missing
--rollback             FROM ops.opsmv_bundle_columns(o.object_name) b
--rollback             WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
--rollback                               WHERE a.attrelid = to_regclass(object) AND a.attname = b.column_name AND a.attnum > 0 AND NOT a.attisdropped);
--rollback             EXECUTE format('SELECT count(*) FROM %s', object) INTO v_rows;
--rollback             IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass(object) AND a.attname = 'mv_name' AND NOT a.attisdropped) THEN
--rollback                 action := 'conflict';
--rollback                 detail := 'exists without an mv_name column: not a table opsmv can take over';
--rollback             ELSIF v_missing IS NULL THEN
--rollback                 action := 'adopt';
--rollback                 detail := format('identical columns; keeps its %s row(s)', v_rows);
--rollback             ELSE
--rollback                 action := 'alter';
--rollback                 detail := format('keeps its %s row(s); adds %s', v_rows, v_missing);
--rollback             END IF;
--rollback         ELSIF r.state = 'identical' THEN
--rollback             action := 'adopt';
--rollback             detail := 'identical';
--rollback         ELSIF v_version_id IS NOT NULL AND v_version_seq > o.seq THEN
--rollback             action := 'adopt';
--rollback             detail := 'identical to its later version ' || v_version_id;
--rollback             v_indexes_of := v_version_id;
--rollback         ELSIF v_version_id IS NOT NULL THEN
--rollback             action := 'create';
--rollback             detail := 'holds version ' || v_version_id || '; this changeset upgrades it';
--rollback         ELSIF object = ANY (v_differing) THEN
--rollback             CONTINUE; -- reported once, at its first pending version
--rollback         ELSIF o.object_name IN ('v_mv_health', 'v_yango_cabinet_claims_mv_health') THEN
--rollback             -- derived from the log and the policy, no data of its own: set aside, built anew, put back by rollback
--rollback             action := 'replace';
--rollback             detail := format('another definition: kept as %I.%I and built anew', o.object_schema, o.object_name || '_pre_opsmv');
--rollback         ELSE
--rollback             action := 'differs';
--rollback             detail := 'another definition';
--rollback             v_differing := v_differing || object;
--rollback         END IF;
--rollback         RETURN NEXT;
--rollback
--rollback         -- the indexes that come with an adopted MV (a created one brings its own)
--rollback         IF o.object_kind = 'matview' AND action = 'adopt' THEN
--rollback             FOR i IN SELECT * FROM ops.opsmv_bundle_index b WHERE b.changeset_id = v_indexes_of ORDER BY b.seq LOOP
--rollback                 CONTINUE WHEN format('%I.%I', i.index_schema, i.index_name) = ANY (v_indexes_listed);
--rollback                 v_indexes_listed := v_indexes_listed || format('%I.%I', i.index_schema, i.index_name);
--rollback                 x := ops.opsmv_compare_index(i.index_schema, i.index_name, i.table_schema, i.table_name, i.is_unique, i.key_sql);
--rollback                 seq := i.seq; changeset_id := i.changeset_id; object := format('%I.%I', i.index_schema, i.index_name); object_kind := 'index';
--rollback                 live_definition := x.live_definition; bundle_definition := x.bundle_definition;
--rollback                 action := CASE x.state WHEN 'identical' THEN 'adopt' WHEN 'alias' THEN 'adopt' WHEN 'absent' THEN 'create'
--rollback                                        WHEN 'invalid' THEN 'rebuild' ELSE 'conflict' END;
--rollback                 detail := CASE x.state WHEN 'identical' THEN 'identical'
--rollback                                        WHEN 'alias' THEN 'the same index exists as ' || x.live_index || ': kept under that name'
--rollback                                        WHEN 'absent' THEN 'built on the adopted materialized view'
--rollback                                        WHEN 'invalid' THEN 'INVALID leftover of a failed build: dropped and built again'
--rollback                                        ELSE 'the bundle''s name is taken by another index' END;
--rollback                 RETURN NEXT;
--rollback             END LOOP;
--rollback         END IF;
--rollback     END LOOP;
--rollback
--rollback     -- indexes with a changeset of their own (the source tables' idx_*, the claims grain index)
--rollback     FOR i IN SELECT * FROM ops.opsmv_bundle_index b
--rollback              WHERE NOT EXISTS (SELECT 1 FROM ops.opsmv_bundle_object o WHERE o.changeset_id = b.changeset_id)
--rollback              ORDER BY b.seq LOOP
--rollback         CONTINUE WHEN ops.opsmv_applied(p_history, i.changeset_id);
--rollback         x := ops.opsmv_compare_index(i.index_schema, i.index_name, i.table_schema, i.table_name, i.is_unique, i.key_sql);
--rollback         seq := i.seq; changeset_id := i.changeset_id; object := format('%I.%I', i.index_schema, i.index_name); object_kind := 'index';
--rollback         live_definition := x.live_definition; bundle_definition := x.bundle_definition;
--rollback         action := CASE x.state WHEN 'identical' THEN 'adopt' WHEN 'alias' THEN 'adopt' WHEN 'conflict' THEN 'conflict'
--rollback                                WHEN 'invalid' THEN 'rebuild' ELSE 'create' END;
--rollback         detail := CASE x.state WHEN 'identical' THEN 'identical'
--rollback                                WHEN 'alias' THEN 'the same index exists as ' || x.live_index || ': kept under that name, not built twice'
--rollback                                WHEN 'conflict' THEN 'the bundle''s name is taken by another index'
--rollback                                WHEN 'invalid' THEN 'INVALID leftover of a failed build: dropped and built again'
--rollback                                ELSE NULL END;
--rollback         RETURN NEXT;
--rollback     END LOOP;
--rollback END
--rollback $fn$;
--rollback CREATE OR REPLACE FUNCTION ops.opsmv_adopt_existing(p_history text)
--rollback RETURNS integer
--rollback LANGUAGE plpgsql
--rollback AS $fn$
--rollback #variable_conflict use_column
--rollback DECLARE
--rollback     p record;
--rollback     v_problems text := '';
--rollback     v_count integer := 0;
--rollback     v_index record;
--rollback BEGIN
--rollback     FOR p IN SELECT * FROM ops.opsmv_adoption_plan(p_history) WHERE action IN ('differs', 'conflict') LOOP
--rollback         v_problems := v_problems || format(E'\n  %s (%s, changeset %s): %s', p.object, p.object_kind, p.changeset_id, p.detail)
--rollback                       || CASE WHEN p.object_kind = 'index' THEN format(E'\n      live:   %s\n      bundle: %s', p.live_definition, p.bundle_definition) ELSE '' END;
--rollback     END LOOP;
--rollback     IF v_problems <> '' THEN
--rollback         RAISE EXCEPTION USING
--rollback             MESSAGE = 'opsmv: this database already holds objects that differ from the bundle; nothing was adopted or changed:' || v_problems,
--rollback             HINT = 'Show the differences with `opsmv status` (or `opsmv update-sql`). Then rebuild each differing materialized view with the bundle''s definition (`opsmv update --replace-differing`), or make the live definitions the bundle''s next version (`opsmv import`), or rename the index that takes a bundle name.';
--rollback     END IF;
--rollback     FOR p IN SELECT * FROM ops.opsmv_adoption_plan(p_history) WHERE action IN ('adopt', 'alter', 'replace') LOOP
--rollback         IF p.action = 'replace' THEN
--rollback             PERFORM ops.opsmv_record(p.changeset_id, p.object, 'replace', p.detail, NULL);
--rollback         ELSIF p.object_kind = 'index' AND p.changeset_id IN (SELECT o.changeset_id FROM ops.opsmv_bundle_object o) THEN
--rollback             NULL; -- an index of an adopted MV: nothing to build, and the MV's own record covers it
--rollback         ELSE
--rollback             PERFORM ops.opsmv_record(p.changeset_id, p.object, 'adopt', CASE WHEN p.action = 'adopt' THEN p.detail ELSE p.action || ': ' || p.detail END, NULL);
--rollback         END IF;
--rollback         v_count := v_count + 1;
--rollback     END LOOP;
--rollback     -- the adopted MVs' missing indexes (the psql scripts built none of the unique ones CONCURRENTLY needs)
--rollback     FOR p IN SELECT * FROM ops.opsmv_adoption_plan(p_history) WHERE object_kind = 'index' AND action IN ('create', 'rebuild')
--rollback                 AND changeset_id IN (SELECT o.changeset_id FROM ops.opsmv_bundle_object o) LOOP
--rollback         SELECT * INTO v_index FROM ops.opsmv_bundle_index b
--rollback         WHERE format('%I.%I', b.index_schema, b.index_name) = p.object AND b.changeset_id = p.changeset_id;
--rollback         IF p.action = 'rebuild' THEN
--rollback             EXECUTE format('DROP INDEX %s', p.object);
--rollback         END IF;
--rollback         CONTINUE WHEN to_regclass(p.object) IS NOT NULL;
--rollback         EXECUTE format('CREATE %sINDEX %I ON %I.%I %s', CASE WHEN v_index.is_unique THEN 'UNIQUE ' ELSE '' END,
--rollback                        v_index.index_name, v_index.table_schema, v_index.table_name, v_index.key_sql);
--rollback         PERFORM ops.opsmv_record('v1.0-adoption-gate', p.object, 'index', 'built on the adopted ' || v_index.table_name,
--rollback                                  format('DROP INDEX IF EXISTS %s', p.object));
--rollback     END LOOP;
--rollback     RETURN v_count;
--rollback END
--rollback $fn$;
--rollback CREATE OR REPLACE FUNCTION ops.opsmv_conform_refresh_tables(p_changeset_id text)
--rollback RETURNS integer
--rollback LANGUAGE plpgsql
--rollback AS $fn$
--rollback #variable_conflict use_column
--rollback DECLARE
--rollback     t text;
--rollback     b record;
--rollback     a record;
--rollback     k record;
--rollback     v_table regclass;
--rollback     v_adopted boolean;
--rollback     v_changes integer := 0;
--rollback BEGIN
--rollback     FOREACH t IN ARRAY ARRAY['mv_refresh_log', 'mv_refresh_policy'] LOOP
--rollback         v_table := to_regclass('ops.' || t);
--rollback         CONTINUE WHEN v_table IS NULL;
--rollback         -- a table the bundle created has its shape already, but for refreshed_at (added since)
--rollback         v_adopted := ops.opsmv_decision('v1.0-' || t) = 'adopted';
--rollback         FOR b IN SELECT * FROM ops.opsmv_bundle_columns(t) c WHERE v_adopted OR c.column_name = 'refreshed_at' LOOP
--rollback             SELECT a2.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS default_expr, a2.attidentity
--rollback               INTO a
--rollback             FROM pg_attribute a2 LEFT JOIN pg_attrdef d ON d.adrelid = a2.attrelid AND d.adnum = a2.attnum
--rollback             WHERE a2.attrelid = v_table AND a2.attname = b.column_name AND a2.attnum > 0 AND NOT a2.attisdropped;
--rollback             IF NOT FOUND THEN
--rollback                 EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s%s', v_table, b.column_name, b.column_type,
--rollback                                coalesce(' DEFAULT ' || b.column_default, ''));
--rollback                 PERFORM ops.opsmv_record(p_changeset_id, v_table::text, 'alter', 'added column ' || b.column_name,
--rollback                                          format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', v_table, b.column_name));
--rollback                 v_changes := v_changes + 1;
--rollback             ELSIF b.column_default IS NOT NULL AND a.default_expr IS NULL AND a.attidentity = '' THEN
--rollback                 EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', v_table, b.column_name, b.column_default);
--rollback                 PERFORM ops.opsmv_record(p_changeset_id, v_table::text, 'alter', 'default for column ' || b.column_name,
--rollback                                          format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', v_table, b.column_name));
--rollback                 v_changes := v_changes + 1;
--rollback             END IF;
--rollback         END LOOP;
--rollback         CONTINUE WHEN NOT v_adopted;
--rollback         -- columns of another shape the bundle never writes must not reject its rows
--rollback         FOR k IN SELECT a2.attname FROM pg_attribute a2
--rollback                  WHERE a2.attrelid = v_table AND a2.attnum > 0 AND NOT a2.attisdropped AND a2.attnotnull AND a2.attidentity = ''
--rollback                    AND NOT EXISTS (SELECT 1 FROM pg_attrdef d WHERE d.adrelid = a2.attrelid AND d.adnum = a2.attnum)
--rollback                    AND a2.attname NOT IN (SELECT c.column_name FROM ops.opsmv_bundle_columns(t) c)
--rollback                    AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = v_table AND i.indisprimary AND a2.attnum = ANY (i.indkey)) LOOP
--rollback             EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', v_table, k.attname);
--rollback             PERFORM ops.opsmv_record(p_changeset_id, v_table::text, 'alter', 'NOT NULL lifted from ' || k.attname || ' (the bundle does not write it)',
--rollback                 format('DO $u$ BEGIN IF NOT EXISTS (SELECT 1 FROM %s WHERE %I IS NULL) THEN ALTER TABLE %s ALTER COLUMN %I SET NOT NULL; END IF; END $u$',
--rollback                        v_table, k.attname, v_table, k.attname));
--rollback             v_changes := v_changes + 1;
--rollback         END LOOP;
--rollback         -- CHECK constraints of another shape on the values the bundle writes (status, method) would reject
--rollback         -- SKIPPED, ABANDONED, BUSY...: lifted, and put back NOT VALID by rollback (rows written since stay)
--rollback         FOR k IN SELECT con.conname, pg_get_constraintdef(con.oid) AS def FROM pg_constraint con
--rollback                  WHERE con.conrelid = v_table AND con.contype = 'c'
--rollback                    AND con.conname NOT IN ('mv_refresh_log_status_chk', 'mv_refresh_log_method_chk', 'mv_refresh_policy_thresholds_chk')
--rollback                    AND pg_get_constraintdef(con.oid) ~ '\m(status|method)\M' LOOP
--rollback             EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', v_table, k.conname);
--rollback             PERFORM ops.opsmv_record(p_changeset_id, v_table::text, 'alter', 'constraint ' || k.conname || ' lifted: ' || k.def,
--rollback                                      format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID; '
--rollback                                             'DO $u$ BEGIN ALTER TABLE %s VALIDATE CONSTRAINT %I; EXCEPTION WHEN check_violation THEN '
--rollback                                             'RAISE WARNING %L; END $u$',
--rollback                                             v_table, k.conname, k.def, v_table, k.conname,
--rollback                                             'opsmv: constraint ' || k.conname || ' is back NOT VALID: rows written since adoption do not satisfy it'));
--rollback             v_changes := v_changes + 1;
--rollback         END LOOP;
--rollback     END LOOP;
--rollback
--rollback     -- an adopted policy table gets the bundle's thresholds for the MVs it does not list yet
--rollback     IF ops.opsmv_decision('v1.0-mv_refresh_policy') = 'adopted' THEN
--rollback         FOR k IN SELECT * FROM (VALUES
--rollback                 ('mv_yango_payments_raw_current', false, 24, 48, 60),
--rollback                 ('mv_yango_payments_ledger_latest', false, 24, 48, 60),
--rollback                 ('mv_yango_payments_ledger_latest_enriched', false, 24, 48, 60),
--rollback                 ('mv_yango_receivable_payable_detail', false, 24, 48, 60),
--rollback                 ('mv_claims_payment_status_cabinet', false, 24, 48, 60),
--rollback                 ('mv_yango_cabinet_claims_for_collection', true, 24, 48, 60),
--rollback                 ('mv_payments_driver_matrix_cabinet', true, 2, 6, 30)) AS d(mv_name, is_critical, warn_h, crit_h, stuck_min)
--rollback                  WHERE NOT EXISTS (SELECT 1 FROM ops.mv_refresh_policy p WHERE p.schema_name = 'ops' AND p.mv_name = d.mv_name) LOOP
--rollback             INSERT INTO ops.mv_refresh_policy (schema_name, mv_name, is_critical, warn_after_hours, crit_after_hours, stuck_after_minutes)
--rollback             VALUES ('ops', k.mv_name, k.is_critical, k.warn_h, k.crit_h, k.stuck_min);
--rollback             PERFORM ops.opsmv_record(p_changeset_id, 'ops.mv_refresh_policy', 'alter', 'policy row for ' || k.mv_name,
--rollback                                      format('DELETE FROM ops.mv_refresh_policy WHERE schema_name = %L AND mv_name = %L', 'ops', k.mv_name));
--rollback             v_changes := v_changes + 1;
--rollback         END LOOP;
--rollback     END IF;
--rollback
--rollback     v_table := to_regclass('ops.mv_refresh_log');
--rollback     IF v_table IS NOT NULL THEN
--rollback         IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = v_table AND i.indisunique
--rollback                        AND i.indkey::int2[] = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = v_table AND attname = 'refresh_id')]::int2[]) THEN
--rollback             CREATE UNIQUE INDEX ux_mv_refresh_log_refresh_id ON ops.mv_refresh_log (refresh_id);
--rollback             PERFORM ops.opsmv_record(p_changeset_id, 'ops.ux_mv_refresh_log_refresh_id', 'index', 'refresh_id identifies a log row',
--rollback                                      'DROP INDEX IF EXISTS ops.ux_mv_refresh_log_refresh_id');
--rollback             v_changes := v_changes + 1;
--rollback         END IF;
--rollback         IF to_regclass('ops.idx_mv_refresh_log_mv_started') IS NULL THEN
--rollback             CREATE INDEX idx_mv_refresh_log_mv_started ON ops.mv_refresh_log (schema_name, mv_name, refresh_started_at DESC);
--rollback             PERFORM ops.opsmv_record(p_changeset_id, 'ops.idx_mv_refresh_log_mv_started', 'index', 'the health views read the latest rows per MV',
--rollback                                      'DROP INDEX IF EXISTS ops.idx_mv_refresh_log_mv_started');
--rollback             v_changes := v_changes + 1;
--rollback         END IF;
--rollback         IF to_regclass('ops.idx_mv_refresh_log_running') IS NULL THEN
--rollback             CREATE INDEX idx_mv_refresh_log_running ON ops.mv_refresh_log (schema_name, mv_name) WHERE status = 'RUNNING';
--rollback             PERFORM ops.opsmv_record(p_changeset_id, 'ops.idx_mv_refresh_log_running', 'index', 'stuck and abandoned runs are looked up by it',
--rollback                                      'DROP INDEX IF EXISTS ops.idx_mv_refresh_log_running');
--rollback             v_changes := v_changes + 1;
--rollback         END IF;
--rollback         IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = v_table AND tgname = 'opsmv_refreshed_at') THEN
--rollback             CREATE TRIGGER opsmv_refreshed_at BEFORE INSERT OR UPDATE ON ops.mv_refresh_log
--rollback                 FOR EACH ROW EXECUTE FUNCTION ops.opsmv_refresh_log_refreshed_at();
--rollback             PERFORM ops.opsmv_record(p_changeset_id, 'ops.mv_refresh_log', 'alter', 'refreshed_at written by every OK refresh (trigger opsmv_refreshed_at)',
--rollback                                      'DROP TRIGGER IF EXISTS opsmv_refreshed_at ON ops.mv_refresh_log');
--rollback             v_changes := v_changes + 1;
--rollback         END IF;
--rollback     END IF;
--rollback     RETURN v_changes;
--rollback END
--rollback $fn$;
--rollback DROP FUNCTION IF EXISTS ops.opsmv_index_conflicts(text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_index_conflict_detail(text, text, text, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_definition_difference(text, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_table_plan(regclass, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_log_steps(regclass);
--rollback -- kept while a recorded undo still calls it (a conform that ran after this changeset, not rolled back yet)
--rollback DO $rb$ BEGIN IF to_regclass('ops.opsmv_adoption') IS NULL OR NOT EXISTS (SELECT 1 FROM ops.opsmv_adoption WHERE undo_sql LIKE '%opsmv_retype_columns%') THEN DROP FUNCTION IF EXISTS ops.opsmv_retype_columns(regclass, text, name[]); DROP FUNCTION IF EXISTS ops.opsmv_retype_obstacles(regclass, name[]); DROP FUNCTION IF EXISTS ops.opsmv_column_dependents(regclass, name[]); END IF; END $rb$;
