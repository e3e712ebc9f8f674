--liquibase formatted sql

--changeset opsmv:v1.0-ops-adoption splitStatements:false rollbackSplitStatements:false
--comment: Adopting a database the runbooks' psql scripts built. What v1.0 would create, as data (ops.opsmv_bundle_object, ops.opsmv_bundle_index), the catalog comparisons that decide per object (create / adopt identical / alter in place / differs / conflict), and ops.opsmv_adoption: every change adoption makes, with the SQL that undoes it on rollback. Idempotent on purpose: the runner also runs it in a transaction it rolls back, to show the plan before anything changes.
SET LOCAL lock_timeout = '${lock_timeout}';

CREATE TABLE IF NOT EXISTS ops.opsmv_bundle_object (
    seq           bigint  NOT NULL,
    changeset_id  text    NOT NULL,
    object_kind   text    NOT NULL,
    object_schema text    NOT NULL,
    object_name   text    NOT NULL,
    definition    text,
    PRIMARY KEY (changeset_id, object_schema, object_name)
);
COMMENT ON TABLE ops.opsmv_bundle_object IS 'opsmv: the relations release v1.0 creates, with their definitions, compared with what a database already holds';

CREATE TABLE IF NOT EXISTS ops.opsmv_bundle_index (
    seq          bigint  NOT NULL,
    changeset_id text    NOT NULL,
    index_schema text    NOT NULL,
    index_name   text    NOT NULL,
    table_schema text    NOT NULL,
    table_name   text    NOT NULL,
    is_unique    boolean NOT NULL,
    key_sql      text    NOT NULL,
    PRIMARY KEY (changeset_id, index_schema, index_name)
);
COMMENT ON TABLE ops.opsmv_bundle_index IS 'opsmv: the indexes release v1.0 creates, compared with what a database already holds';

CREATE TABLE IF NOT EXISTS ops.opsmv_adoption (
    adoption_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changeset_id text        NOT NULL,
    object       text        NOT NULL,
    action       text        NOT NULL,
    detail       text,
    undo_sql     text,
    done_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    done_by      text        NOT NULL DEFAULT current_user
);
COMMENT ON TABLE ops.opsmv_adoption IS 'opsmv: what adoption found and changed per changeset; rollback of that changeset runs undo_sql (newest first) and keeps adopted objects';

