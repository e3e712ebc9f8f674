-- The refresh log as the runbooks' Python scripts created and wrote it (runbook 003: status RUNNING/OK/ERROR,
-- rows_after_refresh, error_message; the troubleshooting query reads refreshed_at): a serial id, no opsmv columns.
CREATE TABLE ops.mv_refresh_log (
    id                  serial PRIMARY KEY,
    schema_name         text        NOT NULL,
    mv_name             text        NOT NULL,
    refresh_started_at  timestamptz NOT NULL DEFAULT now(),
    refresh_finished_at timestamptz,
    refreshed_at        timestamptz,
    status              text        NOT NULL,
    rows_after_refresh  bigint,
    error_message       text,
    CONSTRAINT mv_refresh_log_status_check CHECK (status IN ('RUNNING', 'OK', 'ERROR'))
);

-- Two months of hourly-ish history: 6 refreshes of each of the 7 MVs, one ERROR in every fourth, the
-- last one 3 days ago (so every MV is stale until the first refresh after adoption).
INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, refreshed_at, status, rows_after_refresh, error_message)
SELECT 'ops', m.mv_name,
       now() - interval '3 days' - (g * interval '9 days') - interval '2 minutes',
       now() - interval '3 days' - (g * interval '9 days'),
       CASE WHEN (g + m.n) % 4 = 0 THEN NULL ELSE now() - interval '3 days' - (g * interval '9 days') END,
       CASE WHEN (g + m.n) % 4 = 0 THEN 'ERROR' ELSE 'OK' END,
       CASE WHEN (g + m.n) % 4 = 0 THEN NULL ELSE 1000 + g * 10 + m.n END,
       CASE WHEN (g + m.n) % 4 = 0 THEN 'canceling statement due to statement timeout' END
FROM generate_series(0, 5) g
CROSS JOIN (VALUES (1, 'mv_yango_payments_raw_current'), (2, 'mv_yango_payments_ledger_latest'),
                   (3, 'mv_yango_payments_ledger_latest_enriched'), (4, 'mv_yango_receivable_payable_detail'),
                   (5, 'mv_claims_payment_status_cabinet'), (6, 'mv_yango_cabinet_claims_for_collection'),
                   (7, 'mv_payments_driver_matrix_cabinet')) AS m(n, mv_name)
ORDER BY 3;

-- Runbook 003's health view, written against this log (columns in the order scripts read them).
CREATE VIEW ops.v_yango_cabinet_claims_mv_health AS
SELECT max(refresh_finished_at) FILTER (WHERE status = 'OK')                                   AS last_ok_refresh_finished_at,
       round((extract(epoch FROM now() - max(refresh_finished_at) FILTER (WHERE status = 'OK')) / 3600)::numeric, 2) AS hours_since_ok_refresh,
       CASE WHEN max(refresh_finished_at) FILTER (WHERE status = 'OK') IS NULL THEN 'NO_REFRESH'
            WHEN now() - max(refresh_finished_at) FILTER (WHERE status = 'OK') > interval '48 hours' THEN 'CRIT'
            WHEN now() - max(refresh_finished_at) FILTER (WHERE status = 'OK') > interval '24 hours' THEN 'WARN'
            ELSE 'OK' END                                                                     AS status_bucket,
       (array_agg(status ORDER BY refresh_started_at DESC))[1]                                 AS last_status,
       (array_agg(error_message ORDER BY refresh_started_at DESC))[1]                          AS last_error,
       (array_agg(rows_after_refresh ORDER BY refresh_finished_at DESC) FILTER (WHERE status = 'OK'))[1] AS rows_after_refresh
FROM ops.mv_refresh_log
WHERE schema_name = 'ops' AND mv_name = 'mv_yango_cabinet_claims_for_collection';
