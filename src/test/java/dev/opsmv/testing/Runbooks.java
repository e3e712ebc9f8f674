package dev.opsmv.testing;

/**
 * The runbooks' SQL (shared/seeds, runbook 003 "Troubleshooting"), pasted once, as written, for every test that
 * runs it: the operators paste these statements unchanged against the bundle.
 */
public final class Runbooks {
    /** Runbook 003, "Status = ERROR", step 2 ("Verificar dependencias"): the last refresh of each upstream MV. */
    public static final String LAST_REFRESH_OF_UPSTREAM_MVS = """
            SELECT schema_name, mv_name, MAX(refreshed_at) as last_refresh
            FROM ops.mv_refresh_log
            WHERE mv_name IN (
              'mv_yango_payments_raw_current',
              'mv_yango_payments_ledger_latest',
              'mv_yango_payments_ledger_latest_enriched',
              'mv_yango_receivable_payable_detail',
              'mv_claims_payment_status_cabinet'
            )
            GROUP BY schema_name, mv_name;
            """;

    private Runbooks() {
    }
}
