--liquibase formatted sql

--changeset opsmv:v1.5-plan-adoption-machinery splitStatements:false rollbackSplitStatements:false
--comment: The adoption plan, next version (release v1.5): an object at a later release of the bundle is adopted as the version it holds (an MV whose query two releases share is told apart by its indexes), and every difference is named with what to run. Run before the gate like the catalogue; the runner installs it to read the plan.
SET LOCAL lock_timeout = '${lock_timeout}';

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
