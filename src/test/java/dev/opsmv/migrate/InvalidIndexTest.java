package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.sql.Connection;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;

/** Issue 2: an INVALID leftover of a failed concurrent build is noticed and rebuilt, never skipped by IF NOT EXISTS. */
// Runs on every major of the version matrix (pom.xml executions pg16/pg17 run only this tag).
@Tag("matrix")
class InvalidIndexTest {

    @Test
    void invalidLeftoverIndexIsRebuiltByUpdate() throws Exception {
        ConnectionSpec db = Deployed.fixtureDatabase(400, Deployed.SHARED_SEED, 0);
        // A failed CREATE INDEX CONCURRENTLY under the bundle's name: unique on a column full of
        // duplicates fails after the catalog entry exists and leaves it INVALID.
        assertThrows(IllegalStateException.class, () -> Sql.exec(db,
                "CREATE UNIQUE INDEX CONCURRENTLY idx_drivers_origin_week ON drivers (origin_tag)"));
        assertEquals(Boolean.FALSE, Sql.value(db,
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'idx_drivers_origin_week'"));

        try (Connection c = db.open()) {
            Migrator.bundle(c, null).update();
        }

        assertEquals("CREATE INDEX idx_drivers_origin_week ON public.drivers USING btree (origin_tag, week_start) valid=true", Sql.value(db, """
                SELECT pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'idx_drivers_origin_week'
                """));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"));
    }

    @Test
    void anIndexThatStaysInvalidFailsTheChangesetByName() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
        // The guard itself: an index that is still INVALID after its build makes the changeset fail, naming it.
        assertThrows(IllegalStateException.class, () -> Sql.exec(db,
                "CREATE UNIQUE INDEX CONCURRENTLY idx_probe_invalid ON drivers (origin_tag)"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Sql.exec(db,
                "SELECT ops.opsmv_assert_index_valid('public', 'idx_probe_invalid')"));
        assertEquals(true, e.getMessage().contains("public.idx_probe_invalid is INVALID"), e.getMessage());
    }
}