INSERT INTO ops.opsmv_bundle_object (seq, changeset_id, object_kind, object_schema, object_name, definition) VALUES
    (30, 'v1.0-mv_refresh_log', 'table', 'ops', 'mv_refresh_log', NULL),
    (40, 'v1.0-mv_refresh_policy', 'table', 'ops', 'mv_refresh_policy', NULL),
    (120, 'v1.0-mv_yango_payments_raw_current', 'matview', 'ops', 'mv_yango_payments_raw_current', $def$
SELECT DISTINCT ON (r.payment_key)
       r.payment_key,
       r.driver_id,
       r.milestone_value,
       r.amount,
       r.paid_date,
       r.status,
       r.snapshot_at
FROM ${source_schema}.yango_payments_raw r
WHERE r.payment_key IS NOT NULL
ORDER BY r.payment_key, r.snapshot_at DESC, (r.status = 'reversed') DESC, r.amount DESC
$def$),
    (130, 'v1.0-mv_yango_payments_ledger_latest', 'matview', 'ops', 'mv_yango_payments_ledger_latest', $def$
SELECT c.driver_id,
       c.milestone_value,
       sum(c.amount)::numeric(14,2) AS paid_amount,
       max(c.paid_date)             AS last_paid_date,
       count(*)::integer            AS payment_count
FROM ops.mv_yango_payments_raw_current c
WHERE c.status = 'paid'
  AND c.driver_id IS NOT NULL
  AND c.milestone_value IS NOT NULL
GROUP BY c.driver_id, c.milestone_value
$def$),
    (140, 'v1.0-mv_yango_payments_ledger_latest_enriched', 'matview', 'ops', 'mv_yango_payments_ledger_latest_enriched', $def$
SELECT l.driver_id,
       l.milestone_value,
       l.paid_amount,
       l.last_paid_date,
       l.payment_count,
       d.origin_tag,
       d.week_start,
       d.lead_date,
       d.park_id
FROM ops.mv_yango_payments_ledger_latest l
LEFT JOIN ${source_schema}.drivers d ON d.driver_id = l.driver_id
$def$),
    (150, 'v1.0-mv_yango_receivable_payable_detail', 'matview', 'ops', 'mv_yango_receivable_payable_detail', $def$
SELECT coalesce(pc.driver_id, l.driver_id)             AS driver_id,
       coalesce(pc.milestone_value, l.milestone_value) AS milestone_value,
       coalesce(pc.origin_tag, l.origin_tag)           AS origin_tag,
       coalesce(pc.week_start, l.week_start)           AS week_start,
       pc.rule_code,
       coalesce(pc.expected_amount, 0)::numeric(14,2)  AS expected_amount,
       coalesce(l.paid_amount, 0)::numeric(14,2)       AS paid_amount,
       greatest(coalesce(pc.expected_amount, 0) - coalesce(l.paid_amount, 0), 0)::numeric(14,2) AS receivable_amount,
       greatest(coalesce(l.paid_amount, 0) - coalesce(pc.expected_amount, 0), 0)::numeric(14,2) AS payable_amount,
       (coalesce(pc.expected_amount, 0) - coalesce(l.paid_amount, 0))::numeric(14,2)            AS balance_amount,
       l.last_paid_date
FROM ${source_schema}.payment_calc pc
FULL JOIN ops.mv_yango_payments_ledger_latest_enriched l
       ON l.driver_id = pc.driver_id AND l.milestone_value = pc.milestone_value
WHERE coalesce(pc.driver_id, l.driver_id) IS NOT NULL
  AND coalesce(pc.milestone_value, l.milestone_value) IS NOT NULL
$def$),
    (160, 'v1.0-mv_claims_payment_status_cabinet', 'matview', 'ops', 'mv_claims_payment_status_cabinet', $def$
SELECT c.claim_id,
       c.driver_id,
       c.milestone_value,
       c.amount::numeric(14,2)                 AS claim_amount,
       c.status                                AS claim_status,
       c.created_at                            AS claim_created_at,
       coalesce(l.paid_amount, 0)::numeric(14,2) AS paid_amount,
       l.last_paid_date,
       CASE
           WHEN coalesce(l.paid_amount, 0) >= c.amount AND c.amount > 0 THEN 'PAID'
           WHEN coalesce(l.paid_amount, 0) > 0 THEN 'PARTIAL'
           WHEN EXISTS (SELECT 1
                        FROM ops.mv_yango_payments_raw_current r
                        WHERE r.driver_id = c.driver_id
                          AND r.milestone_value = c.milestone_value
                          AND r.status = 'reversed') THEN 'REVERSED'
           ELSE 'UNPAID'
       END                                     AS payment_status
FROM ${source_schema}.claims_cabinet c
LEFT JOIN ops.mv_yango_payments_ledger_latest l
       ON l.driver_id = c.driver_id AND l.milestone_value = c.milestone_value
WHERE c.claim_id IS NOT NULL
$def$),
    (170, 'v1.0-mv_yango_cabinet_claims_for_collection', 'matview', 'ops', 'mv_yango_cabinet_claims_for_collection', $def$
SELECT s.driver_id,
       s.milestone_value,
       s.claim_id,
       s.claim_status,
       s.claim_created_at,
       s.payment_status,
       s.claim_amount,
       s.paid_amount,
       (s.claim_amount - s.paid_amount)::numeric(14,2)          AS amount_due,
       (current_date - s.claim_created_at::date)                AS aging_days,
       CASE
           WHEN current_date - s.claim_created_at::date <= 30 THEN '0-30'
           WHEN current_date - s.claim_created_at::date <= 60 THEN '31-60'
           WHEN current_date - s.claim_created_at::date <= 90 THEN '61-90'
           ELSE '90+'
       END                                                      AS aging_bucket,
       d.origin_tag,
       d.week_start,
       d.park_id
FROM ops.mv_claims_payment_status_cabinet s
LEFT JOIN ${source_schema}.drivers d ON d.driver_id = s.driver_id
WHERE s.payment_status IN ('UNPAID', 'PARTIAL', 'REVERSED')
  AND s.driver_id IS NOT NULL
  AND s.milestone_value IS NOT NULL
$def$),
    (190, 'v1.0-v_payments_driver_matrix_cabinet', 'view', 'ops', 'v_payments_driver_matrix_cabinet', $def$
WITH achieved AS (
    SELECT m.driver_id,
           min(m.achieved_at) FILTER (WHERE m.milestone_value = 1)  AS m1_achieved_at,
           min(m.achieved_at) FILTER (WHERE m.milestone_value = 5)  AS m5_achieved_at,
           min(m.achieved_at) FILTER (WHERE m.milestone_value = 25) AS m25_achieved_at
    FROM ${source_schema}.milestones_achieved m
    GROUP BY m.driver_id
), expected AS (
    SELECT pc.driver_id,
           sum(pc.expected_amount) FILTER (WHERE pc.milestone_value = 1)  AS m1_expected,
           sum(pc.expected_amount) FILTER (WHERE pc.milestone_value = 5)  AS m5_expected,
           sum(pc.expected_amount) FILTER (WHERE pc.milestone_value = 25) AS m25_expected,
           sum(pc.expected_amount)                                        AS expected_total
    FROM ${source_schema}.payment_calc pc
    GROUP BY pc.driver_id
), paid AS (
    SELECT l.driver_id,
           sum(l.paid_amount) FILTER (WHERE l.milestone_value = 1)  AS m1_paid,
           sum(l.paid_amount) FILTER (WHERE l.milestone_value = 5)  AS m5_paid,
           sum(l.paid_amount) FILTER (WHERE l.milestone_value = 25) AS m25_paid,
           sum(l.paid_amount)                                       AS paid_total
    FROM ops.mv_yango_payments_ledger_latest l
    GROUP BY l.driver_id
), claimed AS (
    -- The latest claim per milestone decides its status; more than one is a data problem
    -- reported by check-duplicates, not hidden here.
    SELECT c.driver_id,
           (array_agg(c.status ORDER BY c.created_at DESC, c.claim_id DESC) FILTER (WHERE c.milestone_value = 1))[1]  AS m1_claim_status,
           (array_agg(c.status ORDER BY c.created_at DESC, c.claim_id DESC) FILTER (WHERE c.milestone_value = 5))[1]  AS m5_claim_status,
           (array_agg(c.status ORDER BY c.created_at DESC, c.claim_id DESC) FILTER (WHERE c.milestone_value = 25))[1] AS m25_claim_status,
           count(*)                                                                                                   AS claims_count
    FROM ${source_schema}.claims_cabinet c
    GROUP BY c.driver_id
)
SELECT d.driver_id,
       d.origin_tag,
       d.week_start,
       d.lead_date,
       d.park_id,
       (a.m1_achieved_at IS NOT NULL)                    AS m1_achieved,
       a.m1_achieved_at,
       coalesce(e.m1_expected, 0)::numeric(14,2)         AS m1_expected,
       coalesce(p.m1_paid, 0)::numeric(14,2)             AS m1_paid,
       coalesce(c.m1_claim_status, 'not_claimed')        AS m1_claim_status,
       (a.m5_achieved_at IS NOT NULL)                    AS m5_achieved,
       a.m5_achieved_at,
       coalesce(e.m5_expected, 0)::numeric(14,2)         AS m5_expected,
       coalesce(p.m5_paid, 0)::numeric(14,2)             AS m5_paid,
       coalesce(c.m5_claim_status, 'not_claimed')        AS m5_claim_status,
       (a.m25_achieved_at IS NOT NULL)                   AS m25_achieved,
       a.m25_achieved_at,
       coalesce(e.m25_expected, 0)::numeric(14,2)        AS m25_expected,
       coalesce(p.m25_paid, 0)::numeric(14,2)            AS m25_paid,
       coalesce(c.m25_claim_status, 'not_claimed')       AS m25_claim_status,
       coalesce(e.expected_total, 0)::numeric(14,2)      AS expected_total,
       coalesce(p.paid_total, 0)::numeric(14,2)          AS paid_total,
       (coalesce(e.expected_total, 0) - coalesce(p.paid_total, 0))::numeric(14,2) AS balance_total,
       coalesce(c.claims_count, 0)::integer              AS claims_count
FROM ${source_schema}.drivers d
LEFT JOIN achieved a ON a.driver_id = d.driver_id
LEFT JOIN expected e ON e.driver_id = d.driver_id
LEFT JOIN paid     p ON p.driver_id = d.driver_id
LEFT JOIN claimed  c ON c.driver_id = d.driver_id
WHERE d.driver_id IS NOT NULL
$def$),
    (200, 'v1.0-mv_payments_driver_matrix_cabinet', 'matview', 'ops', 'mv_payments_driver_matrix_cabinet', $def$
SELECT * FROM ops.v_payments_driver_matrix_cabinet
$def$),
    (210, 'v1.0-v_mv_health', 'view', 'ops', 'v_mv_health', $def$
SELECT p.schema_name,
       p.mv_name,
       p.is_critical,
       p.warn_after_hours,
       p.crit_after_hours,
       (mv.matviewname IS NOT NULL)                    AS mv_exists,
       coalesce(mv.ispopulated, false)                 AS is_populated,
       ok.refresh_finished_at                          AS last_ok_refresh_finished_at,
       round((extract(epoch FROM (now() - ok.refresh_finished_at)) / 3600.0)::numeric, 2) AS hours_since_ok_refresh,
       CASE
           WHEN ok.refresh_finished_at IS NULL THEN 'NO_REFRESH'
           WHEN now() - ok.refresh_finished_at > make_interval(secs => p.crit_after_hours * 3600) THEN 'CRIT'
           WHEN now() - ok.refresh_finished_at >= make_interval(secs => p.warn_after_hours * 3600) THEN 'WARN'
           ELSE 'OK'
       END                                             AS status_bucket,
       last.status                                     AS last_status,
       last.refresh_started_at                         AS last_refresh_started_at,
       CASE WHEN last.status <> 'OK' THEN last.error_message END AS last_error,
       ok.rows_after_refresh                           AS rows_after_refresh,
       ok.duration_ms                                  AS last_ok_duration_ms
FROM ops.mv_refresh_policy p
LEFT JOIN pg_catalog.pg_matviews mv
       ON mv.schemaname = p.schema_name AND mv.matviewname = p.mv_name
LEFT JOIN LATERAL (
    SELECT l.refresh_finished_at, l.rows_after_refresh, l.duration_ms
    FROM ops.mv_refresh_log l
    WHERE l.schema_name = p.schema_name AND l.mv_name = p.mv_name AND l.status = 'OK'
    ORDER BY l.refresh_finished_at DESC
    LIMIT 1
) ok ON true
LEFT JOIN LATERAL (
    SELECT l.status, l.error_message, l.refresh_started_at
    FROM ops.mv_refresh_log l
    WHERE l.schema_name = p.schema_name AND l.mv_name = p.mv_name
    ORDER BY l.refresh_started_at DESC, l.refresh_id DESC
    LIMIT 1
) last ON true
$def$),
    (220, 'v1.0-v_yango_cabinet_claims_mv_health', 'view', 'ops', 'v_yango_cabinet_claims_mv_health', $def$
SELECT h.last_ok_refresh_finished_at,
       h.hours_since_ok_refresh,
       h.status_bucket,
       h.last_status,
       h.last_error,
       h.rows_after_refresh
FROM ops.v_mv_health h
WHERE h.schema_name = 'ops' AND h.mv_name = 'mv_yango_cabinet_claims_for_collection'
$def$)
ON CONFLICT (changeset_id, object_schema, object_name) DO UPDATE SET seq = EXCLUDED.seq, object_kind = EXCLUDED.object_kind, definition = EXCLUDED.definition;

