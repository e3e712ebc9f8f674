--liquibase formatted sql

--changeset opsmv:v1.5-compare-adoption-machinery splitStatements:false rollbackSplitStatements:false
--comment: The adoption comparisons' helpers (release v1.5): whether a version of an MV fits the indexes a database holds, what differs between two relations (the columns one lacks or has of another type, or else the query), which index takes a bundle index's name and what to run. Run before the gate like the catalogue; the runner installs it to read the plan.
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
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DROP FUNCTION IF EXISTS ops.opsmv_index_conflicts(text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_index_conflict_detail(text, text, text, text);
--rollback DROP FUNCTION IF EXISTS ops.opsmv_definition_difference(text, text);
