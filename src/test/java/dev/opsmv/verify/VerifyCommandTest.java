package dev.opsmv.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;

// "newest": verify reads index validity and the statistics its bloat estimate comes from
@Tag("newest")
class VerifyCommandTest {
    static ConnectionSpec db;

    @BeforeAll
    static void deploy() {
        db = Deployed.bundleDatabase(400, Deployed.SHARED_SEED);
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
    void endpointQueryIsTimedOnTheRelationTheEndpointWouldReadAgainstMaxQueryMs() {
        String mv = "ops.mv_payments_driver_matrix_cabinet";
        Cli.Result ok = Cli.run("verify", "--url", Cli.url(db));
        assertEquals(0, ok.exitCode(), ok.toString());
        String line = itemLine(ok, "✓ endpoint query under 2 s: ");
        assertTrue(line.matches("✓ endpoint query under 2 s: materialized view " + mv + ": [0-9.]+ ms \\(median of 3 runs: .*"), line);
        assertTrue(line.contains("origin_tag = 'cabinet'"), line);

        // The failing side: no real query is faster than a microsecond.
        Cli.Result slow = Cli.run("verify", "--url", Cli.url(db), "--max-query-ms", "0.001");
        assertEquals(1, slow.exitCode(), slow.toString());
        String failed = itemLine(slow, "✗ endpoint query under 0.001 ms: ");
        assertTrue(failed.matches("✗ endpoint query under 0.001 ms: materialized view " + mv + ": [0-9.]+ ms \\(median .* — ≥ 0.001 ms: .*"), failed);
        assertEquals(1, slow.out().lines().filter(l -> l.startsWith("✗")).count(), slow.toString());

        // MV not populated: the endpoint reads the plain view, and so does the check.
        Sql.exec(db, "REFRESH MATERIALIZED VIEW " + mv + " WITH NO DATA");
        try {
            Cli.Result view = Cli.run("verify", "--url", Cli.url(db), "--max-query-ms", "60000");
            String viewLine = itemLine(view, "✓ endpoint query under 60 s: ");
            assertTrue(viewLine.startsWith("✓ endpoint query under 60 s: plain view ops.v_payments_driver_matrix_cabinet (the endpoint falls back "
                    + "to it: materialized view " + mv + " is not populated): "), viewLine);
            Cli.Result viewSlow = Cli.run("verify", "--url", Cli.url(db), "--max-query-ms", "0.001");
            assertTrue(itemLine(viewSlow, "✗ endpoint query under 0.001 ms: ").contains("populate the MV (`opsmv refresh " + mv + "`)"), viewSlow.toString());
        } finally {
            Sql.exec(db, "REFRESH MATERIALIZED VIEW " + mv);
        }

        Cli.Result bad = Cli.run("verify", "--url", Cli.url(db), "--max-query-ms", "0");
        assertEquals(2, bad.exitCode(), bad.toString());
        assertTrue(bad.err().contains("--max-query-ms must be a number of milliseconds above 0"), bad.toString());
    }

    @Test
    void indexBloatEstimateRisesWhenMostRowsAreGoneAndAWarningNamesReindex() {
        String probe = "ops.mv_zz_probe";
        Sql.exec(db, "CREATE TABLE public.probe_src AS SELECT g AS id, md5(g::text) AS k FROM generate_series(1, 50000) g",
                "CREATE MATERIALIZED VIEW " + probe + " AS SELECT id, k FROM public.probe_src",
                "CREATE UNIQUE INDEX ux_mv_zz_probe_id ON " + probe + " (id)",
                "CREATE INDEX idx_mv_zz_probe_k ON " + probe + " (k)",
                // the statistics change when the test says so, not when autovacuum happens to pass by
                "ALTER MATERIALIZED VIEW " + probe + " SET (autovacuum_enabled = false)");
        try {
            // Before any ANALYZE: the row count comes with the index build, the text key's width does not.
            String unanalyzed = itemLine(Cli.run("verify", "--url", Cli.url(db)), "✓ index bloat " + probe + ": ");
            assertTrue(unanalyzed.matches(".*idx_mv_zz_probe_k \\d+ kB, bloat unknown \\(no planner statistics for k yet.*"), unanalyzed);
            assertTrue(bloat(unanalyzed, "ux_mv_zz_probe_id") <= 5, unanalyzed);

            Sql.exec(db, "ANALYZE " + probe);
            String fresh = itemLine(Cli.run("verify", "--url", Cli.url(db)), "✓ index bloat " + probe + ": ");
            assertTrue(fresh.endsWith("[catalog estimate]"), fresh);
            assertTrue(bloat(fresh, "ux_mv_zz_probe_id") <= 5 && bloat(fresh, "idx_mv_zz_probe_k") <= 5, fresh);

            // 90% of the rows leave the MV through CONCURRENTLY refreshes: the index pages stay.
            Sql.exec(db, "DELETE FROM public.probe_src WHERE id % 10 <> 0", "REFRESH MATERIALIZED VIEW CONCURRENTLY " + probe,
                    "VACUUM ANALYZE " + probe);
            Cli.Result bloated = Cli.run("verify", "--url", Cli.url(db));
            assertEquals(0, bloated.exitCode(), bloated.toString());
            String line = itemLine(bloated, "✓ index bloat " + probe + ": ");
            assertTrue(bloat(line, "ux_mv_zz_probe_id") >= 80 && bloat(line, "idx_mv_zz_probe_k") >= 80, line);
            assertTrue(bloated.out().lines().noneMatch(l -> l.startsWith("WARNING")), "under 10 MB: not worth a warning\n" + bloated);

            // The same index over a smaller size threshold: a WARNING naming the command, and still exit 0.
            Cli.Result warned = Cli.run("verify", "--url", Cli.url(db), "--bloat-warn-mb", "1");
            assertEquals(0, warned.exitCode(), warned.toString());
            String warning = itemLine(warned, "WARNING index bloat " + probe + ": ");
            System.out.println(String.join("\n", unanalyzed, fresh, line, warning));
            assertTrue(warning.contains("a reindex is worth it: idx_mv_zz_probe_k ~") && warning.contains("run `opsmv reindex mv_zz_probe`"), warning);
            assertTrue(!warning.contains("✗") && !warning.contains("ux_mv_zz_probe_id ~"), "the 1 MB unique index is under 1 MB of bloat: " + warning);
            assertTrue(warned.out().contains("verify: no ✗ in "), warned.toString());
            assertTrue(warned.out().trim().endsWith(", 1 WARNING"), warned.toString());

            // pgstattuple installed: measured instead of estimated, the same verdict.
            Sql.exec(db, "CREATE EXTENSION pgstattuple");
            String measured = itemLine(Cli.run("verify", "--url", Cli.url(db)), "✓ index bloat " + probe + ": ");
            assertTrue(measured.endsWith("[pgstatindex]"), measured);
            assertTrue(bloat(measured, "ux_mv_zz_probe_id") >= 80 && bloat(measured, "idx_mv_zz_probe_k") >= 80, measured);

            assertEquals(0, Cli.run("reindex", "--url", Cli.url(db), "mv_zz_probe").exitCode());
            String rebuilt = itemLine(Cli.run("verify", "--url", Cli.url(db), "--bloat-warn-mb", "0"), "✓ index bloat " + probe + ": ");
            assertTrue(bloat(rebuilt, "ux_mv_zz_probe_id") <= 5 && bloat(rebuilt, "idx_mv_zz_probe_k") <= 5, rebuilt);
            Sql.exec(db, "DROP EXTENSION pgstattuple");
            String rebuiltCatalog = itemLine(Cli.run("verify", "--url", Cli.url(db)), "✓ index bloat " + probe + ": ");
            System.out.println(String.join("\n", measured, rebuilt, rebuiltCatalog));
            assertTrue(bloat(rebuiltCatalog, "ux_mv_zz_probe_id") <= 5 && bloat(rebuiltCatalog, "idx_mv_zz_probe_k") <= 5, rebuiltCatalog);
        } finally {
            Sql.exec(db, "DROP EXTENSION IF EXISTS pgstattuple", "DROP MATERIALIZED VIEW IF EXISTS " + probe, "DROP TABLE IF EXISTS public.probe_src");
        }
    }

    /** The one line of {@code r} starting with {@code prefix}. */
    static String itemLine(Cli.Result r, String prefix) {
        List<String> hits = r.out().lines().filter(l -> l.startsWith(prefix)).toList();
        assertEquals(1, hits.size(), "lines starting with '" + prefix + "':\n" + r);
        return hits.get(0);
    }

    /** The estimated bloat percentage of {@code index} in a bloat line. */
    static long bloat(String line, String index) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\b" + index + " [^,;]+, ~(\\d+)% bloat").matcher(line);
        assertTrue(m.find(), index + " in " + line);
        return Long.parseLong(m.group(1));
    }

