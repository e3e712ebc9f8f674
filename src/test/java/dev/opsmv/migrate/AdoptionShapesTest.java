package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.opsmv.cli.ExitCode;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.LegacyDatabase;
import dev.opsmv.testing.Sql;

/**
 * Issue 25, point 5: the adoption plan fed every shape production may hold. Each shape is one case on the
 * runbooks' database: either {@code update} conforms it (exit 0; the plan line says what it does before it
 * does it, and the catalog and rows afterwards are asserted), or it stops before any change (exit 1) with one
 * plan line naming the object, what differs and what to run, the catalog as it was and no Liquibase history.
 * Never a raw SQL error or a stack trace.
 */
class AdoptionShapesTest {
    static final String LOG = "ops.mv_refresh_log";
    static final int SIZE = 300;

    static ConnectionSpec legacy() {
        return LegacyDatabase.build(SIZE, Deployed.SHARED_SEED, 0);
    }

    // ---- shapes that stop before any change -------------------------------------------------------------

    @Test
    void anMvWithoutOneOfTheBundlesColumnsStopsNamingTheColumn() {
        ConnectionSpec db = legacy();
        recreateMv(db, "ops.mv_yango_payments_ledger_latest_enriched", "park_id", null);
        String line = stops(db, "differs  ops.mv_yango_payments_ledger_latest_enriched (materialized view)");
        assertTrue(line.contains("lacks column park_id"), line);
        assertTrue(line.contains("opsmv update --replace-differing") && line.contains("opsmv import"), line);
    }

    @Test
    void anMvWithAColumnOfAnotherTypeStopsNamingBothTypes() {
        ConnectionSpec db = legacy();
        recreateMv(db, "ops.mv_yango_payments_ledger_latest_enriched", "paid_amount", "l.paid_amount::numeric AS paid_amount");
        String line = stops(db, "differs  ops.mv_yango_payments_ledger_latest_enriched (materialized view)");
        assertTrue(line.contains("column paid_amount is numeric, the bundle's numeric(14,2)"), line);
        assertTrue(line.contains("opsmv update --replace-differing") && line.contains("opsmv import"), line);
    }

    @Test
    void anExpressionIndexUnderABundleIndexNameStopsSayingWhatToRename() {
        ConnectionSpec db = legacy();
        Sql.exec(db, "CREATE INDEX idx_mv_claims_payment_status_cabinet_driver_milestone ON ops.mv_claims_payment_status_cabinet ((driver_id::text), milestone_value)");
        String line = stops(db, "conflict ops.idx_mv_claims_payment_status_cabinet_driver_milestone (index)");
        assertTrue(line.contains("an expression index"), line);
        assertTrue(line.contains("ALTER INDEX ops.idx_mv_claims_payment_status_cabinet_driver_milestone RENAME TO"), line);
    }

    @Test
    void aPartialIndexUnderABundleIndexNameStopsSayingWhatToRename() {
        ConnectionSpec db = legacy();
        Sql.exec(db, "CREATE INDEX idx_mv_yango_payments_raw_current_driver_milestone ON ops.mv_yango_payments_raw_current (driver_id, milestone_value) WHERE status = 'paid'");
        String line = stops(db, "conflict ops.idx_mv_yango_payments_raw_current_driver_milestone (index)");
        assertTrue(line.contains("a partial index (WHERE"), line);
        assertTrue(line.contains("ALTER INDEX ops.idx_mv_yango_payments_raw_current_driver_milestone RENAME TO"), line);
    }

    @Test
    void timestampRefreshColumnsWithoutTheirZoneStopNamingTheSettingToGive() {
        ConnectionSpec db = legacy();
        retypeLegacyLog(db, "ALTER TABLE ops.mv_refresh_log ALTER COLUMN refresh_started_at TYPE timestamp USING refresh_started_at AT TIME ZONE 'Asia/Tokyo', "
                + "ALTER COLUMN refresh_finished_at TYPE timestamp USING refresh_finished_at AT TIME ZONE 'Asia/Tokyo'");
        String line = stops(db, "conflict ops.mv_refresh_log (table)");
        assertTrue(line.contains("refresh_started_at, refresh_finished_at are timestamp without time zone"), line);
        assertTrue(line.contains("ALTER DATABASE " + db.database() + " SET opsmv.log_time_zone = "), line);
    }

