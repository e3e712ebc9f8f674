package dev.opsmv.migrate;

import static dev.opsmv.migrate.AdoptionTest.CLAIMS_MV;
import static dev.opsmv.migrate.AdoptionTest.contents;
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
 * Issue 24 on `update --replace-differing`: the bundle's MV swapped in for production's differing one
 * keeps production's owner, grants, comments and hand-made indexes; what it cannot carry stops the run
 * before any change with one line; and rolling back puts the original back refreshed, so that the refresh
 * log (keyed by name) never calls its adoption-time rows fresh.
 */
@Tag("matrix")
class ReplaceDifferingSameObjectTest {

    private static String role(ConnectionSpec db, String what) {
        return "opsmv_t_" + what + "_" + ProcessHandle.current().pid() + "_" + db.database();
    }

    /** What the rows of {@code mv} differ from its own query now, both ways (0: as fresh as a refresh now). */
    private static long staleRows(ConnectionSpec db, String mv) {
        String query = String.valueOf(Sql.value(db, "SELECT pg_get_viewdef('" + mv + "'::regclass)")).trim().replaceAll(";$", "");
        return Sql.count(db, "SELECT count(*) FROM ((TABLE " + mv + " EXCEPT ALL (" + query + ")) UNION ALL ((" + query + ") EXCEPT ALL TABLE " + mv + ")) d");
    }

