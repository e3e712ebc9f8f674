package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.api.DriverMatrixQuery;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.health.HealthCheck;
import dev.opsmv.health.Level;
import dev.opsmv.db.MvGraph;
import dev.opsmv.refresh.RefreshEngine;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Releases;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.StockCli;

/**
 * Issue 7: release v1.1 changes the driver-matrix plain view (adds last_paid_date) on a populated
 * v1.0 database: the dependent MV is rebuilt and swapped in while readers keep reading, and
 * `rollback --tag v1.0` gives back exactly the v1.0 catalog, with data.
 */
@Tag("matrix")
class ReleaseV11Test {
    static final String VIEW = "ops.v_payments_driver_matrix_cabinet";
    static final String MATRIX = "ops.mv_payments_driver_matrix_cabinet";
    static final String CLAIMS = "ops.mv_yango_cabinet_claims_for_collection";

    /** What depends on the view, straight from the catalog (pg_rewrite rules that reference it). */
    static final String DEPENDENTS_OF_VIEW = """
            SELECT DISTINCT dn.nspname || '.' || dc.relname
            FROM pg_depend d
            JOIN pg_rewrite rw ON rw.oid = d.objid
            JOIN pg_class dc ON dc.oid = rw.ev_class
            JOIN pg_namespace dn ON dn.oid = dc.relnamespace
            WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
              AND d.refobjid = 'ops.v_payments_driver_matrix_cabinet'::regclass
              AND rw.ev_class <> d.refobjid
            ORDER BY 1
            """;

    static ConnectionSpec v10Database(long drivers, long seed) {
        return Deployed.bundleDatabase(drivers, seed, "v1.0");
    }