INSERT INTO ops.opsmv_bundle_index (seq, changeset_id, index_schema, index_name, table_schema, table_name, is_unique, key_sql) VALUES
    (61, 'v1.0-idx_yango_payments_raw_key_snapshot', '${source_schema}', 'idx_yango_payments_raw_key_snapshot', '${source_schema}', 'yango_payments_raw', false, '(payment_key, snapshot_at DESC)'),
    (71, 'v1.0-idx_yango_payments_raw_driver_milestone', '${source_schema}', 'idx_yango_payments_raw_driver_milestone', '${source_schema}', 'yango_payments_raw', false, '(driver_id, milestone_value)'),
    (81, 'v1.0-idx_claims_cabinet_driver_milestone', '${source_schema}', 'idx_claims_cabinet_driver_milestone', '${source_schema}', 'claims_cabinet', false, '(driver_id, milestone_value)'),
    (91, 'v1.0-idx_payment_calc_driver_milestone', '${source_schema}', 'idx_payment_calc_driver_milestone', '${source_schema}', 'payment_calc', false, '(driver_id, milestone_value)'),
    (101, 'v1.0-idx_milestones_achieved_driver_milestone', '${source_schema}', 'idx_milestones_achieved_driver_milestone', '${source_schema}', 'milestones_achieved', false, '(driver_id, milestone_value)'),
    (111, 'v1.0-idx_drivers_origin_week', '${source_schema}', 'idx_drivers_origin_week', '${source_schema}', 'drivers', false, '(origin_tag, week_start)'),
    (121, 'v1.0-mv_yango_payments_raw_current', 'ops', 'ux_mv_yango_payments_raw_current_grain', 'ops', 'mv_yango_payments_raw_current', true, '(payment_key)'),
    (122, 'v1.0-mv_yango_payments_raw_current', 'ops', 'idx_mv_yango_payments_raw_current_driver_milestone', 'ops', 'mv_yango_payments_raw_current', false, '(driver_id, milestone_value)'),
    (131, 'v1.0-mv_yango_payments_ledger_latest', 'ops', 'ux_mv_yango_payments_ledger_latest_grain', 'ops', 'mv_yango_payments_ledger_latest', true, '(driver_id, milestone_value)'),
    (141, 'v1.0-mv_yango_payments_ledger_latest_enriched', 'ops', 'ux_mv_yango_payments_ledger_latest_enriched_grain', 'ops', 'mv_yango_payments_ledger_latest_enriched', true, '(driver_id, milestone_value)'),
    (142, 'v1.0-mv_yango_payments_ledger_latest_enriched', 'ops', 'idx_mv_yango_payments_ledger_latest_enriched_origin_week', 'ops', 'mv_yango_payments_ledger_latest_enriched', false, '(origin_tag, week_start)'),
    (151, 'v1.0-mv_yango_receivable_payable_detail', 'ops', 'ux_mv_yango_receivable_payable_detail_grain', 'ops', 'mv_yango_receivable_payable_detail', true, '(driver_id, milestone_value)'),
    (152, 'v1.0-mv_yango_receivable_payable_detail', 'ops', 'idx_mv_yango_receivable_payable_detail_origin_week', 'ops', 'mv_yango_receivable_payable_detail', false, '(origin_tag, week_start)'),
    (161, 'v1.0-mv_claims_payment_status_cabinet', 'ops', 'ux_mv_claims_payment_status_cabinet_grain', 'ops', 'mv_claims_payment_status_cabinet', true, '(claim_id)'),
    (162, 'v1.0-mv_claims_payment_status_cabinet', 'ops', 'idx_mv_claims_payment_status_cabinet_driver_milestone', 'ops', 'mv_claims_payment_status_cabinet', false, '(driver_id, milestone_value)'),
    (171, 'v1.0-mv_yango_cabinet_claims_for_collection', 'ops', 'idx_mv_yango_cabinet_claims_for_collection_aging', 'ops', 'mv_yango_cabinet_claims_for_collection', false, '(aging_bucket, origin_tag)'),
    (181, 'v1.0-ux_mv_yango_cabinet_claims_for_collection_grain', 'ops', 'ux_mv_yango_cabinet_claims_for_collection_grain', 'ops', 'mv_yango_cabinet_claims_for_collection', true, '(driver_id, milestone_value)'),
    (201, 'v1.0-mv_payments_driver_matrix_cabinet', 'ops', 'ux_mv_payments_driver_matrix_cabinet_grain', 'ops', 'mv_payments_driver_matrix_cabinet', true, '(driver_id)'),
    (202, 'v1.0-mv_payments_driver_matrix_cabinet', 'ops', 'idx_mv_payments_driver_matrix_cabinet_origin_week', 'ops', 'mv_payments_driver_matrix_cabinet', false, '(origin_tag, week_start, driver_id)')
