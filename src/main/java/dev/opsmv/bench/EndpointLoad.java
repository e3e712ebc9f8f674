package dev.opsmv.bench;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

import dev.opsmv.api.ApiConfig;
import dev.opsmv.fixture.SourceFixture;

/** Section 4: the endpoint under 1, 8 and 32 keep-alive clients, with the generator's own CPU share beside the figures. */
final class EndpointLoad {
    private final Report report;
    private final PrintWriter log;

    EndpointLoad(Report report, PrintWriter log) {
        this.report = report;
        this.log = log;
    }

    /**
     * @param port       `serve` with --no-cache: every request reads the database
     * @param cachedPort `serve` as it ships: answers kept until the MV is refreshed
     */
    void run(int port, int cachedPort, Bench.Options options) throws Exception {
        long line = options.lineMillis();
        log.println("== the endpoint under 1, 8 and 32 concurrent clients");
        report.section("4. The endpoint under concurrent clients (MV, the three requests in turn, " + options.shownLoadSeconds() + " s per level, pool of "
                        + ApiConfig.DEFAULT_POOL_SIZE + " connections; `serve` as it ships (response cache on), then with --no-cache; "
                        + "lean keep-alive generator, CPU shares of the whole machine)",
                "| cache | clients | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms | generator CPU | endpoint CPU (rest of the JVM) | machine busy |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        List<String> paths = TypicalQueries.of(SourceFixture.Spec.currentWeek()).stream().map(TypicalQueries.Query::path).toList();
        LoadGenerator.Result at8 = null;
        LoadGenerator.Result uncached8 = null;
        for (boolean cache : new boolean[] {true, false}) {
            LoadGenerator load = new LoadGenerator(cache ? cachedPort : port, paths);
            load.run(4, options.upToALine(2000)); // warm-up: JIT, the pool's connections, PostgreSQL's caches
            for (int clients : new int[] {1, 8, 32}) {
                LoadGenerator.Result r = load.run(clients, line);
                if (clients == 8) {
                    if (cache) {
                        at8 = r;
                    } else {
                        uncached8 = r;
                    }
                }
                Stats s = r.latency();
                report.row(cache ? "on" : "off", Integer.toString(clients), Integer.toString(r.requests()), Integer.toString(r.errors()),
                        String.format(Locale.ROOT, "%.0f", r.perSecond()), Measure.f(s.median()), Measure.f(s.p95()), Measure.f(s.p99()),
                        Measure.f(s.max()), Measure.pct(r.generatorCpu()), Measure.pct(r.jvmOtherCpu()), Measure.pct(r.machineBusy()));
            }
        }
        report.line("");
        String why = String.format(Locale.ROOT, "%.0f requests/s as `serve` ships (with --no-cache: %.0f requests/s, p95 %s ms); "
                        + "the generator used %s of the machine, the endpoint's JVM %s",
                at8.perSecond(), uncached8.perSecond(), Measure.f(uncached8.latency().p95()), Measure.pct(at8.generatorCpu()),
                Measure.pct(at8.jvmOtherCpu()));
        report.targetLine(Target.ENDPOINT_P95, at8.latency().p95(), at8.errors() == 0, why);
        report.target(Target.ENDPOINT_P95, at8.latency().p95(), at8.errors() == 0, why);
    }
}
