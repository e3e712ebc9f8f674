package dev.opsmv.refresh;

import static dev.opsmv.refresh.RefreshFixtures.checksum;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.cli.ExitCode;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.MvIdentity;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.Cli;

/**
 * Issue 26: an MV that other MVs and views read is swapped with its whole downstream subgraph: each new
 * MV computed from the new upstream, everything attached to each relation carried, every MV logged SWAP
 * under the run's run_id; a failure anywhere in the side build leaves the serving subgraph untouched and
 * nothing behind.
 */
@Tag("matrix")
class ChainSwapTest {
    static final String RAW = "ops.mv_yango_payments_raw_current";

    /** Every MV and view of schema ops that reads {@code root}, transitively, and the root: name → OID. */
    static Map<String, Long> oids(ConnectionSpec db, List<String> relations) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String r : relations) {
            out.put(r, Sql.count(db, "SELECT '" + r + "'::regclass::oid::bigint"));
        }
        return out;
    }

    /** Rows of {@code mv} that differ from its own query now, both ways (0: as fresh as a refresh now). */
    static long staleRows(ConnectionSpec db, String mv) {
        String query = String.valueOf(Sql.value(db, "SELECT pg_get_viewdef('" + mv + "'::regclass)")).trim().replaceAll(";$", "");
        return Sql.count(db, "SELECT count(*) FROM ((TABLE " + mv + " EXCEPT ALL (" + query + ")) UNION ALL ((" + query + ") EXCEPT ALL TABLE " + mv + ")) d");
    }

    static long scratchSchemas(ConnectionSpec db) {
        return Sql.count(db, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'opsmv\\_swap\\_%'");
    }

    @Test
    void theMvAtTheTopOfTheChainIsSwappedWithEverythingThatReadsIt() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(400, Deployed.SHARED_SEED);
        String reader = "opsmv_t_chain_" + ProcessHandle.current().pid() + "_" + db.database();
        List<String> relations = Sql.strings(db, """
                WITH RECURSIVE r(oid) AS (SELECT 'ops.mv_yango_payments_raw_current'::regclass::oid
                    UNION SELECT rw.ev_class FROM r JOIN pg_depend d ON d.refobjid = r.oid AND d.classid = 'pg_rewrite'::regclass
                    JOIN pg_rewrite rw ON rw.oid = d.objid WHERE rw.ev_class <> r.oid)
                SELECT 'ops.' || c.relname FROM r JOIN pg_class c ON c.oid = r.oid ORDER BY 1""");
        assertTrue(relations.contains("ops.v_payments_driver_matrix_cabinet") && relations.contains("ops.mv_payments_driver_matrix_cabinet"),
                "the whole chain reads the raw MV: " + relations);
        Sql.exec(db,
                "CREATE ROLE " + reader + " NOLOGIN",
                "GRANT USAGE ON SCHEMA ops TO " + reader,
                "GRANT SELECT ON ops.v_payments_driver_matrix_cabinet, ops.mv_yango_payments_ledger_latest TO " + reader,
                "COMMENT ON VIEW ops.v_payments_driver_matrix_cabinet IS 'the endpoint''s fallback'",
                "COMMENT ON MATERIALIZED VIEW ops.mv_yango_payments_ledger_latest IS 'paid per grain'",
                "ALTER MATERIALIZED VIEW ops.mv_yango_payments_ledger_latest SET (fillfactor = 90)");
        Map<String, List<String>> before = new LinkedHashMap<>();
        relations.forEach(r -> before.put(r, MvIdentity.of(db, r)));
        Map<String, Long> oidsBefore = oids(db, relations);
        // the source changes: every MV of the chain must take it in from the new upstream
        Sql.exec(db, "UPDATE public.yango_payments_raw SET status = 'reversed' WHERE payment_key IN "
                + "(SELECT payment_key FROM public.yango_payments_raw WHERE status = 'paid' ORDER BY payment_key LIMIT 30)");
        assertTrue(staleRows(db, RAW) > 0, "stale before the refresh");

        Cli.Result dry = Cli.on(db, "refresh", "mv_yango_payments_raw_current", "--cascade", "--method", "swap", "--dry-run");
        assertEquals(ExitCode.OK, dry.exitCode(), dry.all());
        assertTrue(dry.out().lines().anyMatch(l -> l.contains(RAW) && l.contains("SWAP") && l.contains("swapped in together")), dry.out());
        assertTrue(dry.out().lines().anyMatch(l -> l.contains("ops.mv_payments_driver_matrix_cabinet") && l.contains("swapped with " + RAW)), dry.out());

        Cli.Result swap = Cli.on(db, "refresh", "mv_yango_payments_raw_current", "--cascade", "--method", "swap");
        assertEquals(ExitCode.OK, swap.exitCode(), swap.all());
        Map<String, Long> oidsAfter = oids(db, relations);
        for (String r : relations) {
            assertNotEquals(oidsBefore.get(r), oidsAfter.get(r), r + " rebuilt");
            assertEquals(before.get(r), MvIdentity.of(db, r), r + ": owner, grants, comments, options, indexes, dependents");
        }
        for (String mv : Sql.strings(db, "SELECT 'ops.' || matviewname FROM pg_matviews WHERE schemaname = 'ops'")) {
            assertEquals(0, staleRows(db, mv), mv + " computed from the new upstream");
        }
        assertEquals(0, scratchSchemas(db));
        // each new MV analyzed before it serves (on a session beside the build): the planner has its statistics
        assertEquals(7L, Sql.count(db, "SELECT count(DISTINCT s.starelid) FROM pg_statistic s JOIN pg_class c ON c.oid = s.starelid "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'ops' AND c.relkind = 'm'"));
        List<Map<String, Object>> log = RefreshFixtures.log(db, "true");
        assertEquals(7, log.size(), log.toString());
        assertEquals(1, log.stream().map(r -> r.get("run_id")).distinct().count(), "one run_id");
        assertTrue(log.stream().allMatch(r -> "OK".equals(r.get("status")) && "SWAP".equals(r.get("method"))), log.toString());
        assertEquals(Boolean.TRUE, Sql.value(db, "SELECT has_table_privilege('" + reader + "', 'ops.v_payments_driver_matrix_cabinet', 'SELECT')"));
    }

    @Test
    void aFailureAnywhereInTheSideBuildLeavesTheServingChainUntouched() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(300, Deployed.SHARED_SEED);
        // a chain of its own: a → view → b → c, where c can be made to fail (an error, or a statement timeout)
        Sql.exec(db,
                "CREATE TABLE public.t_chain_mode (mode text NOT NULL)",
                "INSERT INTO public.t_chain_mode VALUES ('ok')",
                """
                CREATE FUNCTION public.t_chain_check() RETURNS boolean LANGUAGE plpgsql AS $$
                DECLARE m text;
                BEGIN
                    SELECT mode INTO m FROM public.t_chain_mode;
                    IF m = 'error' THEN RAISE EXCEPTION 'the third MV fails'; END IF;
                    IF m = 'slow' THEN PERFORM pg_sleep(5); END IF;
                    RETURN true;
                END $$""",
                "CREATE MATERIALIZED VIEW ops.mv_t_a AS SELECT driver_id, origin_tag FROM public.drivers",
                "CREATE UNIQUE INDEX ux_mv_t_a ON ops.mv_t_a (driver_id)",
                "CREATE VIEW ops.v_t_a AS SELECT driver_id, origin_tag FROM ops.mv_t_a WHERE origin_tag IS NOT NULL",
                "CREATE MATERIALIZED VIEW ops.mv_t_b AS SELECT origin_tag, count(*) AS n FROM ops.v_t_a GROUP BY origin_tag",
                "CREATE UNIQUE INDEX ux_mv_t_b ON ops.mv_t_b (origin_tag)",
                "CREATE MATERIALIZED VIEW ops.mv_t_c AS SELECT origin_tag, n FROM ops.mv_t_b WHERE public.t_chain_check()",
                "CREATE UNIQUE INDEX ux_mv_t_c ON ops.mv_t_c (origin_tag)");
        List<String> chain = List.of("ops.mv_t_a", "ops.v_t_a", "ops.mv_t_b", "ops.mv_t_c");
        Map<String, Long> oidsBefore = oids(db, chain);
        Map<String, String> rowsBefore = new LinkedHashMap<>();
        for (String mv : List.of("ops.mv_t_a", "ops.mv_t_b", "ops.mv_t_c")) {
            rowsBefore.put(mv, checksum(db, mv));
        }
        Sql.exec(db, "DELETE FROM public.drivers WHERE driver_id IN (SELECT driver_id FROM public.drivers ORDER BY driver_id LIMIT 10)");

        for (String mode : List.of("error", "slow")) {
            Sql.exec(db, "UPDATE public.t_chain_mode SET mode = '" + mode + "'");
            Cli.Result failed = Cli.on(db, "refresh", "mv_t_a", "--cascade", "--method", "swap", "--statement-timeout", "2s");
            assertEquals(ExitCode.PROBLEM, failed.exitCode(), failed.all());
            assertTrue(failed.out().contains(mode.equals("error") ? "the third MV fails" : "statement timeout"), failed.all());
            assertEquals(oidsBefore, oids(db, chain), mode + ": the serving chain is untouched");
            rowsBefore.forEach((mv, rows) -> assertEquals(rows, checksum(db, mv), mode + ": " + mv + " keeps its rows"));
            assertEquals(0, scratchSchemas(db), mode + ": nothing half-built is left");
            assertEquals(3L, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'ERROR' AND method = 'SWAP' AND run_id = "
                    + "(SELECT run_id FROM ops.mv_refresh_log ORDER BY refresh_id DESC LIMIT 1)"), mode + ": each MV of the chain logged ERROR");
        }

        Sql.exec(db, "UPDATE public.t_chain_mode SET mode = 'ok'");
        Cli.Result ok = Cli.on(db, "refresh", "mv_t_a", "--cascade", "--method", "swap");
        assertEquals(ExitCode.OK, ok.exitCode(), ok.all());
        for (String mv : List.of("ops.mv_t_a", "ops.mv_t_b", "ops.mv_t_c")) {
            assertEquals(0, staleRows(db, mv), mv);
        }
        assertEquals(0, scratchSchemas(db));
    }

    @Test
    void whatCannotBeSwappedWithItsDependentsFallsBackToConcurrentlyWithTheReasonLogged() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(300, Deployed.SHARED_SEED);
        Sql.exec(db,
                "CREATE MATERIALIZED VIEW ops.mv_t_a AS SELECT driver_id, origin_tag FROM public.drivers",
                "CREATE UNIQUE INDEX ux_mv_t_a ON ops.mv_t_a (driver_id)",
                "CREATE MATERIALIZED VIEW ops.mv_t_b AS SELECT origin_tag, count(*) AS n FROM ops.mv_t_a GROUP BY origin_tag",
                "CREATE UNIQUE INDEX ux_mv_t_b ON ops.mv_t_b (origin_tag)",
                "CREATE MATERIALIZED VIEW ops.mv_t_c AS SELECT origin_tag FROM ops.mv_t_b",
                // bound to b's row type: b cannot be dropped, so neither a's chain nor b's can be swapped
                "CREATE FUNCTION public.t_rows_b() RETURNS SETOF ops.mv_t_b LANGUAGE sql AS 'SELECT * FROM ops.mv_t_b'");
        Cli.Result r = Cli.on(db, "refresh", "mv_t_a", "--cascade", "--method", "swap");
        assertEquals(ExitCode.OK, r.exitCode(), "never a failure for that alone: " + r.all());
        Map<String, Map<String, Object>> byMv = new LinkedHashMap<>();
        RefreshFixtures.log(db, "true").forEach(row -> byMv.put((String) row.get("mv"), row));
        for (String mv : List.of("ops.mv_t_a", "ops.mv_t_b")) {
            assertEquals("OK", byMv.get(mv).get("status"), byMv.toString());
            assertEquals("CONCURRENTLY", byMv.get(mv).get("method"), byMv.toString());
            assertTrue(String.valueOf(byMv.get(mv).get("fallback_reason")).contains("no chain swap")
                    && String.valueOf(byMv.get(mv).get("fallback_reason")).contains("function public.t_rows_b()"), byMv.toString());
        }
        assertEquals("SWAP", byMv.get("ops.mv_t_c").get("method"), "the leaf nothing else reads is swapped alone");
        assertEquals(0, scratchSchemas(db));
    }

    @Test
    void aRunnerKilledMidChainLeavesTheServingChainAndTheNextRunCleansUp() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        // the second MV's index build takes as long as the test says: the runner dies inside it
        List<String> chain = slowChain(db);
        Map<String, Long> oidsBefore = oids(db, chain);
        Process runner = RefreshFixtures.process(db).start(RefreshFixtures.withUrl(db, "refresh", "mv_t_a", "--cascade", "--method", "swap"));
        awaitSecondMvBuilding(db, runner);
        runner.destroyForcibly(); // SIGKILL: no finally block, no cleanup
        assertTrue(runner.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(oidsBefore, oids(db, chain), "the serving chain is untouched");
        assertEquals(1, scratchSchemas(db), "the killed run left its scratch schema");

        Sql.exec(db, "UPDATE public.slow_config SET seconds = 0");
        // the killed runner's backend stops within seconds (client_connection_check_interval); --wait covers that time
        Cli.Result next = Cli.on(db, "refresh", "mv_t_a", "--cascade", "--method", "swap", "--wait", "60s");
        assertEquals(ExitCode.OK, next.exitCode(), next.all());
        assertEquals(0, scratchSchemas(db), "the leftover is gone");
        for (String mv : chain) {
            assertNotEquals(oidsBefore.get(mv), oids(db, List.of(mv)).get(mv));
            assertEquals(List.of("ABANDONED", "OK"), Sql.strings(db, "SELECT status FROM ops.mv_refresh_log WHERE mv_name = '"
                    + mv.substring(4) + "' ORDER BY refresh_id"), mv);
        }
    }

    /** A chain of two MVs whose second one's index build takes as long as public.slow_config says. */
    private static List<String> slowChain(ConnectionSpec db) {
        SwapRefreshTest.createSlowKey(db);
        Sql.exec(db,
                "CREATE MATERIALIZED VIEW ops.mv_t_a AS SELECT g AS id FROM generate_series(1, 2000) g",
                "CREATE UNIQUE INDEX ux_mv_t_a ON ops.mv_t_a (id)",
                "CREATE MATERIALIZED VIEW ops.mv_t_b AS SELECT id FROM ops.mv_t_a",
                "CREATE UNIQUE INDEX ux_mv_t_b ON ops.mv_t_b (id)",
                "CREATE INDEX ix_mv_t_b_slow ON ops.mv_t_b (public.slow_key(id))",
                "UPDATE public.slow_config SET seconds = 0.01");
        return List.of("ops.mv_t_a", "ops.mv_t_b");
    }

    /** Waits until the runner builds the new mv_t_b in its scratch schema, then a little longer: inside the slow index build. */
    private static void awaitSecondMvBuilding(ConnectionSpec db, Process runner) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (Sql.count(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname LIKE 'opsmv\\_swap\\_%' AND c.relname = 'mv_t_b'") == 0) {
            assertTrue(runner.isAlive(), "the runner ended before the second MV was built");
            assertTrue(System.nanoTime() < deadline, "no new mv_t_b after 60 s");
            Thread.sleep(50);
        }
        Thread.sleep(300);
    }

    /** The process's stdout, read as it comes (Process.destroy closes the streams of the process object). */
    private static java.util.concurrent.CompletableFuture<String> stdout(Process p) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            } catch (java.io.IOException closed) {
                return "(stdout closed)";
            }
        });
    }

    @Test
    void sigtermOrACancelMidChainDropsWhatWasBuiltAndLeavesTheServingChain() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        List<String> chain = slowChain(db);
        Map<String, Long> oidsBefore = oids(db, chain);

        // SIGTERM (systemd stopping the unit, a CI job cancelled): the runner cancels its own build and drops it before it exits
        Process runner = RefreshFixtures.process(db).start(RefreshFixtures.withUrl(db, "refresh", "mv_t_a", "--cascade", "--method", "swap"));
        var runnerOut = stdout(runner);
        awaitSecondMvBuilding(db, runner);
        // the shell's kill, not Process.destroy(), which would also close this side of the runner's stdout
        assertEquals(0, new ProcessBuilder("sh", "-c", "kill -TERM " + runner.pid()).start().waitFor());
        assertTrue(runner.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the runner exits after SIGTERM");
        String out = runnerOut.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(ExitCode.SIGTERM, runner.exitValue(), out);
        assertTrue(out.contains("opsmv: interrupted: stopping the refresh"), out);
        assertEquals(oidsBefore, oids(db, chain), "the serving chain is untouched");
        assertEquals(0, scratchSchemas(db), "nothing half-built outlives the runner: " + out);
        assertEquals(List.of("ERROR", "ERROR"), Sql.strings(db, "SELECT status FROM ops.mv_refresh_log ORDER BY refresh_id"),
                "each MV of the chain logged its end, none left RUNNING");

        // an operator's pg_cancel_backend on the runner's session: the same, and exit 1
        Process second = RefreshFixtures.process(db).start(RefreshFixtures.withUrl(db, "refresh", "mv_t_a", "--cascade", "--method", "swap"));
        var secondOut = stdout(second);
        awaitSecondMvBuilding(db, second);
        assertTrue(Sql.count(db, "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity "
                + "WHERE application_name LIKE 'opsmv-refresh%' AND state = 'active' AND query ~* '^\\s*CREATE INDEX'") >= 1);
        assertTrue(second.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        String out2 = secondOut.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(ExitCode.PROBLEM, second.exitValue(), out2);
        assertTrue(out2.contains("canceling statement due to user request"), out2);
        assertEquals(oidsBefore, oids(db, chain), "the serving chain is untouched");
        assertEquals(0, scratchSchemas(db), out2);

        Sql.exec(db, "UPDATE public.slow_config SET seconds = 0");
        Cli.Result next = Cli.on(db, "refresh", "mv_t_a", "--cascade", "--method", "swap");
        assertEquals(ExitCode.OK, next.exitCode(), next.all());
        for (String mv : chain) {
            assertNotEquals(oidsBefore.get(mv), oids(db, List.of(mv)).get(mv));
        }
    }

    @Test
    void withoutCascadeAnMvThatOthersReadIsStillRefusedAndSaysHowToSwapIt() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(300, Deployed.SHARED_SEED);
        Cli.Result swap = Cli.on(db, "refresh", "mv_yango_payments_raw_current", "--method", "swap");
        assertEquals(ExitCode.PROBLEM, swap.exitCode(), swap.all());
        assertTrue(swap.out().contains("other objects read it") && swap.out().contains("--cascade"), swap.all());
    }

    /**
     * Issue 26 item 4: a swap needs what it rebuilds free a second time; over the limit the user sets, the MVs are
     * refreshed CONCURRENTLY instead, the reason (with the size) in --dry-run and in the log; under it they swap.
     */
    @Test
    void overTheSwapSpaceLimitTheChainIsRefreshedConcurrentlyWithTheReasonLogged() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(300, Deployed.SHARED_SEED);
        List<String> mvs = Sql.strings(db, "SELECT 'ops.' || matviewname FROM pg_matviews WHERE schemaname = 'ops' ORDER BY 1");
        Map<String, Long> oidsBefore = oids(db, mvs);

        Cli.Result dry = Cli.on(db, "refresh", "mv_yango_payments_raw_current", "--cascade", "--method", "swap", "--swap-space-limit", "1kB", "--dry-run");
        assertEquals(ExitCode.OK, dry.exitCode(), dry.all());
        assertTrue(dry.out().lines().anyMatch(l -> l.contains(RAW) && l.contains("CONCURRENTLY")
                && l.matches(".*no chain swap: needs \\d+\\.\\d MB free a second time, over --swap-space-limit 0\\.0 MB.*")), dry.out());
        assertTrue(dry.out().lines().noneMatch(l -> l.contains(" SWAP ")), dry.out());

        Cli.Result limited = Cli.on(db, "refresh", "mv_yango_payments_raw_current", "--cascade", "--method", "swap", "--swap-space-limit", "1kB");
        assertEquals(ExitCode.OK, limited.exitCode(), "never a failure for that alone: " + limited.all());
        assertEquals(oidsBefore, oids(db, mvs), "nothing rebuilt beside the serving MVs");
        for (Map<String, Object> row : RefreshFixtures.log(db, "true")) {
            assertEquals("OK", row.get("status"), row.toString());
            assertEquals("CONCURRENTLY", row.get("method"), row.toString());
            assertTrue(String.valueOf(row.get("fallback_reason")).contains("over --swap-space-limit 0.0 MB"), row.toString());
        }

        // under a limit large enough: the chain swap as without one
        Cli.Result roomy = Cli.on(db, "refresh", "mv_yango_payments_raw_current", "--cascade", "--method", "swap", "--swap-space-limit", "10GB");
        assertEquals(ExitCode.OK, roomy.exitCode(), roomy.all());
        assertNotEquals(oidsBefore.get(RAW), oids(db, List.of(RAW)).get(RAW), "swapped");

        Cli.Result bad = Cli.on(db, "refresh", "--all", "--swap-space-limit", "lots");
        assertEquals(ExitCode.USAGE, bad.exitCode(), bad.all());
        assertTrue(bad.err().contains("--swap-space-limit") && bad.err().contains("500MB"), bad.all());
    }

    /** Nothing to run in the swap transaction (null) is allowed: it once threw before the build began. */
    @Test
    void aChainSwapWithNothingToRunInItsTransactionSwaps() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        long before = oids(db, List.of(RAW)).get(RAW);
        try (java.sql.Connection c = db.open("opsmv-tests")) {
            new dev.opsmv.swap.SideBySideSwap(c, java.time.Duration.ofSeconds(2)).refreshChain("ops", "mv_yango_payments_raw_current", null);
        }
        assertNotEquals(before, oids(db, List.of(RAW)).get(RAW));
        assertEquals(0, scratchSchemas(db));
    }
}
