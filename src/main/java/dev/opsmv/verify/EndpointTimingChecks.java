package dev.opsmv.verify;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.opsmv.api.DriverMatrixQuery;
import dev.opsmv.db.DriverMatrixRelation;
import dev.opsmv.db.Timing;

/** The endpoint's typical query timed on both relations, then judged against --max-query-ms on the one the endpoint would read. */
final class EndpointTimingChecks {
    private static final Check.Section SECTION = Check.Section.ENDPOINT_TIMING;
    private static final int TIMING_RUNS = 3;

    private EndpointTimingChecks() {
    }

    static void run(Connection c, DriverMatrixQuery q, double maxQueryMs, Checklist list) {
        timing(c, q, list);
        underThreshold(c, q, maxQueryMs, list);
    }

    /** The same query on the plain view and the MV, best of {@value #TIMING_RUNS} runs each, printed side by side. */
    private static void timing(Connection c, DriverMatrixQuery q, Checklist list) {
        String label = "endpoint query timed";
        try {
            double view = best(c, q, DriverMatrixRelation.VIEW);
            double mv = best(c, q, DriverMatrixRelation.MV);
            list.add(SECTION, true, label, String.format("plain view %.1f ms, MV %.1f ms (%s faster), best of %d runs, limit %d",
                    view, mv, mv > 0 ? String.format("%.0f×", view / mv) : "∞", TIMING_RUNS, q.limit()));
        } catch (SQLException e) {
            list.add(SECTION, false, label, "query failed: " + e.getMessage());
        }
    }

    /**
     * The runbook's "Rendimiento verificado (queries &lt; 2s)": the endpoint's typical query, on the relation the
     * endpoint would read now (the MV when it exists and is populated, else the plain view), must take less
     * than {@code maxQueryMs}. Judged on the median of {@value #TIMING_RUNS} runs: one slow run (a cold cache)
     * is not the typical request, two are.
     */
    private static void underThreshold(Connection c, DriverMatrixQuery q, double maxQueryMs, Checklist list) {
        String label = "endpoint query under " + ms(maxQueryMs);
        try {
            DriverMatrixRelation.Choice choice = DriverMatrixRelation.choose(c);
            String source = (choice.mv() ? "materialized view " : "plain view ") + choice.relation()
                    + (choice.fallbackReason() == null ? "" : " (the endpoint falls back to it: " + choice.fallbackReason() + ")");
            double[] runs = Timing.runs(c, q.literalSql(choice.relation()), 0, TIMING_RUNS);
            double[] sorted = runs.clone();
            Arrays.sort(sorted);
            double median = sorted[TIMING_RUNS / 2];
            List<String> each = new ArrayList<>();
            for (double r : runs) {
                each.add(String.format("%.1f", r));
            }
            String detail = source + ": " + String.format("%.1f ms", median) + " (median of " + TIMING_RUNS + " runs: "
                    + String.join(", ", each) + " ms) for " + q.literalSql(choice.relation());
            if (median < maxQueryMs) {
                list.add(SECTION, true, label, detail);
            } else {
                list.add(SECTION, false, label, detail + " — ≥ " + ms(maxQueryMs) + ": "
                        + (choice.fallbackReason() != null ? "populate the MV (`opsmv refresh " + DriverMatrixRelation.MV + "`)"
                        : "check its plan (the item above), its indexes' bloat (`opsmv reindex`) and the server's load"));
            }
        } catch (SQLException e) {
            list.add(SECTION, false, label, "query failed: " + e.getMessage());
        }
    }

    private static String ms(double ms) {
        if (ms >= 1000 && ms % 1000 == 0) {
            return (long) (ms / 1000) + " s";
        }
        return (ms == Math.rint(ms) ? Long.toString((long) ms) : Double.toString(ms)) + " ms";
    }

    private static double best(Connection c, DriverMatrixQuery q, String relation) throws SQLException {
        return Arrays.stream(Timing.runs(c, q.literalSql(relation), 0, TIMING_RUNS)).min().orElseThrow();
    }
}