    @Test
    void theReplacedMvKeepsWhatProductionAttachedAndRollbackGivesBackTheOriginalRefreshed() {
        ConnectionSpec db = LegacyDatabase.build(1_500, Deployed.SHARED_SEED, 0, LegacyDatabase.CLAIMS_MV_OF_PRODUCTION);
        String owner = role(db, "owner");
        String reader = role(db, "reader");
        Sql.exec(db,
                "CREATE ROLE " + owner + " NOLOGIN",
                "CREATE ROLE " + reader + " NOLOGIN",
                "GRANT USAGE, CREATE ON SCHEMA ops TO " + owner,
                "GRANT SELECT ON ALL TABLES IN SCHEMA ops TO " + owner,
                "GRANT USAGE ON SCHEMA public TO " + owner,
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + owner,
                "ALTER MATERIALIZED VIEW " + CLAIMS_MV + " OWNER TO " + owner,
                "GRANT SELECT ON " + CLAIMS_MV + " TO " + reader,
                "COMMENT ON MATERIALIZED VIEW " + CLAIMS_MV + " IS 'what collections works from'",
                "CREATE INDEX claims_aging_by_hand ON " + CLAIMS_MV + " (aging_bucket)",
                "COMMENT ON INDEX ops.claims_aging_by_hand IS 'made by hand'");
        List<String> legacyCatalog = Catalog.snapshot(db);
        List<String> legacy = MvIdentity.of(db, CLAIMS_MV);

        // a duration in the form the docs accept reaches SET LOCAL lock_timeout in PostgreSQL's form
        Cli.Result replaced = Cli.run("update", "--replace-differing", "--lock-timeout", "5m", "--url", Cli.url(db));
        assertEquals(0, replaced.exitCode(), replaced.toString());
        List<String> now = MvIdentity.of(db, CLAIMS_MV);
        for (String kept : List.of("owner " + owner, "comment what collections works from")) {
            assertTrue(now.contains(kept), kept + " in " + now);
        }
        assertTrue(now.stream().anyMatch(l -> l.startsWith("grant " + reader + " SELECT grantable=false by " + owner)), now.toString());
        assertTrue(now.stream().anyMatch(l -> l.startsWith("index CREATE INDEX claims_aging_by_hand ON ops.mv_yango_cabinet_claims_for_collection")
                && l.endsWith("comment=made by hand")), "the hand-made index, under its name: " + now);
        assertEquals(Boolean.TRUE, Sql.value(db, "SELECT has_table_privilege('" + reader + "', '" + CLAIMS_MV + "', 'SELECT')"));

        // the claims change, the new MV is refreshed; then the on-call engineer rolls everything back
        Sql.exec(db, "UPDATE public.claims_cabinet SET status = 'rejected' WHERE claim_id IN "
                + "(SELECT claim_id FROM public.claims_cabinet WHERE status <> 'rejected' ORDER BY claim_id LIMIT 40)");
        Cli.Result refresh = Cli.run("refresh", "--all", "--url", Cli.url(db));
        assertEquals(0, refresh.exitCode(), refresh.toString());
        Cli.Result rollback = Cli.run("rollback", "--tag", "opsmv-empty", "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());

        assertEquals(legacy, MvIdentity.of(db, CLAIMS_MV), "the original MV is back with everything attached to it");
        assertEquals(legacyCatalog, Catalog.snapshot(db));
        assertEquals(0, staleRows(db, CLAIMS_MV), "the MV put back was refreshed: its rows are not the adoption-time ones "
                + "while the log (keyed by name) says it was refreshed just now");
    }

    @Test
    void anOriginalThatReadsTheViewAReleaseRedefinesIsReplacedAllTheWayAndRolledBack() {
        // production's driver matrix reads the view (as the runbook's does) and has a column of its own
        ConnectionSpec db = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0);
        String matrix = "ops.mv_payments_driver_matrix_cabinet";
        Sql.exec(db, "DROP MATERIALIZED VIEW " + matrix,
                "CREATE MATERIALIZED VIEW " + matrix + " AS SELECT v.*, v.balance_total > 0 AS owes FROM ops.v_payments_driver_matrix_cabinet v",
                "CREATE UNIQUE INDEX dm_driver ON " + matrix + " (driver_id)",
                "COMMENT ON MATERIALIZED VIEW " + matrix + " IS 'production''s own'");
        List<String> legacy = MvIdentity.of(db, matrix);
        List<String> legacyCatalog = Catalog.snapshot(db);

        Cli.Result replaced = Cli.run("update", "--replace-differing", "--url", Cli.url(db));
        assertEquals(0, replaced.exitCode(), "release v1.1 no longer halts on a kept original that reads the view: " + replaced);
        assertEquals(dev.opsmv.testing.Releases.LAST, Sql.value(db, "SELECT tag FROM databasechangelog WHERE tag IS NOT NULL ORDER BY orderexecuted DESC LIMIT 1"));
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_attribute WHERE attrelid = '" + matrix + "'::regclass AND attname = 'owes'"));
        assertTrue(MvIdentity.of(db, matrix).contains("comment production's own"));

        Cli.Result rollback = Cli.run("rollback", "--tag", "opsmv-empty", "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());
        assertEquals(legacy, MvIdentity.of(db, matrix), "production's MV is back, its own column, index and comment with it");
        assertEquals(legacyCatalog, Catalog.snapshot(db));
        assertEquals(0, staleRows(db, matrix));
    }

    /**
     * Issue 25 point 4: production's claims status MV differs and the claims MV reads it. Both are rebuilt
     * side by side (the claims MV from its own definition on the bundle's status MV) and swapped in by one
     * transaction; rollback puts production's pair back, each computed from its own query.
     */
    @Test
    void anMvThatOthersReadIsReplacedWithItsReadersAndRolledBack() {
        ConnectionSpec db = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0);
        String status = "ops.mv_claims_payment_status_cabinet";
        String reader = role(db, "reader");
        String statusDefinition = LegacyDatabase.runbookObject("mv_claims_payment_status_cabinet");
        int from = statusDefinition.indexOf("\nFROM public.claims_cabinet");
        assertTrue(from > 0, statusDefinition);
        Sql.exec(db, "DROP MATERIALIZED VIEW " + CLAIMS_MV, "DROP MATERIALIZED VIEW " + status,
                // production's own column on the status MV, and the claims MV built on it again as the runbook does
                statusDefinition.substring(0, from) + ",\n       (c.amount > 100) AS large_claim" + statusDefinition.substring(from),
                "CREATE UNIQUE INDEX mv_claims_payment_status_cabinet_claim_id_idx ON " + status + " (claim_id)",
                LegacyDatabase.runbookObject("mv_yango_cabinet_claims_for_collection"),
                "CREATE ROLE " + reader + " NOLOGIN",
                "GRANT SELECT ON " + CLAIMS_MV + " TO " + reader,
                "COMMENT ON MATERIALIZED VIEW " + CLAIMS_MV + " IS 'read by collections'");
        List<String> legacyStatus = MvIdentity.of(db, status);
        List<String> legacyClaims = MvIdentity.of(db, CLAIMS_MV);
        List<String> legacyCatalog = Catalog.snapshot(db);
        long statusOid = Sql.count(db, "SELECT '" + status + "'::regclass::oid::bigint");
        long claimsOid = Sql.count(db, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint");

        Cli.Result replaced = Cli.run("update", "--replace-differing", "--url", Cli.url(db));

        assertEquals(0, replaced.exitCode(), replaced.toString());
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_attribute WHERE attrelid = '" + status + "'::regclass AND attname = 'large_claim'"));
        assertTrue(statusOid != Sql.count(db, "SELECT '" + status + "'::regclass::oid::bigint"));
        assertTrue(claimsOid != Sql.count(db, "SELECT '" + CLAIMS_MV + "'::regclass::oid::bigint"), "its reader was rebuilt with it");
        List<String> claimsNow = MvIdentity.of(db, CLAIMS_MV);
        assertTrue(claimsNow.contains("comment read by collections") && claimsNow.stream().anyMatch(l -> l.startsWith("grant " + reader + " SELECT")),
                claimsNow.toString());
        assertEquals(0, staleRows(db, status));
        assertEquals(0, staleRows(db, CLAIMS_MV), "the reader computed on the new status MV");
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'opsmv_swap_%' OR nspname LIKE 'opsmv_probe_%'"));

        Cli.Result rollback = Cli.run("rollback", "--tag", "opsmv-empty", "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());
        assertEquals(legacyStatus, MvIdentity.of(db, status), "production's status MV is back");
        assertEquals(legacyClaims, MvIdentity.of(db, CLAIMS_MV), "and its reader, with its grant and comment");
        assertEquals(legacyCatalog, Catalog.snapshot(db));
        assertEquals(0, staleRows(db, status));
        assertEquals(0, staleRows(db, CLAIMS_MV));
    }

    /**
     * A reader that needs what the bundle's definition does not have stops the run before any change, naming it.
     */
    @Test
    void aReaderThatCannotBeRebuiltOnTheBundlesDefinitionStopsTheRunBeforeAnyChange() {
        ConnectionSpec db = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0);
        String status = "ops.mv_claims_payment_status_cabinet";
        String statusDefinition = LegacyDatabase.runbookObject("mv_claims_payment_status_cabinet");
        int from = statusDefinition.indexOf("\nFROM public.claims_cabinet");
        Sql.exec(db, "DROP MATERIALIZED VIEW " + CLAIMS_MV, "DROP MATERIALIZED VIEW " + status,
                statusDefinition.substring(0, from) + ",\n       (c.amount > 100) AS large_claim" + statusDefinition.substring(from),
                "CREATE MATERIALIZED VIEW " + CLAIMS_MV + " AS SELECT claim_id, driver_id, milestone_value, large_claim FROM " + status);
        List<String> legacyCatalog = Catalog.snapshot(db);

        Cli.Result stopped = Cli.run("update", "--replace-differing", "--url", Cli.url(db));

        assertEquals(1, stopped.exitCode(), stopped.toString());
        String last = stopped.err().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.contains("stopped before any change") && last.contains(CLAIMS_MV + " reads it and cannot be rebuilt")
                && last.contains("large_claim") && !last.contains("SQLSTATE"), stopped.err());
        assertEquals(legacyCatalog, Catalog.snapshot(db), "nothing changed");
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname = 'databasechangelog'"));
    }

