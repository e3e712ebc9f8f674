package dev.opsmv.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;

class VerifyCommandTest {
    static ConnectionSpec db;

    @BeforeAll
    static void deploy() {
        db = Deployed.bundleDatabase(400, 11);
    }

    @Test
    void passesOnAFreshDeployment() {
        Cli.Result r = Cli.run("verify", "--url", Cli.url(db));
        System.out.println(r.out());
        assertEquals(0, r.exitCode(), r.toString());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("✗")), r.toString());
        // Written here from the changelog by hand, independently of how verify derives its expectations:
        // at v1.1, every base index and every MV index (the driver matrix's third, v1.1's week index, included).
        Map<String, String> baseIndexes = Map.of(
                "idx_claims_cabinet_driver_milestone", "claims_cabinet", "idx_drivers_origin_week", "drivers",
                "idx_milestones_achieved_driver_milestone", "milestones_achieved", "idx_payment_calc_driver_milestone", "payment_calc",
                "idx_yango_payments_raw_driver_milestone", "yango_payments_raw", "idx_yango_payments_raw_key_snapshot", "yango_payments_raw");
        baseIndexes.forEach((ix, table) ->
                assertTrue(lines.contains("✓ base index public." + ix + ": present and valid on public." + table), ix + "\n" + r));
        Map<String, String> mvIndexes = new java.util.TreeMap<>(Map.ofEntries(
                Map.entry("ux_mv_yango_payments_raw_current_grain", "mv_yango_payments_raw_current (unique)"),
                Map.entry("idx_mv_yango_payments_raw_current_driver_milestone", "mv_yango_payments_raw_current"),
                Map.entry("ux_mv_yango_payments_ledger_latest_grain", "mv_yango_payments_ledger_latest (unique)"),
                Map.entry("ux_mv_yango_payments_ledger_latest_enriched_grain", "mv_yango_payments_ledger_latest_enriched (unique)"),
                Map.entry("idx_mv_yango_payments_ledger_latest_enriched_origin_week", "mv_yango_payments_ledger_latest_enriched"),
                Map.entry("ux_mv_yango_receivable_payable_detail_grain", "mv_yango_receivable_payable_detail (unique)"),
                Map.entry("idx_mv_yango_receivable_payable_detail_origin_week", "mv_yango_receivable_payable_detail"),
                Map.entry("ux_mv_claims_payment_status_cabinet_grain", "mv_claims_payment_status_cabinet (unique)"),
                Map.entry("idx_mv_claims_payment_status_cabinet_driver_milestone", "mv_claims_payment_status_cabinet"),
                Map.entry("idx_mv_yango_cabinet_claims_for_collection_aging", "mv_yango_cabinet_claims_for_collection"),
                Map.entry("ux_mv_yango_cabinet_claims_for_collection_grain", "mv_yango_cabinet_claims_for_collection (unique)"),
                Map.entry("ux_mv_payments_driver_matrix_cabinet_grain", "mv_payments_driver_matrix_cabinet (unique)"),
                Map.entry("idx_mv_payments_driver_matrix_cabinet_origin_week", "mv_payments_driver_matrix_cabinet"),
                Map.entry("idx_mv_payments_driver_matrix_cabinet_week", "mv_payments_driver_matrix_cabinet")));
        mvIndexes.forEach((ix, on) -> assertTrue(lines.contains("✓ MV index ops." + ix + ": present and valid on ops." + on), ix + "\n" + r));
        assertEquals(baseIndexes.size() + mvIndexes.size(), lines.stream().filter(l -> l.contains(" index ")).filter(l -> l.contains("present and valid")).count(),
                "no index expected beyond those: " + r);
        List<String> mvs = List.of("mv_yango_payments_raw_current", "mv_yango_payments_ledger_latest", "mv_yango_payments_ledger_latest_enriched",
                "mv_yango_receivable_payable_detail", "mv_claims_payment_status_cabinet", "mv_yango_cabinet_claims_for_collection",
                "mv_payments_driver_matrix_cabinet");
        for (String mv : mvs) {
            assertTrue(lines.contains("✓ MV ops." + mv + ": present, populated, not empty"), mv + "\n" + r);
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("✓ size ops." + mv + ": total ") && l.contains("indexes")), mv);
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("✓ last refresh ops." + mv + ": ")), mv);
        }
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("✓ MV index ops.ux_mv_yango_cabinet_claims_for_collection_grain: present and valid")));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("✓ health view ops.v_mv_health: 7 rows")));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("✓ health view ops.v_yango_cabinet_claims_mv_health: 1 row(s)")));
        String plan = lines.stream().filter(l -> l.startsWith("✓ endpoint query planned on an MV index")).findFirst().orElseThrow();
        assertTrue(plan.contains("idx_mv_payments_driver_matrix_cabinet_origin_week") || plan.contains("ux_mv_payments_driver_matrix_cabinet_grain"), plan);
        assertTrue(lines.stream().anyMatch(l -> l.matches("✓ endpoint query timed: plain view [0-9.]+ ms, MV [0-9.]+ ms .*")), r.toString());
    }

    @Test
    void failsNamingTheDroppedIndex() {
        Sql.exec(db, "DROP INDEX public.idx_drivers_origin_week");
        try {
            Cli.Result r = Cli.run("verify", "--url", Cli.url(db));
            assertEquals(1, r.exitCode(), r.toString());
            assertTrue(r.out().contains("✗ base index public.idx_drivers_origin_week: missing"), r.toString());
            assertEquals(1, r.out().lines().filter(l -> l.startsWith("✗")).count(), r.toString());
        } finally {
            Sql.exec(db, "CREATE INDEX idx_drivers_origin_week ON public.drivers (origin_tag, week_start)");
        }
        Sql.exec(db, "DROP INDEX ops.ux_mv_yango_cabinet_claims_for_collection_grain");
        try {
            Cli.Result r = Cli.run("verify", "--url", Cli.url(db));
            assertEquals(1, r.exitCode(), r.toString());
            assertTrue(r.out().contains("✗ MV index ops.ux_mv_yango_cabinet_claims_for_collection_grain: missing"), r.toString());
        } finally {
            Sql.exec(db, "CREATE UNIQUE INDEX ux_mv_yango_cabinet_claims_for_collection_grain "
                    + "ON ops.mv_yango_cabinet_claims_for_collection (driver_id, milestone_value)");
        }
    }

    @Test
    void failsNamingAnInvalidIndex() {
        // A real failed CREATE INDEX CONCURRENTLY: UNIQUE on a non-unique column pair leaves an INVALID index behind.
        Sql.exec(db, "DROP INDEX public.idx_drivers_origin_week");
        try {
            try {
                Sql.exec(db, "CREATE UNIQUE INDEX CONCURRENTLY idx_drivers_origin_week ON public.drivers (origin_tag, week_start)");
                throw new AssertionError("the unique build should have failed on duplicate (origin_tag, week_start)");
            } catch (IllegalStateException expected) {
                assertTrue(expected.getMessage().contains("could not create unique index"), expected.getMessage());
            }
            Cli.Result r = Cli.run("verify", "--url", Cli.url(db));
            assertEquals(1, r.exitCode(), r.toString());
            assertTrue(r.out().contains("✗ base index public.idx_drivers_origin_week: INVALID"), r.toString());
        } finally {
            Sql.exec(db, "DROP INDEX IF EXISTS public.idx_drivers_origin_week",
                    "CREATE INDEX idx_drivers_origin_week ON public.drivers (origin_tag, week_start)");
        }
    }

    @Test
    void failsNamingTheUnpopulatedMv() {
        Sql.exec(db, "REFRESH MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet WITH NO DATA");
        try {
            Cli.Result r = Cli.run("verify", "--url", Cli.url(db));
            assertEquals(1, r.exitCode(), r.toString());
            assertTrue(r.out().contains("✗ MV ops.mv_payments_driver_matrix_cabinet: present but NOT populated"), r.toString());
            // The endpoint's query cannot run on an unpopulated MV either.
            assertTrue(r.out().contains("✗ endpoint query timed"), r.toString());
        } finally {
            Sql.exec(db, "REFRESH MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet");
        }
    }

    @Test
    void exitsThreeWhenItCannotConnect() {
        Cli.Result r = Cli.run("verify", "--url", "postgres://postgres@127.0.0.1:" + Cli.deadPort() + "/nope");
        assertEquals(3, r.exitCode(), r.toString());
        assertTrue(r.err().contains("cannot connect"), r.toString());
    }

}
