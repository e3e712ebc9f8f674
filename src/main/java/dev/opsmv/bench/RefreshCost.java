package dev.opsmv.bench;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.opsmv.db.Timing;
import dev.opsmv.refresh.RefreshMethod;

/**
 * Section 2: each MV refreshed plain, CONCURRENTLY and by SWAP, against its floor: the bare CREATE
 * TABLE AS of its query, and that plus its indexes (what a plain refresh and a swap also build).
 */
final class RefreshCost {
    static final int ROUNDS = 5;

    private final Report report;
    private final PrintWriter log;

    RefreshCost(Report report, PrintWriter log) {
        this.report = report;
        this.log = log;
    }

    void run(Connection c, Chain chain) throws Exception {
        log.println("== refreshing the chain: plain vs CONCURRENTLY vs SWAP vs bare CREATE TABLE AS");
        report.section("2. Refreshing the seven MVs (median of " + ROUNDS + " rounds, each round every method once; ms; no source change between runs)",
                "| MV | CREATE TABLE AS (floor) | floor + the MV's indexes | plain REFRESH | CONCURRENTLY | SWAP | plain / floor+idx "
                        + "| CONCURRENTLY / floor+idx | SWAP / floor+idx | auto chooses |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        double sumCtas = 0;
        double sumCtasIdx = 0;
        double sumPlain = 0;
        double sumConc = 0;
        double sumAuto = 0;
        double leafCtasIdx = 0;
        double leafConc = 0;
        double leafSwap = 0;
        double matrixSwap = Double.NaN;
        double matrixFloorIdx = Double.NaN;
        List<String> choices = new ArrayList<>();
        List<String> breakdown = new ArrayList<>();
        for (Chain.Mv mv : chain.mvs()) {
            String query = Measure.scalar(c, "SELECT pg_get_viewdef('" + mv.qualified() + "'::regclass)").replaceAll(";\\s*$", "");
            // The floor is an ordinary (WAL-logged) table like the MV itself, built from the same query.
            List<String> indexes = new ArrayList<>();
            int i = 0;
            for (String def : Measure.strings(c, "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = '" + mv.qualified()
                    + "'::regclass ORDER BY indexrelid")) {
                indexes.add(def.replaceFirst("INDEX \\S+ ON \\S+ ", "INDEX opsmv_bench_floor_i" + (i++) + " ON public.opsmv_bench_floor "));
            }
            // Three rounds, each measuring every method once: on a shared machine the load drifts, and
            // interleaving spreads that drift over all methods instead of favouring whichever ran in a quiet minute.
            double[][] ms = new double[4][ROUNDS];
            List<Chain.Swap> swaps = new ArrayList<>();
            for (int r = 0; r < ROUNDS; r++) {
                ms[0][r] = Timing.once(c, "CREATE TABLE public.opsmv_bench_floor AS " + query);
                Measure.exec(c, "DROP TABLE public.opsmv_bench_floor");
                ms[1][r] = Timing.once(c, "CREATE TABLE public.opsmv_bench_floor AS " + query);
                for (String idx : indexes) {
                    ms[1][r] += Timing.once(c, idx);
                }
                Measure.exec(c, "DROP TABLE public.opsmv_bench_floor");
                ms[2][r] = Chain.refresh(c, mv, RefreshMethod.PLAIN);
                ms[3][r] = Chain.refresh(c, mv, RefreshMethod.CONCURRENTLY);
                if (mv.swappable()) {
                    swaps.add(Chain.swap(c, mv));
                }
            }
            double ctas = Stats.of(ms[0]).median();
            double ctasIdx = Stats.of(ms[1]).median();
            double plain = Stats.of(ms[2]).median();
            double conc = Stats.of(ms[3]).median();
            swaps.sort(java.util.Comparator.comparingDouble(Chain.Swap::millis));
            Chain.Swap median = swaps.isEmpty() ? null : swaps.get(swaps.size() / 2);
            double swap = median == null ? Double.NaN : median.millis();
            if (median != null) {
                breakdown.add(mv.qualified() + ": " + Measure.steps(median.swapped().steps()));
            }
            String auto = Chain.auto(c, mv);
            choices.add(mv.qualified() + ": " + auto);
            sumCtas += ctas;
            sumCtasIdx += ctasIdx;
            sumPlain += plain;
            sumConc += conc;
            sumAuto += switch (auto) {
                case RefreshMethod.SWAP -> swap;
                case RefreshMethod.CONCURRENTLY -> conc;
                default -> plain;
            };
            if (mv.swappable()) {
                leafCtasIdx += ctasIdx;
                leafConc += conc;
                leafSwap += swap;
            }
            if (mv.qualified().equals(TypicalQueries.MV)) {
                matrixSwap = swap;
                matrixFloorIdx = ctasIdx;
            }
            report.row(mv.qualified(), Measure.f(ctas), Measure.f(ctasIdx), Measure.f(plain), Measure.f(conc),
                    mv.swappable() ? Measure.f(swap) : "— (read by other MVs)", Measure.ratio(plain, ctasIdx), Measure.ratio(conc, ctasIdx),
                    mv.swappable() ? Measure.ratio(swap, ctasIdx) : "—", auto);
        }
        report.row("**chain**", Measure.f(sumCtas), Measure.f(sumCtasIdx), Measure.f(sumPlain), Measure.f(sumConc), "—",
                Measure.ratio(sumPlain, sumCtasIdx), Measure.ratio(sumConc, sumCtasIdx), "—", Measure.f(sumAuto) + " ms");
        report.row("**the MVs nothing reads**", "", Measure.f(leafCtasIdx), "", Measure.f(leafConc), Measure.f(leafSwap), "",
                Measure.ratio(leafConc, leafCtasIdx), Measure.ratio(leafSwap, leafCtasIdx), "");
        report.line("");
        double plainChain = sumPlain / sumCtas;
        String plainWhy = String.format(Locale.ROOT, "a plain refresh also rebuilds every index of the MV (the unique ones make CONCURRENTLY "
                + "possible): %.2fx the floor with those indexes", sumPlain / sumCtasIdx);
        report.targetLine(Target.PLAIN_CHAIN, plainChain, true, plainWhy);
        report.target(Target.PLAIN_CHAIN, plainChain, true, plainWhy);
        double swapMatrix = matrixSwap / matrixFloorIdx;
        String swapWhy = String.format(Locale.ROOT, "%s ms against %s ms; the swap also ANALYZEs the new MV and counts its rows for the log",
                Measure.f(matrixSwap), Measure.f(matrixFloorIdx));
        report.targetLine(Target.SWAP_MATRIX, swapMatrix, true, swapWhy);
        report.target(Target.SWAP_MATRIX, swapMatrix, true, swapWhy);
        report.line("");
        report.line("Where a swap's time goes (the median run of each): " + String.join("; ", breakdown) + ". Populate is CREATE … WITH NO DATA "
                + "and a REFRESH of the new MV; wait, renames and commit are the swap transaction, the only part readers can queue behind.");
        report.line("");
        report.line(String.format(Locale.ROOT, "What `refresh --all` (`--method auto`) chooses with these MVs at this size: %s. "
                        + "The chain refreshed that way: %s ms, %.2fx the floor plus indexes (CONCURRENTLY everywhere: %.2fx). "
                        + "SWAP is not offered for an MV that other MVs read: the swap drops the old MV, which they are bound to.",
                String.join("; ", choices), Measure.f(sumAuto), sumAuto / sumCtasIdx, sumConc / sumCtasIdx));
    }
}
