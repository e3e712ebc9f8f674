package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.TestPostgres;
import dev.opsmv.testing.StockCli;

/**
 * Issue 25: a database at any release of the bundle whose Liquibase history is gone (a dump of schema
 * {@code ops} restored elsewhere, the history table dropped by mistake) is adopted by the first
 * {@code update}: each object as the version it holds, no MV rebuilt that already is the latest version
 * (same OID), every refresh-log row kept, and the end state is a fresh deployment's. The releases are read
 * from the changelog itself, so every later release is covered without touching this test.
 */
@Tag("matrix")
class ReleasedShapesAdoptTest {
    static final long DRIVERS = 300;

    static Stream<String> releases() throws Exception {
        try (Connection c = TestPostgres.admin().open("opsmv-tests")) {
            return Migrator.bundle(c, null).changelogTags().stream().filter(t -> !t.equals("opsmv-empty")).toList().stream();
        }
    }

    /** Each MV of schema ops with its OID. */
    static Map<String, Long> mvOids(ConnectionSpec db) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (Map<String, Object> r : Sql.rows(db, "SELECT matviewname, ('ops.' || quote_ident(matviewname))::regclass::oid::bigint AS oid "
                + "FROM pg_matviews WHERE schemaname = 'ops' ORDER BY 1")) {
            out.put((String) r.get("matviewname"), ((Number) r.get("oid")).longValue());
        }
        return out;
    }

    /** A database deployed to {@code release}, with months of refreshes in its log, then its Liquibase history gone. */
    static ConnectionSpec withoutHistory(String release) {
        ConnectionSpec db = Deployed.bundleDatabase(DRIVERS, Deployed.SHARED_SEED, release);
        Sql.exec(db,
                "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, status, method, rows_after_refresh) "
                        + "SELECT 'ops', p.mv_name, now() - g * interval '1 hour' - interval '2 minutes', now() - g * interval '1 hour', 'OK', 'CONCURRENTLY', 100 "
                        + "FROM ops.mv_refresh_policy p, generate_series(1, 30) g",
                "DROP TABLE databasechangelog",
                "DROP TABLE databasechangeloglock");
        return db;
    }

    /** The MVs whose OID changed. */
    static List<String> rebuilt(Map<String, Long> before, Map<String, Long> after) {
        List<String> out = new ArrayList<>();
        before.forEach((mv, oid) -> {
            if (!oid.equals(after.get(mv))) {
                out.add(mv);
            }
        });
        return out;
    }

    @ParameterizedTest(name = "a database at {0} without its Liquibase history")
    @MethodSource("releases")
    void aDatabaseAtAnyReleaseWithoutItsHistoryIsAdopted(String release) throws Exception {
        List<String> fresh = Catalog.snapshot(Deployed.bundleDatabase(DRIVERS, Deployed.SHARED_SEED));
        ConnectionSpec db = withoutHistory(release);
        long logRows = Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log");
        Map<String, Long> oidsBefore = mvOids(db);

        Cli.Result update = Cli.run("update", "--url", Cli.url(db));
        assertEquals(0, update.exitCode(), release + ": " + update);
        assertEquals(logRows, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log"), "every history row kept");
        assertEquals(fresh, Catalog.snapshot(db), "the end state is a fresh deployment's");
        if (release.equals("v1.0")) {
            // v1.1's rebuild of the driver matrix is an upgrade here, as on a database that kept its history
            assertTrue(update.out().contains("plan: adopt    ops.mv_payments_driver_matrix_cabinet (materialized view): identical\n"), update.out());
            assertEquals(List.of("mv_payments_driver_matrix_cabinet"), rebuilt(oidsBefore, mvOids(db)));
        } else {
            assertTrue(update.out().contains("plan: adopt    ops.mv_payments_driver_matrix_cabinet (materialized view): "
                    + "identical to its later version v1.1-mv_payments_driver_matrix_cabinet"), "the plan names the version it holds: " + update.out());
            assertEquals(List.of(), rebuilt(oidsBefore, mvOids(db)), "no MV that already is its latest version is rebuilt");
        }
        Cli.Result again = Cli.run("update", "--url", Cli.url(db));
        assertEquals(0, again.exitCode(), again.toString());
        assertTrue(again.out().contains("0 changeset(s) applied"), again.out());
    }

    /** The stock Liquibase CLI (the runner's line) adopts the oldest and the newest release's shape the same way. */
    @Tag("once")
    @ParameterizedTest(name = "the stock CLI adopts a database at {0} without its history")
    @MethodSource("oldestAndNewest")
    void theStockCliAdoptsTheOldestAndTheNewestShape(String release) throws Exception {
        List<String> fresh = Catalog.snapshot(Deployed.bundleDatabase(DRIVERS, Deployed.SHARED_SEED));
        ConnectionSpec db = withoutHistory(release);
        long logRows = Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log");
        Map<String, Long> oidsBefore = mvOids(db);
        StockCli.Result update = StockCli.runnersLine().run(db, "update");
        assertEquals(0, update.exitCode(), update.output());
        assertEquals(logRows, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log"));
        assertEquals(fresh, Catalog.snapshot(db));
        assertEquals(release.equals("v1.0") ? List.of("mv_payments_driver_matrix_cabinet") : List.of(), rebuilt(oidsBefore, mvOids(db)));
    }

    static Stream<String> oldestAndNewest() throws Exception {
        List<String> all = releases().toList();
        return Stream.of(all.get(0), all.get(all.size() - 1));
    }
}
