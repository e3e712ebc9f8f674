package dev.opsmv.refresh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.opsmv.cli.ExitCode;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.MvGraph;
import dev.opsmv.migrate.Changelog;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.OpsmvProcess;
import dev.opsmv.testing.Roles;
import dev.opsmv.testing.Sql;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Issue 13: one refresh protocol. `opsmv refresh --all` and the pg_cron procedure
 * (ops.opsmv_refresh_scheduled) go through the same SQL functions, and a forced failure in one
 * upstream MV leaves the same status per MV in ops.mv_refresh_log whichever path ran; a refresh whose
 * session is terminated leaves no row that claims it finished, and the next run completes.
 */
// "newest": the pg_cron procedure and a terminated session's refresh are the server's behaviour
@Tag("newest")
class RefreshProtocolTest {

    /** The bundle with the refresher changelog, an unrelated MV in the policy, and the refresh log emptied. */
    private static ConnectionSpec deployed() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(300, Deployed.SHARED_SEED);
        Roles.apply(db, Changelog.REFRESHER_ROLE);
        Sql.exec(db, "CREATE MATERIALIZED VIEW ops.mv_zz_unrelated AS SELECT driver_id, park_id FROM public.drivers",
                "CREATE UNIQUE INDEX ux_mv_zz_unrelated ON ops.mv_zz_unrelated (driver_id)",
                "INSERT INTO ops.mv_refresh_policy (mv_name, warn_after_hours, crit_after_hours) VALUES ('mv_zz_unrelated', 1, 2)",
                "DELETE FROM ops.mv_refresh_log");
        return db;
    }

    /** mv → "STATUS" or "SKIPPED: reason" for the rows {@code where} selects. */
    private static Map<String, String> statuses(ConnectionSpec db, String where) {
        Map<String, String> out = new TreeMap<>();
        for (Map<String, Object> row : RefreshFixtures.log(db, where)) {
            String status = (String) row.get("status");
            out.put((String) row.get("mv"), "SKIPPED".equals(status) ? status + ": " + row.get("error_message") : status);
        }
        return out;
    }

    @Test
    void theSameUpstreamFailureGivesTheSameStatusPerMvThroughRefreshAllAndThePgCronProcedure() throws Exception {
        ConnectionSpec db = deployed();
        String failing = "ops.mv_yango_payments_ledger_latest";
        // Bad source data (as in RefreshCommandTest): the MV's sum overflows its numeric(14,2).
        Sql.exec(db, """
                INSERT INTO public.yango_payments_raw (payment_key, driver_id, milestone_value, amount, paid_date, status, snapshot_at, source_file)
                SELECT 'huge-' || g, (SELECT min(driver_id) FROM public.drivers), 25, 9999999999.99, current_date, 'paid', now(), 'bad.csv'
                FROM generate_series(1, 101) g
                """);
        List<String> order;
        MvGraph graph;
        try (Connection c = db.open()) {
            RefreshPlan plan = RefreshPlan.build(c, List.of(), true, false, RefreshMode.AUTO);
            order = plan.order();
            graph = plan.graph();
        }

        Cli.Result r = Cli.on(db, "refresh", "--all");
        assertEquals(ExitCode.PROBLEM, r.exitCode(), r.all());
        Map<String, String> runner = statuses(db, "application_name = 'opsmv-refresh' AND run_id IS NOT NULL");

        try (Connection c = db.open("opsmv-tests"); Statement st = c.createStatement()) {
            st.execute("CALL ops.opsmv_refresh_scheduled(ARRAY['" + String.join("', '", order) + "'])");
        }
        Map<String, String> scheduled = statuses(db, "application_name = 'opsmv-pg_cron'");

        System.out.println("refresh --all:     " + runner + "\nscheduled (SQL):   " + scheduled);
        assertEquals(runner, scheduled, "the same status per MV (and the same reason for each SKIPPED)");
        // and they are the right ones: the failed MV, only what reads it skipped, the rest refreshed
        assertEquals("ERROR", scheduled.get(failing));
        Set<String> downstream = graph.downstreamOf(failing);
        assertTrue(downstream.size() >= 4, downstream.toString());
        for (String mv : order) {
            String expected = mv.equals(failing) ? "ERROR" : downstream.contains(mv) ? "SKIPPED: upstream " + failing + " failed" : "OK";
            assertEquals(expected, scheduled.get(mv), mv);
        }
        assertTrue(scheduled.containsValue("OK") && scheduled.get("ops.mv_zz_unrelated").equals("OK"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'RUNNING'"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE application_name = 'opsmv-pg_cron' AND method = 'SWAP'"),
                "the pg_cron procedure never swaps");
        assertTrue(Sql.value(db, "SELECT error_message FROM ops.mv_refresh_log WHERE application_name = 'opsmv-pg_cron' AND status = 'ERROR'")
                .toString().contains("22003"));
    }

    @Test
    void thePgCronProcedureCommitsItsRunningRowBeforeTheRefreshAndTakesTheRunnersLock() throws Exception {
        ConnectionSpec db = deployed();
        RefreshFixtures.createSlowMv(db, 0);
        Sql.exec(db, "INSERT INTO ops.mv_refresh_policy (mv_name, warn_after_hours, crit_after_hours) VALUES ('mv_zz_slow', 1, 2)");
        // held until the runner has met the lock the procedure takes
        RefreshFixtures.hold(db, true);
        CompletableFuture<Void> call = CompletableFuture.runAsync(() -> Sql.exec(db, "CALL ops.opsmv_refresh_scheduled(ARRAY['ops.mv_zz_slow'])"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_slow' AND status = 'RUNNING'") == 0) {
            assertTrue(System.nanoTime() < deadline && !call.isDone(), "a RUNNING row is visible while the procedure refreshes");
            Thread.sleep(50);
        }
        // While it refreshes, the runner finds the MV's lock taken (same key, ops.opsmv_refresh_lock_key).
        Cli.Result busy = Cli.on(db, "refresh", "mv_zz_slow");
        assertEquals(ExitCode.BUSY, busy.exitCode(), busy.all());
        RefreshFixtures.hold(db, false);
        call.get(60, TimeUnit.SECONDS);
        assertEquals(List.of("OK"), Sql.strings(db, "SELECT status FROM ops.mv_refresh_log WHERE application_name = 'opsmv-pg_cron'"));
    }

    @Test
    void aTerminatedRefreshSessionLeavesNoRowThatClaimsItFinishedAndTheNextRunCompletes() throws Exception {
        ConnectionSpec db = deployed();
        RefreshFixtures.createSlowMv(db, 0);
        Sql.exec(db, "INSERT INTO ops.mv_refresh_policy (mv_name, warn_after_hours, crit_after_hours) VALUES ('mv_zz_slow', 1, 2)",
                "DELETE FROM ops.mv_refresh_log");
        RefreshFixtures.setSlow(db, 60);
        Process p = RefreshFixtures.process(db).start(RefreshFixtures.withUrl(db, "refresh", "--all"));
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        List<String> pid;
        while ((pid = Sql.strings(db, "SELECT backend_pid::text FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_slow' AND status = 'RUNNING'")).isEmpty()) {
            assertTrue(System.nanoTime() < deadline && p.isAlive(), "the slow MV's refresh started");
            Thread.sleep(100);
        }
        List<String> okBefore = Sql.strings(db, "SELECT mv_name FROM ops.mv_refresh_log WHERE status = 'OK' ORDER BY 1");
        assertEquals(Boolean.TRUE, Sql.value(db, "SELECT pg_terminate_backend(" + pid.get(0) + ")"));
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        OpsmvProcess.Result result = new OpsmvProcess.Result(p.exitValue(), out.join(), err.join());
        System.out.println("refresh --all, its backend terminated mid-refresh -> " + result);
        assertEquals(ExitCode.DATABASE, result.exitCode(), result.toString());
        List<String> errors = result.stderr().lines().filter(l -> l.startsWith("opsmv: ")).toList();
        assertEquals(1, errors.size(), result.toString());
        assertTrue(errors.get(0).contains("the database ended the runner's session") && errors.get(0).contains("run the command again"), result.toString());
        // The refresh that was cut short is ERROR (with the reason), never OK nor left RUNNING; what finished before stays OK.
        assertEquals("ERROR", Sql.value(db, "SELECT status FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_slow'"));
        assertTrue(Sql.value(db, "SELECT error_message FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_slow'").toString().contains("57P01"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'RUNNING'"));
        assertEquals(okBefore, Sql.strings(db, "SELECT mv_name FROM ops.mv_refresh_log WHERE status = 'OK' ORDER BY 1"));
        assertFalse(okBefore.contains("mv_zz_slow"));

        RefreshFixtures.setSlow(db, 0);
        long last = Sql.count(db, "SELECT max(refresh_id) FROM ops.mv_refresh_log");
        Cli.Result next = Cli.on(db, "refresh", "--all");
        assertEquals(ExitCode.OK, next.exitCode(), next.all());
        assertEquals(Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_policy WHERE refresh_enabled"),
                Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'OK' AND refresh_id > " + last));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE refresh_id > " + last + " AND status <> 'OK'"));
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
