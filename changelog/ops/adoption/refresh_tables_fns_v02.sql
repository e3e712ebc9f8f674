--liquibase formatted sql

--changeset opsmv:v1.5-refresh-tables-adoption-machinery splitStatements:false rollbackSplitStatements:false
--comment: The refresh tables' conform, next version (release v1.5): an adopted log's columns of other types (varchar(n) widened in place, timestamp converted in the zone the DBA states), lower-case statuses upper-cased, the views that read retyped columns rebuilt around the change, what stops it named in the plan with what to run; the unique index on refresh_id looked up by name (v01's lookup never matched, so a second conform of the same log failed on the name). Run before the gate like the catalogue; the runner installs it to read the plan.
SET LOCAL lock_timeout = '${lock_timeout}';

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
--rollback DROP FUNCTION IF EXISTS ops.opsmv_table_plan(regclass, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_log_steps(regclass);
--rollback DO $rb$ BEGIN IF to_regclass('ops.opsmv_adoption') IS NULL OR NOT EXISTS (SELECT 1 FROM ops.opsmv_adoption WHERE undo_sql LIKE '%opsmv_retype_columns%') THEN DROP FUNCTION IF EXISTS ops.opsmv_retype_columns(regclass, text, name[]); DROP FUNCTION IF EXISTS ops.opsmv_retype_obstacles(regclass, name[]); DROP FUNCTION IF EXISTS ops.opsmv_column_dependents(regclass, name[]); END IF; END $rb$;

