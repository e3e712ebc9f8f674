package dev.opsmv.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;

/**
 * Issue 28 item 1 on a real database: a refresh log of 600,000 rows over two years, pruned by `opsmv prune`
 * (dry run, real, archive) and at the end of a refresh run; what it must never delete is checked against an
 * independent query, and the statements health and the endpoint run cost no more after it (shared buffers).
 */
class PruneTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** 600,000 rows: the 7 MVs of the policy and one the policy does not list, hourly-ish over two years. */
    static void fillLog(ConnectionSpec db) {
        Sql.exec(db,
                "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, duration_ms, status, method) "
                        + "SELECT 'ops', m.mv_name, now() - (i * interval '1 minute' * 9), now() - (i * interval '1 minute' * 9) + interval '2 seconds', 2000, "
                        + "CASE WHEN i % 97 = 0 THEN 'ERROR' WHEN i % 89 = 0 THEN 'BUSY' ELSE 'OK' END, 'PLAIN' "
                        + "FROM generate_series(1, 80000) i CROSS JOIN (SELECT mv_name FROM ops.mv_refresh_policy UNION ALL SELECT 'mv_zz_gone') m",
                // an abandoned-looking RUNNING row a year old: never pruned
                "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, status, method) "
                        + "VALUES ('ops', 'mv_zz_gone', now() - interval '365 days', 'RUNNING', 'PLAIN')",
                // the MV the policy does not list refreshed for the last time long ago: its newest rows must stay
                "DELETE FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_gone' AND refresh_started_at > now() - interval '200 days' AND status <> 'RUNNING'",
                "UPDATE ops.mv_refresh_policy SET retention_days = 30 WHERE mv_name = 'mv_yango_payments_raw_current'",
                "ANALYZE ops.mv_refresh_log");
    }

    /** What must remain, computed without the function: per MV the rows within retention, the newest OK, the newest other, RUNNING. */
    static final String EXPECTED_KEPT = "SELECT count(*) FROM (SELECT l.refresh_started_at, l.status, p.retention_days, "
            + "row_number() OVER (PARTITION BY l.schema_name, l.mv_name, l.status = 'OK', l.status = 'RUNNING' "
            + "ORDER BY CASE WHEN l.status = 'OK' THEN l.refresh_finished_at ELSE l.refresh_started_at END DESC) AS newest "
            + "FROM ops.mv_refresh_log l LEFT JOIN ops.mv_refresh_policy p USING (schema_name, mv_name)) x "
            + "WHERE x.refresh_started_at >= now() - make_interval(days => coalesce(x.retention_days, 90)) OR x.status = 'RUNNING' OR x.newest = 1";

    /** Shared buffers a statement touches: what it costs, without the noise of timing. */
    static long buffers(ConnectionSpec db, String sql) throws Exception {
        try (Connection c = db.open("prune-test"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)) {
            rs.next();
            JsonNode plan = JSON.readTree(rs.getString(1)).get(0).get("Plan");
            return plan.path("Shared Hit Blocks").asLong() + plan.path("Shared Read Blocks").asLong();
        }
    }

    static final Map<String, String> READS = Map.of(
            "the health view", "SELECT * FROM ops.v_mv_health",
            "the endpoint's freshness", "SELECT refresh_finished_at FROM ops.mv_refresh_log WHERE schema_name = 'ops' "
                    + "AND mv_name = 'mv_payments_driver_matrix_cabinet' AND status = 'OK' ORDER BY refresh_finished_at DESC LIMIT 1",
            "the claims health view", "SELECT * FROM ops.v_yango_cabinet_claims_mv_health");

    @Test
    void pruneKeepsWhatItMustAndHealthCostsNoMoreAfterIt() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        fillLog(db);
        long before = Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log");
        assertTrue(before >= 600_000, "rows: " + before);
        long keep = Sql.count(db, EXPECTED_KEPT);
        Map<String, Long> costBefore = new java.util.TreeMap<>();
        for (Map.Entry<String, String> r : READS.entrySet()) {
            costBefore.put(r.getKey(), buffers(db, r.getValue()));
        }

        Cli.Result dry = Cli.on(db, "prune", "--dry-run");
        assertEquals(0, dry.exitCode(), dry.toString());
        assertTrue(dry.out().contains("prune: " + (before - keep) + " row(s) of ops.mv_refresh_log would go"), dry.out());
        assertEquals(before, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log"), "a dry run changes nothing");

        Cli.Result real = Cli.on(db, "prune");
        assertEquals(0, real.exitCode(), real.toString());
        System.out.println("[prune] " + real.out().strip().replace("\n", " | "));
        assertEquals(keep, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log"), "exactly what the rule keeps remains");
        assertEquals(1, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'RUNNING'"), "the RUNNING row stays");
        assertEquals(2, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_gone' AND status <> 'RUNNING'"),
                "an MV refreshed for the last time long ago keeps its newest OK and its newest other row");
        assertTrue(Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE mv_name = 'mv_yango_payments_raw_current' "
                + "AND refresh_started_at < now() - interval '31 days' AND status <> 'RUNNING'") <= 2, "its own retention of 30 days");
        assertTrue(real.out().contains("the log vacuumed"), real.out());

        for (Map.Entry<String, String> r : READS.entrySet()) {
            long after = buffers(db, r.getValue());
            System.out.println("[prune] " + r.getKey() + ": " + costBefore.get(r.getKey()) + " buffers before, " + after + " after");
            assertTrue(after <= costBefore.get(r.getKey()), r.getKey() + " costs more after the prune: " + after + " > " + costBefore.get(r.getKey()));
        }
        Cli.Result health = Cli.on(db, "health", "--format", "json");
        assertTrue(health.exitCode() == 0 || health.exitCode() == 1 || health.exitCode() == 2, health.toString());
        assertTrue(health.out().contains("\"mv_payments_driver_matrix_cabinet\""), "health reads the pruned log: " + health.out());

        Cli.Result again = Cli.on(db, "prune");
        assertEquals(0, again.exitCode(), again.toString());
        assertTrue(again.out().contains("prune: 0 row(s)"), again.out());
    }

    @Test
    void archiveMovesTheRowsAndABusyMvIsLeftForNextTime() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        Sql.exec(db, "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, duration_ms, status, method) "
                + "SELECT 'ops', m.mv_name, now() - i * interval '1 day', now() - i * interval '1 day', 10, 'OK', 'PLAIN' "
                + "FROM generate_series(1, 400) i CROSS JOIN ops.mv_refresh_policy m");
        long total = Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log");
        long keep = Sql.count(db, EXPECTED_KEPT);

        Sql.exec(db, "CREATE TABLE ops.not_a_log (id int)");
        Cli.Result bad = Cli.on(db, "prune", "--archive-to", "ops.not_a_log");
        assertEquals(2, bad.exitCode(), bad.toString());
        assertTrue(bad.err().contains("exists with other columns than ops.mv_refresh_log"), bad.err());
        assertEquals(total, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log"), "nothing moved");

        // a refresh of the driver matrix holds its refresh lock: its rows stay, the others go
        try (Connection holder = db.open("prune-test-holder"); Statement st = holder.createStatement()) {
            st.execute("SELECT pg_advisory_lock(k.class_key, k.object_key) FROM ops.opsmv_refresh_lock_key('ops', 'mv_payments_driver_matrix_cabinet') k");
            Cli.Result busy = Cli.on(db, "prune", "--archive-to", "refresh_log_archive");
            assertEquals(5, busy.exitCode(), busy.toString());
            assertTrue(busy.out().contains("ops.mv_payments_driver_matrix_cabinet: 0 row(s) older than 90 days moved to ops.refresh_log_archive (busy: "),
                    busy.out());
        }
        long matrixOld = Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE mv_name = 'mv_payments_driver_matrix_cabinet' AND refresh_started_at < now() - interval '90 days'");
        assertTrue(matrixOld > 300, "the busy MV's rows are untouched: " + matrixOld);
        Cli.Result rest = Cli.on(db, "prune", "--archive-to", "refresh_log_archive");
        assertEquals(0, rest.exitCode(), rest.toString());
        assertEquals(keep, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log"));
        assertEquals(total - keep, Sql.count(db, "SELECT count(*) FROM ops.refresh_log_archive"), "every row that went is in the archive");
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.refresh_log_archive a JOIN ops.mv_refresh_log l USING (refresh_id)"), "moved, not copied");
    }

    @Test
    void everyRefreshRunEndsWithThePrune() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        Sql.exec(db, "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, duration_ms, status, method) "
                + "SELECT 'ops', 'mv_payments_driver_matrix_cabinet', now() - i * interval '1 day', now() - i * interval '1 day', 10, 'OK', 'PLAIN' "
                + "FROM generate_series(100, 199) i");
        Cli.Result r = Cli.on(db, "refresh", "ops.mv_payments_driver_matrix_cabinet");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("prune: 100 row(s) of ops.mv_refresh_log past their retention deleted"), r.out());
        List<String> old = Sql.strings(db, "SELECT refresh_id::text FROM ops.mv_refresh_log WHERE refresh_started_at < now() - interval '90 days'");
        assertEquals(List.of(), old);
        Cli.Result json = Cli.on(db, "refresh", "ops.mv_payments_driver_matrix_cabinet", "--format", "json", "--no-prune");
        assertEquals(0, json.exitCode(), json.toString());
        assertTrue(JSON.readTree(json.out()).path("prune").isMissingNode(), "--no-prune: " + json.out());
    }
}
