package dev.opsmv.refresh;

import static dev.opsmv.refresh.RefreshFixtures.checksum;
import static dev.opsmv.refresh.RefreshFixtures.log;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.cli.ExitCode;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.MvGraph;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.Cli;

/** `opsmv refresh` in-process against a real deployed bundle: order, log rows, fallbacks, failures. */
@Tag("matrix")
class RefreshCommandTest {

    private static MvGraph graph(ConnectionSpec db) throws Exception {
        try (Connection c = db.open()) {
            return MvGraph.load(c);
        }
    }

    @Test
    void refreshAllRefreshesTheSevenMvsInCatalogOrderAndLogsOneOkRowEach() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(400, Deployed.SHARED_SEED);
        // --dry-run first: prints the plan and writes nothing.
        Cli.Result dry = Cli.on(db, "refresh", "--all", "--dry-run");
        assertEquals(ExitCode.OK, dry.exitCode(), dry.all());
        assertTrue(dry.out().contains("ops.mv_payments_driver_matrix_cabinet") && dry.out().contains("CONCURRENTLY"), dry.out());
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log"));

        Cli.Result r = Cli.on(db, "refresh", "--all");
        assertEquals(ExitCode.OK, r.exitCode(), r.all());
        List<Map<String, Object>> rows = log(db, "true");
        assertEquals(7, rows.size(), rows.toString());
        MvGraph graph = graph(db);
        assertEquals(graph.materializedViews(), new HashSet<>(rows.stream().map(x -> (String) x.get("mv")).toList()));
        Map<String, Integer> position = new HashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            position.put((String) rows.get(i).get("mv"), i);
        }
        Set<Object> runIds = new HashSet<>();
        for (Map<String, Object> row : rows) {
            String mv = (String) row.get("mv");
            for (String up : graph.upstreamOf(mv)) {
                assertTrue(position.get(up) < position.get(mv), up + " must be refreshed before " + mv + ": " + rows);
            }
            assertEquals("OK", row.get("status"), row.toString());
            assertEquals("CONCURRENTLY", row.get("method"), row.toString());
            assertNull(row.get("fallback_reason"));
            assertNotNull(row.get("duration_ms"));
            assertNotNull(row.get("refresh_finished_at"));
            assertEquals(Sql.count(db, "SELECT count(*) FROM " + mv), ((Number) row.get("rows_after_refresh")).longValue(), mv);
            assertNotNull(row.get("backend_pid"));
            assertNotNull(row.get("client_host"));
            assertEquals(RefreshEngine.APPLICATION_NAME, row.get("application_name"));
            runIds.add(row.get("run_id"));
        }
        assertEquals(1, runIds.size(), "one run_id per invocation");
        assertTrue(((Number) Sql.value(db, "SELECT sum(rows_after_refresh) FROM ops.mv_refresh_log")).longValue() > 0);
        // The health view reads the log the engine writes.
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.v_mv_health WHERE last_ok_refresh_finished_at IS NULL"),
                Sql.rows(db, "SELECT * FROM ops.v_mv_health").toString());
    }

    @Test
    void unknownMvIsAUsageErrorNamingIt() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        Cli.Result r = Cli.on(db, "refresh", "mv_does_not_exist");
        assertEquals(ExitCode.USAGE, r.exitCode(), r.all());
        assertTrue(r.err().contains("mv_does_not_exist"), r.err());
        Cli.Result none = Cli.on(db, "refresh");
        assertEquals(ExitCode.USAGE, none.exitCode(), none.all());
        Cli.Result badDuration = Cli.on(db, "refresh", "--all", "--statement-timeout", "soon");
        assertEquals(ExitCode.USAGE, badDuration.exitCode(), badDuration.all());
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log"));
    }

    @Test
    void plainOnlyWhereConcurrentlyIsImpossibleWithTheReasonLogged() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(200, Deployed.SHARED_SEED);
        Sql.exec(db,
                "CREATE MATERIALIZED VIEW ops.mv_scratch_no_index AS SELECT driver_id, origin_tag FROM public.drivers",
                // A unique index with a WHERE clause or on an expression does not make CONCURRENTLY possible either.
                "CREATE UNIQUE INDEX ux_scratch_partial ON ops.mv_scratch_no_index (driver_id) WHERE driver_id > 0",
                "CREATE UNIQUE INDEX ux_scratch_expr ON ops.mv_scratch_no_index ((driver_id + 0))",
                // a view reads it, so it cannot be swapped either: PLAIN is auto's only choice left
                "CREATE VIEW public.v_scratch_reader AS SELECT count(*) FROM ops.mv_scratch_no_index",
                "REFRESH MATERIALIZED VIEW ops.mv_yango_payments_ledger_latest_enriched WITH NO DATA");

        Cli.Result r = Cli.on(db, "refresh", "mv_scratch_no_index", "ops.mv_yango_payments_ledger_latest_enriched");
        assertEquals(ExitCode.OK, r.exitCode(), r.all());
        Map<String, Map<String, Object>> byMv = new HashMap<>();
        log(db, "true").forEach(row -> byMv.put((String) row.get("mv"), row));
        assertEquals("PLAIN", byMv.get("ops.mv_scratch_no_index").get("method"));
        assertEquals(RefreshMethod.NO_UNIQUE_INDEX, byMv.get("ops.mv_scratch_no_index").get("fallback_reason"));
        assertEquals("OK", byMv.get("ops.mv_scratch_no_index").get("status"));
        assertEquals("PLAIN", byMv.get("ops.mv_yango_payments_ledger_latest_enriched").get("method"));
        assertEquals(RefreshMethod.NOT_POPULATED, byMv.get("ops.mv_yango_payments_ledger_latest_enriched").get("fallback_reason"));
        assertEquals(Sql.count(db, "SELECT count(*) FROM ops.mv_yango_payments_ledger_latest_enriched"),
                ((Number) byMv.get("ops.mv_yango_payments_ledger_latest_enriched").get("rows_after_refresh")).longValue());

        // Populated again: the next refresh is CONCURRENTLY.
        assertEquals(ExitCode.OK, Cli.on(db, "refresh", "mv_yango_payments_ledger_latest_enriched").exitCode());
        assertEquals("CONCURRENTLY", Sql.value(db, "SELECT method FROM ops.mv_refresh_log ORDER BY refresh_id DESC LIMIT 1"));

        // --concurrently always refuses (ERROR, reason); never forces PLAIN.
        Cli.Result always = Cli.on(db, "refresh", "mv_scratch_no_index", "--concurrently", "always");
        assertEquals(ExitCode.PROBLEM, always.exitCode(), always.all());
        Map<String, Object> refused = Sql.rows(db, "SELECT status, error_message FROM ops.mv_refresh_log ORDER BY refresh_id DESC LIMIT 1").get(0);
        assertEquals("ERROR", refused.get("status"));
        assertTrue(refused.get("error_message").toString().contains(RefreshMethod.NO_UNIQUE_INDEX), refused.toString());
        Cli.Result never = Cli.on(db, "refresh", "mv_yango_payments_raw_current", "--concurrently", "never",
                "--statement-timeout", "5min", "--lock-timeout", "10s");
        assertEquals(ExitCode.OK, never.exitCode(), never.all());
        Map<String, Object> plain = Sql.rows(db, "SELECT method, fallback_reason FROM ops.mv_refresh_log ORDER BY refresh_id DESC LIMIT 1").get(0);
        assertEquals("PLAIN", plain.get("method"));
    }

    @Test
    void duplicateGrainsAreAnErrorNotAFallback() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(400, Deployed.SHARED_SEED);
        String mv = "ops.mv_yango_cabinet_claims_for_collection";
        String before = checksum(db, mv);
        try (Connection c = db.open(); Statement st = c.createStatement()) {
            SourceFixture.injectDuplicateClaims(st, 3, 4);
        }
        Cli.Result r = Cli.on(db, "refresh", "--all");
        assertEquals(ExitCode.PROBLEM, r.exitCode(), r.all());
        List<Map<String, Object>> rows = log(db, "mv_name = 'mv_yango_cabinet_claims_for_collection'");
        assertEquals(1, rows.size(), "no second (PLAIN) attempt: " + rows);
        Map<String, Object> row = rows.get(0);
        assertEquals("ERROR", row.get("status"));
        assertEquals("CONCURRENTLY", row.get("method"));
        assertNull(row.get("fallback_reason"));
        assertTrue(row.get("error_message").toString().contains("23505"), row.toString());
        assertEquals(before, checksum(db, mv), "the failed MV keeps its previous data");
        assertEquals(6, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'OK'"));
    }

    @Test
    void aFailingMvKeepsItsDataItsDependentsAreSkippedAndUnrelatedMvsRefresh() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(300, Deployed.SHARED_SEED);
        Sql.exec(db, "CREATE MATERIALIZED VIEW ops.mv_zz_unrelated AS SELECT driver_id, park_id FROM public.drivers",
                "CREATE UNIQUE INDEX ux_mv_zz_unrelated ON ops.mv_zz_unrelated (driver_id)");
        String failing = "ops.mv_yango_payments_ledger_latest";
        String before = checksum(db, failing);
        // Realistic bad source data: 101 ledger lines of 9,999,999,999.99 (fits the source's numeric(12,2))
        // for one driver x milestone; their sum no longer fits the MV's numeric(14,2): numeric field overflow.
        Sql.exec(db, """
                INSERT INTO public.yango_payments_raw (payment_key, driver_id, milestone_value, amount, paid_date, status, snapshot_at, source_file)
                SELECT 'huge-' || g, (SELECT min(driver_id) FROM public.drivers), 25, 9999999999.99, current_date, 'paid', now(), 'bad.csv'
                FROM generate_series(1, 101) g
                """);
        MvGraph graph = graph(db);
        Cli.Result r = Cli.on(db, "refresh", "--all", "mv_zz_unrelated");
        assertEquals(ExitCode.PROBLEM, r.exitCode(), r.all());
        Map<String, Map<String, Object>> byMv = new HashMap<>();
        log(db, "true").forEach(row -> byMv.put((String) row.get("mv"), row));
        assertEquals("ERROR", byMv.get(failing).get("status"));
        assertTrue(byMv.get(failing).get("error_message").toString().contains("22003"), byMv.get(failing).toString());
        assertEquals(before, checksum(db, failing), "row count and checksum unchanged");
        Set<String> downstream = graph.downstreamOf(failing);
        assertTrue(downstream.size() >= 4, downstream.toString());
        for (String d : downstream) {
            assertEquals("SKIPPED", byMv.get(d).get("status"), d);
            assertEquals("upstream " + failing + " failed", byMv.get(d).get("error_message"), d);
        }
        assertEquals("OK", byMv.get("ops.mv_yango_payments_raw_current").get("status"));
        assertEquals("OK", byMv.get("ops.mv_zz_unrelated").get("status"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'RUNNING'"));
    }
}
