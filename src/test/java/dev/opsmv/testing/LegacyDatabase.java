package dev.opsmv.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.opsmv.db.ConnectionSpec;

/**
 * A database as the runbooks' psql scripts left it, before any Liquibase: schema ops, the refresh
 * log in the runbook's shape with two months of history, the seven MVs and the plain view from plain
 * SQL without their unique grain indexes, the runbook's claims health view, one base index already
 * there under the bundle's name and one under another name, one MV index under another name, no
 * DATABASECHANGELOG.
 *
 * <p>The MVs and the view come from the bundle's v01 files read as a DBA would paste them into psql
 * (the bundle's definitions were written from those scripts), without the unique indexes the scripts
 * never built. A variant replaces the claims MV with a definition of production's own.
 */
public final class LegacyDatabase {
    static final Path CHANGELOG = Path.of("changelog", "ops");
    static final List<String> OBJECTS = List.of(
            "mviews/mv_yango_payments_raw_current_v01.sql",
            "mviews/mv_yango_payments_ledger_latest_v01.sql",
            "mviews/mv_yango_payments_ledger_latest_enriched_v01.sql",
            "mviews/mv_yango_receivable_payable_detail_v01.sql",
            "mviews/mv_claims_payment_status_cabinet_v01.sql",
            "mviews/mv_yango_cabinet_claims_for_collection_v01.sql",
            "views/v_payments_driver_matrix_cabinet_v01.sql",
            "mviews/mv_payments_driver_matrix_cabinet_v01.sql");
    private static final Pattern CREATE = Pattern.compile(
            "CREATE (MATERIALIZED VIEW|VIEW) (ops\\.\\w+) AS\\n(.*?)(\\nWITH DATA;|;\\n)", Pattern.DOTALL);

    /** The claims MV as production might have it: one more column and a narrower filter. */
    public static final String CLAIMS_MV_OF_PRODUCTION = """
            CREATE MATERIALIZED VIEW ops.mv_yango_cabinet_claims_for_collection AS
            SELECT s.driver_id, s.milestone_value, s.claim_id, s.claim_status, s.claim_created_at, s.payment_status,
                   s.claim_amount, s.paid_amount, (s.claim_amount - s.paid_amount)::numeric(14,2) AS amount_due,
                   (current_date - s.claim_created_at::date) AS aging_days,
                   CASE WHEN current_date - s.claim_created_at::date <= 30 THEN '0-30'
                        WHEN current_date - s.claim_created_at::date <= 60 THEN '31-60'
                        WHEN current_date - s.claim_created_at::date <= 90 THEN '61-90' ELSE '90+' END AS aging_bucket,
                   d.origin_tag, d.week_start, d.park_id,
                   (s.claim_amount - s.paid_amount > 100) AS priority_collection
            FROM ops.mv_claims_payment_status_cabinet s
            LEFT JOIN public.drivers d ON d.driver_id = s.driver_id
            WHERE s.payment_status IN ('UNPAID', 'PARTIAL')
              AND s.driver_id IS NOT NULL AND s.milestone_value IS NOT NULL
            WITH DATA
            """;

    private LegacyDatabase() {
    }

    /** The runbooks' database on a fresh fixture with generated source data. */
    public static ConnectionSpec build(long drivers, long seed, int duplicateClaims) {
        return build(drivers, seed, duplicateClaims, null);
    }

    /** As {@link #build(long, long, int)}, with the claims MV created by {@code claimsMv} instead (null: the runbook's). */
    public static ConnectionSpec build(long drivers, long seed, int duplicateClaims, String claimsMv) {
        ConnectionSpec db = Deployed.fixtureDatabase(drivers, seed, duplicateClaims);
        try (Connection c = db.open("opsmv-tests"); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA ops");
            st.execute(resource("/legacy/runbook_refresh_log.sql"));
            for (String statement : runbookObjects()) {
                if (claimsMv != null && statement.contains("MATERIALIZED VIEW ops.mv_yango_cabinet_claims_for_collection AS")) {
                    st.execute(claimsMv);
                } else {
                    st.execute(statement);
                }
            }
            // runbook 000, step 1 had built one of the base indexes already, and another under its own name
            st.execute("CREATE INDEX idx_claims_cabinet_driver_milestone ON public.claims_cabinet (driver_id, milestone_value)");
            st.execute("CREATE INDEX payment_calc_driver_id_milestone_value_idx ON public.payment_calc (driver_id, milestone_value)");
            // and someone indexed the claims status MV by hand
            st.execute("CREATE UNIQUE INDEX mv_claims_payment_status_cabinet_claim_id_idx ON ops.mv_claims_payment_status_cabinet (claim_id)");
        } catch (SQLException | IOException e) {
            throw new IllegalStateException(e);
        }
        return db;
    }

    /** The CREATE statements of the runbook's MVs and view, in dependency order, for schema public. */
    static List<String> runbookObjects() throws IOException {
        List<String> out = new ArrayList<>();
        for (String file : OBJECTS) {
            String text = Files.readString(CHANGELOG.resolve(file), StandardCharsets.UTF_8).replace("${source_schema}", "public");
            Matcher m = CREATE.matcher(text);
            if (!m.find()) {
                throw new IllegalStateException("no CREATE ... AS in " + file);
            }
            out.add("CREATE " + m.group(1) + " " + m.group(2) + " AS\n" + m.group(3)
                    + ("MATERIALIZED VIEW".equals(m.group(1)) ? "\nWITH DATA" : ""));
        }
        return out;
    }

    /** The runbook's CREATE statement of one MV or view of schema ops, as {@link #build} runs it (MVs WITH DATA). */
    public static String runbookObject(String name) {
        try {
            return runbookObjects().stream().filter(s -> s.contains(" ops." + name + " AS\n")).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no runbook object " + name));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static String resource(String name) throws IOException {
        try (InputStream in = LegacyDatabase.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing test resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** md5 of the legacy log rows (their legacy columns), in id order: equal before and after means not a value changed. */
    public static String legacyLogChecksum(ConnectionSpec db, int upToId) {
        return String.valueOf(Sql.value(db, "SELECT md5(string_agg(concat_ws('|', id, schema_name, mv_name, refresh_started_at, refresh_finished_at, "
                + "refreshed_at, status, rows_after_refresh, error_message), E'\\n' ORDER BY id)) FROM ops.mv_refresh_log WHERE id <= " + upToId));
    }
}
