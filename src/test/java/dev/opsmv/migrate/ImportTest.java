package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.LegacyDatabase;
import dev.opsmv.testing.MvIdentity;
import dev.opsmv.testing.Releases;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.StockCli;

/**
 * Issue 10, "when the live definition is the truth": `opsmv import` writes production's claims MV as
 * the bundle's next version; the database it came from then adopts everything without a rebuild, an
 * empty database gets production's definition, and rollback to the previous tag restores the previous one. A
 * grant, a comment and a hand-made index on the MV survive the imported release and its rollback (issue 24).
 */
// "newest": import writes the definitions the server deparses, which change with the major
@Tag("newest")
class ImportTest {
    static final String CLAIMS_MV = "ops.mv_yango_cabinet_claims_for_collection";

    @TempDir
    Path work;

    @Test
    void importedDefinitionsAreAdoptedWhereTheyCameFromAndBuiltElsewhere() throws Exception {
        ConnectionSpec production = LegacyDatabase.build(1_000, Deployed.SHARED_SEED, 0, LegacyDatabase.CLAIMS_MV_OF_PRODUCTION);
        Path changelog = work.resolve("changelog");
        copy(Path.of("changelog"), changelog);

        Cli.Result imported = Cli.run("import", "--into", changelog.toString(), "--url", Cli.url(production));
        assertEquals(0, imported.exitCode(), imported.toString());
        assertTrue(imported.out().contains("release " + Releases.NEXT), imported.out());
        Path file = changelog.resolve("ops/mviews/mv_yango_cabinet_claims_for_collection_v02.sql");
        assertTrue(Files.exists(file), imported.out());
        String sql = Files.readString(file);
        assertTrue(sql.contains("priority_collection") && sql.contains("${source_schema}.drivers"), sql);
        assertTrue(Files.readString(changelog.resolve("db.changelog-master.yaml")).contains("releases/" + Releases.NEXT + ".yaml"));
        assertEquals(0L, Sql.count(production, "SELECT count(*) FROM pg_class WHERE relname = 'databasechangelog'"), "import changes nothing");

        // the database it came from: everything adopted, the claims MV not rebuilt
        long oid = Sql.count(production, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint");
        StockCli.Result update = StockCli.runnersLine().runFrom(work, production, "update");
        assertEquals(0, update.exitCode(), update.output());
        assertEquals(oid, Sql.count(production, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint"), "not rebuilt");
        assertEquals("MARK_RAN", Sql.value(production, "SELECT exectype FROM databasechangelog WHERE id = '" + Releases.NEXT + "-mv_yango_cabinet_claims_for_collection'"));
        assertEquals("MARK_RAN", Sql.value(production, "SELECT exectype FROM databasechangelog WHERE id = 'v1.0-mv_yango_cabinet_claims_for_collection'"));
        assertEquals(Releases.NEXT, Sql.value(production, "SELECT tag FROM databasechangelog WHERE tag IS NOT NULL ORDER BY orderexecuted DESC LIMIT 1"));
        assertEquals(1L, Sql.count(production, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                + "WHERE c.relname = 'ux_mv_yango_cabinet_claims_for_collection_grain' AND i.indisvalid"));

        // an empty database gets production's definition
        ConnectionSpec fresh = Deployed.fixtureDatabase(1_000, Deployed.SHARED_SEED, 0);
        StockCli.Result build = StockCli.runnersLine().runFrom(work, fresh, "update");
        assertEquals(0, build.exitCode(), build.output());
        assertEquals(1L, priorityColumn(fresh));
        assertEquals(Sql.count(production, "SELECT count(*) FROM " + CLAIMS_MV), Sql.count(fresh, "SELECT count(*) FROM " + CLAIMS_MV));
        assertEquals(1L, Sql.count(fresh, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                + "WHERE c.relname = 'ux_mv_yango_cabinet_claims_for_collection_grain' AND i.indisvalid"));

        // rollback to the previous tag restores the previous version, with its grain index
        StockCli.Result rollback = StockCli.runnersLine().runFrom(work, fresh, "rollback", "--tag=" + Releases.LAST);
        assertEquals(0, rollback.exitCode(), rollback.output());
        assertEquals(0L, priorityColumn(fresh));
        assertEquals(1L, Sql.count(fresh, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                + "WHERE c.relname = 'ux_mv_yango_cabinet_claims_for_collection_grain' AND i.indisvalid"));

        // a database at the last release, with a grant, a comment and a hand-made index on the MV the release rebuilds:
        // all three are carried through the imported release's update and through its rollback
        ConnectionSpec dba = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        String reader = "opsmv_t_import_reader_" + ProcessHandle.current().pid() + "_" + dba.database();
        Sql.exec(dba, "CREATE ROLE " + reader + " NOLOGIN",
                "GRANT SELECT ON " + CLAIMS_MV + " TO " + reader,
                "COMMENT ON MATERIALIZED VIEW " + CLAIMS_MV + " IS 'claims to collect, read by the collections team'",
                "CREATE INDEX claims_by_status_hand ON " + CLAIMS_MV + " (claim_status, driver_id)");
        List<String> attached = MvIdentity.of(dba, CLAIMS_MV);
        List<String> carried = attached.stream().filter(l -> l.contains(reader) || l.startsWith("comment ") || l.contains("claims_by_status_hand")).toList();
        assertEquals(3, carried.size(), attached.toString());
        long dbaOid = Sql.count(dba, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint");
        StockCli.Result upgrade = StockCli.runnersLine().runFrom(work, dba, "update");
        assertEquals(0, upgrade.exitCode(), upgrade.output());
        assertEquals(1L, priorityColumn(dba));
        assertTrue(dbaOid != Sql.count(dba, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint"), "rebuilt by the imported release");
        assertTrue(MvIdentity.of(dba, CLAIMS_MV).containsAll(carried), carried + " in " + MvIdentity.of(dba, CLAIMS_MV));
        StockCli.Result back = StockCli.runnersLine().runFrom(work, dba, "rollback", "--tag=" + Releases.LAST);
        assertEquals(0, back.exitCode(), back.output());
        assertEquals(0L, priorityColumn(dba));
        assertEquals(attached, MvIdentity.of(dba, CLAIMS_MV), "the previous version again, with what was attached to it");

        // a second import finds nothing left to import
        Cli.Result again = Cli.run("import", "--into", changelog.toString(), "--url", Cli.url(Deployed.bundleDatabase(200, Deployed.SHARED_SEED)));
        assertEquals(0, again.exitCode(), again.toString());
        assertTrue(again.out().contains("nothing to import"), again.out());
    }

    static long priorityColumn(ConnectionSpec db) {
        return Sql.count(db, "SELECT count(*) FROM pg_attribute WHERE attrelid = '" + CLAIMS_MV + "'::regclass AND attname = 'priority_collection'");
    }

    /** Issue 25: production's claims MV without aging_bucket and origin_tag, its grain index under a name of its own. */
    static final String NARROWER_CLAIMS_MV = """
            CREATE MATERIALIZED VIEW ops.mv_yango_cabinet_claims_for_collection AS
            SELECT s.driver_id, s.milestone_value, s.claim_id, s.claim_status, s.claim_created_at, s.payment_status,
                   s.claim_amount, s.paid_amount, (s.claim_amount - s.paid_amount)::numeric(14,2) AS amount_due,
                   (current_date - s.claim_created_at::date) AS aging_days
            FROM ops.mv_claims_payment_status_cabinet s
            WHERE s.payment_status IN ('UNPAID', 'PARTIAL')
              AND s.driver_id IS NOT NULL AND s.milestone_value IS NOT NULL
            WITH DATA
            """;

    @Test
    void aNarrowerMvIsImportedWithoutTheBundleIndexesItCannotHoldAndAdopted() throws Exception {
        ConnectionSpec production = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0, NARROWER_CLAIMS_MV);
        Sql.exec(production, "CREATE UNIQUE INDEX claims_grain_prod ON " + CLAIMS_MV + " (driver_id, milestone_value)");
        Path changelog = work.resolve("changelog");
        copy(Path.of("changelog"), changelog);

        Cli.Result imported = Cli.run("import", "--into", changelog.toString(), "--url", Cli.url(production));
        assertEquals(0, imported.exitCode(), imported.toString());
        assertTrue(imported.out().lines().anyMatch(l -> l.startsWith("not written: ops.idx_mv_yango_cabinet_claims_for_collection_aging")
                && l.contains("aging_bucket")), "import names the bundle index it leaves out, and why: " + imported.out());
        String sql = Files.readString(changelog.resolve("ops/mviews/mv_yango_cabinet_claims_for_collection_v02.sql"));
        String imports = sql.substring(0, sql.indexOf("--rollback"));
        assertTrue(!imports.contains("CREATE INDEX idx_mv_yango_cabinet_claims_for_collection_aging") && imports.contains("claims_grain_prod"),
                "the imported version has production's indexes, not one on columns it lacks: " + sql);
        assertTrue(sql.substring(sql.indexOf("--rollback")).contains("idx_mv_yango_cabinet_claims_for_collection_aging"),
                "the previous version, which its rollback restores, keeps its index");

        // the database it came from adopts it: no raw error comparing an index on a column the MV has not
        long oid = Sql.count(production, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint");
        StockCli.Result update = StockCli.runnersLine().runFrom(work, production, "update");
        assertEquals(0, update.exitCode(), update.output());
        assertEquals(oid, Sql.count(production, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint"), "not rebuilt");
        assertEquals(0L, Sql.count(production, "SELECT count(*) FROM pg_class WHERE relname = 'idx_mv_yango_cabinet_claims_for_collection_aging'"));

        // a database at the previous release builds the narrower version (the index it cannot hold removed on
        // purpose) and its rollback gives the previous version back with that index
        ConnectionSpec fresh = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        List<String> previous = MvIdentity.of(fresh, CLAIMS_MV);
        StockCli.Result build = StockCli.runnersLine().runFrom(work, fresh, "update");
        assertEquals(0, build.exitCode(), build.output());
        assertEquals(0L, Sql.count(fresh, "SELECT count(*) FROM pg_attribute WHERE attrelid = '" + CLAIMS_MV + "'::regclass AND attname = 'aging_bucket'"));
        assertEquals(1L, Sql.count(fresh, "SELECT count(*) FROM pg_class WHERE relname = 'claims_grain_prod'"));
        StockCli.Result back = StockCli.runnersLine().runFrom(work, fresh, "rollback", "--tag=" + Releases.LAST);
        assertEquals(0, back.exitCode(), back.output());
        assertEquals(previous, MvIdentity.of(fresh, CLAIMS_MV));
    }

    /**
     * Issue 25: import proves its release before writing it. A report view in another schema reads the claims
     * MV: the imported release's rebuild (ops.opsmv_rebuild) cannot rebuild it with the MV, and import finds that
     * on the database, in a transaction it rolls back, and writes nothing.
     */
    @Test
    void aReleaseThatCannotBeAppliedIsNotWritten() throws Exception {
        ConnectionSpec production = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0, LegacyDatabase.CLAIMS_MV_OF_PRODUCTION);
        // PostgreSQL names an index made without a name up to the 63-byte limit: imported under it, unchanged
        String longName = "claims_for_collection_by_driver_milestone_status_amount_due_idx";
        assertEquals(63, longName.length());
        Sql.exec(production, "CREATE INDEX " + longName + " ON " + CLAIMS_MV + " (driver_id, milestone_value, claim_status)",
                "CREATE SCHEMA reporting",
                "CREATE VIEW reporting.claims_due AS SELECT driver_id, amount_due FROM " + CLAIMS_MV);
        Path changelog = work.resolve("changelog");
        copy(Path.of("changelog"), changelog);
        List<String> before = tree(changelog);
        List<String> catalogBefore = MvIdentity.of(production, CLAIMS_MV);
        long oid = Sql.count(production, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint");

        Cli.Result imported = Cli.run("import", "--into", changelog.toString(), "--url", Cli.url(production));

        assertEquals(1, imported.exitCode(), imported.toString());
        List<String> lines = imported.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), imported.toString());
        assertTrue(lines.get(0).contains("release " + Releases.NEXT + " does not apply on this database, so nothing was written")
                && lines.get(0).contains(Releases.NEXT + "-mv_yango_cabinet_claims_for_collection")
                && lines.get(0).contains("reporting.claims_due reads") && !lines.get(0).contains("SQLSTATE"), lines.get(0));
        assertEquals(before, tree(changelog), "no file written or changed");
        assertEquals(oid, Sql.count(production, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint"));
        assertEquals(catalogBefore, MvIdentity.of(production, CLAIMS_MV), "the database as it was");
        assertEquals(0L, Sql.count(production, "SELECT count(*) FROM pg_class WHERE relname IN ('opsmv_bundle_object', 'opsmv_carried')"),
                "the machinery the proof installed is rolled back with it");

        // without that view, the same production imports, the long index name as it is
        Sql.exec(production, "DROP VIEW reporting.claims_due");
        Cli.Result again = Cli.run("import", "--into", changelog.toString(), "--url", Cli.url(production));
        assertEquals(0, again.exitCode(), again.toString());
        assertTrue(Files.readString(changelog.resolve("ops/mviews/mv_yango_cabinet_claims_for_collection_v02.sql")).contains(longName));
    }

    /**
     * Issue 25: production's claims status MV differs and the claims MV reads it. The imported release
     * rebuilds it with its reader (ops.opsmv_rebuild) both ways; the database it came from adopts it unchanged.
     */
    @Test
    void anMvThatOthersReadIsImportedAndItsReleaseRebuildsItsReaders() throws Exception {
        String status = "ops.mv_claims_payment_status_cabinet";
        ConnectionSpec production = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0);
        String statusDefinition = LegacyDatabase.runbookObject("mv_claims_payment_status_cabinet");
        int from = statusDefinition.indexOf("\nFROM public.claims_cabinet");
        assertTrue(from > 0, statusDefinition);
        Sql.exec(production, "DROP MATERIALIZED VIEW " + CLAIMS_MV, "DROP MATERIALIZED VIEW " + status,
                statusDefinition.substring(0, from) + ",\n       (c.amount > 100) AS large_claim" + statusDefinition.substring(from),
                "CREATE UNIQUE INDEX mv_claims_payment_status_cabinet_claim_id_idx ON " + status + " (claim_id)",
                LegacyDatabase.runbookObject("mv_yango_cabinet_claims_for_collection"));
        Path changelog = work.resolve("changelog");
        copy(Path.of("changelog"), changelog);

        Cli.Result imported = Cli.run("import", "--into", changelog.toString(), "--url", Cli.url(production));
        assertEquals(0, imported.exitCode(), imported.toString());
        assertTrue(imported.out().contains("for " + status), imported.out());
        assertTrue(Files.readString(changelog.resolve("ops/mviews/mv_claims_payment_status_cabinet_v02.sql")).contains("large_claim"));

        // where it came from: adopted, nothing rebuilt
        long statusOid = Sql.count(production, "SELECT '" + status + "'::regclass::oid::bigint");
        long claimsOid = Sql.count(production, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint");
        StockCli.Result update = StockCli.runnersLine().runFrom(work, production, "update");
        assertEquals(0, update.exitCode(), update.output());
        assertEquals(statusOid, Sql.count(production, "SELECT '" + status + "'::regclass::oid::bigint"));
        assertEquals(claimsOid, Sql.count(production, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint"));

        // a database at the previous release: the status MV and its reader rebuilt, and rolled back
        ConnectionSpec fresh = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        String reader = "opsmv_t_import_chain_" + ProcessHandle.current().pid() + "_" + fresh.database();
        Sql.exec(fresh, "CREATE ROLE " + reader + " NOLOGIN", "GRANT SELECT ON " + CLAIMS_MV + " TO " + reader);
        List<String> statusBefore = MvIdentity.of(fresh, status);
        List<String> claimsBefore = MvIdentity.of(fresh, CLAIMS_MV);
        long freshClaimsOid = Sql.count(fresh, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint");
        StockCli.Result build = StockCli.runnersLine().runFrom(work, fresh, "update");
        assertEquals(0, build.exitCode(), build.output());
        assertEquals(1L, Sql.count(fresh, "SELECT count(*) FROM pg_attribute WHERE attrelid = '" + status + "'::regclass AND attname = 'large_claim'"));
        assertTrue(freshClaimsOid != Sql.count(fresh, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint"), "its reader was rebuilt on it");
        assertEquals(claimsBefore, MvIdentity.of(fresh, CLAIMS_MV), "the reader as it was: indexes, grant");
        assertEquals(Sql.count(fresh, "SELECT count(*) FROM (" + claimsQuery(fresh) + ") q"), Sql.count(fresh, "SELECT count(*) FROM " + CLAIMS_MV));
        StockCli.Result back = StockCli.runnersLine().runFrom(work, fresh, "rollback", "--tag=" + Releases.LAST);
        assertEquals(0, back.exitCode(), back.output());
        assertEquals(statusBefore, MvIdentity.of(fresh, status));
        assertEquals(claimsBefore, MvIdentity.of(fresh, CLAIMS_MV));
        assertEquals(0L, Sql.count(fresh, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'opsmv_rebuild_%'"));
    }

    private static String claimsQuery(ConnectionSpec db) {
        return String.valueOf(Sql.value(db, "SELECT pg_get_viewdef('" + CLAIMS_MV + "'::regclass)")).trim().replaceAll(";$", "");
    }

    /**
     * The release import writes computes each MV with its owner's rights, as PostgreSQL's REFRESH does, not with
     * the deploying role's (issue 24's rule, for the changesets' ops.opsmv_rebuild).
     */
    @Test
    void anImportedReleaseComputesTheMvWithItsOwnersRights() throws Exception {
        String computedBy = LegacyDatabase.CLAIMS_MV_OF_PRODUCTION.replace("AS priority_collection",
                "AS priority_collection, current_user::text AS computed_by");
        assertTrue(computedBy.contains("computed_by"));
        ConnectionSpec production = LegacyDatabase.build(200, Deployed.SHARED_SEED, 0, computedBy);
        Path changelog = work.resolve("changelog");
        copy(Path.of("changelog"), changelog);
        Cli.Result imported = Cli.run("import", "--into", changelog.toString(), "--url", Cli.url(production));
        assertEquals(0, imported.exitCode(), imported.toString());

        ConnectionSpec fresh = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        String owner = "opsmv_t_import_owner_" + ProcessHandle.current().pid() + "_" + fresh.database();
        Sql.exec(fresh, "CREATE ROLE " + owner + " NOLOGIN",
                "GRANT USAGE, CREATE ON SCHEMA ops TO " + owner,
                "GRANT SELECT ON ALL TABLES IN SCHEMA ops TO " + owner,
                "GRANT USAGE ON SCHEMA public TO " + owner,
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + owner,
                "ALTER MATERIALIZED VIEW " + CLAIMS_MV + " OWNER TO " + owner);
        StockCli.Result build = StockCli.runnersLine().runFrom(work, fresh, "update");
        assertEquals(0, build.exitCode(), build.output());
        assertEquals(List.of(owner), Sql.strings(fresh, "SELECT DISTINCT computed_by FROM " + CLAIMS_MV));
        assertEquals(owner, Sql.value(fresh, "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = '" + CLAIMS_MV + "'::regclass"));
    }

    /** A unique bundle index is written onto the imported version only where production's rows are unique on it. */
    @Test
    void aUniqueBundleIndexProductionsRowsWouldViolateIsNotWritten() throws Exception {
        ConnectionSpec production = LegacyDatabase.build(300, Deployed.SHARED_SEED, 3, LegacyDatabase.CLAIMS_MV_OF_PRODUCTION);
        assertTrue(Sql.count(production, "SELECT count(*) FROM (SELECT driver_id, milestone_value FROM " + CLAIMS_MV
                + " GROUP BY 1, 2 HAVING count(*) > 1) d") > 0, "the fixture has duplicate grains");
        Path changelog = work.resolve("changelog");
        copy(Path.of("changelog"), changelog);

        Cli.Result imported = Cli.run("import", "--into", changelog.toString(), "--url", Cli.url(production));

        assertEquals(0, imported.exitCode(), imported.toString());
        assertTrue(imported.out().lines().anyMatch(l -> l.startsWith("not written: ops.ux_mv_yango_cabinet_claims_for_collection_grain")
                && l.contains("not unique") && l.contains("check-duplicates")), imported.out());
        String sql = Files.readString(changelog.resolve("ops/mviews/mv_yango_cabinet_claims_for_collection_v02.sql"));
        assertTrue(!sql.substring(0, sql.indexOf("--rollback")).contains("CREATE UNIQUE INDEX ux_mv_yango_cabinet_claims_for_collection_grain"), sql);
    }

    static final String VIEW = "ops.v_payments_driver_matrix_cabinet";

    /**
     * Issue 25: a plain view production changed is imported too. Same columns: CREATE OR REPLACE VIEW both
     * ways, the MV that reads it untouched. Other columns: rebuilt with the MV that reads it (ops.opsmv_rebuild),
     * both ways.
     */
    @Test
    void aDifferingViewIsImportedWithTheMvThatReadsIt() throws Exception {
        ConnectionSpec production = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        String bundleView = (String) Sql.value(production, "SELECT pg_get_viewdef('" + VIEW + "'::regclass, true)");
        String productionView = bundleView.replace("WHERE d.driver_id IS NOT NULL", "WHERE d.driver_id IS NOT NULL AND d.park_id IS NOT NULL");
        assertTrue(!productionView.equals(bundleView), bundleView);
        String matrix = "ops.mv_payments_driver_matrix_cabinet";

        // another column: the view and the MV reading it rebuilt together, both ways
        int from = bundleView.lastIndexOf("\n   FROM ");
        assertTrue(from > 0, bundleView);
        Sql.exec(production, "CREATE OR REPLACE VIEW " + VIEW + " AS " + bundleView.substring(0, from) + ", 1 AS production_extra" + bundleView.substring(from));
        Path wider = work.resolve("wider").resolve("changelog");
        copy(Path.of("changelog"), wider);
        Cli.Result rebuilt = Cli.run("import", "--into", wider.toString(), "--url", Cli.url(production));
        assertEquals(0, rebuilt.exitCode(), rebuilt.toString());
        String viewFile = Files.readString(wider.resolve("ops/views/v_payments_driver_matrix_cabinet_v03.sql"));
        assertTrue(viewFile.contains("SELECT ops.opsmv_rebuild('ops', 'v_payments_driver_matrix_cabinet', $def$") && viewFile.contains("production_extra"), viewFile);
        ConnectionSpec previous = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        List<String> matrixBefore = MvIdentity.of(previous, matrix);
        long matrixOid = Sql.count(previous, "SELECT '" + matrix + "'::regclass::oid::bigint");
        StockCli.Result up = StockCli.runnersLine().runFrom(wider.getParent(), previous, "update");
        assertEquals(0, up.exitCode(), up.output());
        assertEquals(1L, Sql.count(previous, "SELECT count(*) FROM pg_attribute WHERE attrelid = '" + VIEW + "'::regclass AND attname = 'production_extra'"));
        assertTrue(matrixOid != Sql.count(previous, "SELECT '" + matrix + "'::regclass::oid::bigint"), "the MV that reads the view rebuilt on it");
        assertEquals(matrixBefore, MvIdentity.of(previous, matrix), "with everything attached to it");
        StockCli.Result down = StockCli.runnersLine().runFrom(wider.getParent(), previous, "rollback", "--tag=" + Releases.LAST);
        assertEquals(0, down.exitCode(), down.output());
        assertEquals(bundleView, Sql.value(previous, "SELECT pg_get_viewdef('" + VIEW + "'::regclass, true)"));
        assertEquals(matrixBefore, MvIdentity.of(previous, matrix));

        // the same columns, another filter: CREATE OR REPLACE VIEW
        Path changelog = work.resolve("changelog");
        copy(Path.of("changelog"), changelog);
        ConnectionSpec changed = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        Sql.exec(changed, "CREATE OR REPLACE VIEW " + VIEW + " AS " + productionView);
        long mvOid = Sql.count(changed, "SELECT '" + matrix + "'::regclass::oid::bigint");
        Cli.Result imported = Cli.run("import", "--into", changelog.toString(), "--url", Cli.url(changed));
        assertEquals(0, imported.exitCode(), imported.toString());
        String file = Files.readString(changelog.resolve("ops/views/v_payments_driver_matrix_cabinet_v03.sql"));
        assertTrue(file.contains("CREATE OR REPLACE VIEW " + VIEW) && file.contains("d.park_id IS NOT NULL") && file.contains("${source_schema}.drivers"), file);

        // where it came from: the view replaced by itself, the MV that reads it not rebuilt
        StockCli.Result update = StockCli.runnersLine().runFrom(work, changed, "update");
        assertEquals(0, update.exitCode(), update.output());
        assertEquals(mvOid, Sql.count(changed, "SELECT '" + matrix + "'::regclass::oid::bigint"));
        assertEquals(productionView, Sql.value(changed, "SELECT pg_get_viewdef('" + VIEW + "'::regclass, true)"));

        // a database at the previous release gets production's view; rollback gives the bundle's back
        ConnectionSpec fresh = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        StockCli.Result build = StockCli.runnersLine().runFrom(work, fresh, "update");
        assertEquals(0, build.exitCode(), build.output());
        assertEquals(productionView, Sql.value(fresh, "SELECT pg_get_viewdef('" + VIEW + "'::regclass, true)"));
        StockCli.Result back = StockCli.runnersLine().runFrom(work, fresh, "rollback", "--tag=" + Releases.LAST);
        assertEquals(0, back.exitCode(), back.output());
        assertEquals(bundleView, Sql.value(fresh, "SELECT pg_get_viewdef('" + VIEW + "'::regclass, true)"));
    }

    /** Every file under {@code dir} with its content's hash, to see that nothing was written. */
    static List<String> tree(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).sorted()
                    .map(f -> {
                        try {
                            return dir.relativize(f) + " " + java.util.Arrays.hashCode(Files.readAllBytes(f));
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }).toList();
        }
    }

    static void copy(Path from, Path to) throws Exception {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
    }
}
