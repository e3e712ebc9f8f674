package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.MvIdentity;
import dev.opsmv.testing.Releases;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.StockCli;

/**
 * Issue 24, point 2: release v1.1 rebuilds the driver-matrix MV (CREATE beside, DROP, RENAME); the capture before
 * it and the restore after it (release 1.5) keep everything a DBA attached to the MV: owner, grants with their
 * grantors, column grants, comments, heap and TOAST storage parameters, column statistics targets, a hand-made
 * index with its comment and the CLUSTER mark; default privileges of the deploying role do not leak onto the
 * rebuilt MV. Upgrade from every earlier release of the changelog, then rollback to it.
 */
// catalog rows (attstattarget, acldefault, reloptions) differ by major
@Tag("matrix")
class CarryAcrossReleasesTest {
    static final String MV = "ops.mv_payments_driver_matrix_cabinet";
    /** The bundle's own indexes of the MV: v1.1 changes their definitions (and adds one) on purpose. */
    static final Set<String> BUNDLE_INDEXES = Set.of("ux_mv_payments_driver_matrix_cabinet_grain",
            "idx_mv_payments_driver_matrix_cabinet_origin_week", "idx_mv_payments_driver_matrix_cabinet_week");
    static final String HAND_INDEX = "mv_dm_by_park_hand";
    static final long DRIVERS = 300;

    /** The release tags of the master changelog, in order, as Liquibase parses them (tagDatabase changes). */
    static List<String> releaseTags() throws Exception {
        try (Connection c = Deployed.fixtureDatabase(DRIVERS, Deployed.SHARED_SEED, 0).open()) {
            return Migrator.bundle(c, null).changelogTags();
        }
    }

    @TestFactory
    Stream<DynamicTest> upgradeFromEveryEarlierReleaseKeepsWhatIsAttachedToTheMvAndRollbackBringsItBack() throws Exception {
        List<String> tags = releaseTags();
        assertEquals(Releases.LAST, tags.get(tags.size() - 1), "the changelog's last tag");
        assertTrue(tags.containsAll(List.of("opsmv-empty", "v1.0", "v1.1")), tags.toString());
        // opsmv-empty is before any ops object: no MV to attach anything to
        return tags.subList(0, tags.size() - 1).stream().filter(t -> !t.equals("opsmv-empty"))
                .map(t -> DynamicTest.dynamicTest("from " + t, () -> upgradeFrom(t)));
    }

    void upgradeFrom(String tag) throws Exception {
        ConnectionSpec db = asDeployedBeforeCarry(Deployed.bundleDatabase(DRIVERS, Deployed.SHARED_SEED, tag));
        Roles roles = Roles.create(db);
        attachEverything(db, roles);
        List<String> before = MvIdentity.of(db, MV);
        assertTrue(before.contains("owner " + roles.owner), before.toString());
        assertTrue(before.contains("grant " + roles.second + " SELECT grantable=false by " + roles.reader), before.toString());

        Cli.Result update = Cli.run("update", "--url", Cli.url(db));
        assertEquals(0, update.exitCode(), update.toString());
        assertEquals(Releases.LAST, lastTag(db));
        List<String> after = MvIdentity.of(db, MV);
        assertEquals(onPurpose(before), onPurpose(after), "from " + tag + ": what v1.1 does not change on purpose is carried");
        assertTrue(after.stream().anyMatch(l -> l.startsWith("column ") && l.contains(" last_paid_date date ")), after.toString());
        assertFalse(after.stream().anyMatch(l -> l.contains(roles.byDefault)), "default privileges of the deployer do not reach the rebuilt MV: " + after);
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM ops.opsmv_carried"), "every capture restored");
        if (tag.equals("v1.0")) {
            assertNotEquals(before, after, "v1.1 did rebuild the MV");
        }

        Cli.Result rollback = Cli.run("rollback", "--tag", tag, "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());
        assertEquals(tag, lastTag(db));
        assertEquals(before, MvIdentity.of(db, MV), "after rollback --tag " + tag);
    }

    /**
     * Capture refuses, before the rebuild, an MV whose row type a function returns: the DROP would fail with 2BP01
     * (or, with CASCADE, take the function away). One line naming the function and what to do; the MV and the
     * release the database is at are as they were.
     */
    @Test
    void captureRefusesAnMvWhoseRowTypeAFunctionReturns() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(DRIVERS, Deployed.SHARED_SEED, "v1.0");
        Sql.exec(db, "CREATE FUNCTION public.matrix_rows() RETURNS SETOF " + MV + " LANGUAGE sql STABLE AS 'SELECT * FROM " + MV + "'");
        long oid = Sql.count(db, "SELECT '" + MV + "'::regclass::oid::bigint");
        List<String> before = MvIdentity.of(db, MV);

        Cli.Result update = Cli.run("update", "--url", Cli.url(db));
        assertNotEquals(0, update.exitCode(), update.toString());
        String line = update.err().lines().filter(l -> l.contains("opsmv_carry_capture")).findFirst().orElse("");
        assertTrue(line.contains("function public.matrix_rows() depends on its row type") && line.contains("drop it"), update.toString());
        assertEquals(oid, Sql.count(db, "SELECT '" + MV + "'::regclass::oid::bigint"), "not rebuilt");
        assertEquals(before, MvIdentity.of(db, MV));
        assertEquals("v1.0", lastTag(db));
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM databasechangelog WHERE (id LIKE 'v1.1-%' AND id <> 'v1.1-catalogue') OR id LIKE 'v1.5-carry-%'"));
        assertTrue(Sql.count(db, "SELECT count(*) FROM public.matrix_rows()") > 0, "the function still works");
    }

