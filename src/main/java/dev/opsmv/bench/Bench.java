package dev.opsmv.bench;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Locale;

import dev.opsmv.api.ApiConfig;
import dev.opsmv.api.ApiServer;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Session;
import dev.opsmv.embedded.EmbeddedServer;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.migrate.Migrator;

/**
 * Measures, side by side in one run on one server, what the materialized views buy and cost; one
 * class per scenario (sections of the report), in this order: {@link QueryLatency}, {@link HttpLatency},
 * {@link RefreshCost}, {@link RefreshAfterChange}, {@link EndpointLoad}, {@link EndpointFloor} (4b), {@link ReadersDuringRefresh},
 * {@link SwapThreshold} (6), {@link WriterDuringUpdate} (7, on a database of its own); the targets are defined once in {@link Target}.
 * Prints a Markdown report ({@link Report}) and writes it to a file when asked.
 */
public final class Bench {
    /**
     * @param only null for every section; "endpoint" for sections 4 and 4b alone, "refresh" for section 2 alone, "readers" for section 5 alone (after
     *             the data and the deployment)
     * @param loadSeconds how long each line of sections 4 and 4b runs; a warm-up, and section 5's baseline, never runs longer
     */
    public record Options(long drivers, long seed, String pgVersion, Path out, int queryRuns, String only, double loadSeconds) {
        public static final int DEFAULT_LOAD_SECONDS = 8;

        public Options(long drivers, long seed, String pgVersion, Path out, int queryRuns) {
            this(drivers, seed, pgVersion, out, queryRuns, null, DEFAULT_LOAD_SECONDS);
        }

        boolean all() {
            return only == null;
        }

        long lineMillis() {
            return Math.round(loadSeconds * 1000);
        }

        /** At most {@code millis}, and no longer than a line: a run with short lines (a smoke test) has short warm-ups too. */
        long upToALine(long millis) {
            return Math.min(millis, lineMillis());
        }

        /** The line length as given, 8 or 0.25. */
        String shownLoadSeconds() {
            return java.math.BigDecimal.valueOf(loadSeconds).stripTrailingZeros().toPlainString();
        }
    }

    private final Options options;
    private final PrintWriter log;

    public Bench(Options options, PrintWriter log) {
        this.options = options;
        this.log = log;
    }

    public String run() throws Exception {
        Machine machine = Machine.current();
        Report report = new Report(log);
        try (EmbeddedServer server = EmbeddedServer.start(options.pgVersion(), null)) {
            server.createDatabase("opsmv_bench");
            server.createDatabase("opsmv_bench_deploy");
            ConnectionSpec db = server.spec("opsmv_bench");
            try (Connection c = db.open("opsmv-bench")) {
                report.header(options, machine, Session.text(c, "SELECT current_setting('server_version')"),
                        "the built-in keep-alive generator on raw sockets (wrk is not used)");

                log.println("== generating " + String.format("%,d", options.drivers()) + " drivers");
                long g0 = System.nanoTime();
                SourceFixture fixture = new SourceFixture(c);
                fixture.createTables();
                var counts = fixture.generate(SourceFixture.Spec.of(options.drivers(), options.seed()), s -> log.println("   … " + s));
                report.line("Data: " + counts + String.format(Locale.ROOT, " (generated in %.1f s)", Measure.secs(g0)));

                log.println("== update (deploy the bundle)");
                long u0 = System.nanoTime();
                Migrator.bundle(c, null).update();
                report.line(String.format(Locale.ROOT, "Deployment (`update`, every MV built WITH DATA): %.1f s", Measure.secs(u0)));
                Measure.exec(c, "VACUUM ANALYZE");

                if ("refresh".equals(options.only())) {
                    new RefreshCost(report, log).run(c, Chain.load(c));
                    return written(report.finish(options));
                }
                if ("readers".equals(options.only())) {
                    new ReadersDuringRefresh(report, log).run(db, options);
                    return written(report.finish(options));
                }
                if (options.all()) {
                    new QueryLatency(report, log).run(c, options.queryRuns());
                }
                // The endpoint's 5 s statement timeout would answer 503 for the plain view at a million
                // drivers; the benchmark wants the view's time, so it allows two minutes.
                ApiConfig apiConfig = new ApiConfig(ApiConfig.DEFAULT_BIND, 0, 120_000, ApiConfig.DEFAULT_LOCK_TIMEOUT_MS,
                        ApiConfig.DEFAULT_POOL_SIZE, ApiConfig.DEFAULT_CONNECTION_TIMEOUT_MS).withoutCache();
                // without its response cache: these sections measure the request's way through the database
                try (ApiServer api = new ApiServer(db, apiConfig)) {
                    int port = api.start();
                    if (options.all()) {
                        new HttpLatency(report, log).run(c, port, options.queryRuns());
                        Chain chain = Chain.load(c);
                        new RefreshCost(report, log).run(c, chain);
                        new RefreshAfterChange(report, log).run(c, chain);
                        Measure.exec(c, "VACUUM ANALYZE");
                    }
                    // and as it ships, its response cache on
                    try (ApiServer cachedApi = new ApiServer(db, ApiConfig.defaults().withPort(0))) {
                        int cachedPort = cachedApi.start();
                        new EndpointLoad(report, log).run(port, cachedPort, options);
                        new EndpointFloor(report, log).run(db, port, cachedPort, options);
                    }
                }
                if (options.all()) {
                    new ReadersDuringRefresh(report, log).run(db, options);
                    // last on this database: its sized MV reads the driver matrix, which may not be swapped meanwhile
                    new SwapThreshold(report, log).run(c, options.drivers());
                }
            }
            if (options.all()) {
                new WriterDuringUpdate(report, log).run(server.spec("opsmv_bench_deploy"), options.drivers(), options.seed());
            }
        }
        return written(report.finish(options));
    }

    private String written(String markdown) throws java.io.IOException {
        if (options.out() != null) {
            Files.writeString(options.out(), markdown, StandardCharsets.UTF_8);
            log.println("== report written to " + options.out());
        }
        return markdown;
    }
}