    @Test
    void statusValuesTheBundleCannotMapStopNamingThem() {
        ConnectionSpec db = legacy();
        Sql.exec(db, "ALTER TABLE ops.mv_refresh_log DROP CONSTRAINT mv_refresh_log_status_check",
                "UPDATE ops.mv_refresh_log SET status = CASE status WHEN 'OK' THEN 'success' ELSE 'failed' END");
        String line = stops(db, "conflict ops.mv_refresh_log (table)");
        assertTrue(line.contains("status values the bundle does not read: failed (") && line.contains("success ("), line);
        assertTrue(line.contains("UPDATE ops.mv_refresh_log SET status = "), line);
    }

    // ---- shapes that are adopted or conformed -----------------------------------------------------------

    @Test
    void anIndexOfTheBundlesDefinitionUnderAnotherNameIsAdoptedUnderItsName() {
        ConnectionSpec db = legacy();
        // the runbooks' database has one already: the claims status MV's unique index on claim_id
        Cli.Result update = adopts(db);
        assertTrue(update.out().contains("plan: adopt    ops.ux_mv_claims_payment_status_cabinet_grain (index): "
                + "the same index exists as ops.mv_claims_payment_status_cabinet_claim_id_idx: kept under that name"), update.out());
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname = 'ux_mv_claims_payment_status_cabinet_grain'"));
        assertEquals(1L, Sql.count(db, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                + "WHERE c.relname = 'mv_claims_payment_status_cabinet_claim_id_idx' AND i.indisvalid AND i.indisunique"));
    }

    @Test
    void anMvNotPopulatedIsAdoptedAsItIsAndTheFirstRefreshFillsIt() {
        ConnectionSpec db = legacy();
        Sql.exec(db, "REFRESH MATERIALIZED VIEW ops.mv_yango_cabinet_claims_for_collection WITH NO DATA");
        Cli.Result update = adopts(db);
        assertTrue(update.out().contains("plan: adopt    ops.mv_yango_cabinet_claims_for_collection (materialized view): identical; "
                + "not populated (WITH NO DATA): the first refresh fills it"), update.out());
        assertEquals(Boolean.FALSE, Sql.value(db, "SELECT ispopulated FROM pg_matviews WHERE matviewname = 'mv_yango_cabinet_claims_for_collection'"));
        assertEquals(1L, Sql.count(db, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                + "WHERE c.relname = 'ux_mv_yango_cabinet_claims_for_collection_grain' AND i.indisvalid"));
        Cli.Result refresh = Cli.run("refresh", "mv_yango_cabinet_claims_for_collection", "--url", Cli.url(db));
        assertEquals(0, refresh.exitCode(), refresh.toString());
        assertEquals(Boolean.TRUE, Sql.value(db, "SELECT ispopulated FROM pg_matviews WHERE matviewname = 'mv_yango_cabinet_claims_for_collection'"));
    }

    @Test
    void anMvNotPopulatedThatOthersReadStopsSayingWhatToRefresh() {
        ConnectionSpec db = legacy();
        // release v1.1 rebuilds the driver matrix from the view, which reads the ledger MV: that would fail half-way
        Sql.exec(db, "REFRESH MATERIALIZED VIEW ops.mv_yango_payments_ledger_latest WITH NO DATA");
        String line = stops(db, "conflict ops.mv_yango_payments_ledger_latest (materialized view)");
        assertTrue(line.contains("not populated (WITH NO DATA), and ops.mv_claims_payment_status_cabinet, "
                + "ops.mv_yango_payments_ledger_latest_enriched, ops.v_payments_driver_matrix_cabinet read it"), line);
        assertTrue(line.contains("REFRESH MATERIALIZED VIEW ops.mv_yango_payments_ledger_latest"), line);
    }

