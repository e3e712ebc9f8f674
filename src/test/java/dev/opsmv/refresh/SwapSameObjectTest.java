package dev.opsmv.refresh;

import static dev.opsmv.refresh.RefreshFixtures.checksum;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.cli.ExitCode;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.MvIdentity;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.Cli;

/**
 * Issue 24: an MV rebuilt beside the serving one is the same object with new rows. Its rows are what
 * PostgreSQL's own REFRESH by its owner stores (owner's rights, row-level security), everything attached
 * to it survives with the same grantors, and what cannot be carried (objects bound to its row type, an
 * INVALID index) is refused before any work, auto picking another method with the reason.
 */
@Tag("matrix")
class SwapSameObjectTest {
    static final String MATRIX = "ops.mv_payments_driver_matrix_cabinet";

    private static String role(ConnectionSpec db, String what) {
        return "opsmv_t_" + what + "_" + ProcessHandle.current().pid() + "_" + db.database();
    }

    @Test
    void aSwapComputesTheMvWithItsOwnersRightsAsPostgresRefreshDoes() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(300, Deployed.SHARED_SEED);
        String owner = role(db, "owner");
        Sql.exec(db,
                "CREATE ROLE " + owner + " NOLOGIN",
                "GRANT USAGE, CREATE ON SCHEMA ops TO " + owner,
                "CREATE TABLE public.t_tenant_rows (id int PRIMARY KEY, tenant text NOT NULL)",
                "INSERT INTO public.t_tenant_rows SELECT g, CASE WHEN g % 4 = 0 THEN 'public' ELSE 'tenant_' || g % 4 END FROM generate_series(1, 100) g",
                // the owner may read only the public rows: a policy of the source, as production has them
                "ALTER TABLE public.t_tenant_rows ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY public_only ON public.t_tenant_rows USING (tenant = 'public')",
                "GRANT SELECT ON public.t_tenant_rows TO " + owner,
                "CREATE MATERIALIZED VIEW ops.mv_t_who AS SELECT current_user::text AS who, t.id, t.tenant FROM public.t_tenant_rows t WITH NO DATA",
                "CREATE UNIQUE INDEX ux_mv_t_who ON ops.mv_t_who (id)",
                "ALTER MATERIALIZED VIEW ops.mv_t_who OWNER TO " + owner);

        Cli.Result plain = Cli.on(db, "refresh", "mv_t_who", "--method", "plain");
        assertEquals(ExitCode.OK, plain.exitCode(), plain.all());
        List<String> byRefresh = Sql.strings(db, "SELECT who || ' ' || count(*) FROM ops.mv_t_who GROUP BY who");
        assertEquals(List.of(owner + " 25"), byRefresh, "PostgreSQL's REFRESH: the owner's rights, 25 public rows");
        String plainRows = checksum(db, "ops.mv_t_who");

        Cli.Result concurrently = Cli.on(db, "refresh", "mv_t_who", "--method", "concurrently");
        assertEquals(ExitCode.OK, concurrently.exitCode(), concurrently.all());
        assertEquals(plainRows, checksum(db, "ops.mv_t_who"));

