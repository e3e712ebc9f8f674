package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.LegacyDatabase;
import dev.opsmv.testing.MvIdentity;
import dev.opsmv.testing.Sql;

/**
 * Issue 24 on an adopted database: what the DBA attached to the runbooks' driver matrix (a grant the
 * endpoint's reader role needs, a comment, the unique index built by hand under another name, another
 * index) survives the adoption and release v1.1's rebuild, and `rollback --tag opsmv-empty` gives the MV
 * back exactly as the psql scripts and the DBA had left it.
 */
@Tag("matrix")
class AdoptedMvCarryTest {
    static final String MATRIX = "ops.mv_payments_driver_matrix_cabinet";

    @Test
    void whatTheDbaAttachedToAnAdoptedMvSurvivesTheReleasesAndTheRollback() {
        ConnectionSpec db = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0);
        String reader = "opsmv_t_reader_" + ProcessHandle.current().pid() + "_" + db.database();
        Sql.exec(db,
                "CREATE ROLE " + reader + " NOLOGIN",
                "GRANT USAGE ON SCHEMA ops TO " + reader,
                "GRANT SELECT ON " + MATRIX + " TO " + reader,
                "COMMENT ON MATERIALIZED VIEW " + MATRIX + " IS 'what the dashboard reads'",
                "CREATE UNIQUE INDEX dm_driver_uq ON " + MATRIX + " (driver_id)",
                "CREATE INDEX dm_park ON " + MATRIX + " (park_id)");
        List<String> legacy = MvIdentity.of(db, MATRIX);
        List<String> legacyCatalog = Catalog.snapshot(db);

        Cli.Result update = Cli.run("update", "--url", Cli.url(db));
        assertEquals(0, update.exitCode(), update.toString());
        assertTrue(update.out().contains("the same index exists as ops.dm_driver_uq: kept under that name"), update.out());
        List<String> now = MvIdentity.of(db, MATRIX);
        for (String kept : List.of("comment what the dashboard reads", "grant " + reader + " SELECT grantable=false by " + db.user())) {
            assertTrue(now.contains(kept), kept + " in " + now);
        }
        for (String index : List.of("CREATE UNIQUE INDEX dm_driver_uq ON", "CREATE INDEX dm_park ON")) {
            assertTrue(now.stream().anyMatch(l -> l.startsWith("index " + index)), index + " in " + now);
        }
        assertEquals(Boolean.TRUE, Sql.value(db, "SELECT has_table_privilege('" + reader + "', '" + MATRIX + "', 'SELECT')"));

        Cli.Result rollback = Cli.run("rollback", "--tag", "opsmv-empty", "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());
        assertEquals(legacy, MvIdentity.of(db, MATRIX), "the MV as the scripts and the DBA left it");
        assertEquals(legacyCatalog, Catalog.snapshot(db));
    }
}
