package dev.opsmv.bench;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.opsmv.api.DriverMatrixService;
import dev.opsmv.fixture.SourceFixture;

/** Section 1b: the same requests through the endpoint, one at a time, MV and plain-view fallback. */
final class HttpLatency {
    private final Report report;
    private final PrintWriter log;

    HttpLatency(Report report, PrintWriter log) {
        this.report = report;
        this.log = log;
    }

    void run(Connection c, int port, int queryRuns) throws Exception {
        log.println("== the same requests through the HTTP endpoint: MV vs the plain-view fallback");
        report.section("1b. The same requests through the endpoint (`serve`, HTTP on loopback, one keep-alive connection; "
                        + "statement timeout raised to 120 s so the view's time is measured, where `serve` would answer 503 after 5 s)",
                "| request | view median ms | view p95 ms | MV median ms | MV p95 ms | speed-up (median) |",
                "|---|---:|---:|---:|---:|---:|");
        List<TypicalQueries.Query> queries = TypicalQueries.of(SourceFixture.Spec.currentWeek());
        try (HttpConnection http = new HttpConnection("127.0.0.1", port)) {
            List<Stats> mv = new ArrayList<>();
            for (TypicalQueries.Query q : queries) {
                mv.add(time(http, q, 10, queryRuns, DriverMatrixService.SOURCE_MV));
            }
            // The endpoint falls back to the plain view while the MV is unpopulated: measure that path, then restore.
            Measure.exec(c, "REFRESH MATERIALIZED VIEW " + TypicalQueries.MV + " WITH NO DATA");
            try {
                for (int i = 0; i < queries.size(); i++) {
                    Stats view = time(http, queries.get(i), 2, Math.max(5, queryRuns / 6), DriverMatrixService.SOURCE_VIEW);
                    report.row(queries.get(i).name(), Measure.f(view.median()), Measure.f(view.p95()), Measure.f(mv.get(i).median()),
                            Measure.f(mv.get(i).p95()), String.format(Locale.ROOT, "%.0fx", view.median() / mv.get(i).median()));
                }
            } finally {
                Measure.exec(c, "REFRESH MATERIALIZED VIEW " + TypicalQueries.MV);
                Measure.exec(c, "ANALYZE " + TypicalQueries.MV);
            }
        }
    }

    /** {@code runs} requests after {@code warmUps} (the JIT, the pool); each must answer 200 from {@code expectSource}. */
    private static Stats time(HttpConnection http, TypicalQueries.Query q, int warmUps, int runs, String expectSource) throws Exception {
        double[] ms = new double[runs];
        for (int i = -warmUps; i < runs; i++) {
            long t0 = System.nanoTime();
            HttpConnection.Response r = http.get(q.path());
            double elapsed = (System.nanoTime() - t0) / 1e6;
            if (r.status() != 200 || !expectSource.equals(r.source())) {
                throw new IllegalStateException("GET " + q.path() + " answered " + r.status() + " from " + r.source() + ", expected 200 from " + expectSource);
            }
            if (i >= 0) {
                ms[i] = elapsed;
            }
        }
        return Stats.of(ms);
    }
}
