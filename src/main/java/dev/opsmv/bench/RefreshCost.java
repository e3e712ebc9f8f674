package dev.opsmv.bench;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.opsmv.db.Session;
import dev.opsmv.db.Timing;
import dev.opsmv.refresh.RefreshMethod;
import dev.opsmv.refresh.RefreshPlan;
import dev.opsmv.swap.SideBySideSwap;

/**
 * Section 2: each MV refreshed plain, CONCURRENTLY and by SWAP, against its floor: the bare CREATE
 * TABLE AS of its query, and that plus its indexes (what a plain refresh and a swap also build); and
 * the whole chain swapped together from its raw MV (what {@code refresh --all} does from 4 MB), against
 * the sum of those floors.
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
        log.println("== refreshing the chain: plain vs CONCURRENTLY vs SWAP vs the chain swap vs bare CREATE TABLE AS");
        report.section("2. Refreshing the seven MVs (median of " + ROUNDS + " rounds, each round every method once, the chain swap included; ms; "
                        + "no source change between runs)",
                "| MV | CREATE TABLE AS (floor) | floor + the MV's indexes | plain REFRESH | CONCURRENTLY | SWAP | plain / floor+idx "
                        + "| CONCURRENTLY / floor+idx | SWAP / floor+idx | auto chooses |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        int n = chain.mvs().size();
        List<String> queries = new ArrayList<>();
        List<List<String>> indexes = new ArrayList<>();
        for (Chain.Mv mv : chain.mvs()) {
            queries.add(Session.text(c, "SELECT pg_get_viewdef('" + mv.qualified() + "'::regclass)").replaceAll(";\\s*$", ""));
            // The floor is an ordinary (WAL-logged) table like the MV itself, built from the same query.
            List<String> defs = new ArrayList<>();
            int i = 0;
            for (String def : Measure.strings(c, "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = '" + mv.qualified()
                    + "'::regclass ORDER BY indexrelid")) {
                defs.add(def.replaceFirst("INDEX \\S+ ON \\S+ ", "INDEX opsmv_bench_floor_i" + (i++) + " ON public.opsmv_bench_floor "));
            }
            indexes.add(defs);
        }
        // What the chain swap rebuilds, and why it may not run (then its cells say so).
        List<String> members = SideBySideSwap.chain(c, "ops", Chain.CHAIN_ROOT);
        List<String> chainObstacles = SideBySideSwap.chainObstacles(c, "ops", Chain.CHAIN_ROOT);
        boolean chainSwappable = chainObstacles.isEmpty();
        double chainMb = Double.parseDouble(Session.text(c, "SELECT coalesce(sum(relpages::bigint * current_setting('block_size')::bigint), 0) / 1048576.0 "
                + "FROM pg_class WHERE relkind = 'm' AND oid = ANY (ARRAY[" + String.join(", ", members.stream().map(m -> "'" + m + "'::regclass").toList())
                + "])"));
        // Rounds outside, MVs inside: on a shared machine the load drifts, and interleaving every method (the chain swap
        // too) within each round spreads that drift over all of them instead of favouring whichever ran in a quiet minute.
        double[][][] ms = new double[n][4][ROUNDS];
        List<List<Chain.Swap>> swaps = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            swaps.add(new ArrayList<>());
        }
        List<Chain.ChainRun> chainRuns = new ArrayList<>();
        for (int r = 0; r < ROUNDS; r++) {
            for (int k = 0; k < n; k++) {
                Chain.Mv mv = chain.mvs().get(k);
                ms[k][0][r] = Timing.once(c, "CREATE TABLE public.opsmv_bench_floor AS " + queries.get(k));
                Measure.exec(c, "DROP TABLE public.opsmv_bench_floor");
                ms[k][1][r] = Timing.once(c, "CREATE TABLE public.opsmv_bench_floor AS " + queries.get(k));
                for (String idx : indexes.get(k)) {
                    ms[k][1][r] += Timing.once(c, idx);
                }
                Measure.exec(c, "DROP TABLE public.opsmv_bench_floor");
                ms[k][2][r] = Chain.refresh(c, mv, RefreshMethod.PLAIN);
                ms[k][3][r] = Chain.refresh(c, mv, RefreshMethod.CONCURRENTLY);
                if (mv.swappable()) {
                    swaps.get(k).add(Chain.swap(c, mv));
                }
            }
            if (chainSwappable) {
                chainRuns.add(Chain.chainSwap(c));
            }
        }
        chainRuns.sort(java.util.Comparator.comparingDouble(Chain.ChainRun::millis));
        Chain.ChainRun chainMedian = chainRuns.isEmpty() ? null : chainRuns.get(chainRuns.size() / 2);
        double chainSwap = chainMedian == null ? Double.NaN : chainMedian.millis();

        RefreshPlan plan = Chain.allPlan(c);
        Map<String, String> allMethods = new java.util.HashMap<>();
        for (RefreshPlan.Step step : plan.steps()) {
            allMethods.put(step.mv(), step.method());
        }
        double sumCtas = 0;
        double sumCtasIdx = 0;
        double sumPlain = 0;
        double sumConc = 0;
        double sumAlone = 0;
        double sumAll = 0;
        boolean chainCounted = false;
        double membersCtasIdx = 0;
        double leafCtasIdx = 0;
        double leafConc = 0;
        double leafSwap = 0;
        double matrixSwap = Double.NaN;
        double matrixFloorIdx = Double.NaN;
        List<String> choices = new ArrayList<>();
        List<String> breakdown = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            Chain.Mv mv = chain.mvs().get(k);
            double ctas = Stats.of(ms[k][0]).median();
            double ctasIdx = Stats.of(ms[k][1]).median();
            double plain = Stats.of(ms[k][2]).median();
            double conc = Stats.of(ms[k][3]).median();
            List<Chain.Swap> mine = swaps.get(k);
            mine.sort(java.util.Comparator.comparingDouble(Chain.Swap::millis));
            Chain.Swap median = mine.isEmpty() ? null : mine.get(mine.size() / 2);
            double swap = median == null ? Double.NaN : median.millis();
            if (median != null) {
                breakdown.add(mv.qualified() + ": " + Measure.steps(median.swapped().steps()));
            }
            String alone = Chain.auto(c, mv);
            String top = plan.chainOf(mv.qualified());
            String auto = top == null ? alone : "chain swap (alone: " + alone + ")";
            choices.add(mv.qualified() + ": " + (top == null ? alone : top.equals(mv.qualified()) ? "SWAP with everything downstream"
                    : "SWAP with " + top));
            sumCtas += ctas;
            sumCtasIdx += ctasIdx;
            sumPlain += plain;
            sumConc += conc;
            double own = switch (alone) {
                case RefreshMethod.SWAP -> swap;
                case RefreshMethod.CONCURRENTLY -> conc;
                default -> plain;
            };
            sumAlone += own;
            if (top == null) {
                String m = allMethods.getOrDefault(mv.qualified(), alone);
                sumAll += RefreshMethod.SWAP.equals(m) ? swap : RefreshMethod.CONCURRENTLY.equals(m) ? conc : plain;
            } else if (!chainCounted) {
                // only the raw MV's chain swap is measured: any other chain top would be a plan this bundle does not make
                sumAll += top.equals(Chain.ROOT_QUALIFIED) ? chainSwap : Double.NaN;
                chainCounted = true;
            }
            if (members.contains(mv.qualified())) {
                membersCtasIdx += ctasIdx;
            }
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
        boolean wholeChain = membersCtasIdx == sumCtasIdx;
        report.row("**chain**", Measure.f(sumCtas), Measure.f(sumCtasIdx), Measure.f(sumPlain), Measure.f(sumConc),
                chainSwappable ? "chain swap: " + Measure.f(chainSwap) : "—",
                Measure.ratio(sumPlain, sumCtasIdx), Measure.ratio(sumConc, sumCtasIdx),
                chainSwappable ? Measure.ratio(chainSwap, membersCtasIdx) : "—", Measure.f(sumAll) + " ms");
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
        double chainRatio = chainSwap / membersCtasIdx;
        String chainWhy;
        if (chainSwappable) {
            chainWhy = String.format(Locale.ROOT, "%s ms against %s ms (the sum of each MV's CREATE TABLE AS plus its indexes%s); "
                            + "the chain swap also ANALYZEs each new MV; plain REFRESH of each, which blocks readers, is %.2fx",
                    Measure.f(chainSwap), Measure.f(membersCtasIdx), wholeChain ? "" : ", the MVs it rebuilds", sumPlain / sumCtasIdx);
        } else {
            chainWhy = "not measured: " + String.join("; ", chainObstacles);
        }
        report.targetLine(Target.CHAIN_SWAP, chainRatio, chainSwappable, chainWhy);
        report.target(Target.CHAIN_SWAP, chainRatio, chainSwappable, chainWhy);
        report.line("");
        report.line("Where a swap's time goes (the median run of each): " + String.join("; ", breakdown) + ". Populate is CREATE … WITH NO DATA "
                + "and a REFRESH of the new MV; wait, renames and commit are the swap transaction, the only part readers can queue behind.");
        report.line("");
        if (chainSwappable) {
            SideBySideSwap.ChainSwapped s = chainMedian.swapped();
            long rest = Math.round(chainSwap) - s.buildMillis() - s.lockWaitMillis() - s.lockHeldMillis();
            report.line(String.format(Locale.ROOT, "The chain swap (%s with %d relations that read it, transitively: %s) rebuilds them in a scratch schema "
                            + "and moves them in together. Where its time goes (its median run): build %d (each new MV's REFRESH, its indexes on two "
                            + "sessions, grants, ANALYZE), swap transaction: waited %d for its locks, held them %d (drops of the old relations, "
                            + "SET SCHEMA of the new ones, commit), the rest %d (reading the catalog before, dropping the scratch schema after) (ms). "
                            + "Readers of any relation of the chain wait only for the swap transaction (section 5).",
                    Chain.ROOT_QUALIFIED, members.size() - 1, String.join(", ", members.subList(1, members.size())), s.buildMillis(),
                    s.lockWaitMillis(), s.lockHeldMillis(), rest));
            report.line("");
        }
        String allChoice = plan.chain(Chain.ROOT_QUALIFIED).isEmpty()
                ? String.format(Locale.ROOT, "each MV its own method, as `refresh <mv>` alone would (%s): auto swaps the chain together only when its MVs "
                        + "take at least %.0f MB together, and here they take %.1f MB", String.join("; ", choices),
                        RefreshMethod.SWAP_MIN_BYTES / 1048576.0, chainMb)
                : String.format(Locale.ROOT, "a chain swap of %s with everything downstream (%d MVs and the view; %.1f MB of MVs together, "
                        + "auto's rule is at least %.0f MB)%s", Chain.ROOT_QUALIFIED, n, chainMb, RefreshMethod.SWAP_MIN_BYTES / 1048576.0,
                        plan.order().stream().anyMatch(m -> plan.chainOf(m) == null)
                                ? "; outside the chain: " + String.join("; ", choices.stream().filter(x -> !x.contains(" SWAP with")).toList()) : "");
        report.line(String.format(Locale.ROOT, "What `refresh --all` (`--method auto`) chooses with these MVs at this size: %s. "
                        + "The chain refreshed that way: %s ms, %.2fx the floor plus indexes (CONCURRENTLY everywhere: %.2fx; each MV by the method "
                        + "auto picks for it alone, as `refresh --all` did before chain swaps: %s ms, %.2fx).",
                allChoice, Measure.f(sumAll), sumAll / sumCtasIdx, sumConc / sumCtasIdx, Measure.f(sumAlone), sumAlone / sumCtasIdx));
    }
}
