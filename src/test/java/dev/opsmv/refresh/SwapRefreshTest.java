package dev.opsmv.refresh;

import static dev.opsmv.refresh.RefreshFixtures.checksum;
import static dev.opsmv.refresh.RefreshFixtures.log;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import dev.opsmv.api.ApiConfig;
import dev.opsmv.api.ApiServer;
import dev.opsmv.cli.ExitCode;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.migrate.Changelog;
import dev.opsmv.migrate.Migrator;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Roles;
import dev.opsmv.testing.Sql;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

/**
 * Issue 16: {@code refresh --method swap} (and auto's choice of it) on a real server: the MV rebuilt
 * from its catalog definition beside the serving one and swapped in, everything keyed by its name
 * intact, readers never waiting longer than the lock timeout, every failure leaving the old MV serving
 * and nothing behind, a killed runner's leftover removed by the next run, dependents never swapped.
 */
@Tag("matrix")
class SwapRefreshTest {
    static final String MATRIX = "ops.mv_payments_driver_matrix_cabinet";
    static final String MATRIX_VIEW = "ops.v_payments_driver_matrix_cabinet";

    /** Everything about an MV that must survive a swap, one line per fact, sorted; its OID apart. */
    static List<String> identity(ConnectionSpec db, String mv) {
        return Sql.strings(db, """
                SELECT line FROM (
                    SELECT 'owner ' || pg_get_userbyid(c.relowner) AS line FROM pg_class c WHERE c.oid = '%1$s'::regclass
                    UNION ALL SELECT 'comment ' || coalesce(obj_description('%1$s'::regclass, 'pg_class'), '-')
                    UNION ALL SELECT 'reloptions ' || coalesce(array_to_string(c.reloptions, ','), '-') FROM pg_class c WHERE c.oid = '%1$s'::regclass
                    UNION ALL SELECT 'populated ' || c.relispopulated FROM pg_class c WHERE c.oid = '%1$s'::regclass
                    UNION ALL SELECT 'grant ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END || ' '
                                     || a.privilege_type || ' grantable=' || a.is_grantable
                              FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = '%1$s'::regclass
                    UNION ALL SELECT 'column ' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                     || ' comment=' || coalesce(col_description(a.attrelid, a.attnum), '-')
                              FROM pg_attribute a WHERE a.attrelid = '%1$s'::regclass AND a.attnum > 0 AND NOT a.attisdropped
                    UNION ALL SELECT 'column grant ' || a.attname || ' ' || CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END
                                     || ' ' || x.privilege_type
                              FROM pg_attribute a, aclexplode(a.attacl) x WHERE a.attrelid = '%1$s'::regclass AND a.attacl IS NOT NULL
                    UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
                                     || ' comment=' || coalesce(obj_description(i.indexrelid, 'pg_class'), '-')
                              FROM pg_index i WHERE i.indrelid = '%1$s'::regclass
                    UNION ALL SELECT 'definition ' || pg_get_viewdef('%1$s'::regclass)
                ) s ORDER BY line
                """.formatted(mv));
    }

    static long oid(ConnectionSpec db, String mv) {
        return Sql.count(db, "SELECT '" + mv + "'::regclass::oid::bigint");
    }

    static long leftovers(ConnectionSpec db) {
        return Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname LIKE '%\\_opsmv\\_new'");
    }