ON CONFLICT (changeset_id, index_schema, index_name) DO UPDATE SET seq = EXCLUDED.seq, table_schema = EXCLUDED.table_schema, table_name = EXCLUDED.table_name, is_unique = EXCLUDED.is_unique, key_sql = EXCLUDED.key_sql;


-- Has the bundle changeset run here? p_history is Liquibase's DATABASECHANGELOG ("schema.table", as
-- the changeset passes it from Liquibase's own parameters); unknown or missing: nothing has run.
CREATE OR REPLACE FUNCTION ops.opsmv_applied(p_history text, p_changeset_id text)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $fn$
#variable_conflict use_column
DECLARE
    v_table regclass;
    v_found boolean;
BEGIN
    v_table := to_regclass(ltrim(coalesce(p_history, ''), '.'));
    IF v_table IS NULL THEN
        v_table := to_regclass('databasechangelog');
    END IF;
    IF v_table IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE id = $1 AND author = %L)', v_table, 'opsmv')
        INTO v_found USING p_changeset_id;
    RETURN v_found;
END
$fn$;

-- Are bundle changesets other than the ones this machinery sits beside applied? (Its own rollback keeps it then.)
CREATE OR REPLACE FUNCTION ops.opsmv_applied_others(p_history text)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $fn$
#variable_conflict use_column
DECLARE
    v_table regclass;
    v_found boolean;
