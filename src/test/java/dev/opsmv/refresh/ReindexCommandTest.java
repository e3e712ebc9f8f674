package dev.opsmv.refresh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.cli.ExitCode;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;

/**
 * `opsmv reindex` on a real server: sizes before/after, the same valid indexes afterwards, the refresh
 * lock in both directions, the lock timeout and its leftovers, bad names.
 *
 * <p>Besides the bundle, the database holds {@code ops.mv_zz_probe}, an MV over a plain table whose
 * rows the tests control: 50,000 rows, then 90% deleted and refreshed CONCURRENTLY, which leaves its
 * indexes about ten times larger than a rebuild needs.
 */
@Tag("matrix")
class ReindexCommandTest {
    static final String PROBE = "ops.mv_zz_probe";
    static final Pattern INDEX_LINE = Pattern.compile("^  (ops\\.\\S+)  .+ → .+  \\((\\d+) → (\\d+) bytes, [+-]?\\d+%\\)$");
    static ConnectionSpec db;

    @BeforeAll
    static void deploy() {
        db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
        Sql.exec(db, "CREATE TABLE public.probe_src AS SELECT g AS id, md5(g::text) AS k FROM generate_series(1, 50000) g",
                "CREATE MATERIALIZED VIEW " + PROBE + " AS SELECT id, k FROM public.probe_src",
                "CREATE UNIQUE INDEX ux_mv_zz_probe_id ON " + PROBE + " (id)",
                "CREATE INDEX idx_mv_zz_probe_k ON " + PROBE + " (k)",
                "ALTER MATERIALIZED VIEW " + PROBE + " SET (autovacuum_enabled = false)");
    }

    /** Most rows gone from the MV, its index pages kept: what months of CONCURRENTLY refreshes do to an index. */
    static void bloatProbe() {
        Sql.exec(db, "TRUNCATE public.probe_src",
                "INSERT INTO public.probe_src SELECT g, md5(g::text) FROM generate_series(1, 50000) g",
                "REFRESH MATERIALIZED VIEW " + PROBE,
                "DELETE FROM public.probe_src WHERE id % 10 <> 0",
                "REFRESH MATERIALIZED VIEW CONCURRENTLY " + PROBE,
                "VACUUM ANALYZE " + PROBE);
    }

    /** index name → its oid (REINDEX CONCURRENTLY gives a rebuilt index a new oid under the same name). */
    static Map<String, Long> indexOids(String mv) {
        Map<String, Long> out = new TreeMap<>();
        for (Map<String, Object> row : Sql.rows(db, "SELECT i.relname, i.oid::bigint AS oid, x.indisvalid FROM pg_index x "
                + "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = '" + mv + "'::regclass")) {
            assertEquals(true, row.get("indisvalid"), row.toString());
            out.put("ops." + row.get("relname"), (Long) row.get("oid"));
        }
        return out;
    }

    static long size(String index) {
        return Sql.count(db, "SELECT pg_relation_size('" + index + "')");
    }