    @Test
    void whatTheReplacementCannotCarryStopsTheRunBeforeAnyChange() {
        ConnectionSpec db = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0, LegacyDatabase.CLAIMS_MV_OF_PRODUCTION);
        Sql.exec(db,
                // production's own column, which the bundle's definition does not have
                "CREATE INDEX claims_priority_by_hand ON " + CLAIMS_MV + " (priority_collection)",
                "CREATE FUNCTION public.t_claims() RETURNS SETOF " + CLAIMS_MV + " LANGUAGE sql AS 'SELECT * FROM " + CLAIMS_MV + "'");
        List<String> legacyCatalog = Catalog.snapshot(db);
        String legacyRows = contents(db, CLAIMS_MV);

        Cli.Result stopped = Cli.run("update", "--replace-differing", "--url", Cli.url(db));
        assertEquals(1, stopped.exitCode(), stopped.toString());
        String last = stopped.err().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.contains("stopped before any change") && last.contains("function public.t_claims()") && last.contains("row type"),
                "one line naming the function: " + stopped.err());
        assertEquals(legacyCatalog, Catalog.snapshot(db), "nothing changed");
        assertEquals(legacyRows, contents(db, CLAIMS_MV));
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname = 'databasechangelog'"));

        Sql.exec(db, "DROP FUNCTION public.t_claims()");
        stopped = Cli.run("update", "--replace-differing", "--url", Cli.url(db));
        assertEquals(1, stopped.exitCode(), stopped.toString());
        assertTrue(stopped.err().contains("claims_priority_by_hand reads priority_collection") && stopped.err().contains("opsmv import"),
                stopped.err());
        assertEquals(legacyCatalog, Catalog.snapshot(db), "nothing changed");
    }
}