BEGIN
    v_table := coalesce(to_regclass(ltrim(coalesce(p_history, ''), '.')), to_regclass('databasechangelog'));
    IF v_table IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE author = %L AND id NOT IN (%L, %L, %L, %L))', v_table, 'opsmv',
                   'v1.0-baseline', 'v1.0-ops-schema', 'v1.0-ops-index-guards', 'v1.0-ops-adoption')
        INTO v_found;
    RETURN v_found;
END
$fn$;

-- A precondition that must stop with its own words: Liquibase 4.x drops onFailMessage, but a precondition
-- error carries the database's message to the user under every version.
CREATE OR REPLACE FUNCTION ops.opsmv_require(p_ok boolean, p_message text)
RETURNS text
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF p_ok THEN
        RETURN 'ok';
    END IF;
    RAISE EXCEPTION USING MESSAGE = p_message;
END
$fn$;

-- A relation as the comparison sees it: its columns with their types, then its query as PostgreSQL
-- itself writes it back (pg_get_viewdef), so spacing, casing and comments of the source never count.
CREATE OR REPLACE FUNCTION ops.opsmv_relation_text(p_relation oid)
RETURNS text
LANGUAGE sql STABLE
AS $fn$
    SELECT 'columns:' || E'\n'
           || coalesce((SELECT string_agg('  ' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), E'\n' ORDER BY a.attnum)
                        FROM pg_attribute a
                        WHERE a.attrelid = p_relation AND a.attnum > 0 AND NOT a.attisdropped), '')
           || CASE WHEN c.relkind IN ('v', 'm') THEN E'\nquery:\n' || pg_get_viewdef(p_relation, true) ELSE '' END
    FROM pg_class c
    WHERE c.oid = p_relation
$fn$;

-- absent | identical | differs | wrong_kind | exists (tables: their shape is conformed, not compared).
-- The bundle's definition is compared as PostgreSQL parses it: a temporary view is built from it in
-- this session and both are written back by pg_get_viewdef.
CREATE OR REPLACE FUNCTION ops.opsmv_compare_relation(p_schema text, p_name text, p_kind text, p_definition text,
                                                      OUT state text, OUT live_definition text, OUT bundle_definition text)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    v_oid  oid;
    v_kind "char";
BEGIN
    SELECT c.oid, c.relkind INTO v_oid, v_kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = p_schema AND c.relname = p_name;
    IF v_oid IS NULL THEN
        state := 'absent';
        RETURN;
    END IF;
    live_definition := ops.opsmv_relation_text(v_oid);
    IF (p_kind = 'matview' AND v_kind <> 'm') OR (p_kind = 'view' AND v_kind <> 'v')
       OR (p_kind = 'table' AND v_kind NOT IN ('r', 'p')) THEN
        state := 'wrong_kind';
        bundle_definition := 'a ' || p_kind;
        RETURN;
    END IF;
    IF p_kind = 'table' THEN
        state := 'exists';
        RETURN;
    END IF;
    BEGIN
        DROP VIEW IF EXISTS pg_temp.opsmv_probe;
        EXECUTE 'CREATE TEMP VIEW opsmv_probe AS ' || p_definition;
        bundle_definition := ops.opsmv_relation_text('pg_temp.opsmv_probe'::regclass);
        DROP VIEW pg_temp.opsmv_probe;
    EXCEPTION WHEN OTHERS THEN
        state := 'differs';
        bundle_definition := 'the bundle''s definition cannot be built on this database: ' || SQLERRM;
        RETURN;
    END;
    state := CASE WHEN live_definition = bundle_definition THEN 'identical' ELSE 'differs' END;