    @Test
    void aLeafMvIsRebuiltFromItsCatalogDefinitionAndKeepsEverythingKeyedByItsName() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(400, Deployed.SHARED_SEED);
        String reader = "opsmv_t_reader_" + ProcessHandle.current().pid() + "_" + db.database();
        Sql.exec(db,
                "CREATE ROLE " + reader + " NOLOGIN",
                "GRANT SELECT ON " + MATRIX + " TO " + reader + " WITH GRANT OPTION",
                "GRANT SELECT (driver_id, origin_tag) ON " + MATRIX + " TO PUBLIC",
                "COMMENT ON COLUMN " + MATRIX + ".driver_id IS 'the grain'",
                "COMMENT ON INDEX ops.idx_mv_payments_driver_matrix_cabinet_origin_week IS 'the endpoint''s index'",
                "ALTER MATERIALIZED VIEW " + MATRIX + " SET (fillfactor = 90, autovacuum_enabled = false)");
        try {
            // the plan says what auto does with each MV, and why: this one is small, CONCURRENTLY is cheaper
            Cli.Result dry = Cli.on(db, "refresh", "--all", "--dry-run");
            assertEquals(ExitCode.OK, dry.exitCode(), dry.all());
            assertTrue(dry.out().lines().anyMatch(l -> l.contains(MATRIX) && l.contains("CONCURRENTLY") && l.contains("below 4.0 MB")), dry.out());
            assertTrue(dry.out().lines().anyMatch(l -> l.contains("ops.mv_yango_payments_raw_current") && l.contains("CONCURRENTLY")
                    && l.contains("other objects read it")), dry.out());

            List<String> before = identity(db, MATRIX);
            long oidBefore = oid(db, MATRIX);
            // source data changed since the last refresh: the swap must bring it in
            Sql.exec(db, "UPDATE public.claims_cabinet SET status = CASE status WHEN 'rejected' THEN 'accepted' ELSE 'rejected' END WHERE claim_id IN (SELECT claim_id FROM public.claims_cabinet ORDER BY claim_id LIMIT 20)");
            assertTrue(differences(db) > 0, "the MV is stale before the refresh");

            Cli.Result r = Cli.on(db, "refresh", "mv_payments_driver_matrix_cabinet", "--method", "swap");
            assertEquals(ExitCode.OK, r.exitCode(), r.all());
            assertTrue(r.out().contains("SWAP") && r.out().contains("swap lock held"), r.out());

            assertNotEquals(oidBefore, oid(db, MATRIX), "a new relation serves under the old name");
            assertEquals(before, identity(db, MATRIX), "owner, grants, comments, storage parameters, indexes, columns, definition");
            assertEquals(0, differences(db), "rows equal the view");
            assertEquals(0, leftovers(db));
            assertEquals(Boolean.TRUE, Sql.value(db, "SELECT has_table_privilege('" + reader + "', '" + MATRIX + "', 'SELECT')"));

            // exactly one log row for the refresh (the event trigger adds none for the MV built under a temporary name)
            List<Map<String, Object>> rows = log(db, "mv_name = 'mv_payments_driver_matrix_cabinet'");
            assertEquals(1, rows.size(), rows.toString());
            Map<String, Object> row = rows.get(0);
            assertEquals("OK", row.get("status"));
            assertEquals("SWAP", row.get("method"));
            assertEquals(Sql.count(db, "SELECT count(*) FROM " + MATRIX), ((Number) row.get("rows_after_refresh")).longValue());
            assertNotNull(row.get("duration_ms"));
            assertTrue(row.get("fallback_reason").toString().matches("swap lock held \\d+ ms \\(waited \\d+ ms\\)"), row.toString());
            assertNull(row.get("error_message"));
            assertEquals(1, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log"), "no row for anything else");
            // the health views read the log by the MV's name
            assertEquals("OK", Sql.value(db, "SELECT status_bucket FROM ops.v_mv_health WHERE mv_name = 'mv_payments_driver_matrix_cabinet'"));
            assertEquals("SWAP", Sql.value(db, "SELECT method FROM ops.mv_refresh_log WHERE refresh_id = (SELECT max(refresh_id) FROM ops.mv_refresh_log)"));

            // and the next refresh, by any method, works on the MV now serving
            Cli.Result all = Cli.on(db, "refresh", "--all");
            assertEquals(ExitCode.OK, all.exitCode(), all.all());
            assertEquals(7, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'OK' AND method = 'CONCURRENTLY'"));
            assertEquals(before, identity(db, MATRIX));
        } finally {
            Sql.exec(db, "DROP OWNED BY " + reader, "DROP ROLE " + reader);
        }
    }

    /**
     * ops.mv_zz_leaf (id, doubled), created with a search_path that the runner does not have: its catalog
     * definition names zz_src.t unqualified, so the swap must rebuild it from the qualified form.
     */
    static void createLeaf(ConnectionSpec db) {
        createLeaf(db, 3000);
    }

    static void createLeaf(ConnectionSpec db, int rows) {
        Sql.exec(db,
                "CREATE SCHEMA zz_src",
                "CREATE TABLE zz_src.t (id int PRIMARY KEY, v int NOT NULL)",
                "INSERT INTO zz_src.t SELECT g, g FROM generate_series(1, " + rows + ") g");
        try (Connection c = db.open(); Statement st = c.createStatement()) {
            st.execute("SET search_path = zz_src");
            st.execute("CREATE MATERIALIZED VIEW ops.mv_zz_leaf (id, doubled) AS SELECT id, 100000 / v * 0 + v * 2 FROM t");
            st.execute("CREATE UNIQUE INDEX ux_mv_zz_leaf ON ops.mv_zz_leaf (id)");
            st.execute("CREATE UNIQUE INDEX ux_mv_zz_leaf_doubled ON ops.mv_zz_leaf (doubled)");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void autoSwapsAnMvNothingReadsFromFourMegabytesOrWithoutAUniqueIndex() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        createLeaf(db, 130_000); // about 4.6 MB: CREATE INDEX has set pg_class.relpages
        Sql.exec(db,
                "CREATE MATERIALIZED VIEW ops.mv_zz_small AS SELECT id FROM zz_src.t WHERE id <= 100",
                "CREATE UNIQUE INDEX ux_mv_zz_small ON ops.mv_zz_small (id)",
                "CREATE MATERIALIZED VIEW ops.mv_zz_no_key AS SELECT id % 10 AS bucket FROM zz_src.t WHERE id <= 100");
        assertTrue(Sql.count(db, "SELECT relpages::bigint * 8192 FROM pg_class WHERE oid = 'ops.mv_zz_leaf'::regclass") >= RefreshMethod.SWAP_MIN_BYTES);
        Cli.Result r = Cli.on(db, "refresh", "mv_zz_leaf", "mv_zz_small", "mv_zz_no_key");
        assertEquals(ExitCode.OK, r.exitCode(), r.all());
        assertEquals(List.of("ops.mv_zz_leaf SWAP", "ops.mv_zz_no_key SWAP", "ops.mv_zz_small CONCURRENTLY"),
                log(db, "true").stream().map(l -> l.get("mv") + " " + l.get("method")).sorted().toList());
        assertEquals(130_000, Sql.count(db, "SELECT count(*) FROM ops.mv_zz_leaf"));
        assertEquals(0, leftovers(db));
    }

    @Test
    void aRepeatableReadSnapshotOlderThanTheSwapSeesTheNewRowsNotAnEmptyMv() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        createLeaf(db);
        try (Connection rr = db.open("opsmv-tests-rr"); Statement st = rr.createStatement()) {
            rr.setAutoCommit(false);
            st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
            st.executeQuery("SELECT count(*) FROM public.drivers").close(); // the snapshot is taken, the MV not yet locked
            Cli.Result r = Cli.on(db, "refresh", "mv_zz_leaf", "--method", "swap");
            assertEquals(ExitCode.OK, r.exitCode(), r.all());
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM ops.mv_zz_leaf")) {
                rs.next();
                assertEquals(3000, rs.getLong(1), "rows written frozen (REFRESH), visible to the older snapshot");
            }
            rr.rollback();
        }
    }