    /** The stock Liquibase CLI 4.33 upgrades v1.0 to the last release and rolls back with the same outcome. */
    @Test
    @Tag("once")
    void theStockCliCarriesTheSameFacts() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(DRIVERS, Deployed.SHARED_SEED, "v1.0");
        Roles roles = Roles.create(db);
        attachEverything(db, roles);
        List<String> before = MvIdentity.of(db, MV);

        StockCli.Result update = StockCli.runnersLine().run(db, "update");
        assertEquals(0, update.exitCode(), update.output());
        assertEquals(Releases.LAST, lastTag(db));
        assertEquals(onPurpose(before), onPurpose(MvIdentity.of(db, MV)));

        StockCli.Result rollback = StockCli.runnersLine().run(db, "rollback", "--tag=v1.0");
        assertEquals(0, rollback.exitCode(), rollback.output());
        assertEquals("v1.0", lastTag(db));
        assertEquals(before, MvIdentity.of(db, MV));
    }

    /**
     * A database deployed to {@code tag} by the changelog of its time: the carry changesets (new in 1.5, included
     * by v1.1's release file) were not there yet. Deploying to v1.1..v1.4 with today's changelog runs them; their
     * rows and objects are removed so the update runs them later in execution order, as it does on such a database.
     */
    static ConnectionSpec asDeployedBeforeCarry(ConnectionSpec db) {
        String carry = "id IN ('v1.5-opsmv-carried', 'v1.5-opsmv-carry-functions') OR id LIKE 'v1.5-carry-%'";
        if (Sql.count(db, "SELECT count(*) FROM databasechangelog WHERE " + carry) > 0) {
            Sql.exec(db, "DELETE FROM databasechangelog WHERE " + carry,
                    "DROP FUNCTION ops.opsmv_carry_restore(text, text), ops.opsmv_carry_as(text, text),"
                            + " ops.opsmv_carry_capture(text, text, text[]), ops.opsmv_carry_acl(oid)",
                    "DROP TABLE ops.opsmv_carried");
        }
        return db;
    }

    /** Roles are cluster-wide: names unique to this database. */
    record Roles(String owner, String reader, String second, String columns, String byDefault) {
        static Roles create(ConnectionSpec db) {
            String p = "opsmv_t_carry_" + ProcessHandle.current().pid() + "_" + db.database().replaceAll("[^a-z0-9_]", "") + "_";
            Roles r = new Roles(p + "owner", p + "reader", p + "second", p + "cols", p + "dflt");
            for (String role : List.of(r.owner, r.reader, r.second, r.columns, r.byDefault)) {
                Sql.exec(db, "CREATE ROLE " + role + " NOLOGIN");
            }
            return r;
        }
    }

    static void attachEverything(ConnectionSpec db, Roles r) {
        Sql.exec(db,
                "GRANT USAGE, CREATE ON SCHEMA ops TO " + r.owner,
                "GRANT USAGE ON SCHEMA ops TO " + r.reader + ", " + r.second + ", " + r.columns,
                "ALTER MATERIALIZED VIEW " + MV + " OWNER TO " + r.owner,
                "GRANT SELECT ON " + MV + " TO " + r.reader + " WITH GRANT OPTION",
                "SET ROLE " + r.reader,
                "GRANT SELECT ON " + MV + " TO " + r.second,
                "RESET ROLE",
                "GRANT SELECT (driver_id, origin_tag) ON " + MV + " TO " + r.columns,
                "COMMENT ON MATERIALIZED VIEW " + MV + " IS 'driver matrix, read by the ops dashboard'",
                "COMMENT ON COLUMN " + MV + ".origin_tag IS 'where the driver signed up'",
                "ALTER MATERIALIZED VIEW " + MV + " SET (fillfactor = 90)",
                "ALTER MATERIALIZED VIEW " + MV + " SET (toast.autovacuum_enabled = false)",
                "ALTER MATERIALIZED VIEW " + MV + " ALTER COLUMN origin_tag SET STATISTICS 1000",
                "CREATE INDEX " + HAND_INDEX + " ON " + MV + " (park_id, driver_id)",
                "COMMENT ON INDEX ops." + HAND_INDEX + " IS 'made by hand for the park report'",
                "ALTER MATERIALIZED VIEW " + MV + " CLUSTER ON " + HAND_INDEX,
                // whatever the deploying role creates in ops from now on is readable by this role: not the rebuilt MV
                "ALTER DEFAULT PRIVILEGES IN SCHEMA ops GRANT SELECT ON TABLES TO " + r.byDefault);
    }

    /** The identity without what release v1.1 changes on purpose: the definition, its new column, the bundle's own indexes. */
    static List<String> onPurpose(List<String> identity) {
        return identity.stream()
                .filter(l -> !l.startsWith("definition "))
                .filter(l -> !(l.startsWith("column ") && l.contains(" last_paid_date ")))
                .filter(l -> !(l.startsWith("index ") && BUNDLE_INDEXES.stream().anyMatch(i -> l.contains(" INDEX " + i + " "))))
                .toList();
    }

    static String lastTag(ConnectionSpec db) {
        return (String) Sql.value(db, "SELECT tag FROM databasechangelog WHERE tag IS NOT NULL ORDER BY orderexecuted DESC LIMIT 1");
    }
}
