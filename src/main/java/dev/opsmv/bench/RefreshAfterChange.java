package dev.opsmv.bench;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Locale;

import dev.opsmv.refresh.RefreshMethod;
import dev.opsmv.refresh.RefreshPlan;
import dev.opsmv.swap.SideBySideSwap;

/**
 * Section 3: the chain refreshed after 1% of the source rows changed (what an hourly refresh meets),
 * CONCURRENTLY, plain and by SWAP where it can be, each after a change of its own; and as auto chooses.
 */
final class RefreshAfterChange {
    private final Report report;
    private final PrintWriter log;

    RefreshAfterChange(Report report, PrintWriter log) {
        this.report = report;
        this.log = log;
    }

    void run(Connection c, Chain chain) throws Exception {
        log.println("== refresh after changing 1% of the source rows");
        report.section("3. After changing 1% of the source rows (claims and ledger), ms (a new 1% change before each method's pass over the chain)",
                "| MV | CONCURRENTLY | plain REFRESH | SWAP | SWAP / CONCURRENTLY | auto chooses |", "|---|---:|---:|---:|---:|---|");
        double[] conc = pass(c, chain, 1, RefreshMethod.CONCURRENTLY);
        double[] plain = pass(c, chain, 2, RefreshMethod.PLAIN);
        // SWAP where it can be; the MVs that others read are refreshed as auto would (CONCURRENTLY), for a full pass
        double[] swap = pass(c, chain, 3, RefreshMethod.SWAP);
        // the whole chain swapped together from its raw MV, as `refresh --all` does it from 4 MB of MVs together
        boolean chainSwappable = SideBySideSwap.chainObstacles(c, "ops", Chain.CHAIN_ROOT).isEmpty();
        double chainSwap = Double.NaN;
        if (chainSwappable) {
            changeOnePercent(c, 4);
            chainSwap = Chain.chainSwap(c).millis();
        }
        RefreshPlan plan = Chain.allPlan(c);
        boolean autoChains = !plan.chain(Chain.ROOT_QUALIFIED).isEmpty();
        double totalConc = 0;
        double totalPlain = 0;
        double totalAuto = autoChains ? chainSwap : 0;
        double totalAlone = 0;
        double leafConc = 0;
        double leafSwap = 0;
        for (int i = 0; i < chain.mvs().size(); i++) {
            Chain.Mv mv = chain.mvs().get(i);
            String auto = Chain.auto(c, mv);
            boolean inChain = plan.chainOf(mv.qualified()) != null;
            totalConc += conc[i];
            totalPlain += plain[i];
            totalAlone += switch (auto) {
                case RefreshMethod.SWAP -> swap[i];
                case RefreshMethod.CONCURRENTLY -> conc[i];
                default -> plain[i];
            };
            if (!inChain) {
                totalAuto += switch (auto) {
                    case RefreshMethod.SWAP -> swap[i];
                    case RefreshMethod.CONCURRENTLY -> conc[i];
                    default -> plain[i];
                };
            }
            if (mv.swappable()) {
                leafConc += conc[i];
                leafSwap += swap[i];
            }
            report.row(mv.qualified(), Measure.f(conc[i]), Measure.f(plain[i]), mv.swappable() ? Measure.f(swap[i]) : "—",
                    mv.swappable() ? Measure.ratio(swap[i], conc[i]) : "—", inChain ? "chain swap (alone: " + auto + ")" : auto);
        }
        report.row("**chain**", Measure.f(totalConc), Measure.f(totalPlain), chainSwappable ? "chain swap: " + Measure.f(chainSwap) : "",
                chainSwappable ? Measure.ratio(chainSwap, totalConc) : "", "auto: " + Measure.f(totalAuto));
        report.row("**the MVs nothing reads**", Measure.f(leafConc), "", Measure.f(leafSwap), Measure.ratio(leafSwap, leafConc), "");
        report.line("");
        report.line(String.format(Locale.ROOT, "The chain: CONCURRENTLY / plain = %.2fx, auto / plain = %.2fx, auto / CONCURRENTLY = %.2fx "
                        + "(auto: %s; each MV by the method auto picks for it alone: %s ms, %.2fx CONCURRENTLY). "
                        + "CONCURRENTLY costs more (it diffs old and new contents, and leaves the changed rows' old versions to vacuum) "
                        + "but readers keep reading; so do they during a swap and a chain swap (section 5), which write the whole MVs anew.",
                totalConc / totalPlain, totalAuto / totalPlain, totalAuto / totalConc,
                autoChains ? "the chain swap, after its own new 1% change" : "each MV its own method, the chain's MVs being under 4 MB together",
                Measure.f(totalAlone), totalAlone / totalConc));
    }

    /** ms per MV of one pass over the chain after a new 1% change; SWAP only where it can be, CONCURRENTLY elsewhere. */
    private static double[] pass(Connection c, Chain chain, int round, String method) throws Exception {
        changeOnePercent(c, round);
        double[] ms = new double[chain.mvs().size()];
        for (int i = 0; i < ms.length; i++) {
            Chain.Mv mv = chain.mvs().get(i);
            String m = method.equals(RefreshMethod.SWAP) && !mv.swappable() ? RefreshMethod.CONCURRENTLY : method;
            ms[i] = Chain.refresh(c, mv, m);
        }
        return ms;
    }

    /** A new ingestion snapshot that changes 1% of payments, and 1% of claims change status. */
    static void changeOnePercent(Connection c, int round) throws SQLException {
        Measure.exec(c, """
                UPDATE claims_cabinet SET status = CASE status WHEN 'submitted' THEN 'accepted' ELSE 'submitted' END
                WHERE (hashint8extended(claim_id, %1$d) & 1023) < 10
                """.formatted(round));
        Measure.exec(c, """
                INSERT INTO yango_payments_raw (payment_key, driver_id, milestone_value, amount, paid_date, status, snapshot_at, source_file)
                SELECT DISTINCT ON (payment_key) payment_key, driver_id, milestone_value, amount + 1, paid_date,
                       CASE WHEN status = 'paid' THEN 'reversed' ELSE 'paid' END, now() + interval '%1$d minutes', 'bench_%1$d.csv'
                FROM yango_payments_raw
                WHERE (hashint8extended(driver_id * 100 + milestone_value, %1$d) & 1023) < 10
                ORDER BY payment_key, snapshot_at DESC
                """.formatted(round));
        Measure.exec(c, "ANALYZE claims_cabinet, yango_payments_raw");
    }
}