    @Test
    void theCatalogDefinitionIsRebuiltWhateverTheRunnersSearchPath() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        createLeaf(db);
        List<String> before = identity(db, "ops.mv_zz_leaf");
        Sql.exec(db, "UPDATE zz_src.t SET v = v + 10000 WHERE id <= 10");
        Cli.Result r = Cli.on(db, "refresh", "mv_zz_leaf", "--method", "swap");
        assertEquals(ExitCode.OK, r.exitCode(), r.all());
        assertEquals(before, identity(db, "ops.mv_zz_leaf"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM (SELECT id, v * 2 FROM zz_src.t EXCEPT SELECT * FROM ops.mv_zz_leaf) d"));
        assertEquals(3000, Sql.count(db, "SELECT count(*) FROM ops.mv_zz_leaf"));
    }

    @Test
    void aFailureAtAnyStepLeavesTheOldMvServingUntouchedAndNothingBehind() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        createLeaf(db);
        long oid = oid(db, "ops.mv_zz_leaf");
        String data = checksum(db, "ops.mv_zz_leaf");

        // the query fails (division by zero in the new data)
        Sql.exec(db, "INSERT INTO zz_src.t VALUES (5000, 0)");
        assertFailsAndChangesNothing(db, oid, data, "22012");
        Sql.exec(db, "DELETE FROM zz_src.t WHERE id = 5000");

        // an index fails (a duplicate where the old MV's unique index says there is none)
        Sql.exec(db, "UPDATE zz_src.t SET v = 1 WHERE id = 2");
        assertFailsAndChangesNothing(db, oid, data, "23505");
        Sql.exec(db, "UPDATE zz_src.t SET v = 2 WHERE id = 2");

        // the swap: a transaction keeps reading the old MV past the lock timeout, three times over
        AtomicLong worstWait = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger readerErrors = new AtomicInteger();
        try (Connection holder = db.open("opsmv-tests-long-reader"); Statement st = holder.createStatement()) {
            holder.setAutoCommit(false);
            st.executeQuery("SELECT count(*) FROM ops.mv_zz_leaf").close();
            // a second reader keeps querying: it queues behind each swap attempt for at most the lock timeout
            Thread reader = new Thread(() -> {
                try (Connection c = db.open("opsmv-tests-reader"); Statement rs = c.createStatement()) {
                    while (!stop.get()) {
                        long t = System.nanoTime();
                        rs.executeQuery("SELECT count(*) FROM ops.mv_zz_leaf").close();
                        worstWait.accumulateAndGet((System.nanoTime() - t) / 1_000_000, Math::max);
                        Thread.sleep(5);
                    }
                } catch (Exception e) {
                    readerErrors.incrementAndGet();
                }
            });
            reader.start();
            try {
                assertFailsAndChangesNothing(db, oid, data, "55P03", "--lock-timeout", "300ms");
            } finally {
                stop.set(true);
                reader.join();
                holder.rollback();
            }
        }
        System.out.printf("[measure] a reader queued behind a swap that gave up: worst %d ms (lock timeout 300 ms)%n", worstWait.get());
        assertEquals(0, readerErrors.get());
        assertTrue(worstWait.get() < 300 + 700, "queued at most about one lock timeout: " + worstWait.get() + " ms");
        String last = (String) Sql.value(db, "SELECT error_message FROM ops.mv_refresh_log ORDER BY refresh_id DESC LIMIT 1");
        assertTrue(last.contains("gave up after 3 attempts") && last.contains("the old MV is held by pid")
                && last.contains("'opsmv-tests-long-reader'") && last.contains("idle in transaction"), last);

        // and with nothing in the way, the next run swaps
        Cli.Result ok = Cli.on(db, "refresh", "mv_zz_leaf", "--method", "swap");
        assertEquals(ExitCode.OK, ok.exitCode(), ok.all());
        assertNotEquals(oid, oid(db, "ops.mv_zz_leaf"));
        assertEquals(data, checksum(db, "ops.mv_zz_leaf"));
    }