END
$fn$;

-- An index without its name and table: uniqueness, method, keys, predicate, as pg_get_indexdef writes them.
CREATE OR REPLACE FUNCTION ops.opsmv_index_shape(p_index oid)
RETURNS text
LANGUAGE sql STABLE
AS $fn$
    SELECT regexp_replace(pg_get_indexdef(p_index), '^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ ', 'CREATE \1INDEX ON _ ')
$fn$;

-- absent | identical (same name, same shape) | alias (another valid index of the same shape) |
-- conflict (the bundle's name, another shape or another table) | invalid (a failed build: rebuilt) | no_table.
CREATE OR REPLACE FUNCTION ops.opsmv_compare_index(p_index_schema text, p_index_name text, p_table_schema text, p_table_name text,
                                                   p_unique boolean, p_key text,
                                                   OUT state text, OUT live_index text, OUT live_definition text, OUT bundle_definition text)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    v_table oid;
    v_shape text;
    v_named record;
BEGIN
    v_table := to_regclass(format('%I.%I', p_table_schema, p_table_name));
    bundle_definition := format('CREATE %sINDEX %I ON %I.%I USING btree %s',
                                CASE WHEN p_unique THEN 'UNIQUE ' ELSE '' END, p_index_name, p_table_schema, p_table_name, p_key);
    IF v_table IS NULL THEN
        state := 'no_table';
        RETURN;
    END IF;
    -- PostgreSQL's own spelling of the bundle's index: built on an empty copy of the table's columns.
    DROP TABLE IF EXISTS pg_temp.opsmv_probe_table;
    EXECUTE format('CREATE TEMP TABLE opsmv_probe_table AS SELECT * FROM %s WITH NO DATA', v_table::regclass);
    EXECUTE format('CREATE %sINDEX opsmv_probe_index ON pg_temp.opsmv_probe_table %s', CASE WHEN p_unique THEN 'UNIQUE ' ELSE '' END, p_key);
    v_shape := ops.opsmv_index_shape('pg_temp.opsmv_probe_index'::regclass);
    DROP TABLE pg_temp.opsmv_probe_table;

    SELECT i.indexrelid, i.indrelid, i.indisvalid INTO v_named
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = ic.relnamespace
    WHERE n.nspname = p_index_schema AND ic.relname = p_index_name;
    IF FOUND THEN
        live_index := format('%I.%I', p_index_schema, p_index_name);
        live_definition := pg_get_indexdef(v_named.indexrelid);
        state := CASE
                     WHEN NOT v_named.indisvalid THEN 'invalid'
                     WHEN v_named.indrelid = v_table AND ops.opsmv_index_shape(v_named.indexrelid) = v_shape THEN 'identical'
                     ELSE 'conflict'
                 END;
        RETURN;
    END IF;

    SELECT format('%I.%I', n.nspname, ic.relname), pg_get_indexdef(i.indexrelid) INTO live_index, live_definition
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = ic.relnamespace
    WHERE i.indrelid = v_table AND i.indisvalid AND ops.opsmv_index_shape(i.indexrelid) = v_shape
    ORDER BY ic.relname
    LIMIT 1;
    state := CASE WHEN live_index IS NULL THEN 'absent' ELSE 'alias' END;
END
$fn$;

-- The columns the bundle's refresh tables need, and the defaults that let every writer (runner,
-- pg_cron procedure, psql) insert a row naming only what it knows.
CREATE OR REPLACE FUNCTION ops.opsmv_bundle_columns(p_table text)
RETURNS TABLE (column_name text, column_type text, column_default text)
LANGUAGE sql IMMUTABLE
AS $fn$
    SELECT c.column_name, c.column_type, c.column_default
    FROM (VALUES
        ('mv_refresh_log', 1, 'refresh_id', 'bigint GENERATED BY DEFAULT AS IDENTITY', NULL),
        ('mv_refresh_log', 2, 'run_id', 'uuid', NULL),
        ('mv_refresh_log', 3, 'schema_name', 'text', NULL),
        ('mv_refresh_log', 4, 'mv_name', 'text', NULL),
        ('mv_refresh_log', 5, 'refresh_started_at', 'timestamptz', 'clock_timestamp()'),
        ('mv_refresh_log', 6, 'refresh_finished_at', 'timestamptz', NULL),
        ('mv_refresh_log', 7, 'duration_ms', 'bigint', NULL),
        ('mv_refresh_log', 8, 'status', 'text', NULL),
        ('mv_refresh_log', 9, 'method', 'text', NULL),
        ('mv_refresh_log', 10, 'fallback_reason', 'text', NULL),
        ('mv_refresh_log', 11, 'rows_after_refresh', 'bigint', NULL),
        ('mv_refresh_log', 12, 'error_message', 'text', NULL),
        ('mv_refresh_log', 13, 'refreshed_by', 'text', 'CURRENT_USER'),
        ('mv_refresh_log', 14, 'backend_pid', 'integer', 'pg_backend_pid()'),
        ('mv_refresh_log', 15, 'client_host', 'text', NULL),
        ('mv_refresh_log', 16, 'application_name', 'text', 'current_setting(''application_name''::text)'),
        ('mv_refresh_log', 17, 'refreshed_at', 'timestamptz', NULL),
        ('mv_refresh_policy', 1, 'schema_name', 'text', '''ops''::text'),
        ('mv_refresh_policy', 2, 'mv_name', 'text', NULL),
        ('mv_refresh_policy', 3, 'is_critical', 'boolean', 'false'),
        ('mv_refresh_policy', 4, 'warn_after_hours', 'numeric', '24'),
        ('mv_refresh_policy', 5, 'crit_after_hours', 'numeric', '48'),
        ('mv_refresh_policy', 6, 'stuck_after_minutes', 'integer', '60'),
        ('mv_refresh_policy', 7, 'refresh_enabled', 'boolean', 'true'),
        ('mv_refresh_policy', 8, 'notes', 'text', NULL)
    ) AS c(table_name, position, column_name, column_type, column_default)
    WHERE c.table_name = p_table
    ORDER BY c.position
$fn$;

-- What adopting this database means, per bundle object whose changeset has not run here, in changelog
-- order: create | adopt (identical, or the same index under another name) | alter (a refresh table
-- conformed in place, rows kept) | replace (a derived health view set aside and built anew) |
-- rebuild (an INVALID leftover) | differs | conflict. Read-only but for temporary probes.
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
    FOR o IN SELECT * FROM ops.opsmv_bundle_object b ORDER BY b.seq LOOP
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

CREATE OR REPLACE FUNCTION ops.opsmv_record(p_changeset_id text, p_object text, p_action text, p_detail text, p_undo_sql text)
RETURNS void
LANGUAGE sql
AS $fn$
    INSERT INTO ops.opsmv_adoption (changeset_id, object, action, detail, undo_sql)
    VALUES (p_changeset_id, p_object, p_action, p_detail, p_undo_sql)
$fn$;

-- The adoption gate (changeset v1.0-adoption-gate): stops before anything is adopted when an object
-- differs or an index name is taken; otherwise records what is adopted (the changesets of those
-- objects are then marked ran, not run) and builds the bundle's missing indexes on adopted MVs.
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
            NULL; -- an index of an adopted MV: nothing to build, and the MV's own record covers it
        ELSE
            PERFORM ops.opsmv_record(p.changeset_id, p.object, 'adopt', CASE WHEN p.action = 'adopt' THEN p.detail ELSE p.action || ': ' || p.detail END, NULL);
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

-- A bundle changeset's precondition: 'adopted' (the gate recorded the object as adopted: mark the
-- bundle changeset ran without running it) or 'create'.
CREATE OR REPLACE FUNCTION ops.opsmv_decision(p_changeset_id text)
RETURNS text
LANGUAGE sql STABLE
AS $fn$
    SELECT CASE WHEN EXISTS (SELECT 1 FROM ops.opsmv_adoption a WHERE a.changeset_id = p_changeset_id AND a.action = 'adopt')
                THEN 'adopted' ELSE 'create' END
$fn$;

-- The grain index changeset's precondition: duplicates stop it with their list (a precondition error
-- carries this text to every Liquibase version's output); an adopted index marks it ran.
CREATE OR REPLACE FUNCTION ops.opsmv_grain_decision(p_source_schema text)
RETURNS text
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    v_total bigint;
    v_list text;
BEGIN
    IF ops.opsmv_decision('v1.0-ux_mv_yango_cabinet_claims_for_collection_grain') = 'adopted' THEN
        RETURN 'adopted';
    END IF;
    -- on exactly the rows the MV will hold (ops.opsmv_claims_grain_duplicates follows the MV's own filters)
    SELECT max(d.grains), string_agg(format('driver_id=%s milestone_value=%s (%s claims)', d.driver_id, d.milestone_value, d.claims), ', ')
               FILTER (WHERE d.rn <= 20)
      INTO v_total, v_list
    FROM (SELECT g.*, row_number() OVER (ORDER BY g.driver_id, g.milestone_value) AS rn
          FROM ops.opsmv_claims_grain_duplicates() g WHERE NOT g.latent) d;
    IF v_total > 0 THEN
        RAISE EXCEPTION USING MESSAGE = format(
            'Duplicate claims: ops.mv_yango_cabinet_claims_for_collection would hold more than one claim for %s driver_id x milestone_value grain(s) of %s.claims_cabinet (%s%s), so ux_mv_yango_cabinet_claims_for_collection_grain cannot be built. List them with `opsmv check-duplicates` or: SELECT * FROM ops.opsmv_claims_grain_duplicates() WHERE NOT latent; then remove the duplicates and run update again.',
            v_total, p_source_schema, v_list, CASE WHEN v_total > 20 THEN ', ...' ELSE '' END);
    END IF;
    RETURN 'create';
END
$fn$;

-- Keeps ops.mv_refresh_log.refreshed_at (the runbooks' column: `MAX(refreshed_at)`) written by
-- every successful refresh, whoever writes the row.
CREATE OR REPLACE FUNCTION ops.opsmv_refresh_log_refreshed_at()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
BEGIN
    IF NEW.status = 'OK' THEN
        NEW.refreshed_at := coalesce(NEW.refreshed_at, NEW.refresh_finished_at, clock_timestamp());
    END IF;
    RETURN NEW;
END
$fn$;

-- Brings ops.mv_refresh_log and ops.mv_refresh_policy, created by the bundle or adopted in another
-- shape, to what the bundle writes and reads, in place: columns added (never a row touched), the
-- defaults the writers rely on, constraints that would reject the bundle's values lifted, the log's
-- indexes, refreshed_at kept written. Each change is recorded with its undo.
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
        IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = v_table AND i.indisunique
                       AND i.indkey::int2[] = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = v_table AND attname = 'refresh_id')]::int2[]) THEN
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

-- Before a health view changeset builds the bundle's view: a differing one the gate recorded as
-- 'replace' is renamed <name>_pre_opsmv, and rollback renames it back.
CREATE OR REPLACE FUNCTION ops.opsmv_set_aside(p_changeset_id text, p_set_aside_changeset_id text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    r record;
    v_schema text;
    v_name text;
BEGIN
    FOR r IN SELECT a.object FROM ops.opsmv_adoption a WHERE a.changeset_id = p_changeset_id AND a.action = 'replace' LOOP
        SELECT n.nspname, c.relname INTO v_schema, v_name
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(r.object);
        CONTINUE WHEN v_name IS NULL;
        EXECUTE format('ALTER VIEW %I.%I RENAME TO %I', v_schema, v_name, v_name || '_pre_opsmv');
        PERFORM ops.opsmv_record(p_set_aside_changeset_id, r.object, 'set-aside', format('kept as %I.%I', v_schema, v_name || '_pre_opsmv'),
                                 format('DROP VIEW IF EXISTS %I.%I; ALTER VIEW %I.%I RENAME TO %I',
                                        v_schema, v_name, v_schema, v_name || '_pre_opsmv', v_name));
    END LOOP;
END
$fn$;

-- On rollback of a bundle changeset: undoes what adoption changed for it (newest first) and says whether
-- its object was adopted, in which case the object stays as it was before adoption (never dropped).
CREATE OR REPLACE FUNCTION ops.opsmv_release(p_changeset_id text)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    r record;
    v_adopted boolean;
BEGIN
    SELECT EXISTS (SELECT 1 FROM ops.opsmv_adoption a WHERE a.changeset_id = p_changeset_id AND a.action = 'adopt') INTO v_adopted;
    FOR r IN SELECT a.undo_sql FROM ops.opsmv_adoption a
             WHERE a.changeset_id = p_changeset_id AND a.undo_sql IS NOT NULL ORDER BY a.adoption_id DESC LOOP
        EXECUTE r.undo_sql;
    END LOOP;
    DELETE FROM ops.opsmv_adoption a WHERE a.changeset_id = p_changeset_id;
    RETURN v_adopted;
END
$fn$;
-- On rollback of an index changeset whose index was adopted: the index is renamed out of the way of the
-- DROP INDEX CONCURRENTLY (which cannot run inside a function) and renamed back after it.
CREATE OR REPLACE FUNCTION ops.opsmv_keep_adopted_index(p_changeset_id text, p_schema text, p_index text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
BEGIN
    IF ops.opsmv_release(p_changeset_id) AND to_regclass(format('%I.%I', p_schema, p_index)) IS NOT NULL THEN
        EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', p_schema, p_index, left(p_index, 50) || '_opsmv_kept');
    END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION ops.opsmv_restore_adopted_index(p_schema text, p_index text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
BEGIN
    IF to_regclass(format('%I.%I', p_schema, left(p_index, 50) || '_opsmv_kept')) IS NOT NULL THEN
        EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', p_schema, left(p_index, 50) || '_opsmv_kept', p_index);
    END IF;
END
$fn$;
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback DO $rb$
--rollback BEGIN
--rollback     -- Kept while other bundle changesets remain applied (a database that ran this changeset after
--rollback     -- them): their rollbacks call these functions.
--rollback     IF ops.opsmv_applied_others('${database.liquibaseSchemaName}.${database.databaseChangeLogTableName}') THEN
--rollback         RAISE WARNING 'opsmv: the adoption functions stay while other bundle changesets are applied';
--rollback         RETURN;
--rollback     END IF;
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_applied_others(text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_restore_adopted_index(text, text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_keep_adopted_index(text, text, text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_release(text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_set_aside(text, text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_conform_refresh_tables(text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_refresh_log_refreshed_at();
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_grain_decision(text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_decision(text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_adopt_existing(text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_record(text, text, text, text, text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_adoption_plan(text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_bundle_columns(text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_compare_index(text, text, text, text, boolean, text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_index_shape(oid);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_compare_relation(text, text, text, text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_relation_text(oid);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_applied(text, text);
--rollback     DROP FUNCTION IF EXISTS ops.opsmv_require(boolean, text);
--rollback     DROP TABLE IF EXISTS ops.opsmv_adoption;
--rollback     DROP TABLE IF EXISTS ops.opsmv_bundle_index;
--rollback     DROP TABLE IF EXISTS ops.opsmv_bundle_object;
--rollback END $rb$;
