package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Releases;
import dev.opsmv.testing.Sql;

/** Issue 2: duplicate claims halt the deployment before the unique grain index, and it completes once they are gone. */
// Runs on every major of the version matrix (pom.xml executions pg16/pg17 run only this tag).
@Tag("matrix")
class DuplicateGrainTest {
    static final String GRAIN_CHANGESET = "v1.0-ux_mv_yango_cabinet_claims_for_collection_grain";

    @Test
    void duplicatesHaltBeforeTheGrainIndexAndUpdateCompletesAfterCleanUp() throws Exception {
        ConnectionSpec db = Deployed.fixtureDatabase(2_000, 5, 3);
        assertEquals(3, Sql.count(db, "SELECT count(*) FROM (SELECT 1 FROM claims_cabinet GROUP BY driver_id, milestone_value HAVING count(*) > 1) d"));

        Exception failure;
        try (Connection c = db.open()) {
            failure = assertThrows(Exception.class, () -> Migrator.bundle(c, null).update());
        }
        String message = fullMessage(failure);
        assertTrue(message.contains("Duplicate claims"), message);
        assertTrue(message.contains("opsmv check-duplicates"), "the message says how to list them: " + message);
        assertTrue(message.contains("ops.opsmv_claims_grain_duplicates()"), "and the SQL that lists them: " + message);

        assertEquals(0, Sql.count(db, "SELECT count(*) FROM databasechangelog WHERE id = '" + GRAIN_CHANGESET + "'"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname = 'ux_mv_yango_cabinet_claims_for_collection_grain'"));
        // Everything before it is intact, the claims MV included (with its duplicate grains).
        assertEquals(Boolean.TRUE, Sql.value(db, "SELECT ispopulated FROM pg_matviews WHERE matviewname = 'mv_yango_cabinet_claims_for_collection'"));
        assertEquals(3, Sql.count(db, "SELECT count(*) FROM (SELECT 1 FROM ops.mv_yango_cabinet_claims_for_collection GROUP BY driver_id, milestone_value HAVING count(*) > 1) d"));
        assertEquals(6, Sql.count(db, "SELECT count(*) FROM pg_matviews WHERE schemaname = 'ops'"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"));

        // Keep the first claim of each grain, as the runbook does.
        Sql.exec(db, """
                DELETE FROM claims_cabinet c USING claims_cabinet k
                WHERE k.driver_id = c.driver_id AND k.milestone_value = c.milestone_value AND k.claim_id < c.claim_id
                """);
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).update();
        }
        assertEquals(1, Sql.count(db, "SELECT count(*) FROM databasechangelog WHERE id = '" + GRAIN_CHANGESET + "'"));
        assertEquals(Boolean.TRUE, Sql.value(db, """
                SELECT i.indisvalid AND i.indisunique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                WHERE c.relname = 'ux_mv_yango_cabinet_claims_for_collection_grain'
                """));
        assertEquals(7, Sql.count(db, "SELECT count(*) FROM pg_matviews WHERE schemaname = 'ops'"));
        // update goes on through every release of the master
        assertEquals(Releases.LAST, Sql.value(db, "SELECT tag FROM databasechangelog ORDER BY orderexecuted DESC LIMIT 1"));
    }

    static String fullMessage(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable x = t; x != null; x = x.getCause()) {
            sb.append(x.getMessage()).append(" | ");
        }
        return sb.toString();
    }
}
