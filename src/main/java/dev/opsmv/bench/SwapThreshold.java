package dev.opsmv.bench;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.opsmv.db.Session;
import dev.opsmv.refresh.RefreshMethod;

/**
 * Section 6: where auto's size rule comes from. A leaf MV with the driver matrix's rows and indexes,
 * at sizes from 500 rows up, refreshed CONCURRENTLY (no change) and by SWAP: the size from which the
 * swap is never dearer (within {@link #NOISE}) is where {@link RefreshMethod#SWAP_MIN_BYTES} should be.
 * Its query only copies rows (from the driver-matrix MV), so what differs is each method's own work.
 */
final class SwapThreshold {
    static final String SIZED = "ops.mv_opsmv_bench_sized";
    /** What the interleaved medians cannot tell apart: within 5% the two methods cost the same. */
    static final double NOISE = 0.05;

    private final Report report;
    private final PrintWriter log;

    SwapThreshold(Report report, PrintWriter log) {
        this.report = report;
        this.log = log;
    }

    void run(Connection c, long drivers) throws Exception {
        log.println("== auto's size rule: SWAP vs CONCURRENTLY by size");
        report.section("6. Where auto's " + String.format(Locale.ROOT, "%.0f MB", RefreshMethod.SWAP_MIN_BYTES / 1048576.0)
                        + " rule comes from: SWAP vs CONCURRENTLY by size (a leaf MV of driver-matrix rows with its three "
                        + "indexes, median of " + RefreshCost.ROUNDS + " interleaved runs, ms)",
                "| rows | heap MB | CONCURRENTLY (no change) | SWAP | SWAP / CONCURRENTLY | auto chooses |",
                "|---:|---:|---:|---:|---:|---|");
        List<String> indexes = Measure.strings(c, "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = '"
                + TypicalQueries.MV + "'::regclass ORDER BY indexrelid");
        Chain.Mv sized = new Chain.Mv(SIZED, "ops", SIZED.substring(4), true);
        List<double[]> points = new ArrayList<>(); // {bytes, swap / concurrently}
        for (long rows : new long[] {500, 2_000, 8_000, 32_000, 128_000, 512_000}) {
            if (rows > drivers) {
                break;
            }
            Measure.exec(c, "DROP MATERIALIZED VIEW IF EXISTS " + SIZED);
            Measure.exec(c, "CREATE MATERIALIZED VIEW " + SIZED + " AS SELECT * FROM " + TypicalQueries.MV + " ORDER BY driver_id LIMIT " + rows);
            int i = 0;
            for (String def : indexes) {
                Measure.exec(c, def.replaceFirst("INDEX \\S+ ON \\S+ ", "INDEX opsmv_bench_sized_i" + (i++) + " ON " + SIZED + " "));
            }
            Measure.exec(c, "ANALYZE " + SIZED);
            double bytes = Double.parseDouble(Session.text(c, "SELECT pg_relation_size('" + SIZED + "')"));
            double[] concRuns = new double[RefreshCost.ROUNDS];
            double[] swapRuns = new double[RefreshCost.ROUNDS];
            for (int r = 0; r < RefreshCost.ROUNDS; r++) { // interleaved, as in section 2
                concRuns[r] = Chain.refresh(c, sized, RefreshMethod.CONCURRENTLY);
                swapRuns[r] = Chain.refresh(c, sized, RefreshMethod.SWAP);
            }
            double conc = Stats.of(concRuns).median();
            double swap = Stats.of(swapRuns).median();
            points.add(new double[] {bytes, swap / conc});
            report.row(String.format(Locale.ROOT, "%,d", rows), String.format(Locale.ROOT, "%.2f", bytes / 1048576.0), Measure.f(conc),
                    Measure.f(swap), Measure.ratio(swap, conc), Chain.auto(c, sized));
        }
        Measure.exec(c, "DROP MATERIALIZED VIEW IF EXISTS " + SIZED);
        // The smallest measured size from which the swap was never dearer than CONCURRENTLY by more than
        // NOISE (at that size and every larger one): the two are run alternately on a shared machine, and a
        // few percent either way is not a difference these medians can show.
        Double from = null;
        for (int k = points.size() - 1; k >= 0 && points.get(k)[1] <= 1 + NOISE; k--) {
            from = points.get(k)[0];
        }
        double rule = RefreshMethod.SWAP_MIN_BYTES;
        String verdict;
        if (from == null) {
            verdict = "the swap was dearer at every measured size: these figures do not support the rule";
        } else {
            double below = 0;
            for (double[] p : points) {
                if (p[0] < from) {
                    below = Math.max(below, p[0]);
                }
            }
            double cheaper = 0;
            for (int k = points.size() - 1; k >= 0 && points.get(k)[1] < 1 - NOISE; k--) {
                cheaper = points.get(k)[0];
            }
            verdict = String.format(Locale.ROOT, "from %.2f MB on the swap was never dearer than CONCURRENTLY by more than %.0f%%%s%s; "
                            + "the rule's %.1f MB %s",
                    from / 1048576.0, NOISE * 100,
                    cheaper > 0 ? String.format(Locale.ROOT, " (cheaper by more than that from %.2f MB)", cheaper / 1048576.0) : "",
                    below > 0 ? String.format(Locale.ROOT, ", dearer at %.2f MB and below", below / 1048576.0) : "",
                    rule / 1048576.0, rule >= below && (rule <= from || below == 0) ? "lies between, consistent with these figures"
                            : "is not where these figures put the change: see RefreshMethod.SWAP_MIN_BYTES");
        }
        report.line("");
        report.line("auto swaps an MV nothing reads from " + String.format(Locale.ROOT, "%.1f MB", rule / 1048576.0)
                + " (`RefreshMethod.SWAP_MIN_BYTES`, pg_class.relpages); here " + verdict + ". Below it both methods take tens of "
                + "milliseconds and the swap's fixed cost (a dozen catalog statements, ANALYZE, the count) decides. These rows have the "
                + "shape least favourable to a swap among the bundle's MVs (wide, three indexes, a query that only copies): on the other "
                + "two MVs nothing reads, the swap took well under CONCURRENTLY's time after a 1% change (section 3).");
    }
}
