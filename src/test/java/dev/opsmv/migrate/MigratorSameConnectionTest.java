package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;

/**
 * Found while building release v1.1 (issue 7): Liquibase keeps services in process-wide caches, and a
 * SQL-output command run on a connection that already ran another command executed its
 * DATABASECHANGELOG statements for real. The runner runs several commands on one connection
 * (status then update-sql, update then rollback-sql), so each must leave the database alone.
 */
// Runs on every major of the version matrix (pom.xml executions pg16/pg17 run only this tag).
@Tag("matrix")
class MigratorSameConnectionTest {

    @Test
    void updateSqlAfterPendingChangeSetsOnTheSameConnectionChangesNothing() throws Exception {
        ConnectionSpec db = ReleaseV11Test.v10Database(300, Deployed.SHARED_SEED);
        List<String> history = Catalog.history(db);
        List<String> catalog = Catalog.snapshot(db);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Connection c = db.open()) {
            assertEquals(19, Migrator.bundle(c, null).pendingChangeSets().size(),
                    "v1.1 (the carry table and functions, capture, view, MV, restore, tag), v1.2 (log method, tag), "
                            + "v1.3 (refresh protocol, tag), v1.4 (log index, tag), v1.5 (tag), v1.6 (rebuild function, tag) and v1.7 (retention column, prune function, tag)");
            Migrator.bundle(c, null).updateSql(out);
            assertEquals(19, Migrator.bundle(c, null).pendingChangeSets().size(), "update-sql recorded nothing");
        }
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("INSERT INTO public.databasechangelog"), "the history rows went to the output");
        assertEquals(history, Catalog.history(db));
        assertEquals(catalog, Catalog.snapshot(db));
    }

    @Test
    void rollbackSqlAfterUpdateOnTheSameConnectionChangesNothing() throws Exception {
        ConnectionSpec db = ReleaseV11Test.v10Database(300, Deployed.SHARED_SEED);
        List<String> history;
        List<String> catalog;
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).update();
            history = Catalog.history(db);
            catalog = Catalog.snapshot(db);
            Migrator.bundle(c, null).rollbackToTagSql("v1.0", new ByteArrayOutputStream());
            Migrator.bundle(c, null).rollbackCountSql(2, new ByteArrayOutputStream());
        }
        assertEquals(history, Catalog.history(db));
        assertEquals(catalog, Catalog.snapshot(db));
        assertEquals(55, Sql.count(db, "SELECT count(*) FROM databasechangelog"), "every changeset up to v1.7, none rolled back");
    }
}
