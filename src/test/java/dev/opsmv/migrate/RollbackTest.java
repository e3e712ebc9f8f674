package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;

/** Issue 2: update → rollback to the empty state → update ends where it started (update-testing-rollback). */
// Runs on every major of the version matrix (pom.xml executions pg16/pg17 run only this tag).
@Tag("matrix")
class RollbackTest {

    @Test
    void rollbackToEmptyRemovesEveryOpsObjectAndUpdateRebuildsTheSameCatalog() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(1_500, Deployed.SHARED_SEED);
        List<String> deployed = Catalog.snapshot(db);
        List<String> history = Catalog.history(db);

        try (Connection c = db.open()) {
            Migrator.bundle(c, null).rollbackToTag("opsmv-empty");
        }
        // The deployment logged what it built, and history is never destroyed: the log is archived, not dropped.
        List<String> archived = Catalog.snapshot(db);
        assertTrue(archived.stream().allMatch(l -> l.contains("_20") || l.equals("schema ops")), "only the archived log is left: " + archived);
        assertEquals(1, Sql.count(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'ops' AND tablename LIKE 'mv\\_refresh\\_log\\_archived\\_%'"));
        assertTrue(Sql.count(db, "SELECT count(*) FROM ops." + Sql.value(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'ops'")) >= 7);
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname LIKE 'idx\\_%' AND relname NOT LIKE '%\\_20%' OR relname LIKE 'ux\\_%'"));
        // The baseline tag keeps its row (keepTagOnRollback), so the tag stays a valid target.
        assertEquals(List.of("changelog/releases/v1.0.yaml::v1.0-baseline::opsmv"), Catalog.history(db));
        assertEquals(5, Sql.count(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND obj_description(format('public.%I', tablename)::regclass) = 'opsmv fixture'"),
                "the source tables are not the bundle's: rollback leaves them alone");

        try (Connection c = db.open()) {
            Migrator.bundle(c, null).update();
        }
        List<String> rebuilt = new java.util.ArrayList<>(Catalog.snapshot(db));
        rebuilt.removeAll(archived.stream().filter(l -> !l.equals("schema ops")).toList());
        assertEquals(deployed, rebuilt);
        assertEquals(history, Catalog.history(db));
    }

    @Test
    void rollbackCountUndoesTheLastChangesetsOfV10() throws Exception {
        // A database at release v1.0 (later releases not applied), so its last changesets are v1.0's tail.
        ConnectionSpec db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED, "v1.0");
        try (Connection c = db.open()) {
            // the tag, both health views, the health views' set-aside step, the driver-matrix MV
            Migrator.bundle(c, null).rollbackCount(5);
        }
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_matviews WHERE matviewname = 'mv_payments_driver_matrix_cabinet'"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_views WHERE schemaname = 'ops' AND viewname LIKE '%health'"));
        assertEquals(1, Sql.count(db, "SELECT count(*) FROM pg_views WHERE viewname = 'v_payments_driver_matrix_cabinet'"));
        assertEquals(6, Sql.count(db, "SELECT count(*) FROM pg_matviews WHERE schemaname = 'ops'"));
    }
}