    @Test
    void printsEachIndexSizeBeforeAndAfterAndKeepsTheSameValidIndexes() {
        bloatProbe();
        Map<String, Long> before = indexOids(PROBE);
        Map<String, Long> bytesBefore = new TreeMap<>();
        before.keySet().forEach(ix -> bytesBefore.put(ix, size(ix)));

        Cli.Result r = Cli.run("reindex", "--url", Cli.url(db), "mv_zz_probe");
        System.out.println(r.out());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("REINDEX TABLE CONCURRENTLY " + PROBE + " (2 indexes)"), r.toString());
        Map<String, Long> after = indexOids(PROBE);
        assertEquals(before.keySet(), after.keySet(), "same index names afterwards");
        for (String ix : before.keySet()) {
            assertTrue(!before.get(ix).equals(after.get(ix)), ix + " was not rebuilt (same oid)");
            Matcher m = r.out().lines().map(INDEX_LINE::matcher).filter(x -> x.matches() && x.group(1).equals(ix)).findFirst()
                    .orElseThrow(() -> new AssertionError("no size line for " + ix + "\n" + r));
            assertEquals(bytesBefore.get(ix), Long.parseLong(m.group(2)), ix);
            assertEquals(size(ix), Long.parseLong(m.group(3)), ix);
            // 90% of the rows are gone: a rebuilt index is several times smaller.
            assertTrue(size(ix) * 3 < bytesBefore.get(ix), ix + ": " + bytesBefore.get(ix) + " → " + size(ix));
        }
        assertTrue(r.out().contains("OK           " + PROBE + "  2 indexes rebuilt in "), r.toString());
        assertTrue(r.out().contains("reindex: 1 of 1 materialized view(s) rebuilt"), r.toString());
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                + "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"), "the refresh lock is released");
        assertEquals(5000L, Sql.count(db, "SELECT count(*) FROM " + PROBE + " WHERE id > 0"));
    }

    @Test
    void allRebuildsEveryMvOfSchemaOpsAndTheBundleStillVerifies() {
        Map<String, Map<String, Long>> before = new TreeMap<>();
        List<String> mvs = Sql.strings(db, "SELECT 'ops.' || matviewname FROM pg_matviews WHERE schemaname = 'ops' ORDER BY 1");
        assertEquals(8, mvs.size(), mvs.toString()); // the bundle's seven and the probe
        mvs.forEach(mv -> before.put(mv, indexOids(mv)));

        Cli.Result r = Cli.run("reindex", "--url", Cli.url(db), "--all");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("reindex: 8 of 8 materialized view(s) rebuilt"), r.toString());
        for (String mv : mvs) {
            Map<String, Long> after = indexOids(mv);
            assertEquals(before.get(mv).keySet(), after.keySet(), mv);
            for (String ix : after.keySet()) {
                assertTrue(r.out().lines().anyMatch(l -> INDEX_LINE.matcher(l).matches() && l.startsWith("  " + ix + "  ")), ix + "\n" + r);
            }
        }
        Cli.Result verify = Cli.run("verify", "--url", Cli.url(db));
        assertEquals(0, verify.exitCode(), verify.toString());
    }

    @Test
    void refusesAnMvWhoseRefreshLockIsHeldAndGoesOnWithTheOthers() throws Exception {
        try (Connection refresher = db.open("opsmv-refresh"); Statement st = refresher.createStatement()) {
            st.execute("SELECT pg_advisory_lock(hashtext('opsmv.refresh'), hashtext('" + PROBE + "'))");
            int pid = (Integer) Sql.rows(refresher, "SELECT pg_backend_pid() AS pid").get(0).get("pid");
            Map<String, Long> probeBefore = indexOids(PROBE);
            Map<String, Long> dmBefore = indexOids("ops.mv_payments_driver_matrix_cabinet");

            Cli.Result r = Cli.run("reindex", "--url", Cli.url(db), "mv_zz_probe", "ops.mv_payments_driver_matrix_cabinet");
            assertEquals(ExitCode.BUSY, r.exitCode(), r.toString());
            String busy = r.out().lines().filter(l -> l.startsWith("BUSY")).findFirst().orElseThrow(() -> new AssertionError(r.toString()));
            assertTrue(busy.contains(PROBE) && busy.contains("backend pid " + pid) && busy.contains("application 'opsmv-refresh'"), busy);
            assertEquals(probeBefore, indexOids(PROBE), "the busy MV's indexes are untouched");
            Map<String, Long> dmAfter = indexOids("ops.mv_payments_driver_matrix_cabinet");
            assertEquals(dmBefore.keySet(), dmAfter.keySet());
            assertTrue(dmAfter.entrySet().stream().noneMatch(e -> e.getValue().equals(dmBefore.get(e.getKey()))),
                    "the other MV was rebuilt");
            assertTrue(r.out().contains("reindex: 1 of 2 materialized view(s) rebuilt, 1 busy"), r.toString());
        }
    }

    @Test
    void aRefreshStartedDuringTheReindexOfItsMvIsBusy() throws Exception {
        try (Connection old = db.open("old-report"); Statement st = old.createStatement()) {
            // An open REPEATABLE READ snapshot: REINDEX CONCURRENTLY waits for it before it can swap.
            old.setAutoCommit(false);
            st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
            st.executeQuery("SELECT 1").close();
            CompletableFuture<Cli.Result> reindex = CompletableFuture.supplyAsync(() -> Cli.run("reindex", "--url", Cli.url(db), "mv_zz_probe"));
            waitUntil(() -> Sql.count(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'opsmv-reindex' "
                    + "AND query LIKE 'REINDEX%' AND wait_event_type = 'Lock'") == 1, reindex);

            Cli.Result refresh = Cli.run("refresh", "--url", Cli.url(db), "mv_zz_probe");
            assertEquals(ExitCode.BUSY, refresh.exitCode(), refresh.toString());
            assertTrue(refresh.out().contains("busy: another session holds the refresh lock of " + PROBE), refresh.toString());
            assertTrue(refresh.out().contains("application 'opsmv-reindex'"), refresh.toString());
            assertEquals("BUSY", Sql.value(db, "SELECT status FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_probe' ORDER BY refresh_id DESC LIMIT 1"));

            old.commit();
            Cli.Result r = reindex.get(60, TimeUnit.SECONDS);
            assertEquals(0, r.exitCode(), r.toString());
        }
        assertEquals(0, Cli.run("refresh", "--url", Cli.url(db), "mv_zz_probe").exitCode(), "refresh works once the reindex is done");
    }

    @Test
    void aLockTimeoutNamesTheBlockerAndLeavesNoHalfBuiltIndex() throws Exception {
        Map<String, Long> before = indexOids(PROBE);
        try (Connection old = db.open("old-report"); Statement st = old.createStatement()) {
            old.setAutoCommit(false);
            st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
            st.executeQuery("SELECT 1").close();
            int pid = (Integer) Sql.rows(old, "SELECT pg_backend_pid() AS pid").get(0).get("pid");

            Cli.Result r = Cli.run("reindex", "--url", Cli.url(db), "--lock-timeout", "1s", "mv_zz_probe");
            assertEquals(ExitCode.LOCK_TIMEOUT, r.exitCode(), r.toString());
            String line = r.out().lines().filter(l -> l.startsWith("LOCK_TIMEOUT")).findFirst().orElseThrow(() -> new AssertionError(r.toString()));
            assertTrue(line.contains("lock timeout (1s)") && line.contains("blocked by pid " + pid) && line.contains("application 'old-report'"), line);
            assertTrue(line.contains("dropped the half-built ops.idx_mv_zz_probe_k_ccnew, ops.ux_mv_zz_probe_id_ccnew"), line);
            old.rollback();
        }
        assertEquals(before, indexOids(PROBE), "the same valid indexes, no _ccnew copy");
    }

    @Test
    void unknownMvOrNoMvIsAUsageError() {
        Cli.Result unknown = Cli.run("reindex", "--url", Cli.url(db), "mv_nope");
        assertEquals(ExitCode.USAGE, unknown.exitCode(), unknown.toString());
        assertTrue(unknown.err().contains("unknown materialized view 'mv_nope': not a materialized view of schema ops"), unknown.toString());
        assertTrue(unknown.err().contains("mv_payments_driver_matrix_cabinet"), "the known MVs are listed: " + unknown);
        assertEquals(1, unknown.err().lines().count(), unknown.toString());

        Cli.Result otherSchema = Cli.run("reindex", "--url", Cli.url(db), "public.mv_zz_probe");
        assertEquals(ExitCode.USAGE, otherSchema.exitCode(), otherSchema.toString());

        Cli.Result none = Cli.run("reindex", "--url", Cli.url(db));
        assertEquals(ExitCode.USAGE, none.exitCode(), none.toString());
        assertTrue(none.err().contains("name the MVs to reindex or use --all"), none.toString());
    }

    @Test
    void theRunbooksReindexStatementIsNotPostgresql() {
        // "Actualizar Índices" in the driver-matrix runbook; the README points to `opsmv reindex` instead.
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Sql.exec(db, "REINDEX MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet"));
        assertTrue(e.getMessage().contains("syntax error at or near \"MATERIALIZED\""), e.getMessage());
    }

    @Test
    void refusesServersWithoutConcurrentReindex() {
        // The suite's servers are 14 to 18; the refusal itself is the same check either side of 12.
        Reindexer.ServerTooOld e = assertThrows(Reindexer.ServerTooOld.class, () -> Reindexer.requireConcurrentReindex(110022, "11.22"));
        assertTrue(e.getMessage().startsWith("REINDEX TABLE CONCURRENTLY needs PostgreSQL 12 or later and this server is 11.22"), e.getMessage());
        Reindexer.requireConcurrentReindex(120000, "12.0");
        Reindexer.requireConcurrentReindex((int) Sql.count(db, "SELECT current_setting('server_version_num')::int"), "this one");
    }

    static void waitUntil(java.util.function.BooleanSupplier condition, CompletableFuture<Cli.Result> running) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (running.isDone()) {
                throw new AssertionError("finished early: " + running.get());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not reached within 30 s");
            }
            Thread.sleep(100);
        }
    }
}