    @Test
    void upgradeRebuildsTheDriverMatrixWhileReadersKeepReading() throws Exception {
        ConnectionSpec db = v10Database(8_000, 21);
        assertEquals(List.of(MATRIX), Sql.strings(db, DEPENDENTS_OF_VIEW), "the MVs v1.1 rebuilds are the view's dependents in pg_depend");
        long matrixRowsBefore = Sql.count(db, "SELECT count(*) FROM " + MATRIX);

        Reader claims = new Reader(db, "SELECT count(*), sum(amount_due) FROM " + CLAIMS);
        Reader matrix = new Reader(db, "SELECT count(*), sum(paid_total) FROM " + MATRIX + " WHERE origin_tag = 'cabinet'");
        claims.start();
        matrix.start();
        long started = System.nanoTime();
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).update();
        } finally {
            claims.stop();
            matrix.stop();
        }
        long upgradeMs = (System.nanoTime() - started) / 1_000_000;
        System.out.printf("[v1.1 upgrade] %d drivers: update took %d ms%n", matrixRowsBefore, upgradeMs);
        System.out.printf("[v1.1 upgrade] claims MV reader: %d reads, %d errors, longest gap %d ms%n", claims.reads, claims.errors.size(), claims.longestGapMs);
        System.out.printf("[v1.1 upgrade] driver-matrix MV reader: %d reads, %d errors %s, longest gap between answers %d ms (the time the driver matrix was unavailable)%n",
                matrix.reads, matrix.errors.size(), matrix.errors.stream().distinct().toList(), matrix.longestGapMs);
        assertEquals(List.of(), claims.errors, "the claims MV is never unavailable during the upgrade");
        assertTrue(claims.reads > 0 && matrix.reads > 0, "both readers ran");

        assertEquals(Releases.LAST, lastTag(db));
        // every MV populated with a valid unique index usable by REFRESH CONCURRENTLY, and holding rows
        for (String mv : BundleUpdateTest.MVS) {
            assertEquals(Boolean.TRUE, Sql.value(db, "SELECT ispopulated FROM pg_matviews WHERE schemaname = 'ops' AND matviewname = '" + mv + "'"), mv);
            assertEquals(1, uniqueValidIndexes(db, mv), mv);
            assertTrue(Sql.count(db, "SELECT count(*) FROM ops." + mv) > 0, mv);
        }
        assertEquals(7, Sql.count(db, "SELECT count(*) FROM pg_matviews WHERE schemaname = 'ops'"));
        // v1.1's filter indexes carry the endpoint's order (week_start DESC, driver_id ASC), with and without origin_tag.
        assertEquals(List.of(
                        "idx_mv_payments_driver_matrix_cabinet_origin_week: (origin_tag, week_start DESC, driver_id)",
                        "idx_mv_payments_driver_matrix_cabinet_week: (week_start DESC, driver_id)",
                        "ux_mv_payments_driver_matrix_cabinet_grain: (driver_id)"),
                Sql.strings(db, "SELECT indexname || ': ' || substring(indexdef from '\\(.*\\)') FROM pg_indexes WHERE schemaname = 'ops' AND tablename = 'mv_payments_driver_matrix_cabinet' ORDER BY 1"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname LIKE '%\\_v02%' OR relname LIKE '%retired%'"), "no temporary object is left");
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"));
        assertTrue(Sql.value(db, "SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = 'ops' AND relname = 'mv_payments_driver_matrix_cabinet'") != null
                        || Sql.count(db, "SELECT count(*) FROM pg_statistic WHERE starelid = '" + MATRIX + "'::regclass") > 0,
                "the rebuilt MV has statistics");

        // the new column: last in the view and in the MV, same type, same values
        assertEquals("last_paid_date:date", lastColumn(db, "v_payments_driver_matrix_cabinet"));
        assertEquals("last_paid_date:date", lastColumn(db, "mv_payments_driver_matrix_cabinet"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM (SELECT * FROM " + MATRIX + " EXCEPT SELECT * FROM " + VIEW + ") d"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM (SELECT * FROM " + VIEW + " EXCEPT SELECT * FROM " + MATRIX + ") d"));
        assertEquals(matrixRowsBefore, Sql.count(db, "SELECT count(*) FROM " + MATRIX));
        assertTrue(Sql.count(db, "SELECT count(*) FROM " + MATRIX + " WHERE last_paid_date IS NOT NULL") > 0, "some drivers were paid");
        assertEquals(0, Sql.count(db, """
                SELECT count(*) FROM ops.mv_payments_driver_matrix_cabinet m
                LEFT JOIN (SELECT driver_id, max(last_paid_date) AS d FROM ops.mv_yango_payments_ledger_latest GROUP BY driver_id) l USING (driver_id)
                WHERE m.last_paid_date IS DISTINCT FROM l.d
                """), "last_paid_date is the driver's latest paid date in the ledger");
        // the policy row is still there, and the rebuilt MV refreshes concurrently
        assertEquals(7, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_policy"));
        assertEquals(Boolean.TRUE, Sql.value(db, "SELECT is_critical FROM ops.mv_refresh_policy WHERE mv_name = 'mv_payments_driver_matrix_cabinet'"));
        assertEquals(List.of(MATRIX), Sql.strings(db, DEPENDENTS_OF_VIEW), "the MV reads the view again after the swap");

        // after the upgrade, what cron runs: refresh --all (CONCURRENTLY, or SWAP: an MV nothing reads, or a chain with all its readers), then health is OK
        RefreshEngine.Result refreshed = new RefreshEngine(db, RefreshEngine.Options.defaults(), line -> { })
                .run(List.of(), true, false, () -> false);
        assertEquals(7, refreshed.outcomes().size());
        MvGraph graph;
        try (Connection c = db.open()) {
            graph = MvGraph.load(c);
        }
        for (RefreshEngine.Outcome o : refreshed.outcomes()) {
            assertEquals("OK", o.status(), o.toString());
            // an MV others read is swapped only with everything that reads it (a chain swap), never alone
            assertTrue(o.method().equals("CONCURRENTLY") || o.method().equals("SWAP")
                    && (graph.downstreamOf(o.mv()).isEmpty() || o.message() != null && o.message().startsWith("chain swap of ")), o.toString());
        }
        try (Connection c = db.open()) {
            assertEquals(Level.OK, HealthCheck.run(c).overall());
        }

        // the endpoint's SQL serves the new column
        DriverMatrixQuery q = DriverMatrixQuery.parse(java.util.Map.of("limit", List.of("1000")), java.time.LocalDate.now());
        List<java.util.Map<String, Object>> page = Sql.rows(db, q.literalSql(DriverMatrixQuery.MV));
        assertTrue(!page.isEmpty() && page.get(0).containsKey("last_paid_date"), "the endpoint's query returns last_paid_date");
        assertTrue(page.stream().anyMatch(r -> r.get("last_paid_date") != null), "and some page rows carry one");
    }

    @Test
    void rollbackToV10GivesBackTheV10CatalogWithData() throws Exception {
        ConnectionSpec reference = v10Database(1_500, Deployed.SHARED_SEED);
        ConnectionSpec db = v10Database(1_500, Deployed.SHARED_SEED);
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).update();
        }
        assertEquals(Releases.LAST, lastTag(db));

        Reader claims = new Reader(db, "SELECT count(*) FROM " + CLAIMS);
        Reader matrix = new Reader(db, "SELECT count(*) FROM " + MATRIX + " WHERE origin_tag = 'fleet'");
        claims.start();
        matrix.start();
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).rollbackToTag("v1.0");
        } finally {
            claims.stop();
            matrix.stop();
        }
        System.out.printf("[v1.1 rollback] driver-matrix MV reader: %d reads, %d errors %s, longest gap %d ms%n",
                matrix.reads, matrix.errors.size(), matrix.errors.stream().distinct().toList(), matrix.longestGapMs);
        assertEquals(List.of(), claims.errors, "the claims MV is never unavailable during the rollback");

        assertEquals(Catalog.snapshot(reference), Catalog.snapshot(db), "objects, columns and indexes equal a fresh v1.0 deployment");
        // Every changelog tag keeps its row on rollback (keepTagOnRollback): the history is a v1.0 deployment's.
        assertEquals(Catalog.history(reference), Catalog.history(db));
        assertEquals("v1.0", lastTag(db));
        for (String mv : BundleUpdateTest.MVS) {
            assertTrue(Sql.count(db, "SELECT count(*) FROM ops." + mv) > 0, mv + " holds data after the rollback");
        }
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM (SELECT * FROM " + MATRIX + " EXCEPT SELECT * FROM " + VIEW + ") d"));
        assertEquals(Sql.count(reference, "SELECT count(*) FROM " + MATRIX), Sql.count(db, "SELECT count(*) FROM " + MATRIX));
        assertEquals(List.of(MATRIX), Sql.strings(db, DEPENDENTS_OF_VIEW), "the restored MV reads the restored view");
        assertEquals(7, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_policy"));

        // and the release can be applied again
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).update();
        }
        assertEquals(Releases.LAST, lastTag(db));
        assertEquals("last_paid_date:date", lastColumn(db, "mv_payments_driver_matrix_cabinet"));
    }

    @Test
    // "once": the stock CLI sends the server the changelog's SQL, which the runner's rollbacks above send on every major
    @Tag("once")
    void onCallRollsBackWithTheStockLiquibaseCliAndUpdateTestingRollbackRoundTrips() throws Exception {
        ConnectionSpec reference = v10Database(300, Deployed.SHARED_SEED);
        ConnectionSpec db = v10Database(300, Deployed.SHARED_SEED);
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).update();
        }
        String out = stockCli(db, "rollback", "--tag=v1.0");
        assertEquals(Catalog.snapshot(reference), Catalog.snapshot(db), out);
        assertEquals(Catalog.history(reference), Catalog.history(db), out);
        assertTrue(Sql.count(db, "SELECT count(*) FROM " + MATRIX) > 0);

        // The round trip docs/DEFINITION_CHANGES.md asks for before review: update, roll back, update.
        stockCli(db, "update-testing-rollback");
        try (Connection c = reference.open()) {
            Migrator.bundle(c, null).update();
        }
        assertEquals(Catalog.snapshot(reference), Catalog.snapshot(db));
        assertEquals(Catalog.history(reference), Catalog.history(db));
        assertEquals(Releases.LAST, lastTag(db));
    }

    static String stockCli(ConnectionSpec db, String... command) throws Exception {
        StockCli.Result r = StockCli.runnersLine().run(db, command);
        assertEquals(0, r.exitCode(), String.join(" ", command) + ": " + r.output());
        return r.output();
    }

    @Test
    void rollingBackOnlyTheMvChangesetLeavesAServingMvAndUpdateReappliesIt() throws Exception {
        ConnectionSpec db = v10Database(300, Deployed.SHARED_SEED);
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).updateToTag("v1.1");
            // the v1.1 tag, release 1.5's restore after the rebuild (its rollback captures the MV again) and the MV
            // changeset, whose rollback is empty: the view changeset's rollback rebuilds the MV
            Migrator.bundle(c, null).rollbackCount(3);
            assertEquals(List.of("changelog/ops/mviews/mv_payments_driver_matrix_cabinet_v02.sql::v1.1-mv_payments_driver_matrix_cabinet::opsmv",
                    "changelog/releases/v1.1.yaml::v1.1-tag::opsmv"),
                    Migrator.bundle(c, null).pendingChangeSets().stream().filter(id -> id.contains("::v1.1-")).toList(),
                    "of release v1.1, only these two are pending (later releases were never applied)");
        }
        assertEquals(Boolean.TRUE, Sql.value(db, "SELECT ispopulated FROM pg_matviews WHERE schemaname = 'ops' AND matviewname = 'mv_payments_driver_matrix_cabinet'"));
        assertEquals(1, uniqueValidIndexes(db, "mv_payments_driver_matrix_cabinet"));
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).update();
        }
        assertEquals(Releases.LAST, lastTag(db));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM (SELECT * FROM " + MATRIX + " EXCEPT SELECT * FROM " + VIEW + ") d"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM (SELECT * FROM " + VIEW + " EXCEPT SELECT * FROM " + MATRIX + ") d"));
    }

    @Test
    void anUnknownDependentOfTheViewHaltsTheUpgradeBeforeAnyChange() throws Exception {
        ConnectionSpec db = v10Database(300, Deployed.SHARED_SEED);
        Sql.exec(db, "CREATE VIEW public.report_matrix_cabinet AS SELECT driver_id, paid_total FROM ops.mv_payments_driver_matrix_cabinet");
        List<String> before = withoutCarry(Catalog.snapshot(db));
        Exception failure;
        try (Connection c = db.open()) {
            failure = assertThrows(Exception.class, () -> Migrator.bundle(c, null).update());
        }
        String message = DuplicateGrainTest.fullMessage(failure);
        assertTrue(message.contains("has dependents release v1.1 does not rebuild"), message);
        // release 1.5's carry functions and table come first in v1.1's changelog (they run before the view changeset
        // halts), and the capture they ran is committed; the MV, the view and every other object are as they were
        assertEquals(before, withoutCarry(Catalog.snapshot(db)), "nothing changed");
        assertEquals("v1.0", lastTag(db));
    }

    static List<String> withoutCarry(List<String> catalog) {
        return catalog.stream().filter(l -> !l.contains("opsmv_carr")).toList();
    }

    @Test
    void updateSqlAndRollbackSqlShowTheDbaTheWholeReleaseAndItsRollback() throws Exception {
        ConnectionSpec db = v10Database(300, Deployed.SHARED_SEED);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).updateSql(out);
        }
        String sql = out.toString(StandardCharsets.UTF_8);
        assertTrue(sql.contains("CREATE OR REPLACE VIEW ops.v_payments_driver_matrix_cabinet"), sql);
        assertTrue(sql.contains("CREATE MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet_v02"), sql);
        assertTrue(sql.contains("RENAME TO mv_payments_driver_matrix_cabinet"), sql);
        assertTrue(sql.contains("SET LOCAL lock_timeout = '5s'"), sql);
        assertTrue(!sql.contains("CREATE VIEW ops.v_mv_health"), "only the pending release is shown");
        assertEquals("v1.0", lastTag(db), "update-sql changes nothing");

        // and the rollback on-call would run, reviewed the same way
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).update();
            ByteArrayOutputStream rollback = new ByteArrayOutputStream();
            Migrator.bundle(c, null).rollbackToTagSql("v1.0", rollback);
            String rb = rollback.toString(StandardCharsets.UTF_8);
            assertTrue(rb.contains("RENAME TO v_payments_driver_matrix_cabinet_v02_retired"), rb);
            assertTrue(rb.contains("CREATE MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet_v01"), rb);
            assertTrue(rb.contains("DROP VIEW ops.v_payments_driver_matrix_cabinet_v02_retired"), rb);
        }
        assertEquals(Releases.LAST, lastTag(db), "rollback-sql changes nothing");
    }

    static String lastTag(ConnectionSpec db) {
        return (String) Sql.value(db, "SELECT tag FROM databasechangelog WHERE tag IS NOT NULL ORDER BY orderexecuted DESC LIMIT 1");
    }

    static String lastColumn(ConnectionSpec db, String relation) {
        return (String) Sql.value(db, """
                SELECT a.attname || ':' || format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                WHERE a.attrelid = 'ops.%s'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum DESC LIMIT 1
                """.formatted(relation));
    }

    static long uniqueValidIndexes(ConnectionSpec db, String mv) {
        return Sql.count(db, """
                SELECT count(*) FROM pg_index i
                JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
                WHERE n.nspname = 'ops' AND t.relname = '%s' AND i.indisunique AND i.indisvalid
                  AND i.indpred IS NULL AND i.indexprs IS NULL
                """.formatted(mv));
    }

    /** A client reading one query in a loop on its own connection: counts answers, errors and the longest wait between answers. */
    static final class Reader {
        final ConnectionSpec db;
        final String sql;
        final AtomicBoolean running = new AtomicBoolean(true);
        final List<String> errors = Collections.synchronizedList(new ArrayList<>());
        volatile long reads;
        volatile long longestGapMs;
        Thread thread;

        Reader(ConnectionSpec db, String sql) {
            this.db = db;
            this.sql = sql;
        }

        void start() throws InterruptedException {
            thread = new Thread(this::loop, "reader");
            thread.start();
            while (reads == 0 && errors.isEmpty() && thread.isAlive()) {
                Thread.sleep(5);
            }
        }

        void loop() {
            try (Connection c = db.open("opsmv-test-reader"); Statement st = c.createStatement()) {
                c.setAutoCommit(true);
                long last = System.nanoTime();
                while (running.get()) {
                    try (ResultSet rs = st.executeQuery(sql)) {
                        rs.next();
                        long now = System.nanoTime();
                        longestGapMs = Math.max(longestGapMs, (now - last) / 1_000_000);
                        last = now;
                        reads++;
                    } catch (SQLException e) {
                        errors.add(e.getSQLState() + " " + e.getMessage());
                    }
                    Thread.sleep(2);
                }
            } catch (SQLException | InterruptedException e) {
                errors.add("reader connection: " + e.getMessage());
            }
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join(30_000);
        }
    }
}
