package dev.opsmv.bench;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;

import dev.opsmv.fixture.SourceFixture;

/** Section 1: the endpoint's typical queries on the plain view and on the MV, in the database. */
final class QueryLatency {
    private final Report report;
    private final PrintWriter log;

    QueryLatency(Report report, PrintWriter log) {
        this.report = report;
        this.log = log;
    }

    void run(Connection c, int queryRuns) throws SQLException {
        log.println("== typical driver-matrix queries: plain view vs MV");
        report.section("1. Driver-matrix queries: plain view vs MV (in the database)",
                "| query | view median ms | view p95 ms | MV median ms | MV p95 ms | speed-up (median) |",
                "|---|---:|---:|---:|---:|---:|");
        int viewRuns = Math.max(5, queryRuns / 6);
        List<TypicalQueries.Query> queries = TypicalQueries.of(SourceFixture.Spec.currentWeek());
        TypicalQueries.Query filtered = TypicalQueries.filtered(SourceFixture.Spec.currentWeek());
        for (TypicalQueries.Query q : queries) {
            Stats view = Measure.time(c, q.sql(TypicalQueries.VIEW), viewRuns);
            Stats mv = Measure.time(c, q.sql(TypicalQueries.MV), queryRuns);
            double x = view.median() / mv.median();
            if (q.equals(filtered)) {
                report.target(Target.MV_SPEEDUP, x, true, q.name() + "; through HTTP see 1b");
            }
            report.row(q.name(), Measure.f(view.median()), Measure.f(view.p95()), Measure.f(mv.median()), Measure.f(mv.p95()),
                    String.format(Locale.ROOT, "%.0fx", x));
        }
    }
}
