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
            ELSIF v_missing IS NULL THEN
                action := 'adopt';
                detail := format('identical columns; keeps its %s row(s)', v_rows);
            ELSE
                action := 'alter';
                detail := format('keeps its %s row(s); adds %s', v_rows, v_missing);
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
            detail := 'another definition';
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
                                       ELSE 'the bundle''s name is taken by another index' END;
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
                               WHEN 'conflict' THEN 'the bundle''s name is taken by another index'
                               WHEN 'invalid' THEN 'INVALID leftover of a failed build: dropped and built again'
                               ELSE NULL END;
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
