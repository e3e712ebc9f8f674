--liquibase formatted sql

--changeset opsmv:v1.5-gate-adoption-machinery splitStatements:false rollbackSplitStatements:false
--comment: The adoption gate's function, next version (release v1.5): the release changeset that builds a version an adopted object already holds is marked ran (ops.opsmv_decision), an adopted MV's index that stands in for a bundle index is recorded with the undo that drops a bundle-named twin a later release built, and the rest of what the plan decides. Run before the gate like the catalogue.
SET LOCAL lock_timeout = '${lock_timeout}';

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
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
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