        long oid = Sql.count(db, "SELECT 'ops.mv_t_who'::regclass::oid::bigint");
        Cli.Result swap = Cli.on(db, "refresh", "mv_t_who", "--method", "swap");
        assertEquals(ExitCode.OK, swap.exitCode(), swap.all());
        assertNotEquals(oid, Sql.count(db, "SELECT 'ops.mv_t_who'::regclass::oid::bigint"), "rebuilt beside, swapped in");
        assertEquals(byRefresh, Sql.strings(db, "SELECT who || ' ' || count(*) FROM ops.mv_t_who GROUP BY who"),
                "the swap computes as the owner too, under the owner's row-level security: not the runner's 100 rows");
        assertEquals(plainRows, checksum(db, "ops.mv_t_who"), "the same rows as the owner's REFRESH");
        assertEquals(owner, Sql.value(db, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'ops.mv_t_who'::regclass"));
    }

    @Test
    void everythingAttachedToTheMvSurvivesASwapAndGrantsKeepTheirGrantors() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(300, Deployed.SHARED_SEED);
        String owner = role(db, "owner");
        String reader = role(db, "reader");
        String second = role(db, "second");
        Sql.exec(db,
                "CREATE ROLE " + owner + " NOLOGIN",
                "CREATE ROLE " + reader + " NOLOGIN",
                "CREATE ROLE " + second + " NOLOGIN",
                "GRANT USAGE, CREATE ON SCHEMA ops TO " + owner,
                "GRANT USAGE ON SCHEMA ops TO " + reader,
                "GRANT SELECT ON ops.v_payments_driver_matrix_cabinet TO " + owner,
                "ALTER MATERIALIZED VIEW " + MATRIX + " OWNER TO " + owner,
                "GRANT SELECT ON " + MATRIX + " TO " + reader + " WITH GRANT OPTION",
                "GRANT SELECT (driver_id, origin_tag) ON " + MATRIX + " TO PUBLIC",
                // grants made by the reader, not by the owner: REVOKE … CASCADE from the reader must still reach them
                "SET ROLE " + reader,
                "GRANT SELECT ON " + MATRIX + " TO " + second,
                "GRANT SELECT (week_start) ON " + MATRIX + " TO " + second,
                "RESET ROLE",
                "COMMENT ON MATERIALIZED VIEW " + MATRIX + " IS 'served by the endpoint'",
                "COMMENT ON COLUMN " + MATRIX + ".driver_id IS 'the grain'",
                "ALTER MATERIALIZED VIEW " + MATRIX + " SET (fillfactor = 90, toast.autovacuum_enabled = false)",
                "ALTER MATERIALIZED VIEW " + MATRIX + " ALTER COLUMN origin_tag SET STATISTICS 1000",
                "ALTER MATERIALIZED VIEW " + MATRIX + " ALTER COLUMN week_start SET (n_distinct = 52)",
                "ALTER MATERIALIZED VIEW " + MATRIX + " ALTER COLUMN m1_claim_status SET STORAGE MAIN",
                "CREATE INDEX t_matrix_origin_lower ON " + MATRIX + " (lower(origin_tag))",
                "ALTER INDEX ops.t_matrix_origin_lower ALTER COLUMN 1 SET STATISTICS 500",
                "COMMENT ON INDEX ops.t_matrix_origin_lower IS 'made by hand'",
                "ALTER MATERIALIZED VIEW " + MATRIX + " CLUSTER ON idx_mv_payments_driver_matrix_cabinet_week");
        List<String> before = MvIdentity.of(db, MATRIX);
        assertTrue(before.contains("grant " + second + " SELECT grantable=false by " + reader), before.toString());
        assertTrue(before.stream().anyMatch(l -> l.startsWith("toast reloptions autovacuum_enabled=false")), before.toString());
        long oid = SwapRefreshTest.oid(db, MATRIX);

        Cli.Result swap = Cli.on(db, "refresh", "mv_payments_driver_matrix_cabinet", "--method", "swap");
        assertEquals(ExitCode.OK, swap.exitCode(), swap.all());
        assertNotEquals(oid, SwapRefreshTest.oid(db, MATRIX));
        assertEquals(before, MvIdentity.of(db, MATRIX),
                "owner, grants and grantors, comments, heap and TOAST options, column statistics/options/storage, indexes, CLUSTER mark");
        assertEquals(0, SwapRefreshTest.differences(db), "rows equal the view");

        Sql.exec(db, "REVOKE SELECT ON " + MATRIX + " FROM " + reader + " CASCADE");
        assertFalse((Boolean) Sql.value(db, "SELECT has_table_privilege('" + second + "', '" + MATRIX + "', 'SELECT')"),
                "the reader's grant to the second role went with the reader's: it was still recorded as the reader's");
    }

    @Test
    void anMvWhoseRowTypeIsUsedIsNotSwappedAndAutoSaysWhy() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(300, Deployed.SHARED_SEED);
        Sql.exec(db,
                "CREATE MATERIALIZED VIEW ops.mv_t_rowtype AS SELECT driver_id, origin_tag FROM public.drivers",
                "CREATE FUNCTION public.t_rows() RETURNS SETOF ops.mv_t_rowtype LANGUAGE sql AS 'SELECT * FROM ops.mv_t_rowtype'");
        long oid = SwapRefreshTest.oid(db, "ops.mv_t_rowtype");

