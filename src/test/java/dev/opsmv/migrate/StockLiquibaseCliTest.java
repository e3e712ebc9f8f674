package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.StockCli;

/**
 * Issues 2 and 12: the stock Liquibase command line of each supported line (4.33.x, which the runner
 * embeds, and 5.0.x) applies the same changelog from the file system, re-applies it with nothing
 * pending, rolls back to each tag and applies it again, and every step leaves DATABASECHANGELOG rows
 * equal to the runner's doing the same on another database.
 */
// Not in the version matrix (about 80 s per line): what differs between PostgreSQL majors is the
// runner's own migrations, tagged "matrix" in RollbackTest, BundleUpdateTest and the others.
class StockLiquibaseCliTest {

    static Stream<StockCli> lines() {
        return StockCli.all().stream();
    }

    static List<String> rows(ConnectionSpec db) {
        return Catalog.changelogRows(db);
    }

    /** What the runner leaves on a database doing each step the CLI is asked to: the same for every line, so done once. */
    record RunnersSteps(List<String> applied, List<String> catalog, List<String> tags, Map<String, List<String>> afterRollbackTo,
                        List<String> reapplied) {
    }

    static RunnersSteps runner;

    @BeforeAll
    static void theRunnerDoesEachStepOnce() throws Exception {
        ConnectionSpec viaRunner = Deployed.bundleDatabase(800, Deployed.SHARED_SEED);
        List<String> applied = rows(viaRunner);
        List<String> catalog = Catalog.snapshot(viaRunner);
        List<String> tags = Sql.strings(viaRunner, "SELECT tag FROM databasechangelog WHERE tag IS NOT NULL ORDER BY orderexecuted DESC");
        Map<String, List<String>> afterRollbackTo = new LinkedHashMap<>();
        for (String tag : tags) {
            try (Connection c = viaRunner.open()) {
                Migrator.bundle(c, null).rollbackToTag(tag);
            }
            afterRollbackTo.put(tag, rows(viaRunner));
        }
        try (Connection c = viaRunner.open()) {
            Migrator.bundle(c, null).update();
        }
        runner = new RunnersSteps(applied, catalog, tags, afterRollbackTo, rows(viaRunner));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("lines")
    void stockCliAppliesReappliesRollsBackToEachTagAndReappliesWithTheRunnersRows(StockCli cli) throws Exception {
        ConnectionSpec viaCli = Deployed.fixtureDatabase(800, Deployed.SHARED_SEED, 0);

        ok(cli, cli.run(viaCli, "update"));
        List<String> applied = runner.applied();
        assertEquals(applied, rows(viaCli), cli + ": update");
        assertEquals(runner.catalog(), Catalog.snapshot(viaCli), cli + ": the same objects");

        // nothing pending: a second update runs nothing and records nothing
        ok(cli, cli.run(viaCli, "update"));
        assertEquals(applied, rows(viaCli), cli + ": a second update changes no row");
        List<String> executed = Sql.strings(viaCli, "SELECT id || ' ' || dateexecuted FROM databasechangelog ORDER BY orderexecuted");
        StockCli.Result status = cli.run(viaCli, "status");
        ok(cli, status);
        assertTrue(status.output().contains("is up to date"), cli + " status: " + status.output());
        assertEquals(executed, Sql.strings(viaCli, "SELECT id || ' ' || dateexecuted FROM databasechangelog ORDER BY orderexecuted"));

        List<String> tags = runner.tags();
        assertEquals(List.of("v1.7", "v1.6", "v1.5", "v1.4", "v1.3", "v1.2", "v1.1", "v1.0", "opsmv-empty"), tags.subList(0, 9), "the changelog's tags, newest first");
        for (String tag : tags) {
            ok(cli, cli.run(viaCli, "rollback", "--tag=" + tag));
            assertEquals(runner.afterRollbackTo().get(tag), rows(viaCli), cli + ": rollback --tag " + tag);
        }
        assertEquals(1, rows(viaCli).size(), "back to the baseline tag's row: " + rows(viaCli));

        ok(cli, cli.run(viaCli, "update"));
        assertEquals(runner.reapplied(), rows(viaCli), cli + ": update after the rollbacks");
        assertEquals(applied.size(), rows(viaCli).size(), "every changeset applied again");
    }

    private static void ok(StockCli cli, StockCli.Result r) {
        assertEquals(0, r.exitCode(), cli + ": " + r.output());
    }
}