    /**
     * Issue 29: --source-schema says where the base indexes are (the changelog's source_schema the database was
     * deployed with). Source tables in schema erp, deployed with --source-schema erp: verify with the same option
     * finds every base index there; without it, it looks in public and names each one missing.
     */
    @Test
    void sourceSchemaSaysWhereTheBaseIndexesAre() {
        ConnectionSpec erp = Deployed.fixtureDatabase(200, Deployed.SHARED_SEED, 0);
        Sql.exec(erp, "CREATE SCHEMA erp");
        for (String table : List.of("drivers", "milestones_achieved", "payment_calc", "claims_cabinet", "yango_payments_raw")) {
            Sql.exec(erp, "ALTER TABLE public." + table + " SET SCHEMA erp");
        }
        Cli.Result update = Cli.run("update", "--source-schema", "erp", "--url", Cli.url(erp));
        assertEquals(0, update.exitCode(), update.toString());

        Cli.Result r = Cli.run("verify", "--source-schema", "erp", "--url", Cli.url(erp));
        List<String> base = r.out().lines().filter(l -> l.contains(" base index ")).toList();
        assertEquals(6, base.size(), r.toString());
        assertTrue(base.stream().allMatch(l -> l.startsWith("✓ base index erp.idx_") && l.contains(": present and valid on erp.")), r.toString());

        Cli.Result wrong = Cli.run("verify", "--url", Cli.url(erp));
        assertEquals(1, wrong.exitCode(), wrong.toString());
        assertTrue(wrong.out().lines().filter(l -> l.contains(" base index ")).allMatch(l -> l.startsWith("✗ base index public.idx_")
                && l.contains(": missing")), wrong.toString());

        Cli.Result bad = Cli.run("verify", "--source-schema", "Erp;drop", "--url", Cli.url(erp));
        assertEquals(2, bad.exitCode(), bad.toString());
    }

    @Test
    void exitsThreeWhenItCannotConnect() {
        Cli.Result r = Cli.run("verify", "--url", "postgres://postgres@127.0.0.1:" + Cli.deadPort() + "/nope");
        assertEquals(3, r.exitCode(), r.toString());
        assertTrue(r.err().contains("cannot connect"), r.toString());
    }

}