        Cli.Result dry = Cli.on(db, "refresh", "mv_t_rowtype", "--dry-run");
        assertEquals(ExitCode.OK, dry.exitCode(), dry.all());
        assertTrue(dry.out().lines().anyMatch(l -> l.contains("ops.mv_t_rowtype") && l.contains("PLAIN")
                && l.contains("no swap") && l.contains("function public.t_rows()")), "auto's choice and its reason: " + dry.out());

        Cli.Result swap = Cli.on(db, "refresh", "mv_t_rowtype", "--method", "swap");
        assertEquals(ExitCode.PROBLEM, swap.exitCode(), swap.all());
        assertTrue(swap.out().contains("function public.t_rows()") && swap.out().contains("row type"), swap.all());
        assertEquals(oid, SwapRefreshTest.oid(db, "ops.mv_t_rowtype"), "refused before any work");
        assertEquals(0, SwapRefreshTest.leftovers(db));

        Sql.exec(db, "INSERT INTO public.drivers (driver_id, origin_tag, lead_date, week_start, park_id) "
                + "SELECT max(driver_id) + 1, 'cabinet', current_date, date_trunc('week', current_date)::date, 'p1' FROM public.drivers");
        Cli.Result auto = Cli.on(db, "refresh", "mv_t_rowtype");
        assertEquals(ExitCode.OK, auto.exitCode(), auto.all());
        assertEquals(Sql.count(db, "SELECT count(*) FROM public.drivers"), Sql.count(db, "SELECT count(*) FROM public.t_rows()"),
                "refreshed, and the function that returns its rows still works");
        assertEquals("PLAIN", Sql.value(db, "SELECT method FROM ops.mv_refresh_log WHERE mv_name = 'mv_t_rowtype' ORDER BY refresh_started_at DESC LIMIT 1"));
    }

    @Test
    void anInvalidIndexIsNamedNotRebuiltOnEveryRun() {
        ConnectionSpec db = RefreshFixtures.deployedWithEmptyLog(300, Deployed.SHARED_SEED);
        Sql.exec(db, "CREATE MATERIALIZED VIEW ops.mv_t_invalid AS SELECT driver_id, origin_tag FROM public.drivers");
        // a unique index on a column with duplicates, built CONCURRENTLY: it fails and stays behind INVALID
        assertThrows(IllegalStateException.class,
                () -> Sql.exec(db, "CREATE UNIQUE INDEX CONCURRENTLY t_invalid_origin ON ops.mv_t_invalid (origin_tag)"));
        assertEquals(Boolean.FALSE, Sql.value(db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ops.t_invalid_origin'::regclass"));
        long oid = SwapRefreshTest.oid(db, "ops.mv_t_invalid");

        Cli.Result swap = Cli.on(db, "refresh", "mv_t_invalid", "--method", "swap");
        assertEquals(ExitCode.PROBLEM, swap.exitCode(), swap.all());
        assertTrue(swap.out().contains("t_invalid_origin") && swap.out().contains("INVALID") && swap.out().contains("reindex"), swap.all());
        assertEquals(oid, SwapRefreshTest.oid(db, "ops.mv_t_invalid"));

        // a plain REFRESH rebuilds that index too and fails the same way: auto never picks the swap for it and says why
        Cli.Result dry = Cli.on(db, "refresh", "mv_t_invalid", "--dry-run");
        assertTrue(dry.out().lines().anyMatch(l -> l.contains("ops.mv_t_invalid") && !l.contains("SWAP") && l.contains("t_invalid_origin is INVALID")),
                dry.out());
        // once the leftover is gone, the swap works again
        Sql.exec(db, "DROP INDEX ops.t_invalid_origin");
        Cli.Result swapped = Cli.on(db, "refresh", "mv_t_invalid", "--method", "swap");
        assertEquals(ExitCode.OK, swapped.exitCode(), swapped.all());
        assertEquals("SWAP", Sql.value(db, "SELECT method FROM ops.mv_refresh_log WHERE mv_name = 'mv_t_invalid' ORDER BY refresh_started_at DESC LIMIT 1"));
    }
}