    private static void assertFailsAndChangesNothing(ConnectionSpec db, long oid, String data, String sqlState, String... options) {
        List<String> argv = new ArrayList<>(List.of("refresh", "mv_zz_leaf", "--method", "swap"));
        argv.addAll(List.of(options));
        Cli.Result r = Cli.on(db, argv.toArray(String[]::new));
        // a lock timeout exits 4 from refresh as from update and reindex (issue 29)
        assertEquals("55P03".equals(sqlState) ? ExitCode.LOCK_TIMEOUT : ExitCode.PROBLEM, r.exitCode(), r.all());
        List<Map<String, Object>> rows = log(db, "mv_name = 'mv_zz_leaf'");
        Map<String, Object> row = rows.get(rows.size() - 1);
        assertEquals("ERROR", row.get("status"), row.toString());
        assertEquals("SWAP", row.get("method"), row.toString());
        assertTrue(row.get("error_message").toString().contains("SQLSTATE " + sqlState), row.toString());
        assertEquals(oid, oid(db, "ops.mv_zz_leaf"), "the old MV serves");
        assertEquals(data, checksum(db, "ops.mv_zz_leaf"), "with its data");
        assertEquals(0, leftovers(db), "the half-built MV is dropped");
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'RUNNING'"));
    }

    @Test
    void readersAndTheEndpointKeepAnsweringAcrossASwapWithinTheLockTimeout() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(3_000, Deployed.SHARED_SEED);
        String query = "SELECT driver_id, week_start FROM " + MATRIX + " WHERE origin_tag = ? ORDER BY week_start DESC, driver_id LIMIT 50";
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong worst = new AtomicLong();
        AtomicLong readsAfter = new AtomicLong();
        AtomicBoolean swapped = new AtomicBoolean();
        List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> readers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            readers.add(new Thread(() -> {
                try (Connection c = db.open("opsmv-tests-reader")) {
                    // server-side prepared from the first execution: its plan names the old MV's OID until it is re-planned
                    c.unwrap(PGConnection.class).setPrepareThreshold(1);
                    try (PreparedStatement ps = c.prepareStatement(query)) {
                        ps.setString(1, "cabinet");
                        while (!stop.get()) {
                            long t = System.nanoTime();
                            boolean after = swapped.get();
                            try (ResultSet rs = ps.executeQuery()) {
                                int n = 0;
                                while (rs.next()) {
                                    n++;
                                }
                                if (n == 0) {
                                    errors.add("empty answer");
                                }
                            } catch (Exception e) {
                                errors.add(e.getMessage());
                            }
                            worst.accumulateAndGet((System.nanoTime() - t) / 1_000_000, Math::max);
                            if (after) {
                                readsAfter.incrementAndGet();
                            }
                        }
                    }
                } catch (Exception e) {
                    errors.add(e.toString());
                }
            }));
        }
        Map<String, Integer> answers = new ConcurrentHashMap<>();
        try (ApiServer api = new ApiServer(db, ApiConfig.defaults().withPort(0))) {
            int port = api.start();
            HttpClient http = HttpClient.newHttpClient();
            URI uri = URI.create("http://127.0.0.1:" + port + ApiServer.DRIVER_MATRIX_PATH + "?origin_tag=cabinet&week_start_from=2000-01-01&limit=20");
            Thread client = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
                        answers.merge(r.statusCode() + " " + r.headers().firstValue(ApiServer.SOURCE_HEADER).orElse("?"), 1, Integer::sum);
                    } catch (Exception e) {
                        answers.merge("exception " + e, 1, Integer::sum);
                    }
                }
            });
            readers.forEach(Thread::start);
            client.start();
            Thread.sleep(1000);
            Cli.Result r = Cli.on(db, "refresh", "mv_payments_driver_matrix_cabinet", "--method", "swap", "--lock-timeout", "1s");
            swapped.set(true);
            Thread.sleep(1000);
            stop.set(true);
            for (Thread t : readers) {
                t.join();
            }
            client.join();
            assertEquals(ExitCode.OK, r.exitCode(), r.all());
        }
        System.out.printf("[measure] readers across a swap of %s: worst %d ms, %d reads after it, endpoint answers %s; %s%n",
                MATRIX, worst.get(), readsAfter.get(), answers,
                Sql.value(db, "SELECT fallback_reason FROM ops.mv_refresh_log WHERE method = 'SWAP' ORDER BY refresh_id DESC LIMIT 1"));
        assertEquals(List.of(), errors, "no reader saw an error or an empty answer");
        assertTrue(readsAfter.get() > 0, "prepared statements went on after the swap (re-planned on the new MV)");
        assertTrue(worst.get() <= 1000, "no reader waited longer than the lock timeout: " + worst.get() + " ms");
        assertEquals(List.of("200 materialized_view"), List.copyOf(new java.util.TreeSet<>(answers.keySet())), answers.toString());
    }

    @Test
    void aRunnerKilledMidBuildLeavesItsTemporaryMvAndTheNextRunRemovesItAndSucceeds() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        // an MV whose index build takes as long as the test says (its key calls a function that sleeps per row)
        createSlowKey(db);
        Sql.exec(db,
                "CREATE MATERIALIZED VIEW ops.mv_zz_slow_index AS SELECT g AS id FROM generate_series(1, 2000) g",
                "CREATE UNIQUE INDEX ux_mv_zz_slow_index ON ops.mv_zz_slow_index (id)",
                "CREATE INDEX ix_mv_zz_slow_index_key ON ops.mv_zz_slow_index (public.slow_key(id))",
                "UPDATE public.slow_config SET seconds = 0.01");
        long oid = oid(db, "ops.mv_zz_slow_index");
        Process runner = RefreshFixtures.process(db).start(RefreshFixtures.withUrl(db, "refresh", "mv_zz_slow_index", "--method", "swap"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname = 'mv_zz_slow_index_opsmv_new'") == 0) {
            assertTrue(runner.isAlive(), "the runner ended before its MV was built");
            assertTrue(System.nanoTime() < deadline, "no mv_zz_slow_index_opsmv_new after 60 s");
            Thread.sleep(50);
        }
        Thread.sleep(300); // inside the slow index build now
        runner.destroyForcibly(); // SIGKILL: no finally block, no cleanup
        assertTrue(runner.waitFor(30, TimeUnit.SECONDS));
        // its temporary MV (with whichever index the second session had finished: they go with the MV)
        assertEquals(1, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname LIKE '%\\_opsmv\\_new' AND relkind = 'm'"),
                "the killed run left its temporary MV");
        assertEquals(1, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_slow_index' AND status = 'RUNNING'"));

        Sql.exec(db, "UPDATE public.slow_config SET seconds = 0");
        // the killed runner's backend stops within seconds (client_connection_check_interval); --wait covers that time
        Cli.Result next = Cli.on(db, "refresh", "mv_zz_slow_index", "--method", "swap", "--wait", "60s");
        assertEquals(ExitCode.OK, next.exitCode(), next.all());
        assertEquals(0, leftovers(db), "the leftover is gone");
        assertNotEquals(oid, oid(db, "ops.mv_zz_slow_index"));
        assertEquals(2000, Sql.count(db, "SELECT count(*) FROM ops.mv_zz_slow_index"));
        assertEquals(List.of("ABANDONED", "OK"),
                Sql.strings(db, "SELECT status FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_slow_index' ORDER BY refresh_id"));
        assertEquals(2, Sql.count(db, "SELECT count(*) FROM pg_index WHERE indrelid = 'ops.mv_zz_slow_index'::regclass AND indisvalid"));
    }

    @Test
    void indexesBuiltOnTwoSessionsStopTogetherWhenOneFails() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        // two indexes, so two sessions: one fails at once (a duplicate), the other would take 100 s (a key that sleeps per row)
        createSlowKey(db);
        Sql.exec(db,
                "CREATE TABLE public.two_src (id int PRIMARY KEY, v int NOT NULL)",
                "INSERT INTO public.two_src SELECT g, g FROM generate_series(1, 2000) g",
                "CREATE MATERIALIZED VIEW ops.mv_zz_two AS SELECT id, v FROM public.two_src",
                "CREATE UNIQUE INDEX ux_mv_zz_two_v ON ops.mv_zz_two (v)",
                "CREATE INDEX ix_mv_zz_two_slow ON ops.mv_zz_two (public.slow_key(id))",
                "UPDATE public.slow_config SET seconds = 0.05",
                "UPDATE public.two_src SET v = 1 WHERE id = 2");
        long oid = oid(db, "ops.mv_zz_two");
        long t0 = System.nanoTime();
        Cli.Result r = Cli.on(db, "refresh", "mv_zz_two", "--method", "swap");
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        assertEquals(ExitCode.PROBLEM, r.exitCode(), r.all());
        List<Map<String, Object>> rows = log(db, "mv_name = 'mv_zz_two'");
        Map<String, Object> row = rows.get(rows.size() - 1);
        assertEquals("ERROR", row.get("status"), row.toString());
        assertTrue(row.get("error_message").toString().contains("SQLSTATE 23505"), row.toString());
        assertTrue(seconds < 30, "the slow build on the other session was cancelled, not waited for (" + seconds + " s; 100 s uncancelled)");
        assertEquals(oid, oid(db, "ops.mv_zz_two"), "the old MV serves");
        assertEquals(0, leftovers(db), "the half-built MV is dropped");
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'opsmv-refresh-index' "
                + "OR (query LIKE '%slow_key%' AND pid <> pg_backend_pid())"), "the second session is closed, nothing of it runs");

        // with the duplicate gone and a fast key, the swap builds both indexes on two sessions and succeeds
        Sql.exec(db, "UPDATE public.two_src SET v = 2 WHERE id = 2", "UPDATE public.slow_config SET seconds = 0");
        Cli.Result ok = Cli.on(db, "refresh", "mv_zz_two", "--method", "swap");
        assertEquals(ExitCode.OK, ok.exitCode(), ok.all());
        assertNotEquals(oid, oid(db, "ops.mv_zz_two"));
        assertEquals(2, Sql.count(db, "SELECT count(*) FROM pg_index WHERE indrelid = 'ops.mv_zz_two'::regclass AND indisvalid"));
        assertEquals(List.of("ix_mv_zz_two_slow", "ux_mv_zz_two_v"),
                Sql.strings(db, "SELECT indexname FROM pg_indexes WHERE schemaname = 'ops' AND tablename = 'mv_zz_two' ORDER BY 1"));
    }

    /** public.slow_key(k): k, after sleeping public.slow_config.seconds; an index on it builds as slowly as a test needs. */
    static void createSlowKey(ConnectionSpec db) {
        Sql.exec(db,
                "CREATE TABLE public.slow_config (seconds float8 NOT NULL)",
                "INSERT INTO public.slow_config VALUES (0)",
                """
                CREATE FUNCTION public.slow_key(k int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
                BEGIN
                    PERFORM pg_sleep((SELECT seconds FROM public.slow_config));
                    RETURN k;
                END $$
                """);
    }

    @Test
    void whenNoSecondSessionOpensTheIndexesAreBuiltOnTheOneThereIs() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        createLeaf(db);
        long oid = oid(db, "ops.mv_zz_leaf");
        List<String> before = identity(db, "ops.mv_zz_leaf");
        String data = checksum(db, "ops.mv_zz_leaf");
        try (Connection c = db.open("opsmv-tests-swap")) {
            // what a server out of connection slots answers (53300): the swap goes on with its own session
            dev.opsmv.swap.SideBySideSwap.Swapped s = new dev.opsmv.swap.SideBySideSwap(c, java.time.Duration.ofSeconds(2), () -> {
                throw new java.sql.SQLException("sorry, too many clients already", "53300");
            }).refresh("ops", "mv_zz_leaf", null);
            assertEquals(3000, s.rows());
        }
        assertNotEquals(oid, oid(db, "ops.mv_zz_leaf"));
        assertEquals(before, identity(db, "ops.mv_zz_leaf"), "both indexes, same names, valid");
        assertEquals(data, checksum(db, "ops.mv_zz_leaf"));
        assertEquals(0, leftovers(db));
    }

    @Test
    void anMvThatOthersReadIsNeverSwapped() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        String raw = "ops.mv_yango_payments_raw_current";
        long oid = oid(db, raw);
        Cli.Result r = Cli.on(db, "refresh", "mv_yango_payments_raw_current", "--method", "swap");
        assertEquals(ExitCode.PROBLEM, r.exitCode(), r.all());
        Map<String, Object> row = log(db, "true").get(0);
        assertEquals("ERROR", row.get("status"));
        assertEquals("SWAP", row.get("method"));
        assertTrue(row.get("error_message").toString().contains("other objects read it (ops.mv_claims_payment_status_cabinet, ops.mv_yango_payments_ledger_latest)"),
                row.toString());
        assertEquals(1, log(db, "true").size(), "refused before anything ran");
        assertEquals(oid, oid(db, raw));
        assertEquals(0, leftovers(db));

        // a plain view reading a leaf makes it a dependent too: auto keeps it CONCURRENTLY
        createLeaf(db);
        Sql.exec(db, "CREATE VIEW public.v_zz_report AS SELECT count(*) FROM ops.mv_zz_leaf");
        long leaf = oid(db, "ops.mv_zz_leaf");
        Cli.Result auto = Cli.on(db, "refresh", "mv_zz_leaf");
        assertEquals(ExitCode.OK, auto.exitCode(), auto.all());
        assertEquals("CONCURRENTLY", Sql.value(db, "SELECT method FROM ops.mv_refresh_log ORDER BY refresh_id DESC LIMIT 1"));
        assertEquals(leaf, oid(db, "ops.mv_zz_leaf"));
        Cli.Result swap = Cli.on(db, "refresh", "mv_zz_leaf", "--method", "swap");
        assertEquals(ExitCode.PROBLEM, swap.exitCode(), swap.all());
        assertTrue(swap.out().contains("public.v_zz_report"), swap.out());
        assertEquals(leaf, oid(db, "ops.mv_zz_leaf"));
    }

    @Test
    void theRefresherRoleKeepsRefreshingAfterASwapAndIsNeverOfferedOne() throws Exception {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        Roles.apply(db, Changelog.REFRESHER_ROLE);
        ConnectionSpec asLogin = Roles.login(db, "swap", "opsmv_refresher");
        String login = asLogin.user();
        try {
            assertEquals(ExitCode.OK, Cli.on(db, "refresh", "mv_payments_driver_matrix_cabinet", "--method", "swap").exitCode());
            // the allow-list and the function are keyed by the MV's name: the refresher refreshes the new MV
            Cli.Result all = Cli.on(asLogin, "refresh", "--all");
            assertEquals(ExitCode.OK, all.exitCode(), all.all());
            assertEquals(7, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE refreshed_by = '" + login
                    + "' AND status = 'OK' AND method = 'CONCURRENTLY'"), "auto never swaps an MV this login does not own");
            Cli.Result swap = Cli.on(asLogin, "refresh", "mv_payments_driver_matrix_cabinet", "--method", "swap");
            assertEquals(ExitCode.PROBLEM, swap.exitCode(), swap.all());
            assertTrue(swap.out().contains("connect as its owner"), swap.out());
            assertEquals(0, leftovers(db));
        } finally {
            Sql.exec(db, "DROP OWNED BY " + login, "DROP ROLE " + login);
            try (Connection c = db.open()) {
                Migrator.changelog(c, Changelog.REFRESHER_ROLE, null).rollbackCount(4);
            }
        }
    }

    @Test
    void methodAndItsOlderSpellingAreOneChoice() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(50, Deployed.SHARED_SEED);
        Cli.Result both = Cli.on(db, "refresh", "--all", "--method", "swap", "--concurrently", "always");
        assertEquals(ExitCode.USAGE, both.exitCode(), both.all());
        assertTrue(both.err().contains("--method and --concurrently"), both.err());
        Cli.Result bad = Cli.on(db, "refresh", "--all", "--method", "rebuild");
        assertEquals(ExitCode.USAGE, bad.exitCode(), bad.all());
        assertTrue(bad.err().contains("'rebuild' is not one of auto, concurrently, plain, swap"), bad.err());
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log"));
        Cli.Result old = Cli.on(db, "refresh", "mv_payments_driver_matrix_cabinet", "--concurrently", "always");
        assertEquals(ExitCode.OK, old.exitCode(), old.all());
        assertEquals("CONCURRENTLY", Sql.value(db, "SELECT method FROM ops.mv_refresh_log"));
    }

    /** Rows of the MV not in the view plus rows of the view not in the MV. */
    static long differences(ConnectionSpec db) {
        return Sql.count(db, "SELECT (SELECT count(*) FROM (SELECT * FROM " + MATRIX + " EXCEPT ALL SELECT * FROM " + MATRIX_VIEW + ") a)"
                + " + (SELECT count(*) FROM (SELECT * FROM " + MATRIX_VIEW + " EXCEPT ALL SELECT * FROM " + MATRIX + ") b)");
    }
}