    @Test
    void extraColumnsInTheLogAreKeptAndTheBundleWritesBesideThem() {
        ConnectionSpec db = legacy();
        Sql.exec(db, "ALTER TABLE ops.mv_refresh_log ADD COLUMN host text NOT NULL DEFAULT 'db1', ADD COLUMN job_id bigint, "
                        + "ADD COLUMN attempt integer NOT NULL DEFAULT 1",
                "ALTER TABLE ops.mv_refresh_log ALTER COLUMN host DROP DEFAULT");
        String history = extraChecksum(db);
        Cli.Result update = adopts(db);
        assertTrue(planLine(update, "alter    ops.mv_refresh_log (table)").contains("NOT NULL lifted from host (the bundle does not write it)"), update.out());
        Cli.Result refresh = Cli.run("refresh", "--all", "--url", Cli.url(db));
        assertEquals(0, refresh.exitCode(), refresh.toString());
        assertEquals(history, extraChecksum(db), "the extra columns' values kept");
        assertTrue(Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE refresh_id > 42 AND status = 'OK'") >= 7, "a row per MV refreshed");
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE refresh_id > 42 AND (host IS NOT NULL OR attempt <> 1)"),
                "the bundle's rows beside them: host NULL, attempt its default");
        Cli.Result rollback = Cli.run("rollback", "--tag", "opsmv-empty", "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());
        assertEquals(Boolean.FALSE, Sql.value(db, "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'ops.mv_refresh_log'::regclass AND attname = 'host'"),
                "NOT NULL stays lifted while rows without a host exist");
    }

    @Test
    void lowerCaseStatusValuesAreUpperCasedAndRollbackLowersThemAgain() {
        ConnectionSpec db = legacy();
        Sql.exec(db, "ALTER TABLE ops.mv_refresh_log DROP CONSTRAINT mv_refresh_log_status_check",
                "UPDATE ops.mv_refresh_log SET status = lower(status)",
                "ALTER TABLE ops.mv_refresh_log ADD CONSTRAINT mv_refresh_log_status_check CHECK (status IN ('running', 'ok', 'error'))");
        List<String> legacyCatalog = Catalog.snapshot(db);
        String legacyRows = statusRows(db);
        long ok = Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'ok'");
        long error = Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'error'");
        Cli.Result update = adopts(db);
        assertTrue(planLine(update, "alter    ops.mv_refresh_log (table)").contains("status error, ok -> ERROR, OK (" + (ok + error) + " rows)"), update.out());
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status <> upper(status)"));
        assertEquals(legacyRows.toUpperCase(), statusRows(db).toUpperCase());
        // health reads the history as OK refreshes: 3 days old, CRIT, not NO_REFRESH
        assertEquals("CRIT", Sql.value(db, "SELECT status_bucket FROM ops.v_mv_health WHERE mv_name = 'mv_yango_payments_raw_current'"));
        Cli.Result rollback = Cli.run("rollback", "--tag", "opsmv-empty", "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());
        assertEquals(legacyRows, statusRows(db), "the legacy rows' values back");
        assertEquals(legacyCatalog, Catalog.snapshot(db));
    }

    @Test
    void aNarrowErrorMessageColumnIsWidenedInPlaceAndALongErrorIsLogged() {
        ConnectionSpec db = legacy();
        retypeLegacyLog(db, "ALTER TABLE ops.mv_refresh_log ALTER COLUMN error_message TYPE varchar(120), ALTER COLUMN status TYPE varchar(16)");
        List<String> legacyCatalog = Catalog.snapshot(db);
        String history = LegacyDatabase.legacyLogChecksum(db, 42);
        Cli.Result update = adopts(db);
        String line = planLine(update, "alter    ops.mv_refresh_log (table)");
        assertTrue(line.contains("status varchar(16) -> text, error_message varchar(120) -> text (in the catalog only, no row rewritten)"), line);
        assertTrue(line.contains("views rebuilt around it: ops.v_yango_cabinet_claims_mv_health"), line);
        assertEquals(List.of("text", "text"), Sql.strings(db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                + "WHERE attrelid = 'ops.mv_refresh_log'::regclass AND attname IN ('status', 'error_message') ORDER BY attname"));
        // (adding refresh_id, an identity, rewrote the log; the widening alone rewrites nothing: the function it calls, on a copy)
        Sql.exec(db, "CREATE TABLE public.widen_probe AS SELECT id, status::varchar(16) AS status, error_message::varchar(120) AS error_message FROM ops.mv_refresh_log",
                "CREATE INDEX widen_probe_status ON public.widen_probe (status)",
                "CREATE VIEW public.widen_probe_errors AS SELECT id, error_message FROM public.widen_probe WHERE status = 'ERROR'");
        String files = "SELECT string_agg(relname || '=' || relfilenode, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('widen_probe', 'widen_probe_status')";
        Object before = Sql.value(db, files);
        Sql.exec(db, "SELECT ops.opsmv_retype_columns('public.widen_probe', 'ALTER COLUMN status TYPE text, ALTER COLUMN error_message TYPE text', '{status,error_message}')");
        assertEquals(before, Sql.value(db, files), "varchar(n) -> text rewrites neither the table nor its index");
        assertEquals("text", Sql.value(db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.widen_probe_errors'::regclass AND attname = 'error_message'"),
                "the view built again over the widened column");
        Sql.exec(db, "DROP TABLE public.widen_probe CASCADE");
        assertEquals(history, LegacyDatabase.legacyLogChecksum(db, 42));

        // the first long error is logged, with the runner's exit for a failed refresh, not 3
        try (Connection c = db.open("opsmv-tests"); Statement st = c.createStatement()) {
            SourceFixture.injectDuplicateClaims(st, 3, 4);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        Cli.Result refresh = Cli.run("refresh", "--all", "--url", Cli.url(db));
        assertEquals(ExitCode.PROBLEM, refresh.exitCode(), refresh.toString());
        assertFalse(refresh.err().contains("value too long"), refresh.err());
        assertTrue(Sql.count(db, "SELECT max(length(error_message)) FROM ops.mv_refresh_log WHERE status = 'ERROR' AND refresh_id > 42") > 120,
                "the real error, whole");

        // rollback: the log's rows no longer fit varchar(120), so that column stays text, with a warning; status fits again
        Cli.Result rollback = Cli.run("rollback", "--tag", "opsmv-empty", "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());
        assertEquals(List.of("text", "character varying(16)"), Sql.strings(db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                + "WHERE attrelid = 'ops.mv_refresh_log'::regclass AND attname IN ('status', 'error_message') ORDER BY attname"));
        assertEquals(history, LegacyDatabase.legacyLogChecksum(db, 42));
        assertEquals(legacyCatalog.stream().map(l -> l.replace("error_message:character varying(120)", "error_message:text").replace("last_error:character varying,", "last_error:text,")).toList(),
                Catalog.snapshot(db), "all else as before: the view reads the columns with their types again");
    }

    @Test
    void timestampRefreshColumnsAreConvertedInTheZoneTheDatabaseIsToldAndBack() {
        ConnectionSpec db = legacy();
        String instants = instants(db);
        retypeLegacyLog(db, "ALTER TABLE ops.mv_refresh_log ALTER COLUMN refresh_started_at TYPE timestamp USING refresh_started_at AT TIME ZONE 'Asia/Tokyo', "
                + "ALTER COLUMN refresh_finished_at TYPE timestamp USING refresh_finished_at AT TIME ZONE 'Asia/Tokyo', "
                + "ALTER COLUMN refreshed_at TYPE timestamp USING refreshed_at AT TIME ZONE 'Asia/Tokyo'");
        List<String> legacyCatalog = Catalog.snapshot(db);
        String legacyValues = String.valueOf(Sql.value(db, "SELECT md5(string_agg(concat_ws('|', id, refresh_started_at, refresh_finished_at, refreshed_at), ',' ORDER BY id)) FROM ops.mv_refresh_log"));
        Sql.exec(db, "ALTER DATABASE " + db.database() + " SET opsmv.log_time_zone = 'Asia/Tokyo'");
        Cli.Result update = adopts(db);
        String line = planLine(update, "alter    ops.mv_refresh_log (table)");
        assertTrue(line.contains("refresh_started_at, refresh_finished_at, refreshed_at timestamp -> timestamptz, the values read as Asia/Tokyo time "
                + "(opsmv.log_time_zone; rewrites the table)"), line);
        assertEquals(instants, instants(db), "every instant as it was written");
        // health is the same wherever the reader is
        String tokyo = readHealthIn(db, "Asia/Tokyo");
        assertEquals(readHealthIn(db, "America/Los_Angeles"), tokyo);
        assertTrue(Double.parseDouble(tokyo) >= 72, "the last OK refresh is 3 days old: " + tokyo);
        Cli.Result rollback = Cli.run("rollback", "--tag", "opsmv-empty", "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());
        assertEquals(legacyCatalog, Catalog.snapshot(db));
        assertEquals(legacyValues, String.valueOf(Sql.value(db, "SELECT md5(string_agg(concat_ws('|', id, refresh_started_at, refresh_finished_at, refreshed_at), ',' ORDER BY id)) FROM ops.mv_refresh_log WHERE id <= 42")));
    }

    // ---- a failure in the middle of an adoption ---------------------------------------------------------

    @Test
    void anAdoptionThatFailsAfterTheGateIsFinishedByTheNextUpdate() throws Exception {
        ConnectionSpec db = legacy();
        ConnectionSpec straight = legacy();
        String history = LegacyDatabase.legacyLogChecksum(db, 42);
        Cli.Result reference = adopts(straight);
        try (Connection holder = db.open("opsmv-test-holder")) {
            holder.setAutoCommit(false);
            try (Statement st = holder.createStatement()) {
                // a reader of the log in a long transaction: the conform's ALTER TABLE waits for it, then gives up
                st.execute("SELECT count(*) FROM ops.mv_refresh_log");
            }
            Cli.Result failed = Cli.run("update", "--lock-timeout", "1s", "--url", Cli.url(db));
            assertEquals(ExitCode.LOCK_TIMEOUT, failed.exitCode(), failed.toString());
            assertTrue(failed.err().contains("opsmv-test-holder"), "names the blocker: " + failed.err());
            clean(failed);
            holder.rollback();
        }
        List<String> half = Catalog.history(db);
        assertTrue(half.stream().anyMatch(h -> h.contains("::v1.0-adoption-gate::")), half.toString());
        assertFalse(half.stream().anyMatch(h -> h.contains("::v1.0-refresh-tables-conform::")), half.toString());

        Cli.Result again = adopts(db);
        assertTrue(again.out().contains("update: done"), again.out());
        assertEquals(Catalog.snapshot(straight), Catalog.snapshot(db), "the same end state as an adoption in one go");
        assertEquals(Catalog.history(straight).size(), Catalog.history(db).size());
        assertEquals(history, LegacyDatabase.legacyLogChecksum(db, 42));
        assertTrue(reference.exitCode() == 0);
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    /** update exits 1, changes nothing, and the plan has one blocking line starting so; returns it. */
    static String stops(ConnectionSpec db, String blockingLine) {
        List<String> before = Catalog.snapshot(db);
        Cli.Result r = Cli.run("update", "--url", Cli.url(db));
        assertEquals(ExitCode.PROBLEM, r.exitCode(), r.toString());
        clean(r);
        List<String> blocking = Arrays.stream(r.out().split("\n"))
                .filter(l -> l.startsWith("plan: differs ") || l.startsWith("plan: conflict ")).toList();
        assertEquals(1, blocking.size(), "one blocking line: " + r.out());
        assertTrue(blocking.get(0).startsWith("plan: " + blockingLine), r.out());
        assertEquals(1, r.err().strip().split("\n").length, "one line on stderr: " + r.err());
        assertEquals(before, Catalog.snapshot(db), "nothing changed");
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname = 'databasechangelog'"));
        return blocking.get(0);
    }

    static Cli.Result adopts(ConnectionSpec db) {
        Cli.Result r = Cli.run("update", "--url", Cli.url(db));
        assertEquals(0, r.exitCode(), r.toString());
        clean(r);
        return r;
    }

    static void clean(Cli.Result r) {
        for (String raw : List.of("SQLSTATE", "Exception", "at dev.", "\tat ")) {
            assertFalse(r.err().contains(raw), "no raw error or stack (" + raw + "): " + r);
            assertFalse(r.out().contains("at dev."), r.toString());
        }
    }

    static String planLine(Cli.Result r, String start) {
        return Arrays.stream(r.out().split("\n")).filter(l -> l.startsWith("plan: " + start)).findFirst()
                .orElseThrow(() -> new AssertionError("no plan line " + start + ": " + r.out()));
    }

    /** The MV rebuilt as the runbook has it, without {@code column} or with it written as {@code replacement}. */
    static void recreateMv(ConnectionSpec db, String mv, String column, String replacement) {
        String name = mv.substring(mv.indexOf('.') + 1);
        String create = LegacyDatabase.runbookObject(name);
        String edited = create.replaceAll("(?m)^(\\s*)l\\." + column + ",\\n", replacement == null ? "" : "$1" + replacement + ",\n");
        if (replacement == null) {
            edited = edited.replaceAll(",\\s*d\\." + column + "\\n", "\n");
        }
        assertFalse(edited.equals(create), "edited " + create);
        Sql.exec(db, "DROP MATERIALIZED VIEW " + mv + " CASCADE", edited);
    }

    /** An ALTER of the legacy log under its runbook health view (which PostgreSQL would not let it change). */
    static void retypeLegacyLog(ConnectionSpec db, String alter) {
        String view = String.valueOf(Sql.value(db, "SELECT pg_get_viewdef('ops.v_yango_cabinet_claims_mv_health'::regclass)"));
        Sql.exec(db, "DROP VIEW ops.v_yango_cabinet_claims_mv_health", alter, "CREATE VIEW ops.v_yango_cabinet_claims_mv_health AS " + view);
    }

    static String extraChecksum(ConnectionSpec db) {
        return String.valueOf(Sql.value(db, "SELECT md5(string_agg(concat_ws('|', id, host, job_id, attempt), ',' ORDER BY id)) FROM ops.mv_refresh_log WHERE id <= 42"));
    }

    static String statusRows(ConnectionSpec db) {
        return String.valueOf(Sql.strings(db, "SELECT id || ' ' || status FROM ops.mv_refresh_log WHERE id <= 42 ORDER BY id"));
    }

    static String instants(ConnectionSpec db) {
        return String.valueOf(Sql.value(db, "SELECT md5(string_agg(concat_ws('|', id, extract(epoch FROM refresh_started_at AT TIME ZONE 'Asia/Tokyo'), "
                + "extract(epoch FROM refresh_finished_at AT TIME ZONE 'Asia/Tokyo'), extract(epoch FROM refreshed_at AT TIME ZONE 'Asia/Tokyo')), ',' ORDER BY id)) "
                + "FROM ops.mv_refresh_log WHERE id <= 42"));
    }

    static String readHealthIn(ConnectionSpec db, String zone) {
        try (Connection c = db.open("opsmv-tests"); Statement st = c.createStatement()) {
            st.execute("SET TimeZone = '" + zone + "'");
            try (var rs = st.executeQuery("SELECT hours_since_ok_refresh FROM ops.v_mv_health WHERE mv_name = 'mv_yango_payments_raw_current'")) {
                rs.next();
                return rs.getBigDecimal(1).toPlainString();
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
